import Config
import Foundation
import RasterIO

/// What an output file of a scene is. The raw values are the names the run history, the run
/// report and the STAC item use.
public enum OutputRole: String, Codable, Sendable, CaseIterable {
    /// The class map (`output.name`).
    case map
    /// GDAL's `.aux.xml` beside the map (its raster attribute table and statistics).
    case mapAux = "map_aux"
    /// The map's QGIS style (`<stem>.qml`), always written.
    case style
    /// The probability of the chosen class, percent (`<stem>_confidence.tif`).
    case confidence
    case confidenceAux = "confidence_aux"
    /// One band per class, percent (`<stem>_probabilities.tif`).
    case probabilities
    case probabilitiesAux = "probabilities_aux"
    /// The preview PNG (`<stem>_preview.png`).
    case preview
    /// The class polygons (`<stem>.gpkg` or `<stem>.geojson`).
    case polygons
    /// The scene's STAC item (`<stem>.stac.json`), written last: it holds every other file's checksum.
    case stac

    /// A GDAL `.aux.xml` sidecar: written only when GDAL has something to put in it, so a scene
    /// is whole without it.
    public var isSidecar: Bool { self == .mapAux || self == .confidenceAux || self == .probabilitiesAux }
}

/// The files one scene's outputs consist of: the one list the plan's pre-run checks, the
/// classifier, the batch runner's records and its "is this scene done" check all read.
public struct SceneOutputFiles: Sendable, Equatable {
    /// The class map and its QGIS style (always written).
    public var map: String, style: String
    /// Optional outputs, nil when the pipeline does not ask for them.
    public var confidence: String?, probabilities: String?, preview: String?, polygons: String?, stac: String?

    /// The output files for a class map at `map` (an absolute path), as `output` asks for them:
    /// `<stem>.qml`, `<stem>_confidence.tif`, `<stem>_probabilities.tif`, `<stem>_preview.png`,
    /// `<stem>.gpkg`/`.geojson`, `<stem>.stac.json`.
    public init(map: String, output: PipelineFile.Output) {
        let stem = (map as NSString).deletingPathExtension
        self.map = map
        style = ClassStyle.qmlPath(forMap: map)
        confidence = output.confidence ? stem + "_confidence.tif" : nil
        probabilities = output.probabilities ? stem + "_probabilities.tif" : nil
        preview = output.preview ? stem + "_preview.png" : nil
        polygons = output.polygons.map { stem + "." + $0.fileExtension }
        stac = output.stac ? stem + ".stac.json" : nil
    }

    /// Every file with its role, GDAL's `.aux.xml` sidecars of the rasters included, in the
    /// order they are finished (the STAC item last).
    public var files: [(role: OutputRole, path: String)] {
        var files: [(OutputRole, String)] = [(.map, map), (.mapAux, map + ".aux.xml"), (.style, style)]
        if let confidence { files += [(.confidence, confidence), (.confidenceAux, confidence + ".aux.xml")] }
        if let probabilities { files += [(.probabilities, probabilities), (.probabilitiesAux, probabilities + ".aux.xml")] }
        if let preview { files.append((.preview, preview)) }
        if let polygons { files.append((.polygons, polygons)) }
        if let stac { files.append((.stac, stac)) }
        return files
    }

    /// Every path, sidecars included.
    public var all: [String] { files.map(\.path) }

    /// The roles a finished scene must have on disk (sidecars excepted).
    public var requiredRoles: [OutputRole] { files.map(\.role).filter { !$0.isSidecar } }

    /// The roles a finished scene must have on disk under `output`'s settings.
    public static func requiredRoles(output: PipelineFile.Output) -> [OutputRole] {
        SceneOutputFiles(map: "/scene.tif", output: output).requiredRoles
    }

}

/// One written output file of a scene as the run history records it: enough to tell, with one
/// `stat`, whether the file on disk is still the one that run wrote.
public struct OutputFileRecord: Codable, Sendable, Equatable {
    public var role: OutputRole
    /// Absolute path.
    public var path: String
    /// Size in bytes and modification time (nanoseconds since 1970) right after writing.
    public var bytes: Int64
    public var modifiedNanoseconds: Int64
    /// SHA-256 of the content, lowercase hex.
    public var sha256: String
    /// With object-store outputs: the ETag the store gave the uploaded object (recorded in the
    /// STAC item, compared on reruns); nil for local files.
    public var etag: String?

    /// Creates a record.
    public init(role: OutputRole, path: String, bytes: Int64, modifiedNanoseconds: Int64, sha256: String, etag: String? = nil) {
        self.role = role
        self.path = path
        self.bytes = bytes
        self.modifiedNanoseconds = modifiedNanoseconds
        self.sha256 = sha256
        self.etag = etag
    }

    enum CodingKeys: String, CodingKey {
        case role, path, bytes, sha256, etag
        case modifiedNanoseconds = "modified_ns"
    }
}

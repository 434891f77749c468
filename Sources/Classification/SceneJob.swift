import CNN
import Config
import Foundation
import RasterIO

/// One scene named by a pipeline file: the files that form it and an optional name.
public struct SceneInput: Equatable, Sendable, Codable {
    /// Absolute paths (a folder of band files, a SAFE folder or zip, an MTD XML, or raster files).
    public var paths: [String]
    /// Scene name for `{scene}`; nil derives it from the files.
    public var name: String?
    /// Acquisition time (RFC 3339 UTC) known without opening the files: a STAC Item's `datetime`.
    /// It gives `{date}` and the output STAC item's `datetime`.
    public var datetime: String?

    /// Creates a scene input.
    public init(paths: [String], name: String? = nil, datetime: String? = nil) {
        self.paths = paths
        self.name = name
        self.datetime = datetime
    }

    /// A label for messages: the name, or the first path.
    public var label: String { name ?? paths.first ?? "(no files)" }
}

/// How the model's predictions become the output map, after `auto` has been resolved.
extension SceneInput {
    /// A stable identity for a scene across runs and machines: its name (when the pipeline gives
    /// one) and its input paths, written relative to the pipeline file's folder when they lie
    /// inside it (so a project folder mounted at different roots keeps its identities).
    public func key(baseFolder: String) -> String {
        let paths = paths.map { Self.path($0, relativeTo: baseFolder) }
        return (name.map { "name=\($0)\n" } ?? "") + paths.joined(separator: "\n")
    }

    /// `path` relative to `folder` when it lies inside it, else unchanged.
    public static func path(_ path: String, relativeTo folder: String) -> String {
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}

public enum ClassificationMode: String, Sendable, Codable, Equatable {
    /// One class per patch, painted over the pixels nearest to the patch's centre.
    case patch
    /// One class per patch, one output pixel per patch (grid coarser by the patch size).
    case patchResolution = "patch_resolution"
    /// Patch probabilities blended with a Hann window into a per-pixel map.
    case dense
    /// Per-pixel model outputs blended with a Hann window.
    case segmentation
}

/// Everything needed to classify one scene: the stacked scene, which of its bands feed the
/// model (in contract order), the tiling, the mode and the output paths.
public struct SceneJob: Sendable {
    /// The input as the pipeline named it.
    public let input: SceneInput
    /// The assembled scene (model bands, plus the mask band when one is configured).
    public let scene: Scene
    /// Indices into `scene.bands` of the model's bands, in the contract's order.
    public let modelBandIndices: [Int]
    /// Index into `scene.bands` of the mask layer (e.g. SCL), if any.
    public let maskBandIndex: Int?
    /// Patch windows in scene pixels.
    public let tiler: Tiler
    /// Resolved mode.
    public let mode: ClassificationMode
    /// Where its outputs go.
    public let files: SceneOutputFiles
    /// Acquisition date (YYYY-MM-DD) found in the scene name, if any.
    public let date: String?
}

import Foundation
import RasterIO
import Yams

/// A pipeline file: which scenes to classify with which model, and how to tile, mask and write them.
///
/// The schema is documented in one place, `pipelines/README.md`; this type mirrors it. Paths are
/// relative to the pipeline file's folder. Unknown keys are rejected with the closest valid key.
public struct PipelineFile: Equatable, Sendable {
    /// One scene input: a file, a folder (band files or SAFE), a SAFE product or zip, or a glob;
    /// several `paths` together form one scene (e.g. one file per band).
    public struct Input: Equatable, Sendable {
        public var paths: [String]
        /// Optional scene name (default: derived from the files).
        public var name: String?
        /// A STAC API search (`stac_search`) whose every item is a scene; `paths` is then empty.
        public var search: STACSearchRequest? = nil

        public init(paths: [String], name: String? = nil) {
            self.paths = paths
            self.name = name
        }

        /// An input that is a STAC API search.
        public init(search: STACSearchRequest) {
            self.paths = []
            self.name = nil
            self.search = search
        }
    }

    /// Tiling settings.
    public struct Tiling: Equatable, Sendable {
        /// Patch size in pixels; nil = the model's.
        public var patchSize: Int? = nil
        /// Stride in pixels; nil = the patch size (no overlap).
        public var stride: Int? = nil
        public var edge: EdgePolicy = .shift

        /// The defaults.
        public init() {}
    }

    /// How predictions become a map.
    public enum Mode: String, Equatable, Sendable, CaseIterable {
        /// One class per patch, written at patch resolution (or painted at full resolution).
        case patch
        /// Overlapping patches' probabilities blended with a Hann window into a per-pixel map.
        case dense
        /// Segmentation models: per-pixel outputs blended the same way.
        case segmentation
        /// `segmentation` for segmentation models, `patch` otherwise.
        case auto
    }

    /// Nodata handling.
    public struct Nodata: Equatable, Sendable {
        /// Treat this DN as nodata in every band (overrides the files' nodata).
        public var value: Double? = nil
        /// Patches with a smaller fraction of valid pixels count only where no better patch covers a pixel.
        public var minValidFraction: Double = 0.5
        /// Optional mask layer, e.g. Sentinel-2 SCL: pixels whose value is in `invalidValues` are nodata.
        public var maskBand: String? = nil
        public var maskPath: String? = nil
        /// Empty without a mask layer; ``sclInvalidClasses`` when a mask is given without `invalid`.
        public var invalidValues: [Int] = []

        /// The mask values that make a pixel nodata when `nodata.mask.invalid` is not given:
        /// Sentinel-2 SCL's no data (0), saturated or defective (1), cloud shadows (3), cloud
        /// medium and high probability (8, 9) and thin cirrus (10).
        public static let sclInvalidClasses = [0, 1, 3, 8, 9, 10]

        /// The defaults.
        public init() {}
    }

    /// Output settings.
    public struct Output: Equatable, Sendable {
        /// Output folder, relative to the pipeline file's folder; or an object-store folder
        /// (`s3://bucket/prefix`, `/vsis3/bucket/prefix`, ...: see ``PipelineFile/objectStore``).
        public var folder = "out"
        /// With an object-store `folder`: the local folder each scene's files are finished in
        /// before they are uploaded (a `landcover-scratch-<pid>` folder inside it, emptied after
        /// each scene); nil = `TMPDIR`, else `/tmp`.
        public var scratchFolder: String? = nil
        /// With an object-store `folder`: the local folder for the run history, the run lock and
        /// the local copies of the run reports; nil = `$XDG_STATE_HOME/landcover`, else
        /// `~/.local/state/landcover`.
        public var stateFolder: String? = nil
        /// File name template; `{scene}`, `{date}` and `{model}` are replaced.
        public var name = "{scene}_landcover.tif"
        public var format = RasterFormat.gtiff
        public var compression = RasterCompression.deflate
        public var confidence = true
        public var probabilities = false
        public var preview = true
        public var stac = true
        /// Patch mode: one output pixel per patch (true) or painted at full resolution (false).
        public var patchResolution = false
        /// Class polygons of the map (`NAME.gpkg` / `NAME.geojson`), or nil for none.
        public var polygons: PolygonFormat? = nil
        /// Polygon connectivity: 4 (edge neighbours) or 8 (corners too).
        public var polygonConnectivity = 4
        /// CRS of GeoJSON polygons: WGS 84 lon/lat per RFC 7946, or the map's own CRS.
        public var geojsonCRS = GeoJSONCRS.wgs84
        /// Minimum mapping unit: regions of one class smaller than this are merged into their
        /// largest neighbour (GDAL's sieve filter) in the map and so in the polygons; nil = none.
        public var minMappingUnit: MinimumMappingUnit? = nil
        /// GDAL creation options (`KEY=VALUE`, `--co`) for every raster output of a scene (map,
        /// confidence, probabilities), over landcover's own; checked against the GTiff or COG
        /// driver when the file is read. Compression is `compression`, never `COMPRESS` here.
        public var creationOptions: [String: String] = [:]

        /// The defaults.
        public init() {}
    }

    /// `output.geojson_crs`.
    public enum GeoJSONCRS: String, Equatable, Sendable, CaseIterable {
        /// WGS 84 longitude/latitude, no `crs` member, right-hand rings (RFC 7946).
        case wgs84
        /// The map's CRS and coordinates, with a legacy `crs` member naming it.
        case native
    }

    /// `output.min_mapping_unit`: a number of pixels (`12`) or an area (`"5000 m2"`, `"0.5 ha"`).
    public enum MinimumMappingUnit: Equatable, Sendable {
        case pixels(Int)
        case squareMetres(Double)

        /// Parses `12`, `"12 px"`, `"5000 m2"`, `"5000 m²"` or `"0.5 ha"`; nil when malformed.
        public init?(text: String) {
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            let units: [(String, Double?)] = [("px", nil), ("pixels", nil), ("m2", 1), ("m²", 1), ("ha", 10_000)]
            for (unit, factor) in units where trimmed.hasSuffix(unit) {
                let number = trimmed.dropLast(unit.count).trimmingCharacters(in: .whitespaces)
                guard let value = Double(number), value.isFinite, value > 0 else { return nil }
                if let factor {
                    self = .squareMetres(value * factor)
                } else {
                    guard value == value.rounded(), value < 1e9 else { return nil }
                    self = .pixels(Int(value))
                }
                return
            }
            guard let value = Int(trimmed), value > 0, value < 1_000_000_000 else { return nil }
            self = .pixels(value)
        }

        /// The threshold in whole pixels for pixels of `pixelArea` square map units: regions of
        /// fewer pixels are sieved away. An area is rounded up to whole pixels.
        public func pixels(pixelArea: Double) -> Int {
            switch self {
            case .pixels(let count): return count
            case .squareMetres(let area):
                guard pixelArea > 0, pixelArea.isFinite else { return 1 }
                return Int(min(1e9, (area / pixelArea - 1e-9).rounded(.up)))
            }
        }
    }

    /// Test-time augmentation (`runtime.tta`): each batch of patches also runs flipped or rotated,
    /// and the class probabilities of the passes, turned back to the patch's orientation, are
    /// averaged (in a fixed order, so maps do not depend on the number of workers).
    public enum TestTimeAugmentation: String, Equatable, Sendable, CaseIterable {
        /// One pass.
        case none
        /// Two passes: as is and mirrored left-right (about twice the inference time of `none`).
        case flips
        /// Eight passes: the four rotations by 90 degrees, each also mirrored (the dihedral group
        /// of the square; patches are square).
        case d4
    }

    /// `runtime.precision`: the arithmetic of the model's convolutions. The engine's
    /// `InferencePrecision` (CNN) has the same cases and raw values; Classification maps one to
    /// the other (settings are values: Config does not import the engine).
    public enum Precision: String, Equatable, Sendable, CaseIterable {
        /// float32 everywhere.
        case fp32
        /// A quantized (QDQ) model's convolutions on the int8 kernels; needs a quantized model.
        case int8
    }

    /// Runtime settings.
    public struct Runtime: Equatable, Sendable {
        /// Classifier threads; nil = one per core.
        public var threads: Int? = nil
        /// Memory budget in MiB for buffers and GDAL's cache.
        public var memoryMiB = 512
        /// Patches per inference batch; nil = chosen from the model's size (see
        /// `PipelinePlan.automaticBatchSize(parameters:)` in Classification).
        public var batchSize: Int? = nil
        /// Test-time augmentation: the passes each batch runs through the model (`runtime.tta`).
        public var testTimeAugmentation = TestTimeAugmentation.none
        /// The arithmetic of the model's convolutions (`runtime.precision`).
        public var precision = Precision.fp32

        /// The defaults.
        public init() {}
    }

    public var inputs: [Input]
    public var model: String
    /// Model band name -> scene band name, for scenes whose bands differ from the model's names.
    public var bandMap: [String: String] = [:]
    /// Names of unnamed multi-band files' bands (`eurosat`, `sentinel2` or a list).
    public var bandOrder: [String]? = nil
    /// Grid pixel size in map units; nil = the finest band's.
    public var resolution: Double? = nil
    /// Per-band resampling methods (`resampling: {B05: cubic}` or `B05=cubic` in the text form).
    public var resampling: [String: Resampling] = [:]
    /// One method for every measurement band without a per-band method (`resampling: cubic`);
    /// nil = bilinear up, average down. Categorical bands keep nearest/mode unless named per band.
    public var allBandsResampling: Resampling? = nil
    /// Bands holding class codes (besides SCL and the mask band): resampled with nearest (up)
    /// and mode (down) unless `resampling` names a method.
    public var categorical: [String] = []
    public var tiling = Tiling()
    public var mode = Mode.auto
    public var nodata = Nodata()
    public var output = Output()
    public var runtime = Runtime()
    /// The folder relative paths are resolved against.
    public var baseFolder: String

    /// A pipeline with every optional key at its default: the one place the defaults live
    /// (pipelines/README.md's table is checked against them by ConfigTests). Callers that build
    /// a pipeline in code (`landcover evaluate`) start here and set what they need.
    public init(inputs: [Input], model: String, baseFolder: String) {
        self.inputs = inputs
        self.model = model
        self.baseFolder = baseFolder
    }

    /// Every key the schema knows, by section ("" = top level); for validation and did-you-mean.
    public static let schema: [String: Set<String>] = [
        "": ["version", "inputs", "model", "bands", "band_order", "resolution", "resampling", "categorical", "tiling", "mode", "nodata", "output", "runtime"],
        "inputs[]": ["path", "paths", "name", "stac_search"],
        "inputs[].stac_search": ["url", "collections", "bbox", "intersects", "datetime", "query", "filter", "limit", "max_items"],
        "tiling": ["patch_size", "stride", "edge"],
        "nodata": ["value", "min_valid_fraction", "mask"],
        "nodata.mask": ["band", "path", "invalid"],
        "output": ["folder", "name", "format", "compression", "confidence", "probabilities", "preview", "stac", "patch_resolution",
                   "polygons", "polygon_connectivity", "geojson_crs", "min_mapping_unit", "creation_options", "scratch_folder", "state_folder"],
        "runtime": ["threads", "memory_mb", "batch_size", "tta", "precision"],
    ]

    /// Bounds of the numeric keys (stated in pipelines/README.md and in each error message).
    /// Values outside them are refused when the file is read, before anything is sized from them.
    public enum Limits {
        /// `tiling.patch_size` and `tiling.stride`, in pixels.
        public static let patchSize = 1...2048
        /// `runtime.batch_size`, patches per inference batch.
        public static let batchSize = 1...1024
        /// `runtime.threads` and `--threads`.
        public static let threads = 1...256
        /// `runtime.memory_mb`, MiB.
        public static let memoryMiB = 32...1_048_576
        /// `resolution`, map units per pixel (metres or degrees).
        public static let resolution = 1e-7...1e7
        /// `stac_search.limit`: items per page asked of a STAC API.
        public static let searchLimit = 1...10_000
        /// `stac_search.max_items`: items read from one search over all pages (each is a scene).
        public static let searchMaxItems = 1...100_000
        /// `nodata.mask.invalid` values (UInt16 mask layers).
        public static let maskValue = 0...65535
        /// Longest scene name or output file name, in bytes (file systems allow 255, and the
        /// temporary names add a suffix).
        public static let fileNameBytes = 200
    }

    /// Why `name` cannot be a file name (a `/`, `.` or `..`, a control character, empty or too
    /// long), or nil when it can.
    public static func fileNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.contains("/") { return "contains '/'; it must be a file name, not a path (output.folder says where files go)" }
        if name == "." || name == ".." { return "is '\(name)'; it must be a file name" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "contains a control character" }
        if name.utf8.count > Limits.fileNameBytes { return "is longer than \(Limits.fileNameBytes) bytes" }
        return nil
    }

    /// `path` resolved against the pipeline's folder (absolute paths unchanged).
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseFolder).appendingPathComponent(path).standardizedFileURL.path
    }

    /// The object-store folder `output.folder` names (`s3://bucket/prefix`, `/vsis3/bucket/prefix`,
    /// `gs://`, `az://`, ...), or nil for a local folder. The parser refuses malformed store URLs,
    /// so a pipeline that loaded has none.
    public var objectStore: ObjectStoreFolder? {
        guard case .success(let folder)? = ObjectStoreFolder.parse(output.folder) else { return nil }
        return folder
    }

    /// Where this process writes a scene's files: `output.folder`, or with an object store the
    /// process's scratch folder `<output.scratch_folder>/landcover-scratch-<pid>`.
    public var localOutputFolder: String {
        guard objectStore != nil else { return resolve(output.folder) }
        return (scratchRoot as NSString).appendingPathComponent("\(Self.scratchPrefix)\(getpid())")
    }

    /// Name prefix of the per-process scratch folders (`landcover-scratch-<pid>`).
    public static let scratchPrefix = "landcover-scratch-"

    /// `output.scratch_folder` resolved, else `TMPDIR`, else `/tmp`.
    public var scratchRoot: String {
        if let folder = output.scratchFolder { return resolve(folder) }
        if let tmp = ProcessInfo.processInfo.environment["TMPDIR"], tmp.hasPrefix("/") { return tmp }
        return "/tmp"
    }

    /// The local state folder of a pipeline with object-store outputs (run history, lock, local
    /// report copies): `output.state_folder` resolved, else `$XDG_STATE_HOME/landcover`, else
    /// `~/.local/state/landcover`; one sub-folder per store folder (8 hex digits of a hash of its
    /// URL) keeps pipelines writing to different stores apart.
    public var stateFolder: String {
        let environment = ProcessInfo.processInfo.environment
        let root: String
        if let folder = output.stateFolder {
            root = resolve(folder)
        } else if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            root = (xdg as NSString).appendingPathComponent("landcover")
        } else {
            root = (NSHomeDirectory() as NSString).appendingPathComponent(".local/state/landcover")
        }
        // FNV-1a: a stable name, no cryptography needed here.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (objectStore?.vsiPath ?? resolve(output.folder)).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return (root as NSString).appendingPathComponent(String(format: "%08llx", hash & 0xffff_ffff))
    }
}


extension PipelineFile {
    /// Each optional key's default as pipelines/README.md's table writes it, read from a
    /// default-built pipeline (``init(inputs:model:baseFolder:)``): the literal value, or nil
    /// where the default depends on the model, the scene or the machine (the table says which).
    /// ConfigTests checks the table against this, so the documentation cannot drift.
    public static var documentedDefaults: [String: String?] {
        let d = PipelineFile(inputs: [], model: "", baseFolder: "")
        func flag(_ value: Bool) -> String { value ? "true" : "false" }
        return [
            "inputs[].stac_search.url": nil, "inputs[].stac_search.collections": nil, "inputs[].stac_search.bbox": nil,
            "inputs[].stac_search.intersects": nil, "inputs[].stac_search.datetime": nil, "inputs[].stac_search.query": nil,
            "inputs[].stac_search.filter": nil, "inputs[].stac_search.limit": "\(STACSearchDefaults.limit)",
            "inputs[].stac_search.max_items": "\(STACSearchDefaults.maxItems)",
            "bands": d.bandMap.isEmpty ? "{}" : nil, "band_order": nil, "resolution": nil, "resampling": nil,
            "categorical": d.categorical.isEmpty ? "[]" : nil,
            "tiling.patch_size": nil, "tiling.stride": nil, "tiling.edge": d.tiling.edge.rawValue,
            "mode": d.mode.rawValue,
            "nodata.value": nil, "nodata.min_valid_fraction": "\(d.nodata.minValidFraction)",
            "nodata.mask.band": nil, "nodata.mask.path": nil, "nodata.mask.invalid": nil,
            "output.folder": d.output.folder, "output.name": d.output.name,
            "output.format": d.output.format.rawValue.lowercased(), "output.compression": d.output.compression.rawValue.lowercased(),
            "output.confidence": flag(d.output.confidence), "output.probabilities": flag(d.output.probabilities),
            "output.preview": flag(d.output.preview), "output.stac": flag(d.output.stac),
            "output.patch_resolution": flag(d.output.patchResolution),
            "output.polygons": d.output.polygons?.rawValue ?? "none", "output.polygon_connectivity": "\(d.output.polygonConnectivity)",
            "output.geojson_crs": d.output.geojsonCRS.rawValue, "output.min_mapping_unit": nil,
            "output.creation_options": d.output.creationOptions.isEmpty ? "{}" : nil,
            "output.scratch_folder": nil, "output.state_folder": nil,
            "runtime.threads": nil, "runtime.memory_mb": "\(d.runtime.memoryMiB)", "runtime.batch_size": nil,
            "runtime.tta": d.runtime.testTimeAugmentation.rawValue, "runtime.precision": d.runtime.precision.rawValue,
        ]
    }
}

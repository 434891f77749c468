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
    }

    /// Tiling settings.
    public struct Tiling: Equatable, Sendable {
        /// Patch size in pixels; nil = the model's.
        public var patchSize: Int?
        /// Stride in pixels; nil = the patch size (no overlap).
        public var stride: Int?
        public var edge: EdgePolicy
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
        public var value: Double?
        /// Patches with a smaller fraction of valid pixels count only where no better patch covers a pixel.
        public var minValidFraction: Double
        /// Optional mask layer, e.g. Sentinel-2 SCL: pixels whose value is in `invalidValues` are nodata.
        public var maskBand: String?
        public var maskPath: String?
        public var invalidValues: [Int]
    }

    /// Output settings.
    public struct Output: Equatable, Sendable {
        public var folder: String
        /// File name template; `{scene}`, `{date}` and `{model}` are replaced.
        public var name: String
        public var format: RasterFormat
        public var compression: RasterCompression
        public var confidence: Bool
        public var probabilities: Bool
        public var preview: Bool
        public var stac: Bool
        /// Patch mode: one output pixel per patch (true) or painted at full resolution (false).
        public var patchResolution: Bool
        /// Class polygons of the map (`NAME.gpkg` / `NAME.geojson`), or nil for none.
        public var polygons: PolygonFormat?
        /// Polygon connectivity: 4 (edge neighbours) or 8 (corners too).
        public var polygonConnectivity: Int
        /// CRS of GeoJSON polygons: WGS 84 lon/lat per RFC 7946, or the map's own CRS.
        public var geojsonCRS: GeoJSONCRS
        /// Minimum mapping unit: regions of one class smaller than this are merged into their
        /// largest neighbour (GDAL's sieve filter) in the map and so in the polygons; nil = none.
        public var minMappingUnit: MinimumMappingUnit?
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

    /// Runtime settings.
    public struct Runtime: Equatable, Sendable {
        /// Classifier threads; nil = one per core.
        public var threads: Int?
        /// Memory budget in MiB for buffers and GDAL's cache.
        public var memoryMiB: Int
        /// Patches per inference batch; nil = chosen from the model's size (see
        /// ``PipelineRunner/automaticBatchSize(parameters:)``).
        public var batchSize: Int?
    }

    public var inputs: [Input]
    public var model: String
    /// Model band name -> scene band name, for scenes whose bands differ from the model's names.
    public var bandMap: [String: String]
    /// Names of unnamed multi-band files' bands (`eurosat`, `sentinel2` or a list).
    public var bandOrder: [String]?
    public var resolution: Double?
    public var resampling: [String: Resampling]
    /// Bands holding class codes (besides SCL and the mask band): resampled with nearest (up)
    /// and mode (down) unless `resampling` names a method.
    public var categorical: [String]
    public var tiling: Tiling
    public var mode: Mode
    public var nodata: Nodata
    public var output: Output
    public var runtime: Runtime
    /// The folder relative paths are resolved against.
    public var baseFolder: String

    /// Every key the schema knows, by section ("" = top level); for validation and did-you-mean.
    public static let schema: [String: Set<String>] = [
        "": ["version", "inputs", "model", "bands", "band_order", "resolution", "resampling", "categorical", "tiling", "mode", "nodata", "output", "runtime"],
        "inputs[]": ["path", "paths", "name"],
        "tiling": ["patch_size", "stride", "edge"],
        "nodata": ["value", "min_valid_fraction", "mask"],
        "nodata.mask": ["band", "path", "invalid"],
        "output": ["folder", "name", "format", "compression", "confidence", "probabilities", "preview", "stac", "patch_resolution",
                   "polygons", "polygon_connectivity", "geojson_crs", "min_mapping_unit"],
        "runtime": ["threads", "memory_mb", "batch_size"],
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

    /// Reads and validates a pipeline file.
    /// - Throws: ``PipelineError`` naming the key (or file) at fault.
    public static func load(path: String) throws -> PipelineFile {
        let text = try YAMLMap.text(ofFile: path, errors: PipelineYAMLErrors(source: path), reason: "cannot read the pipeline file; check the path")
        return try parse(text, baseFolder: URL(fileURLWithPath: path).deletingLastPathComponent().path, source: path)
    }

    /// Parses pipeline YAML text; relative paths are resolved against `baseFolder`.
    public static func parse(_ text: String, baseFolder: String, source: String = "pipeline") throws -> PipelineFile {
        let root = try YAMLMap(yaml: text, allowed: schema[""], errors: PipelineYAMLErrors(source: source),
                               emptyReason: "the file is empty; see pipelines/README.md")
        if let version = try root.int("version"), version != 1 {
            throw PipelineError.invalidValue(key: "version", value: "\(version)", reason: "is not supported; this landcover reads version 1")
        }
        guard let inputsNode = root["inputs"] else { throw PipelineError.missingKey(key: "inputs") }
        var inputs: [Input] = []
        let inputItems: [Node]
        if case .sequence(let seq) = inputsNode { inputItems = Array(seq) } else { inputItems = [inputsNode] }
        for (i, item) in inputItems.enumerated() {
            let key = "inputs[\(i)]"
            if let s = item.string {
                inputs.append(Input(paths: [s], name: nil))
            } else {
                let map = try YAMLMap(item, path: key, allowed: schema["inputs[]"], errors: root.errors)
                var paths = try map.strings("paths") ?? []
                if let one = try map.string("path") { paths.insert(one, at: 0) }
                guard !paths.isEmpty else { throw PipelineError.missingKey(key: "\(key).path") }
                let name = try map.string("name")
                if let name, let problem = fileNameProblem(name) {
                    throw map.invalid("name", name, "\(problem); a scene name becomes part of output file names")
                }
                inputs.append(Input(paths: paths, name: name))
            }
        }
        guard !inputs.isEmpty else { throw PipelineError.invalidValue(key: "inputs", value: "[]", reason: "lists no scenes; add at least one path") }
        guard let model = try root.string("model") else { throw PipelineError.missingKey(key: "model") }

        var bandMap: [String: String] = [:]
        if let map = try root.map("bands", allowed: nil) {
            for key in map.keys {
                guard let value = try map.string(key) else { continue }
                bandMap[SentinelBand.canonicalName(key)] = SentinelBand.canonicalName(value)
            }
        }
        var bandOrder: [String]?
        if let order = root["band_order"] {
            if let name = order.string {
                guard let named = SentinelBand.namedOrder(name) else {
                    throw PipelineError.invalidValue(key: "band_order", value: name, reason: "is not a known order (eurosat, sentinel2, sentinel2-l2a) nor a list of band names")
                }
                bandOrder = named
            } else {
                bandOrder = try root.strings("band_order")?.map(SentinelBand.canonicalName)
            }
        }
        var resampling: [String: Resampling] = [:]
        if let map = try root.map("resampling", allowed: nil) {
            for key in map.keys {
                let value = try map.string(key) ?? ""
                guard let method = Resampling(name: value) else {
                    throw map.invalid(key, value, "is not one of \(Resampling.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                resampling[SentinelBand.canonicalName(key)] = method
            }
        }
        let categorical = try root.strings("categorical")?.map(SentinelBand.canonicalName) ?? []
        let resolution = try root.double("resolution")
        if let resolution, !Limits.resolution.contains(resolution) {
            throw PipelineError.invalidValue(key: "resolution", value: "\(resolution)", reason: "must be a pixel size in map units from \(Limits.resolution.lowerBound) to \(Limits.resolution.upperBound)")
        }

        let tilingMap = try root.map("tiling", allowed: schema["tiling"])
        let edgeText = try tilingMap?.string("edge") ?? EdgePolicy.shift.rawValue
        guard let edge = EdgePolicy(rawValue: edgeText) else {
            throw PipelineError.invalidValue(key: "tiling.edge", value: edgeText, reason: "must be one of \(EdgePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let tiling = Tiling(patchSize: try tilingMap?.int("patch_size", in: Limits.patchSize),
                            stride: try tilingMap?.int("stride", in: Limits.patchSize), edge: edge)
        if let patch = tiling.patchSize, let stride = tiling.stride, stride > patch {
            throw PipelineError.invalidValue(key: "tiling.stride", value: "\(stride)", reason: "must be between 1 and the patch size (\(patch)), or patches would leave gaps")
        }

        let modeText = try root.string("mode") ?? Mode.auto.rawValue
        guard let mode = Mode(rawValue: modeText) else {
            throw PipelineError.invalidValue(key: "mode", value: modeText, reason: "must be one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }

        let nodataMap = try root.map("nodata", allowed: schema["nodata"])
        let minValid = try nodataMap?.double("min_valid_fraction") ?? 0.5
        guard (0...1).contains(minValid) else {
            throw PipelineError.invalidValue(key: "nodata.min_valid_fraction", value: "\(minValid)", reason: "must be between 0 and 1")
        }
        let maskMap = try nodataMap?.map("mask", allowed: schema["nodata.mask"])
        let nodata = Nodata(value: try nodataMap?.double("value"), minValidFraction: minValid,
                            maskBand: try maskMap?.string("band").map(SentinelBand.canonicalName), maskPath: try maskMap?.string("path"),
                            invalidValues: try maskMap?.ints("invalid") ?? (maskMap == nil ? [] : [0, 1, 3, 8, 9, 10]))
        if let bad = nodata.invalidValues.first(where: { !Limits.maskValue.contains($0) }) {
            throw PipelineError.invalidValue(key: "nodata.mask.invalid", value: "\(bad)", reason: "must list mask values from \(Limits.maskValue.lowerBound) to \(Limits.maskValue.upperBound)")
        }

        let outMap = try root.map("output", allowed: schema["output"])
        let formatText = try outMap?.string("format") ?? "gtiff"
        guard let format = RasterFormat.allCases.first(where: { $0.rawValue.lowercased() == formatText.lowercased() }) else {
            throw PipelineError.invalidValue(key: "output.format", value: formatText, reason: "must be gtiff or cog")
        }
        let compressionText = try outMap?.string("compression") ?? "deflate"
        guard let compression = RasterCompression.allCases.first(where: { $0.rawValue.lowercased() == compressionText.lowercased() }) else {
            throw PipelineError.invalidValue(key: "output.compression", value: compressionText, reason: "must be deflate, zstd, lzw or none")
        }
        let polygonsText = try outMap?.string("polygons") ?? "none"
        let polygons = PolygonFormat.allCases.first { $0.rawValue == polygonsText.lowercased() }
        guard polygons != nil || polygonsText.lowercased() == "none" else {
            throw PipelineError.invalidValue(key: "output.polygons", value: polygonsText, reason: "must be none, gpkg or geojson")
        }
        let connectivity = try outMap?.int("polygon_connectivity") ?? 4
        guard connectivity == 4 || connectivity == 8 else {
            throw PipelineError.invalidValue(key: "output.polygon_connectivity", value: "\(connectivity)", reason: "must be 4 or 8")
        }
        let nameTemplate = try outMap?.string("name") ?? "{scene}_landcover.tif"
        if let problem = fileNameProblem(nameTemplate) {
            throw PipelineError.invalidValue(key: "output.name", value: YAMLMap.excerpt(nameTemplate), reason: problem)
        }
        let folderText = try outMap?.string("folder") ?? "out"
        if folderText.isEmpty || folderText.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw PipelineError.invalidValue(key: "output.folder", value: YAMLMap.excerpt(folderText), reason: "must be a folder path without control characters")
        }
        let geojsonText = try outMap?.string("geojson_crs") ?? GeoJSONCRS.wgs84.rawValue
        guard let geojsonCRS = GeoJSONCRS(rawValue: geojsonText.lowercased()) else {
            throw PipelineError.invalidValue(key: "output.geojson_crs", value: geojsonText, reason: "must be wgs84 (RFC 7946) or native (the map's CRS)")
        }
        var minMappingUnit: MinimumMappingUnit?
        if let node = outMap?["min_mapping_unit"] {
            let text = node.string ?? ""
            guard let unit = MinimumMappingUnit(text: text) else {
                throw PipelineError.invalidValue(key: "output.min_mapping_unit", value: text, reason: "must be a number of pixels (12) or an area (\"5000 m2\", \"0.5 ha\")")
            }
            minMappingUnit = unit
        }
        let output = Output(folder: folderText, name: nameTemplate,
                            format: format, compression: compression, confidence: try outMap?.bool("confidence") ?? true,
                            probabilities: try outMap?.bool("probabilities") ?? false, preview: try outMap?.bool("preview") ?? true,
                            stac: try outMap?.bool("stac") ?? true, patchResolution: try outMap?.bool("patch_resolution") ?? false,
                            polygons: polygons, polygonConnectivity: connectivity, geojsonCRS: geojsonCRS,
                            minMappingUnit: minMappingUnit)

        let runMap = try root.map("runtime", allowed: schema["runtime"])
        let runtime = Runtime(threads: try runMap?.int("threads", in: Limits.threads),
                              memoryMiB: try runMap?.int("memory_mb", in: Limits.memoryMiB) ?? 512,
                              batchSize: try runMap?.int("batch_size", in: Limits.batchSize))

        return PipelineFile(inputs: inputs, model: model, bandMap: bandMap, bandOrder: bandOrder, resolution: resolution,
                            resampling: resampling, categorical: categorical, tiling: tiling, mode: mode, nodata: nodata, output: output,
                            runtime: runtime, baseFolder: baseFolder)
    }

    /// `path` resolved against the pipeline's folder (absolute paths unchanged).
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseFolder).appendingPathComponent(path).standardizedFileURL.path
    }
}

/// Pipeline files' strict mappings.
typealias YAMLMap = StrictYAMLMap<PipelineYAMLErrors>

/// How ``StrictYAMLMap`` problems in a pipeline file become ``PipelineError``s.
struct PipelineYAMLErrors: StrictYAMLErrors {
    /// The file (or description of the text) being read.
    let source: String

    func unknownKey(_ key: String, suggestion: String?) -> PipelineError { .unknownKey(key: key, suggestion: suggestion) }
    func missingKey(_ key: String, hint: String) -> PipelineError { .missingKey(key: key) }
    func invalidValue(_ key: String, value: String, reason: String) -> PipelineError { .invalidValue(key: key, value: value, reason: reason) }
    func unreadable(_ reason: String) -> PipelineError { .unreadable(path: source, reason: reason) }
    var listItemReason: String { "must be a list of strings" }
}

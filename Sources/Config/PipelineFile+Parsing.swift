import Foundation
import RasterIO
import Yams

extension PipelineFile {
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
                if let searchMap = try map.map("stac_search", allowed: schema["inputs[].stac_search"]) {
                    if let other = map.keys.first(where: { $0 != "stac_search" }) {
                        throw map.invalid(other, other, "an input is either stac_search or path/paths/name; give the search its own list entry")
                    }
                    inputs.append(Input(search: try parseSearch(searchMap)))
                    continue
                }
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
        var file = PipelineFile(inputs: inputs, model: model, baseFolder: baseFolder)

        if let map = try root.map("bands", allowed: nil) {
            for key in map.keys {
                guard let value = try map.string(key) else { continue }
                file.bandMap[SentinelBand.canonicalName(key)] = SentinelBand.canonicalName(value)
            }
        }
        if let order = root["band_order"] {
            if let name = order.string {
                guard let named = SentinelBand.namedOrder(name) else {
                    throw PipelineError.invalidValue(key: "band_order", value: name, reason: "is not a known order (\(SentinelBand.namedOrders.joined(separator: ", "))) nor a list of band names")
                }
                file.bandOrder = named
            } else {
                file.bandOrder = try root.strings("band_order")?.map(SentinelBand.canonicalName)
            }
        }
        if let node = root["resampling"], let text = node.string {
            guard let choice = ResamplingChoice(text: text) else {
                throw PipelineError.invalidValue(key: "resampling", value: YAMLMap.excerpt(text), reason: "must be \(ResamplingChoice.syntax), or a mapping band: method")
            }
            file.allBandsResampling = choice.allBands
            file.resampling = choice.perBand
        } else if let map = try root.map("resampling", allowed: nil) {
            for key in map.keys {
                let value = try map.string(key) ?? ""
                guard let method = Resampling(name: value) else {
                    throw map.invalid(key, value, "is not one of \(Resampling.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                file.resampling[SentinelBand.canonicalName(key)] = method
            }
        }
        file.categorical = try root.strings("categorical")?.map(SentinelBand.canonicalName) ?? file.categorical
        file.resolution = try root.double("resolution")
        if let resolution = file.resolution, !Limits.resolution.contains(resolution) {
            throw PipelineError.invalidValue(key: "resolution", value: "\(resolution)", reason: "must be a pixel size in map units from \(Limits.resolution.lowerBound) to \(Limits.resolution.upperBound)")
        }

        let tilingMap = try root.map("tiling", allowed: schema["tiling"])
        if let edgeText = try tilingMap?.string("edge") {
            guard let edge = EdgePolicy(rawValue: edgeText) else {
                throw PipelineError.invalidValue(key: "tiling.edge", value: edgeText, reason: "must be one of \(EdgePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            file.tiling.edge = edge
        }
        file.tiling.patchSize = try tilingMap?.int("patch_size", in: Limits.patchSize)
        file.tiling.stride = try tilingMap?.int("stride", in: Limits.patchSize)
        if let patch = file.tiling.patchSize, let stride = file.tiling.stride, stride > patch {
            throw PipelineError.invalidValue(key: "tiling.stride", value: "\(stride)", reason: "must be between 1 and the patch size (\(patch)), or patches would leave gaps")
        }

        if let modeText = try root.string("mode") {
            guard let mode = Mode(rawValue: modeText) else {
                throw PipelineError.invalidValue(key: "mode", value: modeText, reason: "must be one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            file.mode = mode
        }

        let nodataMap = try root.map("nodata", allowed: schema["nodata"])
        file.nodata.value = try nodataMap?.double("value")
        file.nodata.minValidFraction = try nodataMap?.double("min_valid_fraction") ?? file.nodata.minValidFraction
        guard (0...1).contains(file.nodata.minValidFraction) else {
            throw PipelineError.invalidValue(key: "nodata.min_valid_fraction", value: "\(file.nodata.minValidFraction)", reason: "must be between 0 and 1")
        }
        if let maskMap = try nodataMap?.map("mask", allowed: schema["nodata.mask"]) {
            file.nodata.maskBand = try maskMap.string("band").map(SentinelBand.canonicalName)
            file.nodata.maskPath = try maskMap.string("path")
            file.nodata.invalidValues = try maskMap.ints("invalid") ?? Nodata.sclInvalidClasses
        }
        if let bad = file.nodata.invalidValues.first(where: { !Limits.maskValue.contains($0) }) {
            throw PipelineError.invalidValue(key: "nodata.mask.invalid", value: "\(bad)", reason: "must list mask values from \(Limits.maskValue.lowerBound) to \(Limits.maskValue.upperBound)")
        }

        if let outMap = try root.map("output", allowed: schema["output"]) {
            file.output = try parseOutput(outMap)
        }

        let runMap = try root.map("runtime", allowed: schema["runtime"])
        file.runtime.threads = try runMap?.int("threads", in: Limits.threads)
        file.runtime.memoryMiB = try runMap?.int("memory_mb", in: Limits.memoryMiB) ?? file.runtime.memoryMiB
        file.runtime.batchSize = try runMap?.int("batch_size", in: Limits.batchSize)
        if let ttaText = try runMap?.string("tta") {
            guard let tta = TestTimeAugmentation(rawValue: ttaText.lowercased()) else {
                throw PipelineError.invalidValue(key: "runtime.tta", value: ttaText, reason: "must be one of \(TestTimeAugmentation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            file.runtime.testTimeAugmentation = tta
        }
        if let precisionText = try runMap?.string("precision") {
            guard let precision = Precision(rawValue: precisionText.lowercased()) else {
                throw PipelineError.invalidValue(key: "runtime.precision", value: precisionText, reason: "must be one of \(Precision.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            file.runtime.precision = precision
        }
        return file
    }

    /// The `output` section over ``Output``'s defaults.
    private static func parseOutput(_ outMap: YAMLMap) throws -> Output {
        var output = Output()
        if let formatText = try outMap.string("format") {
            guard let format = RasterFormat.allCases.first(where: { $0.rawValue.lowercased() == formatText.lowercased() }) else {
                throw PipelineError.invalidValue(key: "output.format", value: formatText, reason: "must be gtiff or cog")
            }
            output.format = format
        }
        if let compressionText = try outMap.string("compression") {
            guard let compression = RasterCompression.allCases.first(where: { $0.rawValue.lowercased() == compressionText.lowercased() }) else {
                throw PipelineError.invalidValue(key: "output.compression", value: compressionText, reason: "must be deflate, zstd, lzw or none")
            }
            output.compression = compression
        }
        if let polygonsText = try outMap.string("polygons") {
            output.polygons = PolygonFormat.allCases.first { $0.rawValue == polygonsText.lowercased() }
            guard output.polygons != nil || polygonsText.lowercased() == "none" else {
                throw PipelineError.invalidValue(key: "output.polygons", value: polygonsText, reason: "must be none, gpkg or geojson")
            }
        }
        output.polygonConnectivity = try outMap.int("polygon_connectivity") ?? output.polygonConnectivity
        guard output.polygonConnectivity == 4 || output.polygonConnectivity == 8 else {
            throw PipelineError.invalidValue(key: "output.polygon_connectivity", value: "\(output.polygonConnectivity)", reason: "must be 4 or 8")
        }
        output.name = try outMap.string("name") ?? output.name
        if let problem = fileNameProblem(output.name) {
            throw PipelineError.invalidValue(key: "output.name", value: YAMLMap.excerpt(output.name), reason: problem)
        }
        output.folder = try outMap.string("folder") ?? output.folder
        if output.folder.isEmpty || output.folder.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw PipelineError.invalidValue(key: "output.folder", value: YAMLMap.excerpt(output.folder), reason: "must be a folder path without control characters")
        }
        if case .failure(let problem)? = ObjectStoreFolder.parse(output.folder) {
            throw PipelineError.invalidValue(key: "output.folder", value: YAMLMap.excerpt(output.folder), reason: problem.reason)
        }
        for key in ["scratch_folder", "state_folder"] {
            guard let text = try outMap.string(key) else { continue }
            if text.isEmpty || text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) || ObjectStoreFolder.parse(text) != nil {
                throw PipelineError.invalidValue(key: "output.\(key)", value: YAMLMap.excerpt(text), reason: "must be a local folder path without control characters")
            }
            if key == "scratch_folder" { output.scratchFolder = text } else { output.stateFolder = text }
        }
        if let geojsonText = try outMap.string("geojson_crs") {
            guard let crs = GeoJSONCRS(rawValue: geojsonText.lowercased()) else {
                throw PipelineError.invalidValue(key: "output.geojson_crs", value: geojsonText, reason: "must be wgs84 (RFC 7946) or native (the map's CRS)")
            }
            output.geojsonCRS = crs
        }
        if let node = outMap["min_mapping_unit"] {
            let text = node.string ?? ""
            guard let unit = MinimumMappingUnit(text: text) else {
                throw PipelineError.invalidValue(key: "output.min_mapping_unit", value: text, reason: "must be a number of pixels (12) or an area (\"5000 m2\", \"0.5 ha\")")
            }
            output.minMappingUnit = unit
        }
        if let map = try outMap.map("creation_options", allowed: nil) {
            for key in map.keys {
                output.creationOptions[key.uppercased()] = try map.string(key) ?? ""
            }
        }
        if let problem = RasterCreationOptions.problem(output.creationOptions, format: output.format) {
            throw PipelineError.invalidValue(key: "output.creation_options", value: YAMLMap.excerpt(RasterCreationOptions.text(output.creationOptions)), reason: problem)
        }
        output.confidence = try outMap.bool("confidence") ?? output.confidence
        output.probabilities = try outMap.bool("probabilities") ?? output.probabilities
        output.preview = try outMap.bool("preview") ?? output.preview
        output.stac = try outMap.bool("stac") ?? output.stac
        output.patchResolution = try outMap.bool("patch_resolution") ?? output.patchResolution
        if ObjectStoreFolder.parse(output.folder) != nil && !output.stac {
            throw PipelineError.invalidValue(key: "output.stac", value: "false", reason: "must be true with an object-store output.folder: each scene's STAC item is uploaded last and marks the scene complete")
        }
        return output
    }
}

/// Pipeline files' strict mappings.
package typealias YAMLMap = StrictYAMLMap<PipelineYAMLErrors>

/// How ``StrictYAMLMap`` problems in a pipeline file become ``PipelineError``s.
package struct PipelineYAMLErrors: StrictYAMLErrors {
    /// The file (or description of the text) being read.
    package let source: String

    package init(source: String) { self.source = source }

    package func unknownKey(_ key: String, suggestion: String?) -> PipelineError { .unknownKey(key: key, suggestion: suggestion) }
    package func missingKey(_ key: String, hint: String) -> PipelineError { .missingKey(key: key) }
    package func invalidValue(_ key: String, value: String, reason: String) -> PipelineError { .invalidValue(key: key, value: value, reason: reason) }
    package func unreadable(_ reason: String) -> PipelineError { .unreadable(path: source, reason: reason) }
    package var listItemReason: String { "must be a list of strings" }
}

import Foundation
import RasterIO

/// A YAML document as nested keys, lists and scalars: what ``PipelineFile/yamlText(header:)``
/// writes and what `landcover classify` builds from its flags before ``PipelineFile/parse(_:baseFolder:source:)``
/// reads it (one parser, one set of checks and defaults for both).
public indirect enum PipelineYAMLValue: Equatable, Sendable {
    /// A string, written double-quoted (any character is safe).
    case string(String)
    /// A number or boolean, written as is (the text must be a valid plain YAML scalar).
    case plain(String)
    case list([PipelineYAMLValue])
    /// Keys in the order given.
    case map([(String, PipelineYAMLValue)])

    public static func == (a: PipelineYAMLValue, b: PipelineYAMLValue) -> Bool { a.render(indent: 0) == b.render(indent: 0) }

    /// A whole number.
    public static func int(_ value: Int) -> PipelineYAMLValue { .plain("\(value)") }
    /// A boolean.
    public static func bool(_ value: Bool) -> PipelineYAMLValue { .plain(value ? "true" : "false") }
    /// A number, in the shortest form that reads back to the same `Double` (finite numbers only:
    /// the parser refuses the others before a pipeline holds them).
    public static func number(_ value: Double) -> PipelineYAMLValue { .plain("\(value)") }

    /// The document of a top-level mapping.
    public static func document(_ pairs: [(String, PipelineYAMLValue)]) -> String {
        PipelineYAMLValue.map(pairs).render(indent: 0)
    }

    /// Block style for mappings at the top, flow style (`[...]`, `{...}`) inside lists and for
    /// short collections, so the file reads like the examples in pipelines/README.md.
    func render(indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .map(let pairs):
            return pairs.map { key, value in
                switch value {
                case .map(let inner) where !inner.isEmpty:
                    return "\(pad)\(Self.key(key)):\n" + value.render(indent: indent + 2)
                case .list(let items) where items.contains(where: { if case .map = $0 { return true } else { return false } }):
                    return "\(pad)\(Self.key(key)):\n" + items.map { "\(pad)  - \($0.flow)\n" }.joined()
                default:
                    return "\(pad)\(Self.key(key)): \(value.flow)\n"
                }
            }.joined()
        default:
            return pad + flow + "\n"
        }
    }

    /// The value on one line.
    var flow: String {
        switch self {
        case .string(let text): return Self.quoted(text)
        case .plain(let text): return text
        case .list(let items): return "[" + items.map(\.flow).joined(separator: ", ") + "]"
        case .map(let pairs): return "{" + pairs.map { "\(Self.key($0.0)): \($0.1.flow)" }.joined(separator: ", ") + "}"
        }
    }

    /// Schema keys are plain; anything else (a band name, a creation option) is quoted.
    static func key(_ text: String) -> String {
        text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } && !text.isEmpty ? text : quoted(text)
    }

    /// A YAML double-quoted scalar: `\` and `"` escaped, control characters as `\uXXXX`.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.properties.generalCategory == .control || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0x85 {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension PipelineFile {
    /// The pipeline as a pipeline file that ``load(path:)`` reads back to the same settings:
    /// `version`, `inputs`, `model` and `output.folder`/`name` always, every other key only where
    /// it differs from its default (so a later landcover's defaults apply to the rest, as for a
    /// hand-written file). Paths are absolute (resolved against ``baseFolder``), so the file can
    /// live anywhere; `landcover classify --print-pipeline` writes it.
    /// - Parameter header: comment lines put first (without `#`).
    public func yamlText(header: [String] = []) -> String {
        let defaults = PipelineFile(inputs: [], model: "", baseFolder: "")
        var root: [(String, PipelineYAMLValue)] = [("version", .int(1))]
        root.append(("inputs", .list(inputs.map { input in
            if let search = input.search {
                // JSON is YAML's flow style: the search's JSON values are written as they are.
                var entry: [(String, PipelineYAMLValue)] = [("url", .string(search.url))]
                if !search.collections.isEmpty { entry.append(("collections", .list(search.collections.map { .string($0) }))) }
                if let bbox = search.bbox { entry.append(("bbox", .list(bbox.map { .number($0) }))) }
                if let intersects = search.intersectsJSON { entry.append(("intersects", .plain(intersects))) }
                if let datetime = search.datetime { entry.append(("datetime", .string(datetime))) }
                if let query = search.queryJSON { entry.append(("query", .plain(query))) }
                if let filter = search.filterJSON { entry.append(("filter", .plain(filter))) }
                entry.append(("limit", .int(search.limit)))
                entry.append(("max_items", .int(search.maxItems)))
                return .map([("stac_search", .map(entry))])
            }
            let paths = input.paths.map { PipelineYAMLValue.string(resolve($0)) }
            if input.paths.count == 1, input.name == nil { return paths[0] }
            var entry: [(String, PipelineYAMLValue)] = [("paths", .list(paths))]
            if let name = input.name { entry.append(("name", .string(name))) }
            return .map(entry)
        })))
        root.append(("model", .string(resolve(model))))
        if !bandMap.isEmpty { root.append(("bands", .map(bandMap.keys.sorted().map { ($0, .string(bandMap[$0] ?? "")) }))) }
        if let bandOrder { root.append(("band_order", .list(bandOrder.map { .string($0) }))) }
        if let resolution { root.append(("resolution", .number(resolution))) }
        if allBandsResampling != nil {
            root.append(("resampling", .string(ResamplingChoice(allBands: allBandsResampling, perBand: resampling).text)))
        } else if !resampling.isEmpty {
            root.append(("resampling", .map(resampling.keys.sorted().map { ($0, .string(resampling[$0]?.rawValue ?? "")) })))
        }
        if !categorical.isEmpty { root.append(("categorical", .list(categorical.map { .string($0) }))) }

        var tilingKeys: [(String, PipelineYAMLValue)] = []
        if let size = tiling.patchSize { tilingKeys.append(("patch_size", .int(size))) }
        if let stride = tiling.stride { tilingKeys.append(("stride", .int(stride))) }
        if tiling.edge != defaults.tiling.edge { tilingKeys.append(("edge", .string(tiling.edge.rawValue))) }
        if !tilingKeys.isEmpty { root.append(("tiling", .map(tilingKeys))) }
        if mode != defaults.mode { root.append(("mode", .string(mode.rawValue))) }

        var nodataKeys: [(String, PipelineYAMLValue)] = []
        if let value = nodata.value { nodataKeys.append(("value", .number(value))) }
        if nodata.minValidFraction != defaults.nodata.minValidFraction { nodataKeys.append(("min_valid_fraction", .number(nodata.minValidFraction))) }
        var maskKeys: [(String, PipelineYAMLValue)] = []
        if let band = nodata.maskBand { maskKeys.append(("band", .string(band))) }
        if let path = nodata.maskPath { maskKeys.append(("path", .string(resolve(path)))) }
        if !maskKeys.isEmpty { maskKeys.append(("invalid", .list(nodata.invalidValues.map { .int($0) }))) }
        if !maskKeys.isEmpty { nodataKeys.append(("mask", .map(maskKeys))) }
        if !nodataKeys.isEmpty { root.append(("nodata", .map(nodataKeys))) }

        root.append(("output", .map(outputKeys(defaults: defaults.output))))

        var runtimeKeys: [(String, PipelineYAMLValue)] = []
        if let threads = runtime.threads { runtimeKeys.append(("threads", .int(threads))) }
        if runtime.memoryMiB != defaults.runtime.memoryMiB { runtimeKeys.append(("memory_mb", .int(runtime.memoryMiB))) }
        if let batch = runtime.batchSize { runtimeKeys.append(("batch_size", .int(batch))) }
        if runtime.testTimeAugmentation != defaults.runtime.testTimeAugmentation {
            runtimeKeys.append(("tta", .string(runtime.testTimeAugmentation.rawValue)))
        }
        if runtime.precision != defaults.runtime.precision { runtimeKeys.append(("precision", .string(runtime.precision.rawValue))) }
        if !runtimeKeys.isEmpty { root.append(("runtime", .map(runtimeKeys))) }

        let comments = header.map { "# \($0)\n" }.joined()
        return comments + PipelineYAMLValue.document(root)
    }

    /// The `output` section: folder and name, then the keys that differ from `defaults`.
    private func outputKeys(defaults: Output) -> [(String, PipelineYAMLValue)] {
        var keys: [(String, PipelineYAMLValue)] = [("folder", .string(resolve(output.folder))), ("name", .string(output.name))]
        if output.format != defaults.format { keys.append(("format", .string(output.format.rawValue.lowercased()))) }
        if output.compression != defaults.compression { keys.append(("compression", .string(output.compression.rawValue.lowercased()))) }
        let flags: [(String, Bool, Bool)] = [
            ("confidence", output.confidence, defaults.confidence), ("probabilities", output.probabilities, defaults.probabilities),
            ("preview", output.preview, defaults.preview), ("stac", output.stac, defaults.stac),
            ("patch_resolution", output.patchResolution, defaults.patchResolution),
        ]
        for (key, value, standard) in flags where value != standard { keys.append((key, .bool(value))) }
        if output.polygons != defaults.polygons { keys.append(("polygons", .string(output.polygons?.rawValue ?? "none"))) }
        if output.polygonConnectivity != defaults.polygonConnectivity { keys.append(("polygon_connectivity", .int(output.polygonConnectivity))) }
        if output.geojsonCRS != defaults.geojsonCRS { keys.append(("geojson_crs", .string(output.geojsonCRS.rawValue))) }
        if let unit = output.minMappingUnit { keys.append(("min_mapping_unit", .string(unit.text))) }
        if !output.creationOptions.isEmpty {
            keys.append(("creation_options", .map(output.creationOptions.keys.sorted().map { ($0, .string(output.creationOptions[$0] ?? "")) })))
        }
        return keys
    }
}

extension PipelineFile.MinimumMappingUnit {
    /// The text ``init(text:)`` reads back: `12 px` or `5000.0 m2`.
    public var text: String {
        switch self {
        case .pixels(let count): return "\(count) px"
        case .squareMetres(let area): return "\(area) m2"
        }
    }
}

import CNN
import Classification
import Config
import Foundation

/// The STAC Machine Learning Model (MLM) extension description of a landcover model: the
/// `mlm:*` Item properties, the model asset, and (for `landcover model info --stac`) a whole
/// STAC Item describing the model alone.
///
/// What is written, from the model file and its contract:
/// - `mlm:name`: the model file name without extension (characters MLM does not allow become `-`);
/// - `mlm:architecture`: the model's `mlm:architecture` metadata_props entry when it has one, else
///   read from the graph: `U-Net` (convolutions, up-sampling and concatenation), `ResNet`
///   (convolutions and residual additions), `CNN` (convolutions), `unknown`;
/// - `mlm:tasks`: `semantic-segmentation` + `segmentation` for segmentation models,
///   `scene-classification` + `classification` for patch classifiers;
/// - `mlm:input`: the graph input, the contract's bands in channel order, shape
///   `[-1, bands, patch, patch]` (`batch, bands, height, width`), Float32, and `value_scaling`
///   from the contract's normalization, one `z-score` per band: `mean_std` as is, `scale_offset`
///   (`dn * scale + offset`) as mean `-offset / scale` and stddev `1 / scale`, the same function;
/// - `mlm:output`: the graph output, `[-1, classes, patch, patch]` (`batch, class, height, width`)
///   or `[-1, classes]` for patch classifiers, Float32 logits or probabilities as the contract says,
///   with the classes (value, name, description, colour);
/// - the model asset (`mlm:model`, `mlm:artifact_type` `onnx`, `file:checksum` as a SHA-256
///   multihash, `file:size`, `raster:bands` naming the input bands).
public struct STACModelDescription: Sendable {
    /// MLM extension schema URL written in `stac_extensions`.
    public static let extensionURL = "https://stac-extensions.github.io/mlm/v1.5.2/schema.json"

    /// `mlm:name`.
    public let name: String
    /// `mlm:architecture`.
    public let architecture: String
    /// `mlm:tasks`.
    public let tasks: [String]
    /// The contract the description is made from.
    public let contract: ModelContract
    /// Graph input and output names.
    public let inputName: String, outputName: String
    /// Float parameters in the initializers.
    public let parameterCount: Int
    /// SHA-256 of the model file, lowercase hex.
    public let sha256: String
    /// Size of the model file in bytes.
    public let bytes: Int
    /// The model file name.
    public let fileName: String

    /// Describes `model` (loaded from `path`, whose SHA-256 and size are given).
    /// - Throws: ``PipelineError`` when the model has no landcover contract.
    public init(model: InferenceModel, path: String, sha256: String, bytes: Int) throws {
        guard let contract = model.contract else {
            throw PipelineError.unreadable(path: path, reason: "the model has no landcover contract, so it cannot be described for STAC; add the landcover.* metadata_props (README, \"Model contract\")")
        }
        self.contract = contract
        fileName = URL(fileURLWithPath: path).lastPathComponent
        name = Self.mlmName(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
        let operators = Set(model.proto.graph.nodes.map(\.operatorType))
        if let declared = model.proto.metadataProps.last(where: { $0.key == "mlm:architecture" })?.value, !declared.isEmpty {
            architecture = declared
        } else if operators.contains("Conv") || operators.contains("ConvTranspose") {
            if !operators.isDisjoint(with: ["ConvTranspose", "Resize", "Upsample"]) && operators.contains("Concat") {
                architecture = "U-Net"
            } else if operators.contains("Add") || operators.contains("Sum") {
                architecture = "ResNet"
            } else {
                architecture = "CNN"
            }
        } else {
            architecture = "unknown"
        }
        tasks = contract.task == .segmentation ? ["semantic-segmentation", "segmentation"] : ["scene-classification", "classification"]
        let initializers = Set(model.proto.graph.initializers.map(\.name))
        inputName = model.inputs.first { !initializers.contains($0.name) }?.name ?? "input"
        outputName = model.outputs.first?.name ?? "output"
        parameterCount = model.parameterCount
        self.sha256 = sha256
        self.bytes = bytes
    }

    /// `name` made to fit MLM's `mlm:name` pattern (a letter first, letters, digits, `_.-` and
    /// spaces inside, a letter or digit last).
    static func mlmName(_ raw: String) -> String {
        var name = String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.- ".contains($0)) ? $0 : "-" })
        while let last = name.last, !(last.isASCII && (last.isLetter || last.isNumber)) { name.removeLast() }
        if !(name.first.map { $0.isASCII && $0.isLetter } ?? false) { name = "model-" + name }
        return name.count >= 3 ? name : name + "-model"
    }

    /// The classes as classification extension class objects (value, name, description, colour).
    public var classes: [[String: Any]] {
        zip(contract.classNames, contract.classColors).enumerated().map { index, pair in
            ["value": index, "name": pair.0, "description": "\(pair.0): pixels the model \(name) assigns to class \(index)",
             "color_hint": String(pair.1.description.dropFirst()).uppercased()]
        }
    }

    /// One MLM value scaling object per band (see the type's documentation).
    var valueScaling: [[String: Any]] {
        switch contract.normalization {
        case .meanStd(let mean, let std):
            return zip(mean, std).map { ["type": "z-score", "mean": Self.decimal($0), "stddev": Self.decimal($1)] }
        case .scaleOffset(let scale, let offset):
            return zip(scale, offset).map { scale, offset in
                let s = Self.decimal(scale), o = Self.decimal(offset)
                guard s != 0 else {
                    return ["type": "processing", "format": "landcover-normalization", "expression": "dn * \(s) + \(o)"]
                }
                let mean = -o / s
                return ["type": "z-score", "mean": mean == 0 ? 0 : mean, "stddev": 1 / s]
            }
        }
    }

    /// A Float as the decimal it was written as (1e-4, not 9.99999974e-05).
    static func decimal(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }

    /// The `mlm:*` Item properties.
    public var properties: [String: Any] {
        let p = contract.patchSize, k = contract.classNames.count
        let segmentation = contract.task == .segmentation
        let outputKind = contract.output == .probabilities ? "class probabilities" : "class logits (softmax gives probabilities)"
        return [
            "mlm:name": name,
            "mlm:architecture": architecture,
            "mlm:tasks": tasks,
            "mlm:framework": "ONNX",
            "mlm:total_parameters": parameterCount,
            "mlm:input": [[
                "name": inputName,
                "bands": contract.bands,
                "input": ["shape": [-1, contract.bands.count, p, p], "dim_order": ["batch", "bands", "height", "width"],
                          "data_type": "float32"] as [String: Any],
                "value_scaling": valueScaling,
                "resize_type": NSNull(),
                "description": "Sentinel-2 digital numbers of the listed bands, \(p) x \(p) pixels, normalized per band as value_scaling says",
            ] as [String: Any]],
            "mlm:output": [[
                "name": outputName,
                "tasks": tasks,
                "result": ["shape": segmentation ? [-1, k, p, p] : [-1, k],
                           "dim_order": segmentation ? ["batch", "class", "height", "width"] : ["batch", "class"],
                           "data_type": "float32"] as [String: Any],
                "classification:classes": classes,
                "description": segmentation ? "Per-pixel \(outputKind); the class is the arg-max"
                                            : "Per-patch \(outputKind); the class is the arg-max",
            ] as [String: Any]],
        ]
    }

    /// The model asset, its file described by the file extension and its input bands named in
    /// `raster:bands` (MLM ties `mlm:input` bands to them by name).
    public func asset(href: String) -> [String: Any] {
        [
            "href": href,
            "type": "application/octet-stream; framework=onnx; profile=onnx",
            "title": "ONNX model \(fileName) (landcover contract in its metadata_props)",
            "roles": ["mlm:model", "model"],
            "mlm:artifact_type": "onnx",
            "file:checksum": "1220" + sha256,
            "file:size": bytes,
            "raster:bands": contract.bands.map { ["name": $0] },
        ]
    }

    /// A STAC Item describing the model alone (`landcover model info --stac`): no geometry,
    /// `datetime` the model file's modification time, the MLM properties and the model asset.
    public func item(href: String, modified: Date) -> [String: Any] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var properties = self.properties
        properties["datetime"] = formatter.string(from: modified)
        properties["description"] = "landcover model \(fileName): \(contract.task.rawValue) of \(contract.classNames.count) classes from \(contract.bands.count) Sentinel-2 bands"
        return [
            "type": "Feature",
            "stac_version": STACItem.version,
            "stac_extensions": [Self.extensionURL, STACItem.rasterExtension, STACItem.fileExtension],
            "id": name,
            "geometry": NSNull(),
            "properties": properties,
            "links": [] as [Any],
            "assets": ["model": asset(href: href)],
        ]
    }
}

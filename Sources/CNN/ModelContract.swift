import Foundation

/// The landcover model contract: what a model expects as input and what its outputs mean,
/// stored as ONNX `metadata_props` under the `landcover.` prefix and validated at load.
///
/// The keys, their values and which are required are documented in one place, README.md's
/// "Model contract" table (CNNTests checks it against ``requiredKeys`` and ``optionalKeys``).
/// All values are UTF-8 strings.
///
/// Models without any `landcover.` key still run (``InferenceModel/contract`` is nil); the
/// pipeline calls ``InferenceModel/requireContract()`` which throws
/// ``ModelContractError/missingContract(keys:)`` listing the keys to add.
public struct ModelContract: Sendable, Equatable {
    /// What the model predicts.
    public enum Task: String, Sendable, Equatable {
        /// One label per input patch: output `[N, classes]`.
        case patchClassification = "patch_classification"
        /// One label per pixel: output `[N, classes, H, W]`.
        case segmentation
    }

    /// How raw digital numbers (DN) become network inputs, per band.
    public enum Normalization: Sendable, Equatable {
        /// `(dn - mean[b]) / std[b]`.
        case meanStd(mean: [Float], std: [Float])
        /// `dn * scale[b] + offset[b]`.
        case scaleOffset(scale: [Float], offset: [Float])

        /// Per-band `(scale, offset)` so that `input = dn * scale + offset` for either form.
        public var affine: (scale: [Float], offset: [Float]) {
            switch self {
            case .meanStd(let mean, let std): return (std.map { 1 / $0 }, zip(mean, std).map { -$0 / $1 })
            case .scaleOffset(let scale, let offset): return (scale, offset)
            }
        }
    }

    /// What the class channels hold.
    public enum OutputKind: String, Sendable, Equatable {
        /// Unnormalized scores: apply softmax for probabilities; argmax gives the class.
        case logits
        /// Per-class probabilities summing to 1 over the class axis.
        case probabilities
    }

    /// The dimension order of the model's input tensor.
    public enum InputLayout: String, Sendable, Equatable {
        /// `[N, C, H, W]` (channels first; PyTorch's default).
        case nchw = "NCHW"
        /// `[N, H, W, C]` (channels last; TensorFlow/Keras exports).
        case nhwc = "NHWC"
    }

    /// An sRGB colour of a class.
    public struct Color: Sendable, Equatable, CustomStringConvertible {
        /// Channel intensities, 0...255.
        public var red: UInt8, green: UInt8, blue: UInt8
        /// Creates a colour.
        public init(red: UInt8, green: UInt8, blue: UInt8) { self.red = red; self.green = green; self.blue = blue }
        /// `#rrggbb`.
        public var description: String { String(format: "#%02x%02x%02x", red, green, blue) }
    }

    /// The contract versions this engine understands.
    public static let supportedVersion = "1"
    /// Keys every contract must have.
    public static let requiredKeys = ["landcover.contract_version", "landcover.task", "landcover.bands",
                                      "landcover.normalization", "landcover.patch_size", "landcover.class_names",
                                      "landcover.class_colors"]
    /// Keys a contract may have besides the required ones.
    public static let optionalKeys = ["landcover.nodata_class", "landcover.output", "landcover.input_layout"]

    /// What the model predicts (`landcover.task`).
    public var task: Task
    /// Band names in input-channel order.
    public var bands: [String]
    /// Raw DN to network input, per band (`landcover.normalization`).
    public var normalization: Normalization
    /// Patch height and width in pixels.
    public var patchSize: Int
    /// Class names in output-channel order.
    public var classNames: [String]
    /// One colour per class.
    public var classColors: [Color]
    /// Value written where the input is nodata, if declared.
    public var nodataClass: Int?
    /// Whether class channels hold logits or probabilities (`landcover.output`).
    public var output: OutputKind
    /// The input's dimension order (`landcover.input_layout`). Callers always feed `[N, C, H, W]`;
    /// for ``InputLayout/nhwc`` the engine transposes to the model's layout.
    public var inputLayout: InputLayout

    /// Creates a contract (for example in training before saving a model).
    public init(task: Task, bands: [String], normalization: Normalization, patchSize: Int, classNames: [String],
                classColors: [Color], nodataClass: Int? = nil, output: OutputKind = .logits, inputLayout: InputLayout = .nchw) {
        self.task = task
        self.bands = bands
        self.normalization = normalization
        self.patchSize = patchSize
        self.classNames = classNames
        self.classColors = classColors
        self.nodataClass = nodataClass
        self.output = output
        self.inputLayout = inputLayout
    }

    /// The `metadata_props` entries that encode this contract.
    public var metadataEntries: [ONNXMetadataEntry] {
        let normalizationJSON: String
        func list(_ values: [Float]) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }
        switch normalization {
        case .meanStd(let mean, let std): normalizationJSON = "{\"type\":\"mean_std\",\"mean\":\(list(mean)),\"std\":\(list(std))}"
        case .scaleOffset(let scale, let offset): normalizationJSON = "{\"type\":\"scale_offset\",\"scale\":\(list(scale)),\"offset\":\(list(offset))}"
        }
        var entries = [
            ONNXMetadataEntry(key: "landcover.contract_version", value: Self.supportedVersion),
            ONNXMetadataEntry(key: "landcover.task", value: task.rawValue),
            ONNXMetadataEntry(key: "landcover.bands", value: bands.joined(separator: ",")),
            ONNXMetadataEntry(key: "landcover.normalization", value: normalizationJSON),
            ONNXMetadataEntry(key: "landcover.patch_size", value: String(patchSize)),
            ONNXMetadataEntry(key: "landcover.class_names", value: classNames.joined(separator: ",")),
            ONNXMetadataEntry(key: "landcover.class_colors", value: classColors.map(\.description).joined(separator: ",")),
            ONNXMetadataEntry(key: "landcover.output", value: output.rawValue),
        ]
        if let nodataClass { entries.append(ONNXMetadataEntry(key: "landcover.nodata_class", value: String(nodataClass))) }
        if inputLayout != .nchw { entries.append(ONNXMetadataEntry(key: "landcover.input_layout", value: inputLayout.rawValue)) }
        return entries
    }

    /// Parses and validates the contract of `model`; nil when it has no `landcover.` keys.
    /// - Throws: ``ModelContractError`` naming the first bad key and what is expected.
    public init?(model: ONNXModel) throws {
        let entries = model.metadataProps.filter { $0.key.hasPrefix("landcover.") }
        guard !entries.isEmpty else { return nil }
        func value(_ key: String) -> String? { model.metadataValue(forKey: key) }
        let missing = Self.requiredKeys.filter { value($0) == nil }
        guard missing.isEmpty else { throw ModelContractError.missingKeys(missing) }
        func bad(_ key: String, _ expected: String) -> ModelContractError {
            .malformedValue(key: key, value: value(key) ?? "", expected: expected)
        }
        guard value("landcover.contract_version") == Self.supportedVersion else {
            throw bad("landcover.contract_version", "\"1\" (the only version this engine supports)")
        }
        guard let task = Task(rawValue: value("landcover.task") ?? "") else {
            throw bad("landcover.task", "\"patch_classification\" or \"segmentation\"")
        }
        let bands = Self.list(value("landcover.bands"))
        guard !bands.isEmpty, bands.allSatisfy({ !$0.isEmpty }), Set(bands).count == bands.count else {
            throw bad("landcover.bands", "comma-separated, unique, non-empty band names such as \"B02,B03,B04,B08\"")
        }
        guard let patch = Int(value("landcover.patch_size") ?? ""), patch > 0 else {
            throw bad("landcover.patch_size", "a positive integer number of pixels such as \"64\"")
        }
        let classNames = Self.list(value("landcover.class_names"))
        guard !classNames.isEmpty, classNames.allSatisfy({ !$0.isEmpty }), Set(classNames).count == classNames.count else {
            throw bad("landcover.class_names", "comma-separated, unique, non-empty class names")
        }
        let colorTexts = Self.list(value("landcover.class_colors"))
        let colors = colorTexts.compactMap(Self.color)
        guard colors.count == colorTexts.count, colors.count == classNames.count else {
            throw bad("landcover.class_colors", "\(classNames.count) comma-separated colours \"#rrggbb\", one per class name")
        }
        let normalization = try Self.normalization(value("landcover.normalization") ?? "", bandCount: bands.count)
        var nodata: Int?
        if let text = value("landcover.nodata_class") {
            guard let number = Int(text), (0...255).contains(number) else { throw bad("landcover.nodata_class", "an integer from 0 to 255") }
            nodata = number
        }
        var output = OutputKind.logits
        if let text = value("landcover.output") {
            guard let kind = OutputKind(rawValue: text) else { throw bad("landcover.output", "\"logits\" or \"probabilities\"") }
            output = kind
        }
        var layout = InputLayout.nchw
        if let text = value("landcover.input_layout") {
            guard let parsed = InputLayout(rawValue: text.uppercased()) else { throw bad("landcover.input_layout", "\"NCHW\" or \"NHWC\"") }
            layout = parsed
        }
        self.init(task: task, bands: bands, normalization: normalization, patchSize: patch, classNames: classNames,
                  classColors: colors, nodataClass: nodata, output: output, inputLayout: layout)
        try validate(against: model.graph)
    }

    /// Checks the contract against the graph's declared input and output shapes.
    func validate(against graph: ONNXGraph) throws {
        let initializers = Set(graph.initializers.map(\.name))
        let inputs = graph.inputs.filter { !initializers.contains($0.name) }
        guard inputs.count == 1, let input = inputs.first else {
            throw ModelContractError.graphMismatch(key: "landcover.bands", detail: "a contract model must have exactly one input, this one has \(inputs.count)")
        }
        if let shape = input.shape {
            let layout = inputLayout.rawValue
            guard shape.count == 4 else {
                throw ModelContractError.graphMismatch(key: "landcover.bands", detail: "input \"\(input.name)\" must be \(layout) (rank 4), declared rank \(shape.count)")
            }
            func fixed(_ axis: Int) -> Int? { if case .value(let size) = shape[axis] { return Int(size) } else { return nil } }
            let declared = "[" + shape.map(\.description).joined(separator: ", ") + "]"
            let (channelAxis, spatialAxes) = inputLayout == .nchw ? (1, [2, 3]) : (3, [1, 2])
            if let channels = fixed(channelAxis), channels != bands.count {
                // Tell a channels-last input apart from a wrong band list.
                if inputLayout == .nchw, fixed(3) == bands.count, spatialAxes.allSatisfy({ fixed($0 - 1) == nil || fixed($0 - 1) == patchSize }) {
                    throw ModelContractError.graphMismatch(key: "landcover.input_layout", detail: "is not set (NCHW), but input \"\(input.name)\" \(declared) is channels-last (NHWC) with \(bands.count) bands in its last dimension; add landcover.input_layout = NHWC to run it (landcover then transposes its NCHW patches)")
                }
                throw ModelContractError.graphMismatch(key: "landcover.bands", detail: "lists \(bands.count) bands but \(layout) input \"\(input.name)\" \(declared) has \(channels) channels (dimension \(channelAxis))")
            }
            for axis in spatialAxes {
                if let size = fixed(axis), size != patchSize {
                    throw ModelContractError.graphMismatch(key: "landcover.patch_size", detail: "is \(patchSize) but \(layout) input \"\(input.name)\" \(declared) has spatial size \(size) (dimension \(axis))")
                }
            }
        }
        if let output = graph.outputs.first, let shape = output.shape {
            let expectedRank = task == .patchClassification ? 2 : 4
            guard shape.count == expectedRank else {
                throw ModelContractError.graphMismatch(key: "landcover.task", detail: "\(task.rawValue) needs a rank-\(expectedRank) output but \"\(output.name)\" has rank \(shape.count)")
            }
            if case .value(let classes) = shape[1], Int(classes) != classNames.count {
                throw ModelContractError.graphMismatch(key: "landcover.class_names", detail: "lists \(classNames.count) classes but output \"\(output.name)\" has \(classes) channels")
            }
        }
    }

    private static func list(_ text: String?) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        return text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private static func color(_ text: String) -> Color? {
        guard text.count == 7, text.first == "#", let value = UInt32(text.dropFirst(), radix: 16) else { return nil }
        return Color(red: UInt8(value >> 16 & 0xFF), green: UInt8(value >> 8 & 0xFF), blue: UInt8(value & 0xFF))
    }

    private static func normalization(_ text: String, bandCount: Int) throws -> Normalization {
        let key = "landcover.normalization"
        let expected = "JSON {\"type\":\"mean_std\",\"mean\":[...],\"std\":[...]} or {\"type\":\"scale_offset\",\"scale\":[...],\"offset\":[...]} with \(bandCount) numbers per list (one per band), std > 0"
        let error = ModelContractError.malformedValue(key: key, value: text, expected: expected)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let type = object["type"] as? String else { throw error }
        func numbers(_ name: String) throws -> [Float] {
            guard let values = object[name] as? [Any] else { throw error }
            let floats = values.compactMap { ($0 as? NSNumber)?.floatValue }
            guard floats.count == values.count, floats.count == bandCount, floats.allSatisfy(\.isFinite) else { throw error }
            return floats
        }
        switch type {
        case "mean_std":
            let mean = try numbers("mean"), std = try numbers("std")
            guard std.allSatisfy({ $0 > 0 }) else { throw error }
            return .meanStd(mean: mean, std: std)
        case "scale_offset":
            return .scaleOffset(scale: try numbers("scale"), offset: try numbers("offset"))
        default: throw error
        }
    }
}

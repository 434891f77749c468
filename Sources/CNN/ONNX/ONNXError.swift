import Foundation

/// Errors from reading, compiling or running an ONNX model.
///
/// Every case names what failed (the node, operator, value or file section) and its
/// ``errorDescription`` says how to fix it. The engine never traps on malformed input.
public enum ONNXError: Error, LocalizedError, Equatable, Sendable {
    /// The bytes end in the middle of a field of the named protobuf message.
    case truncated(context: String)
    /// The bytes are not a serialized ONNX `ModelProto`.
    case notAModel(detail: String)
    /// The protobuf wire data of the named message is invalid.
    case malformedProtobuf(context: String, detail: String)
    /// A tensor's payload cannot be decoded (type, size or external storage).
    case unsupportedTensor(name: String, detail: String)
    /// The engine does not implement this operator at this domain and opset.
    case unsupportedOperator(operatorType: String, domain: String, opset: Int, node: String)
    /// An attribute or input combination of a node is not supported or invalid.
    case invalidAttribute(node: String, detail: String)
    /// A node consumes a value that no node, initializer or graph input produces.
    case missingValue(name: String, node: String)
    /// A graph input was not supplied to `run`, or a supplied name is not a graph input.
    case missingInput(name: String, available: [String])
    /// A supplied input tensor does not fit the graph input's declared type or shape.
    case invalidInput(name: String, detail: String)
    /// Input shapes do not fit a node (for example, non-broadcastable Add operands).
    case inconsistentShapes(node: String, detail: String)
    /// A value only known at run time is needed at planning time (for example, a data-dependent shape).
    case dataDependentValue(node: String, detail: String)
    /// The model is structurally invalid (duplicate outputs, missing graph outputs, no opset).
    case invalidModel(detail: String)
    /// The model is usable, but not at the precision it was asked to run in (int8 needs a
    /// quantized model): the caller names its own precision setting.
    case precisionUnavailable(precision: String, detail: String)
    /// Reading or writing a file failed.
    case fileError(path: String, detail: String)
    /// A value the model computes, or the memory a plan needs, is over the engine's bounds
    /// (a hostile or corrupt model: checked before anything is allocated).
    case tooLarge(node: String, detail: String)

    public var errorDescription: String? {
        switch self {
        case .truncated(let context):
            return "The ONNX file is truncated: it ends inside \(context). Re-export or re-download the model."
        case .notAModel(let detail):
            return "Not an ONNX model (expected a serialized ModelProto): \(detail)."
        case .malformedProtobuf(let context, let detail):
            return "Malformed protobuf data in \(context): \(detail). The file is corrupt or not an ONNX model."
        case .unsupportedTensor(let name, let detail):
            return "Tensor \"\(name)\" cannot be used: \(detail)."
        case .unsupportedOperator(let op, let domain, let opset, let node):
            let domainName = domain.isEmpty ? "ai.onnx" : domain
            return "Unsupported operator \(op) (domain \(domainName), opset \(opset)) at node \"\(node)\". Re-export the model with supported operators (see README, \"Supported operators\")."
        case .invalidAttribute(let node, let detail):
            return "\(node): \(detail)."
        case .missingValue(let name, let node):
            return "\(node) consumes \"\(name)\", which is not a graph input, an initializer or another node's output. Add the missing initializer or input."
        case .missingInput(let name, let available):
            return "Graph input \"\(name)\" is missing or unknown; the model's inputs are: \(available.joined(separator: ", "))."
        case .invalidInput(let name, let detail):
            return "Input \"\(name)\": \(detail)."
        case .inconsistentShapes(let node, let detail):
            return "Inconsistent shapes at \(node): \(detail)."
        case .dataDependentValue(let node, let detail):
            return "\(node) needs a value that is only known at run time: \(detail). Export with static shapes."
        case .invalidModel(let detail):
            return "Invalid ONNX model: \(detail)."
        case .precisionUnavailable(_, let detail):
            return "\(detail)."
        case .fileError(let path, let detail):
            return "\(path): \(detail)."
        case .tooLarge(let node, let detail):
            return "\(node) is too large: \(detail); the model is corrupt or hostile, re-export it (or give the run more memory when it is a real model)."
        }
    }
}

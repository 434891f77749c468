import Foundation

/// Errors from building, running, importing or exporting a trainable ``Network``.
///
/// Every case names the node, operator, value or parameter at fault and its
/// ``errorDescription`` says how to fix it.
public enum NetworkError: Error, LocalizedError, Equatable, Sendable {
    /// Targets or loss options do not fit the logits.
    case invalidTargets(detail: String)
    /// An input tensor does not fit the network's declared input.
    case invalidInput(detail: String)
    /// A node's attributes or input shapes are invalid.
    case invalidNode(node: String, operatorType: String, detail: String)
    /// An ONNX node uses an operator (or operator form) the trainable network does not implement.
    case unsupportedOperator(node: String, operatorType: String, detail: String)
    /// A node consumes a value that no earlier node, parameter or graph input produces.
    case missingValue(name: String, node: String)
    /// A parameter is missing, duplicated or has the wrong shape.
    case invalidParameter(name: String, detail: String)
    /// The graph as a whole is invalid (no output, duplicate names, cycles).
    case invalidGraph(detail: String)

    /// One sentence naming what failed and how to fix it.
    public var errorDescription: String? {
        switch self {
        case .invalidTargets(let detail):
            return "Invalid loss targets: \(detail). Give one class index per sample ([N, C] logits) or per pixel ([N, C, H, W] logits)."
        case .invalidInput(let detail):
            return "Invalid network input: \(detail)."
        case .invalidNode(let node, let op, let detail):
            return "\(op) node \"\(node)\": \(detail)."
        case .unsupportedOperator(let node, let op, let detail):
            return "\(op) node \"\(node)\" cannot be trained: \(detail). Re-export the model with supported operators only."
        case .missingValue(let name, let node):
            return "Node \"\(node)\" consumes \"\(name)\", which no earlier node, parameter or the graph input produces. Add the producer before it (nodes must be in topological order)."
        case .invalidParameter(let name, let detail):
            return "Parameter \"\(name)\": \(detail)."
        case .invalidGraph(let detail):
            return "Invalid network graph: \(detail)."
        }
    }
}

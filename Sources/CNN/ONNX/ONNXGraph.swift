import Foundation

/// An ONNX `GraphProto`: nodes in topological order, initializers (weights) and the typed
/// graph inputs and outputs.
public struct ONNXGraph: Sendable, Equatable {
    /// `name` (field 2).
    public var name: String
    /// `node` (field 1), topologically sorted as the ONNX spec requires.
    public var nodes: [ONNXNode]
    /// `initializer` (field 5): constant tensors, usually weights.
    public var initializers: [ONNXTensor]
    /// `input` (field 11). May also list initializers (older exporters, conformance tests).
    public var inputs: [ONNXValueInfo]
    /// `output` (field 12).
    public var outputs: [ONNXValueInfo]
    /// `value_info` (field 13): optional shape annotations of intermediate values.
    public var valueInfo: [ONNXValueInfo]
    /// `doc_string` (field 10).
    public var docString: String

    /// Creates a graph.
    public init(name: String = "graph", nodes: [ONNXNode], initializers: [ONNXTensor] = [],
                inputs: [ONNXValueInfo], outputs: [ONNXValueInfo], valueInfo: [ONNXValueInfo] = [],
                docString: String = "") {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
        self.docString = docString
    }
}

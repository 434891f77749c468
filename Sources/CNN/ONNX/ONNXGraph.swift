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

/// An ONNX `NodeProto`: one operator application.
public struct ONNXNode: Sendable, Equatable {
    /// `input` (field 1): value names; "" marks an omitted optional input.
    public var inputs: [String]
    /// `output` (field 2): value names; "" marks an omitted optional output.
    public var outputs: [String]
    /// `name` (field 3).
    public var name: String
    /// `op_type` (field 4), for example "Conv".
    public var operatorType: String
    /// `domain` (field 7); "" is the default ONNX domain.
    public var domain: String
    /// `attribute` (field 5).
    public var attributes: [ONNXAttribute]

    /// Creates a node.
    public init(operatorType: String, inputs: [String], outputs: [String], name: String = "",
                domain: String = "", attributes: [ONNXAttribute] = []) {
        self.operatorType = operatorType
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self.domain = domain
        self.attributes = attributes
    }

    /// The attribute called `name`, if present.
    public func attribute(_ name: String) -> ONNXAttribute? {
        attributes.first { $0.name == name }
    }

    /// A short description for error messages: `Conv node "conv1"` or `Conv node #3 (output "y")`.
    var displayName: String {
        if !name.isEmpty { return "\(operatorType) node \"\(name)\"" }
        return "\(operatorType) node producing \"\(outputs.first ?? "?")\""
    }
}

/// An ONNX `AttributeProto`: a named operator parameter.
public struct ONNXAttribute: Sendable, Equatable {
    /// The typed payload of an attribute.
    public enum Value: Sendable, Equatable {
        /// `f` (field 2), type FLOAT.
        case float(Float)
        /// `i` (field 3), type INT.
        case int(Int64)
        /// `s` (field 4), type STRING (raw bytes decoded as UTF-8).
        case string(String)
        /// `t` (field 5), type TENSOR.
        case tensor(ONNXTensor)
        /// `floats` (field 7), type FLOATS.
        case floats([Float])
        /// `ints` (field 8), type INTS.
        case ints([Int64])
        /// `strings` (field 9), type STRINGS.
        case strings([String])
        /// A subgraph (`g`, field 6) or another kind this engine does not interpret.
        case unsupported(typeCode: Int64)
    }

    /// `name` (field 1).
    public var name: String
    /// The payload; the `type` field (20) is derived from it when writing.
    public var value: Value

    /// Creates an attribute.
    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }
}

/// An ONNX `ValueInfoProto` restricted to tensor types: a name, element type and shape.
public struct ONNXValueInfo: Sendable, Equatable {
    /// One dimension of a `TensorShapeProto`.
    public enum Dimension: Sendable, Equatable, CustomStringConvertible {
        /// `dim_value` (field 1): a fixed size.
        case value(Int64)
        /// `dim_param` (field 2): a symbolic size such as "batch".
        case parameter(String)
        /// Neither field set.
        case unknown

        public var description: String {
            switch self {
            case .value(let value): return String(value)
            case .parameter(let name): return name
            case .unknown: return "?"
            }
        }
    }

    /// `name` (field 1).
    public var name: String
    /// `TypeProto.Tensor.elem_type` as an ONNX data type code (1 = FLOAT, 7 = INT64).
    public var elementType: Int32
    /// The shape, or nil when the type has no `shape` field (rank unknown).
    public var shape: [Dimension]?

    /// Creates a tensor value description.
    public init(name: String, elementType: Int32 = ONNXTensor.DataType.float.rawValue, shape: [Dimension]?) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}

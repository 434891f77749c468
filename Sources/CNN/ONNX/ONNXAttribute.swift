import Foundation

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

import Foundation

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

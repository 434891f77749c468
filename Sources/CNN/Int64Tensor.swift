/// A dense row-major Int64 tensor, used for shape data (Reshape shapes, Slice bounds) and
/// integer outputs such as ArgMax indices.
public struct Int64Tensor: Sendable, Equatable {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The elements in row-major order.
    public var values: [Int64]

    /// Creates a tensor; throws when `values.count` does not match `shape`.
    public init(shape: [Int], values: [Int64]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.negativeDimension(shape: shape) }
        guard Tensor.elementCount(shape) == values.count else { throw TensorError.elementCountMismatch(shape: shape, count: values.count) }
        self.shape = shape
        self.values = values
    }
}

import Foundation

/// Errors from constructing or reshaping tensors.
public enum TensorError: Error, LocalizedError, Equatable, Sendable {
    /// The shape needs a different number of elements than were given.
    case elementCountMismatch(shape: [Int], count: Int)
    /// A dimension is negative.
    case negativeDimension(shape: [Int])
    /// A batch slice lies outside dimension 0.
    case batchRangeOutOfBounds(shape: [Int], start: Int, count: Int)
    /// Two tensors that must agree in shape do not.
    case shapeMismatch(expected: [Int], actual: [Int])
    /// An axis is not in `0..<rank`.
    case axisOutOfRange(axis: Int, rank: Int)
    /// Nothing to concatenate.
    case emptyConcatenation

    public var errorDescription: String? {
        switch self {
        case .elementCountMismatch(let shape, let count):
            return "Shape \(shape) needs \(Tensor.elementCount(shape).map(String.init) ?? "too many") elements but \(count) were given."
        case .negativeDimension(let shape):
            return "Shape \(shape) has a negative dimension."
        case .batchRangeOutOfBounds(let shape, let start, let count):
            return "Batch range \(start)..<\(start + count) is outside a tensor of shape \(shape)."
        case .shapeMismatch(let expected, let actual):
            return "Expected shape \(expected) (trailing dimensions), got \(actual)."
        case .axisOutOfRange(let axis, let rank):
            return "Axis \(axis) is out of range for a tensor of rank \(rank)."
        case .emptyConcatenation:
            return "Cannot concatenate an empty list of tensors."
        }
    }
}

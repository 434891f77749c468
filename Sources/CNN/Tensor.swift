import Foundation

/// A dense, row-major Float32 tensor: the engine's unit of data exchange.
///
/// Image batches use NCHW layout `[batch, channels, height, width]`; classification outputs
/// are `[batch, classes]`; segmentation outputs `[batch, classes, height, width]`. Any rank
/// works (a scalar has shape `[]` and one element). Copies are cheap: the scalars are a
/// copy-on-write Swift array.
public struct Tensor: Sendable, Equatable {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The elements in row-major (C) order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// Creates a tensor from a shape and its row-major elements.
    /// - Throws: ``TensorError/elementCountMismatch(shape:count:)`` when the counts disagree
    ///   or ``TensorError/negativeDimension(shape:)`` for a negative dimension.
    public init(shape: [Int], scalars: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.negativeDimension(shape: shape) }
        guard let count = Tensor.elementCount(shape), count == scalars.count else { throw TensorError.elementCountMismatch(shape: shape, count: scalars.count) }
        self.shape = shape
        self.scalars = scalars
    }

    /// The product of non-negative dimensions, or nil when it overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Creates a tensor filled with `value` (zero by default).
    public init(zeros shape: [Int], value: Float = 0) {
        let safeShape = shape.map { max($0, 0) }
        self.shape = safeShape
        self.scalars = [Float](repeating: value, count: safeShape.reduce(1, *))
    }

    /// Internal initializer for callers that already checked the count.
    init(uncheckedShape shape: [Int], scalars: [Float]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// Number of elements.
    public var count: Int { scalars.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Returns the same elements viewed with another shape of equal element count.
    public func reshaped(to newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, scalars: scalars)
    }

    /// The `[start, start + count)` slice along dimension 0 (a sub-batch), copied.
    /// - Precondition-free: throws when the range is outside the tensor.
    public func batchSlice(start: Int, count sliceCount: Int) throws -> Tensor {
        guard let first = shape.first, start >= 0, sliceCount >= 0, start + sliceCount <= first else {
            throw TensorError.batchRangeOutOfBounds(shape: shape, start: start, count: sliceCount)
        }
        let stride = shape.dropFirst().reduce(1, *)
        var newShape = shape
        newShape[0] = sliceCount
        return Tensor(uncheckedShape: newShape, scalars: Array(scalars[(start * stride)..<((start + sliceCount) * stride)]))
    }

    /// Concatenates tensors along dimension 0 (the batch). All trailing dimensions must match.
    public static func concatenatingBatches(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else { throw TensorError.emptyConcatenation }
        let tail = Array(first.shape.dropFirst())
        var total = 0
        var scalars = [Float]()
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts {
            guard part.rank == first.rank, Array(part.shape.dropFirst()) == tail else {
                throw TensorError.shapeMismatch(expected: first.shape, actual: part.shape)
            }
            total += part.shape.first ?? 0
            scalars.append(contentsOf: part.scalars)
        }
        return Tensor(uncheckedShape: [total] + tail, scalars: scalars)
    }

    /// Index of the largest element along `axis` for every other position (first index wins
    /// ties), e.g. the class map of `[N, classes, H, W]` logits with `axis: 1` is `[N, H, W]`.
    public func argmax(axis: Int) throws -> [Int] {
        guard axis >= 0, axis < rank else { throw TensorError.axisOutOfRange(axis: axis, rank: rank) }
        let outer = shape[..<axis].reduce(1, *)
        let size = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var result = [Int](repeating: 0, count: outer * inner)
        guard size > 0 else { return result }
        for o in 0..<outer {
            for i in 0..<inner {
                var best = scalars[o * size * inner + i]
                var bestIndex = 0
                for s in 1..<max(size, 1) where s < size {
                    let value = scalars[(o * size + s) * inner + i]
                    if value > best || (best.isNaN && !value.isNaN) { best = value; bestIndex = s }
                }
                result[o * inner + i] = bestIndex
            }
        }
        return result
    }
}

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

/// A tensor of either element type the engine exchanges: Float32 data or Int64 indices/shapes.
public enum AnyTensor: Sendable, Equatable {
    /// Float32 data (images, logits, probabilities).
    case float32(Tensor)
    /// Int64 data (shapes, indices such as ArgMax outputs).
    case int64(Int64Tensor)

    /// The dimensions.
    public var shape: [Int] {
        switch self {
        case .float32(let tensor): return tensor.shape
        case .int64(let tensor): return tensor.shape
        }
    }

    /// The data converted to Float32 (Int64 values are rounded to the nearest Float).
    public var floatTensor: Tensor {
        switch self {
        case .float32(let tensor): return tensor
        case .int64(let tensor): return Tensor(uncheckedShape: tensor.shape, scalars: tensor.values.map { Float($0) })
        }
    }
}

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

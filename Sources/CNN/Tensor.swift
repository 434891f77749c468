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

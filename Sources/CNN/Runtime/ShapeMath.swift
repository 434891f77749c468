/// Helpers shared by operators.
enum ShapeMath {
    /// Normalizes a possibly negative axis; nil when out of range.
    static func axis(_ axis: Int, rank: Int) -> Int? {
        let normalized = axis < 0 ? axis + rank : axis
        return (0..<max(rank, 1)).contains(normalized) || (rank == 0 && normalized == 0) ? normalized : nil
    }

    /// Largest element count the engine accepts for one value (1 Gi elements, 4 GiB of Float32).
    static let maximumElementCount = 1 << 30

    /// The largest element count one value may have while a plan is built: ``maximumElementCount``,
    /// lowered by ``InferenceSession`` to its working-memory limit (in Float32 elements) for the
    /// plans it builds, so operators that size plan-time tables from a shape (Pad's index maps)
    /// refuse before allocating.
    @TaskLocal static var elementLimit = maximumElementCount

    /// Element count of a shape, or nil when a dimension is negative or the count overflows
    /// or exceeds ``maximumElementCount`` or ``elementLimit`` (guards against malicious shapes).
    static func checkedCount(_ shape: [Int]) -> Int? {
        let limit = min(maximumElementCount, elementLimit)
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= limit else { return nil }
            count = product
        }
        return count
    }

    /// Largest element count of a value computed from the model while it is loaded or planned
    /// (constant folding: ConstantOfShape, Expand, Concat, Gather, Pad, arithmetic on constants)
    /// when none of the computation's inputs is larger: 16 Mi elements (64 MiB of Float32). Such
    /// values cost memory the file does not pay for (an 814-byte ConstantOfShape can ask for
    /// 2^28 elements), so they are bounded before anything is allocated. A computation on a
    /// larger constant read from the file (a weight transposed at load) may produce as many
    /// elements as that input, so by induction no computed constant exceeds the larger of this
    /// bound and the file's largest tensor.
    static let maximumComputedCount = 1 << 24

    /// The element count of a constant the node `node` computes with shape `shape` from
    /// `inputs`, checked against ``maximumComputedCount`` (or the largest input) before it is
    /// allocated.
    /// - Throws: ``ONNXError/inconsistentShapes(node:detail:)`` for an invalid shape,
    ///   ``ONNXError/tooLarge(node:detail:)`` when it is over the bound.
    @discardableResult
    static func computedCount(_ shape: [Int], inputs: [PlanValue?], node: String) throws -> Int {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ONNXError.inconsistentShapes(node: node, detail: "output shape \(shape) is invalid")
        }
        guard let count = checkedCount(shape) else {
            throw ONNXError.tooLarge(node: node, detail: "its output shape \(shape) has more than \(min(maximumElementCount, elementLimit)) elements")
        }
        let largestInput = inputs.map { value in value.flatMap { checkedCount($0.shape) } ?? 0 }.max() ?? 0
        let limit = max(maximumComputedCount, largestInput)
        guard count <= limit else {
            let from = largestInput > 0 ? " from inputs of at most \(largestInput) elements" : ""
            throw ONNXError.tooLarge(node: node, detail: "it computes a constant of shape \(shape) (\(count) elements)\(from); the engine computes at most \(limit) elements per value while loading a model")
        }
        return count
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for index in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[index] = running
            running *= shape[index]
        }
        return strides
    }

    /// Numpy broadcast of two shapes, or nil if incompatible.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for index in 0..<rank {
            let da = index < rank - a.count ? 1 : a[index - (rank - a.count)]
            let db = index < rank - b.count ? 1 : b[index - (rank - b.count)]
            if da == db || db == 1 { result[index] = da } else if da == 1 { result[index] = db } else { return nil }
        }
        return result
    }

    /// Strides to read `input` as if broadcast to `output` (0 on broadcast dimensions).
    static func broadcastStrides(input: [Int], output: [Int]) -> [Int] {
        let inputStrides = strides(input)
        let offset = output.count - input.count
        return (0..<output.count).map { index in
            guard index >= offset else { return 0 }
            let dim = input[index - offset]
            return dim == 1 && output[index] != 1 ? 0 : inputStrides[index - offset]
        }
    }
}

/// Helpers shared by operators.
enum ShapeMath {
    /// Normalizes a possibly negative axis; nil when out of range.
    static func axis(_ axis: Int, rank: Int) -> Int? {
        let normalized = axis < 0 ? axis + rank : axis
        return (0..<max(rank, 1)).contains(normalized) || (rank == 0 && normalized == 0) ? normalized : nil
    }

    /// Largest element count the engine accepts for one value (1 Gi elements, 4 GiB of Float32).
    static let maximumElementCount = 1 << 30

    /// Element count of a shape, or nil when a dimension is negative or the count overflows
    /// or exceeds ``maximumElementCount`` (guards against malicious shapes).
    static func checkedCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= maximumElementCount else { return nil }
            count = product
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

/// A gather described per axis: output index `i` on axis `d` reads input index `maps[d][i]`
/// (-1 = a fill value). Used by Pad, Slice and nearest Resize.
///
/// When every leading axis (all but the last two) is an identity map, the offsets are
/// tabulated for one `[H, W]` plane only and reused for all `N * C` planes, so the table does
/// not grow with the batch.
struct AxisIndexMap: Sendable {
    /// Source offset within an input plane for each element of an output plane (-1 = fill).
    let table: [Int]
    let planes: Int
    let inputPlaneSize: Int
    let outputPlaneSize: Int

    /// - Throws: ``ONNXError/tooLarge(node:detail:)`` (naming `node`) before building the table
    ///   when it would hold more entries than half ``ShapeMath/elementLimit`` (an entry is an
    ///   `Int`, two Float32 elements of the plan's working memory).
    init(inputShape: [Int], outputShape: [Int], maps: [[Int]], node: String) throws {
        let rank = inputShape.count
        let trailing = min(2, rank)
        let leadingIdentity = (0..<(rank - trailing)).allSatisfy { axis in
            inputShape[axis] == outputShape[axis] && maps[axis].enumerated().allSatisfy { $0.offset == $0.element }
        }
        let split = leadingIdentity ? rank - trailing : 0
        let strides = ShapeMath.strides(inputShape)
        let tableShape = Array(outputShape[split...])
        guard let count = ShapeMath.checkedCount(tableShape), count <= ShapeMath.elementLimit / 2 else {
            throw ONNXError.tooLarge(node: node, detail: "its index table for output \(outputShape) would need more than \(ShapeMath.elementLimit / 2) entries")
        }
        var table = [Int](repeating: -1, count: count)
        var index = [Int](repeating: 0, count: tableShape.count)
        for flat in 0..<count {
            var offset = 0
            for d in 0..<tableShape.count {
                let source = maps[split + d][index[d]]
                if source < 0 { offset = -1; break }
                offset += source * strides[split + d]
            }
            table[flat] = offset
            var d = tableShape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < tableShape[d] { break }; index[d] = 0; d -= 1 }
        }
        self.table = table
        self.planes = outputShape[..<split].reduce(1, *)
        self.inputPlaneSize = inputShape[split...].reduce(1, *)
        self.outputPlaneSize = count
    }

    /// Gathers Float data; elements mapped to -1 get `fill`.
    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, fill: Float) {
        table.withUnsafeBufferPointer { offsets in
            for plane in 0..<planes {
                let source = input + plane * inputPlaneSize
                let target = output + plane * outputPlaneSize
                for (i, offset) in offsets.enumerated() { target[i] = offset < 0 ? fill : source[offset] }
            }
        }
    }

    /// Gathers plan-time Int64 data.
    func gather(_ input: [Int64], fill: Int64) -> [Int64] {
        var result = [Int64]()
        result.reserveCapacity(planes * outputPlaneSize)
        for plane in 0..<planes {
            for offset in table { result.append(offset < 0 ? fill : input[plane * inputPlaneSize + offset]) }
        }
        return result
    }
}

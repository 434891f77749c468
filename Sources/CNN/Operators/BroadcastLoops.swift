/// Precomputed loop structure of a broadcast binary operation: the output is walked as rows
/// of the innermost (collapsed) dimension; each input advances by 0 or 1 inside a row.
struct BroadcastLoops: Sendable {
    let outerShape: [Int]
    let outerStridesA: [Int]
    let outerStridesB: [Int]
    let inner: Int
    let innerStrideA: Int
    let innerStrideB: Int

    init(a: [Int], b: [Int], output: [Int]) {
        var sa = ShapeMath.broadcastStrides(input: a, output: output)
        var sb = ShapeMath.broadcastStrides(input: b, output: output)
        var shape = output
        // Collapse adjacent dimensions where both inputs are contiguous or both broadcast alike.
        var index = shape.count - 1
        while index > 0 {
            let canMerge = sa[index - 1] == sa[index] * shape[index] && sb[index - 1] == sb[index] * shape[index]
            if canMerge {
                shape[index - 1] *= shape[index]
                sa[index - 1] = sa[index]
                sb[index - 1] = sb[index]
                shape.remove(at: index); sa.remove(at: index); sb.remove(at: index)
            }
            index -= 1
        }
        if shape.isEmpty { shape = [1]; sa = [0]; sb = [0] }
        inner = shape[shape.count - 1]
        innerStrideA = sa[sa.count - 1]
        innerStrideB = sb[sb.count - 1]
        outerShape = Array(shape.dropLast())
        outerStridesA = Array(sa.dropLast())
        outerStridesB = Array(sb.dropLast())
    }

    @inline(__always)
    func run(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
             _ f: (Float, Float) -> Float) {
        let rows = outerShape.reduce(1, *)
        var index = [Int](repeating: 0, count: outerShape.count)
        var offsetA = 0, offsetB = 0
        let n = inner
        for row in 0..<rows {
            let pa = a + offsetA, pb = b + offsetB, po = out + row * n
            switch (innerStrideA != 0, innerStrideB != 0) {
            case (true, true): for i in 0..<n { po[i] = f(pa[i], pb[i]) }
            case (true, false): let v = pb[0]; for i in 0..<n { po[i] = f(pa[i], v) }
            case (false, true): let u = pa[0]; for i in 0..<n { po[i] = f(u, pb[i]) }
            case (false, false): let value = f(pa[0], pb[0]); for i in 0..<n { po[i] = value }
            }
            var d = outerShape.count - 1
            while d >= 0 {
                index[d] += 1
                offsetA += outerStridesA[d]
                offsetB += outerStridesB[d]
                if index[d] < outerShape[d] { break }
                offsetA -= outerStridesA[d] * outerShape[d]
                offsetB -= outerStridesB[d] * outerShape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

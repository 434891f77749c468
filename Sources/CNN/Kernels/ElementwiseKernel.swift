/// Element-wise binary operations and concatenation on contiguous Float32 values: the loops
/// the engine's `Add` and `Concat` nodes run, for callers outside the graph runtime (Training's
/// Add and Concat layers).
public enum ElementwiseKernel {
    /// `output[i] = a[i] + b[i]` for `i < count` (the engine's `Add` on operands of equal shape);
    /// `output` may be `a` or `b`.
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                           count: Int) {
        guard count > 0 else { return }
        BroadcastLoops(a: [count], b: [count], output: [count]).run(a, b, output) { $0 + $1 }
    }

    /// Concatenation of `inputs` along an axis: viewing each input `p` as `[outer][sizes[p]]`
    /// (`sizes[p]` = its extent on the axis times the inner extent), writes `output` as
    /// `[outer][sum of sizes]`, the inputs' rows side by side in order.
    public static func concatenate(_ inputs: [UnsafePointer<Float>], sizes: [Int], outer: Int,
                                   output: UnsafeMutablePointer<Float>) {
        precondition(inputs.count == sizes.count, "ElementwiseKernel.concatenate: one size per input")
        let total = sizes.reduce(0, +)
        for o in 0..<outer {
            var offset = o * total
            for p in 0..<sizes.count {
                (output + offset).update(from: inputs[p] + o * sizes[p], count: sizes[p])
                offset += sizes[p]
            }
        }
    }
}

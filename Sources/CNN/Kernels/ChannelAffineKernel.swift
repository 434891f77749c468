/// The per-channel affine map of BatchNormalization, `y = x * multiplier[c] + offset[c]` over
/// NCHW-style `[N, C, spatial]` Float32 values: the loop the engine's `BatchNormalization` node
/// runs (with its folded running statistics) and Training's BatchNormalization layer runs (with
/// batch or running statistics).
///
/// Each element is one multiply and one add (not fused), in SIMD16 vectors and a scalar tail of
/// the same arithmetic, so an element's bits never depend on its position or on the batch.
public enum ChannelAffineKernel {
    /// `output[n, c, i] = input[n, c, i] * multiplier[c] + offset[c]` for `n < batch`,
    /// `c < channels`, `i < spatial`. `input` and `output` may be the same buffer.
    public static func apply(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                             batch: Int, channels: Int, spatial: Int,
                             multiplier: UnsafePointer<Float>, offset: UnsafePointer<Float>) {
        typealias V = SIMD16<Float>
        for n in 0..<batch {
            for c in 0..<channels {
                let base = (n * channels + c) * spatial
                let source = input + base, target = output + base
                let m = multiplier[c], o = offset[c]
                let mv = V(repeating: m), ov = V(repeating: o)
                var i = 0
                while i + 16 <= spatial {
                    let x = UnsafeRawPointer(source + i).loadUnaligned(as: V.self)
                    UnsafeMutableRawPointer(target + i).storeBytes(of: x * mv + ov, as: V.self)
                    i += 16
                }
                while i < spatial { target[i] = source[i] * m + o; i += 1 }
            }
        }
    }
}

import Foundation

/// Softmax (or log-softmax) along one axis of a contiguous tensor: the one implementation, used
/// by the `Softmax`/`LogSoftmax` operators and by the classifier turning logits into
/// probabilities.
///
/// Layout: `outer` x `size` x `inner` values, row-major; the axis has `size` entries, `inner`
/// apart (for NCHW class scores of one patch: outer 1, size = classes, inner = H*W). Each
/// vector is shifted by its maximum before `exp`, so large logits do not overflow.
public enum SoftmaxKernel {
    /// Writes softmax (or log-softmax when `log`) of `source` into `destination`; the two may
    /// be the same buffer.
    public static func apply(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                             outer: Int, size: Int, inner: Int, log: Bool = false) {
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * size * inner + i
                var maximum = -Float.infinity
                for s in 0..<size { maximum = max(maximum, source[base + s * inner]) }
                if log {
                    var sum: Float = 0
                    for s in 0..<size { sum += Foundation.exp(source[base + s * inner] - maximum) }
                    let logSum = Foundation.log(sum)
                    for s in 0..<size { destination[base + s * inner] = source[base + s * inner] - maximum - logSum }
                } else {
                    var sum: Float = 0
                    for s in 0..<size {
                        let e = Foundation.exp(source[base + s * inner] - maximum)
                        destination[base + s * inner] = e
                        sum += e
                    }
                    for s in 0..<size { destination[base + s * inner] /= sum }
                }
            }
        }
    }
}

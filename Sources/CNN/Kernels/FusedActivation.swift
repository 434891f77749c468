import Foundation

/// An element-wise activation applied by a kernel's epilogue, after bias and residual.
///
/// Formulas follow the ONNX operators of the same name:
/// - `relu`: max(0, x)
/// - `leakyRelu(alpha)`: x if x >= 0, else alpha * x
/// - `clip(min, max)`: min(max(x, min), max) (ReLU6 is `clip(min: 0, max: 6)`)
/// - `sigmoid`: 1 / (1 + exp(-x))
/// - `hardSigmoid(alpha, beta)`: max(0, min(1, alpha * x + beta))
/// - `hardSwish`: x * max(0, min(1, x / 6 + 1/2))
public enum FusedActivation: Sendable, Hashable {
    /// No activation.
    case identity
    /// max(0, x).
    case relu
    /// x for x >= 0, alpha * x otherwise.
    case leakyRelu(alpha: Float)
    /// Clamps to [min, max].
    case clip(min: Float, max: Float)
    /// The logistic function.
    case sigmoid
    /// max(0, min(1, alpha * x + beta)).
    case hardSigmoid(alpha: Float, beta: Float)
    /// x * hardSigmoid(x) with alpha 1/6 and beta 1/2.
    case hardSwish

    /// Applies the activation to one value.
    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let alpha): return x >= 0 ? x : alpha * x
        case .clip(let low, let high): return Swift.min(Swift.max(x, low), high)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, alpha * x + beta))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x * (1 / 6) + 0.5))
        }
    }

    /// Applies the activation in place to `count` contiguous values.
    public func apply(to values: UnsafeMutablePointer<Float>, count: Int) {
        if case .identity = self { return }
        for index in 0..<count { values[index] = apply(values[index]) }
    }
}

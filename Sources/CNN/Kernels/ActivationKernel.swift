/// Element-wise activations on contiguous Float32 values, the loops the engine's `Relu`,
/// `LeakyRelu`, `Clip`, `Sigmoid`, `HardSigmoid` and `HardSwish` nodes run (Training's
/// activation layers call it for their forward passes).
public enum ActivationKernel {
    /// `output[i] = activation(input[i])` for `i < count`; `input` and `output` may be the same buffer.
    public static func apply(_ activation: FusedActivation, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                             count: Int) {
        UnaryOperator.apply(activation.unaryFunction ?? .copy, input, output, count)
    }
}

extension FusedActivation {
    /// The elementwise function this activation applies, nil for the identity.
    var unaryFunction: UnaryOperator.Function? {
        switch self {
        case .identity: return nil
        case .relu: return .relu
        case .leakyRelu(let alpha): return .leakyRelu(alpha: alpha)
        case .clip(let low, let high): return .clip(min: low, max: high)
        case .sigmoid: return .sigmoid
        case .hardSigmoid(let alpha, let beta): return .hardSigmoid(alpha: alpha, beta: beta)
        case .hardSwish: return .hardSwish
        }
    }
}

/// Element-wise activations on contiguous Float32 values, the loops the engine's `Relu`,
/// `LeakyRelu`, `Clip`, `Sigmoid`, `HardSigmoid` and `HardSwish` nodes run (Training's
/// activation layers call it for their forward passes).
public enum ActivationKernel {
    /// `output[i] = activation(input[i])` for `i < count`; `input` and `output` may be the same buffer.
    public static func apply(_ activation: FusedActivation, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                             count: Int) {
        let function: UnaryOperator.Function
        switch activation {
        case .identity: function = .copy
        case .relu: function = .relu
        case .leakyRelu(let alpha): function = .leakyRelu(alpha: alpha)
        case .clip(let low, let high): function = .clip(min: low, max: high)
        case .sigmoid: function = .sigmoid
        case .hardSigmoid(let alpha, let beta): function = .hardSigmoid(alpha: alpha, beta: beta)
        case .hardSwish: function = .hardSwish
        }
        UnaryOperator.apply(function, input, output, count)
    }
}

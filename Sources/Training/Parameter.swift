import CNN

/// One trainable tensor of a network: its value, the gradient accumulated by the last backward
/// pass, and whether training may change it.
///
/// Layout follows ONNX: convolution weights are `[outputChannels, inputChannels/groups, kH, kW]`,
/// Gemm weights `[out, in]` (`transB = 1`), biases and BatchNormalization scale/shift `[C]`.
/// `name` is the ONNX initializer name the value is exported under, so a parameter keeps its
/// identity through export, re-import and fine-tuning. Not thread-safe: one owner (the trainer)
/// mutates parameters between steps; workers only read `value` and write their own gradients.
public final class Parameter: @unchecked Sendable {
    /// ONNX initializer name (for example `conv1.weight`).
    public let name: String
    /// Shape of `value` and `gradient`.
    public let shape: [Int]
    /// Current value, row-major in `shape`.
    public var value: [Float]
    /// Gradient of the loss with respect to `value`, same layout; zeroed by `zeroGradient()`.
    public var gradient: [Float]
    /// When true, optimizers leave `value` unchanged (fine-tuning with frozen layers).
    public var isFrozen: Bool
    /// When false, weight decay is not applied (biases and normalization parameters).
    public var decays: Bool

    /// Creates a parameter. `value.count` must equal the product of `shape`.
    public init(name: String, shape: [Int], value: [Float], isFrozen: Bool = false, decays: Bool = true) {
        precondition(value.count == shape.reduce(1, *), "Parameter \(name): value count does not match shape")
        self.name = name
        self.shape = shape
        self.value = value
        self.gradient = [Float](repeating: 0, count: value.count)
        self.isFrozen = isFrozen
        self.decays = decays
    }

    /// Number of scalars.
    public var count: Int { value.count }

    /// Sets every gradient element to zero.
    public func zeroGradient() {
        for i in gradient.indices { gradient[i] = 0 }
    }
}

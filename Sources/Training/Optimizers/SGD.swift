/// Stochastic gradient descent with momentum, optional Nesterov momentum and L2 weight decay,
/// with PyTorch's `torch.optim.SGD` semantics.
///
/// For each unfrozen parameter `p` with gradient `g`, learning rate `lr`, momentum `μ`,
/// dampening `τ` and weight decay `λ` (only where ``Parameter/decays``):
///
/// ```
/// g ← g + λ·p
/// b ← g                      (first update)
/// b ← μ·b + (1 − τ)·g        (later updates)
/// g ← g + μ·b  (Nesterov)  or  g ← b
/// p ← p − lr·g
/// ```
///
/// With `μ = 0` there is no buffer and the update is `p ← p − lr·(g + λ·p)`.
public final class SGD: Optimizer {
    /// The hyper-parameters.
    public let options: SGDOptions
    private var table = OptimizerSlots(algorithm: .sgd)

    /// Creates an optimizer.
    /// - Throws: ``OptimizerError/invalidHyperparameter(name:value:expected:)`` for a momentum
    ///   outside [0, 1), dampening outside [0, 1], negative weight decay, or Nesterov without
    ///   momentum or with dampening (PyTorch rejects those too).
    public init(_ options: SGDOptions = SGDOptions()) throws {
        try checkHyperparameter("momentum", options.momentum, "a value in [0, 1)") { $0 >= 0 && $0 < 1 }
        try checkHyperparameter("dampening", options.dampening, "a value in [0, 1]") { $0 >= 0 && $0 <= 1 }
        try checkHyperparameter("weightDecay", options.weightDecay, "a value >= 0") { $0 >= 0 }
        if options.nesterov {
            try checkHyperparameter("momentum", options.momentum, "a momentum > 0 with Nesterov") { $0 > 0 }
            try checkHyperparameter("dampening", options.dampening, "dampening 0 with Nesterov") { $0 == 0 }
        }
        self.options = options
    }

    /// Always ``OptimizerAlgorithm/sgd``.
    public var algorithm: OptimizerAlgorithm { .sgd }

    /// Applies one SGD update to every unfrozen parameter.
    public func step(_ parameters: [Parameter], learningRate: Float) throws {
        try table.prepare(for: parameters)
        let momentum = options.momentum, dampening = options.dampening, nesterov = options.nesterov
        for (index, parameter) in parameters.enumerated() where !parameter.isFrozen {
            let decay = parameter.decays ? options.weightDecay : 0
            let first = table.slots[index].step == 0 || table.slots[index].firstMoment.isEmpty
            var buffer = table.slots[index].firstMoment
            table.slots[index].firstMoment = []
            if momentum != 0, buffer.isEmpty { buffer = [Float](repeating: 0, count: parameter.count) }
            parameter.value.withUnsafeMutableBufferPointer { value in
                parameter.gradient.withUnsafeBufferPointer { gradient in
                    buffer.withUnsafeMutableBufferPointer { moment in
                        for i in 0..<value.count {
                            var g = gradient[i]
                            if decay != 0 { g += decay * value[i] }
                            if momentum != 0 {
                                let b = first ? g : momentum * moment[i] + (1 - dampening) * g
                                moment[i] = b
                                g = nesterov ? g + momentum * b : b
                            }
                            value[i] -= learningRate * g
                        }
                    }
                }
            }
            table.slots[index].firstMoment = buffer
            table.slots[index].step += 1
        }
    }

    /// The momentum buffers and step counts.
    public var state: OptimizerState { OptimizerState(algorithm: .sgd, slots: table.slots) }

    /// Restores momentum buffers and step counts saved from an SGD optimizer.
    public func restore(_ state: OptimizerState) throws { try table.restore(state) }
}

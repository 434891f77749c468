/// Adam (Kingma & Ba, 2015) with bias correction, in PyTorch's formulation; with
/// `decoupledWeightDecay` it is AdamW (Loshchilov & Hutter, 2019, `torch.optim.AdamW`).
///
/// For each unfrozen parameter `p` with gradient `g`, learning rate `lr`, step count `t`
/// (this parameter's updates, starting at 1) and weight decay `λ` (only where
/// ``Parameter/decays``):
///
/// ```
/// g ← g + λ·p                     (Adam: L2 decay)
/// p ← p·(1 − lr·λ)                (AdamW: decoupled decay)
/// m ← m + (1 − β1)·(g − m)
/// v ← β2·v + (1 − β2)·g²
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
/// ```
///
/// `m` and `v` start at zero. The bias-correction factors are computed in Double, the
/// element-wise update in Float, as PyTorch does.
public final class Adam: Optimizer {
    /// The hyper-parameters.
    public let options: AdamOptions
    /// True for AdamW (decay shrinks the weights directly instead of entering the gradient).
    public let decoupledWeightDecay: Bool
    private var table: OptimizerSlots

    /// Creates an optimizer.
    /// - Throws: ``OptimizerError/invalidHyperparameter(name:value:expected:)`` for betas
    ///   outside [0, 1), a non-positive epsilon or a negative weight decay.
    public init(_ options: AdamOptions = AdamOptions(), decoupledWeightDecay: Bool = false) throws {
        try checkHyperparameter("beta1", options.beta1, "a value in [0, 1)") { $0 >= 0 && $0 < 1 }
        try checkHyperparameter("beta2", options.beta2, "a value in [0, 1)") { $0 >= 0 && $0 < 1 }
        try checkHyperparameter("epsilon", options.epsilon, "a value > 0") { $0 > 0 }
        try checkHyperparameter("weightDecay", options.weightDecay, "a value >= 0") { $0 >= 0 }
        self.options = options
        self.decoupledWeightDecay = decoupledWeightDecay
        self.table = OptimizerSlots(algorithm: decoupledWeightDecay ? .adamW : .adam)
    }

    /// ``OptimizerAlgorithm/adamW`` when the decay is decoupled, else ``OptimizerAlgorithm/adam``.
    public var algorithm: OptimizerAlgorithm { table.algorithm }

    /// Applies one Adam (or AdamW) update to every unfrozen parameter.
    public func step(_ parameters: [Parameter], learningRate: Float) throws {
        try table.prepare(for: parameters)
        let beta1 = options.beta1, beta2 = options.beta2, epsilon = options.epsilon
        for (index, parameter) in parameters.enumerated() where !parameter.isFrozen {
            let step = table.slots[index].step + 1
            let biasCorrection1 = 1 - pow(Double(beta1), Double(step))
            let biasCorrection2 = 1 - pow(Double(beta2), Double(step))
            let stepSize = Float(Double(learningRate) / biasCorrection1)
            let correction2Root = Float(biasCorrection2.squareRoot())
            let decay = parameter.decays ? options.weightDecay : 0
            let l2 = decoupledWeightDecay ? 0 : decay
            let shrink: Float = decoupledWeightDecay && decay != 0 ? 1 - learningRate * decay : 1
            var m = table.slots[index].firstMoment
            var v = table.slots[index].secondMoment
            table.slots[index].firstMoment = []
            table.slots[index].secondMoment = []
            if m.isEmpty { m = [Float](repeating: 0, count: parameter.count) }
            if v.isEmpty { v = [Float](repeating: 0, count: parameter.count) }
            parameter.value.withUnsafeMutableBufferPointer { value in
                parameter.gradient.withUnsafeBufferPointer { gradient in
                    m.withUnsafeMutableBufferPointer { m in
                        v.withUnsafeMutableBufferPointer { v in
                            for i in 0..<value.count {
                                var g = gradient[i]
                                if l2 != 0 { g += l2 * value[i] }
                                if shrink != 1 { value[i] *= shrink }
                                m[i] += (1 - beta1) * (g - m[i])
                                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                                let denominator = v[i].squareRoot() / correction2Root + epsilon
                                value[i] -= stepSize * (m[i] / denominator)
                            }
                        }
                    }
                }
            }
            table.slots[index].firstMoment = m
            table.slots[index].secondMoment = v
            table.slots[index].step = step
        }
    }

    /// The moments and step counts.
    public var state: OptimizerState { OptimizerState(algorithm: table.algorithm, slots: table.slots) }

    /// Restores moments and step counts saved from an optimizer of the same algorithm.
    public func restore(_ state: OptimizerState) throws { try table.restore(state) }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

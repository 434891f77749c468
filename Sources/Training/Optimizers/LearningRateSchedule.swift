import Foundation

/// How the learning rate changes over training: the base rate times a factor that depends on
/// the position in training.
///
/// The position `t` counts from 0 and is the epoch index, or the global minibatch index when
/// ``granularity`` is ``Granularity/step``; `T` is the number of epochs, or of minibatches in the
/// whole run. With base rate `η`:
///
/// - ``Kind/constant``: `η`.
/// - ``Kind/step(stepSize:gamma:)``: `η · γ^⌊t / stepSize⌋` (PyTorch `StepLR`).
/// - ``Kind/cosine(warmup:minimum:)`` with `W` warm-up positions and floor `η_min`:
///   `η · (t + 1) / (W + 1)` while `t < W` (a linear ramp that never uses a zero rate and reaches
///   `η` where the cosine starts), then `η_min + (η − η_min) · (1 + cos(π · (t − W) / (T − W))) / 2`
///   (PyTorch `CosineAnnealingLR` over the remaining `T − W` positions).
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    /// The shape of the schedule.
    public enum Kind: Codable, Sendable, Equatable {
        /// The base rate throughout.
        case constant
        /// Multiply by `gamma` every `stepSize` positions.
        case step(stepSize: Int, gamma: Double)
        /// Linear warm-up over `warmup` positions, then cosine annealing down towards `minimum`.
        case cosine(warmup: Int, minimum: Double)
    }

    /// What a position counts.
    public enum Granularity: String, Codable, Sendable, Equatable {
        /// The rate changes between epochs.
        case epoch
        /// The rate changes between minibatches.
        case step
    }

    /// The shape of the schedule.
    public var kind: Kind
    /// Whether positions are epochs or minibatches.
    public var granularity: Granularity

    /// Creates a schedule.
    public init(_ kind: Kind, granularity: Granularity = .epoch) {
        self.kind = kind
        self.granularity = granularity
    }

    /// The base rate throughout.
    public static let constant = LearningRateSchedule(.constant)

    /// Checks the schedule's numbers.
    /// - Throws: ``OptimizerError/invalidHyperparameter(name:value:expected:)``.
    public func validate() throws {
        switch kind {
        case .constant:
            break
        case .step(let stepSize, let gamma):
            guard stepSize > 0 else {
                throw OptimizerError.invalidHyperparameter(name: "schedule.stepSize", value: Double(stepSize), expected: "a step size >= 1")
            }
            guard gamma.isFinite, gamma > 0 else {
                throw OptimizerError.invalidHyperparameter(name: "schedule.gamma", value: gamma, expected: "a gamma > 0")
            }
        case .cosine(let warmup, let minimum):
            guard warmup >= 0 else {
                throw OptimizerError.invalidHyperparameter(name: "schedule.warmup", value: Double(warmup), expected: "a warm-up >= 0")
            }
            guard minimum.isFinite, minimum >= 0 else {
                throw OptimizerError.invalidHyperparameter(name: "schedule.minimum", value: minimum, expected: "a minimum rate >= 0")
            }
        }
    }

    /// The learning rate at position `position` of `total` for base rate `base`.
    ///
    /// Positions past the end keep the last value of the cosine (`η_min` at `t ≥ T`).
    public func learningRate(base: Double, position: Int, total: Int) -> Double {
        let t = max(position, 0)
        switch kind {
        case .constant:
            return base
        case .step(let stepSize, let gamma):
            return base * pow(gamma, Double(t / max(stepSize, 1)))
        case .cosine(let warmup, let minimum):
            if t < warmup { return base * Double(t + 1) / Double(warmup + 1) }
            let span = max(total - warmup, 1)
            let progress = min(Double(t - warmup) / Double(span), 1)
            return minimum + (base - minimum) * (1 + cos(Double.pi * progress)) / 2
        }
    }
}

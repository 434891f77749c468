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
///
/// Encoded flat: `{"type": "constant"}`, `{"type": "step", "stepSize": 30, "gamma": 0.1}`,
/// `{"type": "cosine", "warmup": 500, "minimum": 0, "granularity": "step"}` (granularity
/// defaults to `epoch`, warm-up and minimum to 0).
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    /// The shape of the schedule.
    public enum Kind: Sendable, Equatable {
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

    private enum CodingKeys: String, CodingKey { case type, stepSize, gamma, warmup, minimum, granularity }

    /// Decodes the flat form.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        let granularity = try c.decodeIfPresent(Granularity.self, forKey: .granularity) ?? .epoch
        switch type {
        case "constant":
            self.init(.constant, granularity: granularity)
        case "step":
            self.init(.step(stepSize: try c.decode(Int.self, forKey: .stepSize), gamma: try c.decode(Double.self, forKey: .gamma)),
                      granularity: granularity)
        case "cosine":
            self.init(.cosine(warmup: try c.decodeIfPresent(Int.self, forKey: .warmup) ?? 0,
                              minimum: try c.decodeIfPresent(Double.self, forKey: .minimum) ?? 0),
                      granularity: granularity)
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c,
                                                   debugDescription: "unknown schedule \"\(type)\"; use constant, step or cosine")
        }
    }

    /// Encodes the flat form.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch kind {
        case .constant:
            try c.encode("constant", forKey: .type)
        case .step(let stepSize, let gamma):
            try c.encode("step", forKey: .type)
            try c.encode(stepSize, forKey: .stepSize)
            try c.encode(gamma, forKey: .gamma)
        case .cosine(let warmup, let minimum):
            try c.encode("cosine", forKey: .type)
            try c.encode(warmup, forKey: .warmup)
            try c.encode(minimum, forKey: .minimum)
        }
        try c.encode(granularity, forKey: .granularity)
    }

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

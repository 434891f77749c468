/// Updates parameters from their accumulated gradients.
///
/// Optimizers follow PyTorch's update rules (`torch.optim.SGD`, `Adam`, `AdamW`) in Float32.
/// Frozen parameters (``Parameter/isFrozen``) are skipped entirely, their step count included;
/// weight decay applies only to parameters with ``Parameter/decays`` set (PyTorch's parameter
/// groups with `weight_decay=0` for biases and normalization parameters).
///
/// Pass the same parameters in the same order every step (``TrainableNetwork/parameters``):
/// the optimizer keeps one ``OptimizerSlot`` per parameter and checks names and sizes.
public protocol Optimizer: AnyObject {
    /// The update rule.
    var algorithm: OptimizerAlgorithm { get }

    /// Applies one update with `learningRate` to every unfrozen parameter, from its `gradient`.
    /// - Throws: ``OptimizerError/parameterMismatch(index:expected:actual:)`` when the parameters
    ///   differ from those of earlier steps or of a restored state.
    func step(_ parameters: [Parameter], learningRate: Float) throws

    /// A copy of the state (moments and step counts) for saving.
    var state: OptimizerState { get }

    /// Replaces the state with a saved one; the next `step` continues exactly where the saved
    /// optimizer left off.
    /// - Throws: ``OptimizerError/algorithmMismatch(stored:expected:)`` or
    ///   ``OptimizerError/corruptState(parameter:reason:)``.
    func restore(_ state: OptimizerState) throws
}

/// Choice of optimizer and its hyper-parameters (everything except the learning rate, which the
/// schedule supplies every step).
///
/// Encoded flat, with the algorithm as a tag and PyTorch's defaults for absent keys:
/// `{"algorithm": "sgd", "momentum": 0.9, "nesterov": true, "weightDecay": 0.0001}`,
/// `{"algorithm": "adamw", "weightDecay": 0.01}`.
public enum OptimizerConfiguration: Codable, Sendable, Equatable {
    /// ``SGD``.
    case sgd(SGDOptions)
    /// ``Adam`` with L2 weight decay.
    case adam(AdamOptions)
    /// ``Adam`` with decoupled weight decay (AdamW).
    case adamW(AdamOptions)

    /// The algorithm this configuration builds.
    public var algorithm: OptimizerAlgorithm {
        switch self {
        case .sgd: return .sgd
        case .adam: return .adam
        case .adamW: return .adamW
        }
    }

    private enum CodingKeys: String, CodingKey { case algorithm }

    /// Decodes the `algorithm` tag and the options beside it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let tag = try container.decode(String.self, forKey: .algorithm)
        switch OptimizerAlgorithm(rawValue: tag.lowercased()) {
        case .sgd: self = .sgd(try SGDOptions(from: decoder))
        case .adam: self = .adam(try AdamOptions(from: decoder))
        case .adamW: self = .adamW(try AdamOptions(from: decoder))
        case nil:
            throw DecodingError.dataCorruptedError(forKey: .algorithm, in: container,
                                                   debugDescription: "unknown optimizer \"\(tag)\"; use sgd, adam or adamw")
        }
    }

    /// Encodes the `algorithm` tag and the options beside it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(algorithm.rawValue, forKey: .algorithm)
        switch self {
        case .sgd(let options): try options.encode(to: encoder)
        case .adam(let options), .adamW(let options): try options.encode(to: encoder)
        }
    }

    /// Builds a fresh optimizer.
    /// - Throws: ``OptimizerError/invalidHyperparameter(name:value:expected:)``.
    public func makeOptimizer() throws -> any Optimizer {
        switch self {
        case .sgd(let options): return try SGD(options)
        case .adam(let options): return try Adam(options, decoupledWeightDecay: false)
        case .adamW(let options): return try Adam(options, decoupledWeightDecay: true)
        }
    }
}

/// Hyper-parameters of ``SGD`` (PyTorch names in parentheses).
public struct SGDOptions: Codable, Sendable, Equatable {
    /// Momentum factor (`momentum`), in [0, 1); 0 is plain SGD.
    public var momentum: Float
    /// Dampening of the gradient added to the momentum buffer (`dampening`), in [0, 1].
    public var dampening: Float
    /// Nesterov momentum (`nesterov`); needs momentum > 0 and dampening 0.
    public var nesterov: Bool
    /// L2 penalty added to the gradient (`weight_decay`), >= 0.
    public var weightDecay: Float

    /// Creates SGD options; the defaults are PyTorch's.
    public init(momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    private enum CodingKeys: String, CodingKey { case momentum, dampening, nesterov, weightDecay }

    /// Decodes the options; absent keys take PyTorch's defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(momentum: try c.decodeIfPresent(Float.self, forKey: .momentum) ?? 0,
                  dampening: try c.decodeIfPresent(Float.self, forKey: .dampening) ?? 0,
                  nesterov: try c.decodeIfPresent(Bool.self, forKey: .nesterov) ?? false,
                  weightDecay: try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? 0)
    }
}

/// Hyper-parameters of ``Adam`` and AdamW (PyTorch names in parentheses).
public struct AdamOptions: Codable, Sendable, Equatable {
    /// Decay of the first moment (`betas[0]`), in [0, 1).
    public var beta1: Float
    /// Decay of the second moment (`betas[1]`), in [0, 1).
    public var beta2: Float
    /// Term added to the denominator (`eps`), > 0.
    public var epsilon: Float
    /// Weight decay (`weight_decay`), >= 0: an L2 term for Adam, a decoupled shrink for AdamW.
    public var weightDecay: Float

    /// Creates Adam options; the defaults are PyTorch's Adam defaults (AdamW's default weight
    /// decay in PyTorch is 0.01).
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    private enum CodingKeys: String, CodingKey { case beta1, beta2, epsilon, weightDecay }

    /// Decodes the options; absent keys take PyTorch's Adam defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(beta1: try c.decodeIfPresent(Float.self, forKey: .beta1) ?? 0.9,
                  beta2: try c.decodeIfPresent(Float.self, forKey: .beta2) ?? 0.999,
                  epsilon: try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? 1e-8,
                  weightDecay: try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? 0)
    }
}

/// Checks `value` lies in a range, throwing ``OptimizerError/invalidHyperparameter(name:value:expected:)``.
func checkHyperparameter(_ name: String, _ value: Float, _ expected: String, _ isValid: (Float) -> Bool) throws {
    guard value.isFinite, isValid(value) else {
        throw OptimizerError.invalidHyperparameter(name: name, value: Double(value), expected: expected)
    }
}

/// The update rule an optimizer implements; the tag stored with its state.
public enum OptimizerAlgorithm: String, Codable, Sendable, Equatable, CaseIterable {
    /// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.
    case sgd
    /// Adam with L2 weight decay added to the gradient.
    case adam
    /// Adam with decoupled weight decay (AdamW).
    case adamW = "adamw"
}

/// Everything an optimizer carries from one step to the next, for saving and exact resumption.
///
/// Slots are in the order of the parameters passed to ``Optimizer/step(_:learningRate:)``
/// (``TrainableNetwork/parameters``). Restoring a state into a new optimizer of the same
/// algorithm and hyper-parameters continues bit-identically.
public struct OptimizerState: Codable, Sendable, Equatable {
    /// Which update rule the moments belong to.
    public var algorithm: OptimizerAlgorithm
    /// One slot per parameter; empty before the first step.
    public var slots: [OptimizerSlot]

    /// Creates a state.
    public init(algorithm: OptimizerAlgorithm, slots: [OptimizerSlot]) {
        self.algorithm = algorithm
        self.slots = slots
    }
}

/// The per-parameter part of an ``OptimizerState``.
public struct OptimizerSlot: Codable, Sendable, Equatable {
    /// The parameter's name (``Parameter/name``), checked when stepping.
    public var name: String
    /// The parameter's element count, checked when stepping.
    public var count: Int
    /// Updates applied to this parameter so far (frozen steps are not counted, as in PyTorch).
    public var step: Int
    /// SGD's momentum buffer or Adam's first moment (`exp_avg`); empty until the first update
    /// that needs it, then `count` elements.
    public var firstMoment: [Float]
    /// Adam's second moment (`exp_avg_sq`); empty for SGD and before the first update.
    public var secondMoment: [Float]

    /// Creates a slot.
    public init(name: String, count: Int, step: Int = 0, firstMoment: [Float] = [], secondMoment: [Float] = []) {
        self.name = name
        self.count = count
        self.step = step
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }
}

/// Slot bookkeeping shared by the optimizers: builds slots on the first step, checks that later
/// steps pass the same parameters, validates restored states.
struct OptimizerSlots {
    let algorithm: OptimizerAlgorithm
    var slots: [OptimizerSlot] = []

    /// Creates slots for `parameters` on first use; afterwards checks that they still match.
    mutating func prepare(for parameters: [Parameter]) throws {
        if slots.isEmpty {
            slots = parameters.map { OptimizerSlot(name: $0.name, count: $0.count) }
            return
        }
        guard parameters.count == slots.count else {
            throw OptimizerError.parameterMismatch(index: min(parameters.count, slots.count),
                                                   expected: "\(slots.count) parameters",
                                                   actual: "\(parameters.count) parameters")
        }
        for (index, (parameter, slot)) in zip(parameters, slots).enumerated()
        where parameter.name != slot.name || parameter.count != slot.count {
            throw OptimizerError.parameterMismatch(index: index,
                                                   expected: "\(slot.name) (\(slot.count) values)",
                                                   actual: "\(parameter.name) (\(parameter.count) values)")
        }
    }

    /// Replaces the slots with a saved state after checking it is well formed for `algorithm`.
    mutating func restore(_ state: OptimizerState) throws {
        guard state.algorithm == algorithm else {
            throw OptimizerError.algorithmMismatch(stored: state.algorithm, expected: algorithm)
        }
        for slot in state.slots {
            guard slot.count >= 0, slot.step >= 0 else {
                throw OptimizerError.corruptState(parameter: slot.name, reason: "negative count or step")
            }
            guard slot.firstMoment.isEmpty || slot.firstMoment.count == slot.count else {
                throw OptimizerError.corruptState(parameter: slot.name,
                                                  reason: "first moment has \(slot.firstMoment.count) values, expected \(slot.count)")
            }
            guard slot.secondMoment.isEmpty || slot.secondMoment.count == slot.count else {
                throw OptimizerError.corruptState(parameter: slot.name,
                                                  reason: "second moment has \(slot.secondMoment.count) values, expected \(slot.count)")
            }
            if algorithm == .sgd, !slot.secondMoment.isEmpty {
                throw OptimizerError.corruptState(parameter: slot.name, reason: "SGD keeps no second moment")
            }
            if algorithm != .sgd, slot.step > 0, slot.firstMoment.isEmpty || slot.secondMoment.isEmpty {
                throw OptimizerError.corruptState(parameter: slot.name, reason: "step \(slot.step) without moments")
            }
        }
        slots = state.slots
    }
}

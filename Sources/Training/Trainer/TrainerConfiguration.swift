/// When to stop training because the validation loss stopped improving.
///
/// After every epoch the validation loss is compared with the best so far: it improves when it
/// is lower than `best − minimumImprovement`. After `patience` epochs in a row without
/// improvement training stops. With ``restoresBest`` the trainer keeps a copy of the parameters
/// (and of a ``ResumableNetwork``'s buffers) from the best epoch and puts them back into the
/// network when ``Trainer/fit(training:validation:stateFile:onEpoch:)`` returns, whether it
/// stopped early or ran all epochs; the copy is part of the ``TrainerState``, so it survives a
/// resume.
public struct EarlyStopping: Codable, Sendable, Equatable {
    /// Epochs without improvement after which training stops (at least 1).
    public var patience: Int
    /// How much lower than the best a validation loss must be to count as an improvement (>= 0).
    public var minimumImprovement: Double
    /// Put the best epoch's parameters back at the end.
    public var restoresBest: Bool

    /// Creates an early-stopping rule.
    public init(patience: Int, minimumImprovement: Double = 0, restoresBest: Bool = true) {
        self.patience = patience
        self.minimumImprovement = minimumImprovement
        self.restoresBest = restoresBest
    }

    private enum CodingKeys: String, CodingKey { case patience, minimumImprovement, restoresBest }

    /// Decodes the rule; `minimumImprovement` defaults to 0 and `restoresBest` to true.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(patience: try c.decode(Int.self, forKey: .patience),
                  minimumImprovement: try c.decodeIfPresent(Double.self, forKey: .minimumImprovement) ?? 0,
                  restoresBest: try c.decodeIfPresent(Bool.self, forKey: .restoresBest) ?? true)
    }
}

/// Everything that decides how a ``Trainer`` trains.
///
/// Two runs with equal configurations, equal networks and equal sample sources produce
/// bit-identical parameters (``workers`` never changes a result). Encoded as JSON/YAML with the
/// keys below; only `epochs`, `batchSize`, `learningRate` and `optimizer` are required.
public struct TrainerConfiguration: Codable, Sendable, Equatable {
    /// Passes over the training samples (at least 1).
    public var epochs: Int
    /// Samples per minibatch (at least 1).
    public var batchSize: Int
    /// Base learning rate the ``schedule`` scales (> 0).
    public var learningRate: Double
    /// The optimizer and its hyper-parameters.
    public var optimizer: OptimizerConfiguration
    /// How the learning rate changes over epochs or steps; constant by default.
    public var schedule: LearningRateSchedule
    /// Seed of the shuffling and augmentation streams.
    public var seed: UInt64
    /// Threads the network may use; does not change results.
    public var workers: Int
    /// Random augmentation of training batches; none by default.
    public var augmentation: AugmentationSettings
    /// Per-class loss weights (one per class, finite, >= 0); nil weighs classes equally.
    public var classWeights: [Float]?
    /// Target value that marks unlabelled samples or pixels (excluded from loss and accuracy).
    public var ignoreIndex: Int32
    /// Stop when the validation loss stops improving; nil trains all epochs.
    public var earlyStopping: EarlyStopping?
    /// Skip the last minibatch of an epoch when it has fewer than ``batchSize`` samples (useful
    /// with batch normalization); false by default.
    public var dropsLastPartialBatch: Bool

    /// Creates a configuration.
    public init(epochs: Int, batchSize: Int, learningRate: Double, optimizer: OptimizerConfiguration,
                schedule: LearningRateSchedule = .constant, seed: UInt64 = 0, workers: Int = 1,
                augmentation: AugmentationSettings = .none, classWeights: [Float]? = nil, ignoreIndex: Int32 = -1,
                earlyStopping: EarlyStopping? = nil, dropsLastPartialBatch: Bool = false) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.optimizer = optimizer
        self.schedule = schedule
        self.seed = seed
        self.workers = workers
        self.augmentation = augmentation
        self.classWeights = classWeights
        self.ignoreIndex = ignoreIndex
        self.earlyStopping = earlyStopping
        self.dropsLastPartialBatch = dropsLastPartialBatch
    }

    private enum CodingKeys: String, CodingKey {
        case epochs, batchSize, learningRate, optimizer, schedule, seed, workers, augmentation, classWeights,
             ignoreIndex, earlyStopping, dropsLastPartialBatch
    }

    /// Decodes a configuration; optional keys take the defaults of ``init(epochs:batchSize:learningRate:optimizer:schedule:seed:workers:augmentation:classWeights:ignoreIndex:earlyStopping:dropsLastPartialBatch:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(epochs: try c.decode(Int.self, forKey: .epochs),
                  batchSize: try c.decode(Int.self, forKey: .batchSize),
                  learningRate: try c.decode(Double.self, forKey: .learningRate),
                  optimizer: try c.decode(OptimizerConfiguration.self, forKey: .optimizer),
                  schedule: try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule) ?? .constant,
                  seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0,
                  workers: try c.decodeIfPresent(Int.self, forKey: .workers) ?? 1,
                  augmentation: try c.decodeIfPresent(AugmentationSettings.self, forKey: .augmentation) ?? .none,
                  classWeights: try c.decodeIfPresent([Float].self, forKey: .classWeights),
                  ignoreIndex: try c.decodeIfPresent(Int32.self, forKey: .ignoreIndex) ?? -1,
                  earlyStopping: try c.decodeIfPresent(EarlyStopping.self, forKey: .earlyStopping),
                  dropsLastPartialBatch: try c.decodeIfPresent(Bool.self, forKey: .dropsLastPartialBatch) ?? false)
    }

    /// The loss options training and validation use.
    public var lossOptions: CrossEntropyOptions {
        CrossEntropyOptions(classWeights: classWeights, ignoreIndex: ignoreIndex)
    }

    /// Checks every value, naming the first key that is out of range.
    /// - Throws: ``TrainerError/invalidConfiguration(key:value:expected:)``.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ value: @autoclosure () -> String, _ expected: String) throws {
            if !ok { throw TrainerError.invalidConfiguration(key: key, value: value(), expected: expected) }
        }
        try check(epochs >= 1, "epochs", "\(epochs)", "at least 1")
        try check(batchSize >= 1, "batchSize", "\(batchSize)", "at least 1")
        try check(learningRate.isFinite && learningRate > 0, "learningRate", "\(learningRate)", "a finite value > 0")
        try check(workers >= 1, "workers", "\(workers)", "at least 1")
        if let weights = classWeights {
            try check(!weights.isEmpty && weights.allSatisfy { $0.isFinite && $0 >= 0 }, "classWeights", "\(weights)",
                      "one finite weight >= 0 per class")
        }
        if let stopping = earlyStopping {
            try check(stopping.patience >= 1, "earlyStopping.patience", "\(stopping.patience)", "at least 1")
            try check(stopping.minimumImprovement.isFinite && stopping.minimumImprovement >= 0,
                      "earlyStopping.minimumImprovement", "\(stopping.minimumImprovement)", "a finite value >= 0")
        }
        do {
            _ = try optimizer.makeOptimizer()
            try schedule.validate()
        } catch let error as OptimizerError {
            guard case .invalidHyperparameter(let name, let value, let expected) = error else { throw error }
            let key = name.hasPrefix("schedule.") ? name : "optimizer.\(name)"
            throw TrainerError.invalidConfiguration(key: key, value: "\(value)", expected: expected)
        }
        do {
            try augmentation.validate()
        } catch AugmentationError.invalidSetting(let name, let value, let expected) {
            throw TrainerError.invalidConfiguration(key: "augmentation.\(name)", value: "\(value)", expected: expected)
        }
    }
}

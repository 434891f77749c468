import CNN
import Foundation

/// Fits a ``TrainableNetwork`` to samples: epochs of shuffled minibatches, an optimizer step
/// per minibatch, validation after each epoch, early stopping and exact resumption.
///
/// ## One epoch
/// 1. Draw the epoch seed from the trainer's ``SeededGenerator`` (seeded with
///    ``TrainerConfiguration/seed``); derive from it the order the training samples are visited
///    in (a Fisher–Yates shuffle) and each sample's augmentation seed (from its index in the
///    source, so augmentation does not depend on batching).
/// 2. For every minibatch of ``TrainerConfiguration/batchSize`` indices: assemble it with
///    ``SampleSource/batch(indices:)``, augment it, zero every gradient, call
///    ``TrainableNetwork/accumulateGradients(for:loss:workers:)``, and step the optimizer with
///    the scheduled learning rate.
/// 3. Validate in inference mode: ``TrainableNetwork/predict(_:workers:)`` on the validation
///    samples in order, ``SoftmaxCrossEntropy/evaluate(logits:targets:options:)`` for the loss
///    and a ``ConfusionMatrix`` for the accuracy.
/// 4. Update the early-stopping bookkeeping (see ``EarlyStopping``), write the
///    ``TrainerState`` to the state file if one was given, then call `onEpoch` with the
///    ``EpochReport`` (print a line, export a checkpoint there).
///
/// ## Determinism and resumption
/// Equal configurations, networks and sources give bit-identical parameters; `workers` does
/// not change them. Running `2k` epochs straight, or `k` epochs, then a new trainer created
/// with ``init(network:configuration:resumingFrom:)`` on the state file for `k` more, gives the
/// same parameters bit for bit: the state holds the generator, the optimizer's moments, the
/// parameters and (for a ``ResumableNetwork``) the buffers and the network's random state.
///
/// Not thread-safe; the trainer owns the network while it fits.
public final class Trainer {
    /// The result of ``evaluate(_:)``.
    public struct Evaluation: Sendable, Equatable {
        /// Mean loss (`Σ lossSum / Σ weightSum`); nil when every target is ignored or there are
        /// no samples.
        public var loss: Double?
        /// The confusion matrix; nil when there are no samples.
        public var matrix: ConfusionMatrix?

        /// Creates an evaluation.
        public init(loss: Double?, matrix: ConfusionMatrix?) {
            self.loss = loss
            self.matrix = matrix
        }
    }

    /// The network being trained.
    public let network: any TrainableNetwork
    /// The configuration.
    public let configuration: TrainerConfiguration
    private let optimizer: any Optimizer
    private var progress: Progress
    /// Called after every training minibatch of ``fit(training:validation:stateFile:onEpoch:)``
    /// (for a progress display; it must not touch the network). Nil: nothing is called.
    public var onBatch: ((BatchProgress) -> Void)?

    /// Progress carried between epochs (and through a ``TrainerState``).
    private struct Progress {
        var completedEpochs = 0
        var generator: SeededGenerator
        var bestValidationLoss: Double?
        var bestEpoch: Int?
        var epochsWithoutImprovement = 0
        var stoppedEarly = false
        var bestParameters: [TensorSnapshot]?
        var bestBuffers: [TensorSnapshot]?
    }

    /// Creates a trainer for a new run.
    /// - Throws: ``TrainerError/invalidConfiguration(key:value:expected:)``.
    public init(network: any TrainableNetwork, configuration: TrainerConfiguration) throws {
        try configuration.validate()
        self.network = network
        self.configuration = configuration
        self.optimizer = try configuration.optimizer.makeOptimizer()
        self.progress = Progress(generator: SeededGenerator(seed: configuration.seed))
    }

    /// Creates a trainer that continues the run saved in the state file at `url`: restores the
    /// network's parameters (and buffers), the optimizer, the generator and the early-stopping
    /// bookkeeping. `configuration` must equal the saved one except for `epochs` (to extend or
    /// shorten a run) and `workers`.
    /// - Throws: ``TrainerStateError`` naming the file (unreadable, corrupt, another
    ///   configuration, another network); the network is unchanged when it throws.
    public convenience init(network: any TrainableNetwork, configuration: TrainerConfiguration, resumingFrom url: URL) throws {
        try self.init(network: network, configuration: configuration, resumingFrom: try TrainerState(contentsOf: url), source: url.path)
    }

    /// Creates a trainer that continues from a state in memory, with the checks and effects of
    /// the file-based initializer; `source` names the state in errors.
    public init(network: any TrainableNetwork, configuration: TrainerConfiguration, resumingFrom state: TrainerState,
                source: String = "trainer state") throws {
        try configuration.validate()
        try Self.checkCompatible(stored: state.configuration, current: configuration, source: source)
        try Self.check(state.parameters, against: network.parameters, kind: "parameter", source: source)
        try Self.check(state.bestParameters ?? [], against: state.bestParameters == nil ? [] : network.parameters,
                       kind: "best parameter", source: source)
        let resumable = network as? any ResumableNetwork
        let buffers = resumable?.trainingBuffers ?? []
        try Self.check(state.buffers, against: buffers, kind: "buffer", source: source)
        try Self.check(state.bestBuffers ?? [], against: state.bestBuffers == nil ? [] : buffers, kind: "best buffer", source: source)
        if resumable == nil, !state.networkRandomState.isEmpty {
            throw TrainerStateError.networkMismatch(path: source, detail: "the state holds a network random state but this network keeps none")
        }
        let parameters = network.parameters
        if !state.optimizer.slots.isEmpty {
            guard state.optimizer.slots.count == parameters.count,
                  zip(state.optimizer.slots, parameters).allSatisfy({ $0.name == $1.name && $0.count == $1.count }) else {
                throw TrainerStateError.networkMismatch(path: source, detail: "the optimizer state was built for other parameters")
            }
        }
        let optimizer = try configuration.optimizer.makeOptimizer()
        do {
            try optimizer.restore(state.optimizer)
            if let resumable { try resumable.restoreTrainingRandomState(state.networkRandomState) }
        } catch {
            throw TrainerStateError.corrupt(path: source, detail: "\(error)")
        }
        for (parameter, snapshot) in zip(parameters, state.parameters) { parameter.value = snapshot.values }
        for (buffer, snapshot) in zip(buffers, state.buffers) { buffer.value = snapshot.values }
        self.network = network
        self.configuration = configuration
        self.optimizer = optimizer
        self.progress = Progress(completedEpochs: state.completedEpochs, generator: state.generator,
                                 bestValidationLoss: state.bestValidationLoss, bestEpoch: state.bestEpoch,
                                 epochsWithoutImprovement: state.epochsWithoutImprovement, stoppedEarly: state.stoppedEarly,
                                 bestParameters: state.bestParameters, bestBuffers: state.bestBuffers)
    }

    /// Epochs finished so far (resumed ones included).
    public var completedEpochs: Int { progress.completedEpochs }

    /// The current state: what ``fit(training:validation:stateFile:onEpoch:)`` writes after
    /// each epoch.
    public var state: TrainerState {
        let resumable = network as? any ResumableNetwork
        return TrainerState(configuration: configuration, completedEpochs: progress.completedEpochs,
                            generator: progress.generator, optimizer: optimizer.state,
                            bestValidationLoss: progress.bestValidationLoss, bestEpoch: progress.bestEpoch,
                            epochsWithoutImprovement: progress.epochsWithoutImprovement, stoppedEarly: progress.stoppedEarly,
                            parameters: network.parameters.map(TensorSnapshot.init),
                            buffers: (resumable?.trainingBuffers ?? []).map(TensorSnapshot.init),
                            networkRandomState: resumable?.trainingRandomState ?? [],
                            bestParameters: progress.bestParameters, bestBuffers: progress.bestBuffers)
    }

    /// Trains until ``TrainerConfiguration/epochs`` epochs are finished or early stopping ends
    /// the run, starting after the epochs already finished (after a resume).
    ///
    /// When early stopping restores the best, the network holds the best epoch's parameters
    /// when this returns (``TrainingSummary/restoredEpoch``), while `onEpoch` saw each epoch's
    /// own; export the final model after `fit` returns.
    ///
    /// - Parameters:
    ///   - training: the samples to fit.
    ///   - validation: samples evaluated after every epoch; required for early stopping.
    ///   - stateFile: where to write the ``TrainerState`` after every epoch (nil: not written).
    ///   - onEpoch: called after every epoch (after the state file is written) with its report.
    /// - Throws: ``TrainerError``, ``TrainerStateError`` when the state cannot be written, and
    ///   whatever the sources, the network or `onEpoch` throw. The epochs finished before an error
    ///   stay in ``state`` and in the state file.
    @discardableResult
    public func fit(training: any SampleSource, validation: (any SampleSource)? = nil, stateFile: URL? = nil,
                    onEpoch: (EpochReport) throws -> Void = { _ in }) throws -> TrainingSummary {
        let config = configuration
        if config.earlyStopping != nil, (validation?.count ?? 0) == 0 { throw TrainerError.missingValidation }
        let sampleCount = training.count
        let batchSize = config.batchSize
        let batchesPerEpoch = config.dropsLastPartialBatch ? sampleCount / batchSize : (sampleCount + batchSize - 1) / batchSize
        guard batchesPerEpoch > 0 else { throw TrainerError.notEnoughSamples(count: sampleCount, batchSize: batchSize) }
        let augmenter = try Augmenter(settings: config.augmentation)
        let perStep = config.schedule.granularity == .step
        let totalPositions = perStep ? config.epochs * batchesPerEpoch : config.epochs
        let parameters = network.parameters
        let loss = config.lossOptions
        var reports: [EpochReport] = []

        while progress.completedEpochs < config.epochs, !progress.stoppedEarly {
            let epoch = progress.completedEpochs
            let clock = ContinuousClock()
            let started = clock.now
            let epochSeed = progress.generator.next()
            let order = EpochOrder.shuffled(count: sampleCount, seed: epochSeed)
            var lossSum = 0.0, weightSum = 0.0, correct = 0, counted = 0
            var rate = config.learningRate
            for batchIndex in 0..<batchesPerEpoch {
                let indices = Array(order[(batchIndex * batchSize)..<min((batchIndex + 1) * batchSize, sampleCount)])
                rate = config.schedule.learningRate(base: config.learningRate,
                                                    position: perStep ? epoch * batchesPerEpoch + batchIndex : epoch,
                                                    total: totalPositions)
                var batch = try training.batch(indices: indices)
                guard batch.count == indices.count else {
                    throw TrainerError.sourceMismatch(detail: "asked for \(indices.count) training samples, got \(batch.count)")
                }
                if !config.augmentation.isIdentity {
                    try augmenter.augment(&batch, sampleSeeds: indices.map { EpochOrder.sampleSeed(epochSeed: epochSeed, index: $0) })
                }
                for parameter in parameters { parameter.zeroGradient() }
                let outcome = try network.accumulateGradients(for: batch, loss: loss, workers: config.workers)
                guard outcome.lossSum.isFinite, outcome.weightSum.isFinite else {
                    throw TrainerError.nonFiniteLoss(epoch: epoch + 1, batch: batchIndex + 1)
                }
                guard outcome.predictions.count == batch.targets.count else {
                    throw TrainerError.networkMismatch(detail: "\(outcome.predictions.count) predictions for \(batch.targets.count) targets")
                }
                try optimizer.step(parameters, learningRate: Float(rate))
                lossSum += outcome.lossSum
                weightSum += outcome.weightSum
                for (prediction, target) in zip(outcome.predictions, batch.targets) where target != config.ignoreIndex {
                    counted += 1
                    if prediction == target { correct += 1 }
                }
                if let onBatch {
                    let elapsed = started.duration(to: clock.now).components
                    onBatch(BatchProgress(epoch: epoch + 1, epochCount: config.epochs, batch: batchIndex + 1, batchCount: batchesPerEpoch,
                                          samples: min((batchIndex + 1) * batchSize, sampleCount), sampleCount: min(batchesPerEpoch * batchSize, sampleCount),
                                          trainingLoss: weightSum > 0 ? lossSum / weightSum : 0,
                                          seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18))
                }
            }

            let validated = try validation.map { try evaluate($0) }
            var improved = false
            if let validationLoss = validated?.loss {
                let threshold = (progress.bestValidationLoss ?? .infinity) - (config.earlyStopping?.minimumImprovement ?? 0)
                if progress.bestValidationLoss == nil || validationLoss < threshold {
                    improved = true
                    progress.bestValidationLoss = validationLoss
                    progress.bestEpoch = epoch + 1
                    progress.epochsWithoutImprovement = 0
                    if config.earlyStopping?.restoresBest == true {
                        progress.bestParameters = parameters.map(TensorSnapshot.init)
                        progress.bestBuffers = ((network as? any ResumableNetwork)?.trainingBuffers ?? []).map(TensorSnapshot.init)
                    }
                } else {
                    progress.epochsWithoutImprovement += 1
                }
            } else if validation != nil {
                progress.epochsWithoutImprovement += 1
            }
            if let stopping = config.earlyStopping, progress.epochsWithoutImprovement >= stopping.patience {
                progress.stoppedEarly = true
            }
            progress.completedEpochs += 1

            let elapsed = started.duration(to: clock.now).components
            let report = EpochReport(
                epoch: epoch + 1, epochCount: config.epochs,
                trainingLoss: weightSum > 0 ? lossSum / weightSum : 0,
                trainingAccuracy: counted > 0 ? Double(correct) / Double(counted) : nil,
                validationLoss: validated?.loss, validationAccuracy: validated?.matrix?.overallAccuracy,
                validationMatrix: validated?.matrix, learningRate: rate,
                seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18,
                improved: improved, stopsEarly: progress.stoppedEarly)
            if let stateFile { try state.write(to: stateFile) }
            reports.append(report)
            try onEpoch(report)
        }

        var restoredEpoch: Int?
        if config.earlyStopping?.restoresBest == true, let best = progress.bestParameters {
            for (parameter, snapshot) in zip(parameters, best) { parameter.value = snapshot.values }
            let buffers = (network as? any ResumableNetwork)?.trainingBuffers ?? []
            for (buffer, snapshot) in zip(buffers, progress.bestBuffers ?? []) { buffer.value = snapshot.values }
            restoredEpoch = progress.bestEpoch
        }
        return TrainingSummary(reports: reports, completedEpochs: progress.completedEpochs, stoppedEarly: progress.stoppedEarly,
                               bestEpoch: progress.bestEpoch, bestValidationLoss: progress.bestValidationLoss,
                               restoredEpoch: restoredEpoch)
    }

    /// Loss and confusion matrix of the network in inference mode on every sample of `source`,
    /// in order, in batches of ``TrainerConfiguration/batchSize``, with the configured class
    /// weights and ignore index.
    public func evaluate(_ source: any SampleSource) throws -> Evaluation {
        let options = configuration.lossOptions
        var lossSum = 0.0, weightSum = 0.0
        var matrix: ConfusionMatrix?
        var start = 0
        while start < source.count {
            let indices = Array(start..<min(start + configuration.batchSize, source.count))
            let batch = try source.batch(indices: indices)
            guard batch.count == indices.count else {
                throw TrainerError.sourceMismatch(detail: "asked for \(indices.count) validation samples, got \(batch.count)")
            }
            let logits = try network.predict(batch.inputs, workers: configuration.workers)
            let outcome = try SoftmaxCrossEntropy.evaluate(logits: logits, targets: batch.targets, options: options)
            if matrix == nil { matrix = try ConfusionMatrix(classCount: logits.shape[1]) }
            try matrix?.add(predictions: outcome.predictions, targets: batch.targets, ignoreIndex: options.ignoreIndex)
            lossSum += outcome.lossSum
            weightSum += outcome.weightSum
            start += indices.count
        }
        return Evaluation(loss: weightSum > 0 ? lossSum / weightSum : nil, matrix: matrix)
    }

    /// Checks that saved tensors have the names and shapes of the network's.
    private static func check(_ saved: [TensorSnapshot], against current: [Parameter], kind: String, source: String) throws {
        guard saved.count == current.count else {
            throw TrainerStateError.networkMismatch(path: source, detail: "\(saved.count) saved \(kind)s, the network has \(current.count)")
        }
        for (snapshot, parameter) in zip(saved, current) {
            guard snapshot.name == parameter.name, snapshot.shape == parameter.shape, snapshot.values.count == parameter.count else {
                throw TrainerStateError.networkMismatch(
                    path: source, detail: "saved \(kind) \(snapshot.name) \(snapshot.shape) where the network has \(parameter.name) \(parameter.shape)")
            }
        }
    }

    /// Compares two configurations key by key (through their JSON form), ignoring `epochs` and
    /// `workers`.
    private static func checkCompatible(stored: TrainerConfiguration, current: TrainerConfiguration, source: String) throws {
        var storedComparable = stored
        storedComparable.epochs = current.epochs
        storedComparable.workers = current.workers
        guard storedComparable != current else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func fields(_ configuration: TrainerConfiguration) -> [String: String] {
            guard let data = try? encoder.encode(configuration),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            var result: [String: String] = [:]
            for (key, value) in object {
                let text = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]))
                    .flatMap { String(data: $0, encoding: .utf8) }
                result[key] = text ?? "\(value)"
            }
            return result
        }
        let old = fields(storedComparable), new = fields(current)
        for key in Set(old.keys).union(new.keys).sorted() where old[key] != new[key] {
            throw TrainerStateError.configurationMismatch(path: source, key: key, stored: old[key] ?? "absent", current: new[key] ?? "absent")
        }
        throw TrainerStateError.configurationMismatch(path: source, key: "configuration", stored: "\(stored)", current: "\(current)")
    }
}

import CNN
import Foundation
import TestSupport
import Testing
import Training

private func bits(_ network: any TrainableNetwork) -> [[UInt32]] {
    network.parameters.map { $0.value.map(\.bitPattern) }
}

private struct SimulatedInterruption: Error {}

@Suite struct TrainerTests {
    let training = ArraySource.clusters(perClass: 40, seed: 1)
    let validation = ArraySource.clusters(perClass: 15, seed: 2)

    func configuration(_ optimizer: OptimizerConfiguration = .sgd(SGDOptions(momentum: 0.9)), epochs: Int = 4,
                       seed: UInt64 = 7) -> TrainerConfiguration {
        TrainerConfiguration(epochs: epochs, batchSize: 16, learningRate: 0.05, optimizer: optimizer, seed: seed)
    }

    @Test func logisticRegressionLearnsASeparableProblem() throws {
        let network = LogisticRegression(features: 2, classes: 3)
        let trainer = try Trainer(network: network, configuration: configuration(epochs: 8))
        var lines: [String] = []
        let summary = try trainer.fit(training: training, validation: validation) { lines.append($0.line) }
        let last = try #require(summary.reports.last)
        #expect(summary.completedEpochs == 8)
        #expect(summary.reports.map(\.epoch) == Array(1...8))
        #expect(try #require(last.validationAccuracy) >= 0.95)
        #expect(try #require(last.trainingAccuracy) >= 0.95)
        #expect(try #require(last.validationLoss) < summary.reports[0].validationLoss ?? 0)
        #expect(last.validationMatrix?.total == validation.count)
        #expect(lines.count == 8)
        #expect(lines[7].hasPrefix("epoch 8/8 loss "))
        #expect(lines[7].contains("val_acc "))
        // The reported validation numbers are those of `evaluate` on the final network.
        let evaluation = try trainer.evaluate(validation)
        #expect(evaluation.loss == last.validationLoss)
        #expect(evaluation.matrix?.overallAccuracy == last.validationAccuracy)
    }

    @Test func sameSeedGivesBitIdenticalParametersAndAnotherSeedDoesNot() throws {
        func run(seed: UInt64) throws -> [[UInt32]] {
            let network = NoisyLogisticRegression(features: 2, classes: 3, initialScale: 0.1)
            var config = configuration(.adam(AdamOptions()), epochs: 3, seed: seed)
            config.augmentation = AugmentationSettings(brightness: 0.1, noiseStandardDeviation: 0.05)
            try Trainer(network: network, configuration: config).fit(training: training, validation: validation)
            return bits(network)
        }
        let first = try run(seed: 11)
        #expect(try run(seed: 11) == first)
        #expect(try run(seed: 12) != first)
    }

    static let resumeCases: [OptimizerConfiguration] = [
        .sgd(SGDOptions(momentum: 0.9, nesterov: true, weightDecay: 1e-3)),
        .adam(AdamOptions(weightDecay: 1e-3)),
        .adamW(AdamOptions(weightDecay: 1e-2)),
    ]

    @Test(arguments: resumeCases)
    func fourEpochsEqualTwoThenAResumeForTwoMore(optimizer: OptimizerConfiguration) throws {
        var config = configuration(optimizer, epochs: 4)
        config.schedule = LearningRateSchedule(.cosine(warmup: 3, minimum: 0.001), granularity: .step)
        config.augmentation = AugmentationSettings(brightness: 0.2, noiseStandardDeviation: 0.1)
        config.earlyStopping = EarlyStopping(patience: 10)
        config.classWeights = [1, 2, 0.5]

        let straight = NoisyLogisticRegression(features: 2, classes: 3, initialScale: 0.1)
        let straightSummary = try Trainer(network: straight, configuration: config).fit(training: training, validation: validation)

        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stateFile = folder.appendingPathComponent("run.lcstate")
        let interrupted = NoisyLogisticRegression(features: 2, classes: 3, initialScale: 0.1)
        #expect(throws: SimulatedInterruption.self) {
            try Trainer(network: interrupted, configuration: config).fit(training: training, validation: validation,
                                                                          stateFile: stateFile) { report in
                if report.epoch == 2 { throw SimulatedInterruption() }
            }
        }
        // A new process: a fresh network, a new trainer on the state file.
        let resumedNetwork = NoisyLogisticRegression(features: 2, classes: 3, initialScale: 0.1)
        let resumed = try Trainer(network: resumedNetwork, configuration: config, resumingFrom: stateFile)
        #expect(resumed.completedEpochs == 2)
        let summary = try resumed.fit(training: training, validation: validation, stateFile: stateFile)
        #expect(summary.reports.map(\.epoch) == [3, 4])
        #expect(bits(resumedNetwork) == bits(straight))
        #expect(resumedNetwork.runningMean.value.map(\.bitPattern) == straight.runningMean.value.map(\.bitPattern))
        #expect(summary.reports.map(\.validationLoss) == Array(straightSummary.reports[2...].map(\.validationLoss)))
        #expect(summary.bestEpoch == straightSummary.bestEpoch)
        let saved = try TrainerState(contentsOf: stateFile)
        #expect(saved.completedEpochs == 4)
    }

    @Test func aResumeMayExtendTheEpochs() throws {
        let straight = LogisticRegression(features: 2, classes: 3)
        try Trainer(network: straight, configuration: configuration(epochs: 3)).fit(training: training)
        let network = LogisticRegression(features: 2, classes: 3)
        let first = try Trainer(network: network, configuration: configuration(epochs: 1))
        try first.fit(training: training)
        var extended = configuration(epochs: 3)
        extended.workers = 2
        let second = try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: extended,
                                 resumingFrom: first.state)
        try second.fit(training: training)
        #expect(bits(second.network) == bits(straight))
    }

    @Test func earlyStoppingStopsAndRestoresTheBestEpoch() throws {
        // Validation labels disagree with training labels: the validation loss is best after
        // epoch 1 and grows afterwards.
        let misleading = validation.relabelled()
        var config = configuration(epochs: 20)
        config.earlyStopping = EarlyStopping(patience: 2)
        let network = LogisticRegression(features: 2, classes: 3)
        var snapshots: [[[UInt32]]] = []
        let summary = try Trainer(network: network, configuration: config).fit(training: training, validation: misleading) { _ in
            snapshots.append(bits(network))
        }
        #expect(summary.stoppedEarly)
        #expect(summary.completedEpochs == 3)
        #expect(summary.reports.map(\.improved) == [true, false, false])
        #expect(summary.reports.map(\.stopsEarly) == [false, false, true])
        #expect(summary.bestEpoch == 1)
        #expect(summary.restoredEpoch == 1)
        #expect(bits(network) == snapshots[0], "restore-best puts epoch 1's parameters back")
        #expect(snapshots[2] != snapshots[0])

        config.earlyStopping = EarlyStopping(patience: 2, restoresBest: false)
        let keeper = LogisticRegression(features: 2, classes: 3)
        let kept = try Trainer(network: keeper, configuration: config).fit(training: training, validation: misleading)
        #expect(kept.completedEpochs == 3)
        #expect(kept.restoredEpoch == nil)
        #expect(bits(keeper) == snapshots[2], "without restore-best the last epoch's parameters stay")
    }

    @Test func earlyStoppingWaitsWhileTheLossImproves() throws {
        var config = configuration(epochs: 5)
        config.earlyStopping = EarlyStopping(patience: 1)
        let summary = try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: config)
            .fit(training: training, validation: validation)
        #expect(!summary.stoppedEarly)
        #expect(summary.completedEpochs == 5)
        #expect(summary.reports.allSatisfy { $0.improved })
    }

    @Test func partialBatchesAreKeptOrDropped() throws {
        let source = ArraySource.clusters(perClass: 10, seed: 3)   // 30 samples
        let keeping = LogisticRegression(features: 2, classes: 3)
        try Trainer(network: keeping, configuration: configuration(epochs: 1)).fit(training: source)
        #expect(keeping.seenBatchSizes == [16, 14])
        var config = configuration(epochs: 2)
        config.dropsLastPartialBatch = true
        let dropping = LogisticRegression(features: 2, classes: 3)
        try Trainer(network: dropping, configuration: config).fit(training: source)
        #expect(dropping.seenBatchSizes == [16, 16])
        config.batchSize = 31
        #expect(throws: TrainerError.notEnoughSamples(count: 30, batchSize: 31)) {
            try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: config).fit(training: source)
        }
    }

    @Test func stepScheduleReportsTheLastRateOfEachEpoch() throws {
        var config = configuration(epochs: 2)
        config.schedule = LearningRateSchedule(.step(stepSize: 3, gamma: 0.5), granularity: .step)
        let source = ArraySource.clusters(perClass: 16, seed: 4)   // 48 samples: 3 batches per epoch
        let summary = try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: config).fit(training: source)
        #expect(summary.reports.map(\.learningRate) == [0.05, 0.025])
    }

    @Test func aNonFiniteLossStopsWithItsEpochAndBatch() throws {
        var features = training.features
        features[0] = [.nan, 0]
        let poisoned = ArraySource(features: features, labels: training.labels)
        var config = configuration(epochs: 1)
        config.batchSize = training.count
        #expect(throws: TrainerError.nonFiniteLoss(epoch: 1, batch: 1)) {
            try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: config).fit(training: poisoned)
        }
    }

    @Test func earlyStoppingNeedsValidation() throws {
        var config = configuration()
        config.earlyStopping = EarlyStopping(patience: 3)
        #expect(throws: TrainerError.missingValidation) {
            try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: config).fit(training: training)
        }
    }

    @Test func invalidConfigurationsNameTheirKey() throws {
        let changes: [(String, (inout TrainerConfiguration) -> Void)] = [
            ("epochs", { $0.epochs = 0 }),
            ("batchSize", { $0.batchSize = 0 }),
            ("learningRate", { $0.learningRate = .infinity }),
            ("workers", { $0.workers = 0 }),
            ("classWeights", { $0.classWeights = [1, -1] }),
            ("earlyStopping.patience", { $0.earlyStopping = EarlyStopping(patience: 0) }),
            ("optimizer.momentum", { $0.optimizer = .sgd(SGDOptions(momentum: 2)) }),
            ("schedule.stepSize", { $0.schedule = LearningRateSchedule(.step(stepSize: 0, gamma: 0.1)) }),
            ("augmentation.brightness", { $0.augmentation.brightness = 2 }),
        ]
        for (key, change) in changes {
            var config = configuration()
            change(&config)
            do {
                _ = try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: config)
                Issue.record("expected an error for \(key)")
            } catch TrainerError.invalidConfiguration(let reported, _, _) {
                #expect(reported == key)
            }
        }
    }

    @Test func configurationDecodesWithDefaultsAndRoundTrips() throws {
        let minimal = Data(#"{"epochs": 3, "batchSize": 8, "learningRate": 0.01, "optimizer": {"algorithm": "adamw", "weightDecay": 0.01}}"#.utf8)
        let decoded = try JSONDecoder().decode(TrainerConfiguration.self, from: minimal)
        #expect(decoded == TrainerConfiguration(epochs: 3, batchSize: 8, learningRate: 0.01,
                                                optimizer: .adamW(AdamOptions(weightDecay: 0.01))))
        var full = decoded
        full.schedule = LearningRateSchedule(.cosine(warmup: 2, minimum: 1e-5), granularity: .step)
        full.augmentation = AugmentationSettings(horizontalFlip: true, quarterTurns: true, noiseStandardDeviation: 0.01)
        full.classWeights = [0.5, 2]
        full.ignoreIndex = 255
        full.earlyStopping = EarlyStopping(patience: 4, minimumImprovement: 1e-3)
        full.seed = .max
        for value in [full, configuration(.sgd(SGDOptions(momentum: 0.9, nesterov: true)))] {
            #expect(try JSONDecoder().decode(TrainerConfiguration.self, from: JSONEncoder().encode(value)) == value)
        }
        let unknown = Data(#"{"epochs": 3, "batchSize": 8, "learningRate": 0.01, "optimizer": {"algorithm": "rmsprop"}}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TrainerConfiguration.self, from: unknown) }
    }
}

@Suite struct TrainerStateTests {
    let training = ArraySource.clusters(perClass: 10, seed: 1)
    let validation = ArraySource.clusters(perClass: 5, seed: 2)

    /// A state with every part filled: moments, buffers, random state, best snapshot.
    func trainedState() throws -> (Trainer, TrainerState) {
        var config = TrainerConfiguration(epochs: 2, batchSize: 8, learningRate: 0.01, optimizer: .adam(AdamOptions()), seed: 3)
        config.earlyStopping = EarlyStopping(patience: 5)
        let trainer = try Trainer(network: NoisyLogisticRegression(features: 2, classes: 3, initialScale: 0.1), configuration: config)
        try trainer.fit(training: training, validation: validation)
        return (trainer, trainer.state)
    }

    @Test func fileRoundTripIsExact() throws {
        let (_, state) = try trainedState()
        #expect(state.bestParameters != nil)
        #expect(state.buffers.count == 1)
        #expect(state.networkRandomState.count == 4)
        #expect(state.optimizer.slots.allSatisfy { $0.step == 8 && $0.secondMoment.count == $0.count })
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("state.bin")
        try state.write(to: url)
        #expect(try TrainerState(contentsOf: url) == state)
        // A fresh run's state (no moments, no best) round-trips too.
        let fresh = try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: state.configuration).state
        try fresh.write(to: url)
        #expect(try TrainerState(contentsOf: url) == fresh)
    }

    @Test func damagedFilesAreRejectedWithTheirPath() throws {
        let (_, state) = try trainedState()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("state.bin")
        try state.write(to: url)
        let good = try Data(contentsOf: url)
        let path = url.path

        #expect(throws: TrainerStateError.self) { try TrainerState(contentsOf: folder.appendingPathComponent("missing.bin")) }

        try Data("not a state".utf8).write(to: url)
        #expect(throws: TrainerStateError.notAStateFile(path: path)) { try TrainerState(contentsOf: url) }

        var future = good
        future[8] = 9
        try future.write(to: url)
        #expect(throws: TrainerStateError.unsupportedVersion(path: path, version: 9)) { try TrainerState(contentsOf: url) }

        try good.prefix(good.count - 4).write(to: url)
        do {
            _ = try TrainerState(contentsOf: url)
            Issue.record("a truncated file must not load")
        } catch TrainerStateError.corrupt(let reported, let detail) {
            #expect(reported == path)
            #expect(detail.contains("past the end"))
        }

        try (good + Data([0, 0, 0, 0])).write(to: url)
        #expect(throws: TrainerStateError.self) { try TrainerState(contentsOf: url) }

        // A header with a key removed names the key.
        let headerLength = Int(good[12..<20].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: good[20..<(20 + headerLength)], as: UTF8.self)
        let broken = header.replacingOccurrences(of: "\"completedEpochs\"", with: "\"completedEpoch_\"")
        var damaged = Data(good[0..<12])
        withUnsafeBytes(of: UInt64(broken.utf8.count).littleEndian) { damaged.append(contentsOf: $0) }
        damaged.append(Data(broken.utf8))
        damaged.append(good[(20 + headerLength)...])
        try damaged.write(to: url)
        do {
            _ = try TrainerState(contentsOf: url)
            Issue.record("a header without completedEpochs must not load")
        } catch TrainerStateError.corrupt(_, let detail) {
            #expect(detail.contains("completedEpochs"))
        }
    }

    @Test func resumingWithAnotherConfigurationNamesTheKey() throws {
        let (_, state) = try trainedState()
        var other = state.configuration
        other.batchSize = 4
        #expect(throws: TrainerStateError.configurationMismatch(path: "run.state", key: "batchSize", stored: "8", current: "4")) {
            try Trainer(network: NoisyLogisticRegression(features: 2, classes: 3), configuration: other,
                        resumingFrom: state, source: "run.state")
        }
        other = state.configuration
        other.optimizer = .adam(AdamOptions(beta1: 0.8))
        do {
            _ = try Trainer(network: NoisyLogisticRegression(features: 2, classes: 3), configuration: other, resumingFrom: state)
            Issue.record("another optimizer must not resume")
        } catch TrainerStateError.configurationMismatch(_, let key, _, _) {
            #expect(key == "optimizer")
        }
    }

    @Test func resumingAnotherNetworkFailsAndLeavesItUnchanged() throws {
        let (_, state) = try trainedState()
        let wider = NoisyLogisticRegression(features: 3, classes: 3, initialScale: 0.1)
        let before = bits(wider)
        #expect(throws: TrainerStateError.self) {
            try Trainer(network: wider, configuration: state.configuration, resumingFrom: state)
        }
        #expect(bits(wider) == before)
        // A network without buffers cannot take a state that has them.
        #expect(throws: TrainerStateError.self) {
            try Trainer(network: LogisticRegression(features: 2, classes: 3), configuration: state.configuration, resumingFrom: state)
        }
    }

    @Test func aFinishedRunResumesToNothing() throws {
        let (trainer, state) = try trainedState()
        let again = try Trainer(network: NoisyLogisticRegression(features: 2, classes: 3), configuration: state.configuration,
                                resumingFrom: state)
        let summary = try again.fit(training: training, validation: validation)
        #expect(summary.reports.isEmpty)
        #expect(summary.completedEpochs == 2)
        #expect(bits(again.network) == bits(trainer.network))
    }
}

@Suite struct EpochOrderTests {
    @Test func shuffleIsASeededPermutation() {
        let first = EpochOrder.shuffled(count: 100, seed: 1)
        #expect(first.sorted() == Array(0..<100))
        #expect(first != Array(0..<100))
        #expect(EpochOrder.shuffled(count: 100, seed: 1) == first)
        #expect(EpochOrder.shuffled(count: 100, seed: 2) != first)
        #expect(EpochOrder.shuffled(count: 0, seed: 1).isEmpty)
        #expect(EpochOrder.shuffled(count: 1, seed: 1) == [0])
    }

    @Test func everyPositionIsEquallyLikely() {
        // Where element 0 lands over 6000 shuffles of 3: each position about 2000 times.
        var positions = [0, 0, 0]
        for seed in 0..<6000 {
            if let position = EpochOrder.shuffled(count: 3, seed: UInt64(seed)).firstIndex(of: 0) { positions[position] += 1 }
        }
        #expect(positions.allSatisfy { abs($0 - 2000) < 150 }, "\(positions)")
    }

    @Test func boundedDrawsStayInRange() {
        var generator = SeededGenerator(seed: 9)
        for bound in [1, 2, 3, 7, 1000] as [UInt64] {
            for _ in 0..<200 { #expect(EpochOrder.bounded(bound, using: &generator) < bound) }
        }
    }
}

import Testing
import Training

/// Optimizer updates checked against the PyTorch update rules evaluated in float64 with numpy
/// (three steps from p = [1, -2, 0.5] with the gradients below, which do not depend on p).
@Suite struct OptimizerTests {
    static let start: [Float] = [1, -2, 0.5]
    static let gradients: [[Float]] = [[0.5, 0.25, -1], [-0.3, 0.1, 0.4], [0.2, -0.6, 0.05]]

    /// Runs three steps and returns the value after each.
    func trajectory(_ optimizer: any Optimizer, learningRate: Float, decays: Bool = true) throws -> [[Float]] {
        let p = Parameter(name: "w", shape: [3], value: Self.start, decays: decays)
        var values: [[Float]] = []
        for g in Self.gradients {
            p.gradient = g
            try optimizer.step([p], learningRate: learningRate)
            values.append(p.value)
        }
        return values
    }

    func expectClose(_ actual: [[Float]], _ expected: [[Double]], tolerance: Double = 2e-6,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) {
            for (x, y) in zip(a, e) {
                #expect(abs(Double(x) - y) <= tolerance * max(1, abs(y)), "\(x) vs \(y)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func plainSGDIsGradientTimesRate() throws {
        let values = try trajectory(SGD(), learningRate: 0.1)
        expectClose(values, [[0.95, -2.025, 0.6], [0.98, -2.035, 0.56], [0.96, -1.975, 0.555]])
    }

    @Test func sgdWithMomentumAndWeightDecayMatchesPyTorchRule() throws {
        let values = try trajectory(SGD(SGDOptions(momentum: 0.9, weightDecay: 0.01)), learningRate: 0.1)
        expectClose(values, [[0.949, -2.023, 0.5995],
                             [0.932151, -2.051677, 0.6484505],
                             [0.8960547489999999, -2.015434623, 0.6868574995000001]])
    }

    @Test func sgdWithNesterovMatchesPyTorchRule() throws {
        let values = try trajectory(SGD(SGDOptions(momentum: 0.9, nesterov: true)), learningRate: 0.1)
        expectClose(values, [[0.905, -2.0475, 0.69], [0.9215, -2.08675, 0.695], [0.87135, -1.999075, 0.726]])
    }

    @Test func sgdDampeningAppliesFromTheSecondStep() throws {
        let values = try trajectory(SGD(SGDOptions(momentum: 0.5, dampening: 0.3)), learningRate: 0.2)
        expectClose(values, [[0.9, -2.05, 0.7], [0.892, -2.089, 0.744], [0.86, -2.0244999999999997, 0.759]])
    }

    @Test func adamWithL2DecayMatchesPyTorchRule() throws {
        let values = try trajectory(Adam(AdamOptions(weightDecay: 0.1)), learningRate: 0.01)
        expectClose(values, [[0.9900000001666667, -2.0099999980000005, 0.5099999998947369],
                             [0.9860115861622782, -2.006302018016164, 0.5128599161167168],
                             [0.9804955265761179, -1.9995779562542373, 0.5144474512262511]])
    }

    @Test func adamWDecouplesTheDecay() throws {
        let optimizer = try Adam(AdamOptions(weightDecay: 0.1), decoupledWeightDecay: true)
        #expect(optimizer.algorithm == .adamW)
        let values = try trajectory(optimizer, learningRate: 0.01)
        expectClose(values, [[0.9890000002, -2.0079999996, 0.5094999999000001],
                             [0.9860960198939775, -2.014977751174087, 0.5124465583338375],
                             [0.9816356470589943, -2.00997536937528, 0.5143062572459577]])
    }

    @Test func adamBetasAndEpsilonAreUsed() throws {
        let values = try trajectory(Adam(AdamOptions(beta1: 0.8, beta2: 0.99, epsilon: 1e-3)), learningRate: 0.1)
        expectClose(values, [[0.9001996007984032, -2.099601593625498, 0.5999000999001],
                             [0.886742117288124, -2.186839887243745, 0.6290941388224559],
                             [0.8545000088265061, -2.148217199052367, 0.6469186046825738]])
    }

    @Test(arguments: [OptimizerConfiguration.sgd(SGDOptions(momentum: 0.9, weightDecay: 0.5)),
                      .adam(AdamOptions(weightDecay: 0.5)), .adamW(AdamOptions(weightDecay: 0.5))])
    func weightDecaySkipsNonDecayingParameters(configuration: OptimizerConfiguration) throws {
        let plain: OptimizerConfiguration
        switch configuration {
        case .sgd(var options): options.weightDecay = 0; plain = .sgd(options)
        case .adam(var options): options.weightDecay = 0; plain = .adam(options)
        case .adamW(var options): options.weightDecay = 0; plain = .adamW(options)
        }
        let withoutDecayFlag = try trajectory(configuration.makeOptimizer(), learningRate: 0.05, decays: false)
        let withoutDecay = try trajectory(plain.makeOptimizer(), learningRate: 0.05)
        let decayed = try trajectory(configuration.makeOptimizer(), learningRate: 0.05)
        #expect(withoutDecayFlag == withoutDecay)
        #expect(decayed != withoutDecay)
    }

    @Test(arguments: [OptimizerConfiguration.sgd(SGDOptions(momentum: 0.9)), .adam(AdamOptions()), .adamW(AdamOptions(weightDecay: 0.1))])
    func frozenParametersAreSkippedWithTheirStepCount(configuration: OptimizerConfiguration) throws {
        let optimizer = try configuration.makeOptimizer()
        let frozen = Parameter(name: "frozen", shape: [2], value: [1, 2], isFrozen: true)
        let live = Parameter(name: "live", shape: [2], value: [1, 2])
        frozen.gradient = [1, 1]
        live.gradient = [1, 1]
        try optimizer.step([frozen, live], learningRate: 0.1)
        try optimizer.step([frozen, live], learningRate: 0.1)
        #expect(frozen.value == [1, 2])
        #expect(live.value != [1, 2])
        let slots = optimizer.state.slots
        #expect(slots.map(\.step) == [0, 2])
        #expect(slots[0].firstMoment.isEmpty)
        // Unfreezing later starts the parameter's own step count at 1 (bias correction).
        frozen.isFrozen = false
        try optimizer.step([frozen, live], learningRate: 0.1)
        #expect(optimizer.state.slots.map(\.step) == [1, 3])
    }

    @Test(arguments: [OptimizerConfiguration.sgd(SGDOptions(momentum: 0.9, nesterov: true, weightDecay: 0.01)),
                      .adam(AdamOptions(weightDecay: 0.01)), .adamW(AdamOptions(weightDecay: 0.01))])
    func restoredStateContinuesBitIdentically(configuration: OptimizerConfiguration) throws {
        func gradients(_ step: Int) -> [[Float]] {
            var generator = SeededGenerator(seed: UInt64(step))
            return [(0..<6).map { _ in generator.nextGaussian() }, (0..<3).map { _ in generator.nextGaussian() }]
        }
        func makeParameters() -> [Parameter] {
            [Parameter(name: "a", shape: [2, 3], value: [1, 2, 3, 4, 5, 6]),
             Parameter(name: "b", shape: [3], value: [0.1, 0.2, 0.3], decays: false)]
        }
        func run(_ parameters: [Parameter], _ optimizer: any Optimizer, steps: Range<Int>) throws {
            for step in steps {
                for (p, g) in zip(parameters, gradients(step)) { p.gradient = g }
                try optimizer.step(parameters, learningRate: 0.01)
            }
        }
        let straight = makeParameters()
        try run(straight, configuration.makeOptimizer(), steps: 0..<6)

        let resumed = makeParameters()
        let first = try configuration.makeOptimizer()
        try run(resumed, first, steps: 0..<3)
        let saved = first.state
        let second = try configuration.makeOptimizer()
        try second.restore(saved)
        #expect(second.state == saved)
        try run(resumed, second, steps: 3..<6)
        #expect(zip(straight, resumed).allSatisfy { $0.value.map(\.bitPattern) == $1.value.map(\.bitPattern) })
    }

    @Test func steppingOtherParametersThrows() throws {
        let optimizer = try SGD(SGDOptions(momentum: 0.9))
        let a = Parameter(name: "a", shape: [2], value: [1, 2])
        try optimizer.step([a], learningRate: 0.1)
        let b = Parameter(name: "b", shape: [2], value: [1, 2])
        #expect(throws: OptimizerError.parameterMismatch(index: 0, expected: "a (2 values)", actual: "b (2 values)")) {
            try optimizer.step([b], learningRate: 0.1)
        }
        #expect(throws: OptimizerError.self) { try optimizer.step([a, b], learningRate: 0.1) }
    }

    @Test func restoringAnotherAlgorithmOrABrokenStateThrows() throws {
        let adam = try Adam()
        #expect(throws: OptimizerError.algorithmMismatch(stored: .sgd, expected: .adam)) {
            try adam.restore(OptimizerState(algorithm: .sgd, slots: []))
        }
        let broken = OptimizerState(algorithm: .adam, slots: [OptimizerSlot(name: "w", count: 3, step: 1, firstMoment: [0, 0], secondMoment: [0, 0, 0])])
        #expect(throws: OptimizerError.self) { try adam.restore(broken) }
        let noMoments = OptimizerState(algorithm: .adam, slots: [OptimizerSlot(name: "w", count: 3, step: 2)])
        #expect(throws: OptimizerError.self) { try adam.restore(noMoments) }
    }

    @Test func invalidHyperparametersAreRejected() {
        #expect(throws: OptimizerError.self) { try SGD(SGDOptions(momentum: 1)) }
        #expect(throws: OptimizerError.self) { try SGD(SGDOptions(nesterov: true)) }
        #expect(throws: OptimizerError.self) { try SGD(SGDOptions(momentum: 0.9, dampening: 0.1, nesterov: true)) }
        #expect(throws: OptimizerError.self) { try SGD(SGDOptions(weightDecay: -1)) }
        #expect(throws: OptimizerError.self) { try Adam(AdamOptions(beta2: 1)) }
        #expect(throws: OptimizerError.self) { try Adam(AdamOptions(epsilon: 0)) }
        #expect(throws: OptimizerError.self) { try Adam(AdamOptions(weightDecay: .nan)) }
    }
}

@Suite struct LearningRateScheduleTests {
    func rates(_ schedule: LearningRateSchedule, base: Double, total: Int) -> [Double] {
        (0..<total).map { schedule.learningRate(base: base, position: $0, total: total) }
    }

    func expectClose(_ a: [Double], _ b: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) { #expect(abs(x - y) < 1e-12, "\(x) vs \(y)", sourceLocation: sourceLocation) }
    }

    @Test func constantKeepsTheBaseRate() {
        #expect(rates(.constant, base: 0.3, total: 4) == [0.3, 0.3, 0.3, 0.3])
    }

    @Test func stepMultipliesByGammaEveryStepSize() {
        expectClose(rates(LearningRateSchedule(.step(stepSize: 2, gamma: 0.5)), base: 0.1, total: 6),
                    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    }

    @Test func cosineAnnealsFromBaseToMinimum() {
        // η_min + (η − η_min)(1 + cos(π t / 4)) / 2 with η = 1, η_min = 0.
        expectClose(rates(LearningRateSchedule(.cosine(warmup: 0, minimum: 0)), base: 1, total: 4),
                    [1, 0.8535533905932737, 0.5, 0.14644660940672627])
        expectClose(rates(LearningRateSchedule(.cosine(warmup: 0, minimum: 0.1)), base: 1.1, total: 2),
                    [1.1, 0.6])
        #expect(LearningRateSchedule(.cosine(warmup: 0, minimum: 0.1)).learningRate(base: 1, position: 9, total: 4) == 0.1)
    }

    @Test func warmUpRampsLinearlyIntoTheCosine() {
        // Warm-up of 3: 1/4, 2/4, 3/4 of the base, then cosine over the remaining 4 positions.
        expectClose(rates(LearningRateSchedule(.cosine(warmup: 3, minimum: 0), granularity: .step), base: 2, total: 7),
                    [0.5, 1, 1.5, 2, 1.7071067811865475, 1, 0.2928932188134555])
    }

    @Test func invalidSchedulesAreRejected() {
        #expect(throws: OptimizerError.self) { try LearningRateSchedule(.step(stepSize: 0, gamma: 0.5)).validate() }
        #expect(throws: OptimizerError.self) { try LearningRateSchedule(.step(stepSize: 1, gamma: -1)).validate() }
        #expect(throws: OptimizerError.self) { try LearningRateSchedule(.cosine(warmup: -1, minimum: 0)).validate() }
        #expect(throws: Never.self) { try LearningRateSchedule(.cosine(warmup: 2, minimum: 0.01)).validate() }
    }
}

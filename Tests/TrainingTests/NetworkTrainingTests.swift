import CNN
import Testing
import Training

@Suite struct NetworkTrainingTests {
    static func randomBatch(count: Int, channels: Int, size: Int, classes: Int, seed: UInt64) throws -> TrainingBatch {
        var g = SeededGenerator(seed: seed)
        let inputs = try Tensor(shape: [count, channels, size, size],
                                scalars: (0..<(count * channels * size * size)).map { _ in g.nextGaussian() })
        return TrainingBatch(inputs: inputs, targets: (0..<count).map { _ in Int32(g.next() % UInt64(classes)) })
    }

    /// Bit patterns of every parameter, gradient and running statistic.
    static func state(_ network: Network) -> [[UInt32]] {
        network.parameters.flatMap { [$0.value.map(\.bitPattern), $0.gradient.map(\.bitPattern)] }
            + network.runningStatistics.map { $0.value.map(\.bitPattern) }
    }

    @Test func oneAndTwoWorkersGiveBitIdenticalResults() throws {
        // 37 samples: micro-batches of 16, 16 and 5; BatchNormalization and Dropout included.
        let batch = try Self.randomBatch(count: 37, channels: 3, size: 16, classes: 4, seed: 1)
        let one = try ModelZoo.vgg(inputChannels: 3, classes: 4, widths: [8, 16], dropout: 0.3, seed: 7)
        let two = try ModelZoo.vgg(inputChannels: 3, classes: 4, widths: [8, 16], dropout: 0.3, seed: 7)
        #expect(Self.state(one) == Self.state(two))
        let options = CrossEntropyOptions(classWeights: [1, 2, 0.5, 1])
        for _ in 0..<2 {
            let a = try one.accumulateGradients(for: batch, loss: options, workers: 1)
            let b = try two.accumulateGradients(for: batch, loss: options, workers: 2)
            #expect(a == b)
            #expect(Self.state(one) == Self.state(two))
            // A plain SGD step so that the second call starts from new parameters.
            for network in [one, two] {
                for p in network.parameters {
                    for i in p.value.indices { p.value[i] -= 0.1 * p.gradient[i] }
                    p.zeroGradient()
                }
            }
        }
        #expect(one.runningStatistics.contains { $0.name.hasSuffix("running_mean") && $0.value.contains { $0 != 0 } })
        let predictionsOne = try one.predict(batch.inputs, workers: 1)
        let predictionsTwo = try two.predict(batch.inputs, workers: 2)
        #expect(predictionsOne.scalars.map(\.bitPattern) == predictionsTwo.scalars.map(\.bitPattern))
    }

    @Test func accumulateGradientsAddsToExistingGradients() throws {
        let batch = try Self.randomBatch(count: 4, channels: 2, size: 8, classes: 3, seed: 2)
        let network = try ModelZoo.smallCNN(inputChannels: 2, classes: 3, seed: 3)
        _ = try network.accumulateGradients(for: batch, loss: .init(), workers: 1)
        let once = network.parameters.map(\.gradient)
        _ = try network.accumulateGradients(for: batch, loss: .init(), workers: 1)
        for (p, first) in zip(network.parameters, once) {
            for i in p.gradient.indices { #expect(abs(p.gradient[i] - 2 * first[i]) <= 1e-6 * max(1, abs(first[i]))) }
        }
    }

    @Test func trainingReducesTheLossOfASmallProblem() throws {
        let batch = try Self.randomBatch(count: 24, channels: 3, size: 8, classes: 3, seed: 4)
        let network = try ModelZoo.smallCNN(inputChannels: 3, classes: 3, batchNormalization: true, seed: 5)
        let first = try network.evaluate(batch, loss: .init(), workers: 1).meanLoss
        for _ in 0..<30 {
            for p in network.parameters { p.zeroGradient() }
            _ = try network.accumulateGradients(for: batch, loss: .init(), workers: 2)
            for p in network.parameters { for i in p.value.indices { p.value[i] -= 0.05 * p.gradient[i] } }
        }
        let last = try network.evaluate(batch, loss: .init(), training: true, workers: 1).meanLoss
        #expect(last < 0.5 * first)
    }

    @Test func frozenParametersGetNoGradientAndFrozenBatchNormalizationKeepsItsStatistics() throws {
        let batch = try Self.randomBatch(count: 6, channels: 3, size: 8, classes: 3, seed: 6)
        let network = try ModelZoo.smallCNN(inputChannels: 3, classes: 3, batchNormalization: true, seed: 7)
        try network.freeze(layers: ["conv1", "bn1"])
        #expect(network.freeze(parametersWithPrefix: "conv2.") == 1)
        let statistics = network.runningStatistics.map(\.value)
        _ = try network.accumulateGradients(for: batch, loss: .init(), workers: 1)
        for p in network.parameters {
            let moved = p.gradient.contains { $0 != 0 }
            #expect(moved == !p.isFrozen, "\(p.name)")
        }
        #expect(network.parameters.filter(\.isFrozen).map(\.name) == ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight"])
        #expect(network.runningStatistics[0].value == statistics[0] && network.runningStatistics[1].value == statistics[1])
        #expect(network.runningStatistics[2].value != statistics[2])
        #expect(throws: NetworkError.self) { try network.freeze(layers: ["nope"]) }
    }

    @Test func invalidInputsAndGraphsAreReported() throws {
        let network = try ModelZoo.smallCNN(inputChannels: 3, classes: 3, seed: 8)
        let wrongBands = try Self.randomBatch(count: 2, channels: 4, size: 8, classes: 3, seed: 9)
        #expect(throws: NetworkError.self) { try network.accumulateGradients(for: wrongBands, loss: .init(), workers: 1) }
        var badTargets = try Self.randomBatch(count: 2, channels: 3, size: 8, classes: 3, seed: 9)
        badTargets.targets = [0, 7]
        #expect(throws: NetworkError.self) { try network.accumulateGradients(for: badTargets, loss: .init(), workers: 1) }
        let node = NetworkNode(name: "conv", operation: .conv(ConvolutionAttributes(kernelShape: [3, 3])),
                               inputs: ["input", "missing.weight"], output: "conv")
        #expect(throws: NetworkError.self) { try Network(inputChannels: 3, nodes: [node], parameters: []) }
    }

    @Test func zooModelsHaveTheExpectedShapesAndNames() throws {
        let resnet = try ModelZoo.resnet18(inputChannels: 13, classes: 10, seed: 1)
        #expect(try resnet.outputShape(inputShape: [2, 13, 64, 64]) == [2, 10])
        #expect(resnet.parameters.reduce(0) { $0 + $1.count } == 11_213_002)  // torchvision: 11,689,512 - 507,870 (10-class fc) + 31,360 (13-band conv1)
        #expect(resnet.parameter(named: "layer2.0.downsample.0.weight")?.shape == [128, 64, 1, 1])
        #expect(resnet.runningStatistic(named: "layer4.1.bn2.running_var")?.shape == [512])
        let small = try ModelZoo.smallCNN(seed: 1)
        #expect(small.parameters.map(\.name) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                                 "conv3.weight", "conv3.bias", "fc.weight", "fc.bias"])
        #expect(try ModelZoo.leNet(inputChannels: 3, classes: 10, seed: 1).outputShape(inputShape: [1, 3, 32, 32]) == [1, 10])
        for upsampling in [ModelZoo.Upsampling.transposedConvolution, .resize(.linear), .resize(.nearest)] {
            let unet = try ModelZoo.unet(inputChannels: 4, classes: 5, baseChannels: 4, upsampling: upsampling, seed: 1)
            #expect(try unet.outputShape(inputShape: [2, 4, 16, 16]) == [2, 5, 16, 16])
        }
    }

    @Test func segmentationNetworkTrainsWithPerPixelTargets() throws {
        let unet = try ModelZoo.unet(inputChannels: 3, classes: 4, baseChannels: 4, seed: 2)
        var g = SeededGenerator(seed: 3)
        let inputs = try Tensor(shape: [3, 3, 8, 8], scalars: (0..<(3 * 3 * 64)).map { _ in g.nextGaussian() })
        let targets = (0..<(3 * 64)).map { _ in g.next() % 5 == 0 ? Int32(-1) : Int32(g.next() % 4) }
        let outcome = try unet.accumulateGradients(for: TrainingBatch(inputs: inputs, targets: targets), loss: .init(), workers: 2)
        #expect(outcome.predictions.count == 3 * 64)
        #expect(outcome.weightSum == Double(targets.filter { $0 >= 0 }.count))
        #expect(unet.parameters.allSatisfy { $0.gradient.contains { $0 != 0 } })
    }
}

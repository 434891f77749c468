import CNN
import Testing
import Training

/// One finite-difference gradient check per operator (small random shapes; see `GradientCheck`).
@Suite struct GradientCheckTests {
    static let ignore: Int32 = 255

    func options(_ classes: Int, seed: UInt64 = 3) -> CrossEntropyOptions {
        CrossEntropyOptions(classWeights: GradientCheck.classWeights(classes, seed: seed), ignoreIndex: Self.ignore)
    }

    @Test func convolutionWithStridesPadsDilationAndBias() throws {
        let b = NetworkBuilder(inputChannels: 3, inputHeight: 9, inputWidth: 7, seed: 1)
        _ = try b.conv(b.input, name: "conv", outputChannels: 4,
                       attributes: ConvolutionAttributes(kernelShape: [3, 2], strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2]))
        let network = try b.build()
        for p in network.parameters { p.value = p.value.map { $0 + 0.05 } }
        try GradientCheck.check(network, inputShape: [2, 3, 9, 7], options: options(4))
    }

    @Test func groupedAndDepthwiseConvolutionWithoutBias() throws {
        let b = NetworkBuilder(inputChannels: 4, inputHeight: 7, inputWidth: 6, seed: 2)
        var x = try b.conv(b.input, name: "grouped", outputChannels: 6,
                           attributes: ConvolutionAttributes(kernelShape: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1], groups: 2),
                           bias: false)
        x = try b.conv(x, name: "depthwise", outputChannels: 6, kernel: 3, stride: 1, padding: 1, groups: 6)
        _ = try b.conv(x, name: "pointwise", outputChannels: 3, kernel: 1)
        try GradientCheck.check(try b.build(), inputShape: [3, 4, 7, 6], options: options(3))
    }

    /// The weight-gradient paths of larger images: at least 1,024 output pixels per image go one
    /// image at a time on the inner-product kernel (33 x 33: two reduction blocks, 1,024 + 65, and
    /// a tail of one pixel), with strided grouped input gradients through col2im per image; chunks
    /// of at least 512 pixels (2 x 20 x 20) are copied per group first. Every weight is checked.
    @Test func convolutionGradientsOnLargeImages() throws {
        let b = NetworkBuilder(inputChannels: 3, inputHeight: 66, inputWidth: 66, seed: 4)
        var x = try b.conv(b.input, name: "wide", outputChannels: 4, kernel: 3, padding: 1)
        x = try b.conv(x, name: "strided", outputChannels: 6,
                       attributes: ConvolutionAttributes(kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], groups: 2),
                       bias: false)
        _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
        try GradientCheck.check(try b.build(), inputShape: [2, 3, 66, 66], options: options(3), perParameter: 200)

        let c = NetworkBuilder(inputChannels: 4, inputHeight: 20, inputWidth: 20, seed: 5)
        let y = try c.conv(c.input, name: "first", outputChannels: 4, kernel: 1)
        _ = try c.conv(y, name: "grouped", outputChannels: 6,
                       attributes: ConvolutionAttributes(kernelShape: [3, 3], pads: [1, 1, 1, 1], groups: 2))
        try GradientCheck.check(try c.build(), inputShape: [2, 4, 20, 20], options: options(6), perParameter: 200)
    }

    @Test func convTransposeWithStridePadsOutputPaddingAndGroups() throws {
        let b = NetworkBuilder(inputChannels: 4, inputHeight: 3, inputWidth: 4, seed: 3)
        let x = try b.convTranspose(b.input, name: "up", outputChannels: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2)
        _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
        try GradientCheck.check(try b.build(), inputShape: [2, 4, 3, 4], options: options(3))
    }

    @Test func resizeNearestAndLinear() throws {
        for attributes in [ResizeAttributes(),
                           ResizeAttributes(mode: .linear, coordinateTransformation: "pytorch_half_pixel"),
                           ResizeAttributes(mode: .linear, coordinateTransformation: "align_corners", scaleHeight: 2, scaleWidth: 3),
                           ResizeAttributes(mode: .nearest, coordinateTransformation: "half_pixel", nearestMode: "round_prefer_ceil")] {
            let b = NetworkBuilder(inputChannels: 2, inputHeight: 3, inputWidth: 5, seed: 4)
            var x = try b.conv(b.input, name: "conv", outputChannels: 3, kernel: 1)
            x = try b.resize(x, name: "resize", attributes: attributes)
            _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 3, padding: 1)
            try GradientCheck.check(try b.build(), inputShape: [2, 2, 3, 5], options: options(3))
        }
    }

    @Test func batchNormalizationTrainingModeOnImagesAndFeatures() throws {
        let b = NetworkBuilder(inputChannels: 3, inputHeight: 5, inputWidth: 4, seed: 5)
        var x = try b.conv(b.input, name: "conv", outputChannels: 4, kernel: 3, padding: 1)
        x = try b.batchNormalization(x, name: "bn")
        _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
        let network = try b.build()
        // Non-trivial scale and shift.
        if let scale = network.parameter(named: "bn.weight") { scale.value = [0.7, 1.3, -0.8, 1.1] }
        try GradientCheck.check(network, inputShape: [3, 3, 5, 4], options: options(3))

        let f = NetworkBuilder(inputChannels: 3, inputHeight: 2, inputWidth: 2, seed: 6)
        var y = try f.flatten(f.input, name: "flatten")
        y = try f.gemm(y, name: "fc1", outputFeatures: 5)
        y = try f.batchNormalization(y, name: "bn1d")
        _ = try f.gemm(y, name: "fc2", outputFeatures: 4)
        try GradientCheck.check(try f.build(), inputShape: [6, 3, 2, 2], options: options(4))
    }

    @Test func activations() throws {
        for (name, operation) in [("relu", NetworkOperator.relu), ("leaky", .leakyRelu(alpha: 0.1)),
                                  ("relu6", .clip(min: 0, max: 0.6)), ("sigmoid", .sigmoid)] {
            let b = NetworkBuilder(inputChannels: 2, inputHeight: 4, inputWidth: 5, seed: 7)
            var x = try b.conv(b.input, name: "conv", outputChannels: 4, kernel: 3, padding: 1)
            x = try b.apply(operation, [x], name: name)
            _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
            try GradientCheck.check(try b.build(), inputShape: [2, 2, 4, 5], options: options(3))
        }
    }

    @Test func maxPoolWithPadsStridesDilationAndCeilMode() throws {
        for attributes in [PoolAttributes(kernelShape: [2, 2], strides: [2, 2]),
                           PoolAttributes(kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
                           PoolAttributes(kernelShape: [2, 3], strides: [1, 2], pads: [0, 1, 1, 0], dilations: [2, 1], ceilMode: true)] {
            let b = NetworkBuilder(inputChannels: 2, inputHeight: 7, inputWidth: 6, seed: 8)
            var x = try b.conv(b.input, name: "conv", outputChannels: 3, kernel: 3, padding: 1)
            x = try b.apply(.maxPool(attributes), [x], name: "pool")
            _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
            // A smaller step: with 1e-3 one perturbation swaps the maximum of a window (a kink).
            try GradientCheck.check(try b.build(), inputShape: [2, 2, 7, 6], options: options(3), step: 1e-4, atol: 5e-4)
        }
        // 2x2/2 without padding (the dedicated backward loop) on wider rows.
        let b = NetworkBuilder(inputChannels: 2, inputHeight: 4, inputWidth: 40, seed: 18)
        var x = try b.conv(b.input, name: "conv", outputChannels: 2, kernel: 3, padding: 1)
        x = try b.maxPool(x, name: "pool", kernel: 2, stride: 2)
        _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
        try GradientCheck.check(try b.build(), inputShape: [2, 2, 4, 40], options: options(3), step: 1e-4, atol: 5e-4, perParameter: 40)
    }

    @Test func averagePoolWithAndWithoutPadCounting() throws {
        for include in [false, true] {
            let b = NetworkBuilder(inputChannels: 2, inputHeight: 7, inputWidth: 5, seed: 9)
            var x = try b.conv(b.input, name: "conv", outputChannels: 3, kernel: 3, padding: 1)
            x = try b.apply(.averagePool(PoolAttributes(kernelShape: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0],
                                                        ceilMode: true, countIncludePad: include)), [x], name: "pool")
            _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
            try GradientCheck.check(try b.build(), inputShape: [2, 2, 7, 5], options: options(3))
        }
    }

    @Test func globalAveragePoolFlattenAndGemm() throws {
        let b = NetworkBuilder(inputChannels: 3, inputHeight: 5, inputWidth: 5, seed: 10)
        var x = try b.conv(b.input, name: "conv", outputChannels: 6, kernel: 3)
        x = try b.globalAveragePool(x, name: "gap")
        x = try b.flatten(x, name: "flatten")
        _ = try b.gemm(x, name: "fc", outputFeatures: 5)
        try GradientCheck.check(try b.build(), inputShape: [4, 3, 5, 5], options: options(5))
    }

    @Test func gemmWithAlphaBetaAndBothWeightLayouts() throws {
        for transB in [true, false] {
            let b = NetworkBuilder(inputChannels: 2, inputHeight: 3, inputWidth: 2, seed: 11)
            let x = try b.flatten(b.input, name: "flatten")
            var g = SeededGenerator(seed: 12)
            let weight = Parameter(name: "fc.weight", shape: transB ? [4, 12] : [12, 4], value: (0..<48).map { _ in g.nextGaussian() * 0.4 })
            let bias = Parameter(name: "fc.bias", shape: [4], value: [0.1, -0.2, 0.3, 0], decays: false)
            try b.append(NetworkNode(name: "fc", operation: .gemm(alpha: 0.7, beta: 1.3, transB: transB),
                                     inputs: [x, weight.name, bias.name], output: "fc"), parameters: [weight, bias])
            try GradientCheck.check(try b.build(), inputShape: [5, 2, 3, 2], options: options(4))
        }
    }

    @Test func matMul() throws {
        let b = NetworkBuilder(inputChannels: 3, inputHeight: 2, inputWidth: 2, seed: 13)
        var x = try b.flatten(b.input, name: "flatten")
        x = try b.gemm(x, name: "fc1", outputFeatures: 6)
        var g = SeededGenerator(seed: 14)
        let weight = Parameter(name: "proj.weight", shape: [6, 3], value: (0..<18).map { _ in g.nextGaussian() * 0.5 })
        try b.append(NetworkNode(name: "proj", operation: .matMul, inputs: [x, weight.name], output: "proj"), parameters: [weight])
        try GradientCheck.check(try b.build(), inputShape: [4, 3, 2, 2], options: options(3))
    }

    @Test func addAndConcat() throws {
        let b = NetworkBuilder(inputChannels: 2, inputHeight: 5, inputWidth: 4, seed: 15)
        let first = try b.conv(b.input, name: "a", outputChannels: 3, kernel: 3, padding: 1)
        let second = try b.conv(b.input, name: "b", outputChannels: 3, kernel: 1)
        let sum = try b.add(first, second, name: "sum")
        let joined = try b.concat([sum, first, b.input], name: "cat")
        _ = try b.conv(joined, name: "head", outputChannels: 3, kernel: 1)
        try GradientCheck.check(try b.build(), inputShape: [2, 2, 5, 4], options: options(3))
    }

    @Test func dropoutUsesTheSameSeededMaskInBothPasses() throws {
        let b = NetworkBuilder(inputChannels: 3, inputHeight: 4, inputWidth: 4, seed: 16)
        var x = try b.conv(b.input, name: "conv", outputChannels: 4, kernel: 3, padding: 1)
        x = try b.dropout(x, name: "drop", ratio: 0.4)
        _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
        let network = try b.build()
        try GradientCheck.check(network, inputShape: [2, 3, 4, 4], options: options(3))
        // Training differs from inference (the mask is active), inference is the identity.
        let batch = try GradientCheck.batch(for: network, inputShape: [2, 3, 4, 4], options: options(3), seed: 5)
        let training = try network.evaluate(batch, loss: options(3), training: true, workers: 1)
        let inference = try network.evaluate(batch, loss: options(3), training: false, workers: 1)
        #expect(training.lossSum != inference.lossSum)
    }

    @Test func patchClassificationLossWithClassWeightsAndIgnoreIndex() throws {
        let b = NetworkBuilder(inputChannels: 4, inputHeight: 1, inputWidth: 1, seed: 17)
        let x = try b.flatten(b.input, name: "flatten")
        _ = try b.gemm(x, name: "fc", outputFeatures: 6)
        try GradientCheck.check(try b.build(), inputShape: [12, 4, 1, 1], options: options(6), perParameter: 30)
    }
}

@Suite struct WinogradGeometryTests {
    /// 3x3 stride-1 layers with >= 64 input channels train on the engine's direct kernels on
    /// small calls (its default, Winograd, costs a weight transform that is more than it saves
    /// there) and infer on the engine's default kernel: both agree, and the gradients are right.
    @Test func wideThreeByThreeLayersTrainOnDirectKernelsAndMatchTheEngine() throws {
        let b = NetworkBuilder(inputChannels: 64, inputHeight: 5, inputWidth: 4, seed: 40)
        var x = try b.conv(b.input, name: "wide", outputChannels: 32, kernel: 3, padding: 1)
        x = try b.relu(x, name: "relu")
        _ = try b.conv(x, name: "head", outputChannels: 3, kernel: 1)
        let network = try b.build()
        let options = CrossEntropyOptions(classWeights: [1, 0.5, 2], ignoreIndex: 255)
        let batch = try GradientCheck.batch(for: network, inputShape: [2, 64, 5, 4], options: options, seed: 41)
        let training = try network.evaluate(batch, loss: options, training: true, workers: 1)
        let inference = try network.evaluate(batch, loss: options, training: false, workers: 1)
        #expect(abs(training.lossSum - inference.lossSum) <= 1e-4 * abs(inference.lossSum))
        #expect(training.predictions == inference.predictions)
        try GradientCheck.check(network, inputShape: [2, 64, 5, 4], options: options, perParameter: 8)
    }
}

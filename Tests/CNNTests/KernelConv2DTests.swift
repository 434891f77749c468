import Testing
import CNN

/// One convolution test case: geometry and input size.
struct ConvolutionCase: Sendable, CustomStringConvertible {
    var shape: Conv2DShape
    var height: Int
    var width: Int
    var batch: Int
    var description: String {
        "C\(shape.inputChannels)->\(shape.outputChannels) k\(shape.kernelHeight)x\(shape.kernelWidth)"
            + " s\(shape.strideHeight)x\(shape.strideWidth) d\(shape.dilationHeight)x\(shape.dilationWidth)"
            + " p\(shape.padTop),\(shape.padLeft),\(shape.padBottom),\(shape.padRight) g\(shape.groups)"
            + " \(height)x\(width) n\(batch)"
    }
}

private func shape(_ inputChannels: Int, _ outputChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                   dilation: (Int, Int) = (1, 1), pad: (Int, Int, Int, Int) = (0, 0, 0, 0),
                   groups: Int = 1) -> Conv2DShape {
    Conv2DShape(inputChannels: inputChannels, outputChannels: outputChannels,
                kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: stride.0, strideWidth: stride.1,
                dilationHeight: dilation.0, dilationWidth: dilation.1,
                padTop: pad.0, padLeft: pad.1, padBottom: pad.2, padRight: pad.3, groups: groups)
}

let convolutionCases: [ConvolutionCase] = [
    // 1x1 (plain GEMM), odd channel counts, strides.
    ConvolutionCase(shape: shape(13, 32, kernel: (1, 1)), height: 9, width: 11, batch: 1),
    ConvolutionCase(shape: shape(7, 33, kernel: (1, 1)), height: 5, width: 6, batch: 3),
    ConvolutionCase(shape: shape(64, 128, kernel: (1, 1), stride: (2, 2)), height: 16, width: 16, batch: 3),
    ConvolutionCase(shape: shape(5, 17, kernel: (1, 1), stride: (2, 1), pad: (1, 0, 0, 2)), height: 7, width: 9, batch: 1),
    // 3x3, the workhorse.
    ConvolutionCase(shape: shape(13, 32, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 16, width: 16, batch: 3),
    ConvolutionCase(shape: shape(32, 64, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 8, width: 8, batch: 1),
    ConvolutionCase(shape: shape(64, 64, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 17, width: 19, batch: 3),
    ConvolutionCase(shape: shape(3, 5, kernel: (3, 3)), height: 7, width: 5, batch: 3),
    ConvolutionCase(shape: shape(64, 128, kernel: (3, 3), stride: (2, 2), pad: (1, 1, 1, 1)), height: 16, width: 16, batch: 1),
    ConvolutionCase(shape: shape(9, 20, kernel: (3, 3), stride: (2, 2), pad: (1, 1, 1, 1)), height: 15, width: 13, batch: 3),
    ConvolutionCase(shape: shape(6, 10, kernel: (3, 3), pad: (0, 2, 1, 0)), height: 9, width: 10, batch: 1),
    ConvolutionCase(shape: shape(4, 8, kernel: (3, 3), dilation: (2, 2), pad: (2, 2, 2, 2)), height: 12, width: 11, batch: 3),
    ConvolutionCase(shape: shape(4, 6, kernel: (3, 2), dilation: (1, 3), pad: (1, 2, 0, 1)), height: 10, width: 12, batch: 1),
    // 5x5 and 7x7, including ResNet's stem.
    ConvolutionCase(shape: shape(8, 16, kernel: (5, 5), pad: (2, 2, 2, 2)), height: 13, width: 12, batch: 1),
    ConvolutionCase(shape: shape(3, 7, kernel: (5, 5), stride: (2, 2), pad: (1, 2, 3, 0)), height: 14, width: 15, batch: 3),
    ConvolutionCase(shape: shape(13, 64, kernel: (7, 7), stride: (2, 2), pad: (3, 3, 3, 3)), height: 32, width: 32, batch: 1),
    ConvolutionCase(shape: shape(2, 3, kernel: (7, 7), pad: (3, 3, 3, 3)), height: 5, width: 6, batch: 3),
    // Grouped and depthwise.
    ConvolutionCase(shape: shape(8, 12, kernel: (3, 3), pad: (1, 1, 1, 1), groups: 2), height: 9, width: 10, batch: 3),
    ConvolutionCase(shape: shape(6, 4, kernel: (1, 1), groups: 2), height: 5, width: 7, batch: 1),
    ConvolutionCase(shape: shape(32, 32, kernel: (3, 3), pad: (1, 1, 1, 1), groups: 32), height: 18, width: 19, batch: 3),
    ConvolutionCase(shape: shape(16, 16, kernel: (3, 3), stride: (2, 2), pad: (1, 1, 1, 1), groups: 16), height: 17, width: 16, batch: 1),
    ConvolutionCase(shape: shape(5, 5, kernel: (5, 5), pad: (2, 1, 2, 3), groups: 5), height: 9, width: 21, batch: 3),
    ConvolutionCase(shape: shape(4, 8, kernel: (3, 3), dilation: (2, 2), pad: (2, 2, 2, 2), groups: 4), height: 11, width: 11, batch: 1),
    ConvolutionCase(shape: shape(7, 7, kernel: (7, 7), stride: (2, 2), pad: (3, 3, 3, 3), groups: 7), height: 20, width: 18, batch: 1),
    // Wide rows (more than one SIMD16 row of pixels), tiny images.
    ConvolutionCase(shape: shape(3, 40, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 4, width: 70, batch: 1),
    ConvolutionCase(shape: shape(3, 4, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 1, width: 1, batch: 3),
    ConvolutionCase(shape: shape(130, 70, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 6, width: 7, batch: 1),
    // Output widths that are multiples of 16 (row-vector kernel), chunked small images, partial panels.
    ConvolutionCase(shape: shape(5, 12, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 2, width: 16, batch: 3),
    ConvolutionCase(shape: shape(8, 16, kernel: (3, 3), dilation: (2, 2), pad: (2, 2, 2, 2)), height: 9, width: 48, batch: 1),
    ConvolutionCase(shape: shape(6, 9, kernel: (5, 3), stride: (2, 1), pad: (2, 1, 2, 1)), height: 11, width: 32, batch: 3),
    ConvolutionCase(shape: shape(4, 8, kernel: (1, 1)), height: 5, width: 16, batch: 3),
    // Winograd F(2x2, 3x3) layers (3x3, stride 1, >= 64 input channels): odd sizes, asymmetric pads,
    // channel counts off the 16/32 grid, chunks of several small images.
    ConvolutionCase(shape: shape(64, 40, kernel: (3, 3), pad: (0, 2, 1, 0)), height: 5, width: 9, batch: 3),
    ConvolutionCase(shape: shape(72, 33, kernel: (3, 3), pad: (2, 0, 0, 1)), height: 7, width: 4, batch: 3),
    ConvolutionCase(shape: shape(64, 96, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 1, width: 1, batch: 3),
    ConvolutionCase(shape: shape(128, 64, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 2, width: 2, batch: 3),
    ConvolutionCase(shape: shape(64, 64, kernel: (3, 3)), height: 12, width: 34, batch: 1),
    // Stride-2 columns with output width a multiple of 16 (row-vector kernel, even columns).
    ConvolutionCase(shape: shape(6, 9, kernel: (3, 3), stride: (1, 2), pad: (1, 1, 1, 1)), height: 7, width: 32, batch: 3),
    ConvolutionCase(shape: shape(5, 16, kernel: (3, 3), stride: (2, 2), dilation: (2, 2), pad: (2, 2, 2, 2)), height: 9, width: 64, batch: 1),
    ConvolutionCase(shape: shape(3, 8, kernel: (1, 1), stride: (2, 2)), height: 6, width: 31, batch: 3),
]

@Suite("Conv2DKernel against a naive reference")
struct KernelConv2DTests {
    @Test(arguments: convolutionCases)
    func matchesReference(testCase: ConvolutionCase) {
        var random = KernelTestRandom(seed: UInt64(testCase.description.utf8.count * 7919 + testCase.height))
        let s = testCase.shape
        let input = random.floats(testCase.batch * s.inputChannels * testCase.height * testCase.width)
        let weights = random.floats(s.outputChannels * (s.inputChannels / s.groups) * s.kernelHeight * s.kernelWidth)
        let bias = random.floats(s.outputChannels)
        let kernel = Conv2DKernel(shape: s, weights: weights, bias: bias, activation: .identity)
        let result = runKernel(kernel, input: input, batch: testCase.batch, height: testCase.height,
                               width: testCase.width, residual: nil)
        let expected = referenceConvolution(shape: s, input: input, batch: testCase.batch, height: testCase.height,
                                            width: testCase.width, weights: weights, bias: bias, residual: nil,
                                            activation: .identity)
        #expect(maxRelativeError(result, expected) < tolerance(s))
    }

    /// Float32 rounding grows with the reduction length; a wrong tap gives errors of order 0.1.
    func tolerance(_ s: Conv2DShape) -> Float {
        let reduction = Float(s.inputChannels / s.groups * s.kernelHeight * s.kernelWidth)
        return 2e-6 * reduction.squareRoot() + 2e-6
    }

    static let activations: [FusedActivation] = [
        .identity, .relu, .leakyRelu(alpha: 0.1), .clip(min: -0.5, max: 0.75), .sigmoid,
        .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish,
    ]

    static let epilogueShapes: [ConvolutionCase] = [
        ConvolutionCase(shape: shape(13, 32, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 11, width: 9, batch: 3),
        ConvolutionCase(shape: shape(16, 24, kernel: (1, 1)), height: 7, width: 7, batch: 2),
        ConvolutionCase(shape: shape(13, 20, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 6, width: 16, batch: 2),
        ConvolutionCase(shape: shape(64, 36, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 5, width: 7, batch: 3),
        ConvolutionCase(shape: shape(12, 12, kernel: (3, 3), stride: (2, 2), pad: (1, 1, 1, 1), groups: 12),
                        height: 9, width: 9, batch: 2),
    ]

    @Test(arguments: epilogueShapes, activations)
    func residualAndActivation(testCase: ConvolutionCase, activation: FusedActivation) {
        var random = KernelTestRandom(seed: 42)
        let s = testCase.shape
        let (outputHeight, outputWidth) = s.outputSize(height: testCase.height, width: testCase.width)
        let input = random.floats(testCase.batch * s.inputChannels * testCase.height * testCase.width)
        let weights = random.floats(s.outputChannels * (s.inputChannels / s.groups) * s.kernelHeight * s.kernelWidth)
        let residual = random.floats(testCase.batch * s.outputChannels * outputHeight * outputWidth).map { $0 * 3 }
        for withBias in [false, true] {
            for withResidual in [false, true] {
                let bias = withBias ? random.floats(s.outputChannels) : nil
                let kernel = Conv2DKernel(shape: s, weights: weights, bias: bias, activation: activation)
                let result = runKernel(kernel, input: input, batch: testCase.batch, height: testCase.height,
                                       width: testCase.width, residual: withResidual ? residual : nil)
                let expected = referenceConvolution(
                    shape: s, input: input, batch: testCase.batch, height: testCase.height, width: testCase.width,
                    weights: weights, bias: bias, residual: withResidual ? residual : nil, activation: activation)
                #expect(maxRelativeError(result, expected) < tolerance(s), "bias \(withBias) residual \(withResidual)")
            }
        }
    }

    /// The residual may be the output buffer itself (in-place `x = act(conv(y) + x)`): direct
    /// kernels (16 and 48 channels) and the Winograd path (64 channels).
    @Test(arguments: [16, 48, 64], [1, 3])
    func residualMayAliasOutput(channels: Int, batch: Int) {
        var random = KernelTestRandom(seed: 5)
        let s = shape(channels, channels, kernel: (3, 3), pad: (1, 1, 1, 1))
        let (height, width) = (10, 12)
        let input = random.floats(batch * channels * height * width)
        let weights = random.floats(channels * channels * 9)
        let residual = random.floats(batch * channels * height * width)
        let kernel = Conv2DKernel(shape: s, weights: weights, bias: nil, activation: .relu)
        var output = residual
        var scratch = [Float](repeating: 0, count: max(1, kernel.scratchCount(height: height, width: width)))
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                    kernel.run(input: inputBuffer.baseAddress!, batch: batch, height: height, width: width,
                               output: outputBuffer.baseAddress!, residual: UnsafePointer(outputBuffer.baseAddress!),
                               scratch: scratchBuffer.baseAddress!)
                }
            }
        }
        let expected = referenceConvolution(shape: s, input: input, batch: batch, height: height, width: width,
                                            weights: weights, bias: nil, residual: residual, activation: .relu)
        #expect(maxRelativeError(output, expected) < tolerance(s))
    }

    static let determinismShapes: [ConvolutionCase] = [
        ConvolutionCase(shape: shape(13, 32, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 20, width: 20, batch: 5),
        ConvolutionCase(shape: shape(13, 32, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 12, width: 32, batch: 5),
        ConvolutionCase(shape: shape(64, 64, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 4, width: 16, batch: 5),
        ConvolutionCase(shape: shape(64, 128, kernel: (1, 1), stride: (2, 2)), height: 16, width: 16, batch: 5),
        ConvolutionCase(shape: shape(64, 128, kernel: (3, 3), stride: (2, 2), pad: (1, 1, 1, 1)), height: 16, width: 16, batch: 5),
        ConvolutionCase(shape: shape(13, 64, kernel: (7, 7), stride: (2, 2), pad: (3, 3, 3, 3)), height: 32, width: 32, batch: 5),
        ConvolutionCase(shape: shape(24, 24, kernel: (3, 3), pad: (1, 1, 1, 1), groups: 24), height: 15, width: 15, batch: 5),
        ConvolutionCase(shape: shape(128, 128, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 4, width: 4, batch: 5),
        ConvolutionCase(shape: shape(64, 64, kernel: (3, 3), pad: (1, 1, 1, 1)), height: 9, width: 7, batch: 5),
    ]

    /// A batch of 5 gives each sample exactly the bits it gets alone.
    @Test(arguments: determinismShapes)
    func batchIsBitIdenticalToSingleSamples(testCase: ConvolutionCase) {
        var random = KernelTestRandom(seed: 99)
        let s = testCase.shape
        let (height, width, batch) = (testCase.height, testCase.width, testCase.batch)
        let (outputHeight, outputWidth) = s.outputSize(height: height, width: width)
        let inputPlane = s.inputChannels * height * width
        let outputPlane = s.outputChannels * outputHeight * outputWidth
        let input = random.floats(batch * inputPlane)
        let weights = random.floats(s.outputChannels * (s.inputChannels / s.groups) * s.kernelHeight * s.kernelWidth)
        let residual = random.floats(batch * outputPlane)
        let kernel = Conv2DKernel(shape: s, weights: weights, bias: random.floats(s.outputChannels),
                                  activation: .sigmoid)
        let whole = runKernel(kernel, input: input, batch: batch, height: height, width: width, residual: residual)
        for sample in 0..<batch {
            let alone = runKernel(kernel, input: Array(input[sample * inputPlane..<(sample + 1) * inputPlane]),
                                  batch: 1, height: height, width: width,
                                  residual: Array(residual[sample * outputPlane..<(sample + 1) * outputPlane]))
            let slice = Array(whole[sample * outputPlane..<(sample + 1) * outputPlane])
            #expect(slice.map(\.bitPattern) == alone.map(\.bitPattern), "sample \(sample)")
        }
    }
}

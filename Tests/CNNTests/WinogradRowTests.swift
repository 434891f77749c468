import CNN
import Testing

private func rowShape(_ inputChannels: Int, _ outputChannels: Int, pad: (Int, Int, Int, Int) = (1, 1, 1, 1)) -> Conv2DShape {
    Conv2DShape(inputChannels: inputChannels, outputChannels: outputChannels, kernelHeight: 3, kernelWidth: 3,
                strideHeight: 1, strideWidth: 1, padTop: pad.0, padLeft: pad.1, padBottom: pad.2, padRight: pad.3)
}

/// Layers on the tile-vectorised Winograd path (3x3 stride 1, 8 ... 64 input channels, output
/// width a multiple of 32 and even height, or width 16 and height a multiple of 4), and
/// neighbours that fall back to the other kernels.
private let winogradRowCases: [ConvolutionCase] = [
    ConvolutionCase(shape: rowShape(32, 64), height: 32, width: 32, batch: 2),
    ConvolutionCase(shape: rowShape(13, 32), height: 64, width: 64, batch: 2),
    ConvolutionCase(shape: rowShape(8, 36), height: 4, width: 32, batch: 2),
    ConvolutionCase(shape: rowShape(40, 33), height: 6, width: 32, batch: 3),
    ConvolutionCase(shape: rowShape(48, 40, pad: (0, 2, 1, 0)), height: 7, width: 32, batch: 2),
    ConvolutionCase(shape: rowShape(63, 32), height: 2, width: 64, batch: 3),
    ConvolutionCase(shape: rowShape(32, 48), height: 10, width: 96, batch: 1),
    // Output width 16: a vector holds two tile rows of 8 (height a multiple of 4).
    ConvolutionCase(shape: rowShape(64, 64), height: 16, width: 16, batch: 2),
    ConvolutionCase(shape: rowShape(40, 32), height: 8, width: 16, batch: 3),
    // Not handled: height 6 at width 16 (WinogradConvolution), 7 input channels, odd height,
    // width 16 with height 10 (direct kernels).
    ConvolutionCase(shape: rowShape(64, 48), height: 6, width: 16, batch: 1),
    ConvolutionCase(shape: rowShape(7, 32), height: 4, width: 32, batch: 2),
    ConvolutionCase(shape: rowShape(32, 32), height: 5, width: 32, batch: 2),
    ConvolutionCase(shape: rowShape(32, 32), height: 10, width: 16, batch: 2),
]

@Suite("Winograd along tiles")
struct WinogradRowTests {
    func tolerance(_ s: Conv2DShape) -> Float {
        2e-6 * Float(s.inputChannels * 9).squareRoot() + 2e-6
    }

    @Test(arguments: winogradRowCases, [FusedActivation.identity, .relu, .sigmoid])
    func matchesReferenceWithAndWithoutResidual(testCase: ConvolutionCase, activation: FusedActivation) {
        var random = KernelTestRandom(seed: 23)
        let s = testCase.shape
        let (outputHeight, outputWidth) = s.outputSize(height: testCase.height, width: testCase.width)
        let input = random.floats(testCase.batch * s.inputChannels * testCase.height * testCase.width)
        let weights = random.floats(s.outputChannels * s.inputChannels * 9)
        let bias = random.floats(s.outputChannels)
        let residual = random.floats(testCase.batch * s.outputChannels * outputHeight * outputWidth)
        let kernel = Conv2DKernel(shape: s, weights: weights, bias: bias, activation: activation)
        for withResidual in [false, true] {
            let result = runKernel(kernel, input: input, batch: testCase.batch, height: testCase.height,
                                   width: testCase.width, residual: withResidual ? residual : nil)
            let expected = referenceConvolution(shape: s, input: input, batch: testCase.batch, height: testCase.height,
                                                width: testCase.width, weights: weights, bias: bias,
                                                residual: withResidual ? residual : nil, activation: activation)
            let error = maxRelativeError(result, expected)
            #expect(error < tolerance(s) && error <= 1e-4, "\(testCase) residual \(withResidual): \(error)")
        }
    }

    /// In-place `x = relu(conv(y) + x)`: the residual is the output buffer.
    @Test func residualMayAliasOutput() {
        var random = KernelTestRandom(seed: 8)
        let s = rowShape(32, 32)
        let (batch, height, width) = (2, 4, 32)
        let input = random.floats(batch * 32 * height * width)
        let weights = random.floats(32 * 32 * 9)
        let residual = random.floats(batch * 32 * height * width)
        let kernel = Conv2DKernel(shape: s, weights: weights, bias: nil, activation: .relu)
        var output = residual
        var scratch = [Float](repeating: .nan, count: kernel.scratchCount(height: height, width: width))
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                    guard let source = inputBuffer.baseAddress, let target = outputBuffer.baseAddress,
                          let work = scratchBuffer.baseAddress else { return }
                    kernel.run(input: source, batch: batch, height: height, width: width, output: target,
                               residual: UnsafePointer(target), scratch: work)
                }
            }
        }
        let expected = referenceConvolution(shape: s, input: input, batch: batch, height: height, width: width,
                                            weights: weights, bias: nil, residual: residual, activation: .relu)
        #expect(maxRelativeError(output, expected) < tolerance(s))
    }

    /// A batch of 4 gives each sample exactly the bits it gets alone.
    @Test func batchIsBitIdenticalToSingleSamples() {
        var random = KernelTestRandom(seed: 77)
        let s = rowShape(32, 64)
        let (batch, height, width) = (4, 8, 64)
        let inputPlane = 32 * height * width, outputPlane = 64 * height * width
        let input = random.floats(batch * inputPlane)
        let residual = random.floats(batch * outputPlane)
        let kernel = Conv2DKernel(shape: s, weights: random.floats(64 * 32 * 9), bias: random.floats(64),
                                  activation: .relu)
        let whole = runKernel(kernel, input: input, batch: batch, height: height, width: width, residual: residual)
        for sample in 0..<batch {
            let alone = runKernel(kernel, input: Array(input[sample * inputPlane..<(sample + 1) * inputPlane]),
                                  batch: 1, height: height, width: width,
                                  residual: Array(residual[sample * outputPlane..<(sample + 1) * outputPlane]))
            #expect(Array(whole[sample * outputPlane..<(sample + 1) * outputPlane]).map(\.bitPattern)
                    == alone.map(\.bitPattern), "sample \(sample)")
        }
    }
}

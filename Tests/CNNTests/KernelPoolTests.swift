import Testing
import CNN

/// Naive pooling over one [planes, height, width] tensor; `average` selects the mean.
private func referencePool(_ s: Conv2DShape, average: Bool, includePad: Bool, input: [Float], planes: Int,
                           height: Int, width: Int, outputHeight: Int, outputWidth: Int) -> [Float] {
    var output = [Float](repeating: 0, count: planes * outputHeight * outputWidth)
    for plane in 0..<planes {
        for outputRow in 0..<outputHeight {
            for outputColumn in 0..<outputWidth {
                var best = -Float.infinity
                var sum = 0.0
                var count = 0
                var padded = 0
                for kernelRow in 0..<s.kernelHeight {
                    let row = outputRow * s.strideHeight - s.padTop + kernelRow * s.dilationHeight
                    for kernelColumn in 0..<s.kernelWidth {
                        let column = outputColumn * s.strideWidth - s.padLeft + kernelColumn * s.dilationWidth
                        if row >= -s.padTop && row < height + s.padBottom && column >= -s.padLeft
                            && column < width + s.padRight { padded += 1 }
                        guard row >= 0 && row < height && column >= 0 && column < width else { continue }
                        let value = input[(plane * height + row) * width + column]
                        best = max(best, value)
                        sum += Double(value)
                        count += 1
                    }
                }
                let divisor = includePad ? padded : count
                output[(plane * outputHeight + outputRow) * outputWidth + outputColumn] =
                    average ? (divisor > 0 ? Float(sum / Double(divisor)) : 0) : best
            }
        }
    }
    return output
}

struct PoolCase: Sendable, CustomStringConvertible {
    var kernel: Int, stride: Int, pad: (Int, Int, Int, Int), dilation: Int, height: Int, width: Int
    var description: String { "k\(kernel) s\(stride) p\(pad) d\(dilation) \(height)x\(width)" }
    var shape: Conv2DShape {
        Conv2DShape(inputChannels: 1, outputChannels: 1, kernelHeight: kernel, kernelWidth: kernel,
                    strideHeight: stride, strideWidth: stride, dilationHeight: dilation, dilationWidth: dilation,
                    padTop: pad.0, padLeft: pad.1, padBottom: pad.2, padRight: pad.3)
    }
}

@Suite("Pool2DKernel against a naive reference")
struct KernelPoolTests {
    static let cases: [PoolCase] = [
        PoolCase(kernel: 2, stride: 2, pad: (0, 0, 0, 0), dilation: 1, height: 64, width: 64),
        PoolCase(kernel: 3, stride: 2, pad: (1, 1, 1, 1), dilation: 1, height: 32, width: 32),
        PoolCase(kernel: 3, stride: 1, pad: (1, 0, 2, 1), dilation: 1, height: 9, width: 7),
        PoolCase(kernel: 2, stride: 3, pad: (0, 1, 1, 0), dilation: 2, height: 11, width: 13),
        PoolCase(kernel: 5, stride: 2, pad: (2, 2, 2, 2), dilation: 1, height: 5, width: 4),
    ]

    @Test(arguments: cases)
    func maxAndAverageMatchReference(testCase: PoolCase) {
        var random = KernelTestRandom(seed: 3)
        let planes = 3
        let s = testCase.shape
        let (outputHeight, outputWidth) = s.outputSize(height: testCase.height, width: testCase.width)
        let input = random.floats(planes * testCase.height * testCase.width)
        for mode in 0..<3 {
            var output = [Float](repeating: .nan, count: planes * outputHeight * outputWidth)
            input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    if mode == 0 {
                        Pool2DKernel.maxPool(shape: s, input: source.baseAddress!, planes: planes,
                                             height: testCase.height, width: testCase.width,
                                             output: target.baseAddress!, outputHeight: outputHeight,
                                             outputWidth: outputWidth)
                    } else {
                        Pool2DKernel.averagePool(shape: s, countIncludePad: mode == 2, input: source.baseAddress!,
                                                 planes: planes, height: testCase.height, width: testCase.width,
                                                 output: target.baseAddress!, outputHeight: outputHeight,
                                                 outputWidth: outputWidth)
                    }
                }
            }
            let expected = referencePool(s, average: mode > 0, includePad: mode == 2, input: input, planes: planes,
                                         height: testCase.height, width: testCase.width,
                                         outputHeight: outputHeight, outputWidth: outputWidth)
            #expect(maxRelativeError(output, expected) < 1e-6, "mode \(mode)")
        }
    }

    @Test(arguments: [1, 15, 16, 17, 256, 1000])
    func globalAverageMatchesReference(size: Int) {
        var random = KernelTestRandom(seed: UInt64(size))
        let input = random.floats(4 * size)
        var output = [Float](repeating: .nan, count: 4)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                Pool2DKernel.globalAveragePool(input: source.baseAddress!, planes: 4, size: size,
                                               output: target.baseAddress!)
            }
        }
        let expected = (0..<4).map { plane in
            Float(input[(plane * size)..<((plane + 1) * size)].reduce(0.0) { $0 + Double($1) } / Double(size))
        }
        #expect(maxRelativeError(output, expected) < 1e-5)
    }
}

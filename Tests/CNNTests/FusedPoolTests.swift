import CNN
import Foundation
import Testing

private func poolShape(_ inputChannels: Int, _ outputChannels: Int, kernel: Int = 3, stride: Int = 1, pad: Int = 1,
                       groups: Int = 1) -> Conv2DShape {
    Conv2DShape(inputChannels: inputChannels, outputChannels: outputChannels, kernelHeight: kernel, kernelWidth: kernel,
                strideHeight: stride, strideWidth: stride, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad,
                groups: groups)
}

/// Fused 2x2 max-pool cases: register-pooled row tiles (pooled widths that are multiples of 8,
/// odd convolution sizes whose last row/column the pool drops, stride 2, groups), Winograd along
/// tiles (8 ... 64 input channels) and the convolve-then-pool fallback (other widths, Winograd
/// geometry, depthwise, partial panels).
private let pooledCases: [ConvolutionCase] = [
    ConvolutionCase(shape: poolShape(13, 32), height: 64, width: 64, batch: 2),
    ConvolutionCase(shape: poolShape(32, 64), height: 32, width: 32, batch: 3),
    ConvolutionCase(shape: poolShape(5, 16), height: 17, width: 33, batch: 2),
    ConvolutionCase(shape: poolShape(5, 16, pad: 0), height: 19, width: 35, batch: 1),
    ConvolutionCase(shape: poolShape(6, 8, stride: 2), height: 33, width: 65, batch: 2),
    ConvolutionCase(shape: poolShape(8, 16, groups: 2), height: 16, width: 16, batch: 3),
    ConvolutionCase(shape: poolShape(7, 12), height: 13, width: 11, batch: 3),
    ConvolutionCase(shape: poolShape(64, 32), height: 16, width: 16, batch: 2),
    ConvolutionCase(shape: poolShape(40, 32), height: 6, width: 64, batch: 2),
    ConvolutionCase(shape: poolShape(32, 32), height: 7, width: 32, batch: 2),
    ConvolutionCase(shape: poolShape(8, 8, groups: 8), height: 16, width: 18, batch: 2),
    ConvolutionCase(shape: poolShape(3, 5, kernel: 1, pad: 0), height: 3, width: 2, batch: 4),
]

/// `Conv2DKernel.runMaxPooled` is bit-identical to `run` followed by a separate 2x2/2 max pool.
@Suite("Fused max pool")
struct FusedPoolTests {
    /// The unfused graph's MaxPool arithmetic: vertical pairs first, `max(x, y) = y >= x ? y : x`.
    static func pool(_ values: [Float], planes: Int, height: Int, width: Int) -> [Float] {
        let (pooledHeight, pooledWidth) = (height / 2, width / 2)
        var pooled = [Float](repeating: 0, count: planes * pooledHeight * pooledWidth)
        for plane in 0..<planes {
            for row in 0..<pooledHeight {
                for column in 0..<pooledWidth {
                    let upper = plane * height * width + 2 * row * width + 2 * column, lower = upper + width
                    pooled[(plane * pooledHeight + row) * pooledWidth + column] =
                        max(max(values[upper], values[lower]), max(values[upper + 1], values[lower + 1]))
                }
            }
        }
        return pooled
    }

    @Test(arguments: pooledCases, [FusedActivation.relu, .identity, .leakyRelu(alpha: 0.1)])
    func pooledRunMatchesConvolutionThenPool(testCase: ConvolutionCase, activation: FusedActivation) {
        let s = testCase.shape
        var random = KernelTestRandom(seed: 17)
        let input = random.floats(testCase.batch * s.inputChannels * testCase.height * testCase.width)
        let weights = random.floats(s.outputChannels * s.inputChannelsPerGroup * s.kernelHeight * s.kernelWidth)
        let bias = random.floats(s.outputChannels)
        let kernel = Conv2DKernel(shape: s, weights: weights, bias: bias, activation: activation)
        let (outputHeight, outputWidth) = kernel.outputSize(height: testCase.height, width: testCase.width)
        let full = runKernel(kernel, input: input, batch: testCase.batch, height: testCase.height,
                             width: testCase.width, residual: nil)
        let expected = Self.pool(full, planes: testCase.batch * s.outputChannels, height: outputHeight, width: outputWidth)
        let (pooledHeight, pooledWidth) = kernel.pooledOutputSize(height: testCase.height, width: testCase.width)
        #expect(pooledHeight == outputHeight / 2 && pooledWidth == outputWidth / 2)
        var output = [Float](repeating: .nan, count: expected.count)
        var scratch = [Float](repeating: .nan,
                              count: max(1, kernel.pooledScratchCount(height: testCase.height, width: testCase.width)))
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                    guard let source = inputBuffer.baseAddress, let target = outputBuffer.baseAddress,
                          let work = scratchBuffer.baseAddress else { return }
                    kernel.runMaxPooled(input: source, batch: testCase.batch, height: testCase.height,
                                        width: testCase.width, output: target, scratch: work)
                }
            }
        }
        #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "\(testCase) \(activation)")
    }

    /// A Conv-Relu-MaxPool graph (fused by the optimizer) gives the bits of the same Conv-Relu
    /// graph followed by a MaxPool-only graph, for pool-divisible and odd sizes.
    @Test(arguments: [(64, 64), (17, 33), (16, 12), (5, 4)])
    func fusedGraphMatchesUnfusedGraph(size: (Int, Int)) throws {
        let (height, width) = size
        let (inputChannels, outputChannels) = (13, 16)
        let weights = ONNXTensor(name: "w", dimensions: [outputChannels, inputChannels, 3, 3],
                                 floats: CNNFixtures.randomFloats(outputChannels * inputChannels * 9, seed: 3))
        let bias = ONNXTensor(name: "b", dimensions: [outputChannels],
                              floats: CNNFixtures.randomFloats(outputChannels, seed: 4))
        let conv = ONNXNode(operatorType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], name: "conv",
                            attributes: [ONNXAttribute(name: "pads", value: .ints([1, 1, 1, 1])),
                                         ONNXAttribute(name: "kernel_shape", value: .ints([3, 3]))])
        let relu = ONNXNode(operatorType: "Relu", inputs: ["c"], outputs: ["r"], name: "relu")
        let pool = ONNXNode(operatorType: "MaxPool", inputs: ["r"], outputs: ["p"], name: "pool",
                            attributes: [ONNXAttribute(name: "kernel_shape", value: .ints([2, 2])),
                                         ONNXAttribute(name: "strides", value: .ints([2, 2]))])
        func model(_ nodes: [ONNXNode], input: String, channels: Int, output: String, initializers: [ONNXTensor]) -> ONNXModel {
            let graph = ONNXGraph(name: "test", nodes: nodes, initializers: initializers,
                                  inputs: [ONNXValueInfo(name: input, shape: [.parameter("N"), .value(Int64(channels)),
                                                                              .value(Int64(height)), .value(Int64(width))])],
                                  outputs: [ONNXValueInfo(name: output, shape: nil)])
            return ONNXModel(graph: graph, opsetImports: [ONNXOperatorSetID(domain: "", version: 17)])
        }
        let fused = try InferenceModel(model: model([conv, relu, pool], input: "x", channels: inputChannels, output: "p",
                                                    initializers: [weights, bias]))
        let convolution = try InferenceModel(model: model([conv, relu], input: "x", channels: inputChannels, output: "r",
                                                          initializers: [weights, bias]))
        let pooling = try InferenceModel(model: model([pool], input: "r", channels: outputChannels, output: "p",
                                                      initializers: []))
        #expect(fused.summary().optimizedStepCount == 1, "Conv, Relu and MaxPool fuse into one step")
        let batch = 3
        let input = try Tensor(shape: [batch, inputChannels, height, width],
                               scalars: CNNFixtures.randomFloats(batch * inputChannels * height * width, seed: 9))
        let direct = try fused.makeSession().run(input: input)
        let staged = try pooling.makeSession().run(input: convolution.makeSession().run(input: input))
        #expect(direct.shape == [batch, outputChannels, height / 2, width / 2])
        #expect(direct.shape == staged.shape)
        #expect(direct.scalars.map(\.bitPattern) == staged.scalars.map(\.bitPattern), "\(height)x\(width)")
    }

    /// MaxPools the kernels cannot fuse (3x3 windows, pads, ceil mode) stay separate steps.
    @Test func unfusablePoolsStaySeparate() throws {
        let weights = ONNXTensor(name: "w", dimensions: [8, 3, 3, 3], floats: CNNFixtures.randomFloats(216, seed: 1))
        let variants: [[ONNXAttribute]] = [[ONNXAttribute(name: "kernel_shape", value: .ints([3, 3])), ONNXAttribute(name: "strides", value: .ints([2, 2]))],
                           [ONNXAttribute(name: "kernel_shape", value: .ints([2, 2])), ONNXAttribute(name: "strides", value: .ints([2, 2])),
                            ONNXAttribute(name: "pads", value: .ints([1, 1, 1, 1]))],
                           [ONNXAttribute(name: "kernel_shape", value: .ints([2, 2])), ONNXAttribute(name: "strides", value: .ints([2, 2])),
                            ONNXAttribute(name: "ceil_mode", value: .int(1))],
                           [ONNXAttribute(name: "kernel_shape", value: .ints([2, 2])), ONNXAttribute(name: "strides", value: .ints([1, 1]))]]
        for attributes in variants {
            let conv = ONNXNode(operatorType: "Conv", inputs: ["x", "w"], outputs: ["c"], name: "conv",
                                attributes: [ONNXAttribute(name: "pads", value: .ints([1, 1, 1, 1]))])
            let relu = ONNXNode(operatorType: "Relu", inputs: ["c"], outputs: ["r"], name: "relu")
            let pool = ONNXNode(operatorType: "MaxPool", inputs: ["r"], outputs: ["p"], name: "pool", attributes: attributes)
            let graph = ONNXGraph(name: "test", nodes: [conv, relu, pool], initializers: [weights],
                                  inputs: [ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(3), .value(9), .value(9)])],
                                  outputs: [ONNXValueInfo(name: "p", shape: nil)])
            let model = try InferenceModel(model: ONNXModel(graph: graph, opsetImports: [ONNXOperatorSetID(domain: "", version: 17)]))
            #expect(model.summary().optimizedStepCount == 2, "\(attributes.map(\.name))")
            let input = try Tensor(shape: [2, 3, 9, 9], scalars: CNNFixtures.randomFloats(2 * 3 * 81, seed: 2))
            _ = try model.makeSession().run(input: input)
        }
    }
}

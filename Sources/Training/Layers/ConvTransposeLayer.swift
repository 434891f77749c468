import CNN

/// `ConvTranspose` (2-D, NCHW), per image and group: forward `Y = col2im(W^T * X) + B`,
/// backward `dX = W * im2col(dY)`, `dW += X * im2col(dY)^T`, `dB += sum(dY)`.
/// Weights are `[inputChannels, outputChannels / groups, kH, kW]`.
final class ConvTransposeLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let attributes: ConvolutionAttributes
    let weight: Parameter
    let bias: Parameter?
    private var weightValues: [Float] = []
    private var biasValues: [Float] = []

    init(node: NetworkNode, attributes: ConvolutionAttributes, initializers: [Parameter]) throws {
        self.node = node
        self.attributes = attributes
        guard let first = initializers.first else {
            throw NetworkError.invalidNode(node: node.name, operatorType: "ConvTranspose", detail: "needs a weight initializer")
        }
        weight = first
        bias = initializers.count > 1 ? initializers[1] : nil
        try validateConvolution(attributes, initializers: initializers, layer: self)
        guard weight.shape[0] % attributes.groups == 0 else {
            throw invalid("group \(attributes.groups) must divide the \(weight.shape[0]) input channels of \"\(weight.name)\"")
        }
        if let bias, bias.shape != [outputChannels] {
            throw invalid("bias \"\(bias.name)\" has shape \(bias.shape); expected [\(outputChannels)]")
        }
        for axis in 0..<2 where attributes.outputPadding[axis] >= max(attributes.strides[axis], attributes.dilations[axis]) {
            throw invalid("output_padding \(attributes.outputPadding) must be smaller than the stride or the dilation")
        }
    }

    var inputChannels: Int { weight.shape[0] }
    var outputChannels: Int { weight.shape[1] * attributes.groups }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first, x.count == 4 else { throw invalid("input must be NCHW (rank 4), got \(inputShapes.first ?? [])") }
        guard x[1] == inputChannels else {
            throw invalid("input has \(x[1]) channels but weight \"\(weight.name)\" \(weight.shape) expects \(inputChannels)")
        }
        let a = attributes
        var size = [0, 0]
        for axis in 0..<2 {
            size[axis] = (x[2 + axis] - 1) * a.strides[axis] - a.pads[axis] - a.pads[axis + 2]
                + a.dilations[axis] * (a.kernelShape[axis] - 1) + 1 + a.outputPadding[axis]
        }
        guard size[0] >= 1, size[1] >= 1 else { throw invalid("pads \(a.pads) leave an empty output for input \(x)") }
        return [x[0], outputChannels, size[0], size[1]]
    }

    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws {
        weightValues = weight.value
        biasValues = bias?.value ?? [Float](repeating: 0, count: outputChannels)
    }

    /// im2col geometry with the output as the image and the input as the grid.
    private func geometry(input x: [Int], output y: [Int]) -> Im2Col.Geometry {
        let a = attributes
        return Im2Col.Geometry(height: y[2], width: y[3], kernelHeight: a.kernelShape[0], kernelWidth: a.kernelShape[1],
                               strideHeight: a.strides[0], strideWidth: a.strides[1], padTop: a.pads[0], padLeft: a.pads[1],
                               dilationHeight: a.dilations[0], dilationWidth: a.dilations[1],
                               outputHeight: x[2], outputWidth: x[3])
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape y: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputShapes[0]
        let groups = attributes.groups
        let inputPerGroup = inputChannels / groups, outputPerGroup = outputChannels / groups
        let rows = outputPerGroup * attributes.kernelShape[0] * attributes.kernelShape[1]
        let inPixels = x[2] * x[3], outPixels = y[2] * y[3]
        let g = geometry(input: x, output: y)
        let columns = context.scratch.block(0, count: rows * inPixels)
        weightValues.withUnsafeBufferPointer { w in
            guard let wBase = w.baseAddress else { return }
            for n in 0..<x[0] {
                for m in 0..<outputChannels {
                    (output.pointer + (n * outputChannels + m) * outPixels).update(repeating: biasValues[m], count: outPixels)
                }
                for group in 0..<groups {
                    Matrix.multiply(transA: true, m: rows, n: inPixels, k: inputPerGroup,
                                    a: wBase + group * inputPerGroup * rows, lda: rows,
                                    b: inputs[0].pointer + (n * inputChannels + group * inputPerGroup) * inPixels, ldb: inPixels,
                                    beta: 0, c: columns, ldc: inPixels)
                    Im2Col.col2im(g, columns: columns, channels: outputPerGroup, samples: 1, sampleStride: 0,
                                  image: output.pointer + (n * outputChannels + group * outputPerGroup) * outPixels)
                }
            }
        }
    }

    func backward(_ b: BackwardBuffers) {
        let x = b.inputShapes[0], y = b.outputShape
        let groups = attributes.groups
        let inputPerGroup = inputChannels / groups, outputPerGroup = outputChannels / groups
        let rows = outputPerGroup * attributes.kernelShape[0] * attributes.kernelShape[1]
        let inPixels = x[2] * x[3], outPixels = y[2] * y[3]
        let dy = b.outputGradient.pointer
        if let dBias = b.parameterGradients.count > 1 ? b.parameterGradients[1] : nil {
            for n in 0..<x[0] {
                for m in 0..<outputChannels {
                    let plane = dy + (n * outputChannels + m) * outPixels
                    var sum: Float = 0
                    for p in 0..<outPixels { sum += plane[p] }
                    dBias.pointer[m] += sum
                }
            }
        }
        let dWeight = b.parameterGradients.first ?? nil
        let dInput = b.inputGradients[0]
        if dWeight == nil && dInput == nil { return }
        let g = geometry(input: x, output: y)
        let columns = b.scratch.block(0, count: rows * inPixels)
        weightValues.withUnsafeBufferPointer { w in
            guard let wBase = w.baseAddress else { return }
            for n in 0..<x[0] {
                for group in 0..<groups {
                    Im2Col.im2col(g, image: dy + (n * outputChannels + group * outputPerGroup) * outPixels,
                                  channels: outputPerGroup, samples: 1, sampleStride: 0, columns: columns)
                    let inputOffset = (n * inputChannels + group * inputPerGroup) * inPixels
                    if let dInput {
                        Matrix.multiply(m: inputPerGroup, n: inPixels, k: rows, a: wBase + group * inputPerGroup * rows, lda: rows,
                                        b: columns, ldb: inPixels, beta: 1, c: dInput.pointer + inputOffset, ldc: inPixels)
                    }
                    if let dWeight {
                        Matrix.multiply(transB: true, m: inputPerGroup, n: rows, k: inPixels,
                                        a: b.inputs[0].pointer + inputOffset, lda: inPixels, b: columns, ldb: inPixels,
                                        beta: 1, c: dWeight.pointer + group * inputPerGroup * rows, ldc: rows)
                    }
                }
            }
        }
    }
}

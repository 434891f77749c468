import CNN

/// Checks `ConvolutionAttributes` and the weight/bias initializers shared by Conv and ConvTranspose.
func validateConvolution(_ a: ConvolutionAttributes, initializers: [Parameter], layer: some Layer) throws {
    guard a.kernelShape.count == 2, a.strides.count == 2, a.dilations.count == 2, a.pads.count == 4,
          a.outputPadding.count == 2 else {
        throw layer.invalid("only 2-D convolutions are supported: kernel_shape, strides, dilations and output_padding need 2 entries, pads 4 (got kernel_shape \(a.kernelShape), strides \(a.strides), dilations \(a.dilations), pads \(a.pads))")
    }
    guard a.kernelShape.allSatisfy({ (1...4096).contains($0) }), a.strides.allSatisfy({ (1...4096).contains($0) }),
          a.dilations.allSatisfy({ (1...4096).contains($0) }), a.pads.allSatisfy({ (0...4096).contains($0) }),
          a.outputPadding.allSatisfy({ (0...4096).contains($0) }), (1...65536).contains(a.groups) else {
        throw layer.invalid("kernel_shape, strides, dilations (1...4096) and group (1...65536) must be positive and pads non-negative")
    }
    guard initializers.count == 1 || initializers.count == 2 else {
        throw layer.invalid("needs a weight initializer and an optional bias, got \(initializers.count) initializers")
    }
    let w = initializers[0].shape
    guard w.count == 4, w.allSatisfy({ $0 > 0 }), w[2] == a.kernelShape[0], w[3] == a.kernelShape[1] else {
        throw layer.invalid("weight \"\(initializers[0].name)\" has shape \(w); expected 4 positive dimensions ending in kernel_shape \(a.kernelShape)")
    }
}

/// `Conv` (2-D, NCHW): forward on the engine's ``Conv2DKernel``; backward over im2col columns of
/// chunks of images of one micro-batch: `dW = dY * columns^T` on ``InnerProductKernel`` (long
/// chunks) or the engine's GEMM, `dX` for stride 1 as a convolution on the engine's kernels,
/// else `col2im(W^T * dY)` on the engine's GEMM.
final class ConvolutionLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let attributes: ConvolutionAttributes
    let weight: Parameter
    let bias: Parameter?
    private var kernel: Conv2DKernel?
    /// The weights and bias `kernel` was built from (reused while the parameters are unchanged;
    /// comparing shares storage with the parameter arrays, so an unchanged array compares in O(1)).
    private var kernelWeights: [Float] = [], kernelBias: [Float]?
    /// Whether `kernel` was built without the channel-vectorised Winograd (training calls with
    /// few output pixels, see `prepare`).
    private var kernelIsDirect = false
    /// Stride-1 layers in training: `dX` as a convolution of `dY` with the flipped, transposed
    /// weights (on the engine's direct/Winograd kernels) instead of GEMM + col2im.
    private var inputGradientKernel: Conv2DKernel?
    private var weightValues: [Float] = []
    private var biasSnapshot: [Float]?

    /// Columns per chunk (floats) the backward pass aims for: a function of the geometry only.
    static let columnTarget = 1 << 21
    /// Pixels per chunk from which weight gradients run on ``InnerProductKernel`` (below, the
    /// reduction is too short to amortize its per-block lane sums, and the engine's GEMM runs them).
    static let innerProductWidth = 512

    init(node: NetworkNode, attributes: ConvolutionAttributes, initializers: [Parameter]) throws {
        self.node = node
        self.attributes = attributes
        guard let first = initializers.first else {
            throw NetworkError.invalidNode(node: node.name, operatorType: "Conv", detail: "needs a weight initializer")
        }
        weight = first
        bias = initializers.count > 1 ? initializers[1] : nil
        try validateConvolution(attributes, initializers: initializers, layer: self)
        let outputChannels = weight.shape[0]
        guard outputChannels % attributes.groups == 0 else {
            throw invalid("group \(attributes.groups) must divide the \(outputChannels) output channels of \"\(weight.name)\"")
        }
        if let bias, bias.shape != [outputChannels] {
            throw invalid("bias \"\(bias.name)\" has shape \(bias.shape); expected [\(outputChannels)]")
        }
    }

    var inputChannels: Int { weight.shape[1] * attributes.groups }
    var outputChannels: Int { weight.shape[0] }

    func geometry(height: Int, width: Int) -> Conv2DShape {
        let a = attributes
        return Conv2DShape(inputChannels: inputChannels, outputChannels: outputChannels,
                           kernelHeight: a.kernelShape[0], kernelWidth: a.kernelShape[1],
                           strideHeight: a.strides[0], strideWidth: a.strides[1],
                           dilationHeight: a.dilations[0], dilationWidth: a.dilations[1],
                           padTop: a.pads[0], padLeft: a.pads[1], padBottom: a.pads[2], padRight: a.pads[3],
                           groups: a.groups)
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first, x.count == 4 else { throw invalid("input must be NCHW (rank 4), got \(inputShapes.first ?? [])") }
        guard x[1] == inputChannels else {
            throw invalid("input has \(x[1]) channels but weight \"\(weight.name)\" \(weight.shape) with group \(attributes.groups) expects \(inputChannels)")
        }
        let size = geometry(height: x[2], width: x[3]).outputSize(height: x[2], width: x[3])
        guard size.height >= 1, size.width >= 1 else {
            throw invalid("input \(x[2])x\(x[3]) is smaller than the dilated kernel \(attributes.kernelShape) plus pads")
        }
        return [x[0], outputChannels, size.height, size.width]
    }

    /// Whether the engine builds its channel-vectorised Winograd F(2x2, 3x3) for this geometry
    /// (`Conv2DKernel.usesWinograd`: 3x3, stride 1, undilated, one group, at least 64 input and
    /// 32 output channels), whose per-step weight transform is what training avoids on small
    /// calls. The tile-vectorised variant for 8-64 input channels is cheaper to build.
    var isWinogradGeometry: Bool {
        let a = attributes
        return a.kernelShape == [3, 3] && a.strides == [1, 1] && a.dilations == [1, 1] && a.groups == 1
            && inputChannels >= 64 && outputChannels >= 32
    }

    /// Builds the forward kernel (and in training the input-gradient kernel) from the current
    /// weights. Building a Winograd kernel transforms every (output, input) channel pair, about
    /// 250 ns each (67 ms for a 512x512 layer), which in training is paid every step: when the
    /// call has fewer than ``winogradPixelThreshold`` output pixels, training builds the engine's
    /// direct kernels for such layers instead (`allowsWinograd: false`). Inference always uses
    /// the engine's default kernel, so a sample's prediction never depends on the batch.
    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws {
        weightValues = weight.value
        biasSnapshot = bias?.value
        let pixels = batch * outputShape.dropFirst(2).reduce(1, *)
        let direct = training && isWinogradGeometry && pixels < Self.winogradPixelThreshold
        if kernel == nil || kernelIsDirect != direct || kernelWeights != weight.value || kernelBias != bias?.value {
            // The kernel's geometry does not depend on the image size (only its channel fields matter).
            kernel = Conv2DKernel(shape: geometry(height: 1, width: 1), weights: weight.value, bias: bias?.value, activation: .identity,
                                  allowsWinograd: !direct)
            kernelIsDirect = direct
            kernelWeights = weight.value
            kernelBias = bias?.value
        }
        inputGradientKernel = training ? makeInputGradientKernel(pixels: pixels) : nil
    }

    /// Output pixels per call (micro-batch x height x width) below which a Winograd layer trains
    /// on the engine's direct kernels instead of paying the weight transform every step (until
    /// 2026-12 on im2col + GEMM, which is what these figures compared against). Measured with
    /// `LandcoverBench train resnet` (micro-batches of 16 at 64x64, 1 worker, median of 8 steps,
    /// three alternating rounds) after the weight transform got cheaper: 256 or 1024 -> 110
    /// patches/s, 2048 -> 104 (ResNet's layer2, 1,024 pixels, back on GEMM), 8192 -> 99; 2
    /// workers 205 against 199 for 1024 against 2048. Layer3 (256 pixels) is at parity either way
    /// and stays on GEMM, as does layer4.
    static let winogradPixelThreshold = 1024

    /// For stride 1 and pads at most `dilation * (k - 1)`:
    /// `dX[c] = sum_o conv(dY[o], flip(W[o, c]))` with pads `dilation * (k - 1) - pad`, i.e. a
    /// convolution from the output channels to the input channels, same groups and dilation.
    private func makeInputGradientKernel(pixels: Int) -> Conv2DKernel? {
        let a = attributes
        guard a.strides == [1, 1] else { return nil }
        let reach = [a.dilations[0] * (a.kernelShape[0] - 1), a.dilations[1] * (a.kernelShape[1] - 1)]
        let pads = [reach[0] - a.pads[0], reach[1] - a.pads[1], reach[0] - a.pads[2], reach[1] - a.pads[3]]
        guard pads.allSatisfy({ $0 >= 0 }) else { return nil }
        // A kernel the engine would run as Winograd pays its weight transform every step: on
        // small calls its direct kernels are cheaper (see `winogradPixelThreshold`).
        let winograd = a.kernelShape == [3, 3] && a.dilations == [1, 1] && a.groups == 1
            && outputChannels >= 64 && inputChannels >= 32
        let groups = a.groups
        let outputPerGroup = outputChannels / groups, inputPerGroup = inputChannels / groups
        let kh = a.kernelShape[0], kw = a.kernelShape[1]
        // W'[g * inputPerGroup + c, o, i, j] = W[g * outputPerGroup + o, c, kh - 1 - i, kw - 1 - j].
        let taps = kh * kw
        // Every element is written below.
        let flipped = [Float](unsafeUninitializedCapacity: weightValues.count) { target, initialized in
            initialized = weightValues.count
            weightValues.withUnsafeBufferPointer { source in
                guard let t = target.baseAddress, let w = source.baseAddress else { return }
                for g in 0..<groups {
                    for o in 0..<outputPerGroup {
                        for c in 0..<inputPerGroup {
                            // The kh x kw taps reversed (i, j) -> (kh - 1 - i, kw - 1 - j) is a reversal of the taps.
                            let from = w + ((g * outputPerGroup + o) * inputPerGroup + c) * taps
                            let to = t + ((g * inputPerGroup + c) * outputPerGroup + o) * taps
                            for k in 0..<taps { to[k] = from[taps - 1 - k] }
                        }
                    }
                }
            }
        }
        let shape = Conv2DShape(inputChannels: outputChannels, outputChannels: inputChannels, kernelHeight: kh, kernelWidth: kw,
                                dilationHeight: a.dilations[0], dilationWidth: a.dilations[1],
                                padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3], groups: groups)
        return Conv2DKernel(shape: shape, weights: flipped, bias: nil, activation: .identity,
                            allowsWinograd: !winograd || pixels >= Self.winogradPixelThreshold)
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        guard let kernel else { return }
        let x = inputShapes[0]
        let scratch = context.scratch.block(0, count: kernel.scratchCount(height: x[2], width: x[3]))
        kernel.run(input: inputs[0].pointer, batch: x[0], height: x[2], width: x[3], output: output.pointer,
                   residual: nil, scratch: scratch)
    }

    func im2colGeometry(x: [Int], y: [Int]) -> Im2Col.Geometry {
        let a = attributes
        return Im2Col.Geometry(height: x[2], width: x[3], kernelHeight: a.kernelShape[0], kernelWidth: a.kernelShape[1],
                               strideHeight: a.strides[0], strideWidth: a.strides[1], padTop: a.pads[0], padLeft: a.pads[1],
                               dilationHeight: a.dilations[0], dilationWidth: a.dilations[1],
                               outputHeight: y[2], outputWidth: y[3])
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        let x = b.inputShapes[0], y = b.outputShape
        let batch = x[0], groups = attributes.groups
        let pixels = y[2] * y[3]
        let outputPerGroup = outputChannels / groups, inputPerGroup = inputChannels / groups
        let reduction = inputPerGroup * attributes.kernelShape[0] * attributes.kernelShape[1]
        let dy = b.outputGradient.pointer
        if let dBias = b.parameterGradients.count > 1 ? b.parameterGradients[1] : nil {
            for n in 0..<batch {
                for o in 0..<outputChannels {
                    dBias.pointer[o] += Float(laneSum(dy + (n * outputChannels + o) * pixels, count: pixels))
                }
            }
        }
        let dWeight = b.parameterGradients.first ?? nil
        var dInput = b.inputGradients[0]
        if let target = dInput, let inputGradientKernel {
            // dX += conv(dY, W'): the kernel adds its result to the residual (dX itself), or
            // writes it when the buffer is fresh.
            let scratch = b.scratch.block(0, count: inputGradientKernel.scratchCount(height: y[2], width: y[3]))
            inputGradientKernel.run(input: dy, batch: batch, height: y[2], width: y[3], output: target.pointer,
                                    residual: b.freshInputGradients[0] ? nil : UnsafePointer(target.pointer), scratch: scratch)
            dInput = nil
        } else if let target = dInput, b.freshInputGradients[0] {
            target.zero()
        }
        if dWeight == nil && dInput == nil { return }
        let g = im2colGeometry(x: x, y: y)
        // Images with at least a block of pixels go one at a time (dY's rows are then used in
        // place); smaller ones in chunks of about `columnTarget` column floats.
        let chunk = pixels >= InnerProductKernel.depthBlock ? 1 : max(1, min(batch, Self.columnTarget / max(1, reduction * pixels)))
        let columns = b.scratch.block(1, count: reduction * chunk * pixels)
        let gradientMatrix = b.scratch.block(2, count: chunk > 1 ? outputPerGroup * chunk * pixels : 0)
        let inputStride = inputChannels * x[2] * x[3]
        weightValues.withUnsafeBufferPointer { w in
            guard let wBase = w.baseAddress else { return }
            var start = 0
            while start < batch {
                let count = min(chunk, batch - start)
                let width = count * pixels
                for group in 0..<groups {
                    // dY of this group as [outputPerGroup][count * pixels]: in place for one image.
                    let dyGroup: UnsafePointer<Float>
                    if count == 1 {
                        dyGroup = UnsafePointer(dy + (start * outputChannels + group * outputPerGroup) * pixels)
                    } else {
                        for o in 0..<outputPerGroup {
                            for s in 0..<count {
                                (gradientMatrix + o * width + s * pixels).update(
                                    from: dy + ((start + s) * outputChannels + group * outputPerGroup + o) * pixels, count: pixels)
                            }
                        }
                        dyGroup = UnsafePointer(gradientMatrix)
                    }
                    let groupImage = start * inputStride + group * inputPerGroup * x[2] * x[3]
                    if let dWeight {
                        let target = dWeight.pointer + group * outputPerGroup * reduction
                        Im2Col.im2col(g, image: b.inputs[0].pointer + groupImage, channels: inputPerGroup, samples: count,
                                      sampleStride: inputStride, columns: columns)
                        if width >= Self.innerProductWidth {
                            // dW += dY * columnsT with both operands pixel-major: no packing.
                            InnerProductKernel.multiplyAccumulate(rows: outputPerGroup, columns: reduction, depth: width,
                                                                  a: dyGroup, lda: width, b: columns, ldb: width,
                                                                  c: target, ldc: reduction)
                        } else {
                            Matrix.multiply(transB: true, m: outputPerGroup, n: reduction, k: width, a: dyGroup, lda: width,
                                            b: columns, ldb: width, beta: 1, c: target, ldc: reduction, engine: true)
                        }
                    }
                    if let dInput {
                        Matrix.multiply(transA: true, m: reduction, n: width, k: outputPerGroup,
                                        a: wBase + group * outputPerGroup * reduction, lda: reduction,
                                        b: dyGroup, ldb: width, beta: 0, c: columns, ldc: width)
                        Im2Col.col2im(g, columns: columns, channels: inputPerGroup, samples: count, sampleStride: inputStride,
                                      image: dInput.pointer + groupImage)
                    }
                }
                start += count
            }
        }
    }
}

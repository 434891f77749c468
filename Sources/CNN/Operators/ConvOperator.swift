/// Conv (1-D and 2-D, NCHW / NCL) on the kernels' ``Conv2DKernel``, optionally with a fused
/// activation and a fused residual Add, or with a fused activation and a following 2x2, stride-2
/// MaxPool (the `landcover.FusedConv` node the optimizer creates; attribute `max_pool = 1`).
///
/// Weights are OIHW `[outputChannels, inputChannels / group, kH, kW]` initializers; 1-D
/// convolutions run as 2-D ones with height 1. Explicit pads are `[top, left, bottom, right]`
/// (ONNX `[x1_begin, x2_begin, x1_end, x2_end]`); `auto_pad` SAME_UPPER/SAME_LOWER pads are
/// computed per input size, so such kernels are built at plan time.
struct ConvOperator: GraphOperator {
    let attributes: NodeAttributes
    /// OIHW weights, kept only when the kernel is built at plan time (SAME_* auto padding).
    let weights: [Float]
    let bias: [Float]?
    let weightShape: [Int]
    let spatialRank: Int
    let group: Int
    let strides: [Int]
    let dilations: [Int]
    let pads: [Int]
    let autoPad: String
    let activation: FusedActivation
    /// Index of the fused residual input (3 in FusedConv), if any.
    let hasResidual: Bool
    /// Whether a 2x2, stride-2, unpadded floor-mode MaxPool follows (2-D only, no residual).
    let maxPool: Bool
    /// Prebuilt kernel for explicit padding; nil with SAME_* auto padding.
    let prebuilt: Conv2DKernel?

    init(attributes: NodeAttributes, constants: [String: PlanValue], activation: FusedActivation, hasResidual: Bool,
         maxPool: Bool = false) throws {
        self.attributes = attributes
        let node = attributes.node
        let w = try attributes.convolutionWeights(constants)
        let weightValues = w.values
        weightShape = w.shape
        spatialRank = w.shape.count - 2
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let b = constants[node.inputs[2]], let biasValues = b.constantFloats else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "the bias input must be an initializer")
            }
            guard biasValues.count == w.shape[0] else {
                throw attributes.shapeError("bias has \(biasValues.count) values for \(w.shape[0]) output channels")
            }
            bias = biasValues
        } else {
            bias = nil
        }
        group = try attributes.int("group", default: 1)
        guard group >= 1, w.shape[0] % group == 0 else {
            throw attributes.invalid("group \(group) must divide the \(w.shape[0]) output channels")
        }
        if let kernelShape = try attributes.ints("kernel_shape"), kernelShape != Array(w.shape.dropFirst(2)) {
            throw attributes.shapeError("kernel_shape \(kernelShape) disagrees with weights \(w.shape)")
        }
        strides = try attributes.ints("strides") ?? [Int](repeating: 1, count: spatialRank)
        dilations = try attributes.ints("dilations") ?? [Int](repeating: 1, count: spatialRank)
        pads = try attributes.ints("pads") ?? [Int](repeating: 0, count: 2 * spatialRank)
        autoPad = try attributes.string("auto_pad", default: "NOTSET")
        guard strides.count == spatialRank, dilations.count == spatialRank, pads.count == 2 * spatialRank,
              strides.allSatisfy({ (1...65536).contains($0) }), dilations.allSatisfy({ (1...65536).contains($0) }),
              pads.allSatisfy({ (0...65536).contains($0) }) else {
            throw attributes.invalid("strides \(strides), dilations \(dilations) and pads \(pads) must have \(spatialRank), \(spatialRank) and \(2 * spatialRank) positive entries")
        }
        guard ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw attributes.invalid("auto_pad \(autoPad) is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
        self.activation = activation
        self.hasResidual = hasResidual
        self.maxPool = maxPool
        if maxPool && (hasResidual || spatialRank != 2) {
            throw attributes.invalid("a fused max pool needs a 2-D convolution without residual")
        }
        if autoPad == "NOTSET" || autoPad == "VALID" {
            let explicit = autoPad == "VALID" ? [Int](repeating: 0, count: 2 * spatialRank) : pads
            prebuilt = Conv2DKernel(shape: Self.kernelShape(weightShape, group, strides, dilations, explicit, spatialRank),
                                    weights: weightValues, bias: bias, activation: activation)
        } else {
            prebuilt = nil
        }
        weights = prebuilt == nil ? weightValues : []
    }

    /// With explicit padding the kernel holds the weights and bias in packed form.
    var constantInputsConsumedAtLoad: [Int] { prebuilt == nil ? [] : [1, 2] }

    static func kernelShape(_ w: [Int], _ group: Int, _ strides: [Int], _ dilations: [Int], _ pads: [Int], _ rank: Int) -> Conv2DShape {
        if rank == 1 {
            return Conv2DShape(inputChannels: w[1] * group, outputChannels: w[0], kernelHeight: 1, kernelWidth: w[2],
                               strideHeight: 1, strideWidth: strides[0], dilationHeight: 1, dilationWidth: dilations[0],
                               padTop: 0, padLeft: pads[0], padBottom: 0, padRight: pads[1], groups: group)
        }
        return Conv2DShape(inputChannels: w[1] * group, outputChannels: w[0], kernelHeight: w[2], kernelWidth: w[3],
                           strideHeight: strides[0], strideWidth: strides[1], dilationHeight: dilations[0],
                           dilationWidth: dilations[1], padTop: pads[0], padLeft: pads[1], padBottom: pads[2],
                           padRight: pads[3], groups: group)
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input X") }
        guard x.shape.count == spatialRank + 2 else {
            throw attributes.shapeError("input \(x.shape) has rank \(x.shape.count) but the \(spatialRank)-D weights \(weightShape) need rank \(spatialRank + 2)")
        }
        let batch = x.shape[0], channels = x.shape[1]
        guard channels == weightShape[1] * group else {
            throw attributes.shapeError("input has \(channels) channels but weights \(weightShape) with group \(group) expect \(weightShape[1] * group)")
        }
        let spatial = Array(x.shape.dropFirst(2))
        let height = spatialRank == 1 ? 1 : spatial[0]
        let width = spatial[spatialRank - 1]
        var kernel = prebuilt
        if kernel == nil {
            // SAME_UPPER / SAME_LOWER: output = ceil(input / stride); extra pad at end (UPPER) or start (LOWER).
            var computed = [Int](repeating: 0, count: 2 * spatialRank)
            for axis in 0..<spatialRank {
                let size = spatial[axis]
                let out = (size + strides[axis] - 1) / strides[axis]
                let effective = (weightShape[2 + axis] - 1) * dilations[axis] + 1
                let total = max(0, (out - 1) * strides[axis] + effective - size)
                let small = total / 2, large = total - small
                computed[axis] = autoPad == "SAME_UPPER" ? small : large
                computed[axis + spatialRank] = autoPad == "SAME_UPPER" ? large : small
            }
            kernel = Conv2DKernel(shape: Self.kernelShape(weightShape, group, strides, dilations, computed, spatialRank),
                                  weights: weights, bias: bias, activation: activation)
        }
        guard let conv = kernel else { throw attributes.invalid("no kernel") }
        let shape = conv.shape
        let effectiveH = (shape.kernelHeight - 1) * shape.dilationHeight + 1
        let effectiveW = (shape.kernelWidth - 1) * shape.dilationWidth + 1
        guard height + shape.padTop + shape.padBottom >= effectiveH, width + shape.padLeft + shape.padRight >= effectiveW else {
            throw attributes.shapeError("input \(x.shape) is smaller than the dilated kernel \(weightShape) after padding")
        }
        let (outHeight, outWidth) = conv.outputSize(height: height, width: width)
        let outputShape = spatialRank == 1 ? [batch, weightShape[0], outWidth] : [batch, weightShape[0], outHeight, outWidth]
        let flops = 2 * batch * weightShape[0] * outHeight * outWidth * weightShape[1] * shape.kernelHeight * shape.kernelWidth
        var scratch = conv.scratchCount(height: height, width: width)

        if maxPool {
            let (pooledHeight, pooledWidth) = conv.pooledOutputSize(height: height, width: width)
            guard pooledHeight >= 1, pooledWidth >= 1 else {
                throw attributes.shapeError("the convolution output [\(outHeight), \(outWidth)] is smaller than the fused 2x2 max pool")
            }
            let pooledShape = [batch, weightShape[0], pooledHeight, pooledWidth]
            let run: OperatorKernel = { inputs, outputs, scratch in
                conv.runMaxPooled(input: inputs[0], batch: batch, height: height, width: width, output: outputs[0],
                                  scratch: scratch)
            }
            return OperatorPlan(outputs: [.runtime(pooledShape)], kernel: run,
                                scratchCount: conv.pooledScratchCount(height: height, width: width),
                                flops: flops + batch * weightShape[0] * pooledHeight * pooledWidth * 4)
        }
        if hasResidual {
            guard inputs.count > 3, let residual = inputs[3] else { throw attributes.invalid("missing residual input") }
            if residual.shape != outputShape {
                // Broadcasting residual: run the plain convolution, then add and activate.
                let plain = conv.withActivation(.identity)
                scratch = plain.scratchCount(height: height, width: width)
                let loops = BroadcastLoops(a: outputShape, b: residual.shape, output: outputShape)
                guard ShapeMath.broadcast(outputShape, residual.shape) == outputShape else {
                    throw attributes.shapeError("residual \(residual.shape) cannot be added to the convolution output \(outputShape)")
                }
                let activation = self.activation
                let count = outputShape.reduce(1, *)
                let run: OperatorKernel = { inputs, outputs, scratch in
                    plain.run(input: inputs[0], batch: batch, height: height, width: width, output: outputs[0],
                              residual: nil, scratch: scratch)
                    loops.run(UnsafePointer(outputs[0]), inputs[3], outputs[0]) { $0 + $1 }
                    ConvOperator.applyActivation(activation, outputs[0], count)
                }
                return OperatorPlan(outputs: [.runtime(outputShape)], kernel: run, scratchCount: scratch, flops: flops)
            }
            let run: OperatorKernel = { inputs, outputs, scratch in
                conv.run(input: inputs[0], batch: batch, height: height, width: width, output: outputs[0],
                         residual: inputs[3], scratch: scratch)
            }
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: run, scratchCount: scratch, flops: flops)
        }
        let run: OperatorKernel = { inputs, outputs, scratch in
            conv.run(input: inputs[0], batch: batch, height: height, width: width, output: outputs[0],
                     residual: nil, scratch: scratch)
        }
        return OperatorPlan(outputs: [.runtime(outputShape)], kernel: run, scratchCount: scratch, flops: flops)
    }

    static func applyActivation(_ activation: FusedActivation, _ values: UnsafeMutablePointer<Float>, _ count: Int) {
        guard let function = activation.unaryFunction else { return }
        UnaryOperator.apply(function, values, values, count)
    }
}

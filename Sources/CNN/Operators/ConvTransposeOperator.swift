/// ConvTranspose (2-D, and 1-D as height 1) via ``Gemm/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// and a col2im scatter.
///
/// Input `[N, C, H, W]`, weights `[C, M / group, kH, kW]`, bias `[M]`, output
/// `[N, M, (H-1)*stride - padBegin - padEnd + (kH-1)*dilation + 1 + outputPadding, ...]`.
struct ConvTransposeOperator: GraphOperator {
    let attributes: NodeAttributes
    let weights: [Float]
    let bias: [Float]?
    let weightShape: [Int]
    let spatialRank: Int
    let group: Int
    let strides: [Int]
    let dilations: [Int]
    let pads: [Int]?
    let outputPadding: [Int]
    let outputShapeAttribute: [Int]?
    let autoPad: String

    init(attributes: NodeAttributes, constants: [String: PlanValue]) throws {
        self.attributes = attributes
        let node = attributes.node
        let w = try attributes.convolutionWeights(constants)
        weights = w.values
        weightShape = w.shape
        spatialRank = w.shape.count - 2
        group = try attributes.int("group", default: 1)
        guard group >= 1, w.shape[0] % group == 0 else { throw attributes.invalid("group \(group) must divide \(w.shape[0]) input channels") }
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let b = constants[node.inputs[2]]?.constantFloats, b.count == w.shape[1] * group else {
                throw attributes.invalid("bias must be an initializer with \(w.shape[1] * group) values")
            }
            bias = b
        } else { bias = nil }
        strides = try attributes.ints("strides") ?? [Int](repeating: 1, count: spatialRank)
        dilations = try attributes.ints("dilations") ?? [Int](repeating: 1, count: spatialRank)
        pads = try attributes.ints("pads")
        outputPadding = try attributes.ints("output_padding") ?? [Int](repeating: 0, count: spatialRank)
        outputShapeAttribute = try attributes.ints("output_shape")
        autoPad = try attributes.string("auto_pad", default: "NOTSET")
        let bounded = { (values: [Int]) in values.allSatisfy { (0...65536).contains($0) } }
        guard strides.count == spatialRank, dilations.count == spatialRank, outputPadding.count == spatialRank,
              pads.map({ $0.count == 2 * spatialRank && bounded($0) }) ?? true, bounded(outputPadding),
              strides.allSatisfy({ (1...65536).contains($0) }), dilations.allSatisfy({ (1...65536).contains($0) }),
              bounded(outputShapeAttribute ?? []) else {
            throw attributes.invalid("strides, dilations, output_padding need \(spatialRank) entries and pads \(2 * spatialRank)")
        }
        // output_shape lists the spatial dims (some exporters prepend N and C); fewer entries
        // once made the planner index before the array (fuzz finding).
        if let outputShapeAttribute, outputShapeAttribute.count != spatialRank, outputShapeAttribute.count != spatialRank + 2 {
            throw attributes.invalid("output_shape \(outputShapeAttribute) needs \(spatialRank) entries (or \(spatialRank + 2) with N and C)")
        }
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil, x.shape.count == spatialRank + 2 else {
            throw attributes.shapeError("input must have rank \(spatialRank + 2)")
        }
        guard x.shape[1] == weightShape[0] else {
            throw attributes.shapeError("input has \(x.shape[1]) channels but weights \(weightShape) expect \(weightShape[0])")
        }
        let batch = x.shape[0], channels = x.shape[1]
        let inSize = spatialRank == 1 ? [1, x.shape[2]] : [x.shape[2], x.shape[3]]
        let kernel = spatialRank == 1 ? [1, weightShape[2]] : [weightShape[2], weightShape[3]]
        let stride = spatialRank == 1 ? [1, strides[0]] : strides
        let dilation = spatialRank == 1 ? [1, dilations[0]] : dilations
        let outPad = spatialRank == 1 ? [0, outputPadding[0]] : outputPadding
        var padBegin = [0, 0], padEnd = [0, 0]
        var outSize = [0, 0]
        for axis in 0..<2 {
            let effective = (kernel[axis] - 1) * dilation[axis] + 1
            let natural = (inSize[axis] - 1) * stride[axis] + outPad[axis] + effective
            let onnxAxis = spatialRank == 1 ? axis - 1 : axis
            if let requested = outputShapeAttribute, onnxAxis >= 0 || spatialRank == 2 {
                let target = requested[requested.count - spatialRank + max(onnxAxis, 0)]
                let total = natural - target
                // onnxruntime convention: SAME_UPPER crops the odd extra at the end, otherwise at
                // the beginning; a target larger than the natural size grows the end (bias only).
                if total < 0 { padBegin[axis] = 0; padEnd[axis] = total }
                else if autoPad == "SAME_UPPER" { padBegin[axis] = total / 2; padEnd[axis] = total - total / 2 }
                else { padEnd[axis] = total / 2; padBegin[axis] = total - total / 2 }
            } else if let pads, onnxAxis >= 0 {
                padBegin[axis] = pads[onnxAxis]; padEnd[axis] = pads[onnxAxis + spatialRank]
            } else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
                let total = natural - inSize[axis] * stride[axis]
                if autoPad == "SAME_UPPER" { padBegin[axis] = total / 2; padEnd[axis] = total - total / 2 }
                else { padEnd[axis] = total / 2; padBegin[axis] = total - total / 2 }
            }
            outSize[axis] = natural - padBegin[axis] - padEnd[axis]
            guard outSize[axis] > 0 else { throw attributes.shapeError("output size \(outSize[axis]) is not positive") }
        }
        let outChannels = weightShape[1] * group
        let outputShape = spatialRank == 1 ? [batch, outChannels, outSize[1]] : [batch, outChannels, outSize[0], outSize[1]]
        let channelsPerGroup = channels / group
        let outPerGroup = weightShape[1]
        let columnsRows = outPerGroup * kernel[0] * kernel[1]
        let inPixels = inSize[0] * inSize[1]
        let outPixels = outSize[0] * outSize[1]
        let weights = self.weights
        let bias = self.bias
        let kernelStep: OperatorKernel = { [padBegin, outSize] inputs, outputs, scratch in
            weights.withUnsafeBufferPointer { w in
                guard let wBase = w.baseAddress else { return }
                for n in 0..<batch {
                    let out = outputs[0] + n * outChannels * outPixels
                    for m in 0..<outChannels {
                        let value = bias?[m] ?? 0
                        for p in 0..<outPixels { out[m * outPixels + p] = value }
                    }
                    for g in 0..<group {
                        let xg = inputs[0] + (n * channels + g * channelsPerGroup) * inPixels
                        Gemm.sgemm(transA: true, transB: false, m: columnsRows, n: inPixels, k: channelsPerGroup, alpha: 1,
                                   a: wBase + g * channelsPerGroup * columnsRows, lda: columnsRows, b: xg, ldb: inPixels,
                                   beta: 0, c: scratch, ldc: inPixels)
                        for mo in 0..<outPerGroup {
                            let outChannel = out + (g * outPerGroup + mo) * outPixels
                            for ki in 0..<kernel[0] {
                                for kj in 0..<kernel[1] {
                                    let column = scratch + ((mo * kernel[0] + ki) * kernel[1] + kj) * inPixels
                                    for ih in 0..<inSize[0] {
                                        let oh = ih * stride[0] - padBegin[0] + ki * dilation[0]
                                        if oh < 0 || oh >= outSize[0] { continue }
                                        for iw in 0..<inSize[1] {
                                            let ow = iw * stride[1] - padBegin[1] + kj * dilation[1]
                                            if ow < 0 || ow >= outSize[1] { continue }
                                            outChannel[oh * outSize[1] + ow] += column[ih * inSize[1] + iw]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let flops = 2 * batch * channels * inPixels * outPerGroup * kernel[0] * kernel[1]
        return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernelStep, scratchCount: columnsRows * inPixels, flops: flops)
    }
}

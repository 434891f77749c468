/// MaxPool, AveragePool (1-D and 2-D, NCHW) and GlobalAveragePool / GlobalMaxPool (any rank).
///
/// Pads are `[top, left, bottom, right]`; padded cells never win a max and count toward an
/// average only with `count_include_pad=1`. `ceil_mode` rounds the output size up (a window
/// that would start entirely in the end padding is dropped, as onnxruntime does).
struct PoolOperator: GraphOperator {
    enum Kind: Sendable { case max, average, globalMax, globalAverage }
    let kind: Kind
    let attributes: NodeAttributes
    let kernelShape: [Int]
    let strides: [Int]
    let dilations: [Int]
    let pads: [Int]
    let autoPad: String
    let ceilMode: Bool
    let countIncludePad: Bool

    init(kind: Kind, attributes: NodeAttributes) throws {
        self.kind = kind
        self.attributes = attributes
        if kind == .globalMax || kind == .globalAverage {
            kernelShape = []; strides = []; dilations = []; pads = []; autoPad = "NOTSET"; ceilMode = false; countIncludePad = false
            return
        }
        guard let kernel = try attributes.ints("kernel_shape"), !kernel.isEmpty, kernel.count <= 2, kernel.allSatisfy({ $0 >= 1 }) else {
            throw attributes.invalid("kernel_shape must list 1 or 2 positive sizes")
        }
        kernelShape = kernel
        let rank = kernel.count
        strides = try attributes.ints("strides") ?? [Int](repeating: 1, count: rank)
        dilations = try attributes.ints("dilations") ?? [Int](repeating: 1, count: rank)
        pads = try attributes.ints("pads") ?? [Int](repeating: 0, count: 2 * rank)
        autoPad = try attributes.string("auto_pad", default: "NOTSET")
        ceilMode = try attributes.int("ceil_mode", default: 0) != 0
        countIncludePad = try attributes.int("count_include_pad", default: 0) != 0
        guard strides.count == rank, dilations.count == rank, pads.count == 2 * rank,
              strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
            throw attributes.invalid("strides/dilations need \(rank) positive entries and pads \(2 * rank)")
        }
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil, x.shape.count >= 3 else { throw attributes.shapeError("input must be [N, C, ...] with a spatial dimension") }
        let planes = x.shape[0] * x.shape[1]
        if kind == .globalMax || kind == .globalAverage {
            let size = x.shape.dropFirst(2).reduce(1, *)
            let outputShape = Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.shape.count - 2)
            let isMax = kind == .globalMax
            let kernel: OperatorKernel = { inputs, outputs, _ in
                for plane in 0..<planes {
                    let p = inputs[0] + plane * size
                    if isMax {
                        var best = -Float.infinity
                        for i in 0..<size { best = Swift.max(best, p[i]) }
                        outputs[0][plane] = best
                    } else {
                        var sum: Float = 0
                        for i in 0..<size { sum += p[i] }
                        outputs[0][plane] = sum / Float(size)
                    }
                }
            }
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, flops: x.count)
        }
        let rank = kernelShape.count
        guard x.shape.count == rank + 2 else { throw attributes.shapeError("input \(x.shape) does not match the \(rank)-D kernel_shape \(kernelShape)") }
        // Normalize to 2-D: height 1 for 1-D pools.
        let inH = rank == 1 ? 1 : x.shape[2], inW = x.shape[x.shape.count - 1]
        let kH = rank == 1 ? 1 : kernelShape[0], kW = kernelShape[rank - 1]
        let sH = rank == 1 ? 1 : strides[0], sW = strides[rank - 1]
        let dH = rank == 1 ? 1 : dilations[0], dW = dilations[rank - 1]
        var padTop = rank == 1 ? 0 : pads[0], padLeft = pads[rank - 1]
        var padBottom = rank == 1 ? 0 : pads[rank], padRight = pads[2 * rank - 1]
        let effH = (kH - 1) * dH + 1, effW = (kW - 1) * dW + 1
        func outputSize(_ size: Int, _ eff: Int, _ stride: Int, _ begin: Int, _ end: Int) -> Int {
            let span = size + begin + end - eff
            if span < 0 { return 0 }
            var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
            // A window must start inside the input or the begin padding.
            if ceilMode, (out - 1) * stride >= size + begin { out -= 1 }
            return out
        }
        var outH: Int, outW: Int
        switch autoPad {
        case "SAME_UPPER", "SAME_LOWER":
            outH = (inH + sH - 1) / sH; outW = (inW + sW - 1) / sW
            let totalH = max(0, (outH - 1) * sH + effH - inH), totalW = max(0, (outW - 1) * sW + effW - inW)
            let upper = autoPad == "SAME_UPPER"
            padTop = upper ? totalH / 2 : totalH - totalH / 2; padBottom = totalH - padTop
            padLeft = upper ? totalW / 2 : totalW - totalW / 2; padRight = totalW - padLeft
        case "VALID":
            padTop = 0; padLeft = 0; padBottom = 0; padRight = 0
            outH = outputSize(inH, effH, sH, 0, 0); outW = outputSize(inW, effW, sW, 0, 0)
        default:
            outH = outputSize(inH, effH, sH, padTop, padBottom); outW = outputSize(inW, effW, sW, padLeft, padRight)
        }
        guard outH > 0, outW > 0 else { throw attributes.shapeError("input \(x.shape) is smaller than the pooling window \(kernelShape)") }
        let outputShape = rank == 1 ? [x.shape[0], x.shape[1], outW] : [x.shape[0], x.shape[1], outH, outW]
        let isMax = kind == .max
        let includePad = countIncludePad
        let (top, left, bottom, right) = (padTop, padLeft, padBottom, padRight)
        let kernel: OperatorKernel = { [outH, outW] inputs, outputs, _ in
            for plane in 0..<planes {
                let p = inputs[0] + plane * inH * inW
                let o = outputs[0] + plane * outH * outW
                for oh in 0..<outH {
                    let h0 = oh * sH - top
                    for ow in 0..<outW {
                        let w0 = ow * sW - left
                        var best = -Float.infinity
                        var sum: Float = 0
                        var valid = 0
                        for ki in 0..<kH {
                            let h = h0 + ki * dH
                            if h < 0 || h >= inH { continue }
                            for kj in 0..<kW {
                                let w = w0 + kj * dW
                                if w < 0 || w >= inW { continue }
                                let v = p[h * inW + w]
                                if v > best || v.isNaN { best = v }
                                sum += v
                                valid += 1
                            }
                        }
                        if isMax {
                            o[oh * outW + ow] = best
                        } else {
                            var divisor = valid
                            if includePad {
                                // Window clipped to the padded extent (input plus explicit pads).
                                let hStart = max(h0, -top), hEnd = min(h0 + effH, inH + bottom)
                                let wStart = max(w0, -left), wEnd = min(w0 + effW, inW + right)
                                divisor = ((hEnd - hStart + dH - 1) / dH) * ((wEnd - wStart + dW - 1) / dW)
                            }
                            o[oh * outW + ow] = divisor > 0 ? sum / Float(divisor) : 0
                        }
                    }
                }
            }
        }
        return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, flops: planes * outH * outW * kH * kW)
    }
}

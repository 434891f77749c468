/// MaxPool, AveragePool (N-D over `[N, C, spatial...]`) and GlobalAveragePool / GlobalMaxPool
/// (any rank). 1-D and 2-D pools run the row kernels below; 3-D and higher pools, and MaxPool
/// with its `Indices` output, run one general loop over the window's taps.
///
/// Pads are `[begin..., end...]` per spatial axis (`[top, left, bottom, right]` in 2-D); padded
/// cells never win a max and count toward an average only with `count_include_pad=1`.
/// `ceil_mode` rounds the output size up (a window that would start entirely in the end padding
/// is dropped, as onnxruntime does). `Indices` are positions in the flattened input (N, C and
/// spatial axes, row-major; `storage_order=1` counts the spatial axes column-major), as Int64.
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
    /// MaxPool's second output (`Indices`) is requested.
    let wantsIndices: Bool
    let storageOrder: Int

    init(kind: Kind, attributes: NodeAttributes) throws {
        self.kind = kind
        self.attributes = attributes
        wantsIndices = kind == .max && attributes.node.outputs.count > 1 && !attributes.node.outputs[1].isEmpty
        storageOrder = try attributes.int("storage_order", default: 0)
        if kind == .globalMax || kind == .globalAverage {
            kernelShape = []; strides = []; dilations = []; pads = []; autoPad = "NOTSET"; ceilMode = false; countIncludePad = false
            return
        }
        guard let kernel = try attributes.ints("kernel_shape"), !kernel.isEmpty, kernel.count <= 8, kernel.allSatisfy({ $0 >= 1 }) else {
            throw attributes.invalid("kernel_shape must list 1 to 8 positive sizes")
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
              strides.allSatisfy({ (1...65536).contains($0) }), dilations.allSatisfy({ (1...65536).contains($0) }),
              pads.allSatisfy({ (0...65536).contains($0) }), kernel.allSatisfy({ $0 <= 65536 }) else {
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
                        // The kernels' 16-lane summation (deterministic, order fixed per plane).
                        Pool2DKernel.globalAveragePool(input: p, planes: 1, size: size, output: outputs[0] + plane)
                    }
                }
            }
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, flops: x.count)
        }
        let rank = kernelShape.count
        guard x.shape.count == rank + 2 else { throw attributes.shapeError("input \(x.shape) does not match the \(rank)-D kernel_shape \(kernelShape)") }
        if rank > 2 || wantsIndices { return try generalPlan(x) }
        // Normalize to 2-D: height 1 for 1-D pools.
        let inH = rank == 1 ? 1 : x.shape[2], inW = x.shape[x.shape.count - 1]
        let kH = rank == 1 ? 1 : kernelShape[0], kW = kernelShape[rank - 1]
        let sH = rank == 1 ? 1 : strides[0], sW = strides[rank - 1]
        let dH = rank == 1 ? 1 : dilations[0], dW = dilations[rank - 1]
        let rows = rank == 1 ? (begin: 0, end: 0, output: 1)
            : axisWindow(size: inH, kernel: kH, stride: sH, dilation: dH, begin: pads[0], end: pads[rank])
        let columns = axisWindow(size: inW, kernel: kW, stride: sW, dilation: dW, begin: pads[rank - 1], end: pads[2 * rank - 1])
        let (top, bottom, outH) = rows, (left, right, outW) = columns
        guard outH > 0, outW > 0 else { throw attributes.shapeError("input \(x.shape) is smaller than the pooling window \(kernelShape)") }
        let outputShape = rank == 1 ? [x.shape[0], x.shape[1], outW] : [x.shape[0], x.shape[1], outH, outW]
        let isMax = kind == .max
        // Separable window geometry: valid kernel taps per output row / column and the
        // divisor factors (count_include_pad clips to the padded extent instead of the input).
        func taps(_ out: Int, _ stride: Int, _ pad: Int, _ dilation: Int, _ kernel: Int, _ size: Int) -> [Int] {
            (0..<kernel).filter { k in let i = out * stride - pad + k * dilation; return i >= 0 && i < size }
        }
        let rowTaps = (0..<outH).map { taps($0, sH, top, dH, kH, inH) }
        let colTaps = (0..<outW).map { taps($0, sW, left, dW, kW, inW) }
        func paddedCount(_ out: Int, _ stride: Int, _ pad: Int, _ padEnd: Int, _ dilation: Int, _ kernel: Int, _ size: Int) -> Int {
            (0..<kernel).filter { k in let i = out * stride - pad + k * dilation; return i >= -pad && i < size + padEnd }.count
        }
        let rowDivisor = (0..<outH).map { countIncludePad ? paddedCount($0, sH, top, bottom, dH, kH, inH) : rowTaps[$0].count }
        let colDivisor = (0..<outW).map { countIncludePad ? paddedCount($0, sW, left, right, dW, kW, inW) : colTaps[$0].count }
        // Output columns whose every tap is inside the input: no bounds checks needed there.
        let interior = (0..<outW).filter { colTaps[$0].count == kW }
        let interiorStart = interior.first ?? 0
        let interiorEnd = interior.isEmpty ? 0 : (interior.last ?? 0) + 1
        if isMax, kH == 2, kW == 2, sH == 2, sW == 2, dH == 1, dW == 1, top == 0, left == 0,
           outH * 2 <= inH, outW * 2 <= inW {
            // The common 2x2/2 max pool with every window inside the input: a contiguous
            // vertical max of two rows, then the horizontal max of neighbouring pairs.
            let pairs: OperatorKernel = { [outH, outW] inputs, outputs, scratch in
                let span = 2 * outW
                for plane in 0..<planes {
                    let p = inputs[0] + plane * inH * inW
                    let o = outputs[0] + plane * outH * outW
                    for oh in 0..<outH {
                        let upper = p + 2 * oh * inW, lower = upper + inW
                        for i in 0..<span { scratch[i] = max(upper[i], lower[i]) }
                        let out = o + oh * outW
                        for j in 0..<outW { out[j] = max(scratch[2 * j], scratch[2 * j + 1]) }
                    }
                }
            }
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: pairs, scratchCount: 2 * outW,
                                flops: planes * outH * outW * 4)
        }
        let kernel: OperatorKernel = { [outH, outW] inputs, outputs, scratch in
            let row = scratch
            for plane in 0..<planes {
                let p = inputs[0] + plane * inH * inW
                let o = outputs[0] + plane * outH * outW
                for oh in 0..<outH {
                    for ow in 0..<outW { row[ow] = isMax ? -Float.infinity : 0 }
                    for ki in rowTaps[oh] {
                        let line = p + (oh * sH - top + ki * dH) * inW
                        for ow in 0..<interiorStart {
                            for kj in colTaps[ow] {
                                let v = line[ow * sW - left + kj * dW]
                                row[ow] = isMax ? (v > row[ow] ? v : row[ow]) : row[ow] + v
                            }
                        }
                        if isMax {
                            for kj in 0..<kW {
                                let base = line - left + kj * dW
                                for ow in interiorStart..<max(interiorStart, interiorEnd) {
                                    let v = base[ow * sW]
                                    row[ow] = v > row[ow] ? v : row[ow]
                                }
                            }
                        } else {
                            for kj in 0..<kW {
                                let base = line - left + kj * dW
                                for ow in interiorStart..<max(interiorStart, interiorEnd) { row[ow] += base[ow * sW] }
                            }
                        }
                        for ow in max(interiorStart, interiorEnd)..<outW where ow >= interiorEnd {
                            for kj in colTaps[ow] {
                                let v = line[ow * sW - left + kj * dW]
                                row[ow] = isMax ? (v > row[ow] ? v : row[ow]) : row[ow] + v
                            }
                        }
                    }
                    let out = o + oh * outW
                    if isMax {
                        for ow in 0..<outW { out[ow] = row[ow] }
                    } else {
                        for ow in 0..<outW {
                            let divisor = rowDivisor[oh] * colDivisor[ow]
                            out[ow] = divisor > 0 ? row[ow] / Float(divisor) : 0
                        }
                    }
                }
            }
        }
        return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, scratchCount: outW, flops: planes * outH * outW * kH * kW)
    }
}

extension PoolOperator {
    /// The padding and output size of one spatial axis: `auto_pad` SAME_UPPER/SAME_LOWER pad
    /// to `ceil(size / stride)` outputs (the odd cell at the end or the start), VALID pads
    /// nothing, otherwise the node's `pads`.
    func axisWindow(size: Int, kernel: Int, stride: Int, dilation: Int, begin: Int, end: Int) -> (begin: Int, end: Int, output: Int) {
        let eff = (kernel - 1) * dilation + 1
        switch autoPad {
        case "SAME_UPPER", "SAME_LOWER":
            let output = (size + stride - 1) / stride
            let total = max(0, (output - 1) * stride + eff - size)
            let first = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
            return (first, total - first, output)
        case "VALID":
            return (0, 0, outputLength(size, eff, stride, 0, 0))
        default:
            return (begin, end, outputLength(size, eff, stride, begin, end))
        }
    }

    /// Output size of one axis (see the type's description for `ceil_mode`).
    func outputLength(_ size: Int, _ eff: Int, _ stride: Int, _ begin: Int, _ end: Int) -> Int {
        let span = size + begin + end - eff
        if span < 0 { return 0 }
        var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        // A window must start inside the input or the begin padding.
        if ceilMode, (out - 1) * stride >= size + begin { out -= 1 }
        return out
    }

    /// Any number of spatial axes, and MaxPool's `Indices`: for each output cell, every tap of
    /// the window inside the input (the first maximum wins, in row-major tap order).
    func generalPlan(_ x: PlanValue) throws -> OperatorPlan {
        let rank = kernelShape.count
        let spatial = Array(x.shape.dropFirst(2))
        let windows = (0..<rank).map { axis in
            axisWindow(size: spatial[axis], kernel: kernelShape[axis], stride: strides[axis], dilation: dilations[axis],
                       begin: pads[axis], end: pads[rank + axis])
        }
        let begins = windows.map(\.begin), ends = windows.map(\.end), outputSpatial = windows.map(\.output)
        guard outputSpatial.allSatisfy({ $0 > 0 }) else { throw attributes.shapeError("input \(x.shape) is smaller than the pooling window \(kernelShape)") }
        let outputShape = Array(x.shape.prefix(2)) + outputSpatial
        guard let outputCount = ShapeMath.checkedCount(outputShape) else { throw attributes.shapeError("output shape \(outputShape) is too large") }
        // Per axis and output index: the input indices of the taps inside the input, and the
        // divisor's factor (taps inside the padded extent with count_include_pad).
        var taps: [[[Int]]] = [], factors: [[Int]] = []
        for axis in 0..<rank {
            var axisTaps: [[Int]] = [], axisFactors: [Int] = []
            for o in 0..<outputSpatial[axis] {
                let positions = (0..<kernelShape[axis]).map { o * strides[axis] - begins[axis] + $0 * dilations[axis] }
                let inside = positions.filter { $0 >= 0 && $0 < spatial[axis] }
                axisTaps.append(inside)
                axisFactors.append(countIncludePad ? positions.filter { $0 >= -begins[axis] && $0 < spatial[axis] + ends[axis] }.count : inside.count)
            }
            taps.append(axisTaps)
            factors.append(axisFactors)
        }
        let planes = x.shape[0] * x.shape[1], planeSize = spatial.reduce(1, *), outputPlane = outputSpatial.reduce(1, *)
        // Row-major strides of the input's spatial axes, and the strides Indices count with.
        var inputStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { inputStrides[axis] = inputStrides[axis + 1] * spatial[axis + 1] }
        var indexStrides = inputStrides
        if storageOrder == 1 {
            indexStrides = [Int](repeating: 1, count: rank)
            for axis in 1..<max(1, rank) { indexStrides[axis] = indexStrides[axis - 1] * spatial[axis - 1] }
        }
        let isMax = kind == .max, withIndices = wantsIndices
        let (outputSizes, windowTaps, windowFactors) = (outputSpatial, taps, factors)
        let (readStrides, countStrides) = (inputStrides, indexStrides)
        let kernel: OperatorKernel = { inputs, outputs, _ in
            let outputSpatial = outputSizes, taps = windowTaps, factors = windowFactors
            let inputStrides = readStrides, indexStrides = countStrides
            var outIndex = [Int](repeating: 0, count: rank)
            var tapIndex = [Int](repeating: 0, count: rank)
            for plane in 0..<planes {
                let source = inputs[0] + plane * planeSize
                for o in 0..<outputPlane {
                    // The output cell's coordinates.
                    var rest = o
                    for axis in stride(from: rank - 1, through: 0, by: -1) {
                        outIndex[axis] = rest % outputSpatial[axis]
                        rest /= outputSpatial[axis]
                    }
                    var best = -Float.infinity, bestIndex = -1, sum: Float = 0, divisor = 1
                    var empty = false
                    for axis in 0..<rank {
                        tapIndex[axis] = 0
                        if taps[axis][outIndex[axis]].isEmpty { empty = true }
                        divisor *= factors[axis][outIndex[axis]]
                    }
                    while !empty {
                        var offset = 0, position = 0
                        for axis in 0..<rank {
                            let i = taps[axis][outIndex[axis]][tapIndex[axis]]
                            offset += i * inputStrides[axis]
                            position += i * indexStrides[axis]
                        }
                        let v = source[offset]
                        if isMax {
                            if v > best || bestIndex < 0 { best = v; bestIndex = position }
                        } else {
                            sum += v
                        }
                        // Next tap, last axis fastest.
                        var axis = rank - 1
                        while axis >= 0 {
                            tapIndex[axis] += 1
                            if tapIndex[axis] < taps[axis][outIndex[axis]].count { break }
                            tapIndex[axis] = 0
                            axis -= 1
                        }
                        if axis < 0 { break }
                    }
                    let target = plane * outputPlane + o
                    if isMax {
                        outputs[0][target] = best
                        if withIndices, outputs.count > 1 { outputs[1][target] = Float(plane * planeSize + max(0, bestIndex)) }
                    } else {
                        outputs[0][target] = divisor > 0 ? sum / Float(divisor) : 0
                    }
                }
            }
        }
        let window = kernelShape.reduce(1, *)
        var outputs: [PlanValue] = [.runtime(outputShape)]
        if wantsIndices { outputs.append(.runtime(outputShape, .int64)) }
        return OperatorPlan(outputs: outputs, kernel: kernel, flops: outputCount * window)
    }
}


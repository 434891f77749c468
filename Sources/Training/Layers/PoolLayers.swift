import CNN

/// `MaxPool` and `AveragePool` (2-D, NCHW): forward on the engine's ``Pool2DKernel``.
/// MaxPool's backward sends each output gradient to the first window tap (row-major) that equals
/// the output, the tap the forward kernel selected; AveragePool's spreads it over the window
/// with the forward pass's divisor.
final class PoolLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let attributes: PoolAttributes
    let isMax: Bool

    init(node: NetworkNode, attributes a: PoolAttributes, isMax: Bool) throws {
        self.node = node
        self.attributes = a
        self.isMax = isMax
        guard a.kernelShape.count == 2, a.strides.count == 2, a.dilations.count == 2, a.pads.count == 4 else {
            throw invalid("only 2-D pooling is supported: kernel_shape, strides and dilations need 2 entries and pads 4")
        }
        guard a.kernelShape.allSatisfy({ (1...4096).contains($0) }), a.strides.allSatisfy({ (1...4096).contains($0) }),
              a.dilations.allSatisfy({ (1...4096).contains($0) }), a.pads.allSatisfy({ (0...4096).contains($0) }) else {
            throw invalid("kernel_shape, strides and dilations must be positive and pads non-negative")
        }
        guard a.pads[0] < a.kernelShape[0] * a.dilations[0], a.pads[2] < a.kernelShape[0] * a.dilations[0],
              a.pads[1] < a.kernelShape[1] * a.dilations[1], a.pads[3] < a.kernelShape[1] * a.dilations[1] else {
            throw invalid("pads \(a.pads) must be smaller than the window \(a.kernelShape)")
        }
    }

    var shape: Conv2DShape {
        let a = attributes
        return Conv2DShape(inputChannels: 1, outputChannels: 1, kernelHeight: a.kernelShape[0], kernelWidth: a.kernelShape[1],
                           strideHeight: a.strides[0], strideWidth: a.strides[1],
                           dilationHeight: a.dilations[0], dilationWidth: a.dilations[1],
                           padTop: a.pads[0], padLeft: a.pads[1], padBottom: a.pads[2], padRight: a.pads[3])
    }

    private func outputSize(_ size: Int, axis: Int) -> Int {
        let a = attributes
        let effective = (a.kernelShape[axis] - 1) * a.dilations[axis] + 1
        let span = size + a.pads[axis] + a.pads[axis + 2] - effective
        if span < 0 { return 0 }
        let stride = a.strides[axis]
        var count = (a.ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        if a.ceilMode, (count - 1) * stride >= size + a.pads[axis] { count -= 1 }
        return count
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first, x.count == 4 else { throw invalid("input must be NCHW (rank 4), got \(inputShapes.first ?? [])") }
        let h = outputSize(x[2], axis: 0), w = outputSize(x[3], axis: 1)
        guard h >= 1, w >= 1 else { throw invalid("input \(x[2])x\(x[3]) is smaller than the window \(attributes.kernelShape)") }
        return [x[0], x[1], h, w]
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape y: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputShapes[0]
        if isMax {
            Pool2DKernel.maxPool(shape: shape, input: inputs[0].pointer, planes: x[0] * x[1], height: x[2], width: x[3],
                                 output: output.pointer, outputHeight: y[2], outputWidth: y[3])
        } else {
            Pool2DKernel.averagePool(shape: shape, countIncludePad: attributes.countIncludePad, input: inputs[0].pointer,
                                     planes: x[0] * x[1], height: x[2], width: x[3],
                                     output: output.pointer, outputHeight: y[2], outputWidth: y[3])
        }
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        guard let dx = b.inputGradients[0]?.pointer else { return }
        let x = b.inputShapes[0], y = b.outputShape
        let a = attributes
        let fresh = b.freshInputGradients[0]
        let height = x[2], width = x[3]
        let kh = a.kernelShape[0], kw = a.kernelShape[1]
        let effectiveHeight = (kh - 1) * a.dilations[0] + 1, effectiveWidth = (kw - 1) * a.dilations[1] + 1
        if isMax, kh == 2, kw == 2, a.strides == [2, 2], a.dilations == [1, 1], a.pads == [0, 0, 0, 0],
           y[2] * 2 == height, y[3] * 2 == width {
            backwardMax2x2(b, dx: dx, fresh: fresh)
            return
        }
        if fresh { dx.update(repeating: 0, count: x.reduce(1, *)) }
        for plane in 0..<(x[0] * x[1]) {
            let input = b.inputs[0].pointer + plane * height * width
            let target = dx + plane * height * width
            let out = b.output.pointer + plane * y[2] * y[3]
            let dy = b.outputGradient.pointer + plane * y[2] * y[3]
            for oy in 0..<y[2] {
                let top = oy * a.strides[0] - a.pads[0]
                for ox in 0..<y[3] {
                    let left = ox * a.strides[1] - a.pads[1]
                    let g = dy[oy * y[3] + ox]
                    if isMax {
                        let best = out[oy * y[3] + ox]
                        search: for i in 0..<kh {
                            let row = top + i * a.dilations[0]
                            if row < 0 || row >= height { continue }
                            for j in 0..<kw {
                                let column = left + j * a.dilations[1]
                                if column < 0 || column >= width { continue }
                                if input[row * width + column] == best {
                                    target[row * width + column] += g
                                    break search
                                }
                            }
                        }
                    } else {
                        var divisor = 0
                        if a.countIncludePad {
                            let rowStart = max(top, -a.pads[0]), rowEnd = min(top + effectiveHeight, height + a.pads[2])
                            let columnStart = max(left, -a.pads[1]), columnEnd = min(left + effectiveWidth, width + a.pads[3])
                            divisor = ((rowEnd - rowStart + a.dilations[0] - 1) / a.dilations[0])
                                * ((columnEnd - columnStart + a.dilations[1] - 1) / a.dilations[1])
                        } else {
                            var rows = 0, columns = 0
                            for i in 0..<kh where top + i * a.dilations[0] >= 0 && top + i * a.dilations[0] < height { rows += 1 }
                            for j in 0..<kw where left + j * a.dilations[1] >= 0 && left + j * a.dilations[1] < width { columns += 1 }
                            divisor = rows * columns
                        }
                        if divisor <= 0 { continue }
                        let share = g / Float(divisor)
                        for i in 0..<kh {
                            let row = top + i * a.dilations[0]
                            if row < 0 || row >= height { continue }
                            for j in 0..<kw {
                                let column = left + j * a.dilations[1]
                                if column < 0 || column >= width { continue }
                                target[row * width + column] += share
                            }
                        }
                    }
                }
            }
        }
    }
}

extension PoolLayer {
    /// MaxPool 2x2/2 without padding: the same first-maximum rule, taps in row-major order.
    /// Every input element is covered by exactly one window (even sizes), so a fresh gradient
    /// buffer is written directly.
    func backwardMax2x2(_ b: BackwardBuffers, dx: UnsafeMutablePointer<Float>, fresh: Bool) {
        let x = b.inputShapes[0], y = b.outputShape
        let height = x[2], width = x[3], outH = y[2], outW = y[3]
        for plane in 0..<(x[0] * x[1]) {
            let input = b.inputs[0].pointer + plane * height * width
            let target = dx + plane * height * width
            let out = b.output.pointer + plane * outH * outW
            let dy = b.outputGradient.pointer + plane * outH * outW
            for oy in 0..<outH {
                let top = input + 2 * oy * width, bottom = top + width
                let topTarget = target + 2 * oy * width, bottomTarget = topTarget + width
                let bestRow = out + oy * outW, gradientRow = dy + oy * outW
                for ox in 0..<outW {
                    // Branch-free (the winning tap is unpredictable): every tap gets g or 0.
                    let best = bestRow[ox], g = gradientRow[ox]
                    let column = 2 &* ox
                    let a = top[column] == best
                    let b = !a && top[column &+ 1] == best
                    let c = !a && !b && bottom[column] == best
                    let d = !a && !b && !c && bottom[column &+ 1] == best
                    if fresh {
                        topTarget[column] = a ? g : 0
                        topTarget[column &+ 1] = b ? g : 0
                        bottomTarget[column] = c ? g : 0
                        bottomTarget[column &+ 1] = d ? g : 0
                    } else {
                        topTarget[column] += a ? g : 0
                        topTarget[column &+ 1] += b ? g : 0
                        bottomTarget[column] += c ? g : 0
                        bottomTarget[column &+ 1] += d ? g : 0
                    }
                }
            }
        }
    }
}

/// `GlobalAveragePool`: `[N, C, H, W]` to `[N, C, 1, 1]` on ``Pool2DKernel``.
final class GlobalAveragePoolLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    init(node: NetworkNode) { self.node = node }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first, x.count >= 3, x.dropFirst(2).allSatisfy({ $0 > 0 }) else {
            throw invalid("input must be [N, C, spatial...] with a non-empty spatial extent, got \(inputShapes.first ?? [])")
        }
        return [x[0], x[1]] + [Int](repeating: 1, count: x.count - 2)
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputShapes[0]
        Pool2DKernel.globalAveragePool(input: inputs[0].pointer, planes: x[0] * x[1], size: x.dropFirst(2).reduce(1, *),
                                       output: output.pointer)
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        guard let dx = b.inputGradients[0]?.pointer else { return }
        let x = b.inputShapes[0]
        let size = x.dropFirst(2).reduce(1, *)
        for plane in 0..<(x[0] * x[1]) {
            let share = b.outputGradient.pointer[plane] / Float(size)
            let target = dx + plane * size
            if b.freshInputGradients[0] {
                target.update(repeating: share, count: size)
            } else {
                for i in 0..<size { target[i] += share }
            }
        }
    }
}

import CNN

/// `Resize` of the last two axes of `[N, C, H, W]` by constant scales (nearest or bilinear),
/// with the coordinate and rounding rules of the ONNX operator (and of the engine's inference
/// implementation). The backward pass scatters each output gradient onto the input pixels the
/// forward pass read, with the same weights.
final class ResizeLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let attributes: ResizeAttributes

    init(node: NetworkNode, attributes a: ResizeAttributes) throws {
        self.node = node
        self.attributes = a
        guard ResizeAttributes.supportedCoordinateTransformations.contains(a.coordinateTransformation) else {
            throw invalid("coordinate_transformation_mode \(a.coordinateTransformation) is not supported; use one of \(ResizeAttributes.supportedCoordinateTransformations.joined(separator: ", "))")
        }
        guard a.mode == .linear || ResizeAttributes.supportedNearestModes.contains(a.nearestMode) else {
            throw invalid("nearest_mode \(a.nearestMode) is not supported; use one of \(ResizeAttributes.supportedNearestModes.joined(separator: ", "))")
        }
        guard a.scaleHeight > 0, a.scaleWidth > 0, a.scaleHeight <= 64, a.scaleWidth <= 64 else {
            throw invalid("scales \(a.scaleHeight), \(a.scaleWidth) must be in (0, 64]")
        }
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first, x.count == 4 else { throw invalid("input must be NCHW (rank 4), got \(inputShapes.first ?? [])") }
        let h = Int((Float(x[2]) * attributes.scaleHeight).rounded(.down))
        let w = Int((Float(x[3]) * attributes.scaleWidth).rounded(.down))
        guard h >= 1, w >= 1 else { throw invalid("scales give an empty output for input \(x)") }
        return [x[0], x[1], h, w]
    }

    /// Input coordinate of output coordinate `o` along an axis.
    private func original(_ o: Int, scale: Float, inSize: Int, outSize: Int) -> Float {
        let x = Float(o)
        switch attributes.coordinateTransformation {
        case "half_pixel": return (x + 0.5) / scale - 0.5
        case "pytorch_half_pixel": return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0
        case "align_corners": return outSize == 1 ? 0 : x * Float(inSize - 1) / Float(outSize - 1)
        default: return x / scale
        }
    }

    /// Nearest input index per output index.
    private func nearestTable(inSize: Int, outSize: Int, scale: Float) -> [Int] {
        (0..<outSize).map { o in
            let value = min(max(original(o, scale: scale, inSize: inSize, outSize: outSize), -2), Float(inSize + 1))
            var index: Int
            switch attributes.nearestMode {
            case "floor": index = Int(value.rounded(.down))
            case "ceil": index = Int(value.rounded(.up))
            case "round_prefer_ceil":
                index = Int(value.rounded(.toNearestOrAwayFromZero))
                if value < 0 && value == value.rounded(.down) + 0.5 { index = Int(value.rounded(.up)) }
            default:
                index = value == value.rounded(.down) + 0.5 ? Int(value.rounded(.down)) : Int(value.rounded(.toNearestOrAwayFromZero))
            }
            return min(max(index, 0), inSize - 1)
        }
    }

    /// Lower index, upper index and weight of the upper one per output index.
    private func linearTable(inSize: Int, outSize: Int, scale: Float) -> [(Int, Int, Float)] {
        (0..<outSize).map { o in
            let value = min(max(original(o, scale: scale, inSize: inSize, outSize: outSize), 0), Float(inSize - 1))
            let low = min(Int(value), inSize - 1)
            return (low, min(low + 1, inSize - 1), value - Float(low))
        }
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape y: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputShapes[0]
        let inH = x[2], inW = x[3], outH = y[2], outW = y[3]
        let planes = x[0] * x[1]
        if attributes.mode == .nearest {
            let rows = nearestTable(inSize: inH, outSize: outH, scale: attributes.scaleHeight)
            let columns = nearestTable(inSize: inW, outSize: outW, scale: attributes.scaleWidth)
            for plane in 0..<planes {
                let src = inputs[0].pointer + plane * inH * inW, dst = output.pointer + plane * outH * outW
                for oh in 0..<outH {
                    let line = src + rows[oh] * inW
                    for ow in 0..<outW { dst[oh * outW + ow] = line[columns[ow]] }
                }
            }
        } else {
            let rows = linearTable(inSize: inH, outSize: outH, scale: attributes.scaleHeight)
            let columns = linearTable(inSize: inW, outSize: outW, scale: attributes.scaleWidth)
            for plane in 0..<planes {
                let src = inputs[0].pointer + plane * inH * inW, dst = output.pointer + plane * outH * outW
                for oh in 0..<outH {
                    let (h0, h1, dy) = rows[oh]
                    for ow in 0..<outW {
                        let (w0, w1, dx) = columns[ow]
                        let top = src[h0 * inW + w0] * (1 - dx) + src[h0 * inW + w1] * dx
                        let bottom = src[h1 * inW + w0] * (1 - dx) + src[h1 * inW + w1] * dx
                        dst[oh * outW + ow] = top * (1 - dy) + bottom * dy
                    }
                }
            }
        }
    }

    func backward(_ b: BackwardBuffers) {
        guard let dInput = b.inputGradients[0] else { return }
        let x = b.inputShapes[0], y = b.outputShape
        let inH = x[2], inW = x[3], outH = y[2], outW = y[3]
        if attributes.mode == .nearest {
            let rows = nearestTable(inSize: inH, outSize: outH, scale: attributes.scaleHeight)
            let columns = nearestTable(inSize: inW, outSize: outW, scale: attributes.scaleWidth)
            for plane in 0..<(x[0] * x[1]) {
                let dx = dInput.pointer + plane * inH * inW, dy = b.outputGradient.pointer + plane * outH * outW
                for oh in 0..<outH {
                    let line = dx + rows[oh] * inW
                    for ow in 0..<outW { line[columns[ow]] += dy[oh * outW + ow] }
                }
            }
        } else {
            let rows = linearTable(inSize: inH, outSize: outH, scale: attributes.scaleHeight)
            let columns = linearTable(inSize: inW, outSize: outW, scale: attributes.scaleWidth)
            for plane in 0..<(x[0] * x[1]) {
                let dx = dInput.pointer + plane * inH * inW, dy = b.outputGradient.pointer + plane * outH * outW
                for oh in 0..<outH {
                    let (h0, h1, wy) = rows[oh]
                    for ow in 0..<outW {
                        let (w0, w1, wx) = columns[ow]
                        let g = dy[oh * outW + ow]
                        dx[h0 * inW + w0] += g * (1 - wy) * (1 - wx)
                        dx[h0 * inW + w1] += g * (1 - wy) * wx
                        dx[h1 * inW + w0] += g * wy * (1 - wx)
                        dx[h1 * inW + w1] += g * wy * wx
                    }
                }
            }
        }
    }
}

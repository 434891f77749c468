import CNN

/// `Resize` of the last two axes of `[N, C, H, W]` by constant scales (nearest or bilinear).
/// The forward pass is the engine's ``ResizeKernel`` (the coordinate and rounding rules of the
/// ONNX operator, as in inference); the backward pass scatters each output gradient onto the
/// input pixels the forward pass read, with the same tables and weights.
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

    /// Nearest input index per output index along one axis.
    private func nearestTable(inSize: Int, outSize: Int, scale: Float) -> [Int] {
        ResizeKernel.nearestIndices(coordinateTransformation: attributes.coordinateTransformation, nearestMode: attributes.nearestMode,
                                    scale: scale, inputSize: inSize, outputSize: outSize)
    }

    /// Linear-interpolation taps per output index along one axis.
    private func linearTable(inSize: Int, outSize: Int, scale: Float) -> [ResizeKernel.LinearTap] {
        ResizeKernel.linearTaps(coordinateTransformation: attributes.coordinateTransformation, scale: scale,
                                inputSize: inSize, outputSize: outSize)
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape y: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputShapes[0]
        if attributes.mode == .nearest {
            ResizeKernel.nearest(input: inputs[0].pointer, planes: x[0] * x[1], inputHeight: x[2], inputWidth: x[3],
                                 rows: nearestTable(inSize: x[2], outSize: y[2], scale: attributes.scaleHeight),
                                 columns: nearestTable(inSize: x[3], outSize: y[3], scale: attributes.scaleWidth),
                                 output: output.pointer)
        } else {
            ResizeKernel.bilinear(input: inputs[0].pointer, planes: x[0] * x[1], inputHeight: x[2], inputWidth: x[3],
                                  rows: linearTable(inSize: x[2], outSize: y[2], scale: attributes.scaleHeight),
                                  columns: linearTable(inSize: x[3], outSize: y[3], scale: attributes.scaleWidth),
                                  output: output.pointer)
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
                    let h0 = rows[oh].low, h1 = rows[oh].high, wy = rows[oh].weight
                    for ow in 0..<outW {
                        let w0 = columns[ow].low, w1 = columns[ow].high, wx = columns[ow].weight
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

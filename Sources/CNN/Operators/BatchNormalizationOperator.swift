/// BatchNormalization in inference mode over axis 1 of `[N, C, ...]`:
/// `y = scale * (x - mean) / sqrt(var + epsilon) + bias`. Usually folded into a Conv at load.
struct BatchNormalizationOperator: GraphOperator {
    let epsilon: Float
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard inputs.count >= 5, let x = inputs[0] else { throw attributes.invalid("needs inputs X, scale, B, mean, var") }
        guard x.shape.count >= 2 else { throw attributes.shapeError("input \(x.shape) needs rank >= 2 (NC...)") }
        let channels = x.shape[1]
        var parameters = [[Float]]()
        for index in 1...4 {
            guard let value = inputs[index], let floats = value.constantFloats else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "scale, B, mean and var must be initializers")
            }
            guard floats.count == channels else {
                throw attributes.shapeError("parameter \(index) has \(floats.count) values for \(channels) channels of input \(x.shape)")
            }
            parameters.append(floats)
        }
        let (multiplier, offset) = Self.affine(scale: parameters[0], bias: parameters[1], mean: parameters[2],
                                               variance: parameters[3], epsilon: epsilon)
        let batch = x.shape[0]
        let spatial = x.shape.dropFirst(2).reduce(1, *)
        let kernel: OperatorKernel = { inputs, outputs, _ in
            ChannelAffineKernel.apply(input: inputs[0], output: outputs[0], batch: batch, channels: channels, spatial: spatial,
                                      multiplier: multiplier, offset: offset)
        }
        return OperatorPlan(outputs: [.runtime(x.shape)], kernel: kernel, flops: 2 * x.count)
    }

    /// Per-channel `(multiplier, offset)` with `y = x * multiplier + offset`.
    static func affine(scale: [Float], bias: [Float], mean: [Float], variance: [Float], epsilon: Float) -> ([Float], [Float]) {
        var multiplier = [Float](repeating: 0, count: scale.count)
        var offset = [Float](repeating: 0, count: scale.count)
        for c in 0..<scale.count {
            let m = Float(Double(scale[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot())
            multiplier[c] = m
            offset[c] = Float(Double(bias[c]) - Double(mean[c]) * Double(m))
        }
        return (multiplier, offset)
    }
}

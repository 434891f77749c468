/// Pad (constant, reflect, edge, wrap) of any rank. Pads are `[x1_begin, x2_begin, ...,
/// x1_end, x2_end, ...]`; negative pads crop. Opset < 11 reads `pads`/`value` attributes,
/// later opsets the `pads`, `constant_value` and (18+) `axes` inputs.
struct PadOperator: GraphOperator {
    let attributes: NodeAttributes
    let opset: Int

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input") }
        let rank = x.shape.count
        let mode = try attributes.string("mode", default: "constant")
        guard ["constant", "reflect", "edge", "wrap"].contains(mode) else { throw attributes.invalid("mode \(mode) is not constant, reflect, edge or wrap") }
        var pads: [Int]
        var value: Float = 0
        if opset < 11 {
            guard let p = try attributes.ints("pads") ?? attributes.ints("paddings") else { throw attributes.invalid("missing pads attribute") }
            pads = p
            value = try attributes.float("value", default: 0)
        } else {
            guard inputs.count > 1, let p = inputs[1]?.constantInts else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "pads must be known before running")
            }
            pads = p.map { Int($0) }
            if inputs.count > 2, let c = inputs[2] {
                guard let v = c.constantFloats, v.count == 1 else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "constant_value must be a constant scalar") }
                value = v[0]
            }
            if inputs.count > 3, let axesValue = inputs[3] {
                guard let axes = axesValue.constantInts else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "axes must be constant") }
                var full = [Int](repeating: 0, count: 2 * rank)
                for (i, rawAxis) in axes.enumerated() {
                    guard let axis = ShapeMath.axis(Int(rawAxis), rank: rank), pads.count == 2 * axes.count else { throw attributes.invalid("axes \(axes) do not fit pads \(pads)") }
                    full[axis] = pads[i]; full[axis + rank] = pads[i + axes.count]
                }
                pads = full
            }
        }
        guard pads.count == 2 * rank else { throw attributes.shapeError("pads \(pads) need \(2 * rank) entries for input \(x.shape)") }
        let limit = ShapeMath.maximumElementCount
        guard pads.allSatisfy({ (-limit...limit).contains($0) }) else { throw attributes.shapeError("pads \(pads) are too large") }
        var outputShape = x.shape
        for axis in 0..<rank {
            let out = x.shape[axis] + pads[axis] + pads[axis + rank]
            guard out >= 0, out <= limit else {
                throw attributes.shapeError("pads \(pads) crop more than input \(x.shape) or are too large")
            }
            outputShape[axis] = out
        }
        // The index maps below hold one Int per output row and column: bound the output first.
        guard ShapeMath.checkedCount(outputShape) != nil else {
            throw ONNXError.tooLarge(node: attributes.label, detail: "the padded shape \(outputShape) has more than \(min(ShapeMath.maximumElementCount, ShapeMath.elementLimit)) elements")
        }
        var maps = [[Int]]()
        for axis in 0..<rank {
            let dim = x.shape[axis]
            let out = outputShape[axis]
            var map = [Int](repeating: -1, count: out)
            for o in 0..<out {
                var i = o - pads[axis]
                if i < 0 || i >= dim {
                    guard dim > 0 else { continue }
                    switch mode {
                    case "edge": i = min(max(i, 0), dim - 1)
                    case "reflect":
                        guard dim > 1 else { i = 0; break }
                        let period = 2 * (dim - 1)
                        i = ((i % period) + period) % period
                        if i >= dim { i = period - i }
                    case "wrap": i = ((i % dim) + dim) % dim
                    default: i = -1
                    }
                }
                map[o] = i
            }
            maps.append(map)
        }
        let mapping = try AxisIndexMap(inputShape: x.shape, outputShape: outputShape, maps: maps, node: attributes.label)
        if let ints = x.ints {
            try ShapeMath.computedCount(outputShape, inputs: inputs, node: attributes.label)
            return OperatorPlan(outputs: [.constant(outputShape, ints: mapping.gather(ints, fill: Int64(saturating: value)))])
        }
        let fill = value
        let kernel: OperatorKernel = { inputs, outputs, _ in mapping.run(inputs[0], outputs[0], fill: fill) }
        return OperatorPlan(outputs: [.runtime(outputShape, x.type)], kernel: kernel)
    }
}

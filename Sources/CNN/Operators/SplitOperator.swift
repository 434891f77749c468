/// Split: cuts the input along `axis` into consecutive parts. Sizes come from the `split`
/// attribute (opset < 13), the `split` input (13+), `num_outputs` (18+) or equal parts.
struct SplitOperator: GraphOperator {
    let attributes: NodeAttributes
    let opset: Int

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input") }
        let rank = x.shape.count
        guard let axis = ShapeMath.axis(try attributes.int("axis", default: 0), rank: rank), rank > 0 else {
            throw attributes.invalid("axis is out of range for rank \(rank)")
        }
        let outputCount = attributes.node.outputs.count
        let size = x.shape[axis]
        var sizes: [Int]
        if opset < 13, let given = try attributes.ints("split") {
            sizes = given
        } else if opset >= 13, inputs.count > 1, let given = inputs[1] {
            guard let values = given.constantInts else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "split sizes must be known before running")
            }
            sizes = values.map { Int(clamping: $0) }
        } else {
            let parts = try attributes.int("num_outputs", default: outputCount)
            guard parts > 0 else { throw attributes.invalid("cannot split into \(parts) parts") }
            let chunk = (size + parts - 1) / parts
            sizes = (0..<parts).map { max(0, min(chunk, size - $0 * chunk)) }
        }
        guard sizes.count == outputCount, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == size else {
            throw attributes.shapeError("split sizes \(sizes) do not cover axis \(axis) of \(x.shape) with \(outputCount) outputs")
        }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let shapes = sizes.map { part -> [Int] in var s = x.shape; s[axis] = part; return s }
        if let ints = x.ints {
            var outputs = [PlanValue]()
            var start = 0
            for (part, partSize) in sizes.enumerated() {
                var values = [Int64]()
                for o in 0..<outer { values += ints[((o * size + start) * inner)..<((o * size + start + partSize) * inner)] }
                outputs.append(.constant(shapes[part], ints: values))
                start += partSize
            }
            return OperatorPlan(outputs: outputs)
        }
        let present = attributes.node.outputs.map { !$0.isEmpty }
        let kernel: OperatorKernel = { [sizes] inputs, outputs, _ in
            var start = 0
            for (part, partSize) in sizes.enumerated() {
                // Omitted outputs have no buffer of their own.
                guard present[part] else { start += partSize; continue }
                let target = outputs[part]
                for o in 0..<outer {
                    (target + o * partSize * inner).update(from: inputs[0] + (o * size + start) * inner, count: partSize * inner)
                }
                start += partSize
            }
        }
        return OperatorPlan(outputs: shapes.map { .runtime($0, x.type) }, kernel: kernel)
    }
}

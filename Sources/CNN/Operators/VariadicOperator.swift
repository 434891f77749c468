/// Max, Min, Sum and Mean over one or more inputs with numpy broadcasting: the output starts
/// as input 0 broadcast to the result shape, then each further input is folded in, in order.
struct VariadicOperator: GraphOperator {
    enum Function: Sendable { case maximum, minimum, sum, mean }
    let function: Function
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        let values = inputs.compactMap { $0 }
        guard let first = values.first else { throw attributes.invalid("needs at least one input") }
        var shape = first.shape
        for value in values.dropFirst() {
            guard let next = ShapeMath.broadcast(shape, value.shape) else {
                throw attributes.shapeError("inputs \(values.map(\.shape)) cannot be broadcast together")
            }
            shape = next
        }
        guard ShapeMath.checkedCount(shape) != nil else {
            throw attributes.shapeError("inputs \(values.map(\.shape)) broadcast to \(shape), which is too large")
        }
        if values.allSatisfy({ $0.type == .int64 && $0.ints != nil }) {
            try ShapeMath.computedCount(shape, inputs: inputs, node: attributes.label)
            var result = [Int64]()
            let count = shape.reduce(1, *)
            for (position, value) in values.enumerated() {
                let strides = ShapeMath.broadcastStrides(input: value.shape, output: shape)
                var index = [Int](repeating: 0, count: shape.count)
                for flat in 0..<count {
                    var offset = 0
                    for d in 0..<shape.count { offset += index[d] * strides[d] }
                    let v = value.ints?[offset] ?? 0
                    if position == 0 { result.append(v) } else {
                        switch function {
                        case .maximum: result[flat] = max(result[flat], v)
                        case .minimum: result[flat] = min(result[flat], v)
                        case .sum, .mean: result[flat] = result[flat] &+ v
                        }
                    }
                    var d = shape.count - 1
                    while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
                }
            }
            if function == .mean { result = result.map { $0 / Int64(values.count) } }
            return OperatorPlan(outputs: [.constant(shape, ints: result)])
        }
        let loops = values.map { BroadcastLoops(a: shape, b: $0.shape, output: shape) }
        let function = self.function
        let count = shape.reduce(1, *)
        // Inputs arrive as pointers in node order; omitted optional inputs are not allowed here.
        let kernel: OperatorKernel = { inputs, outputs, _ in
            let out = outputs[0]
            loops[0].run(UnsafePointer(out), inputs[0], out) { _, value in value }
            for index in 1..<max(loops.count, 1) where index < loops.count {
                switch function {
                case .maximum: loops[index].run(UnsafePointer(out), inputs[index], out) { $0 > $1 || $0.isNaN ? $0 : $1 }
                case .minimum: loops[index].run(UnsafePointer(out), inputs[index], out) { $0 < $1 || $0.isNaN ? $0 : $1 }
                case .sum, .mean: loops[index].run(UnsafePointer(out), inputs[index], out) { $0 + $1 }
                }
            }
            if function == .mean {
                let scale = Float(loops.count)
                for i in 0..<count { out[i] /= scale }
            }
        }
        return OperatorPlan(outputs: [.runtime(shape)], kernel: kernel, flops: count * values.count)
    }
}

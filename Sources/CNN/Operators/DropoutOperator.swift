/// Dropout at inference: the data passes through unchanged and the optional mask output is all
/// true (kept). `training_mode` true with a non-zero (or unknown) `ratio` would drop random
/// elements, which an inference engine does not do: such a node is refused, naming the fix
/// (export in eval mode).
struct DropoutOperator: GraphOperator {
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        // Known training mode and ratio that would drop elements: refused. Values given only at run
        // time are taken as inference (an engine cannot reproduce a training run's random mask).
        if inputs.count > 2, let mode = inputs[2]?.constantFloats?.first, mode != 0 {
            let ratio = inputs.count > 1 ? (inputs[1].map { $0.constantFloats?.first ?? .nan } ?? 0.5) : 0.5
            if ratio != 0 {
                let given = ratio.isNaN ? "a ratio known only at run time" : "ratio \(ratio)"
                throw attributes.invalid("training_mode is true with \(given): random dropout is a training operation; export the model in evaluation mode (model.eval() in PyTorch)")
            }
        }
        // Without a mask output Dropout is Identity (the output shares the input's buffer).
        let copy = try UnaryOperator(function: .copy, attributes: attributes).plan(Array(inputs.prefix(1)))
        let wantsMask = attributes.node.outputs.count > 1 && !attributes.node.outputs[1].isEmpty
        guard wantsMask, let data = copy.outputs.first else { return copy }
        let count = data.count
        if data.isConstant {
            return OperatorPlan(outputs: [data, .constant(data.shape, ints: [Int64](repeating: 1, count: count))])
        }
        let kernel: OperatorKernel = { inputs, outputs, _ in
            outputs[0].update(from: inputs[0], count: count)
            outputs[1].update(repeating: 1, count: count)
        }
        return OperatorPlan(outputs: [.runtime(data.shape, data.type), .runtime(data.shape, .int64)], kernel: kernel, flops: count)
    }
}

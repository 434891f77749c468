import Foundation

/// Softmax, LogSoftmax, ReduceMean/ReduceMax/ReduceSum and ArgMax.
///
/// Softmax before opset 13 flattens the input at `axis` (default 1) to 2-D and normalizes each
/// row; from opset 13 it normalizes along `axis` (default -1). ArgMax returns Int64 indices
/// (first occurrence unless `select_last_index`).
struct ReductionOperator: GraphOperator {
    enum Kind: Sendable { case softmax, logSoftmax, reduceMean, reduceMax, reduceSum, argMax }
    let kind: Kind
    let attributes: NodeAttributes
    let opset: Int

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input") }
        let rank = x.shape.count
        switch kind {
        case .softmax, .logSoftmax:
            let axisValue = try attributes.int("axis", default: opset < 13 ? 1 : -1)
            guard let axis = ShapeMath.axis(axisValue, rank: rank) else { throw attributes.invalid("axis \(axisValue) is out of range for rank \(rank)") }
            let outer: Int, size: Int, inner: Int
            if opset < 13 {
                outer = x.shape[..<axis].reduce(1, *); size = x.shape[axis...].reduce(1, *); inner = 1
            } else {
                outer = x.shape[..<axis].reduce(1, *); size = x.shape[axis]; inner = x.shape[(axis + 1)...].reduce(1, *)
            }
            let isLog = kind == .logSoftmax
            let kernel: OperatorKernel = { inputs, outputs, _ in
                SoftmaxKernel.apply(inputs[0], outputs[0], outer: outer, size: size, inner: inner, log: isLog)
            }
            return OperatorPlan(outputs: [.runtime(x.shape)], kernel: kernel, flops: 4 * x.count)
        case .argMax:
            let axisValue = try attributes.int("axis", default: 0)
            guard let axis = ShapeMath.axis(axisValue, rank: rank), rank > 0 else { throw attributes.invalid("axis \(axisValue) is out of range for rank \(rank)") }
            let keep = try attributes.int("keepdims", default: 1) != 0
            let last = try attributes.int("select_last_index", default: 0) != 0
            let outer = x.shape[..<axis].reduce(1, *), size = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
            var outputShape = x.shape
            if keep { outputShape[axis] = 1 } else { outputShape.remove(at: axis) }
            let kernel: OperatorKernel = { inputs, outputs, _ in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * size * inner + i
                        var best = inputs[0][base], bestIndex = 0
                        for s in 1..<max(size, 1) where s < size {
                            let v = inputs[0][base + s * inner]
                            if v > best || (last && v == best) { best = v; bestIndex = s }
                        }
                        outputs[0][o * inner + i] = Float(bestIndex)
                    }
                }
            }
            return OperatorPlan(outputs: [.runtime(outputShape, .int64)], kernel: kernel, flops: x.count)
        case .reduceMean, .reduceMax, .reduceSum:
            var axes: [Int]?
            // Axes became an input at opset 13 for ReduceSum, 18 for the others.
            if opset >= (kind == .reduceSum ? 13 : 18) {
                if inputs.count > 1, let a = inputs[1] {
                    guard let values = a.constantInts else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "axes must be constant") }
                    axes = values.map { Int($0) }
                }
            } else { axes = try attributes.ints("axes") }
            let keep = try attributes.int("keepdims", default: 1) != 0
            let noopWithEmpty = try attributes.int("noop_with_empty_axes", default: 0) != 0
            if (axes ?? []).isEmpty && noopWithEmpty {
                let count = x.count
                let kernel: OperatorKernel = { inputs, outputs, _ in outputs[0].update(from: inputs[0], count: count) }
                return OperatorPlan(outputs: [.runtime(x.shape)], kernel: kernel)
            }
            let reduced = try Set((axes ?? []).isEmpty ? Array(0..<rank) : (axes ?? []).map { axis -> Int in
                guard let a = ShapeMath.axis(axis, rank: rank) else { throw attributes.invalid("axis \(axis) is out of range for rank \(rank)") }
                return a
            })
            var outputShape = [Int]()
            for d in 0..<rank { if reduced.contains(d) { if keep { outputShape.append(1) } } else { outputShape.append(x.shape[d]) } }
            // Output index of every input element, then accumulate in input order (deterministic).
            let inputShape = x.shape
            let keptStrides: [Int] = {
                var strides = [Int](repeating: 0, count: rank)
                var running = 1
                for d in stride(from: rank - 1, through: 0, by: -1) where !reduced.contains(d) { strides[d] = running; running *= inputShape[d] }
                return strides
            }()
            let outCount = outputShape.reduce(1, *)
            let reduceCount = max(1, x.count / max(outCount, 1))
            let kind = self.kind
            let total = x.count
            let kernel: OperatorKernel = { inputs, outputs, _ in
                let initial: Float = kind == .reduceMax ? -Float.infinity : 0
                for i in 0..<outCount { outputs[0][i] = initial }
                var index = [Int](repeating: 0, count: rank)
                var target = 0
                for flat in 0..<total {
                    let v = inputs[0][flat]
                    if kind == .reduceMax { outputs[0][target] = max(outputs[0][target], v) } else { outputs[0][target] += v }
                    var d = rank - 1
                    while d >= 0 {
                        index[d] += 1; target += keptStrides[d]
                        if index[d] < inputShape[d] { break }
                        target -= keptStrides[d] * inputShape[d]; index[d] = 0; d -= 1
                    }
                }
                if kind == .reduceMean { for i in 0..<outCount { outputs[0][i] /= Float(reduceCount) } }
            }
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, flops: x.count)
        }
    }
}

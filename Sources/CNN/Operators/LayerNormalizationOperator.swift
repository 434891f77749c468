import Foundation

/// LayerNormalization (opset 17): normalizes over the dimensions from `axis` to the last,
/// `Y = (X - mean) / sqrt(var + epsilon) * Scale + B`, with Scale and B broadcast to X
/// (unidirectionally, numpy style). Statistics are accumulated in Double, so a sample's result
/// does not depend on the batch it runs in. The optional Mean and InvStdDev outputs have X's
/// shape with the normalized dimensions set to 1.
struct LayerNormalizationOperator: GraphOperator {
    let attributes: NodeAttributes
    let axis: Int
    let epsilon: Float

    init(attributes: NodeAttributes) throws {
        self.attributes = attributes
        axis = try attributes.int("axis", default: -1)
        epsilon = try attributes.float("epsilon", default: 1e-5)
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard inputs.count >= 2, let x = inputs[0], let scale = inputs[1] else { throw attributes.invalid("needs inputs X and Scale") }
        let rank = x.shape.count
        let axis = self.axis < 0 ? self.axis + rank : self.axis
        guard axis >= 0, axis < rank else { throw attributes.invalid("axis \(self.axis) is out of range for X \(x.shape)") }
        let bias = inputs.count > 2 ? inputs[2] : nil
        for (name, value) in [("Scale", scale), ("B", bias)] {
            guard let value else { continue }
            guard ShapeMath.broadcast(x.shape, value.shape) == x.shape else {
                throw attributes.shapeError("\(name) \(value.shape) cannot be broadcast to X \(x.shape)")
            }
        }
        let inner = x.shape[axis...].reduce(1, *)
        let outer = x.shape[..<axis].reduce(1, *)
        let statisticsShape = Array(x.shape[..<axis]) + [Int](repeating: 1, count: rank - axis)
        let scaleLoops = BroadcastLoops(a: x.shape, b: scale.shape, output: x.shape)
        let biasLoops = bias.map { BroadcastLoops(a: x.shape, b: $0.shape, output: x.shape) }
        let epsilon = Double(self.epsilon)
        // Omitted optional outputs point to a tiny shared sink: write only the requested ones.
        let declared = attributes.node.outputs
        let wantsMean = declared.count > 1 && !declared[1].isEmpty
        let wantsInverse = declared.count > 2 && !declared[2].isEmpty
        let kernel: OperatorKernel = { inputs, outputs, _ in
            let source = inputs[0], y = outputs[0]
            for row in 0..<outer {
                let input = source + row * inner, output = y + row * inner
                var sum = 0.0
                for i in 0..<inner { sum += Double(input[i]) }
                let mean = sum / Double(max(inner, 1))
                var squares = 0.0
                for i in 0..<inner { let d = Double(input[i]) - mean; squares += d * d }
                let inverse = 1 / (squares / Double(max(inner, 1)) + epsilon).squareRoot()
                for i in 0..<inner { output[i] = Float((Double(input[i]) - mean) * inverse) }
                if wantsMean { outputs[1][row] = Float(mean) }
                if wantsInverse { outputs[2][row] = Float(inverse) }
            }
            scaleLoops.run(UnsafePointer(y), inputs[1], y) { $0 * $1 }
            if let biasLoops { biasLoops.run(UnsafePointer(y), inputs[2], y) { $0 + $1 } }
        }
        return OperatorPlan(outputs: [.runtime(x.shape), .runtime(statisticsShape), .runtime(statisticsShape)],
                            kernel: kernel, flops: 8 * x.count)
    }
}

/// Where (opset 9/16): `output = condition ? X : Y` element-wise with numpy broadcasting of all
/// three inputs. Folded at plan time when every input is known (exactly, for Int64 data).
struct WhereOperator: GraphOperator {
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard inputs.count == 3, let condition = inputs[0], let x = inputs[1], let y = inputs[2] else {
            throw attributes.invalid("needs inputs condition, X and Y")
        }
        guard let pair = ShapeMath.broadcast(x.shape, y.shape), let shape = ShapeMath.broadcast(condition.shape, pair) else {
            throw attributes.shapeError("condition \(condition.shape), X \(x.shape) and Y \(y.shape) cannot be broadcast together")
        }
        guard ShapeMath.checkedCount(shape) != nil else {
            throw ONNXError.tooLarge(node: attributes.label, detail: "its output shape \(shape) is too large")
        }
        let strides = [condition.shape, x.shape, y.shape].map { ShapeMath.broadcastStrides(input: $0, output: shape) }
        let count = shape.reduce(1, *)
        let type: ValueType = x.type == .int64 && y.type == .int64 ? .int64 : .float32
        if let flags = condition.constantInts, let a = x.ints, let b = y.ints, type == .int64 {
            try ShapeMath.computedCount(shape, inputs: inputs, node: attributes.label)
            var result = [Int64](repeating: 0, count: count)
            Self.walk(shape, strides) { flat, offsets in result[flat] = flags[offsets[0]] != 0 ? a[offsets[1]] : b[offsets[2]] }
            return OperatorPlan(outputs: [.constant(shape, ints: result)])
        }
        let kernel: OperatorKernel = { inputs, outputs, _ in
            let c = inputs[0], a = inputs[1], b = inputs[2], out = outputs[0]
            Self.walk(shape, strides) { flat, offsets in out[flat] = c[offsets[0]] != 0 ? a[offsets[1]] : b[offsets[2]] }
        }
        return OperatorPlan(outputs: [.runtime(shape, type)], kernel: kernel)
    }

    /// Calls `body(flatIndex, [offset per input])` for every element of `shape` in row-major order.
    static func walk(_ shape: [Int], _ strides: [[Int]], _ body: (Int, [Int]) -> Void) {
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: shape.count)
        var offsets = [Int](repeating: 0, count: strides.count)
        for flat in 0..<count {
            body(flat, offsets)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                for input in strides.indices { offsets[input] += strides[input][d] }
                if index[d] < shape[d] { break }
                for input in strides.indices { offsets[input] -= strides[input][d] * shape[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}

import Foundation
/// Add, Sub, Mul, Div (and Pow) with numpy broadcasting, on Float32 at run time and on
/// Int64 shape data at plan time.
struct BinaryOperator: GraphOperator {
    enum Function: Sendable { case add, subtract, multiply, divide, power }
    let function: Function
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard inputs.count == 2, let a = inputs[0], let b = inputs[1] else {
            throw attributes.invalid("needs exactly two inputs")
        }
        guard let shape = ShapeMath.broadcast(a.shape, b.shape) else {
            throw attributes.shapeError("operands \(a.shape) and \(b.shape) cannot be broadcast together")
        }
        if a.type == .int64 && b.type == .int64, let x = a.ints, let y = b.ints {
            try ShapeMath.computedCount(shape, inputs: inputs, node: attributes.label)
            return OperatorPlan(outputs: [.constant(shape, ints: try integerResult(x, a.shape, y, b.shape, shape))])
        }
        let loops = BroadcastLoops(a: a.shape, b: b.shape, output: shape)
        let function = self.function
        let kernel: OperatorKernel = { inputs, outputs, _ in
            switch function {
            case .add: loops.run(inputs[0], inputs[1], outputs[0]) { $0 + $1 }
            case .subtract: loops.run(inputs[0], inputs[1], outputs[0]) { $0 - $1 }
            case .multiply: loops.run(inputs[0], inputs[1], outputs[0]) { $0 * $1 }
            case .divide: loops.run(inputs[0], inputs[1], outputs[0]) { $0 / $1 }
            case .power: loops.run(inputs[0], inputs[1], outputs[0]) { Foundation.pow($0, $1) }
            }
        }
        let type: ValueType = a.type == .int64 && b.type == .int64 ? .int64 : .float32
        return OperatorPlan(outputs: [.runtime(shape, type)], kernel: kernel, flops: shape.reduce(1, *))
    }

    private func integerResult(_ x: [Int64], _ xShape: [Int], _ y: [Int64], _ yShape: [Int], _ shape: [Int]) throws -> [Int64] {
        let sx = ShapeMath.broadcastStrides(input: xShape, output: shape)
        let sy = ShapeMath.broadcastStrides(input: yShape, output: shape)
        let count = shape.reduce(1, *)
        var result = [Int64](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<count {
            var ix = 0, iy = 0
            for d in 0..<shape.count { ix += index[d] * sx[d]; iy += index[d] * sy[d] }
            let u = x[ix], v = y[iy]
            switch function {
            case .add: result[flat] = u &+ v
            case .subtract: result[flat] = u &- v
            case .multiply: result[flat] = u &* v
            case .divide:
                let (quotient, overflow) = u.dividedReportingOverflow(by: v)
                guard v != 0, !overflow else { throw attributes.invalid("integer division \(u) / \(v) in shape arithmetic is undefined") }
                result[flat] = quotient
            case .power:
                var p: Int64 = 1
                for _ in 0..<max(v, 0) { p = p &* u }
                result[flat] = p
            }
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return result
    }
}

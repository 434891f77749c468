import Foundation
/// Add, Sub, Mul, Div, Pow, Mod, the comparisons (Equal, Less, Greater, LessOrEqual,
/// GreaterOrEqual) and the logical And, Or, Xor with numpy broadcasting, on Float32 at run time
/// and exactly on Int64 data known at plan time. Comparisons and logical operators produce bool
/// values (0 or 1, typed Int64 in the plan).
struct BinaryOperator: GraphOperator {
    enum Function: Sendable, Equatable {
        case add, subtract, multiply, divide, power
        /// `fmod`: 0 = modulus with the divisor's sign (Python `%`, numpy `mod`), 1 = C `fmod`
        /// (the dividend's sign).
        case mod(fmod: Bool)
        case equal, less, greater, lessOrEqual, greaterOrEqual
        case and, or, xor

        /// True when the result is bool (0/1) rather than the operands' type.
        var isPredicate: Bool {
            switch self {
            case .equal, .less, .greater, .lessOrEqual, .greaterOrEqual, .and, .or, .xor: return true
            default: return false
            }
        }
    }
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
            case .mod(let fmod):
                if fmod { loops.run(inputs[0], inputs[1], outputs[0]) { Foundation.fmod($0, $1) } }
                else { loops.run(inputs[0], inputs[1], outputs[0]) { BinaryOperator.floorMod($0, $1) } }
            case .equal: loops.run(inputs[0], inputs[1], outputs[0]) { $0 == $1 ? 1 : 0 }
            case .less: loops.run(inputs[0], inputs[1], outputs[0]) { $0 < $1 ? 1 : 0 }
            case .greater: loops.run(inputs[0], inputs[1], outputs[0]) { $0 > $1 ? 1 : 0 }
            case .lessOrEqual: loops.run(inputs[0], inputs[1], outputs[0]) { $0 <= $1 ? 1 : 0 }
            case .greaterOrEqual: loops.run(inputs[0], inputs[1], outputs[0]) { $0 >= $1 ? 1 : 0 }
            case .and: loops.run(inputs[0], inputs[1], outputs[0]) { $0 != 0 && $1 != 0 ? 1 : 0 }
            case .or: loops.run(inputs[0], inputs[1], outputs[0]) { $0 != 0 || $1 != 0 ? 1 : 0 }
            case .xor: loops.run(inputs[0], inputs[1], outputs[0]) { ($0 != 0) != ($1 != 0) ? 1 : 0 }
            }
        }
        let type: ValueType = function.isPredicate || (a.type == .int64 && b.type == .int64) ? .int64 : .float32
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
                // Exponentiation by squaring (wrapping, like the engine's other integer arithmetic);
                // a negative exponent gives 1 as before.
                var p: Int64 = 1, base = u, exponent = max(v, 0)
                while exponent > 0 {
                    if exponent & 1 == 1 { p = p &* base }
                    base = base &* base
                    exponent >>= 1
                }
                result[flat] = p
            case .mod(let fmod):
                guard v != 0 else { throw attributes.invalid("integer modulus \(u) % 0 in shape arithmetic is undefined") }
                let (remainder, overflow) = u.remainderReportingOverflow(dividingBy: v)
                result[flat] = overflow ? 0 : (fmod || remainder == 0 || (remainder < 0) == (v < 0) ? remainder : remainder + v)
            case .equal: result[flat] = u == v ? 1 : 0
            case .less: result[flat] = u < v ? 1 : 0
            case .greater: result[flat] = u > v ? 1 : 0
            case .lessOrEqual: result[flat] = u <= v ? 1 : 0
            case .greaterOrEqual: result[flat] = u >= v ? 1 : 0
            case .and: result[flat] = u != 0 && v != 0 ? 1 : 0
            case .or: result[flat] = u != 0 || v != 0 ? 1 : 0
            case .xor: result[flat] = (u != 0) != (v != 0) ? 1 : 0
            }
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return result
    }

    /// Modulus with the divisor's sign (ONNX Mod, fmod=0; numpy `mod`).
    static func floorMod(_ a: Float, _ b: Float) -> Float {
        guard b != 0 else { return .nan }
        let remainder = Foundation.fmod(a, b)
        return remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder
    }
}

import Foundation

/// Element-wise activations: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh,
/// Exp, Log, Sqrt, Neg, Abs, Identity-like copies. Layout-agnostic: applies to every element.
struct UnaryOperator: GraphOperator {
    enum Function: Sendable, Equatable {
        case copy
        case relu
        case leakyRelu(alpha: Float)
        /// Clip with attribute bounds (opset < 11); input bounds are read at plan time.
        case clip(min: Float, max: Float)
        case clipFromInputs
        case sigmoid
        case hardSigmoid(alpha: Float, beta: Float)
        case hardSwish
        case tanh, exp, log, sqrt, negate, abs, floor, ceil, round
        /// The Gauss error function.
        case erf
        /// `0.5 x (1 + erf(x / sqrt 2))`, or the tanh approximation when `tanh` is set.
        case gelu(tanh: Bool)
        /// Logical not of a bool (0 or 1) tensor.
        case not
        /// `1 / x`.
        case reciprocal
        /// -1, 0 or 1.
        case sign
        case sin, cos
        /// `log(1 + exp(x))`.
        case softplus
    }

    let function: Function
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input 0") }
        var resolved = function
        if function == .clipFromInputs {
            var low = -Float.greatestFiniteMagnitude, high = Float.greatestFiniteMagnitude
            if inputs.count > 1, let minValue = inputs[1] {
                guard let values = minValue.constantFloats, values.count == 1 else {
                    throw ONNXError.dataDependentValue(node: attributes.label, detail: "Clip min must be a constant scalar")
                }
                low = values[0]
            }
            if inputs.count > 2, let maxValue = inputs[2] {
                guard let values = maxValue.constantFloats, values.count == 1 else {
                    throw ONNXError.dataDependentValue(node: attributes.label, detail: "Clip max must be a constant scalar")
                }
                high = values[0]
            }
            resolved = .clip(min: low, max: high)
        }
        if let ints = x.ints {
            // Integer shape data: rounding is the identity; a few others are exact on integers.
            switch resolved {
            case .copy, .floor, .ceil, .round: return OperatorPlan(outputs: [.constant(x.shape, ints: ints)])
            case .negate: return OperatorPlan(outputs: [.constant(x.shape, ints: ints.map { 0 &- $0 })])
            case .abs: return OperatorPlan(outputs: [.constant(x.shape, ints: ints.map { $0 < 0 ? 0 &- $0 : $0 })])
            case .relu: return OperatorPlan(outputs: [.constant(x.shape, ints: ints.map { max($0, 0) })])
            case .not: return OperatorPlan(outputs: [.constant(x.shape, ints: ints.map { $0 == 0 ? 1 : 0 })])
            case .sign: return OperatorPlan(outputs: [.constant(x.shape, ints: ints.map { $0.signum() })])
            default: break
            }
        }
        let count = x.count
        let function = resolved
        let kernel: OperatorKernel = { inputs, outputs, _ in
            UnaryOperator.apply(function, inputs[0], outputs[0], count)
        }
        let keepsType = ([.copy, .not, .negate, .abs, .relu, .sign, .floor, .ceil, .round] as [Function]).contains(resolved)
        return OperatorPlan(outputs: [.runtime(x.shape, keepsType ? x.type : .float32)], kernel: kernel,
                            flops: count, aliasesInput: resolved == .copy)
    }

    /// Applies `function` to `count` elements; `input` and `output` may be the same buffer.
    static func apply(_ function: Function, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        switch function {
        case .copy:
            if UnsafePointer(output) != input { output.update(from: input, count: count) }
        case .relu:
            for i in 0..<count { output[i] = Swift.max(input[i], 0) }
        case .leakyRelu(let alpha):
            for i in 0..<count { let v = input[i]; output[i] = v < 0 ? v * alpha : v }
        case .clip(let low, let high):
            for i in 0..<count { output[i] = Swift.min(Swift.max(input[i], low), high) }
        case .clipFromInputs:
            output.update(from: input, count: count)
        case .sigmoid:
            for i in 0..<count { output[i] = 1 / (1 + Foundation.exp(-input[i])) }
        case .hardSigmoid(let alpha, let beta):
            for i in 0..<count { output[i] = Swift.min(Swift.max(alpha * input[i] + beta, 0), 1) }
        case .hardSwish:
            for i in 0..<count { let v = input[i]; output[i] = v * Swift.min(Swift.max(v / 6 + 0.5, 0), 1) }
        case .tanh:
            for i in 0..<count { output[i] = Foundation.tanh(input[i]) }
        case .exp:
            for i in 0..<count { output[i] = Foundation.exp(input[i]) }
        case .log:
            for i in 0..<count { output[i] = Foundation.log(input[i]) }
        case .sqrt:
            for i in 0..<count { output[i] = input[i].squareRoot() }
        case .negate:
            for i in 0..<count { output[i] = -input[i] }
        case .abs:
            for i in 0..<count { output[i] = Swift.abs(input[i]) }
        case .floor:
            for i in 0..<count { output[i] = input[i].rounded(.down) }
        case .ceil:
            for i in 0..<count { output[i] = input[i].rounded(.up) }
        case .round:
            for i in 0..<count { output[i] = input[i].rounded(.toNearestOrEven) }
        case .erf:
            for i in 0..<count { output[i] = Foundation.erf(input[i]) }
        case .gelu(let useTanh):
            if useTanh {
                let c = Float(0.7978845608028654)  // sqrt(2 / pi)
                for i in 0..<count { let v = input[i]; output[i] = 0.5 * v * (1 + Foundation.tanh(c * (v + 0.044715 * v * v * v))) }
            } else {
                for i in 0..<count { let v = input[i]; output[i] = 0.5 * v * (1 + Foundation.erf(v * Float(0.7071067811865476))) }
            }
        case .not:
            for i in 0..<count { output[i] = input[i] == 0 ? 1 : 0 }
        case .reciprocal:
            for i in 0..<count { output[i] = 1 / input[i] }
        case .sign:
            for i in 0..<count { let v = input[i]; output[i] = v > 0 ? 1 : (v < 0 ? -1 : (v.isNaN ? v : 0)) }
        case .sin:
            for i in 0..<count { output[i] = Foundation.sin(input[i]) }
        case .cos:
            for i in 0..<count { output[i] = Foundation.cos(input[i]) }
        case .softplus:
            for i in 0..<count { let v = input[i]; output[i] = v > 20 ? v : Foundation.log1p(Foundation.exp(v)) }
        }
    }

    /// The kernel epilogue equivalent of this activation, when the conv kernel supports it.
    var fusedActivation: FusedActivation? {
        switch function {
        case .relu: return .relu
        case .leakyRelu(let alpha): return .leakyRelu(alpha: alpha)
        case .clip(let low, let high): return .clip(min: low, max: high)
        case .sigmoid: return .sigmoid
        case .hardSigmoid(let alpha, let beta): return .hardSigmoid(alpha: alpha, beta: beta)
        case .hardSwish: return .hardSwish
        default: return nil
        }
    }
}

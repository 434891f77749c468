/// Builds a ``GraphOperator`` for a node, checking domain and opset.
enum OperatorFactory {
    /// Domain of the engine's internal fused nodes created by ``GraphOptimizer``.
    static let internalDomain = "landcover.internal"

    /// Operators the engine implements, for messages and `model info`.
    static let supportedOperators: [String] = [
        "Abs", "Add", "ArgMax", "Ceil", "Expand", "Floor", "Max", "Mean", "Min", "Round", "Split", "Sum", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
        "ConstantOfShape", "Conv", "ConvTranspose", "DequantizeLinear", "Div", "DynamicQuantizeLinear", "Dropout", "Exp", "Flatten", "Gather", "Gemm",
        "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "Log",
        "LogSoftmax", "MatMul", "MaxPool", "Mul", "Neg", "Pad", "Pow", "QuantizeLinear", "ReduceMax", "ReduceMean", "ReduceSum",
        "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Slice", "Softmax", "Sqrt", "Squeeze", "Sub", "Tanh",
        "Transpose", "Unsqueeze", "Upsample",
        "And", "Cos", "Equal", "Erf", "Gelu", "Greater", "GreaterOrEqual", "LayerNormalization", "Less", "LessOrEqual",
        "Mod", "Not", "Or", "Reciprocal", "Sign", "Sin", "Softplus", "Where", "Xor",
    ]

    /// - Parameters:
    ///   - node: the node to compile.
    ///   - opset: the model's default-domain opset version.
    ///   - constants: values known at load time (initializers and folded values).
    static func make(node: ONNXNode, opset: Int, constants: [String: PlanValue]) throws -> GraphOperator {
        do {
            return try makeOperator(node: node, opset: opset, constants: constants)
        } catch let error as ONNXError {
            // Parameters (weights, statistics) that arrive as graph inputs or are computed at run
            // time: the operator is built when a plan knows their values.
            if case .dataDependentValue = error, node.inputs.contains(where: { !$0.isEmpty && constants[$0] == nil }) {
                return DeferredOperator(node: node, opset: opset)
            }
            throw error
        }
    }

    /// Input positions whose values an operator needs when it is planned (weights it packs,
    /// statistics it folds, scales, pads, shapes, axes). A graph input feeding one of them is a
    /// parameter input: sessions plan with its values (see ``InferenceModel/parameterInputNames``).
    static func parameterPositions(of node: ONNXNode) -> [Int] {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { return [] }
        switch node.operatorType {
        case "Conv", "ConvTranspose": return [1, 2]
        case "BatchNormalization": return [1, 2, 3, 4]
        case "Resize": return [1, 2, 3]
        case "Clip", "Upsample", "Reshape", "Expand", "Squeeze", "Unsqueeze", "Split", "ReduceMean", "ReduceMax", "ReduceSum": return [1, 2]
        case "Pad", "Slice": return [1, 2, 3, 4]
        case "ConstantOfShape": return [0]
        case "QuantizeLinear", "DequantizeLinear": return [1, 2]
        default: return []
        }
    }

    /// Builds the operator of `node` from the constants known now.
    static func makeOperator(node: ONNXNode, opset: Int, constants: [String: PlanValue]) throws -> GraphOperator {
        let attributes = NodeAttributes(node)
        let unsupported = ONNXError.unsupportedOperator(operatorType: node.operatorType, domain: node.domain, opset: opset,
                                                        node: node.name.isEmpty ? (node.outputs.first ?? "?") : node.name)
        if node.domain == internalDomain {
            if QuantizedOperators.types.contains(node.operatorType) { return try QuantizedOperators.make(node: node, constants: constants) }
            guard node.operatorType == "FusedConv" else { throw unsupported }
            return try ConvOperator(attributes: attributes, constants: constants,
                                    activation: try fusedActivation(attributes), hasResidual: node.inputs.count > 3 && !node.inputs[3].isEmpty,
                                    maxPool: try attributes.int("max_pool", default: 0) != 0)
        }
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { throw unsupported }
        switch node.operatorType {
        case "Conv":
            return try ConvOperator(attributes: attributes, constants: constants, activation: .identity, hasResidual: false)
        case "ConvTranspose": return try ConvTransposeOperator(attributes: attributes, constants: constants)
        case "QuantizeLinear": return try QuantizeOperator(kind: .quantize, attributes: attributes)
        case "DequantizeLinear": return try QuantizeOperator(kind: .dequantize, attributes: attributes)
        case "DynamicQuantizeLinear": return DynamicQuantizeOperator(attributes: attributes)
        case "BatchNormalization":
            if opset < 9, try attributes.int("spatial", default: 1) == 0 { throw attributes.invalid("spatial=0 is not supported") }
            return BatchNormalizationOperator(epsilon: try attributes.float("epsilon", default: 1e-5), attributes: attributes)
        case "Relu": return UnaryOperator(function: .relu, attributes: attributes)
        case "LeakyRelu": return UnaryOperator(function: .leakyRelu(alpha: try attributes.float("alpha", default: 0.01)), attributes: attributes)
        case "Clip":
            if opset < 11 {
                return UnaryOperator(function: .clip(min: try attributes.float("min", default: -Float.greatestFiniteMagnitude),
                                                     max: try attributes.float("max", default: Float.greatestFiniteMagnitude)), attributes: attributes)
            }
            return UnaryOperator(function: .clipFromInputs, attributes: attributes)
        case "Sigmoid": return UnaryOperator(function: .sigmoid, attributes: attributes)
        case "HardSigmoid":
            return UnaryOperator(function: .hardSigmoid(alpha: try attributes.float("alpha", default: 0.2),
                                                        beta: try attributes.float("beta", default: 0.5)), attributes: attributes)
        case "HardSwish": return UnaryOperator(function: .hardSwish, attributes: attributes)
        case "Tanh": return UnaryOperator(function: .tanh, attributes: attributes)
        case "Exp": return UnaryOperator(function: .exp, attributes: attributes)
        case "Log": return UnaryOperator(function: .log, attributes: attributes)
        case "Sqrt": return UnaryOperator(function: .sqrt, attributes: attributes)
        case "Neg": return UnaryOperator(function: .negate, attributes: attributes)
        case "Abs": return UnaryOperator(function: .abs, attributes: attributes)
        case "Floor": return UnaryOperator(function: .floor, attributes: attributes)
        case "Ceil": return UnaryOperator(function: .ceil, attributes: attributes)
        case "Round": return UnaryOperator(function: .round, attributes: attributes)
        case "Erf": return UnaryOperator(function: .erf, attributes: attributes)
        case "Gelu":
            switch try attributes.string("approximate", default: "none") {
            case "none": return UnaryOperator(function: .gelu(tanh: false), attributes: attributes)
            case "tanh": return UnaryOperator(function: .gelu(tanh: true), attributes: attributes)
            case let other: throw attributes.invalid("approximate=\"\(other)\" is not defined; use \"none\" or \"tanh\"")
            }
        case "Not": return UnaryOperator(function: .not, attributes: attributes)
        case "Reciprocal": return UnaryOperator(function: .reciprocal, attributes: attributes)
        case "Sign": return UnaryOperator(function: .sign, attributes: attributes)
        case "Sin": return UnaryOperator(function: .sin, attributes: attributes)
        case "Cos": return UnaryOperator(function: .cos, attributes: attributes)
        case "Softplus": return UnaryOperator(function: .softplus, attributes: attributes)
        case "Mod": return BinaryOperator(function: .mod(fmod: try attributes.int("fmod", default: 0) != 0), attributes: attributes)
        case "Equal": return BinaryOperator(function: .equal, attributes: attributes)
        case "Less": return BinaryOperator(function: .less, attributes: attributes)
        case "Greater": return BinaryOperator(function: .greater, attributes: attributes)
        case "LessOrEqual": return BinaryOperator(function: .lessOrEqual, attributes: attributes)
        case "GreaterOrEqual": return BinaryOperator(function: .greaterOrEqual, attributes: attributes)
        case "And": return BinaryOperator(function: .and, attributes: attributes)
        case "Or": return BinaryOperator(function: .or, attributes: attributes)
        case "Xor": return BinaryOperator(function: .xor, attributes: attributes)
        case "Where": return WhereOperator(attributes: attributes)
        case "LayerNormalization": return try LayerNormalizationOperator(attributes: attributes)
        case "Max": return VariadicOperator(function: .maximum, attributes: attributes)
        case "Min": return VariadicOperator(function: .minimum, attributes: attributes)
        case "Sum": return VariadicOperator(function: .sum, attributes: attributes)
        case "Mean": return VariadicOperator(function: .mean, attributes: attributes)
        case "Split": return SplitOperator(attributes: attributes, opset: opset)
        case "Expand": return ShapeOperator(kind: .expand, attributes: attributes, opset: opset)
        case "Identity": return UnaryOperator(function: .copy, attributes: attributes)
        case "Dropout": return DropoutOperator(attributes: attributes)
        case "MaxPool": return try PoolOperator(kind: .max, attributes: attributes)
        case "AveragePool": return try PoolOperator(kind: .average, attributes: attributes)
        case "GlobalAveragePool": return try PoolOperator(kind: .globalAverage, attributes: attributes)
        case "GlobalMaxPool": return try PoolOperator(kind: .globalMax, attributes: attributes)
        case "Gemm": return try GemmOperator(attributes: attributes, isMatMul: false)
        case "MatMul": return try GemmOperator(attributes: attributes, isMatMul: true)
        case "Add": return BinaryOperator(function: .add, attributes: attributes)
        case "Sub": return BinaryOperator(function: .subtract, attributes: attributes)
        case "Mul": return BinaryOperator(function: .multiply, attributes: attributes)
        case "Div": return BinaryOperator(function: .divide, attributes: attributes)
        case "Pow": return BinaryOperator(function: .power, attributes: attributes)
        case "Shape": return ShapeOperator(kind: .shape, attributes: attributes, opset: opset)
        case "Reshape": return ShapeOperator(kind: .reshape, attributes: attributes, opset: opset)
        case "Flatten": return ShapeOperator(kind: .flatten, attributes: attributes, opset: opset)
        case "Squeeze": return ShapeOperator(kind: .squeeze, attributes: attributes, opset: opset)
        case "Unsqueeze": return ShapeOperator(kind: .unsqueeze, attributes: attributes, opset: opset)
        case "Concat": return ShapeOperator(kind: .concat, attributes: attributes, opset: opset)
        case "Gather": return ShapeOperator(kind: .gather, attributes: attributes, opset: opset)
        case "Slice": return ShapeOperator(kind: .slice, attributes: attributes, opset: opset)
        case "Transpose": return ShapeOperator(kind: .transpose, attributes: attributes, opset: opset)
        case "Cast": return ShapeOperator(kind: .cast, attributes: attributes, opset: opset)
        case "ConstantOfShape": return ShapeOperator(kind: .constantOfShape, attributes: attributes, opset: opset)
        case "Pad": return PadOperator(attributes: attributes, opset: opset)
        case "Resize": return ResizeOperator(attributes: attributes, opset: opset, isUpsample: false)
        case "Upsample": return ResizeOperator(attributes: attributes, opset: opset, isUpsample: true)
        case "Softmax": return ReductionOperator(kind: .softmax, attributes: attributes, opset: opset)
        case "LogSoftmax": return ReductionOperator(kind: .logSoftmax, attributes: attributes, opset: opset)
        case "ReduceMean": return ReductionOperator(kind: .reduceMean, attributes: attributes, opset: opset)
        case "ReduceMax": return ReductionOperator(kind: .reduceMax, attributes: attributes, opset: opset)
        case "ReduceSum": return ReductionOperator(kind: .reduceSum, attributes: attributes, opset: opset)
        case "ArgMax": return ReductionOperator(kind: .argMax, attributes: attributes, opset: opset)
        default: throw unsupported
        }
    }

    /// Reads the activation attributes of a FusedConv node.
    static func fusedActivation(_ attributes: NodeAttributes) throws -> FusedActivation {
        let alpha = try attributes.float("activation_alpha", default: 0)
        let beta = try attributes.float("activation_beta", default: 0)
        switch try attributes.string("activation", default: "identity") {
        case "relu": return .relu
        case "leaky_relu": return .leakyRelu(alpha: alpha)
        case "clip": return .clip(min: alpha, max: beta)
        case "sigmoid": return .sigmoid
        case "hard_sigmoid": return .hardSigmoid(alpha: alpha, beta: beta)
        case "hard_swish": return .hardSwish
        default: return .identity
        }
    }

    /// Attributes that encode `activation` on a FusedConv node.
    static func activationAttributes(_ activation: FusedActivation) -> [ONNXAttribute] {
        func make(_ name: String, _ alpha: Float = 0, _ beta: Float = 0) -> [ONNXAttribute] {
            [ONNXAttribute(name: "activation", value: .string(name)), ONNXAttribute(name: "activation_alpha", value: .float(alpha)),
             ONNXAttribute(name: "activation_beta", value: .float(beta))]
        }
        switch activation {
        case .identity: return make("identity")
        case .relu: return make("relu")
        case .leakyRelu(let alpha): return make("leaky_relu", alpha)
        case .clip(let low, let high): return make("clip", low, high)
        case .sigmoid: return make("sigmoid")
        case .hardSigmoid(let alpha, let beta): return make("hard_sigmoid", alpha, beta)
        case .hardSwish: return make("hard_swish")
        }
    }
}

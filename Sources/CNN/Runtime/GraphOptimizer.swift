/// Load-time graph rewriting on ONNX nodes: constant folding, BatchNormalization folding into
/// the preceding Conv, fusion of a following residual Add and activation into the conv kernel
/// epilogue and of a following 2x2, stride-2 MaxPool into the kernel (as internal `FusedConv`
/// nodes), and dead-node elimination.
struct GraphOptimizer {
    let opset: Int
    var constants: [String: PlanValue]
    var nodes: [ONNXNode]
    let graphOutputs: Set<String>
    /// ONNX element types of the initializers (QDQ passes tell INT8 from UINT8 by them).
    var elementTypes: [String: Int32] = [:]
    private var counter = 0

    init(opset: Int, constants: [String: PlanValue], nodes: [ONNXNode], graphOutputs: Set<String>) {
        self.opset = opset
        self.constants = constants
        self.nodes = nodes
        self.graphOutputs = graphOutputs
    }

    /// Evaluates every node whose inputs are all constants and removes it.
    mutating func foldConstants() throws {
        var remaining = [ONNXNode]()
        for node in nodes {
            if node.operatorType == "Constant" && (node.domain.isEmpty || node.domain == "ai.onnx") {
                guard let output = node.outputs.first else { continue }
                constants[output] = try Self.constantValue(node)
                continue
            }
            let named = node.inputs.filter { !$0.isEmpty }
            let foldable = !named.isEmpty && named.allSatisfy { constants[$0] != nil }
                && node.domain.isEmpty && !["Dropout"].contains(node.operatorType)
            guard foldable else { remaining.append(node); continue }
            let op = try OperatorFactory.make(node: node, opset: opset, constants: constants)
            let inputs = node.inputs.map { $0.isEmpty ? nil : constants[$0] }
            let plan = try op.plan(inputs)
            let values = try plan.outputs.allSatisfy(\.isConstant) ? plan.outputs : ConstantFolding.evaluate(plan, inputs: inputs, node: NodeAttributes(node).label)
            for (name, value) in zip(node.outputs, values) where !name.isEmpty { constants[name] = value }
        }
        nodes = remaining
    }

    /// The value of a Constant node.
    static func constantValue(_ node: ONNXNode) throws -> PlanValue {
        let attributes = NodeAttributes(node)
        if let tensor = try attributes.tensor("value") {
            let shape = tensor.dimensions.map { Int($0) }
            return tensor.isInteger ? .constant(shape, ints: try tensor.int64Values()) : .constant(shape, floats: try tensor.floatValues())
        }
        if attributes.has("value_float") { return .constant([], floats: [try attributes.float("value_float", default: 0)]) }
        if let floats = try attributes.floats("value_floats") { return .constant([floats.count], floats: floats) }
        if attributes.has("value_int") { return .constant([], ints: [Int64(try attributes.int("value_int", default: 0))]) }
        if let ints = try attributes.ints("value_ints") { return .constant([ints.count], ints: ints.map { Int64($0) }) }
        throw attributes.invalid("Constant has no value attribute (value, value_float(s) or value_int(s))")
    }

    /// Folds BatchNormalization into convolutions and fuses residual Adds and activations.
    mutating func fuseConvolutions() throws {
        var consumers = [String: [Int]]()
        for (index, node) in nodes.enumerated() { for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(index) } }
        var removed = Set<Int>()
        var replacement = [Int: ONNXNode]()
        for (index, node) in nodes.enumerated() where node.operatorType == "Conv" && node.domain.isEmpty && !removed.contains(index) {
            guard node.inputs.count >= 2, let w = constants[node.inputs[1]], var weights = w.constantFloats, !w.shape.isEmpty else { continue }
            let outputChannels = w.shape[0]
            var bias: [Float]?
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                guard let b = constants[node.inputs[2]]?.constantFloats, b.count == outputChannels else { continue }
                bias = b
            }
            var current = node.outputs.first ?? ""
            var residual: String?
            var activation: FusedActivation = .identity
            var last = index
            var absorbed = [Int]()
            var foldedBatchNorm = false
            var maxPool = false
            while !graphOutputs.contains(current), let users = consumers[current], users.count == 1 {
                let next = nodes[users[0]]
                // A node without a (named) first output cannot be fused into (fuzz finding).
                guard next.domain.isEmpty, !removed.contains(users[0]), let nextOutput = next.outputs.first, !nextOutput.isEmpty else { break }
                let extraOutputs = next.outputs.dropFirst().contains { !$0.isEmpty }
                if next.operatorType == "BatchNormalization", residual == nil, activation == .identity, !extraOutputs,
                   next.inputs.count >= 5, next.inputs[0] == current,
                   let scale = constants[next.inputs[1]]?.constantFloats, let shift = constants[next.inputs[2]]?.constantFloats,
                   let mean = constants[next.inputs[3]]?.constantFloats, let variance = constants[next.inputs[4]]?.constantFloats,
                   [scale.count, shift.count, mean.count, variance.count].allSatisfy({ $0 == outputChannels }) {
                    let epsilon = try NodeAttributes(next).float("epsilon", default: 1e-5)
                    let (multiplier, offset) = BatchNormalizationOperator.affine(scale: scale, bias: shift, mean: mean, variance: variance, epsilon: epsilon)
                    let perChannel = weights.count / outputChannels
                    for o in 0..<outputChannels { for i in 0..<perChannel { weights[o * perChannel + i] *= multiplier[o] } }
                    bias = (0..<outputChannels).map { (bias?[$0] ?? 0) * multiplier[$0] + offset[$0] }
                    foldedBatchNorm = true
                } else if next.operatorType == "Add", residual == nil, activation == .identity, next.inputs.count == 2 {
                    let other = next.inputs[0] == current ? next.inputs[1] : next.inputs[0]
                    guard other != current, constants[other] == nil, !other.isEmpty else { break }
                    residual = other
                } else if activation == .identity, let fused = try fusableActivation(next) {
                    activation = fused
                } else if residual == nil, w.shape.count == 4, next.inputs.first == current, try isFusableMaxPool(next) {
                    maxPool = true
                } else {
                    break
                }
                absorbed.append(users[0])
                last = users[0]
                current = nextOutput
                // After an activation only a max pool may follow; nothing after the pool.
                if maxPool { break }
            }
            guard !absorbed.isEmpty else { continue }
            counter += 1
            var inputs = [node.inputs[0], node.inputs[1]]
            if foldedBatchNorm {
                let weightName = "landcover.folded_weight.\(counter)", biasName = "landcover.folded_bias.\(counter)"
                constants[weightName] = .constant(w.shape, floats: weights)
                constants[biasName] = .constant([outputChannels], floats: bias ?? [])
                inputs = [node.inputs[0], weightName, biasName]
                // The unfolded weights are dead unless another node reads them: release them now
                // rather than hold every layer's weights twice until the end of optimization.
                for name in node.inputs.dropFirst() where consumers[name]?.count == 1 && !graphOutputs.contains(name) {
                    constants[name] = nil
                }
            } else {
                inputs.append(node.inputs.count > 2 ? node.inputs[2] : "")
            }
            if let residual { inputs.append(residual) }
            var attributes = node.attributes.filter { !$0.name.hasPrefix("activation") && $0.name != "max_pool" }
                + OperatorFactory.activationAttributes(activation)
            if maxPool { attributes.append(ONNXAttribute(name: "max_pool", value: .int(1))) }
            let fused = ONNXNode(operatorType: "FusedConv", inputs: inputs, outputs: [current],
                                 name: node.name.isEmpty ? current : node.name, domain: OperatorFactory.internalDomain, attributes: attributes)
            removed.insert(index)
            for a in absorbed where a != last { removed.insert(a) }
            replacement[last] = fused
        }
        var rewritten = [ONNXNode]()
        for (index, node) in nodes.enumerated() where !removed.contains(index) {
            rewritten.append(replacement[index] ?? node)
        }
        nodes = rewritten
    }

    /// Whether `node` is a MaxPool the conv kernels can fuse: 2-D, 2x2 window, stride 2, no pads,
    /// no dilation, floor mode, no Indices output.
    private func isFusableMaxPool(_ node: ONNXNode) throws -> Bool {
        guard node.operatorType == "MaxPool", node.inputs.count == 1,
              !node.outputs.dropFirst().contains(where: { !$0.isEmpty }) else { return false }
        let attributes = NodeAttributes(node)
        guard try attributes.ints("kernel_shape") == [2, 2], try attributes.ints("strides") == [2, 2] else { return false }
        let pads = try attributes.ints("pads") ?? [0, 0, 0, 0]
        let dilations = try attributes.ints("dilations") ?? [1, 1]
        let autoPad = try attributes.string("auto_pad", default: "NOTSET")
        let ceilMode = try attributes.int("ceil_mode", default: 0)
        return pads == [0, 0, 0, 0] && dilations == [1, 1] && (autoPad == "NOTSET" || autoPad == "VALID") && ceilMode == 0
    }

    private func fusableActivation(_ node: ONNXNode) throws -> FusedActivation? {
        let attributes = NodeAttributes(node)
        switch node.operatorType {
        case "Relu": return .relu
        case "LeakyRelu": return .leakyRelu(alpha: try attributes.float("alpha", default: 0.01))
        case "Sigmoid": return .sigmoid
        case "HardSigmoid": return .hardSigmoid(alpha: try attributes.float("alpha", default: 0.2), beta: try attributes.float("beta", default: 0.5))
        case "HardSwish": return .hardSwish
        case "Clip":
            if opset < 11 {
                return .clip(min: try attributes.float("min", default: -Float.greatestFiniteMagnitude),
                             max: try attributes.float("max", default: Float.greatestFiniteMagnitude))
            }
            var low = -Float.greatestFiniteMagnitude, high = Float.greatestFiniteMagnitude
            if node.inputs.count > 1, !node.inputs[1].isEmpty {
                guard let v = constants[node.inputs[1]]?.constantFloats, v.count == 1 else { return nil }
                low = v[0]
            }
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                guard let v = constants[node.inputs[2]]?.constantFloats, v.count == 1 else { return nil }
                high = v[0]
            }
            return .clip(min: low, max: high)
        default: return nil
        }
    }

    /// Removes nodes none of whose outputs reach a graph output, then constants that no
    /// remaining node reads (unfolded weights, BatchNormalization parameters), except graph
    /// outputs and the names in `keeping` (initializers that double as graph inputs).
    mutating func removeDeadNodes(keeping: Set<String> = []) {
        var needed = graphOutputs
        var keep = [Bool](repeating: false, count: nodes.count)
        for index in stride(from: nodes.count - 1, through: 0, by: -1) {
            if nodes[index].outputs.contains(where: { needed.contains($0) }) {
                keep[index] = true
                for input in nodes[index].inputs where !input.isEmpty { needed.insert(input) }
            }
        }
        nodes = nodes.enumerated().filter { keep[$0.offset] }.map(\.element)
        for name in Array(constants.keys) where !needed.contains(name) && !keeping.contains(name) {
            constants[name] = nil
        }
    }
}

/// One runtime step of a compiled graph.
struct CompiledStep: Sendable {
    let op: GraphOperator
    /// Value ids of the inputs; -1 for an omitted optional input.
    let inputs: [Int]
    /// Value ids of the outputs; -1 for an omitted optional output.
    let outputs: [Int]
    let label: String
}

/// The immutable result of loading and optimizing a model: value table, load-time constants
/// and the topologically ordered steps.
struct CompiledGraph: Sendable {
    var valueNames: [String] = []
    var constants: [Int: PlanValue] = [:]
    /// Shared storage for Float constants that runtime steps read.
    var constantBuffers: [Int: ConstantBuffer] = [:]
    var steps: [CompiledStep] = []
    /// Graph inputs the caller must feed, in graph order.
    var inputs: [(name: String, id: Int, info: ONNXValueInfo)] = []
    var outputs: [(name: String, id: Int, info: ONNXValueInfo)] = []
    var opset: Int = 0

    /// Loads, optimizes and compiles `model`. `replacements` supply values for initializers
    /// that the caller feeds at run time.
    ///
    /// Memory: each initializer's payload is moved out of `model` as it is converted (on return
    /// `model` keeps only the initializers' names, shapes and types), constants that
    /// optimization made dead are dropped, and a convolution's weights are released as soon as
    /// its kernel has packed them, so a model's weights are never held in several forms at once.
    init(model: inout ONNXModel, replacements: [String: AnyTensor], precision: InferencePrecision = .fp32) throws {
        guard let opset = model.defaultOpsetVersion else {
            throw ONNXError.invalidModel(detail: "no opset_import for the default ONNX domain; add one (opset 11 to 21)")
        }
        guard opset >= 1 else {
            throw ONNXError.invalidModel(detail: "opset \(opset) is not a valid version; re-export with opset 11 to 21")
        }
        self.opset = opset
        let graphOutputNames = Set(model.graph.outputs.map(\.name))
        guard !model.graph.outputs.isEmpty else { throw ONNXError.invalidModel(detail: "the graph declares no outputs") }
        var optimizer = GraphOptimizer(opset: opset, constants: [:], nodes: model.graph.nodes, graphOutputs: graphOutputNames)
        for index in model.graph.initializers.indices {
            let tensor = model.graph.initializers[index]
            if let replacement = replacements[tensor.name] {
                optimizer.constants[tensor.name] = Self.planValue(replacement)
            } else {
                let shape = tensor.dimensions.map { Int($0) }
                guard shape.allSatisfy({ $0 >= 0 }) else { throw ONNXError.unsupportedTensor(name: tensor.name, detail: "negative dimension in \(shape)") }
                optimizer.constants[tensor.name] = tensor.isInteger
                    ? .constant(shape, ints: try tensor.int64Values()) : .constant(shape, floats: try tensor.floatValues())
            }
            optimizer.elementTypes[tensor.name] = tensor.dataType
            model.graph.initializers[index].dropPayload()
        }
        // Graph inputs' declared element types too: a zero point given at run time still decides
        // QuantizeLinear's output type.
        for input in model.graph.inputs where optimizer.elementTypes[input.name] == nil {
            optimizer.elementTypes[input.name] = input.elementType
        }
        optimizer.annotateQuantizedTypes()
        if precision == .int8 {
            guard optimizer.nodes.contains(where: { $0.operatorType == "QuantizeLinear" }) else {
                throw ONNXError.precisionUnavailable(precision: precision.rawValue, detail: "int8 precision needs a quantized (QDQ) model such as onnxruntime's quantize_static writes (QuantizeLinear/DequantizeLinear pairs); quantize the model or run it at fp32")
            }
            optimizer.fuseQuantizedConvolutions()
        }
        try optimizer.foldConstants()
        try optimizer.fuseConvolutions()
        optimizer.removeDeadNodes(keeping: Set(model.graph.inputs.map(\.name)))

        var ids = [String: Int]()
        func id(_ name: String) -> Int {
            if let existing = ids[name] { return existing }
            valueNames.append(name)
            ids[name] = valueNames.count - 1
            return valueNames.count - 1
        }
        let constantNames = optimizer.constants.keys.sorted()
        for name in constantNames { _ = id(name) }
        for info in model.graph.inputs where optimizer.constants[info.name] == nil {
            inputs.append((info.name, id(info.name), info))
        }
        // A constant read by one node only, and not a graph output, is released as soon as that
        // node's operator has packed it (see `constantInputsConsumedAtLoad`).
        var readers = [String: Int]()
        for node in optimizer.nodes { for name in node.inputs where optimizer.constants[name] != nil { readers[name, default: 0] += 1 } }
        var produced = Set(inputs.map(\.id)).union(constantNames.map(id))
        for node in optimizer.nodes {
            let op = try OperatorFactory.make(node: node, opset: opset, constants: optimizer.constants)
            for position in op.constantInputsConsumedAtLoad where position < node.inputs.count {
                let name = node.inputs[position]
                if readers[name] == 1, !graphOutputNames.contains(name), let value = optimizer.constants[name] {
                    optimizer.constants[name] = .runtime(value.shape, value.type)
                }
            }
            let label = NodeAttributes(node).label
            let inputIDs = try node.inputs.map { name -> Int in
                if name.isEmpty { return -1 }
                guard let value = ids[name], produced.contains(value) else { throw ONNXError.missingValue(name: name, node: label) }
                return value
            }
            let outputIDs = try node.outputs.map { name -> Int in
                if name.isEmpty { return -1 }
                if let existing = ids[name], produced.contains(existing) {
                    throw ONNXError.invalidModel(detail: "value \"\(name)\" is produced twice (again by \(label))")
                }
                let value = id(name)
                produced.insert(value)
                return value
            }
            steps.append(CompiledStep(op: op, inputs: inputIDs, outputs: outputIDs, label: label))
        }
        for name in constantNames { constants[id(name)] = optimizer.constants[name] }
        for info in model.graph.outputs {
            guard let value = ids[info.name], produced.contains(value) else {
                throw ONNXError.missingValue(name: info.name, node: "graph output \"\(info.name)\"")
            }
            outputs.append((info.name, value, info))
        }
        // Constants that operators packed into their own form at load (convolution weights) and
        // that nothing else reads keep only their shape: a ResNet-18 would hold its weights twice.
        var uses = [Int: [(step: Int, position: Int)]]()
        for (index, step) in steps.enumerated() {
            for (position, input) in step.inputs.enumerated() where input >= 0 && constants[input] != nil {
                uses[input, default: []].append((index, position))
            }
        }
        let outputIDs = Set(outputs.map(\.id))
        for (id, list) in uses where !outputIDs.contains(id) {
            let consumed = list.allSatisfy { steps[$0.step].op.constantInputsConsumedAtLoad.contains($0.position) }
            if consumed, let value = constants[id] { constants[id] = .runtime(value.shape, value.type) }
        }
        // Share the Float constants runtime steps read.
        for step in steps {
            for input in step.inputs where input >= 0 {
                if constantBuffers[input] == nil, let floats = constants[input]?.constantFloats {
                    constantBuffers[input] = ConstantBuffer(floats)
                }
            }
        }
    }

    static func planValue(_ tensor: AnyTensor) -> PlanValue {
        switch tensor {
        case .float32(let t): return .constant(t.shape, floats: t.scalars)
        case .int64(let t): return .constant(t.shape, ints: t.values)
        }
    }
}

import CNN

extension Network {
    /// Builds a trainable network from an ONNX model for fine-tuning.
    ///
    /// Every node must use a trainable operator (``supportedOperators``) in a form this module
    /// implements (2-D, NCHW, constant Resize scales, weights as initializers). Float
    /// initializers read by nodes become ``parameters`` (rank-1 ones, and BatchNormalization
    /// scale/shift, do not decay), except BatchNormalization `input_mean`/`input_var`, which
    /// become ``runningStatistics``; Resize scales and Clip bounds are read as constants.
    /// `Identity` nodes are bypassed and a final `Softmax` over the class axis is dropped (the
    /// network outputs logits; export again with `landcover.output = probabilities` to restore
    /// it). Node names become layer names (unnamed nodes get `<op>_<index>`), value and
    /// initializer names are kept.
    ///
    /// - Parameters:
    ///   - onnx: the decoded model (`try ONNXModel(serializedData:)`).
    ///   - seed: seed of the dropout stream.
    /// - Throws: ``NetworkError/unsupportedOperator(node:operatorType:detail:)`` naming the first
    ///   node that cannot be trained and why, or another ``NetworkError`` for inconsistent graphs.
    public convenience init(onnx model: ONNXModel, seed: UInt64 = 0) throws {
        let importer = try ONNXImporter(model: model)
        try self.init(inputName: importer.inputName, inputChannels: importer.inputChannels, nodes: importer.nodes,
                      parameters: importer.parameters, runningStatistics: importer.runningStatistics, seed: seed)
    }
}

/// Translates an ``ONNXModel`` into network nodes, parameters and running statistics.
struct ONNXImporter {
    var inputName = ""
    var inputChannels = 0
    var nodes = [NetworkNode]()
    var parameters = [Parameter]()
    var runningStatistics = [Parameter]()

    init(model: ONNXModel) throws {
        let graph = model.graph
        let opset = model.defaultOpsetVersion ?? 17
        var initializers = [String: ONNXTensor]()
        for tensor in graph.initializers { initializers[tensor.name] = tensor }
        let fed = graph.inputs.filter { initializers[$0.name] == nil }
        guard fed.count == 1, let input = fed.first else {
            throw NetworkError.invalidGraph(detail: "a trainable network needs exactly one graph input, this model has \(fed.map(\.name))")
        }
        guard let shape = input.shape, shape.count == 4, case .value(let channels) = shape[1], channels > 0 else {
            throw NetworkError.invalidGraph(detail: "input \"\(input.name)\" must be NCHW with a fixed channel count, declared \(input.shape.map { "\($0)" } ?? "without shape")")
        }
        inputName = input.name
        inputChannels = Int(channels)
        guard let graphOutput = graph.outputs.first, graph.outputs.count == 1 else {
            throw NetworkError.invalidGraph(detail: "a trainable network needs exactly one graph output, this model has \(graph.outputs.count)")
        }

        var constants = [String: [Float]]()          // Constant nodes and non-parameter initializers
        var alias = [String: String]()               // Identity outputs -> inputs
        var parameterRole = [String: Bool]()         // initializer name -> is running statistic
        var names = Set<String>()
        func resolve(_ name: String) -> String { alias[name] ?? name }

        for (index, onnxNode) in graph.nodes.enumerated() {
            var name = onnxNode.name.isEmpty ? "\(onnxNode.operatorType)_\(index)" : onnxNode.name
            if names.contains(name) { name += "_\(index)" }
            names.insert(name)
            let op = onnxNode.operatorType
            func unsupported(_ detail: String) -> NetworkError { .unsupportedOperator(node: name, operatorType: op, detail: detail) }
            guard onnxNode.domain.isEmpty || onnxNode.domain == "ai.onnx" else { throw unsupported("domain \(onnxNode.domain) is not supported") }
            let inputs = onnxNode.inputs.map(resolve)
            guard let output = onnxNode.outputs.first, !output.isEmpty else { throw unsupported("the node has no output") }
            if onnxNode.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
                throw unsupported("only the first output is supported (remove the optional outputs \(onnxNode.outputs.dropFirst().filter { !$0.isEmpty }))")
            }
            let attributes = ImportedAttributes(node: onnxNode, name: name)

            /// A constant input (initializer or Constant node) at `position`, if present.
            func constant(_ position: Int) throws -> [Float]? {
                guard position < inputs.count, !inputs[position].isEmpty else { return nil }
                let value = inputs[position]
                if let values = constants[value] { return values }
                if let tensor = initializers[value] {
                    do { return try tensor.floatValues() } catch { throw unsupported("initializer \"\(value)\" is not numeric: \(error.localizedDescription)") }
                }
                throw unsupported("input \(position) (\"\(value)\") must be a constant")
            }
            /// Registers initializer inputs starting at `position` as parameters or statistics.
            func initializerInputs(from position: Int, statisticsFrom: Int = Int.max) throws -> [String] {
                var result = [String]()
                for (offset, value) in inputs.dropFirst(position).enumerated() where !value.isEmpty {
                    guard initializers[value] != nil else {
                        throw unsupported("input \"\(value)\" must be an initializer (weights computed at run time cannot be trained)")
                    }
                    let isStatistic = position + offset >= statisticsFrom
                    if let role = parameterRole[value], role != isStatistic {
                        throw unsupported("initializer \"\(value)\" is used both as a parameter and as a running statistic")
                    }
                    parameterRole[value] = isStatistic
                    result.append(value)
                }
                return result
            }
            func dataInput() throws -> String {
                guard let first = inputs.first, !first.isEmpty, initializers[first] == nil, constants[first] == nil else {
                    throw unsupported("the first input must be computed from the graph input, not a constant")
                }
                return first
            }

            var operation: NetworkOperator
            var nodeInputs: [String]
            switch op {
            case "Identity":
                alias[output] = inputs.first ?? ""
                continue
            case "Constant":
                guard let tensor = try attributes.tensor("value") else { throw unsupported("only the tensor form (value) of Constant is supported") }
                do { constants[output] = try tensor.floatValues() } catch { throw unsupported("its value is not numeric") }
                continue
            case "Softmax" where output == graphOutput.name:
                let axis = try attributes.int("axis", default: opset >= 13 ? -1 : 1)
                guard axis == 1 || (axis == -1 && graphOutput.shape?.count == 2) else {
                    throw unsupported("a final Softmax must normalize the class axis 1")
                }
                alias[output] = inputs.first ?? ""
                continue
            case "Conv", "ConvTranspose":
                let x = try dataInput()
                let params = try initializerInputs(from: 1)
                guard let weight = params.first, let w = initializers[weight], w.dimensions.count == 4 else {
                    throw unsupported("needs a rank-4 weight initializer (only 2-D convolutions are supported)")
                }
                guard try attributes.string("auto_pad", default: "NOTSET") == "NOTSET" || (try attributes.string("auto_pad", default: "NOTSET")) == "VALID" else {
                    throw unsupported("auto_pad SAME_UPPER/SAME_LOWER is not supported; export with explicit pads")
                }
                if op == "ConvTranspose", attributes.has("output_shape") { throw unsupported("output_shape is not supported; export with pads and output_padding") }
                let kernel = try attributes.ints("kernel_shape") ?? w.dimensions.suffix(2).map { Int($0) }
                let a = ConvolutionAttributes(kernelShape: kernel, strides: try attributes.ints("strides") ?? [1, 1],
                                              pads: try attributes.ints("pads") ?? [0, 0, 0, 0],
                                              dilations: try attributes.ints("dilations") ?? [1, 1],
                                              groups: try attributes.int("group", default: 1),
                                              outputPadding: try attributes.ints("output_padding") ?? [0, 0])
                operation = op == "Conv" ? .conv(a) : .convTranspose(a)
                nodeInputs = [x] + params
            case "BatchNormalization":
                let x = try dataInput()
                guard try attributes.int("training_mode", default: 0) == 0 else { throw unsupported("training_mode=1 graphs are not supported; export in eval mode") }
                if opset < 9, try attributes.int("spatial", default: 1) == 0 { throw unsupported("spatial=0 is not supported") }
                let params = try initializerInputs(from: 1, statisticsFrom: 3)
                guard params.count == 4 else { throw unsupported("scale, B, input_mean and input_var must all be initializers") }
                operation = .batchNormalization(epsilon: try attributes.float("epsilon", default: 1e-5),
                                                momentum: try attributes.float("momentum", default: 0.9))
                nodeInputs = [x] + params
            case "Relu": operation = .relu; nodeInputs = [try dataInput()]
            case "Sigmoid": operation = .sigmoid; nodeInputs = [try dataInput()]
            case "LeakyRelu": operation = .leakyRelu(alpha: try attributes.float("alpha", default: 0.01)); nodeInputs = [try dataInput()]
            case "Clip":
                var low = -Float.greatestFiniteMagnitude, high = Float.greatestFiniteMagnitude
                if opset < 11 {
                    low = try attributes.float("min", default: low); high = try attributes.float("max", default: high)
                } else {
                    if let values = try constant(1) { guard values.count == 1 else { throw unsupported("min must be a scalar") }; low = values[0] }
                    if let values = try constant(2) { guard values.count == 1 else { throw unsupported("max must be a scalar") }; high = values[0] }
                }
                operation = .clip(min: low, max: high)
                nodeInputs = [try dataInput()]
            case "MaxPool", "AveragePool":
                guard try attributes.string("auto_pad", default: "NOTSET") == "NOTSET" else { throw unsupported("auto_pad is not supported; export with explicit pads") }
                guard let kernel = try attributes.ints("kernel_shape"), kernel.count == 2 else { throw unsupported("only 2-D pooling is supported") }
                let a = PoolAttributes(kernelShape: kernel, strides: try attributes.ints("strides") ?? [1, 1],
                                       pads: try attributes.ints("pads") ?? [0, 0, 0, 0],
                                       dilations: try attributes.ints("dilations") ?? [1, 1],
                                       ceilMode: try attributes.int("ceil_mode", default: 0) != 0,
                                       countIncludePad: try attributes.int("count_include_pad", default: 0) != 0)
                operation = op == "MaxPool" ? .maxPool(a) : .averagePool(a)
                nodeInputs = [try dataInput()]
            case "GlobalAveragePool": operation = .globalAveragePool; nodeInputs = [try dataInput()]
            case "Gemm":
                guard try attributes.int("transA", default: 0) == 0 else { throw unsupported("transA=1 is not supported") }
                let x = try dataInput()
                let params = try initializerInputs(from: 1)
                guard !params.isEmpty else { throw unsupported("B must be an initializer") }
                operation = .gemm(alpha: try attributes.float("alpha", default: 1), beta: try attributes.float("beta", default: 1),
                                  transB: try attributes.int("transB", default: 0) != 0)
                nodeInputs = [x] + params
            case "MatMul":
                let x = try dataInput()
                let params = try initializerInputs(from: 1)
                guard params.count == 1 else { throw unsupported("the second operand must be an initializer") }
                operation = .matMul
                nodeInputs = [x] + params
            case "Add":
                guard inputs.count == 2, inputs.allSatisfy({ initializers[$0] == nil && constants[$0] == nil }) else {
                    throw unsupported("only the sum of two computed values of equal shape is supported (no constant operand)")
                }
                operation = .add
                nodeInputs = inputs
            case "Concat":
                guard inputs.allSatisfy({ initializers[$0] == nil && constants[$0] == nil }) else { throw unsupported("constant operands are not supported") }
                operation = .concat(axis: try attributes.int("axis", default: 1))
                nodeInputs = inputs
            case "Dropout":
                var ratio = try attributes.float("ratio", default: 0.5)
                if opset >= 12 { ratio = try constant(1)?.first ?? 0.5 }
                operation = .dropout(ratio: ratio)
                nodeInputs = [try dataInput()]
            case "Flatten": operation = .flatten(axis: try attributes.int("axis", default: 1)); nodeInputs = [try dataInput()]
            case "Resize", "Upsample":
                let x = try dataInput()
                let scalesPosition = op == "Upsample" || opset < 11 ? 1 : 2
                if inputs.count > 3, !inputs[3].isEmpty { throw unsupported("the sizes input is not supported; export with scale_factor") }
                guard let scales = try constant(scalesPosition), scales.count == 4, scales[0] == 1, scales[1] == 1 else {
                    throw unsupported("needs constant scales [1, 1, sH, sW]")
                }
                let legacy = op == "Upsample" || opset < 11
                let mode = try attributes.string("mode", default: "nearest")
                guard let parsed = ResizeAttributes.Mode(rawValue: mode == "bilinear" ? "linear" : mode) else {
                    throw unsupported("mode \(mode) is not supported (nearest or linear)")
                }
                operation = .resize(ResizeAttributes(
                    mode: parsed,
                    coordinateTransformation: legacy ? "asymmetric" : try attributes.string("coordinate_transformation_mode", default: "half_pixel"),
                    nearestMode: legacy ? "floor" : try attributes.string("nearest_mode", default: "round_prefer_floor"),
                    scaleHeight: scales[2], scaleWidth: scales[3]))
                nodeInputs = [x]
            default:
                throw unsupported("this operator has no backward pass in landcover")
            }
            nodes.append(NetworkNode(name: name, operation: operation, inputs: nodeInputs, output: output))
        }
        guard let last = nodes.last, resolve(graphOutput.name) == last.output else {
            throw NetworkError.invalidGraph(detail: "the graph output \"\(graphOutput.name)\" must be produced by the last trainable node")
        }
        // Parameters in first-use order.
        var seen = Set<String>()
        for node in nodes {
            for (position, name) in node.initializerInputs.enumerated() where seen.insert(name).inserted {
                guard let tensor = initializers[name] else { continue }
                let values: [Float]
                do { values = try tensor.floatValues() } catch {
                    throw NetworkError.invalidParameter(name: name, detail: "cannot be read as Float32 (\(error.localizedDescription))")
                }
                let shape = tensor.dimensions.map { Int($0) }
                var product = 1
                for dimension in shape {
                    let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
                    product = overflow ? -1 : next
                }
                guard shape.allSatisfy({ $0 >= 0 }), product == values.count else {
                    throw NetworkError.invalidParameter(name: name, detail: "dimensions \(tensor.dimensions) do not match its \(values.count) values")
                }
                let isNormalization: Bool
                if case .batchNormalization = node.operation { isNormalization = true } else { isNormalization = false }
                let parameter = Parameter(name: name, shape: shape, value: values, decays: shape.count > 1 && !isNormalization)
                if parameterRole[name] == true || (isNormalization && position >= 2) {
                    runningStatistics.append(parameter)
                } else {
                    parameters.append(parameter)
                }
            }
        }
    }
}

/// The engine's attribute reader (``NodeAttributes``, the one place ONNX attribute values are
/// interpreted), its errors restated as import errors that name the node.
struct ImportedAttributes {
    let attributes: NodeAttributes
    let name: String

    init(node: ONNXNode, name: String) {
        attributes = NodeAttributes(node)
        self.name = name
    }

    private func read<T>(_ body: (NodeAttributes) throws -> T) throws -> T {
        do { return try body(attributes) } catch let error as ONNXError {
            var detail = error.localizedDescription
            if case .invalidAttribute(_, let text) = error { detail = text }
            throw NetworkError.unsupportedOperator(node: name, operatorType: attributes.node.operatorType, detail: detail)
        }
    }
    func has(_ attribute: String) -> Bool { attributes.has(attribute) }
    func int(_ attribute: String, default value: Int) throws -> Int { try read { try $0.int(attribute, default: value) } }
    func float(_ attribute: String, default value: Float) throws -> Float { try read { try $0.float(attribute, default: value) } }
    func ints(_ attribute: String) throws -> [Int]? { try read { try $0.ints(attribute) } }
    func string(_ attribute: String, default value: String) throws -> String { try read { try $0.string(attribute, default: value) } }
    func tensor(_ attribute: String) throws -> ONNXTensor? { try read { try $0.tensor(attribute) } }
}

import CNN

extension Network {
    /// Name of the exported output when the contract asks for logits.
    public static let logitsOutputName = "logits"
    /// Name of the exported output when the contract asks for probabilities.
    public static let probabilitiesOutputName = "probabilities"

    /// Exports the network for inference as an ONNX model (opset 17, IR version 8) that loads in
    /// ``CNN/InferenceModel`` and onnxruntime.
    ///
    /// - The input is `[N, inputChannels, patchSize, patchSize]` with a symbolic batch `N`; the
    ///   output `[N, classes]` or `[N, classes, H, W]` is named `logits`, or `probabilities` when
    ///   `contract.output == .probabilities` (a `Softmax` over axis 1 is appended).
    /// - BatchNormalization is exported in inference form with the running statistics; Dropout is
    ///   removed; Resize scales and Clip bounds become initializers (`<node>.scales`,
    ///   `<node>.min`, `<node>.max`); parameters keep their names.
    /// - The contract's entries (``CNN/ModelContract/metadataEntries``) are embedded in
    ///   `metadata_props`.
    /// - Throws: ``NetworkError/invalidGraph(detail:)`` when the contract does not fit the
    ///   network (band count, class count, task) or a node cannot be expressed at opset 17.
    public func exportONNX(contract: ModelContract) throws -> ONNXModel {
        guard contract.bands.count == inputChannels else {
            throw NetworkError.invalidGraph(detail: "the contract lists \(contract.bands.count) bands but the network has \(inputChannels) input channels; make landcover.bands match the input")
        }
        let size = contract.patchSize
        let outputShape = try self.outputShape(inputShape: [1, inputChannels, size, size])
        let expectedRank = contract.task == .patchClassification ? 2 : 4
        guard outputShape.count == expectedRank else {
            throw NetworkError.invalidGraph(detail: "task \(contract.task.rawValue) needs rank-\(expectedRank) logits but the network outputs \(outputShape)")
        }
        guard outputShape[1] == contract.classNames.count else {
            throw NetworkError.invalidGraph(detail: "the contract lists \(contract.classNames.count) classes but the network outputs \(outputShape[1]); replace the head or fix landcover.class_names")
        }
        var rename = [String: String]()
        func resolve(_ name: String) -> String { rename[name] ?? name }
        var onnxNodes = [ONNXNode]()
        var constants = [ONNXTensor]()
        for node in nodes {
            let inputs = node.inputs.map(resolve)
            if case .dropout = node.operation {
                rename[node.output] = resolve(node.dataInputs[0])
                continue
            }
            var attributes = [ONNXAttribute]()
            var extraInputs = [String]()
            func ints(_ name: String, _ values: [Int]) { attributes.append(ONNXAttribute(name: name, value: .ints(values.map { Int64($0) }))) }
            func int(_ name: String, _ value: Int) { attributes.append(ONNXAttribute(name: name, value: .int(Int64(value)))) }
            func float(_ name: String, _ value: Float) { attributes.append(ONNXAttribute(name: name, value: .float(value))) }
            func string(_ name: String, _ value: String) { attributes.append(ONNXAttribute(name: name, value: .string(value))) }
            switch node.operation {
            case .conv(let a), .convTranspose(let a):
                ints("kernel_shape", a.kernelShape); ints("strides", a.strides); ints("pads", a.pads)
                ints("dilations", a.dilations); int("group", a.groups)
                if case .convTranspose = node.operation, a.outputPadding.contains(where: { $0 != 0 }) { ints("output_padding", a.outputPadding) }
            case .resize(let a):
                let scales = ONNXTensor(name: node.name + ".scales", dimensions: [4], floats: [1, 1, a.scaleHeight, a.scaleWidth])
                constants.append(scales)
                extraInputs = ["", scales.name]
                string("mode", a.mode.rawValue)
                string("coordinate_transformation_mode", a.coordinateTransformation)
                if a.mode == .nearest { string("nearest_mode", a.nearestMode) }
            case .batchNormalization(let epsilon, let momentum):
                float("epsilon", epsilon); float("momentum", momentum)
            case .leakyRelu(let alpha): float("alpha", alpha)
            case .clip(let low, let high):
                let lower = ONNXTensor(name: node.name + ".min", dimensions: [], floats: [low])
                let upper = ONNXTensor(name: node.name + ".max", dimensions: [], floats: [high])
                constants += [lower, upper]
                extraInputs = [lower.name, upper.name]
            case .maxPool(let a), .averagePool(let a):
                ints("kernel_shape", a.kernelShape); ints("strides", a.strides); ints("pads", a.pads)
                int("ceil_mode", a.ceilMode ? 1 : 0)
                if case .maxPool = node.operation {
                    ints("dilations", a.dilations)
                } else {
                    guard a.dilations == [1, 1] else {
                        throw NetworkError.invalidNode(node: node.name, operatorType: "AveragePool", detail: "dilations \(a.dilations) need opset 19; export supports opset 17 (use dilations 1)")
                    }
                    int("count_include_pad", a.countIncludePad ? 1 : 0)
                }
            case .gemm(let alpha, let beta, let transB):
                float("alpha", alpha); float("beta", beta); int("transB", transB ? 1 : 0)
            case .concat(let axis): int("axis", axis)
            case .flatten(let axis): int("axis", axis)
            case .relu, .sigmoid, .globalAveragePool, .matMul, .add, .dropout: break
            }
            onnxNodes.append(ONNXNode(operatorType: node.operation.onnxType, inputs: inputs + extraInputs, outputs: [node.output],
                                      name: node.name, attributes: attributes))
        }
        // Name the network output `logits`.
        let finalValue = resolve(outputName)
        if finalValue != inputName, let index = onnxNodes.lastIndex(where: { $0.outputs.contains(finalValue) }) {
            onnxNodes[index].outputs = [Self.logitsOutputName]
            for i in onnxNodes.indices {
                onnxNodes[i].inputs = onnxNodes[i].inputs.map { $0 == finalValue ? Self.logitsOutputName : $0 }
            }
        } else {
            onnxNodes.append(ONNXNode(operatorType: "Identity", inputs: [finalValue], outputs: [Self.logitsOutputName], name: "output"))
        }
        var graphOutput = Self.logitsOutputName
        if contract.output == .probabilities {
            onnxNodes.append(ONNXNode(operatorType: "Softmax", inputs: [Self.logitsOutputName], outputs: [Self.probabilitiesOutputName],
                                      name: "softmax", attributes: [ONNXAttribute(name: "axis", value: .int(1))]))
            graphOutput = Self.probabilitiesOutputName
        }
        let initializers = (parameters + runningStatistics).map { ONNXTensor(name: $0.name, dimensions: $0.shape, floats: $0.value) } + constants
        let batch = ONNXValueInfo.Dimension.parameter("N")
        let input = ONNXValueInfo(name: inputName, shape: [batch] + [inputChannels, size, size].map { .value(Int64($0)) })
        let output = ONNXValueInfo(name: graphOutput, shape: [batch] + outputShape.dropFirst().map { .value(Int64($0)) })
        let graph = ONNXGraph(name: "landcover", nodes: onnxNodes, initializers: initializers, inputs: [input], outputs: [output])
        return ONNXModel(graph: graph, irVersion: 8, opsetImports: [ONNXOperatorSetID(domain: "", version: 17)],
                         producerName: "landcover-training", metadataProps: contract.metadataEntries)
    }
}

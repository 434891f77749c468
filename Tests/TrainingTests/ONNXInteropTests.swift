import CNN
import Foundation
import TestSupport
import Testing
import Training

/// Export to ONNX, load in the engine and in onnxruntime, re-import for fine-tuning.
@Suite struct ONNXInteropTests {
    static func contract(bands: Int, classes: Int, patchSize: Int, task: ModelContract.Task = .patchClassification,
                         output: ModelContract.OutputKind = .logits) -> ModelContract {
        ModelContract(task: task, bands: (1...bands).map { String(format: "B%02d", $0) },
                      normalization: .meanStd(mean: [Float](repeating: 1000, count: bands), std: [Float](repeating: 500, count: bands)),
                      patchSize: patchSize, classNames: (0..<classes).map { "class\($0)" },
                      classColors: (0..<classes).map { ModelContract.Color(red: UInt8($0 * 20), green: 100, blue: 200) },
                      output: output)
    }

    /// Gaussian noise around a random per-sample, per-channel level (so that patches differ
    /// after global pooling, not only in their noise).
    static func random(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var g = SeededGenerator(seed: seed)
        let plane = shape.dropFirst(2).reduce(1, *)
        var scalars = [Float]()
        scalars.reserveCapacity(shape.reduce(1, *))
        for _ in 0..<(shape[0] * shape[1]) {
            let level = g.nextGaussian()
            for _ in 0..<plane { scalars.append(level + 0.5 * g.nextGaussian()) }
        }
        return try Tensor(shape: shape, scalars: scalars)
    }

    /// A few plain SGD steps on random data so that running statistics and weights move.
    static func train(_ network: Network, steps: Int, inputShape: [Int], classes: Int, seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        let inputs = try random(inputShape, seed: seed)
        let output = try network.outputShape(inputShape: inputShape)
        let targets = (0..<(output[0] * output.dropFirst(2).reduce(1, *))).map { _ in Int32(g.next() % UInt64(classes)) }
        for _ in 0..<steps {
            for p in network.parameters { p.zeroGradient() }
            _ = try network.accumulateGradients(for: TrainingBatch(inputs: inputs, targets: targets), loss: .init(), workers: 2)
            for p in network.parameters { for i in p.value.indices { p.value[i] -= 0.05 * p.gradient[i] } }
        }
    }

    static func softmax(_ logits: Tensor) -> [Float] {
        let classes = logits.shape[1], inner = logits.shape.dropFirst(2).reduce(1, *)
        var result = logits.scalars
        for n in 0..<logits.shape[0] {
            for p in 0..<inner {
                let base = n * classes * inner + p
                var maximum = -Float.infinity
                for c in 0..<classes { maximum = max(maximum, logits.scalars[base + c * inner]) }
                var sum: Float = 0
                for c in 0..<classes { sum += exp(logits.scalars[base + c * inner] - maximum) }
                for c in 0..<classes { result[base + c * inner] = exp(logits.scalars[base + c * inner] - maximum) / sum }
            }
        }
        return result
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test func exportedModelsAgreeWithTheEngineAndRoundTrip() throws {
        let cases: [(String, Network, ModelContract, Int)] = [
            ("small CNN + BN", try ModelZoo.smallCNN(inputChannels: 4, classes: 3, batchNormalization: true, seed: 1),
             Self.contract(bands: 4, classes: 3, patchSize: 16), 3),
            ("ResNet-18", try ModelZoo.resnet18(inputChannels: 13, classes: 10, seed: 6),
             Self.contract(bands: 13, classes: 10, patchSize: 16, output: .probabilities), 10),
            ("VGG with dropout", try ModelZoo.vgg(inputChannels: 3, classes: 4, widths: [8, 16], seed: 2),
             Self.contract(bands: 3, classes: 4, patchSize: 16, output: .probabilities), 4),
            ("U-Net, transposed convolutions", try ModelZoo.unet(inputChannels: 3, classes: 4, baseChannels: 4, seed: 3),
             Self.contract(bands: 3, classes: 4, patchSize: 16, task: .segmentation), 4),
            ("U-Net, bilinear resize", try ModelZoo.unet(inputChannels: 3, classes: 4, baseChannels: 4, upsampling: .resize(.linear), seed: 4),
             Self.contract(bands: 3, classes: 4, patchSize: 16, task: .segmentation, output: .probabilities), 4),
            ("U-Net, nearest resize", try ModelZoo.unet(inputChannels: 3, classes: 4, baseChannels: 4, upsampling: .resize(.nearest), seed: 5),
             Self.contract(bands: 3, classes: 4, patchSize: 16, task: .segmentation), 4),
        ]
        for (name, network, contract, classes) in cases {
            let bands = contract.bands.count
            try Self.train(network, steps: 2, inputShape: [6, bands, 16, 16], classes: classes, seed: 7)
            let model = try network.exportONNX(contract: contract)
            #expect(model.defaultOpsetVersion == 17)
            #expect(!model.graph.nodes.contains { $0.operatorType == "Dropout" }, "\(name)")
            let engine = try InferenceModel(data: model.serializedData())
            #expect(engine.contract == contract, "\(name)")
            let inputs = try Self.random([5, bands, 16, 16], seed: 11)
            let ours = try network.predict(inputs, workers: 1)
            guard let exported = try engine.run(inputs: [network.inputName: inputs], threads: 2).values.first else {
                Issue.record("\(name): no output"); continue
            }
            let expected = contract.output == .probabilities ? Self.softmax(ours) : ours.scalars
            #expect(exported.shape == ours.shape, "\(name)")
            #expect(Self.maxDifference(exported.scalars, expected) <= 1e-4, "\(name)")
            #expect(try exported.argmax(axis: 1) == ours.argmax(axis: 1), "\(name)")

            // Re-import: same graph in inference, bit-identical predictions.
            let reimported = try Network(onnx: try ONNXModel(serializedData: model.serializedData()))
            #expect(reimported.parameters.map(\.name) == network.parameters.map(\.name), "\(name)")
            #expect(reimported.runningStatistics.map(\.value) == network.runningStatistics.map(\.value), "\(name)")
            #expect(try reimported.predict(inputs, workers: 2).scalars == ours.scalars, "\(name)")
        }
    }

    @Test func exportRejectsAContractThatDoesNotFit() throws {
        let network = try ModelZoo.smallCNN(inputChannels: 4, classes: 3, seed: 1)
        #expect(throws: NetworkError.self) { try network.exportONNX(contract: Self.contract(bands: 5, classes: 3, patchSize: 16)) }
        #expect(throws: NetworkError.self) { try network.exportONNX(contract: Self.contract(bands: 4, classes: 2, patchSize: 16)) }
        #expect(throws: NetworkError.self) {
            try network.exportONNX(contract: Self.contract(bands: 4, classes: 3, patchSize: 16, task: .segmentation))
        }
    }

    @Test func importNamesTheUnsupportedNodeAndOperator() throws {
        var model = try ModelZoo.smallCNN(inputChannels: 2, classes: 3, seed: 1)
            .exportONNX(contract: Self.contract(bands: 2, classes: 3, patchSize: 8))
        model.graph.nodes[1] = ONNXNode(operatorType: "Tanh", inputs: model.graph.nodes[1].inputs,
                                        outputs: model.graph.nodes[1].outputs, name: "odd_activation")
        do {
            _ = try Network(onnx: model)
            Issue.record("import of a Tanh node succeeded")
        } catch let error as NetworkError {
            #expect(error == .unsupportedOperator(node: "odd_activation", operatorType: "Tanh", detail: "this operator has no backward pass in landcover"))
            #expect(error.localizedDescription.contains("odd_activation"))
        }
        var computedWeights = try ModelZoo.smallCNN(inputChannels: 2, classes: 3, seed: 1)
            .exportONNX(contract: Self.contract(bands: 2, classes: 3, patchSize: 8))
        computedWeights.graph.initializers.removeAll { $0.name == "conv2.weight" }
        #expect(throws: NetworkError.self) { try Network(onnx: computedWeights) }
    }

    /// Exports a trained small CNN with BatchNormalization and probabilities output, then runs
    /// 1,000 patches of 64x64x13 through onnxruntime (`scripts/training/ort_predict.py`), the
    /// engine's `InferenceModel` and the network's own inference forward pass.
    @Test func onnxruntimeAgreesWithTheEngineOnAThousandPatches() throws {
        let network = try ModelZoo.smallCNN(inputChannels: 13, classes: 10, batchNormalization: true, seed: 21)
        try Self.train(network, steps: 3, inputShape: [32, 13, 64, 64], classes: 10, seed: 22)
        let model = try network.exportONNX(contract: Self.contract(bands: 13, classes: 10, patchSize: 64, output: .probabilities))
        let directory = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelURL = directory.appendingPathComponent("small_cnn_bn.onnx")
        let inputURL = directory.appendingPathComponent("input.npy"), outputURL = directory.appendingPathComponent("ort.npy")
        try model.serializedData().write(to: modelURL)
        let inputs = try Self.random([1000, 13, 64, 64], seed: 23)
        try NumpyFile.write(.float32(inputs), to: inputURL)

        try Self.runOnnxruntime(model: modelURL, input: inputURL, output: outputURL)
        let ort = try NumpyFile.read(contentsOf: outputURL).floatTensor
        let engine = try InferenceModel(contentsOf: modelURL)
        guard let ours = try engine.run(inputs: [network.inputName: inputs], threads: 2)[Network.probabilitiesOutputName] else {
            Issue.record("the engine did not produce \(Network.probabilitiesOutputName)"); return
        }
        let own = Self.softmax(try network.predict(inputs, workers: 2))
        #expect(ort.shape == [1000, 10] && ours.shape == [1000, 10])
        #expect(try ort.argmax(axis: 1) == ours.argmax(axis: 1))
        #expect(Self.maxDifference(ort.scalars, ours.scalars) <= 1e-5)
        let ownTensor = try Tensor(shape: [1000, 10], scalars: own)
        #expect(try ownTensor.argmax(axis: 1) == ours.argmax(axis: 1))
        #expect(Self.maxDifference(own, ours.scalars) <= 1e-5)
        // Not a degenerate model: several classes are predicted.
        #expect(Set(try ours.argmax(axis: 1)).count > 1)
    }

    /// Runs `scripts/training/ort_predict.py` (onnx.checker, then onnxruntime on the CPU).
    static func runOnnxruntime(model: URL, input: URL, output: URL) throws {
        let result = try CommandLineTool.outcome("python3", [TestPaths.package("scripts/training/ort_predict.py"), model.path, input.path, output.path])
        try #require(result.status == 0, "ort_predict.py failed: \((result.stdout + result.stderr).suffix(2000))")
    }

    /// Segmentation exports (ConvTranspose, bilinear and nearest Resize, Concat skips, BN) pass
    /// onnx.checker and give onnxruntime the network's own probabilities.
    @Test func segmentationExportsRunInOnnxruntime() throws {
        let directory = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputs = try Self.random([6, 3, 16, 16], seed: 51)
        let inputURL = directory.appendingPathComponent("input.npy")
        try NumpyFile.write(.float32(inputs), to: inputURL)
        for (index, upsampling) in [ModelZoo.Upsampling.transposedConvolution, .resize(.linear), .resize(.nearest)].enumerated() {
            let network = try ModelZoo.unet(inputChannels: 3, classes: 4, baseChannels: 4, upsampling: upsampling, seed: 52)
            try Self.train(network, steps: 2, inputShape: [4, 3, 16, 16], classes: 4, seed: 53)
            let model = try network.exportONNX(contract: Self.contract(bands: 3, classes: 4, patchSize: 16, task: .segmentation,
                                                                       output: .probabilities))
            let modelURL = directory.appendingPathComponent("unet\(index).onnx")
            let outputURL = directory.appendingPathComponent("ort\(index).npy")
            try model.serializedData().write(to: modelURL)
            try Self.runOnnxruntime(model: modelURL, input: inputURL, output: outputURL)
            let ort = try NumpyFile.read(contentsOf: outputURL).floatTensor
            let ours = Self.softmax(try network.predict(inputs, workers: 2))
            #expect(ort.shape == [6, 4, 16, 16], "\(upsampling)")
            #expect(Self.maxDifference(ort.scalars, ours) <= 1e-5, "\(upsampling)")
        }
    }

    /// ResNet-18 (13 bands) exported, re-imported, stem frozen, head replaced for 5 classes,
    /// one Adam step: frozen parameters are bit-identical, every other parameter moved.
    @Test func fineTuningAnImportedResNetUpdatesOnlyUnfrozenParameters() throws {
        let original = try ModelZoo.resnet18(inputChannels: 13, classes: 10, seed: 31)
        let model = try original.exportONNX(contract: Self.contract(bands: 13, classes: 10, patchSize: 64))
        let network = try Network(onnx: try ONNXModel(serializedData: model.serializedData()))
        #expect(network.parameters.count == original.parameters.count)
        try network.freeze(layers: ["conv1", "bn1"])
        try network.replaceHead(classes: 5, seed: 32)
        #expect(network.parameter(named: "fc.weight")?.shape == [5, 512])
        #expect(try network.outputShape(inputShape: [1, 13, 64, 64]) == [1, 5])
        let frozen = network.parameters.filter(\.isFrozen)
        #expect(frozen.map(\.name) == ["conv1.weight", "bn1.weight", "bn1.bias"])
        let before = network.parameters.map(\.value)
        let statistics = network.runningStatistics.map(\.value)

        var g = SeededGenerator(seed: 33)
        let inputs = try Self.random([4, 13, 64, 64], seed: 34)
        let batch = TrainingBatch(inputs: inputs, targets: (0..<4).map { _ in Int32(g.next() % 5) })
        for p in network.parameters { p.zeroGradient() }
        _ = try network.accumulateGradients(for: batch, loss: .init(), workers: 2)
        let optimizer = try Adam(AdamOptions(), decoupledWeightDecay: true)
        try optimizer.step(network.parameters, learningRate: 1e-3)

        for (p, old) in zip(network.parameters, before) {
            if p.isFrozen {
                #expect(p.value.map(\.bitPattern) == old.map(\.bitPattern), "\(p.name) is frozen but changed")
            } else {
                #expect(p.value != old, "\(p.name) is trainable but did not change")
            }
        }
        // The frozen stem's BatchNormalization keeps its running statistics; the others move.
        #expect(network.runningStatistic(named: "bn1.running_mean")?.value == statistics[0])
        #expect(network.runningStatistic(named: "layer1.0.bn1.running_mean")?.value != statistics[2])
    }
}

/// Import of hand-written ONNX graphs in the forms other exporters emit.
@Suite struct ONNXImportTests {
    static func tensor(_ name: String, _ shape: [Int], seed: UInt64, scale: Float = 0.3) -> ONNXTensor {
        var g = SeededGenerator(seed: seed)
        return ONNXTensor(name: name, dimensions: shape, floats: (0..<shape.reduce(1, *)).map { _ in g.nextGaussian() * scale })
    }

    /// Conv, LeakyRelu, Clip with constant inputs, Sigmoid, AveragePool, Resize with scales from a
    /// Constant node, Identity, Concat, Dropout with a ratio input, BatchNormalization, MatMul on a
    /// flattened GlobalAveragePool and a final Softmax: the imported network (which drops the
    /// Softmax) agrees with the engine running the original graph.
    @Test func exporterStyleGraphImportsAndAgreesWithTheEngine() throws {
        func attribute(_ name: String, _ value: ONNXAttribute.Value) -> ONNXAttribute { ONNXAttribute(name: name, value: value) }
        let nodes = [
            ONNXNode(operatorType: "Conv", inputs: ["x", "c1.w", "c1.b"], outputs: ["c1"], name: "/c1/Conv",
                     attributes: [attribute("kernel_shape", .ints([3, 3])), attribute("pads", .ints([1, 1, 1, 1]))]),
            ONNXNode(operatorType: "LeakyRelu", inputs: ["c1"], outputs: ["a1"], name: "/a1", attributes: [attribute("alpha", .float(0.2))]),
            ONNXNode(operatorType: "Clip", inputs: ["a1", "clip.min", "clip.max"], outputs: ["r6"], name: "/relu6"),
            ONNXNode(operatorType: "AveragePool", inputs: ["r6"], outputs: ["p1"], name: "/pool",
                     attributes: [attribute("kernel_shape", .ints([2, 2])), attribute("strides", .ints([2, 2]))]),
            ONNXNode(operatorType: "Constant", inputs: [], outputs: ["scales"], name: "/scales",
                     attributes: [attribute("value", .tensor(ONNXTensor(name: "", dimensions: [4], floats: [1, 1, 2, 2])))]),
            ONNXNode(operatorType: "Resize", inputs: ["p1", "", "scales"], outputs: ["up"], name: "/up/Resize",
                     attributes: [attribute("mode", .string("linear")), attribute("coordinate_transformation_mode", .string("pytorch_half_pixel"))]),
            ONNXNode(operatorType: "Identity", inputs: ["up"], outputs: ["up_id"], name: "/id"),
            ONNXNode(operatorType: "Sigmoid", inputs: ["c1"], outputs: ["s1"], name: "/gate"),
            ONNXNode(operatorType: "Concat", inputs: ["up_id", "s1"], outputs: ["cat"], name: "/cat", attributes: [attribute("axis", .int(1))]),
            ONNXNode(operatorType: "Dropout", inputs: ["cat", "ratio"], outputs: ["drop"], name: "/drop"),
            ONNXNode(operatorType: "BatchNormalization", inputs: ["drop", "bn.scale", "bn.bias", "bn.mean", "bn.var"], outputs: ["bn"], name: "/bn"),
            ONNXNode(operatorType: "GlobalAveragePool", inputs: ["bn"], outputs: ["gap"], name: "/gap"),
            ONNXNode(operatorType: "Flatten", inputs: ["gap"], outputs: ["flat"], name: "/flatten"),
            ONNXNode(operatorType: "MatMul", inputs: ["flat", "head.w"], outputs: ["logits"], name: "/head/MatMul"),
            ONNXNode(operatorType: "Softmax", inputs: ["logits"], outputs: ["probs"], name: "/softmax", attributes: [attribute("axis", .int(1))]),
        ]
        let initializers = [
            Self.tensor("c1.w", [4, 3, 3, 3], seed: 1), Self.tensor("c1.b", [4], seed: 2),
            ONNXTensor(name: "clip.min", dimensions: [], floats: [0]), ONNXTensor(name: "clip.max", dimensions: [], floats: [0.5]),
            ONNXTensor(name: "ratio", dimensions: [], floats: [0.25]),
            ONNXTensor(name: "bn.scale", dimensions: [8], floats: [1, 0.5, 2, 1, 1.5, 0.7, 1, 1.2]), Self.tensor("bn.bias", [8], seed: 3),
            Self.tensor("bn.mean", [8], seed: 4), ONNXTensor(name: "bn.var", dimensions: [8], floats: [1, 2, 0.5, 1, 0.8, 1.1, 1, 3]),
            Self.tensor("head.w", [8, 5], seed: 5, scale: 1),
        ]
        let graph = ONNXGraph(name: "exporter", nodes: nodes, initializers: initializers,
                              inputs: [ONNXValueInfo(name: "x", shape: [.parameter("batch"), .value(3), .value(8), .value(8)])],
                              outputs: [ONNXValueInfo(name: "probs", shape: [.parameter("batch"), .value(5)])])
        let model = ONNXModel(graph: graph, opsetImports: [ONNXOperatorSetID(domain: "", version: 13)])
        let network = try Network(onnx: model)
        #expect(network.nodes.map(\.name) == ["/c1/Conv", "/a1", "/relu6", "/pool", "/up/Resize", "/gate", "/cat", "/drop", "/bn",
                                              "/gap", "/flatten", "/head/MatMul"])
        #expect(network.parameters.map(\.name) == ["c1.w", "c1.b", "bn.scale", "bn.bias", "head.w"])
        #expect(network.runningStatistics.map(\.name) == ["bn.mean", "bn.var"])
        #expect(network.nodes[7].operation == .dropout(ratio: 0.25))
        let inputs = try ONNXInteropTests.random([3, 3, 8, 8], seed: 6)
        let ours = ONNXInteropTests.softmax(try network.predict(inputs, workers: 1))
        guard let engine = try InferenceModel(model: model).run(inputs: ["x": inputs], threads: 1)["probs"] else {
            Issue.record("the engine did not produce probs"); return
        }
        #expect(ONNXInteropTests.maxDifference(ours, engine.scalars) <= 1e-5)
        // It trains: every parameter gets a gradient.
        _ = try network.accumulateGradients(for: TrainingBatch(inputs: inputs, targets: [0, 3, 4]), loss: .init(), workers: 1)
        #expect(network.parameters.allSatisfy { $0.gradient.contains { $0 != 0 } })
        // Head replacement on a MatMul head.
        try network.replaceHead(classes: 2, seed: 9)
        #expect(try network.outputShape(inputShape: [1, 3, 8, 8]) == [1, 2])
    }

    /// Mutated attributes and initializers are reported as errors, never traps.
    @Test func malformedModelsThrowInsteadOfTrapping() throws {
        let base = try ModelZoo.smallCNN(inputChannels: 2, classes: 3, seed: 1)
            .exportONNX(contract: ONNXInteropTests.contract(bands: 2, classes: 3, patchSize: 8))
        let inputs = try ONNXInteropTests.random([2, 2, 8, 8], seed: 2)
        let mutations: [(String, (inout ONNXModel) -> Void)] = [
            ("huge group", { $0.graph.nodes[0].attributes.removeAll { $0.name == "group" }
                $0.graph.nodes[0].attributes.append(ONNXAttribute(name: "group", value: .int(1 << 40))) }),
            ("negative pads", { $0.graph.nodes[0].attributes.removeAll { $0.name == "pads" }
                $0.graph.nodes[0].attributes.append(ONNXAttribute(name: "pads", value: .ints([-3, 0, 0, 0]))) }),
            ("zero stride", { $0.graph.nodes[0].attributes.removeAll { $0.name == "strides" }
                $0.graph.nodes[0].attributes.append(ONNXAttribute(name: "strides", value: .ints([0, 1]))) }),
            ("huge kernel", { $0.graph.nodes[2].attributes = [ONNXAttribute(name: "kernel_shape", value: .ints([900, 900]))] }),
            ("wrong weight shape", { $0.graph.initializers[0].dimensions = [32, 2, 3, 2] }),
            ("inconsistent dimensions", { $0.graph.initializers[1].dimensions = [1 << 40, 1 << 40] }),
            ("missing value", { $0.graph.nodes[3].inputs[0] = "nowhere" }),
            ("1-D pooling", { $0.graph.nodes[2].attributes = [ONNXAttribute(name: "kernel_shape", value: .ints([2]))] }),
        ]
        for (name, mutate) in mutations {
            var model = base
            mutate(&model)
            #expect(throws: (any Error).self, "\(name)") {
                let network = try Network(onnx: model)
                _ = try network.predict(inputs, workers: 1)
            }
        }
    }
}

import CNN
import Foundation
import TestSupport
import Testing

/// The protobuf writer and reader: lossless round trips, and onnxruntime loads what we write.
@Suite("ONNX reader and writer")
struct ONNXRoundTripTests {
    /// A small conv classifier with a dynamic batch, every attribute kind and a contract.
    static func sampleModel() -> ONNXModel {
        let weights = CNNFixtures.randomFloats(8 * 3 * 3 * 3, seed: 1)
        let bias = CNNFixtures.randomFloats(8, seed: 2)
        let dense = CNNFixtures.randomFloats(5 * 8, seed: 3)
        let nodes = [
            ONNXNode(operatorType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], name: "conv",
                     attributes: [ONNXAttribute(name: "pads", value: .ints([1, 1, 1, 1])),
                                  ONNXAttribute(name: "kernel_shape", value: .ints([3, 3])),
                                  ONNXAttribute(name: "auto_pad", value: .string("NOTSET"))]),
            ONNXNode(operatorType: "LeakyRelu", inputs: ["c"], outputs: ["r"], name: "act",
                     attributes: [ONNXAttribute(name: "alpha", value: .float(0.125))]),
            ONNXNode(operatorType: "GlobalAveragePool", inputs: ["r"], outputs: ["g"], name: "gap"),
            ONNXNode(operatorType: "Reshape", inputs: ["g", "shape"], outputs: ["f"], name: "flatten"),
            ONNXNode(operatorType: "Gemm", inputs: ["f", "dense", "dense_bias"], outputs: ["logits"], name: "fc",
                     attributes: [ONNXAttribute(name: "transB", value: .int(1)), ONNXAttribute(name: "alpha", value: .float(1))]),
        ]
        let graph = ONNXGraph(
            name: "sample", nodes: nodes,
            initializers: [ONNXTensor(name: "w", dimensions: [8, 3, 3, 3], floats: weights),
                           ONNXTensor(name: "b", dimensions: [8], floats: bias),
                           ONNXTensor(name: "dense", dimensions: [5, 8], floats: dense),
                           ONNXTensor(name: "dense_bias", dimensions: [5], floats: [0.5, -0.5, 0.25, 0, 1]),
                           ONNXTensor(name: "shape", dimensions: [2], int64s: [0, -1])],
            inputs: [ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(3), .value(8), .value(8)])],
            outputs: [ONNXValueInfo(name: "logits", shape: [.parameter("N"), .value(5)])])
        let contract = ModelContract(task: .patchClassification, bands: ["B02", "B03", "B04"],
                                     normalization: .meanStd(mean: [1000, 1100, 1200], std: [500, 400, 300]),
                                     patchSize: 8, classNames: ["water", "forest", "crop", "urban", "bare"],
                                     classColors: [.init(red: 0, green: 0, blue: 255), .init(red: 0, green: 128, blue: 0),
                                                   .init(red: 255, green: 255, blue: 0), .init(red: 255, green: 0, blue: 0),
                                                   .init(red: 200, green: 200, blue: 200)])
        return ONNXModel(graph: graph, irVersion: 8, opsetImports: [ONNXOperatorSetID(domain: "", version: 17)],
                         producerName: "landcover-tests", metadataProps: contract.metadataEntries)
    }

    @Test func writtenModelDecodesToTheSameModel() throws {
        let model = Self.sampleModel()
        let decoded = try ONNXModel(serializedData: model.serializedData())
        #expect(decoded == model)
        #expect(decoded.graph.inputs[0].shape?[0] == .parameter("N"))
        #expect(decoded.metadataValue(forKey: "landcover.bands") == "B02,B03,B04")
    }

    @Test func fixtureModelsSurviveARoundTrip() throws {
        let manifest = try CNNFixtures.ensureFixtures()
        let directory = manifest.deletingLastPathComponent()
        for name in ["net_mobilenet_se_c13", "constant_tensor_float_data", "pad_opset21_axes_input", "clip_opset6_attrs"] {
            let original = try ONNXModel(serializedData: Data(contentsOf: directory.appendingPathComponent("\(name).onnx")))
            let again = try ONNXModel(serializedData: original.serializedData())
            #expect(again == original, "\(name) changed in a decode/encode/decode round trip")
        }
    }

    @Test func onnxruntimeLoadsAWrittenModelAndAgrees() throws {
        let directory = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelURL = directory.appendingPathComponent("sample.onnx")
        try Self.sampleModel().write(to: modelURL)
        let input = try Tensor(shape: [3, 3, 8, 8], scalars: CNNFixtures.randomFloats(3 * 3 * 64, seed: 9))
        try NumpyFile.write(.float32(input), to: directory.appendingPathComponent("x.npy"))
        let script = """
        import onnx, onnxruntime as ort, numpy as np, sys
        m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
        assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'N'
        assert {p.key: p.value for p in m.metadata_props}['landcover.task'] == 'patch_classification'
        s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])
        np.save(sys.argv[3], s.run(None, {'x': np.load(sys.argv[2])})[0])
        """
        let result = try CommandLineTool.outcome("python3", ["-c", script, modelURL.path,
                                                               directory.appendingPathComponent("x.npy").path,
                                                               directory.appendingPathComponent("y.npy").path])
        let (status, output) = (result.status, result.stdout + result.stderr)
        #expect(status == 0, "onnxruntime rejected the written model: \(output)")
        guard status == 0 else { return }
        let expected = try NumpyFile.read(contentsOf: directory.appendingPathComponent("y.npy")).floatTensor
        let model = try InferenceModel(contentsOf: modelURL)
        let got = try model.makeSession().run(input: input)
        #expect(got.shape == [3, 5])
        #expect(ONNXFixtureTests.relativeL2(got.scalars, expected.scalars) <= 1e-5)
        #expect(model.contract?.classNames.count == 5)
    }

    @Test func npyRoundTrip() throws {
        let tensor = try Tensor(shape: [2, 3, 4], scalars: CNNFixtures.randomFloats(24, seed: 4))
        #expect(try NumpyFile.decode(NumpyFile.encode(.float32(tensor))) == .float32(tensor))
        let ints = try Int64Tensor(shape: [5], values: [0, -1, 7, Int64.max, Int64.min])
        #expect(try NumpyFile.decode(NumpyFile.encode(.int64(ints))) == .int64(ints))
        #expect(throws: NumpyError.self) { try NumpyFile.decode(Data("not numpy".utf8)) }
    }
}

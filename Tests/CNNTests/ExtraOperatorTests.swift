import CNN
import Foundation
import TestSupport
import Testing

/// Operators beyond the fixture set (Split, Max/Min/Sum/Mean, Expand, Floor/Ceil/Round) and the
/// PyTorch `F.interpolate` size arithmetic, checked against onnxruntime on models our writer saves.
@Suite("Extra operators vs onnxruntime")
struct ExtraOperatorTests {
    /// Saves `model`, runs it in onnxruntime and in the engine, and compares every output.
    static func expectMatchesOnnxruntime(_ model: ONNXModel, inputs: [String: Tensor], label: String) throws {
        let directory = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelURL = directory.appendingPathComponent("model.onnx")
        try model.write(to: modelURL)
        var arguments = [modelURL.path, directory.path]
        for (name, tensor) in inputs {
            try NumpyFile.write(.float32(tensor), to: directory.appendingPathComponent("in_\(name).npy"))
            arguments.append(name)
        }
        let script = """
        import onnxruntime as ort, numpy as np, sys, os
        so = ort.SessionOptions(); so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        s = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])
        feeds = {n: np.load(os.path.join(sys.argv[2], 'in_' + n + '.npy')) for n in sys.argv[3:]}
        for o, v in zip(s.get_outputs(), s.run(None, feeds)):
            np.save(os.path.join(sys.argv[2], 'out_' + o.name + '.npy'), v.astype(np.float32))
        """
        let result = try CommandLineTool.outcome("python3", ["-c", script] + arguments)
        let (status, output) = (result.status, result.stdout + result.stderr)
        #expect(status == 0, "\(label): onnxruntime failed: \(output)")
        guard status == 0 else { return }
        let got = try InferenceModel(model: model).makeSession().run(inputs)
        for info in model.graph.outputs {
            let expected = try NumpyFile.read(contentsOf: directory.appendingPathComponent("out_\(info.name).npy")).floatTensor
            guard let actual = got[info.name] else { Issue.record("\(label): output \(info.name) missing"); continue }
            #expect(actual.shape == expected.shape, "\(label): \(info.name) shape \(actual.shape) vs \(expected.shape)")
            #expect(ONNXFixtureTests.relativeL2(actual.scalars, expected.scalars) <= 1e-6, "\(label): \(info.name) differs")
        }
    }

    static func model(_ nodes: [ONNXNode], inputs: [(String, [Int])], outputs: [String], initializers: [ONNXTensor] = [],
                      opset: Int64 = 17) -> ONNXModel {
        let graph = ONNXGraph(nodes: nodes, initializers: initializers,
                              inputs: inputs.map { ONNXValueInfo(name: $0.0, shape: $0.1.map { .value(Int64($0)) }) },
                              outputs: outputs.map { ONNXValueInfo(name: $0, shape: nil) })
        return ONNXModel(graph: graph, opsetImports: [ONNXOperatorSetID(domain: "", version: opset)])
    }

    static func random(_ shape: [Int], seed: UInt64) throws -> Tensor {
        try Tensor(shape: shape, scalars: CNNFixtures.randomFloats(shape.reduce(1, *), seed: seed).map { $0 * 3 })
    }

    @Test func splitWithSizesAndEqualParts() throws {
        let sized = Self.model([ONNXNode(operatorType: "Split", inputs: ["x", "sizes"], outputs: ["a", "b", "c"],
                                         attributes: [ONNXAttribute(name: "axis", value: .int(1))])],
                               inputs: [("x", [2, 7, 3])], outputs: ["a", "b", "c"],
                               initializers: [ONNXTensor(name: "sizes", dimensions: [3], int64s: [2, 4, 1])])
        try Self.expectMatchesOnnxruntime(sized, inputs: ["x": Self.random([2, 7, 3], seed: 1)], label: "Split sizes")
        let equal = Self.model([ONNXNode(operatorType: "Split", inputs: ["x"], outputs: ["a", "b"],
                                         attributes: [ONNXAttribute(name: "axis", value: .int(-1))])],
                               inputs: [("x", [2, 3, 8])], outputs: ["a", "b"], opset: 11)
        try Self.expectMatchesOnnxruntime(equal, inputs: ["x": Self.random([2, 3, 8], seed: 2)], label: "Split equal")
    }

    @Test(arguments: ["Max", "Min", "Sum", "Mean"])
    func variadicWithBroadcasting(op: String) throws {
        let model = Self.model([ONNXNode(operatorType: op, inputs: ["a", "b", "c"], outputs: ["y"])],
                               inputs: [("a", [2, 3, 4]), ("b", [3, 1]), ("c", [4])], outputs: ["y"])
        try Self.expectMatchesOnnxruntime(model, inputs: ["a": Self.random([2, 3, 4], seed: 3), "b": Self.random([3, 1], seed: 4),
                                                          "c": Self.random([4], seed: 5)], label: op)
    }

    @Test func expandAndRounding() throws {
        let model = Self.model([
            ONNXNode(operatorType: "Expand", inputs: ["x", "shape"], outputs: ["e"]),
            ONNXNode(operatorType: "Floor", inputs: ["e"], outputs: ["f"]),
            ONNXNode(operatorType: "Ceil", inputs: ["e"], outputs: ["c"]),
            ONNXNode(operatorType: "Round", inputs: ["e"], outputs: ["r"]),
        ], inputs: [("x", [3, 1])], outputs: ["e", "f", "c", "r"],
            initializers: [ONNXTensor(name: "shape", dimensions: [3], int64s: [2, 3, 4])])
        let values: [Float] = [-2.5, 0.5, 1.7]
        try Self.expectMatchesOnnxruntime(model, inputs: ["x": Tensor(shape: [3, 1], scalars: values)], label: "Expand/Floor/Ceil/Round")
    }

    /// `F.interpolate(x, scale_factor=2)` as torch.onnx exports it: the output size is computed
    /// from Shape at run time and must fold away at plan time.
    @Test func pytorchInterpolateSizeArithmetic() throws {
        let nodes = [
            ONNXNode(operatorType: "Shape", inputs: ["x"], outputs: ["s"]),
            ONNXNode(operatorType: "Slice", inputs: ["s", "start", "end"], outputs: ["hw"]),
            ONNXNode(operatorType: "Cast", inputs: ["hw"], outputs: ["hwf"], attributes: [ONNXAttribute(name: "to", value: .int(1))]),
            ONNXNode(operatorType: "Mul", inputs: ["hwf", "two"], outputs: ["scaled"]),
            ONNXNode(operatorType: "Floor", inputs: ["scaled"], outputs: ["floored"]),
            ONNXNode(operatorType: "Cast", inputs: ["floored"], outputs: ["hwi"], attributes: [ONNXAttribute(name: "to", value: .int(7))]),
            ONNXNode(operatorType: "Slice", inputs: ["s", "zero", "start"], outputs: ["nc"]),
            ONNXNode(operatorType: "Concat", inputs: ["nc", "hwi"], outputs: ["sizes"], attributes: [ONNXAttribute(name: "axis", value: .int(0))]),
            ONNXNode(operatorType: "Resize", inputs: ["x", "", "", "sizes"], outputs: ["y"],
                     attributes: [ONNXAttribute(name: "mode", value: .string("nearest")),
                                  ONNXAttribute(name: "coordinate_transformation_mode", value: .string("asymmetric")),
                                  ONNXAttribute(name: "nearest_mode", value: .string("floor"))]),
        ]
        let model = Self.model(nodes, inputs: [("x", [2, 3, 5, 6])], outputs: ["y"], initializers: [
            ONNXTensor(name: "start", dimensions: [1], int64s: [2]), ONNXTensor(name: "end", dimensions: [1], int64s: [4]),
            ONNXTensor(name: "zero", dimensions: [1], int64s: [0]), ONNXTensor(name: "two", dimensions: [1], floats: [2]),
        ])
        try Self.expectMatchesOnnxruntime(model, inputs: ["x": Self.random([2, 3, 5, 6], seed: 6)], label: "interpolate")
        #expect(try InferenceModel(model: model).makeSession().run(input: Self.random([2, 3, 5, 6], seed: 6)).shape == [2, 3, 10, 12])
    }
}

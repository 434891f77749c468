import CNN
import Foundation
import Testing

/// Inputs found by `scripts/fuzz.sh` (FuzzONNX), rebuilt here as models: each once crashed,
/// hung or exhausted memory, and must now fail cleanly and fast.
@Suite("ONNX fuzz findings") struct FuzzRegressionTests {
    /// A one-node model `y = Pad(x, pads)` over input `x` of shape [N, 1, 5, 6].
    private func padModel(_ pads: [Int64]) -> ONNXModel {
        let graph = ONNXGraph(name: "pad", nodes: [ONNXNode(operatorType: "Pad", inputs: ["x", "pads"], outputs: ["y"], name: "Pad_0")],
                              initializers: [ONNXTensor(name: "pads", dimensions: [pads.count], int64s: pads)],
                              inputs: [ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(1), .value(5), .value(6)])],
                              outputs: [ONNXValueInfo(name: "y", shape: nil)])
        return ONNXModel(graph: graph)
    }

    @Test("Pad of the batch axis by 2359296 (fuzz timeout: a 1 GB index table built for 45 s in model info) is refused while planning")
    func padOfTheBatchAxis() throws {
        let model = try InferenceModel(model: padModel([2_359_296, 0, 1, 1, 0, 0, 1, 1]))
        let started = Date()
        let summary = model.summary()
        #expect(summary.flopsPerSample == nil, "one sample's plan needs more than 256 MiB")
        let session = model.makeSession()
        session.memoryLimit = 64 << 20
        #expect(throws: ONNXError.self) { try session.run(input: Tensor(zeros: [1, 1, 5, 6])) }
        #expect(Date().timeIntervalSince(started) < 60)
        // The same pads on a spatial axis stay fine.
        let small = try InferenceModel(model: padModel([0, 0, 1, 1, 0, 0, 1, 1]))
        let output = try small.makeSession().run(input: Tensor(zeros: [1, 1, 5, 6]))
        #expect(output.shape == [1, 1, 7, 8])
    }
}

/// The crashing inputs FuzzONNX found, kept as they were found (Tests/Fixtures/fuzz/onnx).
@Suite("ONNX fuzz crash inputs") struct FuzzCrashInputTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz/onnx")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".onnx") }.sorted()
    }

    @Test("each loads or fails with an ONNX error, without trapping", arguments: inputs)
    func input(_ name: String) throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent(name))
        do {
            let model = try InferenceModel(data: data)
            _ = model.summary()
        } catch is ONNXError {
        } catch is ModelContractError {
        }
    }

    @Test("the crash inputs are all there (a fixture folder that went missing would make the test above vacuous)")
    func present() {
        #expect(Self.inputs.count == 6, "\(Self.inputs)")
    }

    @Test("ConvTranspose with a one-entry output_shape for 2-D input (fuzz crash: index -1 while planning) is refused")
    func convTransposeWithShortOutputShape() throws {
        let graph = ONNXGraph(name: "deconv", nodes: [
            ONNXNode(operatorType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"], name: "deconv",
                     attributes: [ONNXAttribute(name: "kernel_shape", value: .ints([3, 3])), ONNXAttribute(name: "strides", value: .ints([2, 2])),
                                  ONNXAttribute(name: "output_shape", value: .ints([12]))]),
        ], initializers: [ONNXTensor(name: "w", dimensions: [3, 2, 3, 3], floats: [Float](repeating: 0.1, count: 54))],
        inputs: [ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(3), .value(5), .value(6)])],
        outputs: [ONNXValueInfo(name: "y", shape: nil)])
        #expect(throws: ONNXError.self) {
            let model = try InferenceModel(model: ONNXModel(graph: graph))
            _ = try model.makeSession().run(input: Tensor(zeros: [1, 3, 5, 6]))
        }
    }

    @Test("Slice with a step of Int64.max (fuzz crash: overflow while sizing the output) gives onnxruntime's shape")
    func sliceWithHugeStep() throws {
        let ints = { (name: String, values: [Int64]) in ONNXTensor(name: name, dimensions: [values.count], int64s: values) }
        let graph = ONNXGraph(name: "slice", nodes: [
            ONNXNode(operatorType: "Slice", inputs: ["x", "starts", "ends", "axes", "steps"], outputs: ["y"], name: "slice"),
        ], initializers: [ints("starts", [100, -2]), ints("ends", [72_057_594_037_927_836, 4_278_190_080]), ints("axes", [1, 2]),
                          ints("steps", [-2, Int64.max])],
        inputs: [ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(5), .value(6)])],
        outputs: [ONNXValueInfo(name: "y", shape: nil)])
        let model = try InferenceModel(model: ONNXModel(graph: graph))
        let output = try model.makeSession().run(["x": Tensor(shape: [1, 5, 6], scalars: (0..<30).map(Float.init))])
        // onnxruntime 1.23: [1, 0, 1]. Axis 1 runs from 4 down to the end clamped to 4: empty;
        // axis 2 from column 4 with a huge step: one column.
        #expect(output["y"]?.shape == [1, 0, 1])
        #expect(output["y"]?.scalars.isEmpty == true)
    }

    @Test("Conv followed by a BatchNormalization without outputs (fuzz crash: index out of range in the fusion) loads")
    func fusionIntoANodeWithoutOutputs() throws {
        let w = ONNXTensor(name: "w", dimensions: [2, 1, 1, 1], floats: [1, 2])
        let bn = ["scale", "bias", "mean", "var"].map { ONNXTensor(name: $0, dimensions: [2], floats: [1, 1]) }
        let graph = ONNXGraph(name: "fuse", nodes: [
            ONNXNode(operatorType: "Conv", inputs: ["x", "w"], outputs: ["c"], name: "conv"),
            ONNXNode(operatorType: "BatchNormalization", inputs: ["c", "scale", "bias", "mean", "var"], outputs: [], name: "bn"),
            ONNXNode(operatorType: "Relu", inputs: ["x"], outputs: ["y"], name: "relu"),
        ], initializers: [w] + bn,
        inputs: [ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(1), .value(4), .value(4)])],
        outputs: [ONNXValueInfo(name: "y", shape: nil)])
        let model = try InferenceModel(model: ONNXModel(graph: graph))
        let output = try model.makeSession().run(input: Tensor(zeros: [1, 1, 4, 4], value: -1))
        #expect(output.scalars.allSatisfy { $0 == 0 })
    }
}

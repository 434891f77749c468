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

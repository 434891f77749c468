import CNN
import Foundation
import Testing

/// `model info` figures: operator counts, parameters and FLOPs per patch, counted by hand.
@Suite("Model summary")
struct ModelSummaryTests {
    @Test func countsOperatorsParametersAndFlops() throws {
        let summary = try InferenceModel(model: ONNXRoundTripTests.sampleModel()).summary()
        #expect(summary.operatorCounts == ["Conv": 1, "LeakyRelu": 1, "GlobalAveragePool": 1, "Reshape": 1, "Gemm": 1])
        // Conv 8x3x3x3 + 8, dense 5x8 + 5; the Int64 reshape target is not a parameter.
        #expect(summary.parameterCount == 216 + 8 + 40 + 5)
        // Conv: 2 * 8 outputs * 64 pixels * 27 taps; GlobalAveragePool: 8 * 64 adds; Gemm: 2 * 5 * 8.
        #expect(summary.flopsPerSample == 2 * 8 * 64 * 27 + 8 * 64 + 2 * 5 * 8)
        #expect(summary.flopsInputShape == ["x": [1, 3, 8, 8]])
        #expect(summary.inputs.first?.shape == ["N", "3", "8", "8"])
        // Conv + LeakyRelu fuse into one step; the reshape target folds away.
        #expect(summary.optimizedStepCount == 4)
    }

    @Test func batchNormFoldsIntoConvAndResidualAddFuses() throws {
        let directory = try CNNFixtures.ensureFixtures().deletingLastPathComponent()
        let model = try InferenceModel(contentsOf: directory.appendingPathComponent("net_resnet18_c13.onnx"))
        let summary = model.summary()
        #expect(summary.operatorCounts["BatchNormalization"] == 20)
        // 20 convs (BN, Add and Relu fused in) + MaxPool + GlobalAveragePool + Flatten + Gemm.
        #expect(summary.optimizedStepCount == 24)
    }

    /// Loading moves the weights out of the decoded model as it compiles them: the loaded model
    /// keeps only the initializers' shapes, but a model value the caller passes in stays whole
    /// (value semantics), and both ways of loading give the same outputs.
    @Test func loadingReleasesWeightsButLeavesTheCallersModelWhole() throws {
        let directory = try CNNFixtures.ensureFixtures().deletingLastPathComponent()
        let url = directory.appendingPathComponent("net_resnet18_c13.onnx")
        let decoded = try ONNXModel(serializedData: try Data(contentsOf: url))
        let fromValue = try InferenceModel(model: decoded)
        let fromFile = try InferenceModel(contentsOf: url)
        for tensor in decoded.graph.initializers where tensor.dataType == 1 {
            #expect(try tensor.floatValues().count == tensor.elementCount, "\(tensor.name) lost its values")
        }
        #expect(fromFile.proto.graph.initializers.allSatisfy { $0.rawData.isEmpty && $0.floatData.isEmpty })
        #expect(fromFile.parameterCount == fromValue.parameterCount && fromFile.parameterCount > 10_000_000)
        let input = try Tensor(shape: [2, 13, 32, 32], scalars: CNNFixtures.randomFloats(2 * 13 * 32 * 32, seed: 5))
        #expect(try fromFile.makeSession().run(input: input) == fromValue.makeSession().run(input: input))
    }
}

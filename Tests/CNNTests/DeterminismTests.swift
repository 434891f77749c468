import CNN
import Foundation
import Testing

/// Per-sample outputs are bit-identical whatever the thread count and batch size.
@Suite("Determinism")
struct DeterminismTests {
    @Test(arguments: ["net_resnet18_c13", "net_mobilenet_se_c13", "net_unet_c13", "net_vgg_c13"])
    func oneAndTwoWorkersGiveIdenticalBits(fixture: String) throws {
        let directory = try CNNFixtures.ensureFixtures().deletingLastPathComponent()
        let model = try InferenceModel(contentsOf: directory.appendingPathComponent("\(fixture).onnx"))
        guard let inputName = model.inputs.first?.name, let outputName = model.outputs.first?.name else {
            Issue.record("\(fixture) has no input or output"); return
        }
        let declared = model.inputs[0].shape ?? []
        let shape = [64] + declared.dropFirst().map { dim -> Int in if case .value(let v) = dim { return Int(v) }; return 32 }
        let input = try Tensor(shape: shape, scalars: CNNFixtures.randomFloats(shape.reduce(1, *), seed: 42))
        #expect(model.hasSplittableBatch, "\(fixture): the batch would not be split across workers")
        let one = try model.run(inputs: [inputName: input], threads: 1)[outputName]
        let two = try model.run(inputs: [inputName: input], threads: 2)[outputName]
        let three = try model.run(inputs: [inputName: input], threads: 3)[outputName]
        #expect(one != nil)
        #expect(one == two, "\(fixture): 1 and 2 workers differ")
        #expect(one == three, "\(fixture): 1 and 3 workers differ")
        // A batch of 7 taken from the middle gives the same bits as the same samples in the batch of 64.
        guard let full = one else { return }
        let slice = try input.batchSlice(start: 13, count: 7)
        let small = try model.makeSession().run([inputName: slice])[outputName]
        #expect(small == (try full.batchSlice(start: 13, count: 7)), "\(fixture): batch 7 differs from batch 64")
        // The zero-copy pointer API gives the same bits.
        let session = model.makeSession()
        let viaPointer = try slice.scalars.withUnsafeBufferPointer { buffer -> Tensor? in
            guard let base = buffer.baseAddress else { return nil }
            return try session.run(input: base, shape: slice.shape)
        }
        #expect(viaPointer == small, "\(fixture): run(input:shape:) differs from run(_:)")
    }
}

/// Gemm and MatMul rows do not depend on how many rows are computed together.
@Suite("Gemm row determinism")
struct GemmDeterminismTests {
    @Test(arguments: [1, 3, 5, 17, 64])
    func rowsMatchSingleRowRuns(batch: Int) throws {
        let k = 300, n = 37
        let node = ONNXNode(operatorType: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"], name: "fc",
                            attributes: [ONNXAttribute(name: "transB", value: .int(1))])
        let model = CNNFixtures.singleNodeModel(
            node, inputs: [("x", [.parameter("N"), .value(Int64(k))])], outputs: ["y"],
            initializers: [ONNXTensor(name: "w", dimensions: [n, k], floats: CNNFixtures.randomFloats(n * k, seed: 5)),
                           ONNXTensor(name: "b", dimensions: [n], floats: CNNFixtures.randomFloats(n, seed: 6))])
        let loaded = try InferenceModel(model: model)
        let input = try Tensor(shape: [batch, k], scalars: CNNFixtures.randomFloats(batch * k, seed: 7))
        let session = loaded.makeSession()
        let all = try session.run(input: input)
        for row in 0..<batch {
            let single = try session.run(input: input.batchSlice(start: row, count: 1))
            #expect(single == (try all.batchSlice(start: row, count: 1)), "row \(row) of a batch of \(batch) differs from a batch of 1")
        }
    }
}

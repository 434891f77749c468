import CNN
import Foundation
import Testing

/// Per-sample outputs are bit-identical whatever the thread count and batch size.
@Suite("Determinism")
struct DeterminismTests {
    @Test(arguments: ["net_resnet18_c13", "net_mobilenet_se_c13", "net_unet_c13", "net_vgg_c13"])
    func oneAndTwoWorkersGiveIdenticalBits(fixture: String) throws {
        let directory = try TestSupport.ensureFixtures().deletingLastPathComponent()
        let model = try InferenceModel(contentsOf: directory.appendingPathComponent("\(fixture).onnx"))
        guard let inputName = model.inputs.first?.name, let outputName = model.outputs.first?.name else {
            Issue.record("\(fixture) has no input or output"); return
        }
        let declared = model.inputs[0].shape ?? []
        let shape = [64] + declared.dropFirst().map { dim -> Int in if case .value(let v) = dim { return Int(v) }; return 32 }
        let input = try Tensor(shape: shape, scalars: TestSupport.randomFloats(shape.reduce(1, *), seed: 42))
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
    }
}

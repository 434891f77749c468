import CNN
import Foundation
import TestSupport
import Testing

/// QDQ models written by onnxruntime's `quantize_static` (the sample U-Net, calibrated on the
/// sample Sentinel-2 crop by scripts/onnx_fixtures/quantize_sample.py) run at int8 on the fused
/// kernels: they match onnxruntime's int8 results, stay within the accuracy guard against the
/// float model, and give the same bytes for any worker count.
@Suite("Quantized (QDQ) models", .serialized)
struct QuantizedModelTests {
    /// Generates the fixtures once (about 30 s: reads the crop, quantizes with onnxruntime).
    static func fixtures() throws -> URL { try QuantizedSample.ensure() }

    static func load(_ name: String, in folder: URL) throws -> Tensor {
        try NumpyFile.read(contentsOf: folder.appendingPathComponent(name)).floatTensor
    }

    /// Fraction of pixels whose class (argmax over dimension 1 of [N, C, H, W]) agrees.
    static func agreement(_ a: Tensor, _ b: Tensor) -> Double {
        let classes = a.shape[1], plane = a.shape[2] * a.shape[3]
        var same = 0
        for n in 0..<a.shape[0] {
            for pixel in 0..<plane {
                var bestA = 0, bestB = 0
                for c in 1..<classes {
                    let index = (n * classes + c) * plane + pixel
                    if a.scalars[index] > a.scalars[(n * classes + bestA) * plane + pixel] { bestA = c }
                    if b.scalars[index] > b.scalars[(n * classes + bestB) * plane + pixel] { bestB = c }
                }
                if bestA == bestB { same += 1 }
            }
        }
        return Double(same) / Double(a.shape[0] * plane)
    }

    @Test("the sample model quantized by onnxruntime: int8 agrees with float32 on >= 99% of pixels and with onnxruntime int8")
    func accuracyGuard() throws {
        let folder = try Self.fixtures()
        let patches = try Self.load("patches.npy", in: folder)
        let floatModel = try InferenceModel(contentsOf: TestPaths.packageRoot.appendingPathComponent("samples/model/landcover-33UUU.onnx"))
        let int8Model = try InferenceModel(contentsOf: folder.appendingPathComponent("model_qdq.onnx"), precision: .int8)
        #expect(int8Model.precision == .int8)
        let input = floatModel.inputs[0].name
        let reference = try #require(try floatModel.run(inputs: [input: patches], threads: 2).values.first)
        let int8 = try #require(try int8Model.run(inputs: [input: patches], threads: 2).values.first)
        let ortInt8 = try Self.load("ort_int8.npy", in: folder)
        let guardAgreement = Self.agreement(int8, reference)
        let ortAgreement = Self.agreement(int8, ortInt8)
        #expect(guardAgreement >= 0.99, "int8 agrees with float32 on \(guardAgreement * 100)% of pixels")
        #expect(ortAgreement >= 0.999, "int8 agrees with onnxruntime int8 on \(ortAgreement * 100)% of pixels")
        // Determinism: one worker and three workers give the same bytes.
        let single = try #require(try int8Model.run(inputs: [input: patches], threads: 1).values.first)
        let three = try #require(try int8Model.run(inputs: [input: patches], threads: 3).values.first)
        #expect(single.scalars == int8.scalars)
        #expect(three.scalars == int8.scalars)
    }

    @Test("the fp32 reference semantics of the QDQ model agree with the int8 kernels")
    func referenceSemantics() throws {
        let folder = try Self.fixtures()
        let all = try Self.load("patches.npy", in: folder)
        let patches = try all.batchSlice(start: 0, count: 256)
        let path = folder.appendingPathComponent("model_qdq.onnx")
        let input = try InferenceModel(contentsOf: path).inputs[0].name
        let reference = try #require(try InferenceModel(contentsOf: path, precision: .fp32).run(inputs: [input: patches], threads: 1).values.first)
        let int8 = try #require(try InferenceModel(contentsOf: path, precision: .int8).run(inputs: [input: patches], threads: 1).values.first)
        let ortInt8 = try Self.load("ort_int8.npy", in: folder).batchSlice(start: 0, count: 256)
        #expect(Self.agreement(reference, int8) >= 0.999)
        #expect(Self.agreement(reference, ortInt8) >= 0.999)
    }

    @Test("int8 precision needs a quantized model")
    func int8NeedsQDQ() throws {
        let url = TestPaths.packageRoot.appendingPathComponent("samples/model/landcover-33UUU.onnx")
        #expect(throws: ONNXError.self) { _ = try InferenceModel(contentsOf: url, precision: .int8) }
        do {
            _ = try InferenceModel(contentsOf: url, precision: .int8)
        } catch {
            #expect("\(error)".contains("quantized (QDQ) model"))
        }
    }
}

import CNN
import Foundation
import Testing

/// Corrupted model files must fail with a thrown error (or still run), never trap.
@Suite("Corrupt models")
struct CorruptModelTests {
    @Test func mutatedBytesNeverCrash() throws {
        let original = [UInt8](ONNXRoundTripTests.sampleModel().serializedData())
        var state: UInt64 = 12345
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var loaded = 0, rejected = 0
        for trial in 0..<1500 {
            var bytes = original
            let edits = 1 + trial % 4
            for _ in 0..<edits {
                let position = next() % bytes.count
                switch next() % 3 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: next())
                case 1: bytes[position] ^= UInt8(1 << (next() % 8))
                default: bytes.remove(at: position)
                }
            }
            do {
                let model = try InferenceModel(data: Data(bytes))
                loaded += 1
                if let input = model.inputs.first, let shape = input.shape {
                    let dims = shape.map { dim -> Int in if case .value(let v) = dim, v > 0, v < 64 { return Int(v) }; return 2 }
                    _ = try? model.makeSession().run(input: Tensor(zeros: dims))
                }
            } catch {
                rejected += 1
            }
        }
        #expect(loaded + rejected == 1500)
        #expect(rejected > 0)
    }

    @Test func mutatedFixtureModelsNeverCrash() throws {
        let directory = try CNNFixtures.ensureFixtures().deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".onnx") }.sorted()
        var state: UInt64 = 777
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var attempts = 0
        for file in files {
            let original = [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
            guard original.count < 20_000 else { continue }
            for _ in 0..<10 {
                var bytes = original
                let position = next() % bytes.count
                bytes[position] = UInt8(truncatingIfNeeded: next())
                attempts += 1
                guard let model = try? InferenceModel(data: Data(bytes)) else { continue }
                let feeds = model.inputs.map { input -> (String, Tensor) in
                    let dims = (input.shape ?? []).map { dim -> Int in if case .value(let v) = dim, v > 0, v < 64 { return Int(v) }; return 3 }
                    return (input.name, Tensor(zeros: dims))
                }
                _ = try? model.makeSession().run(Dictionary(feeds, uniquingKeysWith: { first, _ in first }))
            }
        }
        #expect(attempts > 500)
    }
}

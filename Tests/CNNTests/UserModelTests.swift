import CNN
import Foundation
import TestSupport
import Testing

/// Models as users bring them (issue 16), exported by torch on CPU with
/// scripts/onnx_fixtures/make_user_models.py: a small ViT from both exporters, a fixed-batch-1
/// CNN, a CNN with its weights in an external `.onnx.data` file, a channels-last CNN and a
/// float16 CNN. Each must match onnxruntime (relative L2 <= 1e-4; float16 1e-2 and the same
/// argmax) on a batch of 5 patches.
@Suite("models users bring")
struct UserModelTests {
    struct Manifest: Decodable {
        struct Fixture: Decodable {
            let name: String
            let model: String
            let input: String
            let expected: String
            let layout: String
            let fixed_batch: Int?
            let half: Bool?
        }
        let fixtures: [Fixture]
    }

    /// The generated models' folder, or nil (with the reason printed) when torch is missing.
    static let generated: Result<URL?, CNNFixtures.FixtureError> = {
        let directory = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/generated/user-models")
        let manifest = directory.appendingPathComponent("manifest.json")
        if FileManager.default.fileExists(atPath: manifest.path) { return .success(directory) }
        do {
            let result = try CommandLineTool.outcome("python3", ["scripts/onnx_fixtures/make_user_models.py", "--out", directory.path], directory: TestPaths.packageRoot)
            let (status, output) = (result.status, result.stdout + result.stderr)
            if status == 3 {
                print("skipping the torch-exported model tests: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
                return .success(nil)
            }
            guard status == 0, FileManager.default.fileExists(atPath: manifest.path) else {
                return .failure(CNNFixtures.FixtureError(message: "make_user_models.py failed (status \(status)): \(output.suffix(2000))"))
            }
            return .success(directory)
        } catch {
            return .failure(CNNFixtures.FixtureError(message: "cannot run python3: \(error)"))
        }
    }()

    static func fixtures() throws -> (URL, [Manifest.Fixture])? {
        guard let directory = try generated.get() else { return nil }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: directory.appendingPathComponent("manifest.json")))
        return (directory, manifest.fixtures)
    }

    static func check(_ name: String, _ got: Tensor, _ expected: Tensor, tolerance: Double) throws {
        #expect(got.shape == expected.shape, "\(name): shape \(got.shape), expected \(expected.shape)")
        guard got.shape == expected.shape else { return }
        let error = ONNXFixtureTests.relativeL2(got.scalars, expected.scalars)
        #expect(error <= tolerance, "\(name): relative L2 \(error) > \(tolerance)")
        #expect(try got.argmax(axis: 1) == expected.argmax(axis: 1), "\(name): argmax differs")
    }

    @Test("every exported model matches onnxruntime, through run(input:shape:) and run(values:)")
    func exportedModelsMatchOnnxruntime() throws {
        guard let (directory, fixtures) = try Self.fixtures() else { return }
        #expect(fixtures.count >= 5)
        for fixture in fixtures {
            let model = try InferenceModel(contentsOf: directory.appendingPathComponent(fixture.model))
            var input = try NumpyFile.read(contentsOf: directory.appendingPathComponent(fixture.input)).floatTensor
            let expected = try NumpyFile.read(contentsOf: directory.appendingPathComponent(fixture.expected)).floatTensor
            if fixture.layout == "NHWC" {
                // Callers feed NCHW; the engine transposes to the model's layout.
                #expect(model.contract?.inputLayout == .nhwc)
                input = try Self.nchw(fromNHWC: input)
            }
            let tolerance = fixture.half == true ? 1e-2 : 1e-4
            let session = model.makeSession()
            let pointerOutput = try input.scalars.withUnsafeBufferPointer { buffer in
                try session.run(input: try #require(buffer.baseAddress), shape: input.shape)
            }
            try Self.check("\(fixture.name) run(input:shape:)", pointerOutput, expected, tolerance: tolerance)
            let name = model.inputs[0].name
            let valueOutput = try session.run(values: [name: .float32(input)])
            try Self.check("\(fixture.name) run(values:)", try #require(valueOutput[model.outputs[0].name]).floatTensor, expected, tolerance: tolerance)
            // Two workers split the 5 samples 2 + 3 (a fixed batch of 1 runs them one by one).
            let threaded = try model.run(values: [name: .float32(input)], threads: 2)
            try Self.check("\(fixture.name) 2 threads", try #require(threaded[model.outputs[0].name]).floatTensor, expected, tolerance: tolerance)
            #expect(model.fixedBatchSize == fixture.fixed_batch, "\(fixture.name): fixed batch \(String(describing: model.fixedBatchSize))")
        }
    }

    @Test("a fixed-batch model runs 0, 1, 3 and 5 samples and plans in batches of its size")
    func fixedBatchSplitsAndPads() throws {
        guard let (directory, fixtures) = try Self.fixtures(), let fixture = fixtures.first(where: { $0.name == "cnn_batch1" }) else { return }
        let model = try InferenceModel(contentsOf: directory.appendingPathComponent(fixture.model))
        #expect(model.fixedBatchSize == 1)
        let input = try NumpyFile.read(contentsOf: directory.appendingPathComponent(fixture.input)).floatTensor
        let expected = try NumpyFile.read(contentsOf: directory.appendingPathComponent(fixture.expected)).floatTensor
        let session = model.makeSession()
        for count in [0, 1, 3, 5] {
            let part = try input.batchSlice(start: 0, count: count)
            let output = try session.run(input: part)
            #expect(output.shape == [count, 4])
            if count > 0 { #expect(ONNXFixtureTests.relativeL2(output.scalars, try expected.batchSlice(start: 0, count: count).scalars) <= 1e-4) }
        }
        let one = try session.flops(inputShapes: ["input": [1, 13, 64, 64]])
        #expect(try session.flops(inputShapes: ["input": [8, 13, 64, 64]]) == 8 * one)
        #expect(try session.workingBytes(inputShapes: ["input": [8, 13, 64, 64]]) > session.workingBytes(inputShapes: ["input": [1, 13, 64, 64]]))
    }

    @Test("external data: missing, truncated, escaping and mismatched data files are refused by name")
    func externalDataIsCheckedAndBounded() throws {
        guard let (directory, _) = try Self.fixtures() else { return }
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = directory.appendingPathComponent("cnn_external.onnx")
        let data = try Data(contentsOf: directory.appendingPathComponent("cnn_external.onnx.data"))
        let proto = try ONNXModel(serializedData: Data(contentsOf: source))
        #expect(proto.hasExternalData)
        let external = try #require(proto.graph.initializers.firstIndex { $0.usesExternalData })
        let tensorName = proto.graph.initializers[external].name

        func attempt(_ model: ONNXModel, dataBytes: Data?, dataName: String = "cnn_external.onnx.data") throws -> String {
            let case_ = try TestPaths.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: case_) }
            let url = case_.appendingPathComponent("model.onnx")
            try model.write(to: url)
            if let dataBytes { try dataBytes.write(to: case_.appendingPathComponent(dataName)) }
            do { _ = try InferenceModel(contentsOf: url); return "loaded" } catch { return error.localizedDescription }
        }
        #expect(try attempt(proto, dataBytes: data) == "loaded")
        #expect(try attempt(proto, dataBytes: nil).contains("external data file \"cnn_external.onnx.data\" is missing"))
        #expect(try attempt(proto, dataBytes: data.prefix(data.count / 2)).contains("beyond the end of"))
        // Decoded from bytes alone, the values are not there and the error says so.
        #expect(throws: ONNXError.self) { _ = try InferenceModel(data: Data(contentsOf: source)) }

        func relocated(_ change: (inout [ONNXMetadataEntry]) -> Void) -> ONNXModel {
            var copy = proto
            change(&copy.graph.initializers[external].externalData)
            return copy
        }
        func setting(_ key: String, _ value: String) -> ONNXModel {
            relocated { entries in
                entries.removeAll { $0.key == key }
                entries.append(ONNXMetadataEntry(key: key, value: value))
            }
        }
        for escape in ["../cnn_external.onnx.data", "/etc/passwd", "sub/../../x.data"] {
            let message = try attempt(setting("location", escape), dataBytes: data)
            #expect(message.contains("not a path inside the model's folder"), "\(escape): \(message)")
            #expect(message.contains(tensorName))
        }
        #expect(try attempt(setting("length", "4"), dataBytes: data).contains("does not match its dims"))
        #expect(try attempt(setting("offset", "18446744073709551615"), dataBytes: data).contains("beyond the end of"))
        #expect(try attempt(setting("offset", "-1"), dataBytes: data).contains("is not a non-negative integer"))
        #expect(try attempt(relocated { $0.removeAll { $0.key == "location" } }, dataBytes: data).contains("names no location"))
        // A symbolic link beside the model that points outside its folder is refused too.
        let outside = folder.appendingPathComponent("outside.data")
        try data.write(to: outside)
        let linked = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: linked) }
        try proto.write(to: linked.appendingPathComponent("model.onnx"))
        try FileManager.default.createSymbolicLink(at: linked.appendingPathComponent("cnn_external.onnx.data"), withDestinationURL: outside)
        let message = (try? InferenceModel(contentsOf: linked.appendingPathComponent("model.onnx"))).map { _ in "loaded" } ?? "refused"
        #expect(message == "refused")
    }

    @Test("a channels-last input without landcover.input_layout is refused with a message naming the layout")
    func channelsLastNeedsTheLayoutKey() throws {
        guard let (directory, _) = try Self.fixtures() else { return }
        var proto = try ONNXModel(serializedData: Data(contentsOf: directory.appendingPathComponent("cnn_nhwc.onnx")))
        proto.metadataProps.removeAll { $0.key == "landcover.input_layout" }
        do {
            _ = try InferenceModel(model: proto)
            Issue.record("a channels-last model without the layout key loaded")
        } catch {
            let message = error.localizedDescription
            #expect(message.contains("landcover.input_layout"), "\(message)")
            #expect(message.contains("NHWC"), "\(message)")
            #expect(!message.contains("has 64 channels"), "\(message)")
        }
        proto.metadataProps.append(ONNXMetadataEntry(key: "landcover.input_layout", value: "NWHC"))
        #expect(throws: ModelContractError.self) { _ = try InferenceModel(model: proto) }
    }

    static func nchw(fromNHWC tensor: Tensor) throws -> Tensor {
        let (n, h, w, c) = (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
        var values = [Float](repeating: 0, count: tensor.scalars.count)
        for b in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
            values[((b * c + k) * h + y) * w + x] = tensor.scalars[((b * h + y) * w + x) * c + k]
        } } } }
        return try Tensor(shape: [n, c, h, w], scalars: values)
    }
}

/// README's "Supported operators" table lists exactly the operators the engine builds, and an
/// operator outside it still fails to load with the one-line error that points to the table.
@Suite("Supported operators section")
struct SupportedOperatorsTests {
    @Test("README lists exactly InferenceModel.supportedOperators")
    func readmeMatchesTheEngine() throws {
        let readme = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "\n## Supported operators\n"))
        let rest = readme[start.upperBound...]
        let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var listed = Set<String>()
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.dropFirst(2).prefix { $0 != "|" }
            let parts = firstCell.split(separator: "`", omittingEmptySubsequences: false)
            for (index, part) in parts.enumerated() where index % 2 == 1 { listed.insert(String(part)) }
        }
        let engine = Set(InferenceModel.supportedOperators).subtracting(["FusedConv"])
        #expect(listed.subtracting(engine).isEmpty, "README lists operators the engine lacks: \(listed.subtracting(engine).sorted())")
        #expect(engine.subtracting(listed).isEmpty, "README misses operators: \(engine.subtracting(listed).sorted())")
    }

    @Test("an unsupported operator fails with one line citing the section")
    func unsupportedOperatorMessage() throws {
        let node = ONNXNode(operatorType: "Einsum", inputs: ["x", "x"], outputs: ["y"], name: "einsum",
                            attributes: [ONNXAttribute(name: "equation", value: .string("ij,jk->ik"))])
        let model = CNNFixtures.singleNodeModel(node, inputs: [("x", [.value(2), .value(2)])], outputs: ["y"])
        do {
            _ = try InferenceModel(model: model)
            Issue.record("Einsum loaded")
        } catch {
            let message = error.localizedDescription
            #expect(message.contains("Unsupported operator Einsum"))
            #expect(message.contains("\"Supported operators\""))
            #expect(!message.contains("\n"))
        }
    }
}

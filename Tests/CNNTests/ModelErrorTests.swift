import CNN
import Foundation
import Testing

/// Malformed input gives typed errors that name the node, operator, value or key; never a crash.
@Suite("Model errors")
struct ModelErrorTests {
    static let sampleBytes = ONNXRoundTripTests.sampleModel().serializedData()

    @Test func truncatedFile() throws {
        for length in [Self.sampleBytes.count / 2, Self.sampleBytes.count - 3, 40] {
            #expect(throws: ONNXError.self) { try InferenceModel(data: Self.sampleBytes.prefix(length)) }
            do { _ = try InferenceModel(data: Self.sampleBytes.prefix(length)) } catch let error as ONNXError {
                guard case .truncated = error else { Issue.record("expected .truncated, got \(error)"); continue }
            }
        }
    }

    @Test(arguments: [Data("\u{89}PNG\r\n\u{1a}\n0000".utf8), Data("root:x:0:0:root:/root:/bin/bash\n".utf8), Data(), Data([0xFF, 0xFF, 0xFF])])
    func notAModel(bytes: Data) throws {
        do {
            _ = try InferenceModel(data: bytes)
            Issue.record("garbage loaded as a model")
        } catch let error as ONNXError {
            guard case .notAModel = error else { Issue.record("expected .notAModel, got \(error)"); return }
        }
    }

    @Test func unsupportedOperatorNamesOpDomainAndOpset() throws {
        let node = ONNXNode(operatorType: "FancyAttention", inputs: ["x"], outputs: ["y"], name: "attn", domain: "com.example")
        let model = CNNFixtures.singleNodeModel(node, inputs: [("x", [.parameter("N"), .value(4)])], outputs: ["y"], opset: 13)
        #expect(throws: ONNXError.unsupportedOperator(operatorType: "FancyAttention", domain: "com.example", opset: 13, node: "attn")) {
            try InferenceModel(model: model)
        }
        let error = ONNXError.unsupportedOperator(operatorType: "FancyAttention", domain: "com.example", opset: 13, node: "attn")
        let message = error.errorDescription ?? ""
        #expect(message.contains("FancyAttention") && message.contains("com.example") && message.contains("13") && message.contains("attn"))
    }

    @Test func missingInitializerNamesTheValueAndNode() throws {
        let node = ONNXNode(operatorType: "Add", inputs: ["x", "bias"], outputs: ["y"], name: "add_bias")
        let model = CNNFixtures.singleNodeModel(node, inputs: [("x", [.parameter("N"), .value(4)])], outputs: ["y"])
        #expect(throws: ONNXError.missingValue(name: "bias", node: "Add node \"add_bias\"")) { try InferenceModel(model: model) }
    }

    @Test func missingConvWeightsAreReported() throws {
        let node = ONNXNode(operatorType: "Conv", inputs: ["x", "w"], outputs: ["y"], name: "conv")
        let model = CNNFixtures.singleNodeModel(node, inputs: [("x", [.parameter("N"), .value(3), .value(8), .value(8)])], outputs: ["y"])
        #expect(throws: ONNXError.self) { try InferenceModel(model: model) }
    }

    @Test func inconsistentShapesNameTheNode() throws {
        let node = ONNXNode(operatorType: "Add", inputs: ["a", "b"], outputs: ["y"], name: "bad_add")
        let model = CNNFixtures.singleNodeModel(node, inputs: [("a", [.parameter("N"), .unknown]), ("b", [.parameter("N"), .unknown])], outputs: ["y"])
        let loaded = try InferenceModel(model: model)
        let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [2, 4])
        do {
            _ = try loaded.makeSession().run(["a": a, "b": b])
            Issue.record("non-broadcastable shapes were accepted")
        } catch let error as ONNXError {
            guard case .inconsistentShapes(let nodeName, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(nodeName.contains("bad_add"))
        }
    }

    @Test func convChannelMismatchNamesTheNode() throws {
        let model = ONNXRoundTripTests.sampleModel()
        let loaded = try InferenceModel(model: model)
        do {
            // The declared input has 3 channels; pass 4 with an undeclared shape check bypassed by rank.
            _ = try loaded.makeSession().run(input: Tensor(zeros: [1, 4, 8, 8]))
            Issue.record("wrong channel count accepted")
        } catch let error as ONNXError {
            guard case .invalidInput(let name, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(name == "x")
        }
    }

    @Test func missingAndUnknownRunInputs() throws {
        let loaded = try InferenceModel(model: ONNXRoundTripTests.sampleModel())
        #expect(throws: ONNXError.missingInput(name: "x", available: ["x"])) { try loaded.makeSession().run([String: Tensor]()) }
        #expect(throws: ONNXError.missingInput(name: "z", available: ["x"])) {
            try loaded.makeSession().run(["x": Tensor(zeros: [1, 3, 8, 8]), "z": Tensor(zeros: [1])])
        }
    }

    @Test func malformedContractNamesTheKey() throws {
        var model = ONNXRoundTripTests.sampleModel()
        func replacing(_ key: String, with value: String) -> ONNXModel {
            var copy = model
            copy.metadataProps = copy.metadataProps.map { $0.key == key ? ONNXMetadataEntry(key: key, value: value) : $0 }
            return copy
        }
        let cases: [(String, String)] = [
            ("landcover.contract_version", "7"), ("landcover.task", "detection"), ("landcover.bands", "B02,,B04"),
            ("landcover.normalization", "{\"type\":\"mean_std\",\"mean\":[1,2],\"std\":[1,1]}"),
            ("landcover.normalization", "not json"), ("landcover.patch_size", "-3"),
            ("landcover.class_colors", "#00f,#008000,#ffff00,#ff0000,#c8c8c8"),
        ]
        for (key, value) in cases {
            do {
                _ = try InferenceModel(model: replacing(key, with: value))
                Issue.record("\(key) = \(value) was accepted")
            } catch let error as ModelContractError {
                guard case .malformedValue(let reported, _, _) = error else { Issue.record("unexpected \(error)"); continue }
                #expect(reported == key)
                #expect(error.errorDescription?.contains(key) == true)
            }
        }
        // Bands that disagree with the input's channel count.
        do {
            var twoBands = replacing("landcover.bands", with: "B02,B03")
            twoBands.metadataProps = twoBands.metadataProps.map {
                $0.key == "landcover.normalization" ? ONNXMetadataEntry(key: $0.key, value: "{\"type\":\"scale_offset\",\"scale\":[1e-4,1e-4],\"offset\":[0,0]}") : $0
            }
            _ = try InferenceModel(model: twoBands)
            Issue.record("band count mismatch accepted")
        } catch let error as ModelContractError {
            #expect(error.errorDescription?.contains("landcover.bands") == true)
        }
        // A partial contract lists the missing keys.
        model.metadataProps.removeAll { $0.key == "landcover.class_names" }
        #expect(throws: ModelContractError.missingKeys(["landcover.class_names"])) { try InferenceModel(model: model) }
    }

    @Test func modelWithoutContractRunsButRequireContractListsKeys() throws {
        var model = ONNXRoundTripTests.sampleModel()
        model.metadataProps = []
        let loaded = try InferenceModel(model: model)
        #expect(loaded.contract == nil)
        #expect(throws: ModelContractError.missingContract(keys: ModelContract.requiredKeys)) { try loaded.requireContract() }
        #expect(try loaded.makeSession().run(input: Tensor(zeros: [2, 3, 8, 8])).shape == [2, 5])
    }

    @Test func contractParsesAllFields() throws {
        let contract = try InferenceModel(model: ONNXRoundTripTests.sampleModel()).requireContract()
        #expect(contract.task == .patchClassification)
        #expect(contract.bands == ["B02", "B03", "B04"])
        #expect(contract.patchSize == 8)
        #expect(contract.classColors[1].description == "#008000")
        let affine = contract.normalization.affine
        #expect(abs(affine.scale[0] * 1500 + affine.offset[0] - 1) < 1e-6)
    }
}

import CNN
import Foundation
import TestSupport
import Testing

/// Paths and helpers shared by the CNN runtime tests.
enum CNNFixtures {
    static let fixtureDirectory = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/generated/onnx")


    /// Generates the onnxruntime fixtures if the manifest is missing; returns the manifest URL.
    static func ensureFixtures() throws -> URL {
        let manifest = fixtureDirectory.appendingPathComponent("manifest.json")
        if FileManager.default.fileExists(atPath: manifest.path) { return manifest }
        let result = try CommandLineTool.outcome("python3", ["scripts/onnx_fixtures/make_fixtures.py", "--out", "Tests/Fixtures/generated/onnx"],
                                                 directory: TestPaths.packageRoot)
        let (status, output) = (result.status, result.stdout + result.stderr)
        guard status == 0, FileManager.default.fileExists(atPath: manifest.path) else {
            throw FixtureError(message: "make_fixtures.py failed (status \(status)): \(output.suffix(2000))")
        }
        return manifest
    }

    struct FixtureError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Builds a single-node model with float inputs/outputs and a dynamic batch dim "N".
    static func singleNodeModel(_ node: ONNXNode, inputs: [(String, [ONNXValueInfo.Dimension])],
                                outputs: [String], initializers: [ONNXTensor] = [], opset: Int64 = 17,
                                metadata: [ONNXMetadataEntry] = []) -> ONNXModel {
        let graph = ONNXGraph(name: "test", nodes: [node], initializers: initializers,
                              inputs: inputs.map { ONNXValueInfo(name: $0.0, shape: $0.1) },
                              outputs: outputs.map { ONNXValueInfo(name: $0, shape: nil) })
        return ONNXModel(graph: graph, opsetImports: [ONNXOperatorSetID(domain: "", version: opset)], metadataProps: metadata)
    }

    /// Deterministic pseudo-random floats in [-1, 1).
    static func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }
}

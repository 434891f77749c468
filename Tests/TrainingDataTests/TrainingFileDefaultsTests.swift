import Foundation
import TestSupport
import Testing
import Training
import TrainingData

/// training/README.md is the one reference for the training-file schema: its table must name
/// the keys the reader accepts, and each literal default must be the code's default.
@Suite("Training files: documented defaults")
struct TrainingFileDefaultsTests {
    /// The README table's rows as key -> default column.
    static func documentedTable() throws -> [String: String] {
        try DocumentedTable.defaults(ofFile: "training/README.md")
    }

    /// The schema section holding a documented key, and the key's name in it.
    static func schemaPlace(_ key: String) -> (section: String, name: String) {
        guard let dot = key.lastIndex(of: ".") else { return ("", key) }
        let section = String(key[..<dot])
        return (section == "data.scenes[].labels" ? "labels" : section, String(key[key.index(after: dot)...]))
    }

    @Test func theTableAndTheReaderAgreeOnTheKeys() throws {
        let table = try Self.documentedTable()
        #expect(table.count > 40, "the table was not found or not parsed (\(table.count) keys)")
        for key in table.keys {
            let (section, name) = Self.schemaPlace(key)
            #expect(name == "*" ? TrainingFile.schema[section] != nil : TrainingFile.schema[section]?.contains(name) == true,
                    "documented key the reader refuses: \(key)")
        }
        // Every key of these sections has a row; sub-mappings (optimizer, schedule, strips,
        // blocks, augmentation, early stopping, balance) are described in their parent's row.
        let documentedSections = ["": "", "data": "data.", "data.scenes[]": "data.scenes[].", "labels": "data.scenes[].labels.",
                                  "legend[]": "legend[].", "patches": "patches.", "split": "split.", "model": "model.",
                                  "training": "training.", "output": "output."]
        let mappings: Set<String> = ["version", "data", "data.scenes", "data.scenes[].labels", "legend", "patches", "balance",
                                     "split", "model", "training", "output"]
        for (section, prefix) in documentedSections {
            for name in TrainingFile.schema[section] ?? [] where !mappings.contains(prefix + name) {
                #expect(table[prefix + name] != nil, "undocumented key: \(prefix + name)")
            }
        }
    }

    @Test func everyLiteralDefaultIsTheCodesDefault() throws {
        let table = try Self.documentedTable()
        let code = TrainingFile.documentedDefaults
        #expect(Set(code.keys) == Set(table.keys),
                "keys only in the code: \(Set(code.keys).subtracting(table.keys).sorted()), only in the table: \(Set(table.keys).subtracting(code.keys).sorted())")
        for (key, value) in code {
            guard let documented = table[key] else { continue }
            let shown = documented.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces)
            if let value {
                #expect(shown == value || shown.hasPrefix(value + " "), "\(key): README says '\(documented)', the code's default is '\(value)'")
            } else {
                // A default that depends on other keys, the data or the machine is described in words.
                #expect(Double(shown) == nil && !["true", "false", "required"].contains(shown), "\(key): README gives '\(documented)' as if it were fixed")
            }
        }
    }

    /// A file with only the required keys parses to the default-built training file: the parser
    /// has no defaults of its own.
    @Test func aMinimalFileGetsTheDefaults() throws {
        let text = """
        data: {folder: patches}
        legend: [{name: water, color: "#0000ff"}]
        bands: [B02]
        patches: {size: 16}
        model: {architecture: small_cnn}
        training: {epochs: 1, batch_size: 2, learning_rate: 0.1}
        output: {model: out/m.onnx}
        """
        let parsed = try TrainingFile.parse(text, baseFolder: "/p", source: "t.yaml")
        var expected = TrainingFile(
            data: .folder(.init(path: "/p/patches")), legend: parsed.legend, bands: ["B02"], sampling: PatchSampling(patchSize: 16),
            trainer: TrainerConfiguration(epochs: 1, batchSize: 2, learningRate: 0.1, optimizer: .adam(TrainingFile.Defaults.adam),
                                          workers: TrainingFile.Defaults.workers, ignoreIndex: PatchDataset.ignoreIndex),
            output: .init(model: "/p/out/m.onnx", checkpoints: "/p/out/m_checkpoints", report: "/p/out/m_training.json"),
            baseFolder: "/p", source: "t.yaml")
        expected.model.architecture = .smallCNN
        #expect(parsed == expected)
        #expect(parsed.legend.map(\.values) == [[]])
    }
}

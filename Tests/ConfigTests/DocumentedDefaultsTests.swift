import Config
import Foundation
import TestSupport
import Testing

/// pipelines/README.md is the one reference for the pipeline schema: its table must name every
/// key the reader accepts, and each literal default must be the code's default.
@Suite struct DocumentedDefaultsTests {
    /// The README table's rows as key -> default column, multi-key rows (`output.folder`, `.name`)
    /// expanded to full keys and their comma-separated defaults split in order.
    static func documentedTable() throws -> [String: String] {
        try DocumentedTable.defaults(ofFile: "pipelines/README.md")
    }

    @Test func theTableNamesEveryKeyTheReaderAccepts() throws {
        let table = try Self.documentedTable()
        var keys = Set<String>()
        let sections = Set(PipelineFile.schema.keys.filter { !$0.isEmpty && !$0.hasSuffix("[]") })
        for (section, names) in PipelineFile.schema where !section.hasSuffix("[]") {
            for name in names {
                let key = section.isEmpty ? name : section + "." + name
                if !sections.contains(key) && key != "version" { keys.insert(key) }
            }
        }
        #expect(keys.subtracting(table.keys).isEmpty, "undocumented keys: \(keys.subtracting(table.keys).sorted())")
        #expect(Set(table.keys).subtracting(keys).isEmpty, "documented keys the reader refuses: \(Set(table.keys).subtracting(keys).sorted())")
    }

    @Test func everyLiteralDefaultIsTheCodesDefault() throws {
        let table = try Self.documentedTable()
        let code = PipelineFile.documentedDefaults
        #expect(Set(code.keys) == Set(table.keys).subtracting(["inputs", "model"]), "the code's default list and the table differ in keys")
        for (key, value) in code {
            guard let documented = table[key] else { continue }
            let shown = documented.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces)
            if let value {
                #expect(shown == value || shown.hasPrefix(value + " "),
                        "\(key): README says '\(documented)', the code's default is '\(value)'")
            } else {
                // A default that depends on the model, scene or machine is described in words.
                #expect(Double(shown) == nil && !["true", "false"].contains(shown), "\(key): README gives '\(documented)' as if it were fixed")
            }
        }
    }

    /// Parsing a file with only the required keys gives exactly the default-built pipeline.
    @Test func aMinimalFileGetsTheDefaults() throws {
        let parsed = try PipelineFile.parse("inputs: [a.tif]\nmodel: m.onnx\n", baseFolder: "/p")
        #expect(parsed == PipelineFile(inputs: [.init(paths: ["a.tif"])], model: "m.onnx", baseFolder: "/p"))
    }
}

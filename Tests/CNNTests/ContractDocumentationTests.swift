import CNN
import Foundation
import TestSupport
import Testing

/// README.md's "Model contract" table is the one description of the contract: it lists exactly
/// the keys the engine reads, required ones marked `yes`.
@Suite struct ContractDocumentationTests {
    @Test func readmeTableListsTheKeysTheEngineReads() throws {
        let readme = try String(contentsOfFile: TestPaths.package("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "\n## Model contract\n").dropFirst().first?
            .components(separatedBy: "\n## ").first)
        var required: Set<String> = [], optional: Set<String> = []
        for line in section.split(separator: "\n") where line.hasPrefix("| `landcover.") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let key = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            if cells[1] == "yes" { required.insert(key) } else { optional.insert(key) }
        }
        #expect(required == Set(ModelContract.requiredKeys), "README required: \(required.sorted())")
        #expect(optional == Set(ModelContract.optionalKeys), "README optional: \(optional.sorted())")
    }
}

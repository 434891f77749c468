import Foundation
import TestSupport
import Testing

/// Legends the documentation shows give every class its own colour (a map with two classes in
/// one colour cannot be read).
@Suite("documented legends")
struct DocumentedLegendTests {
    static let documents = ["README.md", "pipelines/README.md", "training/README.md", "samples/model/README.md"]

    /// `#rrggbb` codes in `text`, lower-cased, in order.
    static func colours(in text: String) -> [String] {
        text.matches(of: /#[0-9a-fA-F]{6}\b/).map { String(text[$0.range]).lowercased() }
    }

    /// Legends: every line listing several colours (a `class_colors` value), and every run of
    /// consecutive table rows that each give one colour (a legend table).
    static func legends(in text: String) -> [[String]] {
        var legends: [[String]] = []
        var table: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let found = colours(in: String(line))
            if found.count > 1 { legends.append(found) }
            if line.hasPrefix("|"), found.count == 1 {
                table += found
            } else if !line.hasPrefix("|") || found.count > 1 {
                if table.count > 1 { legends.append(table) }
                table = []
            }
        }
        if table.count > 1 { legends.append(table) }
        return legends
    }

    @Test func everyDocumentedLegendHasDistinctColours() throws {
        var checked = 0
        for document in Self.documents {
            let text = try String(contentsOfFile: TestPaths.package(document), encoding: .utf8)
            for legend in Self.legends(in: text) {
                checked += 1
                let repeated = Dictionary(grouping: legend, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
                #expect(repeated.isEmpty, "\(document): a legend gives several classes the colour \(repeated): \(legend)")
            }
        }
        #expect(checked >= 2, "found \(checked) legends")
        #expect(Self.legends(in: "\"#f096ff,#c4281b,#c4281b\"") == [["#f096ff", "#c4281b", "#c4281b"]])
    }
}

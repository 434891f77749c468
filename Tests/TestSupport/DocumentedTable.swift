import Foundation

/// The schema table of a README (pipelines/README.md, training/README.md) as key -> default
/// column, for the tests that check the documented defaults against the code's.
public enum DocumentedTable {
    /// Rows `| keys | type | default | meaning |` whose keys cell starts with a backquote.
    /// `a.b`, `.c` / `a.b` / `.c` / `` `a` or `b` `` rows are expanded to full keys; their default
    /// cell is split in order (on " / " when the keys are, else on ", ") when it has one value per
    /// key, and given whole to every key otherwise.
    public static func defaults(ofFile relativePath: String) throws -> [String: String] {
        let text = try String(contentsOfFile: TestPaths.package(relativePath), encoding: .utf8)
        var table: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5 else { continue }
            let names = cells[1].replacingOccurrences(of: " or ", with: ",")
                .components(separatedBy: CharacterSet(charactersIn: ",/"))
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
                .filter { !$0.isEmpty }
            guard let first = names.first else { continue }
            let prefix = first.contains(".") ? String(first[..<(first.lastIndex(of: ".") ?? first.startIndex)]) : ""
            let keys = names.map { $0.hasPrefix(".") ? prefix + $0 : $0 }
            let defaults = cells[3].components(separatedBy: cells[1].contains(" / ") ? " / " : ", ")
            for (index, key) in keys.enumerated() {
                table[key] = keys.count == defaults.count ? defaults[index] : cells[3]
            }
        }
        return table
    }
}

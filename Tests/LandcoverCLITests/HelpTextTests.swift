import Foundation
import RasterIO
import TestSupport
import Testing

/// `--help` of every command reads as swift-argument-parser wraps it: no line broken by hand
/// inside a sentence, each default said once, every accepted value listed.
@Suite("help texts")
struct HelpTextTests {
    static let columns = 80

    /// `landcover [PATH...] --help` at 80 columns.
    static func help(_ path: [String]) throws -> String {
        let result = try CLI.run(path + ["--help"], environment: ["COLUMNS": "\(columns)"])
        #expect(result.status == 0, "\(path): \(result.stderr)")
        return result.stdout
    }

    /// The subcommand names a help text lists under SUBCOMMANDS.
    static func subcommands(in help: String) -> [String] {
        guard let section = help.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first else { return [] }
        var names: [String] = []
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty || !line.hasPrefix("  ") { break }
            // "  name   abstract"; continuation lines of an abstract start with more spaces.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { continue }
            names.append(String(name).replacingOccurrences(of: "(default)", with: ""))
        }
        return names.filter { $0 != "help" }
    }

    /// Every command path: [], [info], [model], [model, info], ...
    static func allCommands() throws -> [[String]: String] {
        var found: [[String]: String] = [:]
        var queue: [[String]] = [[]]
        while let path = queue.popLast() {
            let text = try help(path)
            found[path] = text
            queue += subcommands(in: text).map { path + [$0] }
        }
        return found
    }

    /// Lines that break inside a sentence (the line does not end one): a line continued by the
    /// next one (same indentation as its text) although the next line's first word would have
    /// fit on it (the wrapper fills lines up to `columns - 1` characters, so the break is not
    /// its), or an indented line whose sentence goes on at column 0 (text wrapped by hand and
    /// then again by the wrapper: "restricted" / "to its").
    static func brokenLines(_ text: String) -> [String] {
        let lines = text.components(separatedBy: "\n")
        var broken: [String] = []
        for (line, next) in zip(lines, lines.dropFirst()) {
            let trimmedNext = next.drop { $0 == " " }
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty, !trimmedNext.isEmpty,
                  !trimmedNext.hasPrefix("-"), !trimmedNext.hasPrefix("<"), !trimmedNext.hasPrefix("[") else { continue }
            if let last = line.trimmingCharacters(in: .whitespaces).last, ".:;!?)".contains(last) { continue }
            let nextIndent = next.count - trimmedNext.count
            // The column where this line's text starts: its indentation, or for an option or
            // subcommand line, where its help text begins after the name column.
            let indent = line.prefix { $0 == " " }.count
            var textColumn = indent
            if let gap = line.dropFirst(indent).range(of: "  ") {
                let after = line[gap.upperBound...].prefix { $0 == " " }.count
                textColumn = line.distance(from: line.startIndex, to: gap.upperBound) + after
            }
            if indent > 0 && nextIndent == 0 {
                broken.append("\(line)⏎\(next)")
                continue
            }
            guard nextIndent == textColumn || nextIndent == indent else { continue }
            let word = trimmedNext.split(separator: " ").first ?? ""
            if line.count + 1 + word.count < columns { broken.append("\(line)⏎\(next)") }
        }
        return broken
    }

    /// Option entries ("  --name ..." and their continuation lines) that say "default" twice.
    static func repeatedDefaults(_ text: String) -> [String] {
        var entries: [String] = []
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("  -") { entries.append(line) } else if line.hasPrefix("    "), !entries.isEmpty {
                entries[entries.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if !entries.isEmpty, !(entries.last?.isEmpty ?? true) { entries.append("") }
        }
        return entries.filter { $0.lowercased().components(separatedBy: "default").count > 2 }
    }

    @Test func noHelpLineBreaksMidSentenceAndNoDefaultTwice() throws {
        let commands = try Self.allCommands()
        #expect(commands.count >= 12, "\(commands.keys.sorted { $0.joined(separator: " ") < $1.joined(separator: " ") })")
        #expect(commands[["classify"]] != nil && commands[["model", "predict"]] != nil)
        for (path, text) in commands {
            let name = (["landcover"] + path).joined(separator: " ")
            #expect(Self.brokenLines(text).isEmpty, "\(name) --help breaks lines mid-sentence: \(Self.brokenLines(text))")
            #expect(Self.repeatedDefaults(text).isEmpty, "\(name) --help gives a default twice: \(Self.repeatedDefaults(text))")
        }
    }

    /// The checks themselves fail on the texts issue 19 quotes.
    @Test func theChecksCatchHardBreaksAndRepeatedDefaults() {
        let hardWrapped = """
          Writes, per scene, a class GeoTIFF/COG (colour table, class names, nodata,
          optional
          confidence band), optional per-class probabilities.
        """
        #expect(Self.brokenLines(hardWrapped).count == 1)
        let wrapped = """
          Writes, per scene, a class GeoTIFF/COG (colour table, class names, nodata,
          optional confidence band), optional per-class probabilities.
        """
        #expect(Self.brokenLines(wrapped).isEmpty)
        let option = """
          --threads <threads>     Worker threads (default 1). (default: 1)
          --size <size>           Scene size in pixels,
                                  restricted
                                  to its tiles. (default: 512)
        """
        #expect(Self.repeatedDefaults(option).count == 1)
        #expect(Self.brokenLines(option).count == 2)
        let doubleWrapped = """
          --training-file T.yaml   the scenes and labels of a training file, restricted
        to its
                                   held-out split (--split; default test, else validation).
        """
        #expect(Self.brokenLines(doubleWrapped).count == 1)
    }

    /// Values an option accepts are listed from the code: every named band order, every
    /// resampling method, every mode.
    @Test func acceptedValuesAreListed() throws {
        for path in [["info"], ["stack"], ["classify"]] {
            let text = try Self.help(path).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            for order in SentinelBand.namedOrders { #expect(text.contains(order), "\(path) --help lacks \(order)") }
            for method in Resampling.allCases { #expect(text.contains(method.rawValue), "\(path) --help lacks \(method.rawValue)") }
        }
        let classify = try Self.help(["classify"]).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for mode in ["auto", "patch", "dense", "segmentation", "gpkg", "geojson", "deflate", "zstd", "lzw"] {
            #expect(classify.contains(mode), "classify --help lacks \(mode)")
        }
    }
}

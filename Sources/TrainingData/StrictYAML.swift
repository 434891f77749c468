import Foundation
import Pipeline
import Yams

/// A YAML mapping of a training file with strict keys: a key outside `allowed` is an error that
/// suggests the closest allowed key. Values are read with typed accessors whose errors name the
/// full key path (`training.batch_size`).
struct StrictMap {
    let file: String
    /// Dotted path of this mapping ("" at the top level).
    let path: String
    private let pairs: [(String, Node)]

    init(_ node: Node, file: String, path: String, allowed: Set<String>?) throws {
        guard case .mapping(let mapping) = node else {
            throw TrainingFileError.invalidValue(file: file, key: path.isEmpty ? "(top level)" : path, value: Self.show(node),
                                                 reason: "must be a mapping of keys to values")
        }
        self.file = file
        self.path = path
        var pairs: [(String, Node)] = []
        for (k, v) in mapping {
            guard let name = k.string else { continue }
            if let allowed, !allowed.contains(name) {
                let suggestion = KeySuggestion.closest(name, in: allowed).map { path.isEmpty ? $0 : "\(path).\($0)" }
                throw TrainingFileError.unknownKey(file: file, key: path.isEmpty ? name : "\(path).\(name)", suggestion: suggestion)
            }
            pairs.append((name, v))
        }
        self.pairs = pairs
    }

    var keys: [String] { pairs.map(\.0) }

    subscript(name: String) -> Node? { pairs.first { $0.0 == name }?.1 }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func invalid(_ name: String, _ value: String, _ reason: String) -> TrainingFileError {
        .invalidValue(file: file, key: key(name), value: value, reason: reason)
    }

    func missing(_ name: String, _ hint: String) -> TrainingFileError {
        .missingKey(file: file, key: key(name), hint: hint)
    }

    /// A nested strict mapping.
    func map(_ name: String, allowed: Set<String>?) throws -> StrictMap? {
        guard let node = self[name] else { return nil }
        return try StrictMap(node, file: file, path: key(name), allowed: allowed)
    }

    func scalar(_ name: String) throws -> String? {
        guard let node = self[name] else { return nil }
        guard case .scalar(let s) = node else { throw invalid(name, Self.show(node), "must be a single value") }
        return s.string
    }

    func string(_ name: String) throws -> String? { try scalar(name) }

    func int(_ name: String, minimum: Int? = nil) throws -> Int? {
        guard let text = try scalar(name) else { return nil }
        guard let value = Int(text) else { throw invalid(name, text, "must be a whole number") }
        if let minimum, value < minimum { throw invalid(name, text, "must be at least \(minimum)") }
        return value
    }

    func uint64(_ name: String) throws -> UInt64? {
        guard let text = try scalar(name) else { return nil }
        guard let value = UInt64(text) else { throw invalid(name, text, "must be a whole number >= 0") }
        return value
    }

    func double(_ name: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let text = try scalar(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw invalid(name, text, "must be a number") }
        if let range, !range.contains(value) { throw invalid(name, text, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = try scalar(name) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw invalid(name, text, "must be true or false")
        }
    }

    /// A list of scalars; a single scalar counts as a one-element list, and a comma-separated
    /// scalar as a list.
    func strings(_ name: String) throws -> [String]? {
        guard let node = self[name] else { return nil }
        return try Self.strings(node, invalid: { self.invalid(name, $0, $1) })
    }

    static func strings(_ node: Node, invalid: (String, String) -> TrainingFileError) throws -> [String] {
        if let s = node.string {
            return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard case .sequence(let seq) = node else { throw invalid(show(node), "must be a list") }
        return try seq.map { item in
            guard let s = item.string else { throw invalid(show(item), "must be a list of single values") }
            return s
        }
    }

    /// A short rendering of a node for messages.
    static func show(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string
        case .sequence(let seq): return "[" + seq.map(show).joined(separator: ", ") + "]"
        case .mapping(let m): return "{" + m.map { "\(show($0.key)): \(show($0.value))" }.joined(separator: ", ") + "}"
        case .alias: return "(alias)"
        }
    }
}

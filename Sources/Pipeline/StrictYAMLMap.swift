import Foundation
import Yams

/// How a strict YAML reader reports problems. Each file format (pipeline files, training files)
/// supplies one, so that one reader, ``StrictYAMLMap``, throws that format's own error type with
/// its own wording. Keys are full dotted paths (`tiling.stride`, `data.scenes[0].labels`).
package protocol StrictYAMLErrors: Sendable {
    /// The error type the reader throws.
    associatedtype Failure: Error
    /// `key` is not part of the schema; `suggestion` is the full path of the closest allowed key.
    func unknownKey(_ key: String, suggestion: String?) -> Failure
    /// A required key is absent; `hint` says what to give.
    func missingKey(_ key: String, hint: String) -> Failure
    /// `key` has a value of the wrong type or outside its range.
    func invalidValue(_ key: String, value: String, reason: String) -> Failure
    /// The file cannot be read or is not YAML.
    func unreadable(_ reason: String) -> Failure
    /// The reason given for a list item that is not a single value.
    var listItemReason: String { get }
}

/// A YAML mapping with strict keys: a key outside `allowed` is an error that suggests the closest
/// allowed key (``KeySuggestion/closest(_:in:)``). Values are read with typed accessors that return
/// nil for an absent key and whose errors name the full key path. Shared by pipeline files and
/// training files; `Errors` turns problems into each format's errors.
package struct StrictYAMLMap<Errors: StrictYAMLErrors> {
    /// How problems become errors.
    package let errors: Errors
    /// Dotted path of this mapping ("" at the top level).
    package let path: String
    private let pairs: [(String, Node)]

    /// Reads `node` as a mapping at `path`; `allowed` nil accepts any key.
    /// - Throws: `Errors.Failure` when `node` is not a mapping or has a key outside `allowed`.
    package init(_ node: Node, path: String, allowed: Set<String>?, errors: Errors) throws {
        guard case .mapping(let mapping) = node else {
            throw errors.invalidValue(path.isEmpty ? "(top level)" : path, value: Self.show(node), reason: "must be a mapping of keys to values")
        }
        self.errors = errors
        self.path = path
        var pairs: [(String, Node)] = []
        for (k, v) in mapping {
            guard let name = k.string else { continue }
            if let allowed, !allowed.contains(name) {
                let suggestion = KeySuggestion.closest(name, in: allowed).map { path.isEmpty ? $0 : "\(path).\($0)" }
                throw errors.unknownKey(path.isEmpty ? name : "\(path).\(name)", suggestion: suggestion)
            }
            pairs.append((name, v))
        }
        self.pairs = pairs
    }

    /// The top-level mapping of the YAML document `text`, its keys checked against `allowed`.
    /// - Throws: `errors.unreadable` with `emptyReason` for an empty document or "not valid YAML: …",
    ///   and the errors of ``init(_:path:allowed:errors:)``.
    package init(yaml text: String, allowed: Set<String>?, errors: Errors, emptyReason: String) throws {
        let parsed: Node?
        do {
            parsed = try Yams.compose(yaml: text)
        } catch {
            throw errors.unreadable("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let parsed else { throw errors.unreadable(emptyReason) }
        try self.init(parsed, path: "", allowed: allowed, errors: errors)
    }

    /// The text of the file at `path`.
    /// - Throws: `errors.unreadable(reason)` when the file cannot be read.
    package static func text(ofFile path: String, errors: Errors, reason: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw errors.unreadable(reason) }
        return String(decoding: data, as: UTF8.self)
    }

    /// The keys, in file order.
    package var keys: [String] { pairs.map(\.0) }

    /// The value of `name`, or nil when absent.
    package subscript(name: String) -> Node? { pairs.first { $0.0 == name }?.1 }

    /// The full dotted path of `name`.
    package func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The error for a wrong value of `name`.
    package func invalid(_ name: String, _ value: String, _ reason: String) -> Errors.Failure {
        errors.invalidValue(key(name), value: value, reason: reason)
    }

    /// The error for an absent `name`; `hint` says what to give.
    package func missing(_ name: String, _ hint: String) -> Errors.Failure {
        errors.missingKey(key(name), hint: hint)
    }

    /// The nested strict mapping `name`, or nil when absent.
    package func map(_ name: String, allowed: Set<String>?) throws -> StrictYAMLMap? {
        guard let node = self[name] else { return nil }
        return try StrictYAMLMap(node, path: key(name), allowed: allowed, errors: errors)
    }

    /// A single value (not a list or a mapping) as text.
    package func string(_ name: String) throws -> String? {
        guard let node = self[name] else { return nil }
        guard case .scalar(let s) = node else { throw invalid(name, Self.show(node), "must be a single value") }
        return s.string
    }

    /// A whole number, at least `minimum` when one is given.
    package func int(_ name: String, minimum: Int? = nil) throws -> Int? {
        guard let text = try string(name) else { return nil }
        guard let value = Int(text) else { throw invalid(name, text, "must be a whole number") }
        if let minimum, value < minimum { throw invalid(name, text, "must be at least \(minimum)") }
        return value
    }

    /// A whole number above zero (the error shows the number read and says "must be positive").
    package func positiveInt(_ name: String) throws -> Int? {
        guard let value = try int(name) else { return nil }
        guard value > 0 else { throw invalid(name, "\(value)", "must be positive") }
        return value
    }

    /// A whole number >= 0 of 64 bits (seeds).
    package func uint64(_ name: String) throws -> UInt64? {
        guard let text = try string(name) else { return nil }
        guard let value = UInt64(text) else { throw invalid(name, text, "must be a whole number >= 0") }
        return value
    }

    /// A finite number, inside `range` when one is given.
    package func double(_ name: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let text = try string(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw invalid(name, text, "must be a number") }
        if let range, !range.contains(value) { throw invalid(name, text, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    /// true/yes/on or false/no/off (any case).
    package func bool(_ name: String) throws -> Bool? {
        guard let text = try string(name) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw invalid(name, text, "must be true or false")
        }
    }

    /// A list of single values; see ``strings(of:invalid:)``.
    package func strings(_ name: String) throws -> [String]? {
        guard let node = self[name] else { return nil }
        return try strings(of: node) { invalid(name, $0, $1) }
    }

    /// A list of whole numbers; see ``strings(of:invalid:)``.
    package func ints(_ name: String) throws -> [Int]? {
        try strings(name)?.map { text in
            guard let value = Int(text) else { throw invalid(name, text, "must be a list of whole numbers") }
            return value
        }
    }

    /// `node` as a list of single values: a YAML list, or one value that counts as a list of its
    /// comma-separated parts (empty parts left out).
    /// - Throws: `invalid(value, reason)` for a mapping or a list item that is not a single value.
    package func strings(of node: Node, invalid: (String, String) -> Errors.Failure) throws -> [String] {
        if let s = node.string {
            return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard case .sequence(let seq) = node else { throw invalid(Self.show(node), "must be a list") }
        return try seq.map { item in
            guard let s = item.string else { throw invalid(Self.show(item), errors.listItemReason) }
            return s
        }
    }

    /// A short rendering of a node for messages (`[a, b]`, `{k: v}`).
    package static func show(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string
        case .sequence(let seq): return "[" + seq.map(show).joined(separator: ", ") + "]"
        case .mapping(let m): return "{" + m.map { "\(show($0.key)): \(show($0.value))" }.joined(separator: ", ") + "}"
        case .alias: return "(alias)"
        }
    }
}

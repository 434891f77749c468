import Foundation
import RasterIO
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
                let suggestion = name.count > 64 ? nil : KeySuggestion.closest(name, in: allowed).map { path.isEmpty ? $0 : "\(path).\($0)" }
                let shown = Self.excerpt(name)
                throw errors.unknownKey(path.isEmpty ? shown : "\(path).\(shown)", suggestion: suggestion)
            }
            pairs.append((name, v))
        }
        self.pairs = pairs
    }

    /// The top-level mapping of the YAML document `text`, its keys checked against `allowed`.
    /// - Throws: `errors.unreadable` with `emptyReason` for an empty document or "not valid YAML: …",
    ///   and the errors of ``init(_:path:allowed:errors:)``.
    package init(yaml text: String, allowed: Set<String>?, errors: Errors, emptyReason: String) throws {
        let depth = Self.flowNestingDepth(text)
        guard depth <= Self.maximumNesting else {
            throw errors.unreadable("nests lists or mappings \(depth) deep, more than the \(Self.maximumNesting) levels a configuration file may use; write it flat")
        }
        let parsed: Node?
        do {
            parsed = try Yams.compose(yaml: text)
        } catch {
            let first = String(describing: error).split(separator: "\n").first.map(String.init) ?? ""
            throw errors.unreadable("not valid YAML: \(Self.excerpt(first))")
        }
        guard let parsed else { throw errors.unreadable(emptyReason) }
        var budget = Self.maximumValues
        guard Self.fits(parsed, depth: 0, budget: &budget) else {
            throw errors.unreadable("expands to more than \(Self.maximumValues) values or \(Self.maximumNesting) levels (aliases that repeat aliases?); write the values out instead of nesting aliases")
        }
        try self.init(parsed, path: "", allowed: allowed, errors: errors)
    }

    /// Largest configuration file read, in bytes (1 MiB: pipeline and training files are a few KiB).
    package static var maximumFileBytes: Int { 1 << 20 }
    /// Most values (scalars, lists and mappings, aliases counted each time they are used) a
    /// document may expand to: a YAML alias bomb of a few hundred bytes stops here, after as
    /// many steps, instead of expanding to gigabytes.
    package static var maximumValues: Int { 100_000 }
    /// Deepest nesting of lists and mappings.
    package static var maximumNesting: Int { 64 }
    /// Longest excerpt of a value or key quoted in an error message, in characters.
    package static var maximumExcerpt: Int { 200 }

    /// Whether `node` expands to at most `budget` values and `maximumNesting` levels; walks at
    /// most `budget` values, so an alias bomb is refused after that many steps.
    static func fits(_ node: Node, depth: Int, budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0, depth <= maximumNesting else { return false }
        switch node {
        case .scalar, .alias: return true
        case .sequence(let seq):
            for item in seq where !fits(item, depth: depth + 1, budget: &budget) { return false }
            return true
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard fits(key, depth: depth + 1, budget: &budget), fits(value, depth: depth + 1, budget: &budget) else { return false }
            }
            return true
        }
    }

    /// The deepest nesting of flow brackets (`[`, `{`) outside quotes and comments: the YAML
    /// parser recurses once per level, so a file of a million brackets is refused before parsing.
    static func flowNestingDepth(_ text: String) -> Int {
        var depth = 0, deepest = 0
        var quote: UInt8? = nil, comment = false, previous: UInt8 = 10
        for byte in text.utf8 {
            defer { previous = byte }
            if comment { if byte == 10 { comment = false }; continue }
            if let open = quote {
                if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "#") where previous == 32 || previous == 9 || previous == 10: comment = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth = max(0, depth - 1)
            default: break
            }
        }
        return deepest
    }

    /// `text` cut to ``maximumExcerpt`` characters (control characters shown as `?`), with the
    /// number of characters left out, for error messages.
    package static func excerpt(_ text: String) -> String {
        var shown = ""
        var count = 0
        for character in text {
            if count == maximumExcerpt {
                return shown + "... (\(text.count - count) more characters)"
            }
            shown.append(character.unicodeScalars.allSatisfy { $0.properties.generalCategory == .control } ? "?" : character)
            count += 1
        }
        return shown
    }

    /// The text of the file at `path`.
    /// - Throws: `errors.unreadable` when the path is not a regular file (a FIFO or device is
    ///   refused without opening it, so it cannot block), is larger than ``maximumFileBytes``,
    ///   or cannot be read (`reason`).
    package static func text(ofFile path: String, errors: Errors, reason: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw errors.unreadable(reason) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw errors.unreadable("is \(FileKind.describe(mode: info.st_mode)), not a regular file; give the path of a YAML file")
        }
        guard info.st_size <= maximumFileBytes else {
            throw errors.unreadable("is \(info.st_size) bytes, more than the \(maximumFileBytes) bytes a configuration file may have; check the path")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw errors.unreadable(reason) }
        guard data.count <= maximumFileBytes else {
            throw errors.unreadable("is more than \(maximumFileBytes) bytes; check the path")
        }
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
        errors.invalidValue(key(name), value: Self.excerpt(value), reason: reason)
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

    /// A whole number inside `range` (the error states the range).
    package func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = try string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw invalid(name, text, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
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

    /// A short rendering of a node for messages (`[a, b]`, `{k: v}`), at most
    /// ``maximumExcerpt`` characters: rendering stops there, however large the node expands.
    package static func show(_ node: Node) -> String {
        var text = ""
        render(node, into: &text)
        return excerpt(text)
    }

    /// Appends `node` to `text` until `text` is longer than the excerpt.
    private static func render(_ node: Node, into text: inout String) {
        guard text.count <= maximumExcerpt else { return }
        switch node {
        case .scalar(let s): text += s.string.prefix(maximumExcerpt + 1)
        case .sequence(let seq):
            text += "["
            for (index, item) in seq.enumerated() {
                guard text.count <= maximumExcerpt else { return }
                if index > 0 { text += ", " }
                render(item, into: &text)
            }
            text += "]"
        case .mapping(let m):
            text += "{"
            for (index, pair) in m.enumerated() {
                guard text.count <= maximumExcerpt else { return }
                if index > 0 { text += ", " }
                render(pair.key, into: &text)
                text += ": "
                render(pair.value, into: &text)
            }
            text += "}"
        case .alias: text += "(alias)"
        }
    }
}

import Classification
import Config

/// Errors in a training file (`training/README.md`). Every case names the file and the key, and
/// its description says how to fix it.
public enum TrainingFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key is not part of the schema; `suggestion` is the closest valid key, when one is close.
    case unknownKey(file: String, key: String, suggestion: String?)
    /// A required key is absent.
    case missingKey(file: String, key: String, hint: String)
    /// A key has a value of the wrong type or outside its range.
    case invalidValue(file: String, key: String, value: String, reason: String)
    /// The file cannot be read or is not YAML.
    case unreadable(file: String, reason: String)

    /// One line: `<file>: <what is wrong>; <how to fix it>`.
    public var description: String {
        switch self {
        case .unknownKey(let file, let key, let suggestion):
            return "\(file): unknown key '\(key)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "; see training/README.md for the schema")
        case .missingKey(let file, let key, let hint):
            return "\(file): missing key '\(key)'; \(hint) (see training/README.md)"
        case .invalidValue(let file, let key, let value, let reason):
            return "\(file): \(key): '\(value)' \(reason)"
        case .unreadable(let file, let reason):
            return "\(file): \(reason)"
        }
    }
}

/// Training files' strict mappings.
typealias StrictMap = StrictYAMLMap<TrainingFileErrors>

/// How ``StrictYAMLMap`` problems in a training file become ``TrainingFileError``s naming `file`.
struct TrainingFileErrors: StrictYAMLErrors {
    /// The file (or description of the text) being read.
    let file: String

    func unknownKey(_ key: String, suggestion: String?) -> TrainingFileError { .unknownKey(file: file, key: key, suggestion: suggestion) }
    func missingKey(_ key: String, hint: String) -> TrainingFileError { .missingKey(file: file, key: key, hint: hint) }
    func invalidValue(_ key: String, value: String, reason: String) -> TrainingFileError {
        .invalidValue(file: file, key: key, value: value, reason: reason)
    }
    func unreadable(_ reason: String) -> TrainingFileError { .unreadable(file: file, reason: reason) }
    var listItemReason: String { "must be a list of single values" }
}

/// Errors of the pipeline module. Messages name the pipeline key, file or band and say how to fix it.
public enum PipelineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key is not part of the schema; `suggestion` is the closest valid key.
    case unknownKey(key: String, suggestion: String?)
    /// A required key is absent.
    case missingKey(key: String)
    /// A key has a value of the wrong type or outside its range.
    case invalidValue(key: String, value: String, reason: String)
    /// The pipeline file cannot be read or parsed.
    case unreadable(path: String, reason: String)
    /// The model and the scene do not fit together.
    case contractMismatch(scene: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKey(let key, let suggestion):
            return "unknown key '\(key)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "; see pipelines/README.md for the schema")
        case .missingKey(let key):
            return "missing key '\(key)'; add it (see pipelines/README.md)"
        case .invalidValue(let key, let value, let reason):
            return "\(key): '\(value)' \(reason)"
        case .unreadable(let path, let reason):
            return "\(path): \(reason)"
        case .contractMismatch(let scene, let reason):
            return "\(scene): \(reason)"
        }
    }
}

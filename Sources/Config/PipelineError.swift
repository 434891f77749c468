import Foundation

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
    /// A setting of the pipeline file (`key`) cannot be used for this scene (a `resolution` that
    /// makes its grid too large for the bounds or the memory budget): the pipeline must change,
    /// so `run` exits 2 although the other scenes are done.
    case sceneSetting(scene: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKey(let key, let suggestion):
            return "unknown key '\(YAMLMap.excerpt(key))'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "; see pipelines/README.md for the schema")
        case .missingKey(let key):
            return "missing key '\(key)'; add it (see pipelines/README.md)"
        case .invalidValue(let key, let value, let reason):
            return "\(key): '\(YAMLMap.excerpt(value))' \(reason)"
        case .unreadable(let path, let reason):
            return "\(path): \(reason)"
        case .contractMismatch(let scene, let reason):
            return "\(scene): \(reason)"
        case .sceneSetting(let scene, let key, let reason):
            return "\(scene): \(key): \(reason)"
        }
    }
}

extension PipelineError {
    /// The one-line message with the pipeline file in front where the error is about a key of it
    /// (`pipeline.yaml: tiling.stride: '80' must be ...`); errors that already name their file
    /// (an unreadable pipeline or model file, a scene's file) are unchanged.
    public func message(pipelineFile: String) -> String {
        switch self {
        case .unknownKey, .missingKey, .invalidValue: return "\(pipelineFile): \(description)"
        case .unreadable, .contractMismatch, .sceneSetting: return description
        }
    }
}

/// One-line text of any error for messages, logs, reports and the run history: the description
/// of landcover's own error types (which name the file and say how to fix the problem), the
/// `errorDescription` of localized errors, else Foundation's localized description; never the
/// Swift rendering of an enum case (`truncated(context: "ModelProto")`).
public enum ErrorText {
    /// The error's message on one line.
    public static func describe(_ error: any Error) -> String {
        var text: String
        if (error as Any) is NSError {
            // Foundation's errors: "The operation could not be completed. The file doesn't exist."
            text = error.localizedDescription
            let generic = "The operation could not be completed. "
            if text.hasPrefix(generic) { text.removeFirst(generic.count) }
        } else if let localized = error as? any LocalizedError, let description = localized.errorDescription {
            text = description
        } else if let own = (error as Any) as? any CustomStringConvertible {
            text = own.description
        } else {
            text = error.localizedDescription
        }
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}

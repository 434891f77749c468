import Foundation

/// Errors of a missing or malformed model contract. Each names the metadata key and says what
/// is expected; `description` is the same sentence (never the Swift case name), so the error reads
/// the same however it is printed.
public enum ModelContractError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// The model has no contract at all; `keys` are the required keys to add.
    case missingContract(keys: [String])
    /// Some required keys are absent.
    case missingKeys([String])
    /// A key's value cannot be parsed.
    case malformedValue(key: String, value: String, expected: String)
    /// A key disagrees with the graph's declared shapes.
    case graphMismatch(key: String, detail: String)

    public var errorDescription: String? {
        switch self {
        case .missingContract(let keys):
            return "The model has no landcover contract; add these metadata_props keys: \(keys.joined(separator: ", ")) (see README, \"Model contract\")."
        case .missingKeys(let keys):
            return "The model contract is incomplete; add metadata_props keys: \(keys.joined(separator: ", "))."
        case .malformedValue(let key, let value, let expected):
            return "Model metadata \(key) = \"\(value)\" is malformed; expected \(expected)."
        case .graphMismatch(let key, let detail):
            return "Model metadata \(key) \(detail)."
        }
    }

    public var description: String { errorDescription ?? "invalid model contract" }
}

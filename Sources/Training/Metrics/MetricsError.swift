import Foundation

/// Errors of building or combining confusion matrices and accuracy reports.
public enum MetricsError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// A confusion matrix needs at least one class.
    case invalidClassCount(Int)
    /// A target or prediction is not a class index (and, for targets, not the ignore index).
    case classOutOfRange(role: String, value: Int, classCount: Int)
    /// Predictions and targets differ in length.
    case countMismatch(predictions: Int, targets: Int)
    /// A count is negative.
    case negativeCount(Int)
    /// Two matrices (or a matrix and its class names) disagree in class count.
    case classCountMismatch(expected: Int, actual: Int)

    /// What is wrong and how to fix it, in one sentence.
    public var errorDescription: String? {
        switch self {
        case .invalidClassCount(let count):
            return "A confusion matrix needs at least one class, got \(count); pass the model's class count."
        case .classOutOfRange(let role, let value, let classCount):
            return "\(role.prefix(1).uppercased() + role.dropFirst()) \(value) is outside 0..<\(classCount); "
                + "use class indices of the model, and mark unlabelled pixels with the ignore index."
        case .countMismatch(let predictions, let targets):
            return "\(predictions) predictions but \(targets) targets; pass one prediction per target."
        case .negativeCount(let count):
            return "A confusion-matrix count cannot be negative (\(count))."
        case .classCountMismatch(let expected, let actual):
            return "Expected \(expected) classes but got \(actual); combine matrices (and name classes) of the same model."
        }
    }

    /// The same text as ``errorDescription``.
    public var description: String { errorDescription ?? "metrics error" }
}

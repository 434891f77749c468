import Foundation

/// Errors of optimizer construction, stepping and state restoration. Each says what is wrong
/// and how to fix it.
public enum OptimizerError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// A hyper-parameter is outside its valid range.
    case invalidHyperparameter(name: String, value: Double, expected: String)
    /// The parameters passed to `step` are not the ones the optimizer's state was built for.
    case parameterMismatch(index: Int, expected: String, actual: String)
    /// A saved state belongs to another algorithm.
    case algorithmMismatch(stored: OptimizerAlgorithm, expected: OptimizerAlgorithm)
    /// A saved state is internally inconsistent (a moment buffer of the wrong length, a negative
    /// step count).
    case corruptState(parameter: String, reason: String)

    /// What is wrong and how to fix it, in one sentence.
    public var errorDescription: String? {
        switch self {
        case .invalidHyperparameter(let name, let value, let expected):
            return "Optimizer hyper-parameter \(name) = \(value) is invalid; use \(expected)."
        case .parameterMismatch(let index, let expected, let actual):
            return "Optimizer state slot \(index) was built for \(expected) but the network passed \(actual); "
                + "pass the network's parameters in the same order every step, or start a new optimizer."
        case .algorithmMismatch(let stored, let expected):
            return "The saved optimizer state is for \(stored.rawValue), not \(expected.rawValue); "
                + "resume with the optimizer the state was saved from."
        case .corruptState(let parameter, let reason):
            return "The saved optimizer state of parameter \(parameter) is corrupt: \(reason); "
                + "resume from an intact state file or start a new run."
        }
    }

    /// The same text as ``errorDescription``.
    public var description: String { errorDescription ?? "optimizer error" }
}

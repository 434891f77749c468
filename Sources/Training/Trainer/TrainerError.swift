import Foundation

/// Errors of a training run. Each says what is wrong and how to fix it.
public enum TrainerError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// A configuration key is out of range.
    case invalidConfiguration(key: String, value: String, expected: String)
    /// The training source has no samples, or too few for one full batch when partial batches
    /// are dropped.
    case notEnoughSamples(count: Int, batchSize: Int)
    /// Early stopping was configured but no validation source was given.
    case missingValidation
    /// A sample source returned a batch of the wrong size.
    case sourceMismatch(detail: String)
    /// The network returned something that breaks the ``TrainableNetwork`` contract.
    case networkMismatch(detail: String)
    /// The training loss became NaN or infinite.
    case nonFiniteLoss(epoch: Int, batch: Int)

    /// What is wrong and how to fix it, in one sentence.
    public var errorDescription: String? {
        switch self {
        case .invalidConfiguration(let key, let value, let expected):
            return "Training configuration \(key) = \(value) is invalid; use \(expected)."
        case .notEnoughSamples(let count, let batchSize):
            return "The training source has \(count) samples, too few for a batch of \(batchSize); "
                + "add samples, lower batchSize or keep partial batches."
        case .missingValidation:
            return "Early stopping needs a validation source; pass one or remove earlyStopping."
        case .sourceMismatch(let detail):
            return "The sample source returned an inconsistent batch: \(detail)."
        case .networkMismatch(let detail):
            return "The network broke the training contract: \(detail)."
        case .nonFiniteLoss(let epoch, let batch):
            return "The training loss became NaN or infinite in epoch \(epoch), batch \(batch); "
                + "lower the learning rate, check the inputs' normalization, or resume from an earlier state."
        }
    }

    /// The same text as ``errorDescription``.
    public var description: String { errorDescription ?? "training error" }
}

/// Errors of reading, writing or applying a ``TrainerState`` file. Each names the file.
public enum TrainerStateError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// The file cannot be read or written.
    case io(path: String, reason: String)
    /// The file does not start with the trainer-state signature.
    case notAStateFile(path: String)
    /// The file was written by a newer format version.
    case unsupportedVersion(path: String, version: UInt32)
    /// The file is truncated or its header and data disagree.
    case corrupt(path: String, detail: String)
    /// The saved parameters do not fit the network being trained.
    case networkMismatch(path: String, detail: String)
    /// The saved configuration differs from the current one in a key that changes results.
    case configurationMismatch(path: String, key: String, stored: String, current: String)

    /// What is wrong and how to fix it, in one sentence.
    public var errorDescription: String? {
        switch self {
        case .io(let path, let reason):
            return "\(path): \(reason)."
        case .notAStateFile(let path):
            return "\(path): not a landcover trainer state file; pass the state file a training run wrote."
        case .unsupportedVersion(let path, let version):
            return "\(path): trainer state format version \(version) is not supported (this build reads version \(TrainerState.formatVersion)); "
                + "resume with the landcover version that wrote it."
        case .corrupt(let path, let detail):
            return "\(path): the trainer state is corrupt (\(detail)); resume from an intact copy or start a new run."
        case .networkMismatch(let path, let detail):
            return "\(path): the saved state does not fit this network (\(detail)); resume with the model the run started from."
        case .configurationMismatch(let path, let key, let stored, let current):
            return "\(path): \(key) was \(stored) when the state was saved but is \(current) now; "
                + "resume with the saved value (only epochs and workers may change) or start a new run."
        }
    }

    /// The same text as ``errorDescription``.
    public var description: String { errorDescription ?? "trainer state error" }
}

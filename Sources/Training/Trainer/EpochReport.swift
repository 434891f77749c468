import Foundation

/// What one training epoch measured, passed to the `onEpoch` callback of
/// ``Trainer/fit(training:validation:stateFile:onEpoch:)``.
public struct EpochReport: Codable, Sendable, Equatable {
    /// The epoch just finished, counting from 1.
    public var epoch: Int
    /// The configured number of epochs.
    public var epochCount: Int
    /// Mean training loss over the epoch (`Σ lossSum / Σ weightSum` over its minibatches, with
    /// the parameters of the moment each batch was seen and augmentation applied).
    public var trainingLoss: Double
    /// Fraction of non-ignored training targets predicted correctly during the epoch; nil when
    /// every target was ignored.
    public var trainingAccuracy: Double?
    /// Mean validation loss after the epoch (inference mode); nil without validation samples.
    public var validationLoss: Double?
    /// Overall validation accuracy after the epoch; nil without validation samples.
    public var validationAccuracy: Double?
    /// The validation confusion matrix (rows reference, columns predicted).
    public var validationMatrix: ConfusionMatrix?
    /// Learning rate of the epoch's last minibatch.
    public var learningRate: Double
    /// Wall-clock seconds of the epoch, validation included.
    public var seconds: Double
    /// True when the validation loss improved on every earlier epoch (a checkpoint worth keeping).
    public var improved: Bool
    /// True when early stopping ends training after this epoch.
    public var stopsEarly: Bool

    /// Creates a report.
    public init(epoch: Int, epochCount: Int, trainingLoss: Double, trainingAccuracy: Double?, validationLoss: Double?,
                validationAccuracy: Double?, validationMatrix: ConfusionMatrix?, learningRate: Double, seconds: Double,
                improved: Bool, stopsEarly: Bool) {
        self.epoch = epoch
        self.epochCount = epochCount
        self.trainingLoss = trainingLoss
        self.trainingAccuracy = trainingAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.validationMatrix = validationMatrix
        self.learningRate = learningRate
        self.seconds = seconds
        self.improved = improved
        self.stopsEarly = stopsEarly
    }

    /// One line for a log, for example
    /// `epoch 3/20 loss 0.4321 acc 0.8765 val_loss 0.5012 val_acc 0.8410 lr 1.000e-03 12.3s best`.
    public var line: String {
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
        var parts = ["epoch \(epoch)/\(epochCount)", "loss \(number(trainingLoss))", "acc \(number(trainingAccuracy))"]
        if validationLoss != nil || validationAccuracy != nil {
            parts.append("val_loss \(number(validationLoss))")
            parts.append("val_acc \(number(validationAccuracy))")
        }
        parts.append("lr " + String(format: "%.3e", learningRate))
        parts.append(String(format: "%.1fs", seconds))
        if improved { parts.append("best") }
        if stopsEarly { parts.append("early stop") }
        return parts.joined(separator: " ")
    }
}

/// Where an epoch stands after one training minibatch, passed to ``Trainer/onBatch``.
public struct BatchProgress: Sendable, Equatable {
    /// The epoch under way, counting from 1, and the configured number of epochs.
    public var epoch: Int
    public var epochCount: Int
    /// Minibatches finished in this epoch (from 1) and minibatches per epoch.
    public var batch: Int
    public var batchCount: Int
    /// Training samples (patches) seen in this epoch so far and per epoch.
    public var samples: Int
    public var sampleCount: Int
    /// Mean training loss of the epoch so far.
    public var trainingLoss: Double
    /// Wall-clock seconds since the epoch started (training only; validation comes after the
    /// last minibatch).
    public var seconds: Double

    /// Creates a progress value.
    public init(epoch: Int, epochCount: Int, batch: Int, batchCount: Int, samples: Int, sampleCount: Int,
                trainingLoss: Double, seconds: Double) {
        self.epoch = epoch
        self.epochCount = epochCount
        self.batch = batch
        self.batchCount = batchCount
        self.samples = samples
        self.sampleCount = sampleCount
        self.trainingLoss = trainingLoss
        self.seconds = seconds
    }
}

/// The outcome of ``Trainer/fit(training:validation:stateFile:onEpoch:)``.
public struct TrainingSummary: Sendable, Equatable {
    /// Reports of the epochs this call ran (not those before a resume).
    public var reports: [EpochReport]
    /// Epochs finished in the whole run, resumed ones included.
    public var completedEpochs: Int
    /// True when early stopping ended the run.
    public var stoppedEarly: Bool
    /// The epoch (from 1) with the lowest validation loss, if there was validation.
    public var bestEpoch: Int?
    /// That loss.
    public var bestValidationLoss: Double?
    /// The epoch whose parameters the network holds now, when restore-best put them back.
    public var restoredEpoch: Int?

    /// Creates a summary.
    public init(reports: [EpochReport], completedEpochs: Int, stoppedEarly: Bool, bestEpoch: Int?,
                bestValidationLoss: Double?, restoredEpoch: Int?) {
        self.reports = reports
        self.completedEpochs = completedEpochs
        self.stoppedEarly = stoppedEarly
        self.bestEpoch = bestEpoch
        self.bestValidationLoss = bestValidationLoss
        self.restoredEpoch = restoredEpoch
    }
}

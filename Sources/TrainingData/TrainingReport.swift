import CNN
import Foundation
import Classification
import Config
import RasterIO
import Training

/// The JSON report of a training run.
struct TrainingReport: Encodable {
    var trainingFile: String
    var model: String
    var contract: ContractSummary
    var datasets: [DatasetSummary]
    var classWeights: [Float]?
    var trainer: TrainerConfiguration
    var resumedAfter: Int
    var completedEpochs: Int
    var stoppedEarly: Bool
    var bestEpoch: Int?
    var restoredEpoch: Int?
    var epochs: [EpochLine]
    var validation: AccuracyReport?
    var test: AccuracyReport?
}

/// An epoch of the report (without the validation matrix).
struct EpochLine: Encodable {
    var epoch: Int
    var trainingLoss: Double
    var trainingAccuracy: Double?
    var validationLoss: Double?
    var validationAccuracy: Double?
    var learningRate: Double
    var seconds: Double

    init(_ report: EpochReport) {
        epoch = report.epoch
        trainingLoss = report.trainingLoss
        trainingAccuracy = report.trainingAccuracy
        validationLoss = report.validationLoss
        validationAccuracy = report.validationAccuracy
        learningRate = report.learningRate
        seconds = report.seconds
    }
}

/// The contract as JSON.
struct ContractSummary: Encodable {
    var task: String
    var bands: [String]
    var patchSize: Int
    var classNames: [String]
    var classColors: [String]
    var normalizationMean: [Float]?
    var normalizationStd: [Float]?

    init(_ contract: ModelContract) {
        task = contract.task.rawValue
        bands = contract.bands
        patchSize = contract.patchSize
        classNames = contract.classNames
        classColors = contract.classColors.map(\.description)
        if case .meanStd(let mean, let std) = contract.normalization {
            normalizationMean = mean
            normalizationStd = std
        }
    }
}

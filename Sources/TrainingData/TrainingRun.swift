import CNN
import Foundation
import Classification
import Config
import RasterIO
import Training

/// The datasets a training file describes, ready for the trainer.
public struct PreparedData: Sendable {
    /// Training samples (balanced).
    public var train: any SampleSource
    /// Validation samples (may be empty).
    public var validation: any SampleSource
    /// Test samples (may be empty).
    public var test: any SampleSource
    /// Mean and std of raw DN over the training split: the model contract's normalization.
    public var statistics: BandStatistics
    /// One summary per scene (or the folder), patch locations left out.
    public var summaries: [DatasetSummary]
    /// Training samples per class (patches), or labelled training pixels per class (pixel targets).
    public var trainingClassCounts: [Int]
}

/// What ``TrainingRun/run(resume:onEpoch:)`` did.
public struct TrainingOutcome: Sendable {
    /// The trainer's summary (reports of the epochs this call ran).
    public var summary: TrainingSummary
    /// The exported model.
    public var modelPath: String
    /// The written JSON report.
    public var reportPath: String
    /// Accuracy on the test split (patch or pixel targets of the sampled patches), if it has samples.
    public var test: AccuracyReport?
    /// Accuracy on the validation split, if it has samples.
    public var validation: AccuracyReport?
    /// The contract written into the model.
    public var contract: ModelContract
    /// Epoch the run resumed after (0 for a fresh run).
    public var resumedAfter: Int
}

/// Runs a training file: builds the datasets (scenes + labels, or class folders), the network
/// (a ``TrainingFile/Architecture`` or an ONNX model to fine-tune), trains it with
/// ``Training/Trainer`` (an ONNX checkpoint and the trainer state after every epoch, so that an
/// interrupted run resumes), exports the final ONNX model with the full model contract and
/// writes a JSON report.
///
/// Checkpoints go to `<checkpoints>/epoch-<NNN>.onnx`; the trainer state to
/// `<checkpoints>/trainer.state`; one row per epoch to ``metricsPath``. A run holds the lock
/// ``lockPath`` while it trains.
public final class TrainingRun {
    /// The training file.
    public let file: TrainingFile
    /// Messages about what the run is doing (data, model, resume), one line each.
    public var log: (String) -> Void = { _ in }
    /// Called after every training minibatch (progress bars, periodic log lines).
    public var onBatch: ((BatchProgress) -> Void)?

    /// Creates a run of `file`.
    public init(file: TrainingFile) {
        self.file = file
    }

    /// The trainer state file.
    public var stateFile: String { URL(fileURLWithPath: file.output.checkpoints).appendingPathComponent("trainer.state").path }

    /// The lock file a run holds while it trains: `<checkpoints>/.landcover-train.lock`. A second
    /// run on the same checkpoint folder (its trainer state, checkpoints, model and report) fails
    /// with `RunLockError.held` naming the holder.
    public var lockPath: String { URL(fileURLWithPath: file.output.checkpoints).appendingPathComponent(".landcover-train.lock").path }

    /// The per-epoch metrics beside the report: the report's path with `.json` replaced by
    /// `.metrics.csv` (`model_training.json` -> `model_training.metrics.csv`); see ``TrainingMetricsFile``.
    public var metricsPath: String {
        let report = URL(fileURLWithPath: file.output.report)
        let stem = report.pathExtension.lowercased() == "json" ? report.deletingPathExtension().lastPathComponent : report.lastPathComponent
        return report.deletingLastPathComponent().appendingPathComponent(stem + ".metrics.csv").path
    }

    /// The checkpoint path of `epoch` (from 1).
    public func checkpointPath(epoch: Int) -> String {
        URL(fileURLWithPath: file.output.checkpoints).appendingPathComponent(String(format: "epoch-%03d.onnx", epoch)).path
    }

    // MARK: - Data

    /// Scene options of the training file's bands, band order and resolution.
    public var sceneOptions: SceneOptions {
        SceneOptions(bands: file.bands, bandOrder: file.bandOrder, referenceResolution: file.resolution)
    }

    /// The label source of a scene on `grid`, with the legend's value mapping.
    /// - Throws: ``TrainingFileError`` for non-numeric raster values; `RasterIOError` for unreadable labels.
    public func labelSource(_ labels: TrainingFile.Labels, grid: SceneGrid) throws -> LabelSource {
        switch labels {
        case .vector(let path, let layer, let attribute, let overlap):
            return try VectorLabels(path: path, layer: layer, attribute: attribute, classes: file.vectorClassMap, grid: grid,
                                    overlapRule: overlap)
        case .raster(let path, let band):
            return try RasterLabels(path: path, band: band, grid: grid, classValues: try file.rasterClassMap())
        }
    }

    /// Builds the training, validation and test samples.
    /// - Parameter normalization: the inputs' normalization; nil = the training split's mean and
    ///   std (``PreparedData/statistics``).
    /// - Throws: ``TrainingDataError``, ``TrainingFileError``, `RasterIOError` naming the file at fault.
    public func prepareData(normalization fixed: ModelContract.Normalization? = nil) throws -> PreparedData {
        let classNames = file.classNames
        var parts: [DatasetSplits] = []
        switch file.data {
        case .scenes(let scenes):
            for sceneData in scenes {
                var scene = try Scene.assemble(inputs: sceneData.inputs, options: sceneOptions)
                if let name = sceneData.name { scene.name = name }
                let labels = try labelSource(sceneData.labels, grid: scene.grid)
                log("scene \(scene.name): \(scene.grid.width) x \(scene.grid.height) pixels, \(scene.bands.count) bands; labels \(labels.sourceDescription)")
                parts.append(try SceneSampler.sample(scene: scene, labelSource: labels, classNames: classNames, sampling: file.sampling,
                                                     split: file.split, balancing: file.balancing, targets: file.targets))
            }
        case .folder(let folder):
            var folderNames: [String] = []
            for (index, entry) in file.legend.enumerated() {
                guard entry.values.count <= 1 else {
                    throw TrainingFileError.invalidValue(file: file.source, key: "legend[\(index)].values", value: entry.values.joined(separator: ", "),
                                                         reason: "lists several folders; with data.folder each class is one sub-folder")
                }
                folderNames.append(entry.values.first ?? entry.name)
            }
            let options = PatchFolder.Options(bands: file.bands, bandOrder: file.bandOrder, classNames: folderNames,
                                              patchSize: file.sampling.patchSize, validationFraction: file.folderValidationFraction,
                                              testFraction: file.folderTestFraction, seed: file.folderSplitSeed)
            var loaded = try PatchFolder.load(folder: folder.path, options: options, balancing: file.balancing, targets: file.targets)
            loaded.summary.classNames = classNames
            parts.append(loaded)
            log("folder \(folder.path): \(loaded.train.count + loaded.validation.count + loaded.test.count) patches")
        }
        let statistics = Self.merge(parts.map(\.statistics))
        let normalization = fixed ?? statistics.normalization
        func combined(_ split: DatasetSplit) throws -> any SampleSource {
            let datasets = try parts.map { try $0[split].with(normalization: normalization) }
            return datasets.count == 1 ? datasets[0] : ConcatenatedSource(datasets)
        }
        var counts = [Int](repeating: 0, count: classNames.count)
        for part in parts {
            let histogram = file.targets == .pixelClasses ? part.train.pixelHistogram : part.train.classHistogram
            for (c, n) in histogram.enumerated() where c < counts.count { counts[c] += n }
        }
        var summaries = parts.map(\.summary)
        for i in summaries.indices {
            summaries[i].train.locations = []
            summaries[i].validation.locations = []
            summaries[i].test.locations = []
        }
        return PreparedData(train: try combined(.train), validation: try combined(.validation), test: try combined(.test),
                            statistics: statistics, summaries: summaries, trainingClassCounts: counts)
    }

    /// Pooled mean and population std of several scenes' statistics (weighted by pixel counts).
    static func merge(_ parts: [BandStatistics]) -> BandStatistics {
        guard let first = parts.first else { return BandStatistics(bands: [], mean: [], std: [], pixelCount: 0) }
        guard parts.count > 1 else { return first }
        let total = parts.reduce(0) { $0 + $1.pixelCount }
        guard total > 0 else { return first }
        var mean = [Double](repeating: 0, count: first.bands.count), second = mean
        for part in parts {
            let w = Double(part.pixelCount) / Double(total)
            for b in mean.indices {
                mean[b] += w * part.mean[b]
                second[b] += w * (part.std[b] * part.std[b] + part.mean[b] * part.mean[b])
            }
        }
        let std = zip(second, mean).map { max(0, $0 - $1 * $1).squareRoot() }
        return BandStatistics(bands: first.bands, mean: mean, std: std, pixelCount: total)
    }

    /// `balanced` class weights: `n / (k * n_c)` over the classes present (k of them), 0 for
    /// absent classes.
    public static func balancedWeights(counts: [Int]) -> [Float] {
        let present = counts.filter { $0 > 0 }
        let total = present.reduce(0, +)
        guard total > 0 else { return counts.map { _ in 1 } }
        return counts.map { $0 > 0 ? Float(Double(total) / (Double(present.count) * Double($0))) : 0 }
    }

    // MARK: - Model

    /// Builds the network the training file describes (seeded), or imports the ONNX model to
    /// fine-tune (head replaced when its class count differs; listed layers frozen).
    /// - Throws: ``TrainingFileError`` naming `model.init` or `model.freeze`; `NetworkError`.
    public func makeNetwork() throws -> Network {
        let model = file.model
        let channels = file.bands.count, classes = file.legend.count, size = file.sampling.patchSize
        let network: Network
        if let architecture = model.architecture {
            switch architecture {
            case .lenet: network = try ModelZoo.leNet(inputChannels: channels, classes: classes, patchSize: size, seed: model.seed)
            case .smallCNN: network = try ModelZoo.smallCNN(inputChannels: channels, classes: classes, batchNormalization: model.batchNormalization, seed: model.seed)
            case .vgg: network = try ModelZoo.vgg(inputChannels: channels, classes: classes, widths: model.widths, dropout: model.dropout, seed: model.seed)
            case .resnet18: network = try ModelZoo.resnet18(inputChannels: channels, classes: classes, seed: model.seed)
            case .unet: network = try ModelZoo.unet(inputChannels: channels, classes: classes, baseChannels: model.baseChannels,
                                                   depth: model.depth, upsampling: model.upsampling, seed: model.seed)
            }
        } else if let path = model.initPath {
            let onnx: ONNXModel
            do {
                onnx = try ONNXModel(serializedData: try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw TrainingFileError.invalidValue(file: file.source, key: "model.init", value: path, reason: "cannot be read as an ONNX model: \(error)")
            }
            do {
                network = try Network(onnx: onnx, seed: model.seed)
            } catch {
                throw TrainingFileError.invalidValue(file: file.source, key: "model.init", value: path, reason: "cannot be fine-tuned: \(error)")
            }
            guard network.inputChannels == channels else {
                throw TrainingFileError.invalidValue(file: file.source, key: "model.init", value: path,
                                                     reason: "takes \(network.inputChannels) input bands but the training file lists \(channels); list the model's bands under bands")
            }
            let shape = try network.outputShape(inputShape: [1, channels, size, size])
            if shape.count >= 2, shape[1] != classes {
                try network.replaceHead(classes: classes, seed: model.seed)
                log("model \(path): head replaced for \(classes) classes (was \(shape[1]))")
            }
        } else {
            throw TrainingFileError.missingKey(file: file.source, key: "model.architecture", hint: "give an architecture or model.init")
        }
        do {
            try network.freeze(layers: model.freeze)
        } catch {
            throw TrainingFileError.invalidValue(file: file.source, key: "model.freeze", value: model.freeze.joined(separator: ", "), reason: "\(error)")
        }
        let shape = try network.outputShape(inputShape: [1, channels, size, size])
        let expected = file.targets == .pixelClasses ? [1, classes, size, size] : [1, classes]
        guard shape == expected else {
            throw TrainingFileError.invalidValue(file: file.source, key: file.model.initPath == nil ? "model.architecture" : "model.init",
                                                 value: file.model.architecture?.rawValue ?? file.model.initPath ?? "",
                                                 reason: "outputs \(shape) for \(size)x\(size) patches but targets \(file.targets == .pixelClasses ? "pixel" : "patch") need \(expected)")
        }
        return network
    }

    /// The normalization of the model to fine-tune (`model.init`), when it has a contract with
    /// the training file's bands in the same order: its frozen layers expect inputs normalized that
    /// way. Nil otherwise (the training statistics are used).
    public func inheritedNormalization() -> ModelContract.Normalization? {
        guard let path = file.model.initPath, let model = try? InferenceModel(contentsOf: URL(fileURLWithPath: path)),
              let contract = model.contract, contract.bands == file.bands else { return nil }
        return contract.normalization
    }

    /// The contract of the exported model: normalization `normalization`, or the training statistics'.
    public func contract(statistics: BandStatistics, normalization: ModelContract.Normalization? = nil) -> ModelContract {
        ModelContract(task: file.targets.task, bands: file.bands, normalization: normalization ?? statistics.normalization,
                      patchSize: file.sampling.patchSize, classNames: file.classNames,
                      classColors: file.legend.map { ModelContract.Color(red: $0.color.red, green: $0.color.green, blue: $0.color.blue) },
                      output: file.model.output == "probabilities" ? .probabilities : .logits)
    }

    /// Exports `network` with `contract` to `path` atomically.
    static func export(_ network: Network, contract: ModelContract, to path: String) throws {
        let model = try network.exportONNX(contract: contract)
        try AtomicFile.write(model.serializedData(), to: path)
    }

    // MARK: - Run

    /// The trainer configuration with the class weights resolved.
    public func trainerConfiguration(classCounts: [Int]) -> TrainerConfiguration {
        var configuration = file.trainer
        switch file.classWeights {
        case .none: configuration.classWeights = nil
        case .balanced: configuration.classWeights = Self.balancedWeights(counts: classCounts)
        case .sqrtBalanced: configuration.classWeights = Self.balancedWeights(counts: classCounts).map { $0.squareRoot() }
        case .explicit(let weights): configuration.classWeights = weights
        }
        return configuration
    }

    /// Trains, exports the final model and writes the report.
    ///
    /// - Parameters:
    ///   - resume: continue from `<checkpoints>/trainer.state` when it exists (the configuration
    ///     must be the same except `epochs` and `workers`); without it the run starts afresh.
    ///   - onEpoch: called after each epoch (after its checkpoint is written).
    /// - Throws: data, model, trainer and state errors naming the file at fault.
    public func run(resume: Bool, onEpoch: (EpochReport) -> Void = { _ in }) throws -> TrainingOutcome {
        // One run per checkpoint folder at a time, from before the data is read: two runs (or two
        // --resume) would write the same trainer state, checkpoints, model and report.
        do {
            try FileManager.default.createDirectory(atPath: file.output.checkpoints, withIntermediateDirectories: true)
        } catch {
            throw RasterIOError.writeFailed(path: file.output.checkpoints, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let lock = try RunLock.acquire(path: lockPath, wait: false)
        defer { lock.release() }
        let inherited = inheritedNormalization()
        if inherited != nil { log("normalization: inherited from the contract of \(file.model.initPath ?? "")") }
        let data = try prepareData(normalization: inherited)
        log("samples: \(data.train.count) training, \(data.validation.count) validation, \(data.test.count) test")
        let configuration = trainerConfiguration(classCounts: data.trainingClassCounts)
        if let weights = configuration.classWeights {
            log("class weights: " + zip(file.classNames, weights).map { "\($0) \(String(format: "%.3f", $1))" }.joined(separator: ", "))
        }
        let network = try makeNetwork()
        let contract = contract(statistics: data.statistics, normalization: inherited)
        do {
            try FileManager.default.createDirectory(atPath: file.output.checkpoints, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: file.output.model).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
        } catch {
            throw RasterIOError.writeFailed(path: file.output.checkpoints, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let stateURL = URL(fileURLWithPath: stateFile)
        let trainer: Trainer
        var resumedAfter = 0
        let trainable = ResumableTrainingNetwork(network)
        if resume, FileManager.default.fileExists(atPath: stateFile) {
            trainer = try Trainer(network: trainable, configuration: configuration, resumingFrom: stateURL)
            resumedAfter = trainer.completedEpochs
            log("resuming after epoch \(resumedAfter) from \(stateFile)")
        } else {
            if resume { log("no trainer state at \(stateFile); starting afresh") }
            trainer = try Trainer(network: trainable, configuration: configuration)
        }
        let validation: (any SampleSource)? = data.validation.count > 0 ? data.validation : nil
        var metrics = TrainingMetricsFile(path: metricsPath, keepingEpochs: resumedAfter)
        trainer.onBatch = onBatch
        let summary = try trainer.fit(training: data.train, validation: validation, stateFile: stateURL) { report in
            try Self.export(network, contract: contract, to: checkpointPath(epoch: report.epoch))
            try metrics.append(report)
            onEpoch(report)
        }
        try Self.export(network, contract: contract, to: file.output.model)

        let testReport = try data.test.count > 0 ? AccuracyReport(matrix: try Self.matrix(trainer.evaluate(data.test)), classNames: file.classNames) : nil
        let validationReport = try validation.map { try AccuracyReport(matrix: try Self.matrix(trainer.evaluate($0)), classNames: file.classNames) }
        let report = TrainingReport(trainingFile: file.source, model: file.output.model, contract: ContractSummary(contract),
                                    datasets: data.summaries, classWeights: configuration.classWeights,
                                    trainer: configuration, resumedAfter: resumedAfter, completedEpochs: summary.completedEpochs,
                                    stoppedEarly: summary.stoppedEarly, bestEpoch: summary.bestEpoch,
                                    restoredEpoch: summary.restoredEpoch, epochs: summary.reports.map(EpochLine.init),
                                    validation: validationReport, test: testReport)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(report), to: file.output.report)
        return TrainingOutcome(summary: summary, modelPath: file.output.model, reportPath: file.output.report, test: testReport,
                               validation: validationReport, contract: contract, resumedAfter: resumedAfter)
    }

    private static func matrix(_ evaluation: Trainer.Evaluation) throws -> ConfusionMatrix {
        guard let matrix = evaluation.matrix else { throw TrainingDataError.noSamples(source: "evaluation", reason: "no samples") }
        return matrix
    }
}

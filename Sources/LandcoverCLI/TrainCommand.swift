import ArgumentParser
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO
import Training
import TrainingData

/// `landcover train TRAIN.yaml`: train a CNN from a training file and export it as ONNX with
/// its model contract (schema: training/README.md).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN from a training file and export it as ONNX with its model contract.",
        discussion: """
        Builds patches from the training file's scenes and labels (or class folders), trains the \
        model, writes an ONNX checkpoint and the trainer state after every epoch (so that \
        --resume continues an interrupted run with the same result), exports the final model with \
        band names, normalization (training statistics), patch size, class names and colours, and \
        writes a JSON report with the test-split accuracy and a metrics CSV (one row per epoch). \
        Prints one line per epoch; on a terminal a progress bar runs within each epoch (patches/s, \
        ETA of the epoch and of the run), otherwise a plain progress line every \
        --progress-interval seconds. One run per checkpoint folder at a time. Exit codes: 0 done, \
        2 invalid training file or data, 3 another run trains into the same checkpoint folder, \
        4 unexpected failure.
        """)

    @Argument(help: "The training file (YAML; schema in training/README.md).")
    var trainingFile: String

    @Flag(help: "Continue from the trainer state in the checkpoint folder (after an interruption, or with more epochs).")
    var resume = false

    @OptionGroup var threadsOption: ThreadsOption

    /// The former name of `--threads`, still accepted.
    @Option(help: .hidden)
    var workers: Int?

    @Option(help: "Train this many epochs in total (overrides training.epochs; with --resume, extends a run).")
    var epochs: Int?

    @Option(name: .customLong("export-labels"), help: "Only write the rasterized labels (band 1) and split regions (band 2: 0 train, 1 validation, 2 test) of the first scene to this GeoTIFF, then exit.")
    var exportLabels: String?

    @Flag(help: "No epoch lines, no progress bar and no progress messages.")
    var quiet = false

    @Option(name: .customLong("progress-interval"), help: "Seconds between progress lines when stderr is not a terminal (0: after every batch).")
    var progressInterval: Double = 60

    func validate() throws {
        if let workers, !PipelineFile.Limits.threads.contains(workers) { throw ValidationError("--workers: '\(workers)' must be from 1 to \(PipelineFile.Limits.threads.upperBound)") }
        if workers != nil, threadsOption.threads != nil { throw ValidationError("give --threads only (--workers is its former name)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if !(progressInterval >= 0 && progressInterval <= 86_400) {
            throw ValidationError("--progress-interval: '\(progressInterval)' must be from 0 to 86400 seconds")
        }
    }

    func run() throws {
        try CLIErrors.guarded {
            var file = try TrainingFile.load(path: trainingFile)
            if let threads = threadsOption.threads ?? workers { file.trainer.workers = threads }
            if let epochs { file.trainer.epochs = epochs }
            let run = TrainingRun(file: file)
            let terminal = isatty(STDERR_FILENO) != 0
            let progress = quiet ? nil : TrainProgressBar(style: terminal ? .bar : .lines(interval: progressInterval, prefix: "landcover train: "))
            if !quiet {
                run.log = { message in
                    progress?.finish()
                    FileHandle.standardError.write(Data(((terminal ? "" : "landcover train: ") + message + "\n").utf8))
                }
                run.onBatch = { progress?.update($0) }
            }
            if let exportLabels {
                try run.exportLabels(to: exportLabels)
                if !quiet { print("wrote \(exportLabels): band 1 label, band 2 split (0 train, 1 validation, 2 test)") }
                return
            }
            let outcome: TrainingOutcome
            do {
                outcome = try run.run(resume: resume) { report in
                    guard !quiet else { return }
                    progress?.finished(report)
                    // Unbuffered, so that a log file follows the epochs as they finish.
                    FileHandle.standardOutput.write(Data((report.line + "\n").utf8))
                }
            } catch RunLockError.held(let path, let holder) {
                progress?.finish()
                CLIErrors.fail("\(trainingFile): another training run holds the lock \(path) (\(holder)); wait for it to finish, or give this run other output paths",
                               code: ExitCodes.locked)
            } catch {
                progress?.finish()
                throw error
            }
            guard !quiet else { return }
            var line = "wrote \(outcome.modelPath) (\(outcome.summary.completedEpochs) epochs"
            if let restored = outcome.summary.restoredEpoch { line += ", weights of epoch \(restored)" }
            line += ")"
            if let test = outcome.test, let oa = test.overallAccuracy {
                line += String(format: "; test patches: OA %.4f, kappa %.4f", oa, test.kappa ?? 0)
            }
            print(line + "; report: \(outcome.reportPath); metrics: \(run.metricsPath)")
        }
    }
}

/// `train`'s progress on the shared ``ProgressBar``: batches of the current epoch, patches per
/// second, the mean loss so far and the ETA of the epoch and of the run (the remaining epochs
/// at the last finished epoch's duration, validation included; before one has finished, at the
/// current epoch's batch rate). Early stopping can end the run sooner.
final class TrainProgressBar: @unchecked Sendable {
    private let bar: ProgressBar
    private let lock = NSLock()
    private var lastEpochSeconds: Double?

    init(style: ProgressBar.Style) {
        bar = ProgressBar(style: style)
    }

    func update(_ progress: BatchProgress) {
        lock.lock()
        let lastEpoch = lastEpochSeconds
        lock.unlock()
        let perBatch = progress.seconds / Double(max(1, progress.batch))
        let epochLeft = perBatch * Double(progress.batchCount - progress.batch)
        let epochSeconds = lastEpoch ?? perBatch * Double(progress.batchCount)
        let runLeft = epochLeft + epochSeconds * Double(max(0, progress.epochCount - progress.epoch))
        let rate = Double(progress.samples) / max(0.001, progress.seconds)
        let detail = String(format: "epoch %d/%d batch %d/%d, %.0f patches/s, loss %.4f, ETA epoch %@, run %@",
                            progress.epoch, progress.epochCount, progress.batch, progress.batchCount, rate, progress.trainingLoss,
                            ProgressBar.duration(epochLeft), ProgressBar.duration(runLeft))
        bar.update(fraction: Double(progress.batch) / Double(max(1, progress.batchCount)), detail: detail,
                   force: progress.batch == progress.batchCount)
    }

    /// An epoch finished: its duration feeds the run's ETA, and the bar makes way for its line.
    func finished(_ report: EpochReport) {
        lock.lock()
        lastEpochSeconds = report.seconds
        lock.unlock()
        bar.finish()
    }

    func finish() {
        bar.finish()
    }
}

import ArgumentParser
import Foundation
import BatchRun
import Classification
import Config
import Products
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
        writes a JSON report with the test-split accuracy. Prints one line per epoch. Exit codes: \
        0 done, 2 invalid training file or data, 4 unexpected failure.
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

    @Flag(help: "No epoch lines and no progress messages.")
    var quiet = false

    func validate() throws {
        if let workers, !PipelineFile.Limits.threads.contains(workers) { throw ValidationError("--workers: '\(workers)' must be from 1 to \(PipelineFile.Limits.threads.upperBound)") }
        if workers != nil, threadsOption.threads != nil { throw ValidationError("give --threads only (--workers is its former name)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
    }

    func run() throws {
        try CLIErrors.guarded {
            var file = try TrainingFile.load(path: trainingFile)
            if let threads = threadsOption.threads ?? workers { file.trainer.workers = threads }
            if let epochs { file.trainer.epochs = epochs }
            let run = TrainingRun(file: file)
            let terminal = isatty(STDERR_FILENO) != 0
            if !quiet {
                run.log = { message in
                    FileHandle.standardError.write(Data(((terminal ? "" : "landcover train: ") + message + "\n").utf8))
                }
            }
            if let exportLabels {
                try run.exportLabels(to: exportLabels)
                if !quiet { print("wrote \(exportLabels): band 1 label, band 2 split (0 train, 1 validation, 2 test)") }
                return
            }
            let outcome = try run.run(resume: resume) { report in
                guard !quiet else { return }
                // Unbuffered, so that a log file follows the epochs as they finish.
                FileHandle.standardOutput.write(Data((report.line + "\n").utf8))
            }
            guard !quiet else { return }
            var line = "wrote \(outcome.modelPath) (\(outcome.summary.completedEpochs) epochs"
            if let restored = outcome.summary.restoredEpoch { line += ", weights of epoch \(restored)" }
            line += ")"
            if let test = outcome.test, let oa = test.overallAccuracy {
                line += String(format: "; test patches: OA %.4f, kappa %.4f", oa, test.kappa ?? 0)
            }
            print(line + "; report: \(outcome.reportPath)")
        }
    }
}

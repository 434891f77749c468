import ArgumentParser
import Foundation
import Logging
import Pipeline

/// `landcover run PIPELINE.yaml`: classify every scene of a pipeline file.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Classify the scenes of a pipeline file into land-cover maps.",
        discussion: """
        Writes, per scene, a class GeoTIFF/COG (colour table, class names, nodata, optional
        confidence band), optional per-class probabilities, a preview PNG and a STAC item, each
        under a temporary name renamed when complete. A failing scene is reported and the run
        goes on. A JSON run report is written at the end. Exit codes: 0 all scenes done, 1 some
        scenes failed, 2 invalid pipeline or arguments, 4 unexpected failure.
        """)

    @Argument(help: "The pipeline file (YAML; schema in pipelines/README.md).")
    var pipeline: String

    @Option(help: "Classifier threads (overrides runtime.threads).")
    var threads: Int?

    @Option(help: "Where to write the JSON run report (default: <output folder>/landcover-report.json).")
    var report: String?

    @Flag(help: "No progress bar, even on a terminal.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try CLIErrors.guarded {
            let file = try PipelineFile.load(path: pipeline)
            let plan = try PipelinePlan(pipeline: file, pipelinePath: URL(fileURLWithPath: pipeline).standardizedFileURL.path)
            let terminal = isatty(STDERR_FILENO) != 0 && !quiet
            let logger = CLILogging.logger(label: "landcover.run", terminal: terminal)
            let runner = PipelineRunner(plan: plan, toolVersion: LandcoverVersion.string, logger: logger, workers: threads)
            let bar = terminal ? ProgressBar() : nil
            let result = try runner.run { progress in bar?.update(progress) }
            bar?.finish()
            let reportPath = report ?? URL(fileURLWithPath: plan.outputFolder).appendingPathComponent("landcover-report.json").path
            try AtomicFile.write(try result.jsonData(), to: reportPath)
            for scene in result.scenes where scene.status == .failed {
                FileHandle.standardError.write(Data("landcover: scene \(scene.name) failed: \(scene.error ?? "unknown error")\n".utf8))
            }
            print("\(result.scenes.count) scene(s): \(result.succeeded) done, \(result.failed) failed in \(String(format: "%.1f", result.seconds)) s; report: \(reportPath)")
            if result.failed > 0 { throw ExitCode(ExitCodes.someFailed) }
        }
    }
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var lastDraw = 0.0
    private var started = Date()
    private var currentScene = -1

    func update(_ progress: RunProgress) {
        lock.lock()
        defer { lock.unlock() }
        if progress.sceneIndex != currentScene {
            currentScene = progress.sceneIndex
            started = Date()
        }
        let now = Date().timeIntervalSinceReferenceDate
        guard now - lastDraw >= 0.1 || progress.patchesDone == progress.patchesTotal else { return }
        lastDraw = now
        let fraction = progress.patchesTotal > 0 ? Double(progress.patchesDone) / Double(progress.patchesTotal) : 1
        let width = 30, filled = Int(fraction * Double(width))
        let rate = Double(progress.patchesDone) / max(0.001, Date().timeIntervalSince(started))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\r[%@] %3.0f%% scene %d/%d %@ %d/%d patches, %.0f/s ", bar, fraction * 100,
                          progress.sceneIndex + 1, progress.sceneCount, String(progress.sceneName.prefix(40)),
                          progress.patchesDone, progress.patchesTotal, rate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

/// Loggers for commands: plain `key=value` lines on stderr (cron, files), terse on a terminal.
enum CLILogging {
    static func logger(label: String, terminal: Bool) -> Logger {
        var logger = Logger(label: label) { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = terminal ? .notice : .info
        return logger
    }
}

import ArgumentParser
import Foundation
import Logging
import BatchRun
import Classification
import Config
import Products
import RasterIO

/// `landcover run PIPELINE.yaml [SCENE...]`: classify every scene of a pipeline file, as a
/// restartable, idempotent batch (see README, "Batch runs").
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Classify the scenes of a pipeline file into land-cover maps.",
        discussion: """
        Writes, per scene, a class GeoTIFF/COG (colour table, class names, nodata, optional \
        confidence band), optional per-class probabilities, a preview PNG and a STAC item, each \
        under a temporary name renamed when complete. A failing scene is reported and the run \
        goes on. Scenes whose outputs exist and whose inputs, model and pipeline settings are \
        unchanged since their last run are skipped (--force redoes them). Runs and scenes are \
        recorded in an SQLite history (see `landcover history`); a JSON report is written per \
        run. One run per pipeline (and shard) at a time: a second one exits with code 3, or \
        waits with --wait. SIGTERM or SIGINT stops the run within seconds: the scene in flight \
        leaves no output, temporary files are removed, the run is recorded interrupted. \
        Exit codes: 0 every scene done or unchanged, 1 some scenes failed, 2 invalid pipeline, \
        arguments, model or inputs (nothing started), 3 another run holds the lock, 4 unexpected \
        failure, 5 an output could not be written (disk full), 6 the run history cannot be used, \
        143/130 stopped by SIGTERM/SIGINT.
        """)

    @OptionGroup var pipelineArgument: PipelineArgument

    @Argument(help: "Extra scenes (paths or quoted globs, relative to the current folder), added to the pipeline's inputs.")
    var scenes: [String] = []

    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .customLong("output-folder"), help: "Write the outputs, reports and history to this folder instead of the pipeline's output.folder (relative to the current folder), or upload them to an object store (s3://bucket/prefix, /vsis3/bucket/prefix; history and lock then stay in output.state_folder).")
    var outputFolder: String?

    @Option(help: "Where to write the latest JSON run report (default: <output folder>/landcover-report.json); every run also writes <output folder>/reports/run-<UTC time>-<run id>.json.")
    var report: String?

    @Option(help: "The run history database (default: <output folder>/landcover-history.sqlite; with an object-store output folder, in the local output.state_folder).")
    var history: String?

    @Flag(help: "Redo every scene, even those unchanged since their last run.")
    var force = false

    @Flag(help: "When another run holds the pipeline's lock, wait for it instead of exiting with code 3.")
    var wait = false

    @Option(help: "Process shard K of N (K from 0): the scenes whose stable hash modulo N is K. Default: from JOB_COMPLETION_INDEX (Kubernetes), SLURM_ARRAY_TASK_ID (Slurm) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch) when set.")
    var shard: String?

    @Option(name: .customLong("shard-count"), help: "Number of shards for a scheduler index that comes without it (Kubernetes Indexed Jobs, AWS Batch); or set LANDCOVER_SHARD_COUNT.")
    var shardCount: Int?

    @Flag(help: "No progress bar, even on a terminal.")
    var quiet = false

    /// Argument errors exit with code 2 (README, "Exit codes").
    func validate() throws {
        if let shardCount, !Shard.countRange.contains(shardCount) {
            throw ValidationError("--shard-count: '\(shardCount)' must be from 1 to \(Shard.countRange.upperBound) (the number of shards)")
        }
    }

    func run() throws {
        ProcessMemory.configureForLongRuns()
        let cancellation = RunCancellation()
        let stopSignals = StopSignals(cancellation: cancellation)
        try CLIErrors.guarded(file: pipelineArgument.pipeline) {
            let pipelinePath = URL(fileURLWithPath: pipelineArgument.pipeline).standardizedFileURL.path
            var file = try PipelineFile.load(path: pipelinePath)
                .addingScenes(scenes, workingDirectory: FileManager.default.currentDirectoryPath)
            if let outputFolder {
                switch ObjectStoreFolder.parse(outputFolder) {
                case .failure(let problem)?:
                    throw PipelineError.invalidValue(key: "--output-folder", value: outputFolder, reason: problem.reason)
                case .success?:
                    file.output.folder = outputFolder
                case nil:
                    file.output.folder = URL(fileURLWithPath: outputFolder).standardizedFileURL.path
                }
            }
            let store = file.objectStore
            let detected = try Shard.detect(explicit: shard, count: shardCount, environment: ProcessInfo.processInfo.environment)
            let shard = detected.flatMap { $0.shard.count > 1 ? $0.shard : nil }
            let plan = try PipelinePlan(pipeline: file, pipelinePath: pipelinePath)
            let isTerminal = isatty(STDERR_FILENO) != 0
            let logger = CLILogging.logger(label: "landcover.run", terminal: isTerminal)
            if let detected, let shard {
                logger.info("shard", metadata: ["event": "shard", "shard": "\(shard)", "source": "\(detected.source)"])
            }

            // Whole-pipeline problems (inputs that are not files, outputs that would overwrite
            // inputs or each other, a model plan larger than the memory budget) stop the run
            // before the lock is taken and before any scene starts.
            try plan.preflight(workers: threadsOption.threads ?? PipelineRunner(plan: plan, toolVersion: LandcoverVersion.string, logger: logger).workers)
            // The lock lives in the output folder; with an object store (no file locks there) in
            // the local state folder, beside the history and the local report copies.
            let outputFolder = try plan.createOutputFolder()
            let folder = store == nil ? outputFolder : file.stateFolder
            if store != nil {
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    throw PipelineError.invalidValue(key: "output.state_folder", value: folder, reason: "cannot be created (\(error.localizedDescription)); check the path and permissions")
                }
            }
            let lock: RunLock
            stopSignals.setWaitingForLock(true)
            do {
                lock = try RunLock.acquire(path: RunLock.path(pipelinePath: pipelinePath, outputFolder: folder, shard: shard), wait: wait) { holder in
                    logger.notice("waiting for the lock", metadata: ["event": "lock", "status": "waiting", "holder": "\(holder)"])
                }
            } catch let error as RunLockError {
                if case .held = error { CLIErrors.fail("\(pipelineArgument.pipeline): \(error.description)", code: ExitCodes.locked) }
                // The output folder cannot hold the lock (a link or another file at its path,
                // no permission, no flock): the same input fails the same way, so exit 2.
                CLIErrors.fail(error.description, code: ExitCodes.invalidInput)
            }
            defer { lock.release() }
            stopSignals.setWaitingForLock(false)

            let historyPath = history.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? RunHistory.defaultPath(outputFolder: folder)
            let database = try RunHistory(path: historyPath)
            let runner = PipelineRunner(plan: plan, toolVersion: LandcoverVersion.string, logger: logger, workers: threadsOption.threads)
            let bar = isTerminal && !quiet ? RunProgressBar() : nil
            let result: RunReport
            do {
                let options = BatchOptions(force: force, shard: shard, history: database, cancellation: cancellation)
                result = try runner.run(options: options) { progress in
                    bar?.update(progress)
                }
            } catch let error as RunHistoryError {
                bar?.finish()
                CLIErrors.fail(error.description, code: ExitCodes.history)
            } catch let stopped as RunInterrupted {
                // The run is recorded interrupted and its temporary files are gone; the report
                // is a courtesy (a full disk may refuse it).
                bar?.finish()
                if let partial = stopped.report, let written = try? RunReportFiles.write(partial, folder: folder, latest: report, shard: shard, history: database),
                   let store {
                    _ = try? RunReportFiles.publish(localRun: written, to: store, shard: shard)
                }
                CLIErrors.fail("\(pipelineArgument.pipeline): \(stopped.description)", code: ExitCodes.interrupted(by: stopped.signal))
            } catch let stopped as RunCannotWrite {
                bar?.finish()
                _ = try? RunReportFiles.write(stopped.report, folder: folder, latest: report, shard: shard, history: database)
                CLIErrors.fail(stopped.error.description, code: ExitCodes.cannotWrite)
            }
            bar?.finish()

            var reportPath = try RunReportFiles.write(result, folder: folder, latest: report, shard: shard, history: database)
            if let store {
                // The run is over and recorded locally: a report that cannot be uploaded is said
                // on one line and leaves the exit code to the scenes.
                do {
                    reportPath = try RunReportFiles.publish(localRun: reportPath, to: store, shard: shard)
                } catch let error as ObjectStoreError {
                    logger.error("run report not published", metadata: ["event": "report", "error": "\(error)", "local_copy": "\(reportPath)"])
                }
            }
            print(Self.summary(result, shard: shard, report: reportPath))
            // A scene refused for a setting of the pipeline file: retrying cannot help until the
            // pipeline changes (exit 2), although the other scenes were done.
            if result.scenes.contains(where: { $0.settingKey != nil }) { throw ExitCode(ExitCodes.invalidInput) }
            if result.failed > 0 { throw ExitCode(ExitCodes.someFailed) }
        }
    }

    /// The one-line summary printed on standard output.
    static func summary(_ result: RunReport, shard: Shard?, report: String) -> String {
        let share = shard.map { " (shard \($0) of a batch of \(result.batchScenes ?? 0))" } ?? ""
        let seconds = String(format: "%.1f", result.seconds)
        if !result.scenes.isEmpty, result.skipped == result.scenes.count {
            return "\(result.scenes.count) scene(s)\(share): all unchanged since their last run, nothing to do (\(seconds) s; --force redoes them); report: \(report)"
        }
        return "\(result.scenes.count) scene(s)\(share): \(result.succeeded) done, \(result.skipped) skipped (unchanged), \(result.failed) failed in \(seconds) s; report: \(report)"
    }
}

/// `run`'s progress on the shared ``ProgressBar``: the patches of the current scene and their rate.
final class RunProgressBar: @unchecked Sendable {
    private let bar = ProgressBar(style: .bar)
    private let lock = NSLock()
    private var started = Date()
    private var currentScene = -1

    func update(_ progress: RunProgress) {
        lock.lock()
        if progress.sceneIndex != currentScene {
            currentScene = progress.sceneIndex
            started = Date()
        }
        let rate = Double(progress.patchesDone) / max(0.001, Date().timeIntervalSince(started))
        lock.unlock()
        let fraction = progress.patchesTotal > 0 ? Double(progress.patchesDone) / Double(progress.patchesTotal) : 1
        let detail = String(format: "scene %d/%d %@ %d/%d patches, %.0f/s", progress.sceneIndex + 1, progress.sceneCount,
                            String(progress.sceneName.prefix(40)), progress.patchesDone, progress.patchesTotal, rate)
        bar.update(fraction: fraction, detail: detail, force: progress.patchesDone == progress.patchesTotal)
    }

    func finish() {
        bar.finish()
    }
}

/// Loggers for commands: `key=value` lines on stderr, one per event (see ``KeyValueLogHandler``);
/// time-stamped when stderr is not a terminal (cron, systemd, batch schedulers).
enum CLILogging {
    static func logger(label: String, terminal: Bool) -> Logger {
        var logger = Logger(label: label) { _ in KeyValueLogHandler(terminal: terminal) }
        logger.logLevel = .info
        return logger
    }
}

/// SIGTERM and SIGINT for `run` (what Kubernetes, systemd and Ctrl-C send): both signals are
/// ignored as signals (`SIG_IGN`) and delivered through Dispatch signal sources instead, so they
/// never interrupt a write. While the run waits for the pipeline lock nothing has been written
/// and a signal exits at once; afterwards it cancels the run (``RunCancellation``): the scene in
/// flight is abandoned, temporary files are removed, the run is recorded `interrupted` and the
/// process exits with 128 + the signal (143, 130).
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var waitingForLock = false
    private var sources: [any DispatchSourceSignal] = []

    init(cancellation: RunCancellation) {
        for number in [SIGTERM, SIGINT] {
            // Ignoring a signal discards it when it is pending (blocked by the parent's mask and
            // sent during start-up): it asked to stop before anything was written.
            var pending = sigset_t()
            sigemptyset(&pending)
            if sigpending(&pending) == 0, sigismember(&pending, number) == 1 {
                CLIErrors.fail("stopped by \(number == SIGTERM ? "SIGTERM" : "SIGINT") while starting; nothing was written",
                               code: ExitCodes.interrupted(by: number))
            }
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            // The handler keeps this object alive for the rest of the process.
            source.setEventHandler { [self] in
                if isWaitingForLock {
                    CLIErrors.fail("stopped by \(number == SIGTERM ? "SIGTERM" : "SIGINT") while waiting for the lock; nothing was written",
                                   code: ExitCodes.interrupted(by: number))
                }
                cancellation.cancel(signal: number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether the run is (still) waiting for its lock.
    func setWaitingForLock(_ value: Bool) {
        lock.lock()
        waitingForLock = value
        lock.unlock()
    }

    private var isWaitingForLock: Bool {
        lock.lock()
        defer { lock.unlock() }
        return waitingForLock
    }
}

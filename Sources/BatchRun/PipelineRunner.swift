import CNN
import Classification
import Config
import Foundation
import Logging
import Products
import RasterIO


/// Runs a pipeline: every scene in turn, each isolated (a failing scene is recorded and the run
/// goes on), each written to temporary files renamed only when complete.
///
/// With a ``RunHistory`` the run is idempotent: a scene is **skipped** when its latest `done`
/// record has the current model SHA-256, pipeline-settings fingerprint and inputs fingerprint,
/// every output file it recorded (map and its `.aux.xml`, probabilities, preview, STAC item, as
/// enabled) is still on disk with the recorded size and modification time, and the map's
/// `LANDCOVER_*` provenance carries the same three fingerprints. Anything else (a missing or
/// replaced file, a new model, changed inputs or settings, no record) redoes the scene. The `done`
/// record is written only after the last output is in place, so a run killed between committing
/// the map and writing the STAC item leaves no `done` record and the next run redoes the scene.
///
/// A scene is recorded `done` only once its committed outputs are known complete: each raster
/// was checked by its writer (GDAL reads every block back) and the size of every file on disk
/// after the rename equals what its writer produced; the recorded SHA-256 is of the bytes on disk.
///
/// Two things stop a run before its last scene: a scene whose output cannot be written (a full
/// disk, an output folder that is not writable; ``RunCannotWrite``: the run is recorded
/// `failed`), and a ``RunCancellation`` (SIGTERM/SIGINT; ``RunInterrupted``: the scene in flight
/// abandons its outputs, this process's temporary files are removed and the run is recorded
/// `interrupted`).
///
/// The caller must hold the pipeline's ``RunLock`` (for the shard) while running with a history:
/// the runner removes temporary files of its own scenes' outputs as stale, and marks runs of the
/// same pipeline and shard still recorded as running as interrupted.
public final class PipelineRunner {
    public let plan: PipelinePlan
    public let toolVersion: String
    let logger: Logger
    private let workerOverride: Int?

    /// - Parameters:
    ///   - toolVersion: recorded in outputs and the report.
    ///   - logger: receives one line per scene (done, skipped, failed) and one per run.
    ///   - workers: overrides `runtime.threads` (the command line's `--threads`).
    public init(plan: PipelinePlan, toolVersion: String, logger: Logger, workers: Int? = nil) {
        self.plan = plan
        self.toolVersion = toolVersion
        self.logger = logger
        self.workerOverride = workers
    }

    /// Worker threads: the override, `runtime.threads`, or ``PipelinePlan/defaultWorkers`` (one
    /// per core, as many as fit in the memory budget).
    public var workers: Int {
        workerOverride ?? plan.pipeline.runtime.threads ?? plan.defaultWorkers
    }

    /// Classifier settings from the pipeline file, with ``workers`` threads.
    public var settings: ClassifierSettings { ClassifierSettings(plan: plan, workers: workers) }

    /// The scenes this run takes, in pipeline order: duplicates (the same scene key twice, e.g. a
    /// glob overlapping a listed path) dropped, then only `shard`'s share.
    public func selectedScenes(shard: Shard?) -> [(input: SceneInput, key: String)] {
        var seen = Set<String>()
        var selected: [(SceneInput, String)] = []
        for input in plan.scenes {
            let key = input.key(baseFolder: plan.pipeline.baseFolder)
            guard seen.insert(key).inserted else { continue }
            if let shard, !shard.contains(sceneKey: key) { continue }
            selected.append((input, key))
        }
        return selected
    }

    /// Fingerprints shared by every scene of a run.
    struct RunContext {
        var modelHash: String
        var pipelineHash: String?
        var settingsHash: String
        var options: BatchOptions
        var runID: Int64?
        var temporaries: TemporaryFiles
    }

    /// Classifies this run's scenes and returns the report (also when scenes failed).
    /// - Throws: when the output folder cannot be created or the model hashed (nothing can be
    ///   written then), when the history cannot be written (``RunHistoryError``), when a scene's
    ///   output cannot be written (``RunCannotWrite``, after recording the run `failed`), or when
    ///   `options.cancellation` stopped the run (``RunInterrupted``, after recording it `interrupted`).
    public func run(options: BatchOptions = BatchOptions(), progress: @escaping (RunProgress) -> Void = { _ in }) throws -> RunReport {
        let started = Date()
        let folder = try plan.createOutputFolder()
        if plan.pipeline.objectStore != nil {
            // The scratch folder is this process's own: removed when the run ends, and any left
            // by killed runs on this host swept now.
            for stale in Self.removeAbandonedScratch(root: plan.pipeline.scratchRoot) {
                logger.notice("removed a scratch folder left by an interrupted run", metadata: ["event": "cleanup", "folder": "\(stale)"])
            }
        }
        defer {
            if plan.pipeline.objectStore != nil { try? FileManager.default.removeItem(atPath: folder) }
        }
        let temporaries = TemporaryFiles()
        if options.shard == nil {
            // Unsharded: sweep every temporary file of a process that is gone. Sharded runs share
            // the folder with live shards and remove only their own scenes' temporaries.
            let reports = (folder as NSString).appendingPathComponent("reports")
            for stale in temporaries.removeAbandoned(in: folder) + temporaries.removeAbandoned(in: reports) {
                logger.notice("removed a temporary file left by an interrupted run", metadata: ["event": "cleanup", "file": "\(stale)"])
            }
        }
        let modelHash = try SHA256Hex.hex(ofFile: plan.modelPath)
        let pipelineHash = try plan.pipelinePath.map { try SHA256Hex.hex(ofFile: $0) }
        let settingsHash = BatchFingerprint.settings(plan.pipeline)
        let selected = selectedScenes(shard: options.shard)

        var context = RunContext(modelHash: modelHash, pipelineHash: pipelineHash, settingsHash: settingsHash,
                                 options: options, runID: nil, temporaries: temporaries)
        if let history = options.history {
            let interrupted = try history.markInterrupted(pipelinePath: plan.pipelinePath, shard: options.shard?.description)
            for id in interrupted {
                logger.notice("an earlier run was interrupted", metadata: ["event": "run", "status": "\(RunStatus.interrupted.rawValue)", "run_id": "\(id)"])
            }
            context.runID = try history.startRun(RunStart(
                pipelinePath: plan.pipelinePath, pipelineSHA256: pipelineHash, settingsSHA256: settingsHash,
                modelPath: plan.modelPath, modelSHA256: modelHash, version: toolVersion, shard: options.shard?.description,
                forced: options.force, scenes: selected.count), started: started)
        }
        var startMetadata: Logger.Metadata = ["event": "run", "status": "started", "scenes": "\(selected.count)",
                                              "model_sha256": "\(modelHash.prefix(12))"]
        if let shard = options.shard { startMetadata["shard"] = "\(shard)"; startMetadata["batch_scenes"] = "\(plan.scenes.count)" }
        if let runID = context.runID { startMetadata["run_id"] = "\(runID)" }
        logger.info("run started", metadata: startMetadata)

        var scenes: [SceneReport] = []
        do {
            for (index, scene) in selected.enumerated() {
                if let signal = options.cancellation?.signal { throw SceneStop.interrupted(SceneInterrupted(signal: signal)) }
                scenes.append(try runScene(scene.input, key: scene.key, index: index, count: selected.count,
                                           context: context, progress: progress))
            }
        } catch let stop as SceneStop {
            var status = RunStatus.failed
            let thrown: any Error
            switch stop {
            case .interrupted(let interrupted):
                status = .interrupted
                removeOwnTemporaries()
                logger.notice("run interrupted", metadata: ["event": "run", "status": "\(RunStatus.interrupted.rawValue)", "signal": "\(interrupted.signalName)"])
                thrown = interrupted
            case .cannotWrite(let error, let scene):
                scenes.append(scene)
                thrown = error
            }
            let report = makeReport(started: started, scenes: scenes, context: context)
            if let history = options.history, let runID = context.runID {
                try history.finishRun(id: runID, status: status, done: report.succeeded, skipped: report.skipped,
                                      failed: report.failed, seconds: report.seconds, error: "\(thrown)")
            }
            switch stop {
            case .interrupted(let interrupted):
                throw RunInterrupted(signal: interrupted.signal, report: report)
            case .cannotWrite(let error, _):
                logger.error("run stopped: an output cannot be written", metadata: ["event": "run", "status": "\(RunStatus.failed.rawValue)", "error": "\(error)"])
                throw RunCannotWrite(error: error, report: report)
            }
        } catch {
            if let history = options.history, let runID = context.runID {
                try? history.finishRun(id: runID, status: .failed, done: scenes.filter { $0.status == .done }.count,
                                       skipped: scenes.filter { $0.status == .skipped }.count,
                                       failed: scenes.filter { $0.status == .failed }.count,
                                       seconds: Date().timeIntervalSince(started), error: ErrorText.describe(error))
            }
            throw error
        }
        let report = makeReport(started: started, scenes: scenes, context: context)
        if let history = options.history, let runID = context.runID {
            try history.finishRun(id: runID, status: report.status, done: report.succeeded,
                                  skipped: report.skipped, failed: report.failed, seconds: report.seconds)
        }
        logger.log(level: report.failed > 0 ? .warning : .info, "run finished", metadata: [
            "event": "run", "status": "\(report.status.rawValue)", "scenes": "\(scenes.count)",
            "done": "\(report.succeeded)", "skipped": "\(report.skipped)", "failed": "\(report.failed)",
            "seconds": "\(String(format: "%.2f", report.seconds))",
        ])
        return report
    }

    /// The run report for `scenes`, finished now.
    private func makeReport(started: Date, scenes: [SceneReport], context: RunContext) -> RunReport {
        let finished = Date()
        let formatter = ISO8601DateFormatter()
        var report = RunReport(version: toolVersion, started: formatter.string(from: started), finished: formatter.string(from: finished),
                               seconds: finished.timeIntervalSince(started), pipelinePath: plan.pipelinePath, pipelineSHA256: context.pipelineHash,
                               modelPath: plan.modelPath, modelSHA256: context.modelHash, workers: workers, scenes: scenes)
        report.settingsSHA256 = context.settingsHash
        report.runID = context.runID
        report.shard = context.options.shard?.description
        report.batchScenes = plan.scenes.count
        report.forced = context.options.force
        report.history = context.options.history?.path
        if !plan.searches.isEmpty {
            report.searches = plan.searches.map {
                RunReport.SearchReport(search: $0.search, items: $0.items.map(\.scene.id), pages: $0.pages, truncated: $0.truncated)
            }
        }
        return report
    }

    /// Why the run stops before its last scene: thrown between scenes, or by ``runScene`` after
    /// the scene was recorded.
    private enum SceneStop: Error {
        /// A signal stopped the run (during a scene: recorded `interrupted`).
        case interrupted(SceneInterrupted)
        /// The scene's output could not be written (recorded `failed`; its report).
        case cannotWrite(RasterIOError, SceneReport)
    }

    /// Removes this process's temporary files from the output folder and its reports folder
    /// (writers remove their own; this also catches any a failing step left).
    private func removeOwnTemporaries() {
        let folder = plan.outputFolder
        let own = getpid()
        for directory in [folder, (folder as NSString).appendingPathComponent("reports")] {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                guard let parsed = TemporaryFiles.parse(entry), parsed.pid == own else { continue }
                try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(entry))
            }
        }
    }

    enum Decision {
        /// Skip: the scene's record and why.
        case skip(SceneRecord, why: String)
        case redo(String)
    }

    /// Whether the scene's latest `done` record still describes what is on disk (see the type's
    /// documentation).
    private func decide(key: String, fingerprint: String, context: RunContext, history: RunHistory) throws -> Decision {
        guard let last = try history.lastDone(sceneKey: key, settingsSHA256: context.settingsHash) else {
            return .redo(try history.wasEverDone(sceneKey: key) ? "pipeline settings changed" : "new")
        }
        if last.modelSHA256 != context.modelHash { return .redo("model changed") }
        if last.inputsFingerprint != fingerprint { return .redo("inputs changed") }
        // The settings fingerprint leaves out the output folder: outputs recorded in another
        // folder (an earlier --output-folder, a shared --history) are not this run's outputs.
        let folder = URL(fileURLWithPath: plan.outputFolder).standardizedFileURL.path
        if last.outputs.contains(where: { URL(fileURLWithPath: $0.path).deletingLastPathComponent().standardizedFileURL.path != folder }) {
            return .redo("output folder changed")
        }
        let recorded = Set(last.outputs.map(\.role))
        if let missing = SceneOutputFiles.requiredRoles(output: plan.pipeline.output).first(where: { !recorded.contains($0) }) {
            return .redo("no \(missing.rawValue) output recorded")
        }
        for output in last.outputs {
            guard let stamp = try? FileStamp(path: output.path) else {
                return .redo("\(output.role.rawValue) output missing")
            }
            if stamp.bytes != output.bytes || stamp.modifiedNanosecondsSince1970 != output.modifiedNanoseconds {
                return .redo("\(output.role.rawValue) output changed since run \(last.runID)")
            }
        }
        guard let map = last.outputs.first(where: { $0.role == .map }), let dataset = try? RasterDataset(path: map.path) else {
            return .redo("map unreadable")
        }
        let metadata = dataset.metadata()
        guard metadata["LANDCOVER_MODEL_SHA256"] == context.modelHash,
              metadata["LANDCOVER_SETTINGS_SHA256"] == context.settingsHash,
              metadata["LANDCOVER_INPUTS_FINGERPRINT"] == fingerprint else {
            return .redo("map provenance differs")
        }
        return .skip(last, why: "unchanged since run \(last.runID)")
    }

    /// Runs or skips one scene. Scene errors become a `failed` report; only history errors throw.
    private func runScene(_ input: SceneInput, key: String, index: Int, count: Int, context: RunContext,
                          progress: @escaping (RunProgress) -> Void) throws -> SceneReport {
        let started = Date()
        let history = context.options.history
        let maskFile = plan.pipeline.nodata.maskPath.map(plan.pipeline.resolve)
        var identity = RunHistory.SceneStart(sceneKey: key, name: input.name ?? input.label, inputs: input.paths,
                                             inputsFingerprint: nil, modelSHA256: context.modelHash,
                                             settingsSHA256: context.settingsHash)
        var reason = context.options.force ? "--force" : "new"
        let fingerprint: String
        do {
            fingerprint = try BatchFingerprint.inputs(input, extraFiles: maskFile.map { [$0] } ?? [])
            identity.inputsFingerprint = fingerprint
        } catch {
            return try recordFailure(identity: identity, input: input, error: error, reason: reason, started: started, context: context)
        }

        let decision: Decision?
        do {
            if context.options.force {
                decision = nil
            } else if let store = plan.pipeline.objectStore {
                // Object-store outputs: the store says what is published, not the local history.
                decision = try decidePublished(input: input, key: key, fingerprint: fingerprint, context: context, store: store)
            } else if let history {
                decision = try decide(key: key, fingerprint: fingerprint, context: context, history: history)
            } else {
                decision = nil
            }
        } catch let error as ObjectStoreError {
            return try recordFailure(identity: identity, input: input, error: error, reason: reason, started: started, context: context)
        }
        if let decision {
            switch decision {
            case .skip(let record, let why):
                identity.name = record.name
                if plan.pipeline.objectStore == nil {
                    for path in record.outputs.map(\.path) { context.temporaries.removeStale(for: path) }
                }
                if let history, let runID = context.runID {
                    try history.recordSkipped(runID: runID, identity, reason: why, output: record.output,
                                              outputs: record.outputs, started: started)
                }
                logger.info("scene skipped", metadata: [
                    "event": "scene", "status": "\(SceneStatus.skipped.rawValue)", "scene": "\(record.name)", "reason": "\(why)",
                    "output": "\(record.output ?? "")",
                ])
                let path = { (role: OutputRole) in record.outputs.first { $0.role == role }?.path }
                var report = SceneReport(name: record.name, inputs: input.paths, status: .skipped, error: nil,
                                         output: record.output, preview: path(.preview), stac: path(.stac))
                report.probabilities = path(.probabilities)
                report.reason = why
                report.inputsFingerprint = fingerprint
                report.outputs = record.outputs
                return report
            case .redo(let why):
                reason = why
            }
        }

        let sceneID = try history.flatMap { history in
            try context.runID.map { try history.startScene(runID: $0, identity, reason: reason, started: started) }
        }
        let outcome: Result<(SceneReport, [OutputFileRecord]), any Error>
        do {
            outcome = .success(try classify(input, fingerprint: fingerprint, reason: reason, index: index, count: count,
                                            context: context, progress: progress))
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let (report, outputs)):
            if let history, let sceneID {
                try history.finishScene(id: sceneID, status: .done, name: report.name, seconds: Date().timeIntervalSince(started),
                                        times: report.times, patches: report.patches, output: report.output, outputs: outputs)
            }
            let wall = report.times?.wall ?? 0
            let rate = wall > 0 ? Double(report.patches ?? 0) / wall : 0
            logger.info("scene done", metadata: [
                "event": "scene", "status": "\(SceneStatus.done.rawValue)", "scene": "\(report.name)", "reason": "\(reason)",
                "output": "\(report.output ?? "")", "patches": "\(report.patches ?? 0)",
                "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
                "patches_per_second": "\(String(format: "%.0f", rate))",
            ])
            return report
        case .failure(let error as SceneInterrupted):
            if let history, let sceneID {
                try history.finishScene(id: sceneID, status: .interrupted, error: "\(error)", seconds: Date().timeIntervalSince(started))
            }
            logger.notice("scene interrupted", metadata: ["event": "scene", "status": "\(SceneStatus.interrupted.rawValue)", "scene": "\(input.name ?? input.label)",
                                                          "reason": "\(reason)", "signal": "\(error.signalName)"])
            throw SceneStop.interrupted(error)
        case .failure(let error):
            if let history, let sceneID {
                try history.finishScene(id: sceneID, status: .failed, error: ErrorText.describe(error), seconds: Date().timeIntervalSince(started))
            }
            let report = failureReport(input: input, error: error, reason: reason, fingerprint: fingerprint)
            if let writeError = error as? RasterIOError, Self.stopsTheRun(writeError) {
                throw SceneStop.cannotWrite(writeError, report)
            }
            return report
        }
    }

    /// Whether a scene's error means no later scene can be written either: a full disk or a
    /// failed write into the output folder.
    static func stopsTheRun(_ error: RasterIOError) -> Bool {
        switch error {
        case .noSpace, .writeFailed: return true
        default: return false
        }
    }

    /// Records and logs a scene that failed before it could start (e.g. a missing input).
    private func recordFailure(identity: RunHistory.SceneStart, input: SceneInput, error: any Error, reason: String,
                               started: Date, context: RunContext) throws -> SceneReport {
        if let history = context.options.history, let runID = context.runID {
            let id = try history.startScene(runID: runID, identity, reason: reason, started: started)
            try history.finishScene(id: id, status: .failed, error: ErrorText.describe(error), seconds: Date().timeIntervalSince(started))
        }
        return failureReport(input: input, error: error, reason: reason, fingerprint: nil)
    }

    private func failureReport(input: SceneInput, error: any Error, reason: String, fingerprint: String?) -> SceneReport {
        let message = ErrorText.describe(error)
        logger.error("scene failed", metadata: ["event": "scene", "status": "\(SceneStatus.failed.rawValue)", "scene": "\(input.name ?? input.label)",
                                                "reason": "\(reason)", "error": "\(message)"])
        var report = SceneReport.failure(name: input.name ?? input.label, inputs: input.paths, error: message)
        if case .sceneSetting(_, let key, _)? = error as? PipelineError { report.settingKey = key }
        report.reason = reason
        report.inputsFingerprint = fingerprint
        return report
    }

    /// What a scene's outputs record about how they were made (the map's `LANDCOVER_*` metadata
    /// and the STAC item's `landcover:*` properties): version, scene, mode, and the model, inputs,
    /// settings and pipeline fingerprints. Everything here ends up in the files: it must be
    /// deterministic (no times, hosts or pids).
}

extension PipelineRunner {
    /// The files a scene's bands are read from, in band order without repeats: plain paths as
    /// they are, GDAL connection strings (`SENTINEL2_L1C:/p/MTD_MSIL1C.xml:10m:EPSG_32633`) as
    /// their file part, a file inside a zip (`/vsizip//p/S2A.zip/...`) as the zip.
    static func sourceFiles(of scene: Scene) -> [String] {
        func file(_ path: String) -> String? {
            if FileManager.default.fileExists(atPath: path) { return path }
            if path.hasPrefix("/vsizip/"), let end = path.range(of: ".zip", options: .caseInsensitive) {
                let zip = String(path[path.index(path.startIndex, offsetBy: 8)..<end.upperBound])
                return FileManager.default.fileExists(atPath: zip) ? zip : nil
            }
            return nil
        }
        var files: [String] = []
        for band in scene.bands {
            let source = band.sourcePath
            let found = file(source) ?? source.split(separator: ":").lazy.compactMap { file(String($0)) }.first ?? source
            if !files.contains(found) { files.append(found) }
        }
        return files
    }
}

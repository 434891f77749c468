import CNN
import Classification
import Config
import Foundation
import Logging
import Products
import RasterIO

/// Progress of a run, reported after every work unit (on the thread running the scene).
public struct RunProgress: Sendable {
    /// 0-based index of the current scene and the number of scenes.
    public var sceneIndex: Int
    public var sceneCount: Int
    /// Name of the current scene.
    public var sceneName: String
    /// Patches finished in the current scene and its total.
    public var patchesDone: Int
    public var patchesTotal: Int
}

/// How a batch run treats scenes done before, and which share of the batch it takes.
public struct BatchOptions: Sendable {
    /// Redo every scene, even unchanged ones.
    public var force: Bool
    /// Only this shard's scenes (nil: all).
    public var shard: Shard?
    /// Where runs and scenes are recorded; nil runs every scene and records nothing (the
    /// history is what makes a run idempotent).
    public var history: RunHistory?
    /// Set by a SIGTERM/SIGINT handler to stop the run (see ``RunCancellation``).
    public var cancellation: RunCancellation?

    /// Creates batch options.
    public init(force: Bool = false, shard: Shard? = nil, history: RunHistory? = nil, cancellation: RunCancellation? = nil) {
        self.force = force
        self.shard = shard
        self.history = history
        self.cancellation = cancellation
    }
}

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
    private let logger: Logger
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
    private struct RunContext {
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
        let folder = plan.outputFolder
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw PipelineError.invalidValue(key: "output.folder", value: plan.pipeline.output.folder, reason: "cannot be created (\(error.localizedDescription)); check the path and permissions")
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
                logger.notice("an earlier run was interrupted", metadata: ["event": "run", "status": "interrupted", "run_id": "\(id)"])
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
            var status = "failed"
            let thrown: any Error
            switch stop {
            case .interrupted(let interrupted):
                status = "interrupted"
                removeOwnTemporaries()
                logger.notice("run interrupted", metadata: ["event": "run", "status": "interrupted", "signal": "\(interrupted.signalName)"])
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
                logger.error("run stopped: an output cannot be written", metadata: ["event": "run", "status": "failed", "error": "\(error)"])
                throw RunCannotWrite(error: error, report: report)
            }
        } catch {
            if let history = options.history, let runID = context.runID {
                try? history.finishRun(id: runID, status: "error", done: scenes.filter { $0.status == .done }.count,
                                       skipped: scenes.filter { $0.status == .skipped }.count,
                                       failed: scenes.filter { $0.status == .failed }.count,
                                       seconds: Date().timeIntervalSince(started), error: ErrorText.describe(error))
            }
            throw error
        }
        let report = makeReport(started: started, scenes: scenes, context: context)
        if let history = options.history, let runID = context.runID {
            try history.finishRun(id: runID, status: report.failed > 0 ? "failed" : "done", done: report.succeeded,
                                  skipped: report.skipped, failed: report.failed, seconds: report.seconds)
        }
        logger.log(level: report.failed > 0 ? .warning : .info, "run finished", metadata: [
            "event": "run", "status": report.failed > 0 ? "failed" : "done", "scenes": "\(scenes.count)",
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

    private enum Decision {
        case skip(SceneRecord)
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
        return .skip(last)
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
            fingerprint = try BatchFingerprint.inputs(input, extraFiles: maskFile.map { [$0] } ?? [], baseFolder: plan.pipeline.baseFolder)
            identity.inputsFingerprint = fingerprint
        } catch {
            return try recordFailure(identity: identity, input: input, error: error, reason: reason, started: started, context: context)
        }

        if let history, !context.options.force {
            switch try decide(key: key, fingerprint: fingerprint, context: context, history: history) {
            case .skip(let record):
                identity.name = record.name
                for path in record.outputs.map(\.path) { context.temporaries.removeStale(for: path) }
                let why = "unchanged since run \(record.runID)"
                if let runID = context.runID {
                    try history.recordSkipped(runID: runID, identity, reason: why, output: record.output,
                                              outputs: record.outputs, started: started)
                }
                logger.info("scene skipped", metadata: [
                    "event": "scene", "status": "skipped", "scene": "\(record.name)", "reason": "\(why)",
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
                try history.finishScene(id: sceneID, status: "done", name: report.name, seconds: Date().timeIntervalSince(started),
                                        times: report.times, patches: report.patches, output: report.output, outputs: outputs)
            }
            let wall = report.times?.wall ?? 0
            let rate = wall > 0 ? Double(report.patches ?? 0) / wall : 0
            logger.info("scene done", metadata: [
                "event": "scene", "status": "done", "scene": "\(report.name)", "reason": "\(reason)",
                "output": "\(report.output ?? "")", "patches": "\(report.patches ?? 0)",
                "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
                "patches_per_second": "\(String(format: "%.0f", rate))",
            ])
            return report
        case .failure(let error as SceneInterrupted):
            if let history, let sceneID {
                try history.finishScene(id: sceneID, status: "interrupted", error: "\(error)", seconds: Date().timeIntervalSince(started))
            }
            logger.notice("scene interrupted", metadata: ["event": "scene", "status": "interrupted", "scene": "\(input.name ?? input.label)",
                                                          "reason": "\(reason)", "signal": "\(error.signalName)"])
            throw SceneStop.interrupted(error)
        case .failure(let error):
            if let history, let sceneID {
                try history.finishScene(id: sceneID, status: "failed", error: ErrorText.describe(error), seconds: Date().timeIntervalSince(started))
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
            try history.finishScene(id: id, status: "failed", error: ErrorText.describe(error), seconds: Date().timeIntervalSince(started))
        }
        return failureReport(input: input, error: error, reason: reason, fingerprint: nil)
    }

    private func failureReport(input: SceneInput, error: any Error, reason: String, fingerprint: String?) -> SceneReport {
        let message = ErrorText.describe(error)
        logger.error("scene failed", metadata: ["event": "scene", "status": "failed", "scene": "\(input.name ?? input.label)",
                                                "reason": "\(reason)", "error": "\(message)"])
        var report = SceneReport.failure(name: input.name ?? input.label, inputs: input.paths, error: message)
        if case .sceneSetting(_, let key, _)? = error as? PipelineError { report.settingKey = key }
        report.reason = reason
        report.inputsFingerprint = fingerprint
        return report
    }

    /// Classifies a scene and writes every output; returns the report and the output records.
    private func classify(_ input: SceneInput, fingerprint: String, reason: String, index: Int, count: Int,
                          context: RunContext, progress: @escaping (RunProgress) -> Void) throws -> (SceneReport, [OutputFileRecord]) {
        let job = try plan.job(for: input)
        let name = job.input.name ?? job.scene.name
        for path in [job.files.map, job.files.style, job.files.confidence, job.files.probabilities, job.files.preview, job.files.polygons,
                     job.files.stac].compactMap({ $0 }) {
            context.temporaries.removeStale(for: path)
        }
        let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract, settings: settings)
        // Everything here ends up in the files: keep it deterministic (no times, hosts or pids).
        var provenance = ["version": toolVersion, "model": URL(fileURLWithPath: plan.modelPath).lastPathComponent,
                          "model_sha256": context.modelHash, "scene": name, "mode": job.mode.rawValue,
                          "inputs": job.input.paths.joined(separator: ";"), "inputs_fingerprint": fingerprint,
                          "settings_sha256": context.settingsHash]
        if let pipelineHash = context.pipelineHash { provenance["pipeline_sha256"] = pipelineHash }
        let cancellation = context.options.cancellation
        let result = try classifier.run(provenance: provenance, cancellation: cancellation) { done, total in
            progress(RunProgress(sceneIndex: index, sceneCount: count, sceneName: name, patchesDone: done, patchesTotal: total))
        }
        let legend = try ClassLegend(names: plan.contract.classNames,
                                     colors: plan.contract.classColors.map { RGBColor(red: $0.red, green: $0.green, blue: $0.blue) })
        try cancellation?.check()
        if let previewPath = job.files.preview {
            try PreviewRenderer.write(path: previewPath, classes: result.preview, width: result.previewWidth,
                                      height: result.previewHeight, legend: legend, classPixels: result.classPixels,
                                      title: "\(name) - \(plan.modelName)")
        }
        var times = result.times
        try cancellation?.check()
        if let polygonsPath = job.files.polygons, let format = plan.pipeline.output.polygons {
            let started = DispatchTime.now().uptimeNanoseconds
            let count = try ClassPolygons.write(mapPath: job.files.map, legend: legend, to: polygonsPath, format: format,
                                                eightConnected: plan.pipeline.output.polygonConnectivity == 8,
                                                geographic: plan.pipeline.output.geojsonCRS == .wgs84)
            times.polygonize = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            logger.debug("polygons written", metadata: ["event": "polygons", "scene": "\(name)", "file": "\(polygonsPath)", "polygons": "\(count)"])
        }
        try cancellation?.check()
        var outputs: [OutputFileRecord] = []
        // Sidecars exist only when GDAL had something to put in them.
        let files = job.files.files.filter { $0.role != .stac && (!$0.role.isSidecar || FileManager.default.fileExists(atPath: $0.path)) }
        func record(_ role: OutputRole, _ path: String) throws -> OutputFileRecord {
            let stamp = try FileStamp(path: path)
            // What is on disk now must be what the writer produced and checked.
            if let produced = result.committed.first(where: { $0.path == path }), UInt64(max(0, stamp.bytes)) != produced.bytes {
                throw RasterIOError.writeFailed(path: path, reason: "the file on disk has \(stamp.bytes) bytes, the writer produced \(produced.bytes)")
            }
            return OutputFileRecord(role: role, path: path, bytes: stamp.bytes,
                                    modifiedNanoseconds: stamp.modifiedNanosecondsSince1970, sha256: try SHA256Hex.hex(ofFile: path))
        }
        for (role, path) in files { outputs.append(try record(role, path)) }
        // The STAC item comes last: it carries the size and SHA-256 of every other output.
        if let stacPath = job.files.stac {
            let id = URL(fileURLWithPath: job.files.map).deletingPathExtension().lastPathComponent
            var properties = ["scene": name, "model": plan.modelName, "model_sha256": context.modelHash,
                              "mode": job.mode.rawValue, "version": toolVersion, "inputs_fingerprint": fingerprint,
                              "settings_sha256": context.settingsHash]
            if let pipelineHash = context.pipelineHash { properties["pipeline_sha256"] = pipelineHash }
            let modelBytes = Int(try FileStamp(path: plan.modelPath).bytes)
            let model = try STACModelDescription(model: plan.model, path: plan.modelPath, sha256: context.modelHash, bytes: modelBytes)
            let item = try STACItem.make(id: id, itemPath: stacPath, grid: result.outputGrid, legend: legend, outputs: outputs,
                                         cloudOptimized: plan.pipeline.output.format == .cog,
                                         acquisition: AcquisitionTime.find(in: job.scene), date: job.date, created: Date(),
                                         model: model, modelPath: plan.modelPath, sourceFiles: Self.sourceFiles(of: job.scene),
                                         softwareVersion: toolVersion, properties: properties)
            try STACItem.writeJSON(item, to: stacPath)
            outputs.append(try record(.stac, stacPath))
        }
        var report = SceneReport(name: name, inputs: job.input.paths, status: .done, error: nil, output: job.files.map,
                                 preview: job.files.preview, stac: job.files.stac, width: result.outputGrid.width,
                                 height: result.outputGrid.height, epsg: result.outputGrid.spatialReference?.epsg,
                                 mode: job.mode.rawValue, patches: result.patches, classifiedPatches: result.classifiedPatches,
                                 classes: zip(plan.contract.classNames, result.classPixels).map { SceneReport.ClassCount(name: $0, pixels: $1) },
                                 nodataPixels: result.nodataPixels, times: times)
        report.probabilities = job.files.probabilities
        report.polygons = job.files.polygons
        report.reason = reason
        report.inputsFingerprint = fingerprint
        report.outputs = outputs
        return (report, outputs)
    }
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

/// Temporary files (names carrying ``RasterWriter/temporaryMarker``) that interrupted runs left in
/// output folders. Each folder is listed once per run; entries are grouped by the final file name
/// they were written for (`.NAME.landcover-tmp-<pid>...` belongs to `NAME`).
final class TemporaryFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var listings: [String: [String: [String]]] = [:]

    /// The final name a temporary entry was written for, and the writer's pid.
    static func parse(_ entry: String) -> (owner: String, pid: Int32?)? {
        guard entry.hasPrefix("."), let marker = entry.range(of: RasterWriter.temporaryMarker) else { return nil }
        let owner = String(entry[entry.index(after: entry.startIndex)..<marker.lowerBound])
        let digits = entry[marker.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return (owner, Int32(digits))
    }

    private func listing(_ folder: String) -> [String: [String]] {
        if let cached = listings[folder] { return cached }
        var byOwner: [String: [String]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            if let parsed = Self.parse(entry) { byOwner[parsed.owner, default: []].append(entry) }
        }
        listings[folder] = byOwner
        return byOwner
    }

    /// Removes the temporaries found at the start of the run for `path` (the caller owns the
    /// scene, so none of them belongs to a live writer).
    func removeStale(for path: String) {
        lock.lock()
        defer { lock.unlock() }
        let folder = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        var byOwner = listing(folder)
        for entry in byOwner[name] ?? [] {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(entry))
        }
        byOwner[name] = nil
        listings[folder] = byOwner
    }

    /// Removes every temporary file in `folder` whose writer is no longer running on this host
    /// (or whose pid cannot be read); returns the removed paths.
    func removeAbandoned(in folder: String) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var removed: [String] = []
        var byOwner = listing(folder)
        for (owner, entries) in byOwner {
            var kept: [String] = []
            for entry in entries {
                if let pid = Self.parse(entry)?.pid, pid != getpid(), kill(pid, 0) == 0 || errno == EPERM {
                    kept.append(entry)
                    continue
                }
                let full = (folder as NSString).appendingPathComponent(entry)
                if (try? FileManager.default.removeItem(atPath: full)) != nil { removed.append(full) }
            }
            byOwner[owner] = kept.isEmpty ? nil : kept
        }
        listings[folder] = byOwner
        return removed.sorted()
    }
}

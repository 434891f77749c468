import CNN
import Foundation
import Logging
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

/// Runs a pipeline: every scene in turn, each isolated (a failing scene is recorded and the run
/// goes on), each written to temporary files renamed only when complete.
public final class PipelineRunner {
    public let plan: PipelinePlan
    public let toolVersion: String
    private let logger: Logger
    private let workerOverride: Int?

    /// - Parameters:
    ///   - toolVersion: recorded in outputs and the report.
    ///   - logger: receives one line per scene (and the failures).
    ///   - workers: overrides `runtime.threads` (the command line's `--threads`).
    public init(plan: PipelinePlan, toolVersion: String, logger: Logger, workers: Int? = nil) {
        self.plan = plan
        self.toolVersion = toolVersion
        self.logger = logger
        self.workerOverride = workers
    }

    /// Worker threads: the override, `runtime.threads`, or one per core.
    public var workers: Int {
        workerOverride ?? plan.pipeline.runtime.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Classifier settings from the pipeline file.
    public var settings: ClassifierSettings {
        let p = plan.pipeline
        return ClassifierSettings(workers: workers, batchSize: p.runtime.batchSize, memoryBudget: p.runtime.memoryMiB << 20,
                                  minValidFraction: p.nodata.minValidFraction, nodataValue: p.nodata.value,
                                  maskInvalidValues: p.nodata.invalidValues, confidence: p.output.confidence,
                                  probabilities: p.output.probabilities, format: p.output.format,
                                  compression: p.output.compression)
    }

    /// Classifies every scene and returns the report (also when scenes failed).
    /// - Throws: only when the output folder cannot be created (nothing can be written then).
    public func run(progress: @escaping (RunProgress) -> Void = { _ in }) throws -> RunReport {
        let started = Date()
        let folder = plan.outputFolder
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw PipelineError.invalidValue(key: "output.folder", value: plan.pipeline.output.folder, reason: "cannot be created (\(error.localizedDescription)); check the path and permissions")
        }
        for stale in RasterWriter.removeStaleTemporaryFiles(in: folder) {
            logger.notice("removed a temporary file left by an interrupted run", metadata: ["file": "\(stale)"])
        }
        // GDAL's block cache takes a quarter of the memory budget.
        GDALEnvironment.setCacheMax(bytes: max(16 << 20, (plan.pipeline.runtime.memoryMiB << 20) / 4))
        let modelHash = try SHA256.hex(ofFile: plan.modelPath)
        let pipelineHash = try plan.pipelinePath.map { try SHA256.hex(ofFile: $0) }
        var scenes: [SceneReport] = []
        for (index, input) in plan.scenes.enumerated() {
            let report = runScene(input, index: index, modelHash: modelHash, pipelineHash: pipelineHash, progress: progress)
            scenes.append(report)
        }
        let finished = Date()
        let formatter = ISO8601DateFormatter()
        return RunReport(version: toolVersion, started: formatter.string(from: started), finished: formatter.string(from: finished),
                         seconds: finished.timeIntervalSince(started), pipelinePath: plan.pipelinePath, pipelineSHA256: pipelineHash,
                         modelPath: plan.modelPath, modelSHA256: modelHash, workers: workers, scenes: scenes)
    }

    private func runScene(_ input: SceneInput, index: Int, modelHash: String, pipelineHash: String?,
                          progress: @escaping (RunProgress) -> Void) -> SceneReport {
        do {
            let job = try plan.job(for: input)
            let name = job.input.name ?? job.scene.name
            let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract, settings: settings)
            var provenance = ["version": toolVersion, "model": URL(fileURLWithPath: plan.modelPath).lastPathComponent,
                              "model_sha256": modelHash, "scene": name, "mode": job.mode.rawValue,
                              "inputs": job.input.paths.joined(separator: ";")]
            if let pipelineHash { provenance["pipeline_sha256"] = pipelineHash }
            let sceneCount = plan.scenes.count
            let result = try classifier.run(provenance: provenance) { done, total in
                progress(RunProgress(sceneIndex: index, sceneCount: sceneCount, sceneName: name, patchesDone: done, patchesTotal: total))
            }
            let legend = try ClassLegend(names: plan.contract.classNames,
                                         colors: plan.contract.classColors.map { RGBColor(red: $0.red, green: $0.green, blue: $0.blue) })
            if let previewPath = job.previewPath {
                try PreviewRenderer.write(path: previewPath, classes: result.preview, width: result.previewWidth,
                                          height: result.previewHeight, legend: legend, classPixels: result.classPixels,
                                          title: "\(name) - \(plan.modelName)")
            }
            if let stacPath = job.stacPath {
                let id = URL(fileURLWithPath: job.outputPath).deletingPathExtension().lastPathComponent
                let item = try STACItem.make(id: id, grid: result.outputGrid, legend: legend, nodata: legend.nodataValue,
                                             mapPath: job.outputPath, previewPath: job.previewPath,
                                             cloudOptimized: plan.pipeline.output.format == .cog, date: job.date, created: Date(),
                                             properties: ["scene": name, "model": plan.modelName, "model_sha256": modelHash,
                                                          "mode": job.mode.rawValue, "version": toolVersion])
                try STACItem.writeJSON(item, to: stacPath)
            }
            let rate = result.times.wall > 0 ? Double(result.patches) / result.times.wall : 0
            logger.info("scene done", metadata: [
                "scene": "\(name)", "output": "\(job.outputPath)", "patches": "\(result.patches)",
                "seconds": "\(String(format: "%.2f", result.times.wall))", "patches_per_second": "\(String(format: "%.0f", rate))",
            ])
            return SceneReport(name: name, inputs: job.input.paths, status: .done, error: nil, output: job.outputPath,
                               preview: job.previewPath, stac: job.stacPath, width: result.outputGrid.width,
                               height: result.outputGrid.height, epsg: result.outputGrid.spatialReference?.epsg,
                               mode: job.mode.rawValue, patches: result.patches, classifiedPatches: result.classifiedPatches,
                               classes: zip(plan.contract.classNames, result.classPixels).map { SceneReport.ClassCount(name: $0, pixels: $1) },
                               nodataPixels: result.nodataPixels, times: result.times)
        } catch {
            let message = "\(error)"
            logger.error("scene failed", metadata: ["scene": "\(input.label)", "error": "\(message)"])
            return .failure(name: input.name ?? input.label, inputs: input.paths, error: message)
        }
    }
}

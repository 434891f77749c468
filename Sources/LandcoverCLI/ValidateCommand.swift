import ArgumentParser
import CNN
import Foundation
import BatchRun
import Classification
import Config
import Products

/// `landcover validate PIPELINE.yaml`: a dry run.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file without classifying: scenes found, band resolution, outputs, work and memory.",
        discussion: "Exit codes: 0 every scene is ready, 2 the pipeline or a scene has a problem (each is listed).")

    @OptionGroup var pipelineArgument: PipelineArgument

    @OptionGroup var format: JSONOutputOption

    func run() throws {
        try CLIErrors.guarded(file: pipelineArgument.pipeline) {
            let file = try PipelineFile.load(path: pipelineArgument.pipeline)
            let plan = try PipelinePlan(pipeline: file, pipelinePath: pipelineArgument.pipeline)
            let runner = PipelineRunner(plan: plan, toolVersion: LandcoverVersion.string, logger: .init(label: "validate"))
            // Whole-pipeline problems `run` refuses before any scene: one line, exit 2.
            try plan.preflight(workers: runner.workers)
            let settings = runner.settings
            let session = plan.model.makeSession()
            var scenes: [[String: Any]] = []
            var problems = 0
            var lines: [String] = ["model: \(plan.modelPath) (\(plan.contract.task.rawValue), \(plan.contract.classNames.count) classes, patch \(plan.contract.patchSize), bands \(plan.contract.bands.joined(separator: ",")))",
                                   "workers: \(settings.workers), batch: \(settings.batchSize)\(plan.model.inputs.first?.shape?.first == .value(1) ? " (the model takes batches of exactly 1)" : ""), memory budget: \(file.runtime.memoryMiB) MiB"]
            for input in plan.scenes {
                do {
                    let job = try plan.job(for: input)
                    let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract, settings: settings)
                    let p = job.tiler.patchSize
                    let flops = try session.flops(inputShapes: [plan.model.inputs.first?.name ?? "input": [1, plan.contract.bands.count, p, p]])
                    let bands = zip(plan.contract.bands, job.modelBandIndices).map { modelBand, index -> String in
                        let band = job.scene.bands[index]
                        let source = URL(fileURLWithPath: band.sourcePath).lastPathComponent
                        let how = band.resampling.map { ", \($0.rawValue) from \(Int(band.sourceResolution)) m" } ?? ""
                        return modelBand == band.name ? "\(modelBand) <- \(source)\(how)" : "\(modelBand) <- \(band.name) in \(source)\(how)"
                    }
                    let memoryMiB = classifier.estimatedBufferBytes >> 20
                    let grid = job.scene.grid
                    lines.append("scene \(job.input.name ?? job.scene.name): \(grid.width)x\(grid.height) at \(grid.resolution) m, \(grid.spatialReference?.description ?? "no CRS")")
                    lines += bands.map { "  \($0)" }
                    lines.append("  mode \(job.mode.rawValue), \(job.tiler.patchCount) patches of \(p) (stride \(job.tiler.stride), edge \(job.tiler.edge.rawValue)), \(String(format: "%.1f", Double(flops * job.tiler.patchCount) / 1e9)) GFLOP")
                    lines.append("  estimated memory: \(memoryMiB) MiB (buffers + GDAL cache, plus the model)")
                    lines.append("  output: \(job.files.map)")
                    let extras: [(String, String?)] = [("style", job.files.style), ("confidence", job.files.confidence),
                                                       ("probabilities", job.files.probabilities), ("preview", job.files.preview),
                                                       ("polygons", job.files.polygons), ("stac", job.files.stac)]
                    for case let (role, path?) in extras { lines.append("  \(role): \(path)") }
                    var entry: [String: Any] = ["name": job.input.name ?? job.scene.name, "width": grid.width, "height": grid.height,
                                                "bands": bands, "mode": job.mode.rawValue, "patches": job.tiler.patchCount,
                                                "gflop": Double(flops * job.tiler.patchCount) / 1e9, "estimated_memory_mib": memoryMiB,
                                                "output": job.files.map, "ok": true]
                    for case let (role, path?) in extras { entry[role] = path }
                    scenes.append(entry)
                } catch {
                    problems += 1
                    let message = CLIErrors.message(for: error, file: pipelineArgument.pipeline)
                    lines.append("scene \(input.label): PROBLEM: \(message)")
                    scenes.append(["name": input.label, "ok": false, "error": message])
                }
            }
            if format.json {
                let object: [String: Any] = ["model": plan.modelPath, "scenes": scenes, "problems": problems]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(lines.joined(separator: "\n"))
                print(problems == 0 ? "ok: \(plan.scenes.count) scene(s) ready" : "\(problems) of \(plan.scenes.count) scene(s) have problems")
            }
            if problems > 0 { throw ExitCode(ExitCodes.invalidInput) }
        }
    }
}

import ArgumentParser
import CNN
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO

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
            let report = try ValidationReport(pipelinePath: pipelineArgument.pipeline)
            if format.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.text)
            }
            if report.problems > 0 { throw ExitCode(ExitCodes.invalidInput) }
        }
    }
}

/// What `validate` found, printed as text or (the same values) as JSON: the model, the
/// classifier's settings and, per scene, its grid, bands, work, memory and planned files, or the
/// problem that stops it.
struct ValidationReport: Encodable {
    /// One scene: ready (`ok`, with its plan) or not (`error`).
    struct Scene: Encodable {
        var name: String
        var ok: Bool
        var error: String?
        var width: Int?
        var height: Int?
        /// Grid pixel size in map units.
        var resolution: Double?
        var crs: String?
        /// `MODEL_BAND <- SOURCE` lines (with the resampling when the band is resampled).
        var bands: [String]?
        var mode: String?
        var patches: Int?
        var patchSize: Int?
        var stride: Int?
        var edge: String?
        var gflop: Double?
        var estimatedMemoryMiB: Int?
        /// The class map, and the other planned files by role.
        var output: String?
        var style, confidence, probabilities, preview, polygons, stac: String?

        enum CodingKeys: String, CodingKey {
            case name, ok, error, width, height, resolution, crs, bands, mode, patches, stride, edge, gflop, output
            case style, confidence, probabilities, preview, polygons, stac
            case patchSize = "patch_size", estimatedMemoryMiB = "estimated_memory_mib"
        }

        /// The planned files by role, in the order they are listed.
        var extras: [(String, String?)] {
            [("style", style), ("confidence", confidence), ("probabilities", probabilities), ("preview", preview),
             ("polygons", polygons), ("stac", stac)]
        }
    }

    /// One STAC API search of the pipeline and what it returned.
    struct Search: Encodable {
        /// One item found (a scene).
        struct Item: Encodable {
            var id: String
            var datetime: String?
            var cloudCover: Double?
            var url: String

            enum CodingKeys: String, CodingKey {
                case id, datetime, url
                case cloudCover = "cloud_cover"
            }
        }
        /// The endpoint and request body, one line of JSON.
        var search: String
        var pages: Int
        var truncated: Bool
        var items: [Item]
    }

    /// The model file.
    var model: String
    var task: String
    var classes: Int
    var patchSize: Int
    var bands: [String]
    var workers: Int
    var batchSize: Int
    /// The batch size the model's input is fixed at, if any (the engine then runs batches of
    /// `batch_size` patches as batches of this size, padding the last one).
    var modelFixedBatch: Int?
    var memoryBudgetMiB: Int
    var scenes: [Scene] = []
    /// The `stac_search` inputs' results.
    var searches: [Search] = []
    /// Scenes with a problem.
    var problems = 0

    enum CodingKeys: String, CodingKey {
        case model, task, classes, bands, workers, scenes, problems, searches
        case patchSize = "patch_size", batchSize = "batch_size", modelFixedBatch = "model_fixed_batch", memoryBudgetMiB = "memory_budget_mib"
    }

    /// Plans the pipeline as `run` would and each scene's classification, without classifying.
    /// - Throws: what `run` refuses before any scene (unreadable pipeline or model, preflight).
    init(pipelinePath: String) throws {
        let file = try PipelineFile.load(path: pipelinePath)
        let plan = try PipelinePlan(pipeline: file, pipelinePath: pipelinePath)
        let runner = PipelineRunner(plan: plan, toolVersion: LandcoverVersion.string, logger: .init(label: "validate"))
        // Whole-pipeline problems `run` refuses before any scene: one line, exit 2.
        try plan.preflight(workers: runner.workers)
        let settings = runner.settings
        model = plan.modelPath
        task = plan.contract.task.rawValue
        classes = plan.contract.classNames.count
        patchSize = plan.contract.patchSize
        bands = plan.contract.bands
        workers = settings.workers
        batchSize = settings.batchSize
        modelFixedBatch = plan.model.fixedBatchSize
        memoryBudgetMiB = file.runtime.memoryMiB
        searches = plan.searches.map { result in
            Search(search: result.search, pages: result.pages, truncated: result.truncated, items: result.items.map {
                Search.Item(id: $0.scene.id, datetime: $0.scene.datetime, cloudCover: $0.cloudCover, url: RemotePath.url(of: $0.scene.location))
            })
        }
        let session = plan.model.makeSession()
        // With an object-store output folder the outputs are shown where they are published.
        let shown = { (path: String) -> String in
            file.objectStore.map { ObjectStore.display($0.object((path as NSString).lastPathComponent)) } ?? path
        }
        for input in plan.scenes {
            do {
                let job = try plan.job(for: input)
                let classifier = try SceneClassifier(job: job, model: plan.model, contract: plan.contract, settings: settings)
                let p = job.tiler.patchSize
                let flops = try session.flops(inputShapes: [plan.model.inputs.first?.name ?? "input": [1, plan.contract.bands.count, p, p]])
                let bands = zip(plan.contract.bands, job.modelBandIndices).map { modelBand, index -> String in
                    let band = job.scene.bands[index]
                    // A file by its name; a remote one by its URL (which server it comes from matters).
                    let source = RemotePath.isRemote(band.sourcePath) ? RemotePath.url(of: band.sourcePath)
                        : URL(fileURLWithPath: band.sourcePath).lastPathComponent
                    let how = band.resampling.map { ", \($0.rawValue) from \(Int(band.sourceResolution)) m" } ?? ""
                    return modelBand == band.name ? "\(modelBand) <- \(source)\(how)" : "\(modelBand) <- \(band.name) in \(source)\(how)"
                }
                let grid = job.scene.grid
                scenes.append(Scene(name: job.input.name ?? job.scene.name, ok: true, width: grid.width, height: grid.height,
                                    resolution: grid.resolution, crs: grid.spatialReference?.description, bands: bands,
                                    mode: job.mode.rawValue, patches: job.tiler.patchCount, patchSize: p, stride: job.tiler.stride,
                                    edge: job.tiler.edge.rawValue, gflop: Double(flops * job.tiler.patchCount) / 1e9,
                                    estimatedMemoryMiB: classifier.estimatedBufferBytes >> 20, output: shown(job.files.map),
                                    style: shown(job.files.style), confidence: job.files.confidence.map(shown),
                                    probabilities: job.files.probabilities.map(shown), preview: job.files.preview.map(shown),
                                    polygons: job.files.polygons.map(shown), stac: job.files.stac.map(shown)))
            } catch {
                problems += 1
                scenes.append(Scene(name: input.label, ok: false, error: CLIErrors.message(for: error, file: pipelinePath)))
            }
        }
    }

    /// The report as `validate` prints it without `--json`.
    var text: String {
        var lines = ["model: \(model) (\(task), \(classes) classes, patch \(patchSize), bands \(bands.joined(separator: ",")))",
                     "workers: \(workers), batch: \(batchSize)\(modelFixedBatch.map { " (the model takes batches of exactly \($0); the engine splits and pads)" } ?? ""), memory budget: \(memoryBudgetMiB) MiB"]
        for search in searches {
            lines.append("STAC search \(search.search): \(search.items.count) item(s) in \(search.pages) page(s)\(search.truncated ? ", stopped at max_items" : "")")
            for item in search.items {
                let cloud = item.cloudCover.map { "cloud cover \(String(format: "%g", $0)) %" } ?? "cloud cover unknown"
                lines.append("  item \(item.id): \(item.datetime ?? "no datetime"), \(cloud), \(item.url)")
            }
        }
        for scene in scenes {
            guard scene.ok else {
                lines.append("scene \(scene.name): PROBLEM: \(scene.error ?? "")")
                continue
            }
            lines.append("scene \(scene.name): \(scene.width ?? 0)x\(scene.height ?? 0) at \(scene.resolution ?? 0) m, \(scene.crs ?? "no CRS")")
            lines += (scene.bands ?? []).map { "  \($0)" }
            lines.append("  mode \(scene.mode ?? ""), \(scene.patches ?? 0) patches of \(scene.patchSize ?? 0) (stride \(scene.stride ?? 0), edge \(scene.edge ?? "")), \(String(format: "%.1f", scene.gflop ?? 0)) GFLOP")
            lines.append("  estimated memory: \(scene.estimatedMemoryMiB ?? 0) MiB (buffers + GDAL cache, plus the model)")
            lines.append("  output: \(scene.output ?? "")")
            for case let (role, path?) in scene.extras { lines.append("  \(role): \(path)") }
        }
        lines.append(problems == 0 ? "ok: \(scenes.count) scene(s) ready" : "\(problems) of \(scenes.count) scene(s) have problems")
        return lines.joined(separator: "\n")
    }
}

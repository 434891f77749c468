import CNN
import Config
import Foundation
import RasterIO

/// A pipeline file bound to its model: expands inputs and turns each into a ``SceneJob``.
public struct PipelinePlan: Sendable {
    /// The default `runtime.batch_size`: 8 patches for models of up to 1 M parameters (their
    /// activations, not their weights, fill the caches: the small CNN of benchmarks/ ran a 10980²
    /// scene in 12.4 s at 8, 12.8 s at 16, 13.3 s at 64 and needed 80 MiB more at 64), 16 for
    /// larger ones (ResNet-18, 11 M parameters: 24.0 s at 16 and 23.8 s at 64, but 52 MiB more
    /// memory at 64).
    public static func automaticBatchSize(parameters: Int) -> Int {
        parameters <= 1_000_000 ? 8 : 16
    }

    /// The parsed pipeline file.
    public let pipeline: PipelineFile
    /// Path of the pipeline file (for reports and hashes), if it came from a file.
    public let pipelinePath: String?
    /// The loaded model.
    public let model: InferenceModel
    /// The model's contract.
    public let contract: ModelContract
    /// Absolute model path.
    public let modelPath: String
    /// Scenes after glob expansion, in pipeline order.
    public let scenes: [SceneInput]
    /// The pipeline's STAC API searches (`stac_search` inputs) as run when the plan was made, in
    /// input order; their items are among ``scenes``.
    public let searches: [STACSearchResult]

    /// Loads the model and expands the inputs.
    /// - Throws: ``PipelineError`` naming the `model` key or an input that matches nothing;
    ///   model errors (unreadable file, missing contract) naming the model file.
    public init(pipeline: PipelineFile, pipelinePath: String? = nil) throws {
        let (model, contract) = try Self.loadModel(pipeline.resolve(pipeline.model), key: pipeline.model, precision: InferencePrecision(pipeline.runtime.precision))
        try self.init(pipeline: pipeline, pipelinePath: pipelinePath, model: model, contract: contract)
    }

    /// Reads the ONNX model at `modelPath` and its landcover contract, compiled for `precision`.
    /// - Throws: ``PipelineError`` naming `key` (the path as the pipeline wrote it) when the file
    ///   is missing or not a regular file, naming `runtime.precision` when the model cannot run
    ///   at that precision (int8 needs a quantized model), or naming the file when it is not a
    ///   usable model.
    public static func loadModel(_ modelPath: String, key: String, precision: InferencePrecision = .fp32) throws -> (InferenceModel, ModelContract) {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw PipelineError.invalidValue(key: "model", value: key, reason: "does not exist (looked for \(modelPath)); check the path, relative to the pipeline file")
        }
        var isFolder: ObjCBool = false
        if let kind = FileKind.nonRegular(modelPath) ?? (FileManager.default.fileExists(atPath: modelPath, isDirectory: &isFolder) && isFolder.boolValue ? "a folder" : nil) {
            throw PipelineError.invalidValue(key: "model", value: key, reason: "is \(kind), not an ONNX file; give the path of a .onnx file")
        }
        let model: InferenceModel
        do {
            model = try InferenceModel(contentsOf: URL(fileURLWithPath: modelPath), precision: precision)
        } catch let error as ONNXError {
            // The model is usable; only the precision is wrong for it.
            if case .precisionUnavailable = error {
                throw PipelineError.invalidValue(key: "runtime.precision", value: precision.rawValue, reason: "cannot run \(modelPath): \(ErrorText.describe(error))")
            }
            throw PipelineError.unreadable(path: modelPath, reason: "is not a usable ONNX model: \(ErrorText.describe(error))")
        } catch {
            throw PipelineError.unreadable(path: modelPath, reason: "is not a usable ONNX model: \(ErrorText.describe(error))")
        }
        do {
            return (model, try model.requireContract())
        } catch {
            throw PipelineError.unreadable(path: modelPath, reason: ErrorText.describe(error))
        }
    }

    /// Binds `pipeline` to an already loaded model (`landcover evaluate` loads it once) and
    /// expands the inputs.
    /// - Throws: ``PipelineError`` for an input that matches nothing or settings the model cannot
    ///   run (patch size, batch size, memory).
    public init(pipeline: PipelineFile, pipelinePath: String? = nil, model: InferenceModel, contract: ModelContract) throws {
        self.pipeline = pipeline
        self.pipelinePath = pipelinePath
        let modelPath = pipeline.resolve(pipeline.model)
        // A model whose plan for one patch needs more working memory than the whole budget (a
        // shape that explodes at run time) is refused before any scene. The plan is cached in
        // this session, which the tiling check below asks again.
        let onePatch = model.makeSession()
        onePatch.memoryLimit = Self.memoryLimit(pipeline)
        if let input = model.inputs.first {
            let probe = onePatch
            let patch = pipeline.tiling.patchSize ?? contract.patchSize
            do {
                _ = try probe.flops(inputShapes: [input.name: [1, contract.bands.count, patch, patch]])
            } catch let error as ONNXError {
                // A model that cannot plan one patch classifies nothing. Inputs that only refuse a
                // batch of one (a fixed batch size) are left to the scenes.
                switch error {
                case .invalidInput, .missingInput: break
                default:
                    throw PipelineError.unreadable(path: modelPath, reason: "cannot classify a patch of \(patch) x \(patch) pixels with runtime.memory_mb \(pipeline.runtime.memoryMiB): \(error.errorDescription ?? "\(error)")")
                }
            }
        }
        self.model = model
        self.contract = contract
        self.modelPath = modelPath
        var searches: [STACSearchResult] = []
        self.scenes = try Self.expand(pipeline, searches: &searches)
        self.searches = searches
        if let size = pipeline.tiling.patchSize, contract.task == .patchClassification, size != contract.patchSize {
            throw PipelineError.invalidValue(key: "tiling.patch_size", value: "\(size)", reason: "differs from the model's patch size \(contract.patchSize); remove the key or use \(contract.patchSize)")
        }
        batchSize = try Self.batchSize(pipeline: pipeline, model: model, modelPath: modelPath)
        try checkTiling(onePatch: onePatch)
        let shape = [batchSize, contract.bands.count, patchSize, patchSize]
        do {
            sessionWorkingBytes = try model.makeSession().workingBytes(inputShapes: [model.inputs.first?.name ?? "input": shape])
                + Self.augmentationBytes(pipeline.runtime.testTimeAugmentation, batch: batchSize, bands: contract.bands.count,
                                         patch: patchSize, classes: contract.classNames.count, perPixel: contract.task == .segmentation)
        } catch {
            throw PipelineError.invalidValue(key: "runtime.batch_size", value: "\(batchSize)", reason: "cannot be planned for this model (\(ErrorText.describe(error))); use a smaller batch")
        }
    }

    /// Working memory (activations and scratch) of one worker's model session running a batch of
    /// ``batchSize`` patches, in bytes, from the model's execution plan, plus the buffers of
    /// test-time augmentation when it is on.
    public private(set) var sessionWorkingBytes = 0

    /// Bytes a worker holds for test-time augmentation besides the model's plan: the turned
    /// batch (`batch` x `bands` x `patch`^2 floats) and three sets of class outputs (this pass,
    /// turned back, the sum): `classes` per patch, or per pixel for per-pixel models.
    static func augmentationBytes(_ tta: PipelineFile.TestTimeAugmentation, batch: Int, bands: Int, patch: Int,
                                  classes: Int, perPixel: Bool) -> Int {
        guard tta != .none else { return 0 }
        let outputs = classes * (perPixel ? patch * patch : 1)
        return 4 * batch * (bands * patch * patch + 3 * outputs)
    }

    /// Worker threads when neither `runtime.threads` nor `--threads` says: one per core, but no
    /// more than the sessions that fit in `runtime.memory_mb` (at least 1; results do not depend
    /// on the number of workers).
    public var defaultWorkers: Int {
        let fitting = (pipeline.runtime.memoryMiB << 20) / max(1, sessionWorkingBytes)
        return max(1, min(ProcessInfo.processInfo.activeProcessorCount, fitting))
    }

    /// Patches per inference batch: `runtime.batch_size`, else the model's fixed batch size when
    /// its input has one (the engine splits other batch sizes into batches of that size and pads
    /// the last one), else ``automaticBatchSize(parameters:)``.
    public let batchSize: Int

    static func batchSize(pipeline: PipelineFile, model: InferenceModel, modelPath: String) throws -> Int {
        // A model with a fixed batch size takes batches of that size by default; any other
        // runtime.batch_size also works (the engine splits batches and pads the last one).
        pipeline.runtime.batchSize ?? model.fixedBatchSize ?? Self.automaticBatchSize(parameters: model.parameterCount)
    }

    /// The patch size the tiler uses: `tiling.patch_size`, else the model's.
    public var patchSize: Int { pipeline.tiling.patchSize ?? contract.patchSize }

    /// The class map's file name for `input` (`output.name` with its placeholders replaced and
    /// `.tif` added when missing) and the acquisition date found, without opening any file.
    /// Scene names derived from file names have control characters replaced by `_`.
    public func outputFileName(for input: SceneInput) -> (name: String, date: String?) {
        let sceneName = Self.sanitized(input.name ?? Scene.sceneName(input.paths))
        let date = input.datetime.map { String($0.prefix(10)) } ?? Self.date(in: sceneName) ?? input.paths.lazy.compactMap { Self.date(in: URL(fileURLWithPath: $0).lastPathComponent) }.first
        var fileName = pipeline.output.name
            .replacingOccurrences(of: "{scene}", with: sceneName)
            .replacingOccurrences(of: "{date}", with: date ?? "undated")
            .replacingOccurrences(of: "{model}", with: Self.sanitized(modelName))
        if !fileName.lowercased().hasSuffix(".tif") && !fileName.lowercased().hasSuffix(".tiff") { fileName += ".tif" }
        return (fileName, date)
    }

    /// `name` with control characters and `/` replaced by `_`.
    static func sanitized(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { $0.properties.generalCategory == .control || $0 == "/" ? "_" : $0 }))
    }

    /// The files a scene writes with these settings, named from the map's path: the one place
    /// output names are made (the scene job and the pre-run output checks both use it).
    /// The output files for a class map at `map` (an absolute path in the output folder).
    public func outputFiles(map: String) -> SceneOutputFiles {
        SceneOutputFiles(map: map, output: pipeline.output)
    }

    /// Name of the stacked band that carries `nodata.mask.path`'s raster.
    public static let maskBandName = "MASK"

    /// Working memory one inference session may use, in bytes: `runtime.memory_mb`.
    static func memoryLimit(_ pipeline: PipelineFile) -> Int {
        let (bytes, overflow) = pipeline.runtime.memoryMiB.multipliedReportingOverflow(by: 1 << 20)
        return overflow ? Int.max : bytes
    }

    /// Expands globs (`*`, `?`, `[...]`) in input paths; each match of a single-path input is a scene.
    /// URLs become GDAL network paths (`https://h/p` -> `/vsicurl/https://h/p`, `s3://b/k` ->
    /// `/vsis3/b/k`, see ``RemotePath``); network paths are never globs (a `?` starts a query).
    static func expand(_ pipeline: PipelineFile, searches: inout [STACSearchResult]) throws -> [SceneInput] {
        var scenes: [SceneInput] = []
        func isPattern(_ path: String) -> Bool { !RemotePath.isRemote(path) && Glob.hasPattern(path) }
        for (index, input) in pipeline.inputs.enumerated() {
            if let search = input.search {
                // A STAC API search: each item found is one scene, named by its id and read from
                // its URL like a STAC Item input. A failing search refuses the pipeline (one line
                // naming the URL and the HTTP status): its scenes are not known.
                let result = try search.run()
                searches.append(result)
                scenes += result.items.map { SceneInput(paths: [$0.scene.location], name: $0.scene.id, datetime: $0.scene.datetime) }
                continue
            }
            let resolved = input.paths.map { RemotePath.gdalPath(ofURL: $0) ?? pipeline.resolve($0) }
            if resolved.count == 1, let only = resolved.first, STACSceneItem.isItemPath(only) {
                // A STAC Item is one scene named by its id, an ItemCollection one scene per item
                // (`COLLECTION.json#ID`). One that cannot be read stays one scene, which fails
                // with the reason when it runs (the other scenes go on).
                guard let items = try? STACSceneItem.items(at: only), !items.isEmpty else {
                    scenes.append(SceneInput(paths: [only], name: input.name))
                    continue
                }
                scenes += items.map { SceneInput(paths: [$0.location], name: items.count == 1 ? input.name ?? $0.id : $0.id, datetime: $0.datetime) }
            } else if resolved.count == 1, let only = resolved.first, isPattern(only) {
                let matches = Glob.expand(only)
                guard !matches.isEmpty else {
                    throw PipelineError.invalidValue(key: "inputs[\(index)]", value: input.paths[0], reason: "matches no file; check the pattern")
                }
                scenes += matches.map { SceneInput(paths: [$0], name: nil) }
            } else {
                var paths: [String] = []
                for path in resolved {
                    if isPattern(path) {
                        let matches = Glob.expand(path)
                        guard !matches.isEmpty else {
                            throw PipelineError.invalidValue(key: "inputs[\(index)]", value: path, reason: "matches no file; check the pattern")
                        }
                        paths += matches
                    } else {
                        paths.append(path)
                    }
                }
                scenes.append(SceneInput(paths: paths, name: input.name))
            }
        }
        return scenes
    }

    /// The model's file name without extension (`{model}`).
    public var modelName: String { URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent }

    /// The folder this process writes outputs to: `output.folder` resolved, or with an
    /// object-store `output.folder` the process's local scratch folder (see
    /// ``PipelineFile/localOutputFolder``), from which the batch runner uploads each scene.
    public var outputFolder: String { pipeline.localOutputFolder }

    /// Assembles a scene and checks it against the model.
    /// - Throws: ``PipelineError/contractMismatch(scene:reason:)`` naming the scene and band when
    ///   a model band is missing; raster errors naming the file that cannot be read.
    public func job(for input: SceneInput) throws -> SceneJob {
        let modelBands = contract.bands
        let sceneBands = modelBands.map { pipeline.bandMap[$0] ?? $0 }
        var requested = sceneBands
        let maskPath = pipeline.nodata.maskPath
        if maskPath != nil && pipeline.nodata.maskBand != nil {
            throw PipelineError.invalidValue(key: "nodata.mask", value: "band and path",
                                             reason: "give either band (a band of the scene) or path (a separate mask raster), not both")
        }
        let maskBand = maskPath == nil ? pipeline.nodata.maskBand : nil
        // The mask band holds class codes: nearest (up) and mode (down) unless `resampling` says otherwise.
        var categorical = Set(pipeline.categorical)
        if let maskBand {
            if !requested.contains(maskBand) { requested.append(maskBand) }
            categorical.insert(maskBand)
        }
        var scene: Scene
        do {
            scene = try Scene.assemble(inputs: input.paths, options: SceneOptions(
                bands: requested, bandOrder: pipeline.bandOrder, referenceResolution: pipeline.resolution,
                resampling: pipeline.resampling, categorical: categorical))
        } catch RasterIOError.gridTooLarge(let detail) {
            throw PipelineError.sceneSetting(scene: input.label, key: pipeline.resolution == nil ? "inputs" : "resolution", reason: detail)
        } catch RasterIOError.bandNotFound(let band, let path, let available) {
            let mapped = modelBands.firstIndex(of: band).map { _ in "" } ?? (pipeline.bandMap.first { $0.value == band }.map { " (model band \($0.key))" } ?? "")
            throw PipelineError.contractMismatch(scene: path, reason: "has no band \(band)\(mapped), which the model needs; available: \(available.joined(separator: ", ")). Map it with 'bands: {\(band): OTHER}' or give band files that contain it")
        }
        var named = input
        if named.name == nil { named.name = scene.name }
        let indices = try sceneBands.map { name -> Int in
            guard let index = scene.bands.firstIndex(where: { $0.name == name }) else {
                throw PipelineError.contractMismatch(scene: input.label, reason: "band \(name) is missing after stacking")
            }
            return index
        }
        var maskIndex = maskBand.flatMap { name in scene.bands.firstIndex { $0.name == name } }
        if let maskPath {
            // A separate mask raster (band 1), put on the scene grid with nearest neighbour.
            scene = try scene.addingBand(named: Self.maskBandName, from: pipeline.resolve(maskPath))
            maskIndex = scene.bands.count - 1
        }

        let mode = try resolveMode()
        let patchSize = self.patchSize
        try checkGrid(scene: scene, label: named.name ?? scene.name, mode: mode)
        var stride = pipeline.tiling.stride
        var edge = pipeline.tiling.edge
        if mode == .patchResolution {
            guard stride == nil || stride == patchSize else {
                throw PipelineError.invalidValue(key: "tiling.stride", value: "\(stride ?? 0)", reason: "must equal the patch size with output.patch_resolution (one output pixel per patch)")
            }
            stride = patchSize
            edge = .pad
        }
        let tiler = try Tiler(width: scene.grid.width, height: scene.grid.height, patchSize: patchSize, stride: stride, edge: edge)

        let (fileName, date) = outputFileName(for: input)
        if let problem = PipelineFile.fileNameProblem(fileName) {
            throw PipelineError.invalidValue(key: "output.name", value: pipeline.output.name, reason: "gives scene \(input.label) the file name '\(YAMLMap.excerpt(fileName))', which \(problem); change output.name or the scene's name")
        }
        let outputPath = URL(fileURLWithPath: outputFolder).appendingPathComponent(fileName).standardizedFileURL.path
        let files = outputFiles(map: outputPath)
        return SceneJob(input: named, scene: scene, modelBandIndices: indices, maskBandIndex: maskIndex, tiler: tiler,
                        mode: mode, files: files, date: date)
    }

    /// Refuses a scene whose grid would need more memory than `runtime.memory_mb` for its tiling
    /// plan (one entry per work unit) and the map's band of rows, computed from the grid's size
    /// before any array is sized from it.
    func checkGrid(scene: Scene, label: String, mode: ClassificationMode) throws {
        let grid = scene.grid, p = patchSize, stride = min(p, pipeline.tiling.stride ?? p)
        func count(_ length: Int) -> Int { length <= p ? 1 : (length - p + stride - 1) / stride + 1 }
        let columns = count(grid.width), rows = count(grid.height)
        let (patches, overflow) = columns.multipliedReportingOverflow(by: rows)
        let k = contract.classNames.count
        // Work units (~100 bytes each, at least batch/2 patches per unit), the tiler's offsets,
        // and the assembler's band of rows (per pixel: blending state, classes, confidence and
        // probabilities) over the patch height.
        let units = overflow ? Int.max : patches / max(1, batchSize / 2) + 1
        let perPixel = (mode == .dense || mode == .segmentation ? 4 * (k + 1) : 0) + 4 + (pipeline.output.probabilities ? 2 * k : 0)
        let needed = Double(units) * 100 + Double(columns + rows) * 16 + Double(grid.width) * Double(p) * Double(perPixel)
        let budget = Double(pipeline.runtime.memoryMiB) * 1_048_576
        if overflow || needed > budget {
            let detail = "its \(grid.width)x\(grid.height) grid at \(grid.resolution) map units per pixel needs about \(Int(min(needed, 9e15) / 1_048_576)) MiB for \(overflow ? "too many" : "\(patches)") patches of \(p) (stride \(stride)), more than runtime.memory_mb (\(pipeline.runtime.memoryMiB))"
            throw PipelineError.sceneSetting(scene: label, key: pipeline.resolution == nil ? "runtime.memory_mb" : "resolution",
                                             reason: "\(detail); use a coarser resolution or a larger stride, or raise runtime.memory_mb")
        }
    }

    /// The mode after `auto`: segmentation models segment; patch classifiers paint patches.
    public func resolveMode() throws -> ClassificationMode {
        switch (pipeline.mode, contract.task) {
        case (.segmentation, .patchClassification):
            throw PipelineError.invalidValue(key: "mode", value: "segmentation", reason: "needs a segmentation model; this model classifies patches (use patch or dense)")
        case (.patch, .segmentation), (.dense, .segmentation):
            throw PipelineError.invalidValue(key: "mode", value: pipeline.mode.rawValue, reason: "needs a patch-classification model; this model segments (use segmentation or auto)")
        case (.auto, .segmentation), (.segmentation, .segmentation):
            return .segmentation
        case (.dense, .patchClassification):
            return .dense
        case (.auto, .patchClassification), (.patch, .patchClassification):
            return pipeline.output.patchResolution ? .patchResolution : .patch
        }
    }

    /// The first `YYYYMMDD` date in a scene or file name (Sentinel-2 names carry the sensing date),
    /// as `YYYY-MM-DD`.
    static func date(in name: String) -> String? {
        let characters = Array(name)
        var index = 0
        while index + 8 <= characters.count {
            let window = characters[index..<index + 8]
            let before = index == 0 || !characters[index - 1].isNumber
            let after = index + 8 == characters.count || !characters[index + 8].isNumber
            if before, after, window.allSatisfy(\.isNumber) {
                let text = String(window)
                if let year = Int(text.prefix(4)), let month = Int(text.dropFirst(4).prefix(2)), let day = Int(text.suffix(2)),
                   (1970...2100).contains(year), (1...12).contains(month), (1...31).contains(day) {
                    return "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.suffix(2))"
                }
            }
            index += 1
        }
        return nil
    }
}

extension PipelinePlan {
    /// Creates the output folder (and its parents) if missing; returns its absolute path.
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` naming `output.folder`.
    @discardableResult
    public func createOutputFolder() throws -> String {
        let folder = outputFolder
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw PipelineError.invalidValue(key: "output.folder", value: pipeline.output.folder, reason: "cannot be created (\(error.localizedDescription)); check the path and permissions")
        }
        return folder
    }
}

extension ClassLegend {
    /// The legend of a model's contract: class `i` is the contract's `i`-th class and colour.
    /// - Throws: ``RasterIOError/invalidArgument(_:)`` for a contract without classes.
    public init(contract: ModelContract) throws {
        try self.init(names: contract.classNames, colors: contract.classColors.map { RGBColor(red: $0.red, green: $0.green, blue: $0.blue) })
    }
}


extension InferencePrecision {
    /// The engine's precision for the pipeline's `runtime.precision` (same cases).
    public init(_ precision: PipelineFile.Precision) {
        switch precision {
        case .fp32: self = .fp32
        case .int8: self = .int8
        }
    }
}

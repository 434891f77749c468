import CNN
import Foundation
import RasterIO

/// One scene named by a pipeline file: the files that form it and an optional name.
public struct SceneInput: Equatable, Sendable, Codable {
    /// Absolute paths (a folder of band files, a SAFE folder or zip, an MTD XML, or raster files).
    public var paths: [String]
    /// Scene name for `{scene}`; nil derives it from the files.
    public var name: String?

    /// Creates a scene input.
    public init(paths: [String], name: String? = nil) {
        self.paths = paths
        self.name = name
    }

    /// A label for messages: the name, or the first path.
    public var label: String { name ?? paths.first ?? "(no files)" }
}

/// How the model's predictions become the output map, after `auto` has been resolved.
public enum ClassificationMode: String, Sendable, Codable, Equatable {
    /// One class per patch, painted over the pixels nearest to the patch's centre.
    case patch
    /// One class per patch, one output pixel per patch (grid coarser by the patch size).
    case patchResolution = "patch_resolution"
    /// Patch probabilities blended with a Hann window into a per-pixel map.
    case dense
    /// Per-pixel model outputs blended with a Hann window.
    case segmentation
}

/// Everything needed to classify one scene: the stacked scene, which of its bands feed the
/// model (in contract order), the tiling, the mode and the output paths.
public struct SceneJob: Sendable {
    /// The input as the pipeline named it.
    public let input: SceneInput
    /// The assembled scene (model bands, plus the mask band when one is configured).
    public let scene: Scene
    /// Indices into `scene.bands` of the model's bands, in the contract's order.
    public let modelBandIndices: [Int]
    /// Index into `scene.bands` of the mask layer (e.g. SCL), if any.
    public let maskBandIndex: Int?
    /// Patch windows in scene pixels.
    public let tiler: Tiler
    /// Resolved mode.
    public let mode: ClassificationMode
    /// Final path of the class map.
    public let outputPath: String
    /// Final path of the per-class probability raster (`<stem>_probabilities.tif`), when enabled.
    public let probabilitiesPath: String?
    /// Final path of the confidence raster (`<stem>_confidence.tif`), when enabled.
    public let confidencePath: String?
    /// Final path of the map's QGIS style (`<stem>.qml`), always written.
    public var stylePath: String { ClassStyle.qmlPath(forMap: outputPath) }
    /// Final path of the preview PNG, when enabled.
    public let previewPath: String?
    /// Final path of the STAC item, when enabled.
    public let stacPath: String?
    /// Final path of the class polygons (`<stem>.gpkg` / `<stem>.geojson`), when enabled.
    public let polygonsPath: String?
    /// Acquisition date (YYYY-MM-DD) found in the scene name, if any.
    public let date: String?
}

/// A pipeline file bound to its model: expands inputs and turns each into a ``SceneJob``.
public struct PipelinePlan: Sendable {
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

    /// Loads the model and expands the inputs.
    /// - Throws: ``PipelineError`` naming the `model` key or an input that matches nothing;
    ///   model errors (unreadable file, missing contract) naming the model file.
    public init(pipeline: PipelineFile, pipelinePath: String? = nil) throws {
        self.pipeline = pipeline
        self.pipelinePath = pipelinePath
        let modelPath = pipeline.resolve(pipeline.model)
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw PipelineError.invalidValue(key: "model", value: pipeline.model, reason: "does not exist (looked for \(modelPath)); check the path, relative to the pipeline file")
        }
        let model: InferenceModel
        do {
            model = try InferenceModel(contentsOf: URL(fileURLWithPath: modelPath))
        } catch {
            throw PipelineError.unreadable(path: modelPath, reason: "is not a usable ONNX model: \(error)")
        }
        let contract: ModelContract
        do {
            contract = try model.requireContract()
        } catch {
            throw PipelineError.unreadable(path: modelPath, reason: "\(error)")
        }
        self.model = model
        self.contract = contract
        self.modelPath = modelPath
        self.scenes = try Self.expand(pipeline)
        if let size = pipeline.tiling.patchSize, contract.task == .patchClassification, size != contract.patchSize {
            throw PipelineError.invalidValue(key: "tiling.patch_size", value: "\(size)", reason: "differs from the model's patch size \(contract.patchSize); remove the key or use \(contract.patchSize)")
        }
    }

    /// Expands globs (`*`, `?`, `[...]`) in input paths; each match of a single-path input is a scene.
    static func expand(_ pipeline: PipelineFile) throws -> [SceneInput] {
        var scenes: [SceneInput] = []
        for (index, input) in pipeline.inputs.enumerated() {
            let resolved = input.paths.map(pipeline.resolve)
            if resolved.count == 1, let only = resolved.first, Glob.hasPattern(only) {
                let matches = Glob.expand(only)
                guard !matches.isEmpty else {
                    throw PipelineError.invalidValue(key: "inputs[\(index)]", value: input.paths[0], reason: "matches no file; check the pattern")
                }
                scenes += matches.map { SceneInput(paths: [$0], name: nil) }
            } else {
                var paths: [String] = []
                for path in resolved {
                    if Glob.hasPattern(path) {
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

    /// The output folder, resolved.
    public var outputFolder: String { pipeline.resolve(pipeline.output.folder) }

    /// Assembles a scene and checks it against the model.
    /// - Throws: ``PipelineError/contractMismatch(scene:reason:)`` naming the scene and band when
    ///   a model band is missing; raster errors naming the file that cannot be read.
    public func job(for input: SceneInput) throws -> SceneJob {
        let modelBands = contract.bands
        let sceneBands = modelBands.map { pipeline.bandMap[$0] ?? $0 }
        var requested = sceneBands
        let maskBand = pipeline.nodata.maskBand
        // The mask band holds class codes: nearest (up) and mode (down) unless `resampling` says otherwise.
        var categorical = Set(pipeline.categorical)
        if let maskBand {
            if !requested.contains(maskBand) { requested.append(maskBand) }
            categorical.insert(maskBand)
        }
        let scene: Scene
        do {
            scene = try Scene.assemble(inputs: input.paths, options: SceneOptions(
                bands: requested, bandOrder: pipeline.bandOrder, referenceResolution: pipeline.resolution,
                resampling: pipeline.resampling, categorical: categorical))
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
        let maskIndex = maskBand.flatMap { name in scene.bands.firstIndex { $0.name == name } }

        let mode = try resolveMode()
        let patchSize = pipeline.tiling.patchSize ?? contract.patchSize
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

        let sceneName = named.name ?? scene.name
        let date = Self.date(in: sceneName) ?? input.paths.lazy.compactMap { Self.date(in: URL(fileURLWithPath: $0).lastPathComponent) }.first
        var fileName = pipeline.output.name
            .replacingOccurrences(of: "{scene}", with: sceneName)
            .replacingOccurrences(of: "{date}", with: date ?? "undated")
            .replacingOccurrences(of: "{model}", with: modelName)
        if !fileName.lowercased().hasSuffix(".tif") && !fileName.lowercased().hasSuffix(".tiff") { fileName += ".tif" }
        let outputPath = URL(fileURLWithPath: outputFolder).appendingPathComponent(fileName).standardizedFileURL.path
        let stem = (outputPath as NSString).deletingPathExtension
        return SceneJob(input: named, scene: scene, modelBandIndices: indices, maskBandIndex: maskIndex, tiler: tiler,
                        mode: mode, outputPath: outputPath,
                        probabilitiesPath: pipeline.output.probabilities ? stem + "_probabilities.tif" : nil,
                        confidencePath: pipeline.output.confidence ? stem + "_confidence.tif" : nil,
                        previewPath: pipeline.output.preview ? stem + "_preview.png" : nil,
                        stacPath: pipeline.output.stac ? stem + ".stac.json" : nil,
                        polygonsPath: pipeline.output.polygons.map { stem + "." + $0.fileExtension }, date: date)
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

/// Shell-style file name patterns.
enum Glob {
    static func hasPattern(_ path: String) -> Bool { path.contains { "*?[".contains($0) } }

    /// Sorted matches of `pattern` (files and folders).
    static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        var matches: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { matches.append(String(cString: path)) }
        }
        return matches.sorted()
    }
}

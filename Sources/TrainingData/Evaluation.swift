import CNN
import Foundation
import Classification
import Config
import RasterIO
import Training

/// Which scene pixels an evaluation counts.
public enum EvaluationRegion: Sendable, Equatable {
    /// Every pixel of the scene.
    case all
    /// The pixels of a rectangle in scene pixels: columns `x0..<x1`, rows `y0..<y1`.
    case rectangle(RasterWindow)
    /// The pixels a spatial split puts in `part` (e.g. the held-out test strip), by
    /// ``SpatialSplit/region(column:row:width:height:)``.
    case split(SpatialSplit, DatasetSplit)

    /// The smallest window of a `width` x `height` scene holding every counted pixel, or nil when
    /// the region lies outside the scene.
    func bounds(width: Int, height: Int) -> RasterWindow? {
        let scene = RasterWindow(width: width, height: height)
        switch self {
        case .all: return scene
        case .rectangle(let window): return window.intersection(scene)
        case .split(let split, let part):
            var x0 = width, y0 = height, x1 = 0, y1 = 0
            // Regions change only at strip and block edges: scan a coarse lattice, then refine.
            for row in 0..<height {
                for column in 0..<width where split.region(column: column, row: row, width: width, height: height) == part {
                    x0 = min(x0, column); x1 = max(x1, column + 1); y0 = min(y0, row); y1 = max(y1, row + 1)
                }
            }
            return x1 > x0 && y1 > y0 ? RasterWindow(column: x0, row: y0, width: x1 - x0, height: y1 - y0) : nil
        }
    }

    /// True when scene pixel (`column`, `row`) counts.
    func contains(column: Int, row: Int, width: Int, height: Int) -> Bool {
        switch self {
        case .all: return true
        case .rectangle(let w): return column >= w.column && column < w.columnEnd && row >= w.row && row < w.rowEnd
        case .split(let split, let part): return split.region(column: column, row: row, width: width, height: height) == part
        }
    }
}

/// Accuracy assessment of a model with a landcover contract.
///
/// - Scenes: the scene is classified with Classification's `SceneClassifier` exactly as
///   `landcover run` would (the model's bands, normalization and patch size; `dense` blending
///   for patch classifiers by default, `segmentation` for segmentation models), the map is
///   compared per pixel with the labels rasterized on the scene grid. Pixels without a label,
///   nodata in the map, and pixels outside the region are not counted.
/// - Class folders: every patch is classified once (the model's patch size and bands), one
///   count per patch.
///
/// Reference classes are matched to the model's classes **by name**.
public enum ModelEvaluation {
    /// Options of a scene evaluation.
    public struct SceneOptions: Sendable {
        /// The scene's files.
        public var inputs: [String]
        /// Names for unnamed multi-band files' bands.
        public var bandOrder: [String]?
        /// Grid pixel size; nil = the finest band's.
        public var resolution: Double?
        /// Which pixels count.
        public var region: EvaluationRegion
        /// `dense`, `patch` or `segmentation`; nil = `dense` for patch classifiers,
        /// `segmentation` for segmentation models.
        public var mode: PipelineFile.Mode?
        /// Distance between patch origins in pixels; nil = half the patch size.
        public var stride: Int?
        /// Test-time augmentation, as `runtime.tta`.
        public var tta: PipelineFile.TestTimeAugmentation
        /// Classifier threads.
        public var workers: Int
        /// Keep the class map here (nil: a temporary file, removed afterwards).
        public var mapPath: String?

        /// Creates options.
        public init(inputs: [String], bandOrder: [String]? = nil, resolution: Double? = nil, region: EvaluationRegion = .all,
                    mode: PipelineFile.Mode? = nil, stride: Int? = nil, tta: PipelineFile.TestTimeAugmentation = .none,
                    workers: Int = 2, mapPath: String? = nil) {
            self.inputs = inputs
            self.bandOrder = bandOrder
            self.resolution = resolution
            self.region = region
            self.mode = mode
            self.stride = stride
            self.tta = tta
            self.workers = workers
            self.mapPath = mapPath
        }
    }

    /// Reads a model and its contract, compiled for `precision`.
    /// - Throws: ``TrainingDataError/unusableModel(path:problem:fix:)`` naming the file;
    ///   `RasterIOError.fileNotFound` when there is none.
    public static func loadModel(_ path: String, precision: InferencePrecision = .fp32) throws -> (InferenceModel, ModelContract) {
        guard FileManager.default.fileExists(atPath: path) else { throw RasterIOError.fileNotFound(path: path) }
        let model: InferenceModel
        do {
            model = try InferenceModel(contentsOf: URL(fileURLWithPath: path), precision: precision)
        } catch ONNXError.precisionUnavailable(let wanted, let detail) {
            throw TrainingDataError.unusableModel(path: path, problem: "cannot run at \(wanted) precision (\(detail))", fix: "use --precision fp32, or a quantized (QDQ) model for int8")
        } catch {
            throw TrainingDataError.unusableModel(path: path, problem: "is not a usable ONNX model (\(ErrorText.describe(error)))", fix: "give a model written by landcover train or with a landcover contract (landcover model info MODEL shows it)")
        }
        do {
            return (model, try model.requireContract())
        } catch {
            throw TrainingDataError.unusableModel(path: path, problem: "has no usable landcover contract (\(ErrorText.describe(error)))", fix: "give a model written by landcover train or with a landcover contract (landcover model info MODEL shows it)")
        }
    }

    /// A model read once, with its contract: every evaluation of one request uses it.
    struct LoadedModel {
        let path: String
        let model: InferenceModel
        let contract: ModelContract

        init(_ path: String, precision: InferencePrecision = .fp32) throws {
            self.path = path
            (model, contract) = try ModelEvaluation.loadModel(path, precision: precision)
        }
    }

    /// Classifies a scene and compares the map with labels, per pixel.
    ///
    /// - Parameters:
    ///   - modelPath: the ONNX model (with a landcover contract).
    ///   - scene: the scene and how to classify it.
    ///   - referenceNames: the names of the label classes (label value `i` is class
    ///     `referenceNames[i]`); each must be one of the model's classes.
    ///   - labels: opens the labels on the classified scene's grid.
    /// - Returns: the accuracy report over the model's classes.
    /// - Throws: ``TrainingDataError/invalidOption(option:value:reason:)`` for a reference class the
    ///   model does not know or a region outside the scene; pipeline and raster errors naming the file.
    public static func evaluateScene(modelPath: String, scene: SceneOptions, referenceNames: [String],
                                     labels: (SceneGrid) throws -> LabelSource) throws -> AccuracyReport {
        try evaluateScene(try LoadedModel(modelPath), scene: scene, referenceNames: referenceNames, labels: labels)
    }

    static func evaluateScene(_ loaded: LoadedModel, scene: SceneOptions, referenceNames: [String],
                              labels: (SceneGrid) throws -> LabelSource) throws -> AccuracyReport {
        let model = loaded.model, contract = loaded.contract, modelPath = loaded.path
        let toModel = try referenceNames.map { name -> Int in
            guard let index = contract.classNames.firstIndex(of: name) else {
                throw TrainingDataError.invalidReference(file: modelPath, problem: "the reference class '\(name)' is not a class of the model (\(contract.classNames.joined(separator: ", ")))",
                                                         fix: "name the model's classes in the legend or --classes")
            }
            return index
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("landcover-evaluate-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // The pipeline `landcover run` would get for this scene (its defaults), except: dense
        // mode for patch classifiers (a per-pixel map to compare with per-pixel labels), a stride
        // of half the patch unless given (overlapping patches, as the sample pipeline uses), and
        // only the map written.
        var pipeline = PipelineFile(inputs: [.init(paths: scene.inputs.map { RemotePath.gdalPath(ofURL: $0) ?? URL(fileURLWithPath: $0).standardizedFileURL.path })],
                                    model: URL(fileURLWithPath: modelPath).standardizedFileURL.path, baseFolder: folder)
        pipeline.mode = scene.mode ?? (contract.task == .segmentation ? .segmentation : .dense)
        pipeline.tiling.stride = scene.stride ?? max(1, contract.patchSize / 2)
        pipeline.bandOrder = scene.bandOrder
        pipeline.resolution = scene.resolution
        pipeline.output.folder = folder
        pipeline.output.name = "map.tif"
        pipeline.output.confidence = false
        pipeline.output.preview = false
        pipeline.output.stac = false
        pipeline.runtime.threads = max(1, scene.workers)
        pipeline.runtime.testTimeAugmentation = scene.tta
        let plan = try PipelinePlan(pipeline: pipeline, model: model, contract: contract)
        guard let input = plan.scenes.first else {
            throw TrainingDataError.invalidReference(file: scene.inputs.joined(separator: ", "), problem: "the scene names no file", fix: "give the scene's files or folder")
        }
        let job = try plan.job(for: input)
        let classifier = try SceneClassifier(job: job, model: model, contract: contract,
                                             settings: ClassifierSettings(plan: plan, workers: max(1, scene.workers)))
        _ = try classifier.run()
        defer {
            if let keep = scene.mapPath { try? FileManager.default.removeItem(atPath: keep); try? FileManager.default.moveItem(atPath: job.files.map, toPath: keep) }
        }

        let grid = job.scene.grid
        guard let window = scene.region.bounds(width: grid.width, height: grid.height) else {
            throw TrainingDataError.invalidReference(file: scene.inputs.first ?? "", problem: "the evaluated region lies outside the scene (\(grid.width)x\(grid.height) pixels)",
                                                     fix: "give a region inside the scene or a split part that has pixels")
        }
        let map = try RasterDataset(path: job.files.map).read(window: window, bands: [1])
        let reference = try labels(grid).labels(window: window)
        var matrix = try ConfusionMatrix(classCount: contract.classNames.count)
        for row in 0..<window.height {
            for column in 0..<window.width {
                let i = row * window.width + column
                let label = reference[i]
                guard label != LabelValue.unlabelled, Int(label) < toModel.count, map.validity[i] != 0,
                      scene.region.contains(column: window.column + column, row: window.row + row, width: grid.width, height: grid.height) else { continue }
                let predicted = Int(map.values[i])
                guard predicted >= 0, predicted < contract.classNames.count else { continue }
                try matrix.add(reference: toModel[Int(label)], predicted: predicted)
            }
        }
        return try AccuracyReport(matrix: matrix, classNames: contract.classNames)
    }

    /// Classifies every patch of a class folder (one sub-folder per class, matched to the model's
    /// classes by name) and counts one reference/prediction pair per patch.
    ///
    /// - Parameters:
    ///   - bandOrder: names of the bands of files without band names (e.g. EuroSAT's order).
    ///   - classFolders: class name -> sub-folder name, for folders named differently from the
    ///     model's classes; nil = the model's class names.
    /// - Throws: ``TrainingDataError`` naming the folder or file; `RasterIOError`.
    public static func evaluateFolder(modelPath: String, folder: String, bandOrder: [String]?, classFolders: [String: String]? = nil,
                                      workers: Int = 2) throws -> AccuracyReport {
        try evaluateFolder(try LoadedModel(modelPath), folder: folder, bandOrder: bandOrder, classFolders: classFolders, workers: workers)
    }

    static func evaluateFolder(_ model: LoadedModel, folder: String, bandOrder: [String]?, classFolders: [String: String]?,
                               workers: Int) throws -> AccuracyReport {
        let contract = model.contract
        let folderNames = contract.classNames.map { classFolders?[$0] ?? $0 }
        var present: [String] = []
        var isDirectory: ObjCBool = false
        for name in folderNames where FileManager.default.fileExists(atPath: URL(fileURLWithPath: folder).appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue {
            present.append(name)
        }
        guard !present.isEmpty else {
            throw TrainingDataError.emptyFolder(path: folder, reason: "has no sub-folder named after a model class (\(folderNames.joined(separator: ", ")))")
        }
        let options = PatchFolder.Options(bands: contract.bands, bandOrder: bandOrder, classNames: folderNames, patchSize: contract.patchSize)
        let loaded = try PatchFolder.load(folder: folder, options: options, normalization: contract.normalization)
        return try evaluatePatches(model, data: loaded.train, workers: workers)
    }
}

extension ModelEvaluation {
    /// What a training-file evaluation covered, for reports.
    public struct Coverage: Sendable, Equatable, Codable {
        /// Scene names (or the folder).
        public var sources: [String]
        /// The part of the split evaluated (`train`, `validation`, `test`) or `all`/`region`.
        public var region: String
        /// The split's description (strips, blocks, buffer) when the region comes from it.
        public var split: SpatialSplit?
    }

    /// Which pixels (or patches) of a training file's data an evaluation counts.
    public enum Selection: Sendable, Equatable {
        /// The test part of the split when it has one, else validation, else everything.
        case heldOut
        /// One part of the split.
        case part(DatasetSplit)
        /// Everything.
        case all
        /// A rectangle of scene pixels (scenes only).
        case rectangle(RasterWindow)
    }

    /// Evaluates a model on the data of a training file: every scene of `data.scenes` per pixel
    /// (labels through the file's legend) restricted by `selection` to a part of the file's
    /// spatial split or a rectangle; for `data.folder`, the patches of a part of the folder's split.
    /// - Throws: ``TrainingDataError/invalidOption(option:value:reason:)`` when the requested
    ///   part has no pixels; errors naming the file at fault.
    public static func evaluate(modelPath: String, trainingFile file: TrainingFile, selection: Selection,
                                mode: PipelineFile.Mode?, stride: Int?, tta: PipelineFile.TestTimeAugmentation = .none, workers: Int,
                                mapPath: String? = nil) throws -> (AccuracyReport, Coverage) {
        try evaluate(try LoadedModel(modelPath), trainingFile: file, selection: selection, mode: mode, stride: stride, tta: tta, workers: workers, mapPath: mapPath)
    }

    static func evaluate(_ model: LoadedModel, trainingFile file: TrainingFile, selection: Selection,
                         mode: PipelineFile.Mode?, stride: Int?, tta: PipelineFile.TestTimeAugmentation, workers: Int,
                         mapPath: String?) throws -> (AccuracyReport, Coverage) {
        let run = TrainingRun(file: file)
        var rectangle: RasterWindow?
        let chosen: DatasetSplit?
        switch selection {
        case .heldOut:
            chosen = file.split.test != nil || (file.split.blocks?.testFraction ?? 0) > 0 || file.folderTestFraction > 0 ? .test
                : (file.split.validation != nil || (file.split.blocks?.validationFraction ?? 0) > 0 || file.folderValidationFraction > 0 ? .validation : nil)
        case .part(let part): chosen = part
        case .all: chosen = nil
        case .rectangle(let window):
            chosen = nil
            rectangle = window
            if case .folder = file.data {
                throw TrainingDataError.invalidReference(file: file.source, problem: "a region (\(window.column),\(window.row),\(window.columnEnd),\(window.rowEnd)) applies to scenes, and the file's data is a class folder",
                                                         fix: "leave out the region, or evaluate on a split part")
            }
        }
        switch file.data {
        case .folder(let folder):
            let contract = model.contract
            var folderNames: [String: String] = [:]
            for entry in file.legend { folderNames[entry.name] = entry.values.first ?? entry.name }
            let options = PatchFolder.Options(bands: contract.bands, bandOrder: file.bandOrder, classNames: contract.classNames.map { folderNames[$0] ?? $0 },
                                              patchSize: contract.patchSize, validationFraction: file.folderValidationFraction,
                                              testFraction: file.folderTestFraction, seed: file.folderSplitSeed)
            let loaded = try PatchFolder.load(folder: folder.path, options: options, normalization: contract.normalization)
            var report = try evaluatePatches(model, data: chosen.map { loaded[$0] } ?? loaded.train, workers: workers)
            if chosen == nil {
                for part in [DatasetSplit.validation, .test] where loaded[part].count > 0 {
                    try report = AccuracyReport(matrix: try merged(report.matrix, try evaluatePatches(model, data: loaded[part], workers: workers).matrix),
                                                classNames: report.classNames)
                }
            }
            return (report, Coverage(sources: [folder.path], region: chosen?.rawValue ?? "all", split: nil))
        case .scenes(let scenes):
            var total: ConfusionMatrix?
            var names: [String] = []
            var sources: [String] = []
            for (index, sceneData) in scenes.enumerated() {
                let region: EvaluationRegion = rectangle.map { .rectangle($0) } ?? chosen.map { .split(file.split, $0) } ?? .all
                let options = SceneOptions(inputs: sceneData.inputs, bandOrder: file.bandOrder, resolution: file.resolution, region: region,
                                           mode: mode, stride: stride, tta: tta, workers: workers,
                                           mapPath: index == 0 ? mapPath : mapPath.map { ($0 as NSString).deletingPathExtension + "_\(index).tif" })
                let report = try evaluateScene(model, scene: options, referenceNames: file.classNames) { grid in
                    try run.labelSource(sceneData.labels, grid: grid)
                }
                names = report.classNames
                if total == nil { total = report.matrix } else { try total?.merge(report.matrix) }
                sources.append(sceneData.name ?? sceneData.inputs.first ?? "")
            }
            guard let total else { throw TrainingDataError.invalidReference(file: file.source, problem: "data.scenes lists no scene", fix: "add a scene with labels") }
            let regionName = rectangle != nil ? "region" : (chosen?.rawValue ?? "all")
            return (try AccuracyReport(matrix: total, classNames: names), Coverage(sources: sources, region: regionName, split: rectangle == nil && chosen != nil ? file.split : nil))
        }
    }

    private static func merged(_ a: ConfusionMatrix, _ b: ConfusionMatrix) throws -> ConfusionMatrix {
        var result = a
        try result.merge(b)
        return result
    }

    /// Classifies the patches of a dataset (already normalized with the model's contract) and
    /// counts one pair per patch.
    static func evaluatePatches(_ loaded: LoadedModel, data: PatchDataset, workers: Int) throws -> AccuracyReport {
        let model = loaded.model, contract = loaded.contract, modelPath = loaded.path
        guard let inputName = model.inputs.first?.name, let outputName = model.outputs.first?.name else {
            throw TrainingDataError.unusableModel(path: modelPath, problem: "declares no graph input or output", fix: "give a model written by landcover train or with a landcover contract (landcover model info MODEL shows it)")
        }
        var matrix = try ConfusionMatrix(classCount: contract.classNames.count)
        let classes = contract.classNames.count
        var start = 0
        while start < data.count {
            let indices = Array(start..<min(start + 32, data.count))
            let batch = try data.batch(indices: indices)
            guard let output = try model.run(inputs: [inputName: batch.inputs], threads: max(1, workers))[outputName] else {
                throw TrainingDataError.unusableModel(path: modelPath, problem: "did not produce its output \(outputName)", fix: "give a model written by landcover train or with a landcover contract (landcover model info MODEL shows it)")
            }
            let perSample = output.scalars.count / max(1, indices.count)
            for k in indices.indices {
                let target = Int(data.label(of: indices[k]))
                let scores = Array(output.scalars[(k * perSample)..<((k + 1) * perSample)])
                try matrix.add(reference: target, predicted: predictedClass(scores, classes: classes, segmentation: contract.task == .segmentation))
            }
            start += indices.count
        }
        return try AccuracyReport(matrix: matrix, classNames: contract.classNames)
    }

    /// The class of one sample's scores: the argmax for a classifier; the most frequent per-pixel
    /// argmax for a segmentation model (`[classes, H, W]` scores).
    static func predictedClass(_ scores: [Float], classes: Int, segmentation: Bool) -> Int {
        guard classes > 1 else { return 0 }
        if !segmentation {
            var best = 0
            for c in 1..<classes where scores[c] > scores[best] { best = c }
            return best
        }
        let plane = scores.count / classes
        var votes = [Int](repeating: 0, count: classes)
        for p in 0..<plane {
            var top = 0
            for c in 1..<classes where scores[c * plane + p] > scores[top * plane + p] { top = c }
            votes[top] += 1
        }
        var best = 0
        for c in 1..<classes where votes[c] > votes[best] { best = c }
        return best
    }
}

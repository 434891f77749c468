import Foundation
import CNN
import Classification
import Config
import RasterIO
import Training

/// What `landcover evaluate` asks: a model, one reference data set and how to classify it.
public struct EvaluationRequest: Sendable {
    /// A label value and the model class it means (`--classes farm=cropland`).
    public struct ClassMapping: Sendable, Equatable {
        /// The label value: an attribute value (vector labels), a raster value (as text) or a
        /// class sub-folder's name.
        public var value: String
        /// The model's class name.
        public var name: String

        public init(value: String, name: String) {
            self.value = value
            self.name = name
        }
    }

    /// The reference data.
    public enum Reference: Sendable, Equatable {
        /// The data of a training file, counted where `selection` says (a rectangle of scene
        /// pixels is given by ``EvaluationRequest/region`` instead).
        case trainingFile(path: String, selection: ModelEvaluation.Selection)
        /// EuroSAT-style class folders; `classes` maps sub-folder names to model classes
        /// (nil: the sub-folders are named after the model's classes).
        case folder(path: String, classes: [ClassMapping]?)
        /// A scene with labels: vector polygons (with `attribute`, optionally `layer`) or a label
        /// raster (`band`, from 1). `classes` maps label values to model classes; nil: attribute
        /// values are the model's class names, raster values its class indices.
        case scene(inputs: [String], labels: String, attribute: String?, layer: String?, band: Int, classes: [ClassMapping]?)
    }

    /// The ONNX model (with a landcover contract).
    public var model: String
    public var reference: Reference
    /// Names of unnamed multi-band files' bands (scenes and folders).
    public var bandOrder: [String]?
    /// Only count these scene pixels (scenes and training-file scenes).
    public var region: RasterWindow?
    /// `dense`, `patch` or `segmentation`; nil = `dense` for patch classifiers, `segmentation`
    /// for segmentation models.
    public var mode: PipelineFile.Mode?
    /// Distance between patch origins in pixels; nil = half the patch size.
    public var stride: Int?
    /// Test-time augmentation of scene classifications, as `runtime.tta`.
    public var tta: PipelineFile.TestTimeAugmentation
    /// The arithmetic the model runs in, as `runtime.precision` (int8 needs a quantized model).
    public var precision: InferencePrecision
    /// Classifier threads.
    public var workers: Int
    /// Keep the class map of the (first) scene here.
    public var mapPath: String?

    public init(model: String, reference: Reference, bandOrder: [String]? = nil, region: RasterWindow? = nil,
                mode: PipelineFile.Mode? = nil, stride: Int? = nil, tta: PipelineFile.TestTimeAugmentation = .none,
                precision: InferencePrecision = .fp32, workers: Int, mapPath: String? = nil) {
        self.model = model
        self.reference = reference
        self.bandOrder = bandOrder
        self.region = region
        self.mode = mode
        self.stride = stride
        self.tta = tta
        self.precision = precision
        self.workers = workers
        self.mapPath = mapPath
    }
}

/// The answer to an ``EvaluationRequest``: what was compared and the accuracy, as JSON
/// (`landcover evaluate --json`, `--output`) or as text.
public struct EvaluationReport: Encodable, Sendable {
    /// A region as the report names it: a split part (`test`, `all`, `region`) or `[x0, y0, x1, y1]`.
    public enum Region: Encodable, Sendable, Equatable {
        case part(String)
        case window([Int])

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .part(let name): try container.encode(name)
            case .window(let corners): try container.encode(corners)
            }
        }

        var text: String {
            switch self {
            case .part(let name): return name
            case .window(let corners): return corners.map(String.init).joined(separator: ", ")
            }
        }
    }

    /// The reference data; only the members of its kind are present.
    public struct Reference: Encodable, Sendable {
        /// The model's class names (class folders).
        public var classes: [String]?
        public var folder: String?
        /// The label file (scenes).
        public var labels: String?
        public var region: Region?
        /// The scene's files.
        public var scene: [String]?
        /// The training file's scenes (or folder).
        public var sources: [String]?
        /// The training file's split when the region comes from it.
        public var split: SpatialSplit?
        public var trainingFile: String?
    }

    /// The model file.
    public var model: String
    public var reference: Reference
    public var accuracy: AccuracyReport

    /// The report as `landcover evaluate` prints it without `--json`.
    public var text: String {
        "Model \(model)\nReference \(reference.text)\n\n" + accuracy.text
    }
}

extension EvaluationReport.Reference {
    /// `key: value; ...` in key order, lists comma-separated.
    var text: String {
        var parts: [String] = []
        if let classes { parts.append("classes: " + classes.joined(separator: ", ")) }
        if let folder { parts.append("folder: " + folder) }
        if let labels { parts.append("labels: " + labels) }
        if let region { parts.append("region: " + region.text) }
        if let scene { parts.append("scene: " + scene.joined(separator: ", ")) }
        if let sources { parts.append("sources: " + sources.joined(separator: ", ")) }
        if let split {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let json = (try? encoder.encode(split)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            parts.append("split: " + json.replacingOccurrences(of: "\"", with: ""))
        }
        if let trainingFile { parts.append("trainingFile: " + trainingFile) }
        return parts.joined(separator: "; ")
    }
}

extension ModelEvaluation {
    /// Answers an evaluation request: reads the model once, maps the reference's label values
    /// to the model's classes, classifies and counts.
    /// - Throws: ``TrainingDataError`` naming the model, training file, labels or scene at fault;
    ///   ``TrainingFileError`` for a training file; `RasterIOError` for unreadable rasters.
    public static func evaluate(_ request: EvaluationRequest) throws -> EvaluationReport {
        let model = try LoadedModel(request.model, precision: request.precision)
        var reference = EvaluationReport.Reference()
        let accuracy: AccuracyReport
        switch request.reference {
        case .trainingFile(let path, let selection):
            let file = try TrainingFile.load(path: path)
            let (result, coverage) = try evaluate(model, trainingFile: file, selection: request.region.map { ModelEvaluation.Selection.rectangle($0) } ?? selection,
                                                  mode: request.mode, stride: request.stride, tta: request.tta, workers: request.workers, mapPath: request.mapPath)
            accuracy = result
            reference.trainingFile = path
            reference.sources = coverage.sources
            reference.region = .part(coverage.region)
            reference.split = coverage.split
        case .folder(let path, let classes):
            var folders: [String: String] = [:]
            for mapping in classes ?? [] { folders[mapping.name] = mapping.value }
            accuracy = try evaluateFolder(model, folder: path, bandOrder: request.bandOrder,
                                          classFolders: folders.isEmpty ? nil : folders, workers: request.workers)
            reference.folder = path
            reference.classes = model.contract.classNames
        case .scene(let inputs, let labels, let attribute, let layer, let band, let classes):
            // Reference classes: the mapped class names in first-seen order, or the model's.
            var referenceNames: [String] = []
            for mapping in classes ?? [] where !referenceNames.contains(mapping.name) { referenceNames.append(mapping.name) }
            if classes == nil { referenceNames = model.contract.classNames }
            let pairs = classes ?? referenceNames.map { EvaluationRequest.ClassMapping(value: $0, name: $0) }
            let options = SceneOptions(inputs: inputs, bandOrder: request.bandOrder, region: request.region.map { .rectangle($0) } ?? .all,
                                       mode: request.mode, stride: request.stride, tta: request.tta, workers: request.workers, mapPath: request.mapPath)
            accuracy = try evaluateScene(model, scene: options, referenceNames: referenceNames) { grid in
                if let attribute {
                    var values: [String: Int] = [:]
                    for mapping in pairs { values[mapping.value] = referenceNames.firstIndex(of: mapping.name) }
                    return try VectorLabels(path: labels, layer: layer, attribute: attribute, classes: values, grid: grid)
                }
                var values: [Int: Int]?
                if let classes {
                    values = [:]
                    for mapping in classes {
                        guard let number = Int(mapping.value) else {
                            throw TrainingDataError.invalidReference(file: labels, problem: "the label value '\(mapping.value)' is not a raster value (a whole number)",
                                                                     fix: "map raster values (e.g. 10=forest), or give the class attribute of vector labels")
                        }
                        values?[number] = referenceNames.firstIndex(of: mapping.name)
                    }
                }
                return try RasterLabels(path: labels, band: band, grid: grid, classValues: values)
            }
            reference.scene = inputs
            reference.labels = labels
            reference.region = request.region.map { .window([$0.column, $0.row, $0.columnEnd, $0.rowEnd]) }
        }
        return EvaluationReport(model: request.model, reference: reference, accuracy: accuracy)
    }
}

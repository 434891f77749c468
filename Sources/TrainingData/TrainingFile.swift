import Foundation
import Classification
import Config
import RasterIO
import Training
import Yams

/// A training file: which data, which model, how to train it and where to write the result.
///
/// The schema is documented in one place, `training/README.md`; this type mirrors it. Paths are
/// relative to the training file's folder. Unknown keys are rejected with the closest valid key
/// ("unknown key 'training.epoch'; did you mean 'training.epochs'?"); wrong types and values out
/// of range name the key and what it accepts.
public struct TrainingFile: Sendable, Equatable {
    /// Where a scene's labels come from.
    public enum Labels: Sendable, Equatable {
        /// Polygons (GeoPackage, GeoJSON, Shapefile, ...): the layer (nil = first), the class
        /// attribute, and how pixels covered by different classes are resolved.
        case vector(path: String, layer: String?, attribute: String, overlap: LabelOverlapRule)
        /// A label raster: its band (from 1); values are mapped to classes by the legend.
        case raster(path: String, band: Int)
    }

    /// One labelled scene.
    public struct SceneData: Sendable, Equatable {
        /// The scene's files (a band folder, a SAFE product, a multi-band file, or several files).
        public var inputs: [String]
        /// Optional scene name.
        public var name: String?
        /// Its labels.
        public var labels: Labels
    }

    /// An EuroSAT-style folder: one sub-folder of GeoTIFF patches per class.
    public struct FolderData: Sendable, Equatable {
        /// The folder.
        public var path: String

        public init(path: String) {
            self.path = path
        }
    }

    /// The training data: labelled scenes or a class folder.
    public enum DataSource: Sendable, Equatable {
        /// One or more scenes with labels, cut into patches.
        case scenes([SceneData])
        /// A class folder of patches.
        case folder(FolderData)
    }

    /// One legend entry: class `i` of the model is `legend[i]`.
    public struct LegendClass: Sendable, Equatable {
        /// Class name (written into the model contract and maps).
        public var name: String
        /// Display colour.
        public var color: RGBColor
        /// Label values that mean this class: attribute values (vector labels), raster values
        /// (label rasters, as text) or class folder names.
        public var values: [String]
    }

    /// The network architectures a training file can build.
    public enum Architecture: String, Sendable, Equatable, CaseIterable {
        /// ``Training/ModelZoo/leNet(inputChannels:classes:patchSize:seed:)``.
        case lenet
        /// ``Training/ModelZoo/smallCNN(inputChannels:classes:batchNormalization:seed:)``.
        case smallCNN = "small_cnn"
        /// ``Training/ModelZoo/vgg(inputChannels:classes:widths:dropout:seed:)``.
        case vgg
        /// ``Training/ModelZoo/resnet18(inputChannels:classes:seed:)``.
        case resnet18
        /// ``Training/ModelZoo/unet(inputChannels:classes:baseChannels:depth:upsampling:seed:)`` (segmentation).
        case unet
    }

    /// The model to train: a new network of an architecture, or an ONNX model to fine-tune.
    /// Every property's default is the training file's default for its key.
    public struct Model: Sendable, Equatable {
        /// The architecture of a new network (nil with `initPath`).
        public var architecture: Architecture? = nil
        /// An ONNX model to start from (fine-tuning); its head is replaced when its class count
        /// differs from the legend's.
        public var initPath: String? = nil
        /// Layers (node names or name prefixes such as `layer1`) whose parameters stay fixed.
        public var freeze: [String] = []
        /// Small CNN: BatchNormalization after each convolution.
        public var batchNormalization = true
        /// VGG: channels per stage.
        public var widths = [32, 64, 128]
        /// VGG: dropout ratio before the last layer.
        public var dropout: Float = 0.5
        /// U-Net: channels of the first level.
        public var baseChannels = 16
        /// U-Net: number of down-sampling levels.
        public var depth = 2
        /// U-Net: decoder upsampling.
        public var upsampling = ModelZoo.Upsampling.transposedConvolution
        /// Seed of the weight initialization (and of a replaced head).
        public var seed: UInt64 = 0
        /// Whether the exported model outputs logits or probabilities.
        public var output = "logits"

        /// The defaults.
        public init() {}
    }

    /// How the loss weighs the classes.
    public enum ClassWeights: Sendable, Equatable {
        /// Every class weighs 1.
        case none
        /// `n / (classes * n_c)` from the training split's counts (labelled pixels for pixel
        /// targets, samples for patch targets); classes without samples weigh 0.
        case balanced
        /// The square roots of the `balanced` weights: a milder correction of class imbalance.
        case sqrtBalanced
        /// One weight per legend class.
        case explicit([Float])
    }

    /// Where the results go.
    public struct Output: Sendable, Equatable {
        /// The final ONNX model.
        public var model: String
        /// Folder of per-epoch ONNX checkpoints and the trainer state (for `--resume`).
        public var checkpoints: String
        /// JSON training report (dataset summary, epochs, test accuracy).
        public var report: String

        public init(model: String, checkpoints: String, report: String) {
            self.model = model
            self.checkpoints = checkpoints
            self.report = report
        }
    }

    /// Scenes or class folder.
    public var data: DataSource
    /// Names for the bands of multi-band files that carry none (`eurosat`, `sentinel2`, a list).
    public var bandOrder: [String]? = nil
    /// Grid pixel size of scenes in map units; nil = the finest band's.
    public var resolution: Double? = nil
    /// Classes, in output order.
    public var legend: [LegendClass]
    /// Bands in input-channel order (canonical names).
    public var bands: [String]
    /// Patch size, stride, label rule and minimum fractions.
    public var sampling: PatchSampling
    /// Patch classes or per-pixel classes.
    public var targets = TargetKind.patchClass
    /// Class balancing of the training split.
    public var balancing = ClassBalancing.none
    /// Spatial split of scenes.
    public var split = SpatialSplit.none
    /// Fractions of a class folder's patches held out (folders only).
    public var folderValidationFraction = 0.0
    /// See ``folderValidationFraction``.
    public var folderTestFraction = 0.0
    /// Seed of the folder split.
    public var folderSplitSeed: UInt64 = 0
    /// The model.
    public var model = Model()
    /// The trainer's configuration (class weights are resolved later from ``classWeights``).
    public var trainer: TrainerConfiguration
    /// How the loss weighs classes.
    public var classWeights = ClassWeights.none
    /// Output paths (resolved, absolute).
    public var output: Output
    /// The folder relative paths were resolved against.
    public var baseFolder: String
    /// The file it was read from (for messages).
    public var source: String

    /// A training file with the required values and every optional key at its default: the one
    /// place the training file's defaults live, with ``Model``'s property defaults and
    /// ``Defaults`` (training/README.md's table is checked against them by TrainingDataTests).
    public init(data: DataSource, legend: [LegendClass], bands: [String], sampling: PatchSampling,
                trainer: TrainerConfiguration, output: Output, baseFolder: String, source: String) {
        self.data = data
        self.legend = legend
        self.bands = bands
        self.sampling = sampling
        self.trainer = trainer
        self.output = output
        self.baseFolder = baseFolder
        self.source = source
    }

    /// The defaults of keys whose typed values live in other modules (the trainer's
    /// configuration, labels, strips) or that differ from those types' own defaults: stated once
    /// here, used by the parser and by ``documentedDefaults``.
    public enum Defaults {
        /// `data.scenes[].labels.band`.
        public static let labelBand = 1
        /// `data.scenes[].labels.overlap`.
        public static let overlap = LabelOverlapRule.unlabelled
        /// `split.*.axis` of a strip.
        public static let stripAxis = SpatialSplit.Axis.columns
        /// `training.optimizer` (and `training.optimizer.type`).
        public static let optimizer = "adam"
        /// `training.optimizer` with `type: sgd` (momentum 0.9, unlike ``Training/SGDOptions``' 0).
        public static let sgd = SGDOptions(momentum: 0.9)
        /// `training.optimizer` with `type: adam`.
        public static let adam = AdamOptions()
        /// `training.optimizer.weight_decay` with `type: adamw` (PyTorch's).
        public static let adamWWeightDecay: Float = 0.01
        /// `training.schedule`.
        public static let schedule = LearningRateSchedule.constant
        /// `training.schedule.per`.
        public static let schedulePer = LearningRateSchedule.Granularity.epoch
        /// `training.schedule.gamma` of a step schedule.
        public static let stepGamma = 0.1
        /// `training.seed`.
        public static let seed: UInt64 = 0
        /// `training.workers`: one per core.
        public static var workers: Int { ProcessInfo.processInfo.activeProcessorCount }
        /// `training.drop_last`.
        public static let dropLast = false
        /// `training.early_stopping.min_delta` and `.restore_best`.
        public static let earlyStopping = EarlyStopping(patience: 1)
        /// `output.checkpoints` and `output.report`: the model path without extension plus these.
        public static let checkpointsSuffix = "_checkpoints", reportSuffix = "_training.json"
    }

    /// Every key the schema knows, by section; for validation and did-you-mean.
    public static let schema: [String: Set<String>] = [
        "": ["version", "data", "legend", "bands", "band_order", "resolution", "patches", "targets", "balance", "split", "model", "training", "output"],
        "data": ["scenes", "folder"],
        "data.scenes[]": ["inputs", "input", "name", "labels"],
        "labels": ["vector", "layer", "attribute", "overlap", "raster", "band"],
        "legend[]": ["name", "color", "values"],
        "patches": ["size", "stride", "label", "min_labelled_fraction", "min_valid_fraction"],
        "balance": ["max_per_class", "min_per_class", "oversample_to_largest", "seed"],
        "split": ["validation", "test", "blocks", "buffer", "seed"],
        "split.strip": ["axis", "start", "fraction"],
        "split.blocks": ["size", "validation", "test", "seed"],
        "model": ["architecture", "init", "freeze", "batch_normalization", "widths", "dropout", "base_channels", "depth", "upsampling", "seed", "output"],
        "training": ["epochs", "batch_size", "learning_rate", "optimizer", "schedule", "seed", "workers", "augmentation", "class_weights", "early_stopping", "drop_last"],
        "training.optimizer": ["type", "momentum", "dampening", "nesterov", "weight_decay", "beta1", "beta2", "epsilon"],
        "training.schedule": ["type", "step_size", "gamma", "warmup", "minimum", "per"],
        "training.augmentation": ["horizontal_flip", "vertical_flip", "flips", "quarter_turns", "brightness", "noise"],
        "training.early_stopping": ["patience", "min_delta", "restore_best"],
        "output": ["model", "checkpoints", "report"],
    ]

    /// Reads and validates a training file.
    /// - Throws: ``TrainingFileError`` naming the file and key at fault.
    public static func load(path: String) throws -> TrainingFile {
        let text = try StrictMap.text(ofFile: path, errors: TrainingFileErrors(file: path), reason: "cannot read the training file; check the path")
        return try parse(text, baseFolder: URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path, source: path)
    }

    /// Class names in output order.
    public var classNames: [String] { legend.map(\.name) }

    /// Attribute value (vector labels) -> class index, from the legend (a class without values
    /// matches its own name).
    public var vectorClassMap: [String: Int] {
        var map: [String: Int] = [:]
        for (index, entry) in legend.enumerated() {
            for value in entry.values.isEmpty ? [entry.name] : entry.values { map[value] = index }
        }
        return map
    }

    /// Raster value -> class index, from the legend (a class without values is its own index).
    /// - Throws: ``TrainingFileError/invalidValue(file:key:value:reason:)`` when a value is not
    ///   a whole number.
    public func rasterClassMap() throws -> [Int: Int] {
        var map: [Int: Int] = [:]
        for (index, entry) in legend.enumerated() {
            if entry.values.isEmpty { map[index] = index; continue }
            for text in entry.values {
                guard let value = Int(text) else {
                    throw TrainingFileError.invalidValue(file: source, key: "legend[\(index)].values", value: text,
                                                         reason: "must be whole numbers: the labels are a raster")
                }
                map[value] = index
            }
        }
        return map
    }
}

extension TrainingFile {
    /// Each key of training/README.md's table with its default as the table writes it, read
    /// from ``Defaults``, ``Model``'s and the typed settings' defaults: the literal value,
    /// `required`, or nil where the default is described in words (depends on other keys, the
    /// data or the machine). TrainingDataTests checks the table against this.
    public static var documentedDefaults: [String: String?] {
        let d = TrainingFile(data: .folder(FolderData(path: "")), legend: [], bands: [], sampling: PatchSampling(patchSize: 1),
                             trainer: TrainerConfiguration(epochs: 1, batchSize: 1, learningRate: 1, optimizer: .adam(Defaults.adam)),
                             output: Output(model: "", checkpoints: "", report: ""), baseFolder: "", source: "")
        let model = d.model, sampling = d.sampling
        func flag(_ value: Bool) -> String { value ? "true" : "false" }
        func upsampling(_ value: ModelZoo.Upsampling) -> String {
            switch value {
            case .transposedConvolution: return "transposed"
            case .resize(.nearest): return "nearest"
            case .resize: return "bilinear"
            }
        }
        let required: String? = "required"
        return [
            "data.scenes[].input": required, "data.scenes[].inputs": required, "data.scenes[].name": nil,
            "data.scenes[].labels.vector": nil, "data.scenes[].labels.layer": nil, "data.scenes[].labels.attribute": required,
            "data.scenes[].labels.overlap": Defaults.overlap == .unlabelled ? "unlabelled" : "last_feature",
            "data.scenes[].labels.raster": nil, "data.scenes[].labels.band": "\(Defaults.labelBand)",
            "data.folder": nil,
            "legend[].name": required, "legend[].color": required, "legend[].values": nil,
            "bands": required, "band_order": nil, "resolution": nil,
            "patches.size": required, "patches.stride": nil,
            "patches.label": sampling.labelRule.rawValue, "patches.min_labelled_fraction": "\(sampling.minLabelledFraction)",
            "patches.min_valid_fraction": "\(sampling.minValidFraction)",
            "targets": d.targets == .patchClass ? "patch" : "pixel",
            "balance.*": nil, "split.test": nil, "split.validation": nil, "split.blocks": nil, "split.buffer": nil, "split.seed": "\(d.folderSplitSeed)",
            "model.architecture": required, "model.init": required,
            "model.batch_normalization": flag(model.batchNormalization),
            "model.widths": "[" + model.widths.map(String.init).joined(separator: ", ") + "]",
            "model.dropout": "\(model.dropout)", "model.base_channels": "\(model.baseChannels)", "model.depth": "\(model.depth)",
            "model.upsampling": upsampling(model.upsampling),
            "model.freeze": model.freeze.isEmpty ? "[]" : nil, "model.seed": "\(model.seed)", "model.output": model.output,
            "training.epochs": required, "training.batch_size": required, "training.learning_rate": required,
            "training.optimizer": Defaults.optimizer, "training.schedule": Defaults.schedule == .constant ? "constant" : nil,
            "training.seed": "\(Defaults.seed)", "training.workers": nil, "training.drop_last": flag(Defaults.dropLast),
            "training.augmentation": nil, "training.class_weights": d.classWeights == .none ? "none" : nil, "training.early_stopping": nil,
            "output.model": required, "output.checkpoints": "<model>" + Defaults.checkpointsSuffix,
            "output.report": "<model>" + Defaults.reportSuffix,
        ]
    }
}

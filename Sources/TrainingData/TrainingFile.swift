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
    public struct Model: Sendable, Equatable {
        /// The architecture of a new network (nil with `initPath`).
        public var architecture: Architecture?
        /// An ONNX model to start from (fine-tuning); its head is replaced when its class count
        /// differs from the legend's.
        public var initPath: String?
        /// Layers (node names or name prefixes such as `layer1`) whose parameters stay fixed.
        public var freeze: [String]
        /// Small CNN: BatchNormalization after each convolution.
        public var batchNormalization: Bool
        /// VGG: channels per stage.
        public var widths: [Int]?
        /// VGG: dropout ratio before the last layer.
        public var dropout: Float?
        /// U-Net: channels of the first level.
        public var baseChannels: Int?
        /// U-Net: number of down-sampling levels.
        public var depth: Int?
        /// U-Net: decoder upsampling.
        public var upsampling: ModelZoo.Upsampling
        /// Seed of the weight initialization (and of a replaced head).
        public var seed: UInt64
        /// Whether the exported model outputs logits or probabilities.
        public var output: String
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
    }

    /// Scenes or class folder.
    public var data: DataSource
    /// Names for the bands of multi-band files that carry none (`eurosat`, `sentinel2`, a list).
    public var bandOrder: [String]?
    /// Grid pixel size of scenes in map units; nil = the finest band's.
    public var resolution: Double?
    /// Classes, in output order.
    public var legend: [LegendClass]
    /// Bands in input-channel order (canonical names).
    public var bands: [String]
    /// Patch size, stride, label rule and minimum fractions.
    public var sampling: PatchSampling
    /// Patch classes or per-pixel classes.
    public var targets: TargetKind
    /// Class balancing of the training split.
    public var balancing: ClassBalancing
    /// Spatial split of scenes.
    public var split: SpatialSplit
    /// Fractions of a class folder's patches held out (folders only).
    public var folderValidationFraction: Double
    /// See ``folderValidationFraction``.
    public var folderTestFraction: Double
    /// Seed of the folder split.
    public var folderSplitSeed: UInt64
    /// The model.
    public var model: Model
    /// The trainer's configuration (class weights are resolved later from ``classWeights``).
    public var trainer: TrainerConfiguration
    /// How the loss weighs classes.
    public var classWeights: ClassWeights
    /// Output paths (resolved, absolute).
    public var output: Output
    /// The folder relative paths were resolved against.
    public var baseFolder: String
    /// The file it was read from (for messages).
    public var source: String

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

    /// Parses training-file YAML; relative paths are resolved against `baseFolder`.
    /// - Throws: ``TrainingFileError`` naming `source` and the key at fault.
    public static func parse(_ text: String, baseFolder: String, source: String = "training file") throws -> TrainingFile {
        let root = try StrictMap(yaml: text, allowed: schema[""], errors: TrainingFileErrors(file: source),
                                 emptyReason: "the file is empty; see training/README.md for the schema")
        if let version = try root.int("version"), version != 1 {
            throw root.invalid("version", "\(version)", "is not supported; this landcover reads version 1")
        }
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: baseFolder).appendingPathComponent(path).standardizedFileURL.path
        }

        // data
        guard let dataMap = try root.map("data", allowed: schema["data"]) else {
            throw root.missing("data", "add data.scenes (scenes with labels) or data.folder (class folders)")
        }
        let data: DataSource
        switch (dataMap["scenes"], try dataMap.string("folder")) {
        case (.some, .some):
            throw dataMap.invalid("folder", try dataMap.string("folder") ?? "", "cannot be combined with data.scenes; give one of them")
        case (nil, nil):
            throw dataMap.missing("scenes", "give data.scenes (scenes with labels) or data.folder (class folders)")
        case (nil, .some(let folder)):
            data = .folder(FolderData(path: resolve(folder)))
        case (.some(let scenesNode), nil):
            let items: [Node]
            if case .sequence(let seq) = scenesNode { items = Array(seq) } else { items = [scenesNode] }
            guard !items.isEmpty else { throw dataMap.invalid("scenes", "[]", "lists no scene; add at least one") }
            var scenes: [SceneData] = []
            for (index, item) in items.enumerated() {
                let map = try StrictMap(item, path: "data.scenes[\(index)]", allowed: schema["data.scenes[]"], errors: root.errors)
                var inputs = try map.strings("inputs") ?? []
                if let one = try map.string("input") { inputs.insert(one, at: 0) }
                guard !inputs.isEmpty else { throw map.missing("inputs", "list the scene's files or folder") }
                guard let labelsMap = try map.map("labels", allowed: schema["labels"]) else {
                    throw map.missing("labels", "give labels.vector with labels.attribute, or labels.raster")
                }
                scenes.append(SceneData(inputs: inputs.map(resolve), name: try map.string("name"),
                                        labels: try parseLabels(labelsMap, resolve: resolve)))
            }
            data = .scenes(scenes)
        }

        var bandOrder: [String]?
        if let order = root["band_order"] {
            if let name = order.string, !name.contains(","), let named = SentinelBand.namedOrder(name) {
                bandOrder = named
            } else {
                bandOrder = try root.strings("band_order")?.map(SentinelBand.canonicalName)
            }
        }
        let resolution = try root.double("resolution")
        if let resolution, !(resolution > 0) { throw root.invalid("resolution", "\(resolution)", "must be a positive pixel size in map units") }

        // legend
        guard let legendNode = root["legend"] else {
            throw root.missing("legend", "list the classes with name, color and values")
        }
        guard case .sequence(let legendItems) = legendNode, !legendItems.isEmpty else {
            throw root.invalid("legend", StrictMap.show(legendNode), "must be a non-empty list of classes (name, color, values)")
        }
        var legend: [LegendClass] = []
        var seenValues: [String: String] = [:]
        for (index, item) in legendItems.enumerated() {
            let map = try StrictMap(item, path: "legend[\(index)]", allowed: schema["legend[]"], errors: root.errors)
            guard let name = try map.string("name"), !name.isEmpty else { throw map.missing("name", "name the class") }
            guard !name.contains(",") else { throw map.invalid("name", name, "must not contain a comma (the model contract lists names comma-separated)") }
            guard !legend.contains(where: { $0.name == name }) else { throw map.invalid("name", name, "appears twice in the legend; class names must be unique") }
            guard let colorText = try map.string("color") else { throw map.missing("color", "give a colour as #rrggbb (e.g. ESA WorldCover colours)") }
            guard colorText.hasPrefix("#"), colorText.count == 7, let color = RGBColor(hex: colorText) else {
                throw map.invalid("color", colorText, "must be a colour #rrggbb (quote it in YAML: \"#f096ff\")")
            }
            let values = try map.strings("values") ?? []
            for value in values {
                if let other = seenValues[value] {
                    throw map.invalid("values", value, "is already a value of class \(other); a label value maps to one class")
                }
                seenValues[value] = name
            }
            legend.append(LegendClass(name: name, color: color, values: values))
        }
        guard legend.count <= LabelValue.maximumClass + 1 else {
            throw root.invalid("legend", "\(legend.count) classes", "has too many classes; at most \(LabelValue.maximumClass + 1)")
        }

        // bands
        guard let bandList = try root.strings("bands"), !bandList.isEmpty else {
            throw root.missing("bands", "list the bands in input-channel order, e.g. [B02, B03, B04, B08]")
        }
        let bands = bandList.map(SentinelBand.canonicalName)
        if let duplicate = Dictionary(grouping: bands, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw root.invalid("bands", duplicate, "is listed twice; give each band once")
        }

        // patches
        let patches = try root.map("patches", allowed: schema["patches"])
        guard let size = try patches?.int("size", minimum: 1) else {
            throw (patches ?? root).missing(patches == nil ? "patches" : "size", "give patches.size in pixels (e.g. 32)")
        }
        let labelText = try patches?.string("label") ?? PatchLabelRule.majority.rawValue
        guard let labelRule = PatchLabelRule(rawValue: labelText == "center" ? "centre" : labelText) else {
            throw (patches ?? root).invalid("label", labelText, "must be majority or centre")
        }
        let sampling = PatchSampling(patchSize: size, stride: try patches?.int("stride", minimum: 1), labelRule: labelRule,
                                     minLabelledFraction: try patches?.double("min_labelled_fraction", range: 0...1) ?? 0.5,
                                     minValidFraction: try patches?.double("min_valid_fraction", range: 0...1) ?? 1.0)

        let targetsText = try root.string("targets") ?? "patch"
        let targets: TargetKind
        switch targetsText {
        case "patch": targets = .patchClass
        case "pixel": targets = .pixelClasses
        default: throw root.invalid("targets", targetsText, "must be patch (one class per patch) or pixel (segmentation)")
        }

        // balance
        let balanceMap = try root.map("balance", allowed: schema["balance"])
        let balancing = ClassBalancing(maxPerClass: try balanceMap?.int("max_per_class", minimum: 1),
                                       minPerClass: try balanceMap?.int("min_per_class", minimum: 0),
                                       oversampleToLargest: try balanceMap?.bool("oversample_to_largest") ?? false,
                                       seed: try balanceMap?.uint64("seed") ?? 0)
        do { try balancing.validate() } catch let error as TrainingDataError {
            throw TrainingFileError.invalidValue(file: source, key: "balance", value: "", reason: "\(error)")
        }

        // split
        var split = SpatialSplit.none
        var folderValidation = 0.0, folderTest = 0.0
        var folderSeed: UInt64 = 0
        if let splitMap = try root.map("split", allowed: schema["split"]) {
            let isFolder: Bool = { if case .folder = data { return true } else { return false } }()
            func strip(_ name: String) throws -> SpatialSplit.Strip? {
                guard let node = splitMap[name] else { return nil }
                if isFolder {
                    throw splitMap.invalid(name, StrictMap.show(node), "must be a fraction of each class's patches (0...1) for folder data")
                }
                let m = try StrictMap(node, path: "split.\(name)", allowed: schema["split.strip"], errors: root.errors)
                let axisText = try m.string("axis") ?? "columns"
                guard let axis = SpatialSplit.Axis(rawValue: axisText) else {
                    throw m.invalid("axis", axisText, "must be columns (a vertical strip) or rows (a horizontal strip)")
                }
                guard let start = try m.double("start", range: 0...1) else { throw m.missing("start", "give the strip's start as a fraction of the width or height") }
                guard let fraction = try m.double("fraction", range: 0...1) else { throw m.missing("fraction", "give the strip's width as a fraction") }
                return SpatialSplit.Strip(axis: axis, start: start, fraction: fraction)
            }
            if isFolder {
                folderValidation = try splitMap.double("validation", range: 0...1) ?? 0
                folderTest = try splitMap.double("test", range: 0...1) ?? 0
                folderSeed = try splitMap.uint64("seed") ?? 0
                guard folderValidation + folderTest < 1 else {
                    throw splitMap.invalid("test", "\(folderTest)", "plus split.validation must be below 1 (the rest is training)")
                }
                if splitMap["blocks"] != nil || splitMap["buffer"] != nil {
                    throw splitMap.invalid(splitMap["blocks"] != nil ? "blocks" : "buffer", "", "applies to scenes only; folder patches are split at random per class")
                }
            } else {
                var blocks: SpatialSplit.Blocks?
                if let b = try splitMap.map("blocks", allowed: schema["split.blocks"]) {
                    guard let blockSize = try b.int("size", minimum: 1) else { throw b.missing("size", "give the block edge in pixels") }
                    blocks = SpatialSplit.Blocks(size: blockSize, validationFraction: try b.double("validation", range: 0...1) ?? 0,
                                                 testFraction: try b.double("test", range: 0...1) ?? 0, seed: try b.uint64("seed") ?? 0)
                }
                if splitMap["seed"] != nil { throw splitMap.invalid("seed", try splitMap.string("seed") ?? "", "applies to folder data; give split.blocks.seed for blocks") }
                split = SpatialSplit(validation: try strip("validation"), test: try strip("test"), blocks: blocks,
                                     buffer: try splitMap.int("buffer", minimum: 1))
                do { try split.validate() } catch let error as TrainingDataError {
                    throw TrainingFileError.invalidValue(file: source, key: "split", value: "", reason: "\(error)")
                }
            }
        }

        // model
        guard let modelMap = try root.map("model", allowed: schema["model"]) else {
            throw root.missing("model", "give model.architecture (lenet, small_cnn, vgg, resnet18, unet) or model.init (an ONNX file)")
        }
        let model = try parseModel(modelMap, resolve: resolve, targets: targets, patchSize: size)

        // training
        guard let trainingMap = try root.map("training", allowed: schema["training"]) else {
            throw root.missing("training", "give at least training.epochs, batch_size and learning_rate")
        }
        let (trainer, classWeights) = try parseTraining(trainingMap, legendCount: legend.count, legend: legend)

        // output
        guard let outputMap = try root.map("output", allowed: schema["output"]) else {
            throw root.missing("output", "give output.model, the ONNX file to write")
        }
        guard let modelPath = try outputMap.string("model") else { throw outputMap.missing("model", "give the ONNX file to write") }
        let resolvedModel = resolve(modelPath)
        let stem = (resolvedModel as NSString).deletingPathExtension
        let output = Output(model: resolvedModel,
                            checkpoints: try outputMap.string("checkpoints").map(resolve) ?? stem + "_checkpoints",
                            report: try outputMap.string("report").map(resolve) ?? stem + "_training.json")

        return TrainingFile(data: data, bandOrder: bandOrder, resolution: resolution, legend: legend, bands: bands,
                            sampling: sampling, targets: targets, balancing: balancing, split: split,
                            folderValidationFraction: folderValidation, folderTestFraction: folderTest,
                            folderSplitSeed: folderSeed, model: model, trainer: trainer, classWeights: classWeights,
                            output: output, baseFolder: baseFolder, source: source)
    }

    static func parseLabels(_ map: StrictMap, resolve: (String) -> String) throws -> Labels {
        switch (try map.string("vector"), try map.string("raster")) {
        case (.some, .some):
            throw map.invalid("raster", try map.string("raster") ?? "", "cannot be combined with labels.vector; give one of them")
        case (nil, nil):
            throw map.missing("vector", "give labels.vector (polygons, with labels.attribute) or labels.raster")
        case (.some(let path), nil):
            guard let attribute = try map.string("attribute") else {
                throw map.missing("attribute", "name the attribute holding the class (e.g. fclass)")
            }
            if map["band"] != nil { throw map.invalid("band", try map.string("band") ?? "", "applies to labels.raster only") }
            let overlapText = try map.string("overlap") ?? "unlabelled"
            let overlap: LabelOverlapRule
            switch overlapText {
            case "unlabelled", "unlabeled": overlap = .unlabelled
            case "last_feature", "last": overlap = .lastFeature
            default: throw map.invalid("overlap", overlapText, "must be unlabelled (pixels of two classes are ignored) or last_feature")
            }
            return .vector(path: resolve(path), layer: try map.string("layer"), attribute: attribute, overlap: overlap)
        case (nil, .some(let path)):
            for key in ["layer", "attribute", "overlap"] where map[key] != nil {
                throw map.invalid(key, try map.string(key) ?? "", "applies to labels.vector only")
            }
            return .raster(path: resolve(path), band: try map.int("band", minimum: 1) ?? 1)
        }
    }

    static func parseModel(_ map: StrictMap, resolve: (String) -> String, targets: TargetKind, patchSize: Int) throws -> Model {
        let architectureText = try map.string("architecture")
        let initPath = try map.string("init").map(resolve)
        var architecture: Architecture?
        switch (architectureText, initPath) {
        case (.some(let text), nil):
            guard let value = Architecture(rawValue: text) else {
                throw map.invalid("architecture", text, "must be one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            architecture = value
        case (nil, .some): break
        case (.some, .some):
            throw map.invalid("init", try map.string("init") ?? "", "cannot be combined with model.architecture; fine-tune a file or build an architecture")
        case (nil, nil):
            throw map.missing("architecture", "give model.architecture (\(Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or model.init (an ONNX file to fine-tune)")
        }
        if let architecture {
            if architecture == .unet, targets != .pixelClasses {
                throw map.invalid("architecture", "unet", "segments: set targets: pixel")
            }
            if architecture != .unet, targets == .pixelClasses {
                throw map.invalid("architecture", architecture.rawValue, "classifies patches; use unet with targets: pixel, or targets: patch")
            }
            if architecture == .unet {
                let depth = try map.int("depth", minimum: 1) ?? 2
                if patchSize % (1 << depth) != 0 {
                    throw map.invalid("depth", "\(depth)", "needs patches.size (\(patchSize)) to be a multiple of \(1 << depth)")
                }
            }
            if architecture == .lenet, patchSize < 16 {
                throw map.invalid("architecture", "lenet", "needs patches of at least 16 pixels (patches.size is \(patchSize))")
            }
        } else if let option = ["batch_normalization", "widths", "dropout", "base_channels", "depth", "upsampling"].first(where: { map[$0] != nil }) {
            throw map.invalid(option, try map.string(option) ?? "", "is an architecture option; model.init fixes the architecture, remove it")
        }
        let upsamplingText = try map.string("upsampling") ?? "transposed"
        let upsampling: ModelZoo.Upsampling
        switch upsamplingText {
        case "transposed": upsampling = .transposedConvolution
        case "nearest": upsampling = .resize(.nearest)
        case "bilinear": upsampling = .resize(.linear)
        default: throw map.invalid("upsampling", upsamplingText, "must be transposed, nearest or bilinear")
        }
        let widths = try map.strings("widths")?.map { text -> Int in
            guard let value = Int(text), value > 0 else { throw map.invalid("widths", text, "must be a list of positive channel counts") }
            return value
        }
        let dropout = try map.double("dropout", range: 0...0.99).map { Float($0) }
        let output = try map.string("output") ?? "logits"
        guard output == "logits" || output == "probabilities" else {
            throw map.invalid("output", output, "must be logits or probabilities")
        }
        return Model(architecture: architecture, initPath: initPath, freeze: try map.strings("freeze") ?? [],
                     batchNormalization: try map.bool("batch_normalization") ?? true, widths: widths, dropout: dropout,
                     baseChannels: try map.int("base_channels", minimum: 1), depth: try map.int("depth", minimum: 1),
                     upsampling: upsampling, seed: try map.uint64("seed") ?? 0, output: output)
    }

    static func parseTraining(_ map: StrictMap, legendCount: Int, legend: [LegendClass]) throws -> (TrainerConfiguration, ClassWeights) {
        guard let epochs = try map.int("epochs", minimum: 1) else { throw map.missing("epochs", "give the number of passes over the data") }
        guard let batchSize = try map.int("batch_size", minimum: 1) else { throw map.missing("batch_size", "give the samples per minibatch") }
        guard let learningRate = try map.double("learning_rate"), learningRate > 0 else {
            if let text = try map.string("learning_rate") { throw map.invalid("learning_rate", text, "must be a number > 0") }
            throw map.missing("learning_rate", "give the base learning rate (e.g. 0.001 for Adam)")
        }

        // optimizer: a name, or a mapping with `type` and hyper-parameters
        var optimizerName = "adam"
        var options: StrictMap?
        if let node = map["optimizer"] {
            if let name = node.string { optimizerName = name } else {
                let m = try StrictMap(node, path: "training.optimizer", allowed: schema["training.optimizer"], errors: map.errors)
                optimizerName = try m.string("type") ?? "adam"
                options = m
            }
        }
        let optimizer: OptimizerConfiguration
        switch optimizerName.lowercased() {
        case "sgd":
            for key in ["beta1", "beta2", "epsilon"] where options?[key] != nil {
                throw (options ?? map).invalid(key, try options?.string(key) ?? "", "applies to adam and adamw only")
            }
            optimizer = .sgd(SGDOptions(momentum: Float(try options?.double("momentum") ?? 0.9),
                                        dampening: Float(try options?.double("dampening") ?? 0),
                                        nesterov: try options?.bool("nesterov") ?? false,
                                        weightDecay: Float(try options?.double("weight_decay") ?? 0)))
        case "adam", "adamw":
            for key in ["momentum", "dampening", "nesterov"] where options?[key] != nil {
                throw (options ?? map).invalid(key, try options?.string(key) ?? "", "applies to sgd only")
            }
            let adam = AdamOptions(beta1: Float(try options?.double("beta1") ?? 0.9), beta2: Float(try options?.double("beta2") ?? 0.999),
                                   epsilon: Float(try options?.double("epsilon") ?? 1e-8),
                                   weightDecay: Float(try options?.double("weight_decay") ?? (optimizerName.lowercased() == "adamw" ? 0.01 : 0)))
            optimizer = optimizerName.lowercased() == "adam" ? .adam(adam) : .adamW(adam)
        default:
            throw map.invalid(options == nil ? "optimizer" : "optimizer.type", optimizerName, "must be sgd, adam or adamw")
        }

        // schedule
        var schedule = LearningRateSchedule.constant
        if let node = map["schedule"] {
            var kind = node.string ?? ""
            var m: StrictMap?
            if node.string == nil {
                m = try StrictMap(node, path: "training.schedule", allowed: schema["training.schedule"], errors: map.errors)
                kind = try m?.string("type") ?? "constant"
            }
            let perText = try m?.string("per") ?? "epoch"
            guard let granularity = LearningRateSchedule.Granularity(rawValue: perText) else {
                throw (m ?? map).invalid("per", perText, "must be epoch or step")
            }
            switch kind {
            case "constant": schedule = .constant
            case "step":
                guard let stepSize = try m?.int("step_size", minimum: 1) else {
                    throw (m ?? map).missing(m == nil ? "schedule" : "step_size", "a step schedule needs step_size (epochs or steps between decays)")
                }
                schedule = LearningRateSchedule(.step(stepSize: stepSize, gamma: try m?.double("gamma") ?? 0.1), granularity: granularity)
            case "cosine":
                schedule = LearningRateSchedule(.cosine(warmup: try m?.int("warmup", minimum: 0) ?? 0, minimum: try m?.double("minimum") ?? 0),
                                                granularity: granularity)
            default:
                throw (m ?? map).invalid(m == nil ? "schedule" : "type", kind, "must be constant, step or cosine")
            }
        }

        // augmentation
        var augmentation = AugmentationSettings.none
        if let a = try map.map("augmentation", allowed: schema["training.augmentation"]) {
            let flips = try a.bool("flips") ?? false
            augmentation = AugmentationSettings(horizontalFlip: try a.bool("horizontal_flip") ?? flips,
                                                verticalFlip: try a.bool("vertical_flip") ?? flips,
                                                quarterTurns: try a.bool("quarter_turns") ?? false,
                                                brightness: Float(try a.double("brightness", range: 0...0.99) ?? 0),
                                                noiseStandardDeviation: Float(try a.double("noise") ?? 0))
            if augmentation.noiseStandardDeviation < 0 { throw a.invalid("noise", "\(augmentation.noiseStandardDeviation)", "must be >= 0") }
        }

        // class weights
        var classWeights = ClassWeights.none
        if let node = map["class_weights"] {
            if let text = node.string, text == "balanced" {
                classWeights = .balanced
            } else if let text = node.string, text == "sqrt_balanced" {
                classWeights = .sqrtBalanced
            } else if let text = node.string, text == "none" {
                classWeights = .none
            } else if case .mapping = node {
                let m = try StrictMap(node, path: "training.class_weights", allowed: Set(legend.map(\.name)), errors: map.errors)
                var weights = [Float](repeating: 1, count: legendCount)
                for (index, entry) in legend.enumerated() {
                    if let w = try m.double(entry.name) {
                        guard w >= 0 else { throw m.invalid(entry.name, "\(w)", "must be >= 0") }
                        weights[index] = Float(w)
                    }
                }
                classWeights = .explicit(weights)
            } else {
                let texts = try map.strings(of: node) { map.invalid("class_weights", $0, "must be balanced, sqrt_balanced, none, a list of weights or a mapping class: weight (\($1))") }
                let weights = try texts.map { text -> Float in
                    guard let w = Float(text), w.isFinite, w >= 0 else {
                        throw map.invalid("class_weights", text, "must be balanced, sqrt_balanced, none, a list of weights >= 0 or a mapping class: weight")
                    }
                    return w
                }
                guard weights.count == legendCount else {
                    throw map.invalid("class_weights", texts.joined(separator: ", "), "lists \(weights.count) weights for \(legendCount) classes; give one per legend class")
                }
                classWeights = .explicit(weights)
            }
        }

        // early stopping
        var earlyStopping: EarlyStopping?
        if let e = try map.map("early_stopping", allowed: schema["training.early_stopping"]) {
            guard let patience = try e.int("patience", minimum: 1) else { throw e.missing("patience", "give the epochs without improvement before stopping") }
            earlyStopping = EarlyStopping(patience: patience, minimumImprovement: try e.double("min_delta") ?? 0,
                                          restoresBest: try e.bool("restore_best") ?? true)
        }

        let configuration = TrainerConfiguration(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate, optimizer: optimizer, schedule: schedule,
            seed: try map.uint64("seed") ?? 0, workers: try map.int("workers", minimum: 1) ?? ProcessInfo.processInfo.activeProcessorCount,
            augmentation: augmentation, classWeights: nil, ignoreIndex: PatchDataset.ignoreIndex, earlyStopping: earlyStopping,
            dropsLastPartialBatch: try map.bool("drop_last") ?? false)
        do {
            try configuration.validate()
        } catch let error as TrainerError {
            throw TrainingFileError.invalidValue(file: map.errors.file, key: "training", value: "", reason: "\(error)")
        }
        return (configuration, classWeights)
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

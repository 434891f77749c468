import Foundation
import Classification
import Config
import RasterIO
import Training
import Yams

// Reading a training file: one function per section, in the order the errors are reported
// (data, bands, legend, patches, balance, split, model, training, output). Every default comes
// from the typed values (`TrainingFile.init`, `Model`, `PatchSampling`, `ClassBalancing`, ...)
// and `TrainingFile.Defaults`; a key the file gives overrides it.
extension TrainingFile {
    /// Parses training-file YAML; relative paths are resolved against `baseFolder`.
    /// - Throws: ``TrainingFileError`` naming `source` and the key at fault.
    public static func parse(_ text: String, baseFolder: String, source: String = "training file") throws -> TrainingFile {
        let root = try StrictMap(yaml: text, allowed: schema[""], errors: TrainingFileErrors(file: source),
                                 emptyReason: "the file is empty; see training/README.md for the schema")
        if let version = try root.int("version"), version != 1 {
            throw root.invalid("version", "\(version)", "is not supported; this landcover reads version 1")
        }
        let resolve = { (path: String) -> String in
            // URLs become GDAL network paths (https:// -> /vsicurl/https://, s3:// -> /vsis3/).
            if let remote = RemotePath.gdalPath(ofURL: path) { return remote }
            return path.hasPrefix("/") ? path : URL(fileURLWithPath: baseFolder).appendingPathComponent(path).standardizedFileURL.path
        }
        let data = try parseData(root, resolve: resolve)
        let bandOrder = try parseBandOrder(root)
        let resolution = try root.double("resolution")
        if let resolution, !(resolution > 0) { throw root.invalid("resolution", "\(resolution)", "must be a positive pixel size in map units") }
        let legend = try parseLegend(root)
        let bands = try parseBands(root)
        let (sampling, targets) = try parsePatches(root)
        let balancing = try parseBalance(root)

        var file = TrainingFile(data: data, legend: legend, bands: bands, sampling: sampling,
                                trainer: TrainerConfiguration(epochs: 1, batchSize: 1, learningRate: 1, optimizer: .adam(Defaults.adam)),
                                output: Output(model: "", checkpoints: "", report: ""), baseFolder: baseFolder, source: source)
        file.bandOrder = bandOrder
        file.resolution = resolution
        file.targets = targets
        file.balancing = balancing
        try file.parseSplit(root)

        guard let modelMap = try root.map("model", allowed: schema["model"]) else {
            throw root.missing("model", "give model.architecture (lenet, small_cnn, vgg, resnet18, unet) or model.init (an ONNX file)")
        }
        file.model = try parseModel(modelMap, resolve: resolve, targets: targets, patchSize: sampling.patchSize)

        guard let trainingMap = try root.map("training", allowed: schema["training"]) else {
            throw root.missing("training", "give at least training.epochs, batch_size and learning_rate")
        }
        (file.trainer, file.classWeights) = try parseTraining(trainingMap, legendCount: legend.count, legend: legend)
        file.output = try parseOutput(root, resolve: resolve)
        return file
    }

    /// `data`: labelled scenes or a class folder.
    static func parseData(_ root: StrictMap, resolve: (String) -> String) throws -> DataSource {
        guard let dataMap = try root.map("data", allowed: schema["data"]) else {
            throw root.missing("data", "add data.scenes (scenes with labels) or data.folder (class folders)")
        }
        switch (dataMap["scenes"], try dataMap.string("folder")) {
        case (.some, .some):
            throw dataMap.invalid("folder", try dataMap.string("folder") ?? "", "cannot be combined with data.scenes; give one of them")
        case (nil, nil):
            throw dataMap.missing("scenes", "give data.scenes (scenes with labels) or data.folder (class folders)")
        case (nil, .some(let folder)):
            return .folder(FolderData(path: resolve(folder)))
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
            return .scenes(scenes)
        }
    }

    /// `data.scenes[].labels`: vector polygons or a label raster.
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
            var overlap = Defaults.overlap
            if let overlapText = try map.string("overlap") {
                switch overlapText {
                case "unlabelled", "unlabeled": overlap = .unlabelled
                case "last_feature", "last": overlap = .lastFeature
                default: throw map.invalid("overlap", overlapText, "must be unlabelled (pixels of two classes are ignored) or last_feature")
                }
            }
            return .vector(path: resolve(path), layer: try map.string("layer"), attribute: attribute, overlap: overlap)
        case (nil, .some(let path)):
            for key in ["layer", "attribute", "overlap"] where map[key] != nil {
                throw map.invalid(key, try map.string(key) ?? "", "applies to labels.vector only")
            }
            return .raster(path: resolve(path), band: try map.int("band", minimum: 1) ?? Defaults.labelBand)
        }
    }

    /// `band_order`: a named order or a list of band names.
    static func parseBandOrder(_ root: StrictMap) throws -> [String]? {
        guard let order = root["band_order"] else { return nil }
        if let name = order.string, !name.contains(","), let named = SentinelBand.namedOrder(name) { return named }
        return try root.strings("band_order")?.map(SentinelBand.canonicalName)
    }

    /// `legend`: the classes in output order, each label value in one class.
    static func parseLegend(_ root: StrictMap) throws -> [LegendClass] {
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
        return legend
    }

    /// `bands`: canonical names, each once.
    static func parseBands(_ root: StrictMap) throws -> [String] {
        guard let bandList = try root.strings("bands"), !bandList.isEmpty else {
            throw root.missing("bands", "list the bands in input-channel order, e.g. [B02, B03, B04, B08]")
        }
        let bands = bandList.map(SentinelBand.canonicalName)
        if let duplicate = Dictionary(grouping: bands, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw root.invalid("bands", duplicate, "is listed twice; give each band once")
        }
        return bands
    }

    /// `patches` and `targets`.
    static func parsePatches(_ root: StrictMap) throws -> (PatchSampling, TargetKind) {
        let patches = try root.map("patches", allowed: schema["patches"])
        guard let size = try patches?.int("size", minimum: 1) else {
            throw (patches ?? root).missing(patches == nil ? "patches" : "size", "give patches.size in pixels (e.g. 32)")
        }
        var labelRule: PatchLabelRule?
        if let labelText = try patches?.string("label") {
            labelRule = PatchLabelRule(rawValue: labelText == "center" ? "centre" : labelText)
            if labelRule == nil { throw (patches ?? root).invalid("label", labelText, "must be majority or centre") }
        }
        var sampling = PatchSampling(patchSize: size, stride: try patches?.int("stride", minimum: 1))
        if let labelRule { sampling.labelRule = labelRule }
        if let fraction = try patches?.double("min_labelled_fraction", range: 0...1) { sampling.minLabelledFraction = fraction }
        if let fraction = try patches?.double("min_valid_fraction", range: 0...1) { sampling.minValidFraction = fraction }

        var targets = TargetKind.patchClass
        if let targetsText = try root.string("targets") {
            switch targetsText {
            case "patch": targets = .patchClass
            case "pixel": targets = .pixelClasses
            default: throw root.invalid("targets", targetsText, "must be patch (one class per patch) or pixel (segmentation)")
            }
        }
        return (sampling, targets)
    }

    /// `balance`: class balancing of the training split.
    static func parseBalance(_ root: StrictMap) throws -> ClassBalancing {
        var balancing = ClassBalancing.none
        guard let balanceMap = try root.map("balance", allowed: schema["balance"]) else { return balancing }
        balancing.maxPerClass = try balanceMap.int("max_per_class", minimum: 1)
        balancing.minPerClass = try balanceMap.int("min_per_class", minimum: 0)
        if let value = try balanceMap.bool("oversample_to_largest") { balancing.oversampleToLargest = value }
        if let value = try balanceMap.uint64("seed") { balancing.seed = value }
        do { try balancing.validate() } catch let error as TrainingDataError {
            throw TrainingFileError.invalidValue(file: root.errors.file, key: "balance", value: "", reason: "\(error)")
        }
        return balancing
    }

    /// `split`: strips and blocks of scenes, or the fractions of a class folder.
    mutating func parseSplit(_ root: StrictMap) throws {
        guard let splitMap = try root.map("split", allowed: Self.schema["split"]) else { return }
        if case .folder = data {
            folderValidationFraction = try splitMap.double("validation", range: 0...1) ?? folderValidationFraction
            folderTestFraction = try splitMap.double("test", range: 0...1) ?? folderTestFraction
            folderSplitSeed = try splitMap.uint64("seed") ?? folderSplitSeed
            guard folderValidationFraction + folderTestFraction < 1 else {
                throw splitMap.invalid("test", "\(folderTestFraction)", "plus split.validation must be below 1 (the rest is training)")
            }
            if splitMap["blocks"] != nil || splitMap["buffer"] != nil {
                throw splitMap.invalid(splitMap["blocks"] != nil ? "blocks" : "buffer", "", "applies to scenes only; folder patches are split at random per class")
            }
            return
        }
        func strip(_ name: String) throws -> SpatialSplit.Strip? {
            guard let node = splitMap[name] else { return nil }
            let m = try StrictMap(node, path: "split.\(name)", allowed: Self.schema["split.strip"], errors: root.errors)
            var axis = Defaults.stripAxis
            if let axisText = try m.string("axis") {
                guard let value = SpatialSplit.Axis(rawValue: axisText) else {
                    throw m.invalid("axis", axisText, "must be columns (a vertical strip) or rows (a horizontal strip)")
                }
                axis = value
            }
            guard let start = try m.double("start", range: 0...1) else { throw m.missing("start", "give the strip's start as a fraction of the width or height") }
            guard let fraction = try m.double("fraction", range: 0...1) else { throw m.missing("fraction", "give the strip's width as a fraction") }
            return SpatialSplit.Strip(axis: axis, start: start, fraction: fraction)
        }
        var blocks: SpatialSplit.Blocks?
        if let b = try splitMap.map("blocks", allowed: Self.schema["split.blocks"]) {
            guard let blockSize = try b.int("size", minimum: 1) else { throw b.missing("size", "give the block edge in pixels") }
            blocks = SpatialSplit.Blocks(size: blockSize, validationFraction: try b.double("validation", range: 0...1) ?? 0)
            if let value = try b.double("test", range: 0...1) { blocks?.testFraction = value }
            if let value = try b.uint64("seed") { blocks?.seed = value }
        }
        if splitMap["seed"] != nil { throw splitMap.invalid("seed", try splitMap.string("seed") ?? "", "applies to folder data; give split.blocks.seed for blocks") }
        split = SpatialSplit(validation: try strip("validation"), test: try strip("test"), blocks: blocks,
                             buffer: try splitMap.int("buffer", minimum: 1))
        do { try split.validate() } catch let error as TrainingDataError {
            throw TrainingFileError.invalidValue(file: source, key: "split", value: "", reason: "\(error)")
        }
    }

    /// `output`: the model path and, beside it by default, the checkpoint folder and the report.
    static func parseOutput(_ root: StrictMap, resolve: (String) -> String) throws -> Output {
        guard let outputMap = try root.map("output", allowed: schema["output"]) else {
            throw root.missing("output", "give output.model, the ONNX file to write")
        }
        guard let modelPath = try outputMap.string("model") else { throw outputMap.missing("model", "give the ONNX file to write") }
        let resolvedModel = resolve(modelPath)
        let stem = (resolvedModel as NSString).deletingPathExtension
        return Output(model: resolvedModel,
                      checkpoints: try outputMap.string("checkpoints").map(resolve) ?? stem + Defaults.checkpointsSuffix,
                      report: try outputMap.string("report").map(resolve) ?? stem + Defaults.reportSuffix)
    }

    /// `model`: an architecture and its options, or an ONNX model to fine-tune.
    static func parseModel(_ map: StrictMap, resolve: (String) -> String, targets: TargetKind, patchSize: Int) throws -> Model {
        var model = Model()
        let architectureText = try map.string("architecture")
        model.initPath = try map.string("init").map(resolve)
        switch (architectureText, model.initPath) {
        case (.some(let text), nil):
            guard let value = Architecture(rawValue: text) else {
                throw map.invalid("architecture", text, "must be one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            model.architecture = value
        case (nil, .some): break
        case (.some, .some):
            throw map.invalid("init", try map.string("init") ?? "", "cannot be combined with model.architecture; fine-tune a file or build an architecture")
        case (nil, nil):
            throw map.missing("architecture", "give model.architecture (\(Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or model.init (an ONNX file to fine-tune)")
        }
        if let architecture = model.architecture {
            if architecture == .unet, targets != .pixelClasses {
                throw map.invalid("architecture", "unet", "segments: set targets: pixel")
            }
            if architecture != .unet, targets == .pixelClasses {
                throw map.invalid("architecture", architecture.rawValue, "classifies patches; use unet with targets: pixel, or targets: patch")
            }
            if architecture == .unet {
                let depth = try map.int("depth", minimum: 1) ?? model.depth
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
        if let upsamplingText = try map.string("upsampling") {
            switch upsamplingText {
            case "transposed": model.upsampling = .transposedConvolution
            case "nearest": model.upsampling = .resize(.nearest)
            case "bilinear": model.upsampling = .resize(.linear)
            default: throw map.invalid("upsampling", upsamplingText, "must be transposed, nearest or bilinear")
            }
        }
        if let widths = try map.strings("widths") {
            model.widths = try widths.map { text -> Int in
                guard let value = Int(text), value > 0 else { throw map.invalid("widths", text, "must be a list of positive channel counts") }
                return value
            }
        }
        if let dropout = try map.double("dropout", range: 0...0.99) { model.dropout = Float(dropout) }
        if let output = try map.string("output") {
            guard output == "logits" || output == "probabilities" else {
                throw map.invalid("output", output, "must be logits or probabilities")
            }
            model.output = output
        }
        model.freeze = try map.strings("freeze") ?? model.freeze
        model.batchNormalization = try map.bool("batch_normalization") ?? model.batchNormalization
        model.baseChannels = try map.int("base_channels", minimum: 1) ?? model.baseChannels
        model.depth = try map.int("depth", minimum: 1) ?? model.depth
        model.seed = try map.uint64("seed") ?? model.seed
        return model
    }
}

import Foundation
import Config
import Training
import Yams

// Reading a training file's `training` section: the trainer's configuration (optimizer,
// schedule, augmentation, early stopping) and the class weights, one function per key that
// takes a mapping. Defaults: `TrainingFile.Defaults` and the Training module's option types.
extension TrainingFile {
    /// `training`: the trainer's configuration and how the loss weighs the classes.
    static func parseTraining(_ map: StrictMap, legendCount: Int, legend: [LegendClass]) throws -> (TrainerConfiguration, ClassWeights) {
        guard let epochs = try map.int("epochs", minimum: 1) else { throw map.missing("epochs", "give the number of passes over the data") }
        guard let batchSize = try map.int("batch_size", minimum: 1) else { throw map.missing("batch_size", "give the samples per minibatch") }
        guard let learningRate = try map.double("learning_rate"), learningRate > 0 else {
            if let text = try map.string("learning_rate") { throw map.invalid("learning_rate", text, "must be a number > 0") }
            throw map.missing("learning_rate", "give the base learning rate (e.g. 0.001 for Adam)")
        }
        let optimizer = try parseOptimizer(map)
        let schedule = try parseSchedule(map)
        let augmentation = try parseAugmentation(map)
        let classWeights = try parseClassWeights(map, legendCount: legendCount, legend: legend)
        let earlyStopping = try parseEarlyStopping(map)
        let configuration = TrainerConfiguration(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate, optimizer: optimizer, schedule: schedule,
            seed: try map.uint64("seed") ?? Defaults.seed, workers: try map.int("workers", minimum: 1) ?? Defaults.workers,
            augmentation: augmentation, classWeights: nil, ignoreIndex: PatchDataset.ignoreIndex, earlyStopping: earlyStopping,
            dropsLastPartialBatch: try map.bool("drop_last") ?? Defaults.dropLast)
        do {
            try configuration.validate()
        } catch let error as TrainerError {
            throw TrainingFileError.invalidValue(file: map.errors.file, key: "training", value: "", reason: "\(error)")
        }
        return (configuration, classWeights)
    }

    /// `training.optimizer`: a name, or a mapping with `type` and hyper-parameters.
    static func parseOptimizer(_ map: StrictMap) throws -> OptimizerConfiguration {
        var optimizerName = Defaults.optimizer
        var options: StrictMap?
        if let node = map["optimizer"] {
            if let name = node.string { optimizerName = name } else {
                let m = try StrictMap(node, path: "training.optimizer", allowed: schema["training.optimizer"], errors: map.errors)
                optimizerName = try m.string("type") ?? Defaults.optimizer
                options = m
            }
        }
        switch optimizerName.lowercased() {
        case "sgd":
            for key in ["beta1", "beta2", "epsilon"] where options?[key] != nil {
                throw (options ?? map).invalid(key, try options?.string(key) ?? "", "applies to adam and adamw only")
            }
            var sgd = Defaults.sgd
            if let value = try options?.double("momentum") { sgd.momentum = Float(value) }
            if let value = try options?.double("dampening") { sgd.dampening = Float(value) }
            if let value = try options?.bool("nesterov") { sgd.nesterov = value }
            if let value = try options?.double("weight_decay") { sgd.weightDecay = Float(value) }
            return .sgd(sgd)
        case "adam", "adamw":
            for key in ["momentum", "dampening", "nesterov"] where options?[key] != nil {
                throw (options ?? map).invalid(key, try options?.string(key) ?? "", "applies to sgd only")
            }
            let isAdamW = optimizerName.lowercased() == "adamw"
            var adam = Defaults.adam
            if isAdamW { adam.weightDecay = Defaults.adamWWeightDecay }
            if let value = try options?.double("beta1") { adam.beta1 = Float(value) }
            if let value = try options?.double("beta2") { adam.beta2 = Float(value) }
            if let value = try options?.double("epsilon") { adam.epsilon = Float(value) }
            if let value = try options?.double("weight_decay") { adam.weightDecay = Float(value) }
            return isAdamW ? .adamW(adam) : .adam(adam)
        default:
            throw map.invalid(options == nil ? "optimizer" : "optimizer.type", optimizerName, "must be sgd, adam or adamw")
        }
    }

    /// `training.schedule`: a name (`constant`) or a mapping with `type` and its parameters.
    static func parseSchedule(_ map: StrictMap) throws -> LearningRateSchedule {
        guard let node = map["schedule"] else { return Defaults.schedule }
        var kind = node.string ?? ""
        var m: StrictMap?
        if node.string == nil {
            m = try StrictMap(node, path: "training.schedule", allowed: schema["training.schedule"], errors: map.errors)
            kind = try m?.string("type") ?? "constant"
        }
        var granularity = Defaults.schedulePer
        if let perText = try m?.string("per") {
            guard let value = LearningRateSchedule.Granularity(rawValue: perText) else {
                throw (m ?? map).invalid("per", perText, "must be epoch or step")
            }
            granularity = value
        }
        switch kind {
        case "constant": return .constant
        case "step":
            guard let stepSize = try m?.int("step_size", minimum: 1) else {
                throw (m ?? map).missing(m == nil ? "schedule" : "step_size", "a step schedule needs step_size (epochs or steps between decays)")
            }
            return LearningRateSchedule(.step(stepSize: stepSize, gamma: try m?.double("gamma") ?? Defaults.stepGamma), granularity: granularity)
        case "cosine":
            return LearningRateSchedule(.cosine(warmup: try m?.int("warmup", minimum: 0) ?? 0, minimum: try m?.double("minimum") ?? 0),
                                        granularity: granularity)
        default:
            throw (m ?? map).invalid(m == nil ? "schedule" : "type", kind, "must be constant, step or cosine")
        }
    }

    /// `training.augmentation`: `flips` sets both flips unless one is given on its own.
    static func parseAugmentation(_ map: StrictMap) throws -> AugmentationSettings {
        var augmentation = AugmentationSettings.none
        guard let a = try map.map("augmentation", allowed: schema["training.augmentation"]) else { return augmentation }
        let flips = try a.bool("flips")
        augmentation.horizontalFlip = try a.bool("horizontal_flip") ?? flips ?? augmentation.horizontalFlip
        augmentation.verticalFlip = try a.bool("vertical_flip") ?? flips ?? augmentation.verticalFlip
        augmentation.quarterTurns = try a.bool("quarter_turns") ?? augmentation.quarterTurns
        if let value = try a.double("brightness", range: 0...0.99) { augmentation.brightness = Float(value) }
        if let value = try a.double("noise") { augmentation.noiseStandardDeviation = Float(value) }
        if augmentation.noiseStandardDeviation < 0 { throw a.invalid("noise", "\(augmentation.noiseStandardDeviation)", "must be >= 0") }
        return augmentation
    }

    /// `training.class_weights`: `none`, `balanced`, `sqrt_balanced`, a list (one weight per
    /// class) or a mapping class name -> weight (other classes weigh 1).
    static func parseClassWeights(_ map: StrictMap, legendCount: Int, legend: [LegendClass]) throws -> ClassWeights {
        guard let node = map["class_weights"] else { return .none }
        if let text = node.string, text == "balanced" { return .balanced }
        if let text = node.string, text == "sqrt_balanced" { return .sqrtBalanced }
        if let text = node.string, text == "none" { return .none }
        if case .mapping = node {
            let m = try StrictMap(node, path: "training.class_weights", allowed: Set(legend.map(\.name)), errors: map.errors)
            var weights = [Float](repeating: 1, count: legendCount)
            for (index, entry) in legend.enumerated() {
                if let w = try m.double(entry.name) {
                    guard w >= 0 else { throw m.invalid(entry.name, "\(w)", "must be >= 0") }
                    weights[index] = Float(w)
                }
            }
            return .explicit(weights)
        }
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
        return .explicit(weights)
    }

    /// `training.early_stopping`: on the validation loss.
    static func parseEarlyStopping(_ map: StrictMap) throws -> EarlyStopping? {
        guard let e = try map.map("early_stopping", allowed: schema["training.early_stopping"]) else { return nil }
        guard let patience = try e.int("patience", minimum: 1) else { throw e.missing("patience", "give the epochs without improvement before stopping") }
        return EarlyStopping(patience: patience, minimumImprovement: try e.double("min_delta") ?? Defaults.earlyStopping.minimumImprovement,
                             restoresBest: try e.bool("restore_best") ?? Defaults.earlyStopping.restoresBest)
    }
}

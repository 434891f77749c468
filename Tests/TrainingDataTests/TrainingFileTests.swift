import Foundation
import RasterIO
import Testing
import Training
import TrainingData

@Suite("Training files: schema, strict keys, typed errors")
struct TrainingFileTests {
    /// A complete, valid training file; tests replace pieces of it.
    static let valid = """
    version: 1
    data:
      scenes:
        - input: scene
          labels: {vector: labels.gpkg, attribute: fclass}
    legend:
      - {name: cropland, color: "#f096ff", values: [farm, farmland]}
      - {name: forest, color: "#006400", values: [forest]}
      - {name: water, color: "#0064c8"}
    bands: [B02, B3, b04, B08]
    patches: {size: 16, stride: 8, label: centre, min_labelled_fraction: 0.3}
    targets: patch
    balance: {max_per_class: 500, seed: 3}
    split:
      test: {axis: rows, start: 0.75, fraction: 0.25}
      blocks: {size: 64, validation: 0.2, seed: 5}
      buffer: 12
    model: {architecture: small_cnn, batch_normalization: true, seed: 9}
    training:
      epochs: 5
      batch_size: 16
      learning_rate: 0.01
      optimizer: {type: sgd, momentum: 0.8, weight_decay: 0.0005}
      schedule: {type: step, step_size: 2, gamma: 0.5}
      seed: 11
      workers: 2
      augmentation: {flips: true, quarter_turns: true, brightness: 0.1, noise: 0.01}
      class_weights: balanced
      early_stopping: {patience: 2, min_delta: 0.001}
    output: {model: out/model.onnx}
    """

    static func parse(_ text: String) throws -> TrainingFile {
        try TrainingFile.parse(text, baseFolder: "/data/project", source: "train.yaml")
    }

    @Test func parsesEverySection() throws {
        let file = try Self.parse(Self.valid)
        guard case .scenes(let scenes) = file.data, let scene = scenes.first else {
            Issue.record("expected scene data")
            return
        }
        #expect(scene.inputs == ["/data/project/scene"])
        #expect(scene.labels == .vector(path: "/data/project/labels.gpkg", layer: nil, attribute: "fclass", overlap: .unlabelled))
        #expect(file.classNames == ["cropland", "forest", "water"])
        #expect(file.vectorClassMap == ["farm": 0, "farmland": 0, "forest": 1, "water": 2])
        #expect(file.legend[0].color == RGBColor(red: 0xf0, green: 0x96, blue: 0xff))
        #expect(file.bands == ["B02", "B03", "B04", "B08"])
        #expect(file.sampling == PatchSampling(patchSize: 16, stride: 8, labelRule: .centre, minLabelledFraction: 0.3, minValidFraction: 1))
        #expect(file.targets == .patchClass)
        #expect(file.balancing == ClassBalancing(maxPerClass: 500, seed: 3))
        #expect(file.split == SpatialSplit(test: .init(axis: .rows, start: 0.75, fraction: 0.25),
                                           blocks: .init(size: 64, validationFraction: 0.2, seed: 5), buffer: 12))
        #expect(file.model.architecture == .smallCNN && file.model.seed == 9 && file.model.batchNormalization)
        let t = file.trainer
        #expect(t.epochs == 5 && t.batchSize == 16 && t.learningRate == 0.01)
        #expect(t.seed == 11 && t.workers == 2)
        #expect(t.optimizer == .sgd(SGDOptions(momentum: 0.8, weightDecay: 0.0005)))
        #expect(t.schedule == LearningRateSchedule(.step(stepSize: 2, gamma: 0.5)))
        #expect(t.augmentation == AugmentationSettings(horizontalFlip: true, verticalFlip: true, quarterTurns: true, brightness: 0.1,
                                                       noiseStandardDeviation: 0.01))
        #expect(t.earlyStopping == EarlyStopping(patience: 2, minimumImprovement: 0.001, restoresBest: true))
        #expect(t.ignoreIndex == -1)
        #expect(file.classWeights == .balanced)
        #expect(file.output.model == "/data/project/out/model.onnx")
        #expect(file.output.checkpoints == "/data/project/out/model_checkpoints")
        #expect(file.output.report == "/data/project/out/model_training.json")
    }

    @Test("unknown keys are errors with the closest valid key", arguments: [
        ("  epochs: 5", "  epoch: 5", "training.epoch", "training.epochs"),
        ("patches: {size: 16", "patches: {sise: 16", "patches.sise", "patches.size"),
        ("output: {model: out/model.onnx}", "outptu: {model: out/model.onnx}", "outptu", "output"),
        ("labels: {vector: labels.gpkg, attribute: fclass}", "labels: {vector: labels.gpkg, atribute: fclass}", "data.scenes[0].labels.atribute", "data.scenes[0].labels.attribute"),
    ])
    func unknownKeySuggestsTheClosest(original: String, typo: String, key: String, suggestion: String) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: typo)
        #expect(text != Self.valid)
        #expect(throws: TrainingFileError.unknownKey(file: "train.yaml", key: key, suggestion: suggestion)) { try Self.parse(text) }
        do {
            _ = try Self.parse(text)
        } catch {
            #expect("\(error)".contains("did you mean '\(suggestion)'?"))
        }
    }

    @Test("wrong types and values name the key", arguments: [
        ("  epochs: 5", "  epochs: five", "training.epochs", "five"),
        ("  batch_size: 16", "  batch_size: [16]", "training.batch_size", "[16]"),
        ("color: \"#006400\"", "color: green", "legend[1].color", "green"),
        ("targets: patch", "targets: pixels", "targets", "pixels"),
        ("architecture: small_cnn", "architecture: resnet50", "model.architecture", "resnet50"),
        ("  class_weights: balanced", "  class_weights: [1, 2]", "training.class_weights", "1, 2"),
        ("start: 0.75", "start: 1.5", "split.test.start", "1.5"),
        ("flips: true", "flips: maybe", "training.augmentation.flips", "maybe"),
    ])
    func wrongValueNamesTheKey(original: String, replacement: String, key: String, value: String) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.valid)
        do {
            _ = try Self.parse(text)
            Issue.record("expected an error for \(key)")
        } catch let error as TrainingFileError {
            guard case .invalidValue(let file, let errorKey, let errorValue, _) = error else {
                Issue.record("expected invalidValue, got \(error)")
                return
            }
            #expect(file == "train.yaml" && errorKey == key && errorValue == value)
        }
    }

    @Test("missing keys are named", arguments: [
        ("    epochs: 5\n", "training.epochs"),
        ("bands: [B02, B3, b04, B08]\n", "bands"),
        ("output: {model: out/model.onnx}", "output"),
        ("model: {architecture: small_cnn, batch_normalization: true, seed: 9}\n", "model"),
    ])
    func missingKeyIsNamed(removed: String, key: String) throws {
        let text = Self.valid.replacingOccurrences(of: removed.hasPrefix("    ") ? String(removed.dropFirst(2)) : removed, with: "")
        #expect(text != Self.valid)
        do {
            _ = try Self.parse(text)
            Issue.record("expected a missing-key error for \(key)")
        } catch let error as TrainingFileError {
            guard case .missingKey(let file, let errorKey, _) = error else {
                Issue.record("expected missingKey, got \(error)")
                return
            }
            #expect(file == "train.yaml" && errorKey == key)
            #expect("\(error)".hasPrefix("train.yaml: missing key '\(key)'"))
        }
    }

    @Test func rasterLabelsFolderDataAndFineTuning() throws {
        var text = Self.valid.replacingOccurrences(of: "labels: {vector: labels.gpkg, attribute: fclass}", with: "labels: {raster: labels.tif, band: 2}")
        text = text.replacingOccurrences(of: "values: [farm, farmland]", with: "values: [10, 11]")
            .replacingOccurrences(of: "values: [forest]", with: "values: [20]")
        let file = try Self.parse(text)
        guard case .scenes(let scenes) = file.data else { Issue.record("expected scenes"); return }
        #expect(scenes[0].labels == .raster(path: "/data/project/labels.tif", band: 2))
        #expect(try file.rasterClassMap() == [10: 0, 11: 0, 20: 1, 2: 2])

        let bad = text.replacingOccurrences(of: "values: [20]", with: "values: [trees]")
        #expect(throws: TrainingFileError.self) { try Self.parse(bad).rasterClassMap() }

        let folder = """
        data: {folder: eurosat}
        band_order: eurosat
        legend: [{name: Forest, color: "#006400"}, {name: SeaLake, color: "#0064c8"}]
        bands: [B02, B03, B04, B08]
        patches: {size: 64}
        split: {validation: 0.2, test: 0.1, seed: 4}
        model: {init: models/resnet.onnx, freeze: [conv1, layer1], seed: 2}
        training: {epochs: 1, batch_size: 8, learning_rate: 0.001, class_weights: {Forest: 2}}
        output: {model: m.onnx, checkpoints: ckpt, report: r.json}
        """
        let f = try Self.parse(folder)
        guard case .folder(let folderData) = f.data else { Issue.record("expected folder data"); return }
        #expect(folderData.path == "/data/project/eurosat")
        #expect(f.bandOrder == SentinelBand.eurosatOrder)
        #expect(f.folderValidationFraction == 0.2 && f.folderTestFraction == 0.1 && f.folderSplitSeed == 4)
        #expect(f.model.initPath == "/data/project/models/resnet.onnx" && f.model.freeze == ["conv1", "layer1"] && f.model.architecture == nil)
        #expect(f.classWeights == .explicit([2, 1]))
        #expect(f.trainer.optimizer == .adam(AdamOptions()))
        #expect(f.output.model == "/data/project/m.onnx")
        #expect(f.output.checkpoints == "/data/project/ckpt" && f.output.report == "/data/project/r.json")

        // U-Net needs pixel targets and a patch size divisible by 2^depth.
        let unet = Self.valid.replacingOccurrences(of: "architecture: small_cnn, batch_normalization: true", with: "architecture: unet, depth: 5")
        #expect(throws: TrainingFileError.self) { try Self.parse(unet) }
        let pixel = unet.replacingOccurrences(of: "targets: patch", with: "targets: pixel")
        #expect(throws: TrainingFileError.invalidValue(file: "train.yaml", key: "model.depth", value: "5", reason: "needs patches.size (16) to be a multiple of 32")) {
            try Self.parse(pixel)
        }
        #expect(try Self.parse(pixel.replacingOccurrences(of: "depth: 5", with: "depth: 2")).targets == .pixelClasses)
    }

    @Test func balancedWeightsFollowTheCounts() {
        let expected: [Float] = [Float(10.0 / 3), Float(10.0 / 9), 0, Float(10.0 / 18)]
        #expect(TrainingRun.balancedWeights(counts: [100, 300, 0, 600]) == expected)
        #expect(TrainingRun.balancedWeights(counts: [5, 5]) == [1, 1])
    }
}

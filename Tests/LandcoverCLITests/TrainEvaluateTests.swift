import Foundation
import RasterIO
import TestSupport
import Testing

/// Tiny synthetic scenes written by the tests themselves: 4 bands (B02, B03, B04, B08) with a
/// class-dependent spectrum plus deterministic noise, and a UInt8 label raster.
enum TinyScene {
    static let bands = ["B02", "B03", "B04", "B08"]
    /// Per-class DN of each band: class 0 dark in the NIR ("water"), class 1 bright in the NIR
    /// ("forest").
    static let spectra: [[Double]] = [[900, 800, 600, 300], [500, 800, 400, 3500]]

    static func grid(width: Int, height: Int) throws -> SceneGrid {
        SceneGrid(width: width, height: height,
                  geoTransform: GeoTransform(originX: 399_960, pixelWidth: 10, originY: 5_300_040, pixelHeight: -10),
                  spatialReference: try SpatialReference("EPSG:32633"))
    }

    /// Writes `scene.tif` whose pixels take the spectrum of `classOf(column, row)`.
    static func writeScene(_ path: String, width: Int, height: Int, classOf: (Int, Int) -> Int) throws {
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: try grid(width: width, height: height), bandCount: bands.count,
                                                                         dataType: .uint16, nodata: 0, bandDescriptions: bands))
        for b in bands.indices {
            var values = [UInt16](repeating: 0, count: width * height)
            for y in 0..<height {
                for x in 0..<width {
                    let noise = Double((x * 7919 + y * 104_729 + b * 31) % 97) - 48
                    values[y * width + x] = UInt16(spectra[classOf(x, y)][b] + noise)
                }
            }
            try writer.write(band: b + 1, window: RasterWindow(width: width, height: height), values: values)
        }
        try writer.commit()
    }

    /// Writes a UInt8 label raster (255 = unlabelled).
    static func writeLabels(_ path: String, width: Int, height: Int, label: (Int, Int) -> UInt8) throws {
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: try grid(width: width, height: height), bandCount: 1,
                                                                         dataType: .byte, nodata: 255, bandDescriptions: ["label"]))
        var values = [UInt8](repeating: 255, count: width * height)
        for y in 0..<height { for x in 0..<width { values[y * width + x] = label(x, y) } }
        try writer.write(band: 1, window: RasterWindow(width: width, height: height), values: values)
        try writer.commit()
    }

    /// A training file for the tiny scene in `folder`.
    static func trainingFile(folder: URL, epochs: Int, architecture: String = "small_cnn", extra: String = "") -> String {
        """
        version: 1
        data:
          scenes:
            - input: scene.tif
              labels: {raster: labels.tif}
        legend:
          - {name: water, color: "#0064c8"}
          - {name: forest, color: "#006400"}
        bands: [B02, B03, B04, B08]
        patches: {size: 16, stride: 4}
        model: {architecture: \(architecture), seed: 3}
        training:
          epochs: \(epochs)
          batch_size: 16
          learning_rate: 0.01
          optimizer: adam
          seed: 5
          workers: 2
        \(extra)
        output: {model: out/model.onnx, checkpoints: out/checkpoints, report: out/report.json}
        """
    }
}

@Suite("landcover train and evaluate", .serialized)
struct TrainEvaluateTests {
    /// Left half class 0, right half class 1 (64 x 32 pixels, the boundary on a patch edge).
    static func writeHalves(_ folder: URL) throws {
        try TinyScene.writeScene(folder.appendingPathComponent("scene.tif").path, width: 64, height: 32) { x, _ in x < 32 ? 0 : 1 }
        try TinyScene.writeLabels(folder.appendingPathComponent("labels.tif").path, width: 64, height: 32) { x, _ in x < 32 ? 0 : 1 }
    }

    /// Train -> ONNX with the full contract -> `model info` reads it -> `run` classifies with it ->
    /// `evaluate` gives the hand-checked confusion matrix against deliberately wrong labels.
    @Test func trainExportRunAndEvaluate() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.writeHalves(folder)
        let trainingFile = folder.appendingPathComponent("train.yaml")
        try TinyScene.trainingFile(folder: folder, epochs: 4).write(to: trainingFile, atomically: true, encoding: .utf8)
        let trained = try CLI.run(["train", trainingFile.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let epochLines = trained.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }
        #expect(epochLines.count == 4 && epochLines.allSatisfy { $0.contains(" loss ") && $0.contains(" acc ") })
        let model = folder.appendingPathComponent("out/model.onnx").path
        for epoch in 1...4 {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(String(format: "out/checkpoints/epoch-%03d.onnx", epoch)).path))
        }

        // The contract: bands, training statistics, patch size, classes, colours, task.
        let info = try CLI.run(["model", "info", "--json", model])
        #expect(info.status == 0, "\(info.stderr)")
        let contract = try #require(try CLI.json(info.stdout)["contract"] as? [String: String])
        #expect(contract["landcover.bands"] == TinyScene.bands.joined(separator: ","))
        #expect(contract["landcover.class_names"] == "water,forest")
        #expect(contract["landcover.class_colors"]?.lowercased() == "#0064c8,#006400")
        #expect(contract["landcover.patch_size"] == "16" && contract["landcover.task"] == "patch_classification")
        #expect(contract["landcover.normalization"]?.contains("mean_std") == true)
        let report = try CLI.json(String(decoding: try Data(contentsOf: folder.appendingPathComponent("out/report.json")), as: UTF8.self))
        let mean = try #require((report["contract"] as? [String: Any])?["normalizationMean"] as? [Double])
        // B08 mean of the training pixels: about half water (300) and half forest (3500).
        #expect(mean.count == 4 && mean[3] > 1000 && mean[3] < 2800)

        // landcover run uses the model.
        let pipeline = folder.appendingPathComponent("pipeline.yaml")
        try """
        inputs: [scene.tif]
        model: out/model.onnx
        output: {folder: maps, preview: false, stac: false}
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", pipeline.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let map = folder.appendingPathComponent("maps/scene_landcover.tif").path
        let classes = try RasterDataset(path: map).read(window: RasterWindow(width: 64, height: 32), bands: [1]).values
        #expect(classes.enumerated().allSatisfy { Int($0.element) == ($0.offset % 64 < 32 ? 0 : 1) })

        // Reference labels with known errors: 16 left pixels say forest, 16 are unlabelled,
        // 8 right pixels say water. A perfect classifier gives rows [992, 8] and [16, 1016].
        let reference = folder.appendingPathComponent("reference.tif").path
        try TinyScene.writeLabels(reference, width: 64, height: 32) { x, y in
            if (4..<8).contains(x), (4..<8).contains(y) { return 1 }
            if (10..<18).contains(x), (20..<22).contains(y) { return 255 }
            if y == 10, (40..<48).contains(x) { return 0 }
            return x < 32 ? 0 : 1
        }
        let evaluated = try CLI.run(["evaluate", model, "--scene", folder.appendingPathComponent("scene.tif").path, "--labels", reference,
                                     "--mode", "patch", "--stride", "16", "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let accuracy = try #require(try CLI.json(evaluated.stdout)["accuracy"] as? [String: Any])
        #expect((accuracy["matrix"] as? [String: Any])?["counts"] as? [Int] == [992, 8, 16, 1016], "\(accuracy["matrix"] ?? "")")
        func close(_ value: Any?, _ expected: Double) -> Bool { abs(((value as? Double) ?? -1) - expected) < 1e-9 }
        #expect(close(accuracy["overallAccuracy"], 2008.0 / 2032))
        #expect(close(accuracy["kappa"], 0.9763750232529299))
        let macro = accuracy["macroAverages"] as? [String: Any]
        #expect(close(macro?["f1"], (2 * 992.0 / 2008 + 2 * 1016.0 / 2056) / 2))
        let perClass = try #require(accuracy["classes"] as? [[String: Any]])
        #expect(close(perClass[0]["producerAccuracy"], 992.0 / 1000) && close(perClass[0]["userAccuracy"], 992.0 / 1008))
        #expect(close(perClass[1]["intersectionOverUnion"], 1016.0 / (1032 + 1024 - 1016)))

        // --region counts only the left half: rows [992, 0] and [16, 0]; text output names the measures.
        let region = try CLI.run(["evaluate", model, "--scene", folder.appendingPathComponent("scene.tif").path, "--labels", reference,
                                  "--mode", "patch", "--stride", "16", "--region", "0,0,32,32"])
        #expect(region.status == 0, "\(region.stderr)")
        #expect(region.stdout.contains("Overall accuracy 0.9841, kappa 0.0000, 1008 samples"), "\(region.stdout)")

        // Bad input: exit 2 and one line naming the problem.
        let unknown = try CLI.run(["evaluate", model, "--scene", folder.appendingPathComponent("scene.tif").path, "--labels", reference,
                                   "--classes", "0=water,1=trees"])
        #expect(unknown.status == 2 && unknown.stderr.contains("trees") && unknown.stderr.split(separator: "\n").count == 1)
    }

    /// A run stopped after 2 of 4 epochs and resumed gives the same model, bit for bit, as an
    /// uninterrupted run (BatchNormalization running statistics included).
    @Test func resumeGivesTheSameModel() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.writeHalves(folder)
        var models: [Data] = []
        for mode in ["straight", "resumed"] {
            let sub = folder.appendingPathComponent(mode)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            for file in ["scene.tif", "labels.tif"] {
                try FileManager.default.copyItem(at: folder.appendingPathComponent(file), to: sub.appendingPathComponent(file))
            }
            let trainingFile = sub.appendingPathComponent("train.yaml")
            let text = TinyScene.trainingFile(folder: sub, epochs: 4, extra: "").replacingOccurrences(of: "model: {architecture: small_cnn, seed: 3}",
                                                                                                        with: "model: {architecture: small_cnn, batch_normalization: true, seed: 3}")
            try text.write(to: trainingFile, atomically: true, encoding: .utf8)
            if mode == "straight" {
                let result = try CLI.run(["train", trainingFile.path, "--quiet"])
                #expect(result.status == 0, "\(result.stderr)")
            } else {
                let first = try CLI.run(["train", trainingFile.path, "--epochs", "2"])
                #expect(first.status == 0, "\(first.stderr)")
                #expect(first.stdout.contains("epoch 2/2") && !first.stdout.contains("epoch 3/"))
                let second = try CLI.run(["train", trainingFile.path, "--resume"])
                #expect(second.status == 0, "\(second.stderr)")
                #expect(second.stderr.contains("resuming after epoch 2"))
                #expect(second.stdout.contains("epoch 3/4") && second.stdout.contains("epoch 4/4") && !second.stdout.contains("epoch 1/"))
            }
            models.append(try Data(contentsOf: sub.appendingPathComponent("out/model.onnx")))
        }
        #expect(models.count == 2 && models[0] == models[1])
    }

    @Test func trainingFileErrorsExitWithCode2() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("train.yaml")
        try TinyScene.trainingFile(folder: folder, epochs: 1).replacingOccurrences(of: "batch_size:", with: "batchsize:")
            .write(to: file, atomically: true, encoding: .utf8)
        let result = try CLI.run(["train", file.path])
        #expect(result.status == 2)
        #expect(result.stderr == "landcover: \(file.path): unknown key 'training.batchsize'; did you mean 'training.batch_size'?\n")
        let missing = try CLI.run(["train", folder.appendingPathComponent("absent.yaml").path])
        #expect(missing.status == 2 && missing.stderr.contains("absent.yaml"))
    }

    /// Issue 4's acceptance line at suite scale: a small CNN trained on one generated 8-class
    /// scene reaches >= 95% overall accuracy per pixel on a scene generated with another seed.
    /// (The full-size check, 1024 x 1024 scenes, is `training/synthetic-8class.yaml`; figures in
    /// samples/model/README.md.)
    @Test func generatedEightClassSceneReaches95Percent() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Train on a 512 x 512 scene (seed 1), test on a 384 x 384 scene (seed 2).
        let sizes = ["train": 512, "test": 384]
        for (name, seed) in [("train", 1), ("test", 2)] {
            let generated = try CLI.run(["generate", folder.appendingPathComponent(name).path, "--size", "\(sizes[name] ?? 0)",
                                         "--seed", "\(seed)", "--compression", "none"])
            #expect(generated.status == 0, "\(generated.stderr)")
        }
        let repository = TestPaths.packageRoot.appendingPathComponent("training/synthetic-8class.yaml")
        let text = try String(contentsOf: repository, encoding: .utf8)
            .replacingOccurrences(of: "../out/synthetic/train/synthetic_seed1_1024x1024", with: "train/synthetic_seed1_512x512")
            .replacingOccurrences(of: "../out/synthetic/model.onnx", with: "model.onnx")
        #expect(text.contains("train/synthetic_seed1_512x512.tif") && text.contains("model: model.onnx"))
        let trainingFile = folder.appendingPathComponent("synthetic.yaml")
        try text.write(to: trainingFile, atomically: true, encoding: .utf8)
        let started = Date()
        let trained = try CLI.run(["train", trainingFile.path, "--workers", "2"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds < 300, "training took \(seconds) s")
        let test = folder.appendingPathComponent("test/synthetic_seed2_384x384").path
        let evaluated = try CLI.run(["evaluate", folder.appendingPathComponent("model.onnx").path, "--scene", test + ".tif",
                                     "--labels", test + "_labels.tif", "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let accuracy = try #require(try CLI.json(evaluated.stdout)["accuracy"] as? [String: Any])
        let oa = try #require(accuracy["overallAccuracy"] as? Double)
        #expect(oa >= 0.95, "overall accuracy \(oa) on the other seed")
    }

    /// The committed sample model still reaches its committed figures on its held-out strip, and
    /// they beat the committed random-forest baseline on the same split.
    @Test func sampleModelReachesItsCommittedFigures() throws {
        let model = TestPaths.packageRoot.appendingPathComponent("samples/model/landcover-33UUU.onnx").path
        let trainingFile = TestPaths.packageRoot.appendingPathComponent("training/sample-33UUU.yaml").path
        let committed = try CLI.json(String(decoding: try Data(contentsOf: TestPaths.packageRoot.appendingPathComponent("samples/model/evaluation.json")), as: UTF8.self))
        let forest = try CLI.json(String(decoding: try Data(contentsOf: TestPaths.packageRoot.appendingPathComponent("samples/model/random-forest.json")), as: UTF8.self))
        let result = try CLI.run(["evaluate", model, "--training-file", trainingFile, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let now = try #require(try CLI.json(result.stdout)["accuracy"] as? [String: Any])
        let then = try #require(committed["accuracy"] as? [String: Any])
        let oa = try #require(now["overallAccuracy"] as? Double), kappa = try #require(now["kappa"] as? Double)
        let f1 = try #require((now["macroAverages"] as? [String: Any])?["f1"] as? Double)
        // Inference is deterministic; allow for floating-point differences of other CPUs' kernels.
        #expect(abs(oa - ((then["overallAccuracy"] as? Double) ?? 0)) < 0.002)
        #expect(abs(kappa - ((then["kappa"] as? Double) ?? 0)) < 0.002)
        #expect(now["sampleCount"] as? Int == then["sampleCount"] as? Int)
        #expect(now["sampleCount"] as? Int == forest["testPixels"] as? Int)
        #expect(oa >= 0.65)
        #expect(kappa > ((forest["kappa"] as? Double) ?? 1) && f1 > ((forest["macroF1"] as? Double) ?? 1))
    }

    /// Fine-tuning from an ONNX model (the sample U-Net) on EuroSAT-style class folders: the head
    /// is replaced for the new legend, the normalization of the model is kept, and `evaluate
    /// --folder` counts one sample per patch.
    @Test func fineTuneAndEvaluateClassFolders() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = TestPaths.packageRoot
        let eurosat = root.appendingPathComponent("Tests/Fixtures/eurosat_ms").path
        let text = try String(contentsOf: root.appendingPathComponent("training/eurosat-finetune.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../Tests/Fixtures/eurosat_ms", with: eurosat)
            .replacingOccurrences(of: "../samples/model/landcover-33UUU.onnx", with: root.appendingPathComponent("samples/model/landcover-33UUU.onnx").path)
            .replacingOccurrences(of: "../out/eurosat-finetune/model.onnx", with: "model.onnx")
        let trainingFile = folder.appendingPathComponent("finetune.yaml")
        try text.write(to: trainingFile, atomically: true, encoding: .utf8)
        let trained = try CLI.run(["train", trainingFile.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("head replaced for 3 classes (was 7)") && trained.stderr.contains("normalization: inherited"))
        let model = folder.appendingPathComponent("model.onnx").path
        let info = try CLI.run(["model", "info", "--json", model])
        let contract = try #require(try CLI.json(info.stdout)["contract"] as? [String: String])
        #expect(contract["landcover.class_names"] == "HerbaceousVegetation,Highway,PermanentCrop" && contract["landcover.patch_size"] == "64")
        let evaluated = try CLI.run(["evaluate", model, "--folder", eurosat, "--band-order", "eurosat", "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let accuracy = try #require(try CLI.json(evaluated.stdout)["accuracy"] as? [String: Any])
        #expect(accuracy["sampleCount"] as? Int == 3)
        #expect(accuracy["classNames"] as? [String] == ["HerbaceousVegetation", "Highway", "PermanentCrop"])
    }
}

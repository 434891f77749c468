import CNN
import Foundation
import RasterIO
import TestSupport
import Testing

/// Models users bring (issue 16) through the `landcover` binary: `model info` reports a fixed
/// batch and the input layout, `model predict` streams the input in batches (float32 and float16
/// `.npy`) and matches onnxruntime, and `landcover run` classifies the sample scene with a
/// fixed-batch-1 model, a model whose weights are in an external `.onnx.data` file and a
/// channels-last model, all three exported by torch from the same network.
@Suite("models users bring, through the CLI", .serialized)
struct UserModelCLITests {
    /// The torch-exported models (scripts/onnx_fixtures/make_user_models.py), or nil with the
    /// reason printed when torch is not installed.
    static let models: Result<URL?, UserModelFixtureError> = {
        let directory = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/generated/user-models-cli")
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path) { return .success(directory) }
        do {
            let script = TestPaths.packageRoot.appendingPathComponent("scripts/onnx_fixtures/make_user_models.py").path
            let result = try CLI.run([script, "--out", directory.path, "--only", "cnn_batch1,cnn_external,cnn_nhwc,vit_dynamo,float16_ort"],
                                     executable: "python3")
            if result.status == 3 {
                print("SKIPPED: the torch-exported model tests: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                return .success(nil)
            }
            guard result.status == 0 else {
                return .failure(UserModelFixtureError(message: "make_user_models.py failed (status \(result.status)): \(result.stderr.suffix(2000))"))
            }
            return .success(directory)
        } catch {
            return .failure(UserModelFixtureError(message: "cannot run python3: \(error)"))
        }
    }()

    static func relativeL2(_ got: [Float], _ expected: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (g, e) in zip(got, expected) { difference += Double(g - e) * Double(g - e); norm += Double(e) * Double(e) }
        return norm == 0 ? difference.squareRoot() : (difference / norm).squareRoot()
    }

    @Test("model info reports a fixed batch and the input layout")
    func infoReportsBatchAndLayout() throws {
        guard let models = try Self.models.get() else { return }
        let fixed = try CLI.run(["model", "info", models.appendingPathComponent("cnn_batch1.onnx").path])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("Batch: fixed at 1"), "\(fixed.stdout)")
        let json = try CLI.json(try CLI.run(["model", "info", "--json", models.appendingPathComponent("cnn_batch1.onnx").path]).stdout)
        #expect(json["fixed_batch"] as? Int == 1)
        let nhwc = try CLI.json(try CLI.run(["model", "info", "--json", models.appendingPathComponent("cnn_nhwc.onnx").path]).stdout)
        #expect(nhwc["input_layout"] as? String == "NHWC")
        #expect(nhwc["fixed_batch"] is NSNull)
        // FLOPs per patch are the same whatever the export (one network, three forms).
        let external = try CLI.json(try CLI.run(["model", "info", "--json", models.appendingPathComponent("cnn_external.onnx").path]).stdout)
        #expect((json["flops_per_patch"] as? Int) != nil)
        #expect(json["flops_per_patch"] as? Int == external["flops_per_patch"] as? Int)
    }

    @Test("model predict streams batches, reads float16 .npy and matches onnxruntime")
    func predictMatchesOnnxruntime() throws {
        guard let models = try Self.models.get() else { return }
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, tolerance) in [("vit_dynamo", 1e-4), ("cnn_batch1", 1e-4), ("cnn_external", 1e-4), ("cnn_float16_ort", 1e-2), ("cnn_float16_io", 1e-2)] {
            for batchSize in ["2", "64"] {
                let output = folder.appendingPathComponent("\(name)-\(batchSize)")
                let result = try CLI.run(["model", "predict", models.appendingPathComponent("\(name).onnx").path,
                                          "--input", models.appendingPathComponent("\(name).input.npy").path,
                                          "--output-dir", output.path, "--batch-size", batchSize, "--threads", "2"])
                #expect(result.status == 0, "\(name): \(result.stderr)")
                guard result.status == 0 else { continue }
                #expect(result.stdout.contains("output: [5, 4]"), "\(name): \(result.stdout)")
                let got = try NumpyFile.read(contentsOf: output.appendingPathComponent("output.npy")).floatTensor
                let expected = try NumpyFile.read(contentsOf: models.appendingPathComponent("\(name).expected.npy")).floatTensor
                #expect(got.shape == expected.shape)
                #expect(Self.relativeL2(got.scalars, expected.scalars) <= tolerance, "\(name) batch \(batchSize)")
                #expect(try got.argmax(axis: 1) == expected.argmax(axis: 1), "\(name) batch \(batchSize)")
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0 != "output.npy" }
                #expect(leftovers.isEmpty, "\(leftovers)")
            }
        }
        // Batches of 2 and of 64 give the same bits.
        for name in ["vit_dynamo", "cnn_external"] {
            let small = try Data(contentsOf: folder.appendingPathComponent("\(name)-2/output.npy"))
            let large = try Data(contentsOf: folder.appendingPathComponent("\(name)-64/output.npy"))
            #expect(small == large, "\(name)")
        }
    }

    @Test("model predict names a missing external data file")
    func predictNamesMissingExternalData() throws {
        guard let models = try Self.models.get() else { return }
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("cnn_external.onnx")
        try FileManager.default.copyItem(at: models.appendingPathComponent("cnn_external.onnx"), to: model)
        let result = try CLI.run(["model", "predict", model.path, "--input", models.appendingPathComponent("cnn_external.input.npy").path,
                                  "--output-dir", folder.appendingPathComponent("out").path])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("landcover: "), "\(result.stderr)")
        #expect(result.stderr.contains("cnn_external.onnx.data"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// Runs the sample scene through `landcover run` with `model`; returns the map's class values.
    static func classify(model: URL, in folder: URL) throws -> (validate: String, classes: [UInt8])? {
        let output = folder.appendingPathComponent(model.deletingPathExtension().lastPathComponent)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let pipeline = output.appendingPathComponent("pipeline.yaml")
        try Data("""
        version: 1
        inputs:
          - \(TestPaths.packageRoot.appendingPathComponent("samples/s2l1c_33UUU_20170216_west").path)
        model: \(model.path)
        resolution: 10
        mode: patch
        output:
          folder: \(output.path)
          preview: false
          stac: false
        runtime:
          memory_mb: 256

        """.utf8).write(to: pipeline)
        let validate = try CLI.run(["validate", pipeline.path])
        #expect(validate.status == 0, "\(model.lastPathComponent): \(validate.stderr)")
        let run = try CLI.run(["run", pipeline.path, "--quiet"])
        #expect(run.status == 0, "\(model.lastPathComponent): \(run.stderr)")
        guard run.status == 0 else { return nil }
        let map = output.appendingPathComponent("s2l1c_33UUU_20170216_west_landcover.tif")
        let dataset = try RasterDataset(path: map.path)
        let classes = try dataset.read(window: dataset.fullWindow, bands: [1]).values.map { UInt8(clamping: Int($0)) }
        return (validate.stdout, classes)
    }

    @Test("landcover run classifies the sample scene with a fixed-batch-1, an external-data and an NHWC export alike")
    func runWithUserModels() throws {
        guard let models = try Self.models.get() else { return }
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        guard let fixed = try Self.classify(model: models.appendingPathComponent("cnn_batch1.onnx"), in: folder),
              let external = try Self.classify(model: models.appendingPathComponent("cnn_external.onnx"), in: folder),
              let nhwc = try Self.classify(model: models.appendingPathComponent("cnn_nhwc.onnx"), in: folder) else { return }
        #expect(fixed.validate.contains("batches of exactly 1"), "\(fixed.validate)")
        #expect(!fixed.classes.isEmpty)
        #expect(fixed.classes.count == external.classes.count && fixed.classes.count == nhwc.classes.count)
        // The same network exported three ways: (nearly) every pixel gets the same class.
        let agreeExternal = zip(fixed.classes, external.classes).filter { $0 == $1 }.count
        let agreeNHWC = zip(fixed.classes, nhwc.classes).filter { $0 == $1 }.count
        #expect(Double(agreeExternal) >= 0.999 * Double(fixed.classes.count), "\(agreeExternal) of \(fixed.classes.count)")
        #expect(Double(agreeNHWC) >= 0.999 * Double(fixed.classes.count), "\(agreeNHWC) of \(fixed.classes.count)")
        #expect(Set(fixed.classes).count > 1, "the map has a single class")
    }
}

struct UserModelFixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The `onnx` wheel's backend node test cases for every operator landcover supports, run through
/// `landcover model predict` by scripts/onnx_fixtures/backend_node_tests.py. Nothing may crash;
/// the pass rate may not fall below what was last measured (543 of 629, 86.3%; the issue asks
/// for 95%: the rest are listed in the script's report and README's limits).
@Suite("onnx backend node tests")
struct BackendNodeTests {
    @Test("backend node cases pass through model predict, none crashes")
    func backendNodeCases() throws {
        let check = try CLI.run(["-c", "import onnx.backend.test.case.node"], executable: "python3")
        guard check.status == 0 else {
            print("SKIPPED: the onnx Python package is not installed: \(check.stderr.suffix(300))")
            return
        }
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("report.json")
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/onnx_fixtures/backend_node_tests.py").path
        let operators = InferenceModel.supportedOperators.filter { $0 != "FusedConv" }.joined(separator: ",")
        let result = try CLI.run([script, "--landcover", CLI.binary, "--operators", operators, "--json", report.path,
                                  "--keep", folder.appendingPathComponent("cases").path], executable: "python3")
        #expect(result.status == 0, "\(result.stdout.suffix(3000)) \(result.stderr.suffix(2000))")
        let json = try CLI.json(String(decoding: try Data(contentsOf: report), as: UTF8.self))
        let passed = json["passed"] as? Int ?? 0, total = json["total"] as? Int ?? 0
        #expect((json["crashed"] as? [Any])?.isEmpty == true)
        #expect(total >= 590, "only \(total) cases were found")
        // 510 of 629 on 2026-12-07: the quantization operators brought 30 cases, 15 of them in types
        // with no .npy form (float8, int4, int2, float4), so the share fell from 83.6% to 81.1%.
        // 543 of 629 (86.3%) once Resize gained cubic, antialias and tf_crop_and_resize (39 of 39),
        // Dropout its mask output, pooling any number of axes and MaxPool's Indices, and
        // QuantizeLinear 16-bit outputs; 68 of the other 86 are float8/int4/int2/float4/bfloat16/string cases
        // the harness cannot feed or compare (no .npy form).
        #expect(Double(passed) >= 0.86 * Double(total), "\(passed) of \(total) passed:\n\(result.stdout)")
        print("onnx backend node tests through landcover model predict: \(passed)/\(total)")
    }
}

import Foundation
import RasterIO
import TestSupport
import Testing

/// `runtime.precision: int8` through the `landcover` binary on the sample: the sample model
/// quantized by onnxruntime (`quantize_static`) against the float model (issue 18's accuracy guard).
@Suite("runtime.precision: int8 on the sample", .serialized)
struct PrecisionCLITests {
    static let scene = TestPaths.package("samples/s2l1c_33UUU_20170216_west")
    static let floatModel = TestPaths.package("samples/model/landcover-33UUU.onnx")
    static let mapName = "s2l1c_33UUU_20170216_west_landcover.tif"

    /// The sample pipeline's settings with `model` at `precision`, writing into `folder`.
    static func pipeline(in folder: URL, model: String, precision: String) throws -> String {
        try PipelineFixtures.writePipeline(in: folder, """
        inputs: [\(scene)]
        model: \(model)
        resolution: 10
        tiling: {stride: 8}
        mode: segmentation
        output: {folder: out, format: cog, confidence: true, preview: false, stac: true}
        runtime: {memory_mb: 256, precision: \(precision)}
        """)
    }

    static func run(_ pipeline: String, threads: Int) throws -> CLI.Result {
        try CLI.run(["run", pipeline, "--threads", "\(threads)", "--force", "--quiet"])
    }

    /// The int8 map agrees with the float map on >= 99% of pixels, is the same for 1 and 2
    /// threads, and says it was made at int8 (map metadata, STAC item).
    @Test func int8MapAgreesWithFloatAndIsDeterministic() throws {
        let model = try QuantizedSample.ensure().appendingPathComponent("model_qdq.onnx").path
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let floatFolder = folder.appendingPathComponent("fp32"), intFolder = folder.appendingPathComponent("int8")
        for sub in [floatFolder, intFolder] { try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true) }
        let floatRun = try Self.run(try Self.pipeline(in: floatFolder, model: Self.floatModel, precision: "fp32"), threads: 2)
        #expect(floatRun.status == 0, "\(floatRun.stderr)")
        let intPipeline = try Self.pipeline(in: intFolder, model: model, precision: "int8")
        var maps: [Data] = []
        for threads in [1, 2] {
            let run = try Self.run(intPipeline, threads: threads)
            #expect(run.status == 0, "\(run.stderr)")
            maps.append(try Data(contentsOf: intFolder.appendingPathComponent("out/\(Self.mapName)")))
        }
        #expect(maps[0] == maps[1], "1 and 2 threads give different int8 maps")

        let fp32 = try PipelineFixtures.readBand(floatFolder.appendingPathComponent("out/\(Self.mapName)").path)
        let int8 = try PipelineFixtures.readBand(intFolder.appendingPathComponent("out/\(Self.mapName)").path)
        #expect(fp32.values.count == int8.values.count && fp32.values.count == 1008 * 768)
        let same = zip(fp32.values, int8.values).filter { $0 == $1 }.count
        let agreement = Double(same) / Double(max(1, fp32.values.count))
        #expect(agreement >= 0.99, "int8 agrees with fp32 on \(agreement * 100)% of pixels")

        let metadata = try RasterDataset(path: intFolder.appendingPathComponent("out/\(Self.mapName)").path).metadata()
        #expect(metadata["LANDCOVER_PRECISION"] == "int8")
        let floatMetadata = try RasterDataset(path: floatFolder.appendingPathComponent("out/\(Self.mapName)").path).metadata()
        #expect(floatMetadata["LANDCOVER_PRECISION"] == nil, "fp32 maps keep the metadata they always had")
        let stacPath = intFolder.appendingPathComponent("out/s2l1c_33UUU_20170216_west_landcover.stac.json")
        let stac = try CLI.json(String(decoding: try Data(contentsOf: stacPath), as: UTF8.self))
        #expect((stac["properties"] as? [String: Any])?["landcover:precision"] as? String == "int8")
    }

    /// On the sample model's held-out strip, the quantized model at int8 moves overall accuracy
    /// by less than half a point.
    @Test func heldOutAccuracyMovesLessThanHalfAPoint() throws {
        let model = try QuantizedSample.ensure().appendingPathComponent("model_qdq.onnx").path
        func accuracy(_ model: String, _ precision: String) throws -> Double {
            let result = try CLI.run(["evaluate", model, "--training-file", TestPaths.package("training/sample-33UUU.yaml"),
                                      "--precision", precision, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            return (try CLI.json(result.stdout)["accuracy"] as? [String: Any])?["overallAccuracy"] as? Double ?? -1
        }
        let float = try accuracy(Self.floatModel, "fp32"), int8 = try accuracy(model, "int8")
        #expect(float > 0.6 && abs(int8 - float) < 0.005, "overall accuracy fp32 \(float), int8 \(int8)")
    }

    /// A float model asked to run at int8 is refused before any scene, naming the key.
    @Test func int8OnAFloatModelIsRefused() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try CLI.run(["validate", try Self.pipeline(in: folder, model: Self.floatModel, precision: "int8")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("runtime.precision") && result.stderr.contains("quantized (QDQ) model"), "\(result.stderr)")
        #expect(!result.stderr.contains("PipelineError") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}

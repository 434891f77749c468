import Foundation
import RasterIO
import TestSupport
import Testing

/// `landcover classify`: the one-line form of `run` writes the same bytes, grows into a
/// pipeline file, and reports bad flags by name.
@Suite("classify", .serialized)
struct ClassifyCLITests {
    static let sampleModel = TestPaths.package("samples/model/landcover-33UUU.onnx")
    static let sampleScene = TestPaths.package("samples/s2l1c_33UUU_20170216_west")
    static let sampleMap = "s2l1c_33UUU_20170216_west_landcover"

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The acceptance test of issue 19: pipelines/sample.yaml (what scripts/run-sample.sh runs)
    /// and `classify` with the same settings write byte-identical maps.
    @Test func samplePipelineAndClassifyWriteByteIdenticalMaps() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let byRun = folder.appendingPathComponent("run"), byClassify = folder.appendingPathComponent("classify")
        let run = try CLI.run(["run", TestPaths.package("pipelines/sample.yaml"), "--output-folder", byRun.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        // sample.yaml: resolution 10, stride 8, segmentation, COG, confidence, preview, STAC,
        // GeoPackage polygons, memory_mb 256.
        let classify = try CLI.run(["classify", Self.sampleModel, Self.sampleScene, "-o", byClassify.path, "--resolution", "10",
                                    "--stride", "8", "--mode", "segmentation", "--cog", "--polygons", "gpkg", "--memory-mb", "256"])
        #expect(classify.status == 0, "\(classify.stderr)")
        let map = byClassify.appendingPathComponent("\(Self.sampleMap).tif").path
        #expect(classify.stdout == "\(map)\n")
        for suffix in [".tif", "_confidence.tif", ".tif.aux.xml", ".qml"] {
            let name = Self.sampleMap + suffix
            let a = try Self.bytes(byRun.appendingPathComponent(name).path), b = try Self.bytes(byClassify.appendingPathComponent(name).path)
            #expect(a.count > 0 && a == b, "\(name): run wrote \(a.count) bytes, classify \(b.count), not the same bytes")
        }
        for name in ["_preview.png", ".stac.json", ".gpkg"] {
            #expect(FileManager.default.fileExists(atPath: byClassify.appendingPathComponent(Self.sampleMap + name).path), "\(name)")
        }
        // No history, lock or report.
        let written = try FileManager.default.contentsOfDirectory(atPath: byClassify.path)
        #expect(!written.contains { $0.hasSuffix(".sqlite") || $0.hasSuffix(".lock") || $0 == "reports" || $0.hasSuffix("report.json") }, "\(written)")
    }

    /// `--print-pipeline` writes the pipeline file `run` turns into the same maps; flags that are
    /// not the defaults (one resampling method, creation options, outputs) are in it.
    @Test func printedPipelineRunsToByteIdenticalMaps() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenes = folder.appendingPathComponent("scenes")
        try FileManager.default.createDirectory(at: scenes, withIntermediateDirectories: true)
        try PipelineFixtures.writeScene(scenes.appendingPathComponent("T1.tif").path, width: 96, height: 80)
        try PipelineFixtures.writeScene(scenes.appendingPathComponent("T2.tif").path, width: 64, height: 64) { x, y in x < 10 && y < 10 }
        let model = folder.appendingPathComponent("m.onnx").path
        try PipelineFixtures.writeModel(model, patchSize: 16)
        let flags = ["--mode", "dense", "--stride", "8", "--resampling", "cubic", "--cog", "--co", "BLOCKSIZE=256",
                     "--probabilities", "--no-preview", "--no-stac", "--threads", "2"]
        let direct = folder.appendingPathComponent("direct"), viaRun = folder.appendingPathComponent("via-run")
        let classify = try CLI.run(["classify", model, scenes.path + "/*.tif", "-o", direct.path, "--quiet"] + flags)
        #expect(classify.status == 0 && classify.stdout.isEmpty && classify.stderr.isEmpty, "\(classify.stdout) \(classify.stderr)")

        let pipeline = folder.appendingPathComponent("nightly.yaml").path
        let print = try CLI.run(["classify", model, scenes.path + "/*.tif", "-o", viaRun.path, "--print-pipeline", pipeline] + flags)
        #expect(print.status == 0, "\(print.stderr)")
        #expect(!FileManager.default.fileExists(atPath: viaRun.path), "--print-pipeline classifies nothing")
        let text = try String(contentsOfFile: pipeline, encoding: .utf8)
        for line in ["mode: \"dense\"", "stride: 8", "resampling: \"cubic\"", "format: \"cog\"", "BLOCKSIZE: \"256\"",
                     "probabilities: true", "preview: false", "stac: false", "threads: 2", "folder: \"\(viaRun.path)\""] {
            #expect(text.contains(line), "\(line) not in \(text)")
        }
        let stdout = try CLI.run(["classify", model, scenes.path + "/*.tif", "-o", viaRun.path, "--print-pipeline", "-"] + flags)
        #expect(stdout.status == 0 && text.hasSuffix(stdout.stdout), "\(stdout.stdout)")

        let run = try CLI.run(["run", pipeline, "--quiet"])
        #expect(run.status == 0 && run.stdout.contains("2 done"), "\(run.stdout) \(run.stderr)")
        for scene in ["T1", "T2"] {
            for suffix in ["_landcover.tif", "_landcover_confidence.tif", "_landcover_probabilities.tif"] {
                let a = try Self.bytes(direct.appendingPathComponent(scene + suffix).path)
                let b = try Self.bytes(viaRun.appendingPathComponent(scene + suffix).path)
                #expect(a.count > 0 && a == b, "\(scene)\(suffix): classify \(a.count) bytes, run \(b.count)")
            }
        }
        // The creation option reached the COG driver.
        let info = try TestRasters.gdalinfo(direct.appendingPathComponent("T1_landcover.tif").path)
        let band = ((info["bands"] as? [[String: Any]]) ?? []).first
        #expect(band?["block"] as? [Int] == [256, 256], "\(band ?? [:])")
        #expect(!FileManager.default.fileExists(atPath: direct.appendingPathComponent("T1_landcover_preview.png").path))
    }

    /// -o names the map with one scene; several scenes need a folder. Bad values are named by
    /// their flag, exit 2, before anything is written.
    @Test func outputFileAndFlagErrors() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = folder.appendingPathComponent("T1.tif").path
        try PipelineFixtures.writeScene(scene, width: 64, height: 48)
        try PipelineFixtures.writeScene(folder.appendingPathComponent("T2.tif").path, width: 64, height: 48)
        let model = folder.appendingPathComponent("m.onnx").path
        try PipelineFixtures.writeModel(model, patchSize: 16)
        let out = folder.appendingPathComponent("out/map.tif").path
        let one = try CLI.run(["classify", model, scene, "-o", out, "--no-stac"])
        #expect(one.status == 0 && one.stdout == "\(out)\n", "\(one.stderr)")
        for name in ["map.tif", "map.qml", "map_confidence.tif", "map_preview.png"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/\(name)").path), "\(name)")
        }

        let refused: [([String], String)] = [
            ([scene, "-o", folder.appendingPathComponent("x").path, "--stride", "80"], "landcover: --stride: '80' must be"),
            ([folder.path + "/T*.tif", "-o", folder.appendingPathComponent("two.tif").path], "names one map file but the arguments are 2 scenes"),
            ([scene, "-o", folder.appendingPathComponent("x").path, "--co", "COMPRESS=LZW"], "--co: 'COMPRESS=LZW' COMPRESS is set by output.compression"),
            ([scene, "-o", folder.appendingPathComponent("x").path, "--co", "NO_SUCH=1"], "the GTiff driver refuses it"),
            ([scene, "-o", folder.appendingPathComponent("x").path, "--mode", "fast"], "--mode: 'fast' must be one of "),
            ([scene, "-o", folder.appendingPathComponent("x").path, "--resampling", "B05=sharp"], "--resampling: 'B05=sharp' must be METHOD"),
            ([folder.appendingPathComponent("missing.tif").path, "-o", folder.appendingPathComponent("x").path], "SCENE: "),
        ]
        for (arguments, message) in refused {
            let result = try CLI.run(["classify", model] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("two.tif").path))
    }
}

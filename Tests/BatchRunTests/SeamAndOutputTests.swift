import CNN
import BatchRun
import Classification
import Config
import Foundation
import Logging
import RasterIO
import TestSupport
import Testing

@Suite("Dense blending has no seams; outputs are valid GeoTIFF, PNG and STAC")
struct SeamAndOutputTests {
    /// Disagreement between tiled dense segmentation and the model run once over the whole scene
    /// (full context): pixels within 2 px of a patch border must not disagree more often than
    /// pixels inside patches. Without overlap the border is worse, which shows the measure bites.
    @Test func denseBlendingHasNoSeams() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let width = 256, height = 192, patch = 32
        let scene = folder.appendingPathComponent("scene.tif").path
        try PipelineFixtures.writeScene(scene, width: width, height: height)
        let modelPath = folder.appendingPathComponent("segmenter.onnx").path
        try PipelineFixtures.writeModel(modelPath, patchSize: patch, segmentation: true)

        // Full-context reference: the fully convolutional model over the whole scene at once.
        let model = try InferenceModel(contentsOf: URL(fileURLWithPath: modelPath))
        let contract = try model.requireContract()
        let affine = contract.normalization.affine
        let dataset = try RasterDataset(path: scene)
        let buffer = try dataset.read(window: RasterWindow(width: width, height: height))
        var input = [Float](repeating: 0, count: buffer.values.count)
        let plane = width * height
        for b in 0..<buffer.bandCount { for i in 0..<plane { input[b * plane + i] = buffer.values[b * plane + i] * affine.scale[b] + affine.offset[b] } }
        let logits = try model.makeSession().run(input: try Tensor(shape: [1, buffer.bandCount, height, width], scalars: input))
        let k = contract.classNames.count
        var reference = [Int](repeating: 0, count: plane)
        for i in 0..<plane {
            var best = -Float.infinity
            for c in 0..<k where logits.scalars[c * plane + i] > best { best = logits.scalars[c * plane + i]; reference[i] = c }
        }

        func disagreement(stride: Int) throws -> (border: Double, interior: Double) {
            let path = try PipelineFixtures.writePipeline(in: folder, """
            inputs: [scene.tif]
            model: segmenter.onnx
            tiling: {stride: \(stride)}
            output: {folder: out\(stride), stac: false, preview: false, confidence: false}
            """)
            let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: path), pipelinePath: path)
            let report = try PipelineRunner(plan: plan, toolVersion: "test", logger: Logger(label: "test")).run()
            let map = try PipelineFixtures.readBand(try #require(report.scenes.first?.output))
            var counts = (border: 0, borderWrong: 0, interior: 0, interiorWrong: 0)
            for y in 2..<(height - 2) {
                for x in 2..<(width - 2) {
                    let nearBorder = [x % stride, y % stride].contains { $0 <= 1 || $0 >= stride - 2 }
                    let wrong = map.values[y * width + x] != reference[y * width + x]
                    if nearBorder { counts.border += 1; counts.borderWrong += wrong ? 1 : 0 } else { counts.interior += 1; counts.interiorWrong += wrong ? 1 : 0 }
                }
            }
            return (Double(counts.borderWrong) / Double(counts.border), Double(counts.interiorWrong) / Double(counts.interior))
        }
        let blended = try disagreement(stride: patch / 2)
        #expect(blended.border <= blended.interior, "dense (stride \(patch / 2)): border \(blended.border) vs interior \(blended.interior)")
        let tiled = try disagreement(stride: patch)
        #expect(tiled.border > tiled.interior, "without overlap the border should be worse: \(tiled)")
    }

    @Test func outputsOpenInGDALWithPreviewAndValidSTAC() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try PipelineFixtures.writeScene(folder.appendingPathComponent("S2A_MSIL1C_20170216T100101_T33UUU.tif").path, width: 300, height: 200,
                                        isNodata: { x, _ in x < 20 })
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 32)
        let path = try PipelineFixtures.writePipeline(in: folder, """
        inputs: ["S2A_*.tif"]
        model: model.onnx
        output: {folder: out, name: "{scene}_{model}_{date}.tif", format: cog}
        """)
        let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: path), pipelinePath: path)
        let report = try PipelineRunner(plan: plan, toolVersion: "test", logger: Logger(label: "test")).run()
        let scene = try #require(report.scenes.first)
        #expect(scene.status == .done, "\(scene.error ?? "")")
        let output = try #require(scene.output)
        #expect(output.hasSuffix("S2A_MSIL1C_20170216T100101_T33UUU_model_2017-02-16.tif"))

        let info = try RasterDataset(path: output)
        #expect(info.spatialReference?.epsg == 32633)
        #expect(info.width == 300 && info.height == 200)
        #expect(info.bands.first?.nodata == 255)
        #expect(Array(info.bands.first?.categoryNames.prefix(4) ?? []) == PipelineFixtures.classNames)
        #expect(info.bands.count == 1, "the class band; confidence has its own file")
        let confidence = try RasterDataset(path: output.replacingOccurrences(of: ".tif", with: "_confidence.tif"))
        #expect(confidence.bands.count == 1 && confidence.width == 300 && confidence.bands.first?.nodata == 255)
        #expect(FileManager.default.fileExists(atPath: output.replacingOccurrences(of: ".tif", with: ".qml")))

        let preview = try RasterDataset(path: try #require(scene.preview))
        #expect(preview.bands.count == 4)
        #expect(preview.width > 512, "map magnified to 512 px plus the legend")

        let stac = try #require(scene.stac)
        let item = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stac))) as? [String: Any])
        #expect((item["properties"] as? [String: Any])?["datetime"] as? String == "2017-02-16T10:01:01Z", "sensing time from the file name")
        let check = try CommandLineTool.outcome("python3", ["-c", "import json, sys\nfrom stac_pydantic import Item\nItem.model_validate(json.load(open(sys.argv[1])))\nprint('ok')", stac])
        #expect(check.status == 0, "stac-pydantic rejected the item: \(check.stdout)\(check.stderr)")
    }

    /// `output.polygons`: the polygons of each class cover exactly that class's pixels of the map
    /// (areas through ogr2ogr), the file is a recorded output and a STAC asset, and a rerun skips
    /// the scene until the polygons file goes missing.
    @Test func polygonsCoverTheMapsClassesAndAreARecordedOutput() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try PipelineFixtures.writeScene(folder.appendingPathComponent("S2A_MSIL1C_20170216T100101_T33UUU.tif").path, width: 300, height: 200,
                                        isNodata: { x, y in x < 20 || (x - 150) * (x - 150) + (y - 100) * (y - 100) < 400 })
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 32)
        let path = try PipelineFixtures.writePipeline(in: folder, """
        inputs: ["S2A_*.tif"]
        model: model.onnx
        mode: dense
        tiling: {stride: 16}
        output: {folder: out, polygons: gpkg, polygon_connectivity: 8}
        """)
        let historyPath = folder.appendingPathComponent("out/landcover-history.sqlite").path
        func run() throws -> SceneReport {
            let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: path), pipelinePath: path)
            try FileManager.default.createDirectory(atPath: folder.appendingPathComponent("out").path, withIntermediateDirectories: true)
            let report = try PipelineRunner(plan: plan, toolVersion: "test", logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
                .run(options: BatchOptions(history: try RunHistory(path: historyPath)))
            return try #require(report.scenes.first)
        }
        let scene = try run()
        #expect(scene.status == .done, "\(scene.error ?? "")")
        let polygons = try #require(scene.polygons)
        #expect(polygons.hasSuffix("S2A_MSIL1C_20170216T100101_T33UUU_landcover.gpkg"))
        #expect(scene.outputs?.contains { $0.role == .polygons && $0.path == polygons } == true)

        // Per class, the polygons' area is the class's pixel count times 100 m^2.
        let csv = try CommandLineTool.run("ogr2ogr", ["-f", "CSV", "/vsistdout/", polygons, "-dialect", "SQLITE", "-sql",
                                                        "SELECT class, name, CAST(SUM(ST_Area(geom)) AS INTEGER) FROM landcover GROUP BY class, name ORDER BY class"])
        let rows = csv.split(separator: "\n").dropFirst().map { $0.replacingOccurrences(of: "\"", with: "") }
        let classes = try #require(scene.classes)
        let expected = classes.enumerated().filter { $0.element.pixels > 0 }.map { "\($0.offset),\($0.element.name),\($0.element.pixels * 100)" }
        #expect(rows == expected)
        #expect(expected.count >= 2)

        let stac = try #require(scene.stac)
        let item = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stac))) as? [String: Any])
        let asset = try #require((item["assets"] as? [String: Any])?["polygons"] as? [String: Any])
        #expect(asset["href"] as? String == "./S2A_MSIL1C_20170216T100101_T33UUU_landcover.gpkg")
        #expect(asset["type"] as? String == "application/geopackage+sqlite3")

        #expect(try run().status == .skipped)
        try FileManager.default.removeItem(atPath: polygons)
        let redone = try run()
        #expect(redone.status == .done && redone.reason == "polygons output missing", "\(redone.reason ?? "")")
        #expect(FileManager.default.fileExists(atPath: polygons))
    }
}

import CNN
import Classification
import Config
import Foundation
import Logging
import BatchRun
import Products
import RasterIO
import TestSupport
import Testing

/// The STAC item's `datetime` fallbacks and its assets, validated offline by scripts/validate_stac.py
/// against the schemas in ../shared/data/stac-schemas.
@Suite("STAC item datetime fallbacks and assets")
struct STACItemTests {
    static let schemas = TestPaths.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/stac-schemas").path
    static let validator = TestPaths.packageRoot.appendingPathComponent("scripts/validate_stac.py").path

    /// Runs one synthetic scene named `sceneFile` and returns its item and path.
    static func item(sceneFile: String, output: String) throws -> (item: [String: Any], path: String, folder: URL) {
        let folder = try TestPaths.temporaryFolder("stac-\(sceneFile)")
        try PipelineFixtures.writeScene(folder.appendingPathComponent(sceneFile).path, width: 96, height: 64, isNodata: { x, _ in x < 8 })
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 16)
        let path = try PipelineFixtures.writePipeline(in: folder, """
        inputs: [\(sceneFile)]
        model: model.onnx
        output: \(output)
        """)
        let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: path), pipelinePath: path)
        let report = try PipelineRunner(plan: plan, toolVersion: "1.0.0-test", logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }).run()
        let scene = try #require(report.scenes.first)
        #expect(scene.status == .done, "\(scene.error ?? "")")
        let stac = try #require(scene.stac)
        let item = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stac))) as? [String: Any])
        return (item, stac, folder)
    }

    static func validate(_ path: String) throws {
        let output = try CommandLineTool.run("python3", [validator, "--schemas", schemas, "--require-extension", "mlm", path])
        #expect(output.contains(": ok ("), "\(output)")
    }

    /// A date in the name but no time: `datetime` null and the UTC day as the range.
    @Test func dateWithoutTimeGivesTheDayAsARange() throws {
        let (item, path, folder) = try Self.item(sceneFile: "scene_20170216.tif",
                                                 output: "{folder: out, probabilities: true, polygons: geojson, confidence: false}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let properties = try #require(item["properties"] as? [String: Any])
        #expect(properties["datetime"] is NSNull)
        #expect(properties["start_datetime"] as? String == "2017-02-16T00:00:00Z")
        #expect(properties["end_datetime"] as? String == "2017-02-16T23:59:59Z")
        let assets = try #require(item["assets"] as? [String: Any])
        #expect(Set(assets.keys).isSuperset(of: ["classification", "probabilities", "preview", "polygons", "model"]), "\(assets.keys.sorted())")
        #expect((assets["model"] as? [String: Any])?["href"] as? String == "../model.onnx")
        let links = (item["links"] as? [[String: Any]]) ?? []
        #expect(links.map { $0["href"] as? String } == ["../scene_20170216.tif"] && links.first?["rel"] as? String == "derived_from")
        #expect((properties["mlm:architecture"] as? String) == "CNN")
        #expect((properties["mlm:tasks"] as? [String]) == ["scene-classification", "classification"])
        try Self.validate(path)
    }

    /// No date anywhere: `datetime` is the processing time, and the item says so.
    @Test func noDateFallsBackToTheProcessingTime() throws {
        let before = Date()
        let (item, path, folder) = try Self.item(sceneFile: "scene.tif", output: "{folder: out}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let properties = try #require(item["properties"] as? [String: Any])
        let datetime = try #require(properties["datetime"] as? String)
        #expect(datetime == properties["created"] as? String)
        let parsed = try #require(ISO8601DateFormatter().date(from: datetime))
        #expect(parsed.timeIntervalSince(before) > -2 && parsed.timeIntervalSinceNow < 2)
        #expect((properties["landcover:datetime_source"] as? String)?.hasPrefix("processing time") == true)
        try Self.validate(path)
    }

    /// A recorded `style` output (the QGIS `.qml` the map gets beside it) becomes a `style`
    /// asset with its checksum, and the item still validates; the scene's other files, rebuilt
    /// into an item through the public builder, keep their assets.
    @Test func recordedStyleOutputBecomesAnAsset() throws {
        let (_, path, folder) = try Self.item(sceneFile: "S2B_MSIL2A_20200219T112119_T29RKH.tif", output: "{folder: out}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out")
        let map = out.appendingPathComponent("S2B_MSIL2A_20200219T112119_T29RKH_landcover.tif").path
        let style = out.appendingPathComponent("S2B_MSIL2A_20200219T112119_T29RKH_landcover.qml").path
        try Data("<!DOCTYPE qgis><qgis/>\n".utf8).write(to: URL(fileURLWithPath: style))
        let records = try [(OutputRole.map, map), (.style, style)].map { role, file in
            let stamp = try FileStamp(path: file)
            return OutputFileRecord(role: role, path: file, bytes: stamp.bytes, modifiedNanoseconds: stamp.modifiedNanosecondsSince1970,
                                    sha256: try SHA256Hex.hex(ofFile: file))
        }
        let dataset = try RasterDataset(path: map)
        let grid = SceneGrid(width: dataset.width, height: dataset.height, geoTransform: try #require(dataset.geoTransform),
                             spatialReference: dataset.spatialReference)
        let modelPath = folder.appendingPathComponent("model.onnx").path
        let model = try STACModelDescription(model: try InferenceModel(contentsOf: URL(fileURLWithPath: modelPath)), path: modelPath,
                                             sha256: try SHA256Hex.hex(ofFile: modelPath), bytes: Int(try FileStamp(path: modelPath).bytes))
        let legend = try ClassLegend(names: PipelineFixtures.classNames,
                                     colors: PipelineFixtures.colors.map { RGBColor(red: $0.red, green: $0.green, blue: $0.blue) })
        let scene = try Scene.assemble(inputs: [folder.appendingPathComponent("S2B_MSIL2A_20200219T112119_T29RKH.tif").path])
        let item = try STACItem.make(id: "styled", itemPath: path, grid: grid, legend: legend, outputs: records, cloudOptimized: false,
                                     acquisition: AcquisitionTime.find(in: scene), date: nil, created: Date(), model: model,
                                     modelPath: modelPath, sourceFiles: scene.inputs, softwareVersion: "1.0.0-test", properties: [:])
        let assets = try #require(item["assets"] as? [String: Any])
        let asset = try #require(assets["style"] as? [String: Any])
        #expect(asset["href"] as? String == "./S2B_MSIL2A_20200219T112119_T29RKH_landcover.qml")
        #expect(asset["file:checksum"] as? String == "1220" + (try SHA256Hex.hex(ofFile: style)))
        #expect(Set(assets.keys) == ["classification", "style", "model"])
        #expect((item["properties"] as? [String: Any])?["datetime"] as? String == "2020-02-19T11:21:19Z")
        try STACItem.writeJSON(item, to: path)
        try Self.validate(path)
    }
}

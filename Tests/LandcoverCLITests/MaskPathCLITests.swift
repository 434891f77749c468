import Foundation
import RasterIO
import TestSupport
import Testing

/// `nodata.mask.path`: a separate mask raster on another grid of the scene's CRS, put on the scene
/// grid with nearest neighbour, through `landcover run`.
@Suite("nodata.mask.path") struct MaskPathCLITests {
    /// The scene of these tests: 64 x 48 pixels of 10 m at (409960, 5300040), EPSG:32633.
    static let sceneOrigin = (x: 409_960.0, y: 5_300_040.0)

    /// A Byte mask of 20 m pixels whose grid starts 40 m (two mask pixels) west and north of the
    /// scene and covers it with a margin; `value(column)` gives each mask column's value.
    private func writeMask(_ path: String, value: (Int) -> UInt8) throws {
        let width = 36, height = 28
        let grid = SceneGrid(width: width, height: height,
                             geoTransform: GeoTransform(originX: Self.sceneOrigin.x - 40, pixelWidth: 20, rowRotation: 0,
                                                        originY: Self.sceneOrigin.y + 40, columnRotation: 0, pixelHeight: -20),
                             spatialReference: try SpatialReference("EPSG:32633"))
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: grid, bandCount: 1, dataType: .byte))
        var values = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { values[y * width + x] = value(x) } }
        try writer.write(band: 1, window: RasterWindow(width: width, height: height), values: values)
        try writer.commit()
    }

    /// Runs the pipeline with `nodata` settings into `out-<tag>` and returns the map's classes and
    /// its confidence file's values as read back by GDAL.
    private func run(_ folder: URL, tag: String, nodata: String) throws -> (classes: [Float], confidence: [Float], valid: [UInt8]) {
        let pipeline = folder.appendingPathComponent("pipeline-\(tag).yaml").path
        try """
        inputs: [scene.tif]
        model: model.onnx
        output: {folder: out-\(tag), preview: false, stac: false}
        runtime: {threads: 1, batch_size: 8}
        \(nodata)
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let result = try CLI.run(["run", pipeline], environment: ["LANDCOVER_SHARD_COUNT": ""])
        #expect(result.status == 0, "\(tag): \(result.stderr)")
        let map = try RasterDataset(path: folder.appendingPathComponent("out-\(tag)/scene_landcover.tif").path)
        #expect(map.width == 64 && map.height == 48)
        let classes = try map.read(window: map.fullWindow, bands: [1])
        let confidence = try RasterDataset(path: folder.appendingPathComponent("out-\(tag)/scene_landcover_confidence.tif").path)
        let confidenceValues = try confidence.read(window: confidence.fullWindow, bands: [1])
        return (classes.values, confidenceValues.values, classes.validity)
    }

    @Test("an all-cloud mask makes the whole map nodata; a half-cloud mask exactly that half, the other half as without a mask")
    func allAndHalfCloud() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try BatchFixture.writeScene(folder.appendingPathComponent("scene.tif").path, width: 64, height: 48, seed: 1)
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path)
        // SCL-like values: 9 = cloud (high probability), 4 = vegetation.
        try writeMask(folder.appendingPathComponent("cloud.tif").path) { _ in 9 }
        // Mask columns 0-17 cover scene columns 0-31 (x = 20 * column - 40 m): a patch boundary.
        try writeMask(folder.appendingPathComponent("half.tif").path) { $0 < 18 ? 200 : 4 }

        let plain = try run(folder, tag: "plain", nodata: "")
        #expect(plain.valid.allSatisfy { $0 == 1 }, "the scene has no nodata of its own")
        #expect(plain.classes.allSatisfy { $0 < 4 })

        // Default invalid values (SCL nodata, defective, shadow, clouds, cirrus) include 9.
        let cloud = try run(folder, tag: "cloud", nodata: "nodata: {mask: {path: cloud.tif}}")
        #expect(cloud.classes.allSatisfy { $0 == 255 }, "every pixel is nodata under an all-cloud mask")
        #expect(cloud.valid.allSatisfy { $0 == 0 })

        let half = try run(folder, tag: "half", nodata: "nodata: {mask: {path: half.tif, invalid: [200]}}")
        var masked = 0, same = 0
        for y in 0..<48 {
            for x in 0..<64 {
                let i = y * 64 + x
                if x < 32 {
                    if half.classes[i] == 255 && half.valid[i] == 0 { masked += 1 }
                } else if half.classes[i] == plain.classes[i] && half.confidence[i] == plain.confidence[i] && half.valid[i] == 1 {
                    same += 1
                }
            }
        }
        #expect(masked == 32 * 48, "the cloudy half is nodata")
        #expect(same == 32 * 48, "the clear half is classified as without a mask")

        // The report counts the masked pixels as nodata.
        let report = try CLI.json(String(contentsOf: folder.appendingPathComponent("out-half/landcover-report.json"), encoding: .utf8))
        let scenes = report["scenes"] as? [[String: Any]] ?? []
        #expect(scenes.first?["nodata_pixels"] as? Int == 32 * 48, "\(scenes.first ?? [:])")
    }

    @Test("a mask raster in another CRS is refused by validate and run, naming the mask")
    func maskInAnotherCRS() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try BatchFixture.writeScene(folder.appendingPathComponent("scene.tif").path, width: 64, height: 48, seed: 1)
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path)
        try writeMask(folder.appendingPathComponent("utm.tif").path) { _ in 4 }
        let other = folder.appendingPathComponent("wgs84.tif").path
        _ = try CLI.run(["-q", "-t_srs", "EPSG:4326", folder.appendingPathComponent("utm.tif").path, other], executable: "gdalwarp")
        let pipeline = folder.appendingPathComponent("pipeline.yaml").path
        try """
        inputs: [scene.tif]
        model: model.onnx
        output: {folder: out, preview: false, stac: false}
        nodata: {mask: {path: wgs84.tif}}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let validate = try CLI.run(["validate", pipeline])
        #expect(validate.status == 2, "\(validate.stdout) \(validate.stderr)")
        #expect((validate.stdout + validate.stderr).contains("wgs84.tif"), "\(validate.stdout) \(validate.stderr)")
        let run = try CLI.run(["run", pipeline])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("wgs84.tif"), "\(run.stderr)")
    }
}

import Foundation
import RasterIO
import TestSupport
import Testing

/// Every example pipeline under `pipelines/` is run through the `landcover` binary, and the sample
/// pipeline's outputs are checked the way a GIS user would open them.
@Suite("example pipelines", .serialized)
struct ExamplePipelineTests {
    static let pipelinesFolder = TestPaths.packageRoot.appendingPathComponent("pipelines")

    static var examples: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: pipelinesFolder.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    }

    @Test func everyExamplePipelineValidatesAndRuns() throws {
        #expect(Self.examples.contains("sample.yaml"), "pipelines/ holds \(Self.examples)")
        for name in Self.examples {
            let pipeline = Self.pipelinesFolder.appendingPathComponent(name).path
            let folder = try TestPaths.temporaryFolder("example-\(name)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let validate = try CLI.run(["validate", pipeline, "--json"])
            #expect(validate.status == 0, "\(name): \(validate.stdout) \(validate.stderr)")
            // The files validate announces, by name (it plans into the pipeline's own folder).
            let planned = ((try CLI.json(validate.stdout)["scenes"] as? [[String: Any]]) ?? []).flatMap { scene in
                ["output", "probabilities", "preview", "polygons", "stac"].compactMap { scene[$0] as? String }
                    .map { URL(fileURLWithPath: $0).lastPathComponent }
            }
            #expect(!planned.isEmpty, "\(name): \(validate.stdout)")
            let run = try CLI.run(["run", pipeline, "--output-folder", folder.path, "--quiet"])
            #expect(run.status == 0, "\(name): \(run.stderr)")
            #expect(run.stdout.contains("0 failed"), "\(name): \(run.stdout)")
            let report = try CLI.json(String(decoding: try Data(contentsOf: folder.appendingPathComponent("landcover-report.json")), as: UTF8.self))
            let scenes = (report["scenes"] as? [[String: Any]]) ?? []
            #expect(!scenes.isEmpty && scenes.allSatisfy { $0["status"] as? String == "done" }, "\(name): \(scenes)")
            for file in planned {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(name): validate announced \(file)")
            }
        }
    }

    /// README's main command: the sample U-Net on the real 33UUU crop gives a map with the scene's
    /// CRS and extent, the model's colour table and class names and nodata, a preview that shows
    /// that map beside a legend, and a STAC item that stac-pydantic accepts.
    @Test func samplePipelineOutputsOpenInGDALWithPreviewAndSTAC() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try CLI.run(["run", Self.pipelinesFolder.appendingPathComponent("sample.yaml").path,
                               "--output-folder", folder.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let map = folder.appendingPathComponent("s2l1c_33UUU_20170216_west_landcover.tif").path
        let preview = folder.appendingPathComponent("s2l1c_33UUU_20170216_west_landcover_preview.png").path
        let stac = folder.appendingPathComponent("s2l1c_33UUU_20170216_west_landcover.stac.json").path

        // The map, as gdalinfo sees it, against the scene's 10 m band.
        let mapInfo = try TestRasters.gdalinfo(map)
        let source = TestPaths.packageRoot.appendingPathComponent("samples/s2l1c_33UUU_20170216_west/T33UUU_20170216T102101_B02.jp2").path
        let sourceInfo = try TestRasters.gdalinfo(source)
        #expect(mapInfo["size"] as? [Int] == [1008, 768])
        #expect(mapInfo["size"] as? [Int] == sourceInfo["size"] as? [Int])
        #expect(mapInfo["geoTransform"] as? [Double] == sourceInfo["geoTransform"] as? [Double])
        let mapCRS = (mapInfo["coordinateSystem"] as? [String: Any])?["wkt"] as? String
        #expect(mapCRS != nil && mapCRS == (sourceInfo["coordinateSystem"] as? [String: Any])?["wkt"] as? String)
        #expect(mapCRS?.contains("ID[\"EPSG\",32633]") == true)
        let metadata = ((mapInfo["metadata"] as? [String: Any])?["IMAGE_STRUCTURE"] as? [String: String]) ?? [:]
        #expect(metadata["LAYOUT"] == "COG")
        let bands = (mapInfo["bands"] as? [[String: Any]]) ?? []
        #expect(bands.count == 1, "the class band alone: confidence has its own file")
        let classBand = try #require(bands.first)
        #expect(classBand["description"] as? String == "class")
        #expect(classBand["noDataValue"] as? Double == 255)
        let classNames = ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"]
        let categories = (classBand["categories"] as? [String]) ?? []
        #expect(Array(categories.prefix(classNames.count)) == classNames, "\(categories.prefix(8))")
        #expect(categories.count == 256 && categories.last == "nodata")
        let entries = (((classBand["colorTable"] as? [String: Any])?["entries"]) as? [[Int]]) ?? []
        #expect(entries.count >= classNames.count)
        #expect(Array(entries.prefix(3)) == [[0xf0, 0x96, 0xff, 255], [0x00, 0x64, 0x00, 255], [0xff, 0xff, 0x4c, 255]])
        let confidence = folder.appendingPathComponent("s2l1c_33UUU_20170216_west_landcover_confidence.tif").path
        let confidenceBands = (try TestRasters.gdalinfo(confidence)["bands"] as? [[String: Any]]) ?? []
        #expect(confidenceBands.count == 1 && confidenceBands.first?["description"] as? String == "confidence")

        // Every pixel of the crop is valid data, so every pixel has a class; most classes occur.
        let classes = try RasterDataset(path: map).read(window: RasterWindow(width: 1008, height: 768), bands: [1])
        let values = classes.values.map { Int($0) }
        #expect(values.allSatisfy { $0 < classNames.count }, "no nodata and no class outside the legend")
        #expect(Set(values).count >= 5, "classes present: \(Set(values).sorted())")

        // The polygons: per class, their area is the class's pixels times 100 m^2, names included.
        let polygons = folder.appendingPathComponent("s2l1c_33UUU_20170216_west_landcover.gpkg").path
        let areas = try CLI.run(["-f", "CSV", "/vsistdout/", polygons, "-dialect", "SQLITE", "-sql",
                                 "SELECT class, name, CAST(SUM(ST_Area(geom)) AS INTEGER) FROM landcover GROUP BY class, name ORDER BY class"],
                                executable: "ogr2ogr")
        #expect(areas.status == 0, "\(areas.stderr)")
        let pixelCounts = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +)
        let expectedAreas = pixelCounts.keys.sorted().map { "\($0),\(classNames[$0]),\(pixelCounts[$0, default: 0] * 100)" }
        #expect(areas.stdout.split(separator: "\n").dropFirst().map { $0.replacingOccurrences(of: "\"", with: "") } == expectedAreas)

        // The preview: the map at full size (1008 px <= 1024) in the class colours, the legend to its right.
        let image = try RasterDataset(path: preview)
        #expect(image.bands.count == 4 && image.height >= 768 && image.width > 1008 + 100)
        let pixels = try image.read(window: image.fullWindow)
        func rgb(_ x: Int, _ y: Int) -> [Int] { (0..<3).map { Int(pixels.values[($0 * image.height + y) * image.width + x]) } }
        var matching = 0, checked = 0
        for y in stride(from: 3, to: 768, by: 37) {
            for x in stride(from: 5, to: 1008, by: 41) {
                checked += 1
                if rgb(x, y) == Array(entries[values[y * 1008 + x]].prefix(3)) { matching += 1 }
            }
        }
        #expect(matching == checked, "preview pixels in the class colours: \(matching) of \(checked)")
        var legendColours = Set<[Int]>()
        for y in 0..<min(image.height, 400) {
            for x in 1008..<image.width { legendColours.insert(rgb(x, y)) }
        }
        for entry in entries.prefix(classNames.count) {
            #expect(legendColours.contains(Array(entry.prefix(3))), "legend swatch for \(entry)")
        }

        // The STAC item.
        let item = try CLI.json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: stac)), as: UTF8.self))
        #expect((item["properties"] as? [String: Any])?["datetime"] as? String == "2017-02-16T10:21:01Z")
        #expect((item["properties"] as? [String: Any])?["proj:code"] as? String == "EPSG:32633")
        let check = try CLI.run(["-c", "import json, sys\nfrom stac_pydantic import Item\nItem.model_validate(json.load(open(sys.argv[1])))\nprint('ok')", stac],
                                executable: "python3")
        #expect(check.status == 0 && check.stdout.contains("ok"), "stac-pydantic rejected the item: \(check.stderr)")
    }
}

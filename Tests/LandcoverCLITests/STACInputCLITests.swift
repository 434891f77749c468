import Foundation
import RasterIO
import Testing
import TestSupport

/// STAC Items and ItemCollections as scenes: one COG per band cut from the sample Sentinel-2
/// scene, named only by the item (files `red.tif`, `nir08.tif` ...), served over HTTP from
/// loopback and read from local files.
@Suite("landcover: STAC Items as inputs", .serialized)
struct STACInputCLITests {
    /// Asset key, band name, and how the item names the band: STAC 1.0 `eo:bands` with a name,
    /// STAC 1.1 `bands` with only a common name, or nothing (the asset key says).
    static let assets: [(key: String, band: String, naming: String)] = [
        ("coastal", "B01", "eo"), ("blue", "B02", "eo"), ("green", "B03", "common"), ("red", "B04", "common"),
        ("rededge1", "B05", "key"), ("rededge2", "B06", "key"), ("rededge3", "B07", "eo"), ("nir", "B08", "common"),
        ("nir08", "B8A", "key"), ("nir09", "B09", "common"), ("cirrus", "B10", "eo"), ("swir16", "B11", "common"), ("swir22", "B12", "key"),
    ]

    /// Writes one COG per band of `small` (band order B01..B12, B8A as the stacked file) into `folder`.
    static func writeBandFiles(from small: String, into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let order = RemoteInputCLITests.bandNames
        for asset in assets {
            let index = try #require(order.firstIndex(of: asset.band)) + 1
            try CommandLineTool.run("gdal_translate", ["-q", "-b", "\(index)", "-of", "COG", small, folder.appendingPathComponent("\(asset.key).tif").path])
        }
    }

    /// A STAC 1.1 Item whose band assets are at `base` + key + `.tif`, with a thumbnail and a
    /// visual composite that must not be read (their files do not exist).
    static func item(id: String, base: String) -> [String: Any] {
        var assetObjects: [String: Any] = [:]
        for asset in assets {
            var object: [String: Any] = ["href": "\(base)\(asset.key).tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized", "roles": ["data"]]
            switch asset.naming {
            case "eo": object["eo:bands"] = [["name": asset.band, "common_name": asset.key]]
            case "common": object["bands"] = [["name": asset.key, "eo:common_name": asset.key]]
            default: break
            }
            assetObjects[asset.key] = object
        }
        assetObjects["thumbnail"] = ["href": "\(base)thumbnail.jpg", "type": "image/jpeg", "roles": ["thumbnail"]]
        assetObjects["visual"] = ["href": "\(base)missing-visual.tif", "type": "image/tiff; application=geotiff", "roles": ["visual", "data"],
                                  "eo:bands": [["name": "B04", "common_name": "red"], ["name": "B03", "common_name": "green"], ["name": "B02", "common_name": "blue"]]]
        return [
            "type": "Feature", "stac_version": "1.1.0", "id": id,
            "geometry": ["type": "Point", "coordinates": [14.9, 47.8]], "bbox": [14.9, 47.8, 14.9, 47.8],
            "properties": ["datetime": "2017-02-16T10:21:01Z", "platform": "sentinel-2b", "eo:cloud_cover": 5],
            "links": [], "assets": assetObjects,
        ]
    }

    static func writeJSON(_ object: Any, to url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }

    static func writePipeline(_ path: String, inputs: [String]) throws {
        try writePipeline(path, inputsBlock: inputs.map { "  - \"\($0)\"" }.joined(separator: "\n"))
    }

    /// The sample model's pipeline over the `inputs:` list written as `inputsBlock` (YAML lines).
    static func writePipeline(_ path: String, inputsBlock: String) throws {
        try """
        inputs:
        \(inputsBlock)
        model: \(RemoteInputCLITests.model)
        resolution: 10
        tiling: {stride: 8}
        mode: segmentation
        output: {folder: out, name: "{scene}_{date}.tif", confidence: false, preview: false, stac: true}
        runtime: {memory_mb: 256}
        """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func itemsOverHTTPAndItemCollectionsClassifyLikeTheFilesTheyName() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let served = try RemoteInputCLITests.servedScenes(in: folder)
        let small = served.appendingPathComponent("small.tif").path
        let bandFolder = served.appendingPathComponent("item")
        try Self.writeBandFiles(from: small, into: bandFolder)
        let server = try LoopbackServer.httpFiles(root: served)
        defer { server.stop() }

        // The reference: the 13-band file itself.
        let reference = folder.appendingPathComponent("reference")
        try FileManager.default.createDirectory(at: reference, withIntermediateDirectories: true)
        try Self.writePipeline(reference.appendingPathComponent("pipeline.yaml").path, inputs: [small])
        let local = try BatchCLI.run(["run", reference.appendingPathComponent("pipeline.yaml").path], logs: reference)
        #expect(local.status == 0, "\(local.stderr)")
        let referenceMap = reference.appendingPathComponent("out/small_undated.tif").path

        // An Item served over HTTP with relative hrefs, and an ItemCollection on disk with one item
        // of relative file hrefs and one of absolute URLs.
        try Self.writeJSON(Self.item(id: "S2B_T33UUU_small", base: "./"), to: bandFolder.appendingPathComponent("item.json"))
        let collection = folder.appendingPathComponent("collection.json")
        try Self.writeJSON(["type": "FeatureCollection", "features": [
            Self.item(id: "S2B_local", base: "served/item/"),
            Self.item(id: "S2B_http", base: "\(server.baseURL)/item/"),
        ]], to: collection)
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let pipeline = run.appendingPathComponent("pipeline.yaml").path
        try Self.writePipeline(pipeline, inputs: ["\(server.baseURL)/item/item.json", collection.path])

        let validate = try CLI.run(["validate", pipeline])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("S2B_T33UUU_small") && validate.stdout.contains("S2B_local") && validate.stdout.contains("S2B_http"), "\(validate.stdout)")

        let result = try BatchCLI.run(["run", pipeline], logs: run)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(result.stderr)) == ["done": 3], "\(result.stderr)")
        #expect(!server.log.contains { $0.contains("missing-visual") || $0.contains("thumbnail") }, "assets that are no bands are not read")
        let expectedPixels = try RemoteInputCLITests.pixels(referenceMap)
        for id in ["S2B_T33UUU_small", "S2B_local", "S2B_http"] {
            // {scene} is the item id, {date} the item's datetime.
            let map = run.appendingPathComponent("out/\(id)_2017-02-16.tif").path
            #expect(try RemoteInputCLITests.pixels(map) == expectedPixels, "\(id): the item's bands read by name give the map of the 13-band file")
            let item = try CLI.json(String(contentsOfFile: run.appendingPathComponent("out/\(id)_2017-02-16.stac.json").path, encoding: .utf8))
            #expect((item["properties"] as? [String: Any])?["datetime"] as? String == "2017-02-16T10:21:01Z", "\(item)")
            let derived = ((item["links"] as? [[String: Any]]) ?? []).filter { $0["rel"] as? String == "derived_from" }.compactMap { $0["href"] as? String }
            switch id {
            case "S2B_T33UUU_small":
                #expect(derived.first == "\(server.baseURL)/item/item.json", "\(derived)")
                #expect(derived.contains("\(server.baseURL)/item/nir08.tif"), "\(derived)")
            case "S2B_http":
                #expect(derived.first?.hasSuffix("collection.json#S2B_http") == true, "\(derived)")
                #expect(derived.contains("\(server.baseURL)/item/red.tif"), "\(derived)")
            default:
                #expect(derived.first?.hasSuffix("collection.json#S2B_local") == true, "\(derived)")
            }
        }

        // A rerun skips all three; a rewritten band file redoes the items that name it.
        let rerun = try BatchCLI.run(["run", pipeline], logs: run, tag: "rerun")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(rerun.stderr)) == ["skipped": 3], "\(rerun.stderr)")
        let red = bandFolder.appendingPathComponent("red.tif").path
        let later = try #require(try FileManager.default.attributesOfItem(atPath: red)[.modificationDate] as? Date).addingTimeInterval(60)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: red)
        let touched = try BatchCLI.run(["run", pipeline], logs: run, tag: "touched")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(touched.stderr)) == ["done": 3], "\(touched.stderr)")

        // info reads an item as one scene; a collection needs an item id.
        let info = try CLI.run(["info", "\(server.baseURL)/item/item.json"])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("B8A"), "\(info.stdout)")
        let whole = try CLI.run(["info", collection.path])
        #expect(whole.status == 2 && whole.stderr.contains("is an ItemCollection of 2 items"), "\(whole.stderr)")
        let one = try CLI.run(["info", "\(collection.path)#S2B_http"])
        #expect(one.status == 0, "\(one.stderr)")
    }
}

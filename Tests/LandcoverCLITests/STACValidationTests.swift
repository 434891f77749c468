import Foundation
import TestSupport
import Testing

/// The STAC items `landcover run` writes, and `landcover model info --stac`, validated offline
/// against the JSON schemas of STAC core and of every extension they declare (the schema files in
/// ../shared/data/stac-schemas) with jsonschema + referencing and with pystac, by
/// scripts/validate_stac.py.
@Suite("STAC items validate offline", .serialized)
struct STACValidationTests {
    static let schemas = TestPaths.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/stac-schemas").path
    static let validator = TestPaths.packageRoot.appendingPathComponent("scripts/validate_stac.py").path
    static let pipelinesFolder = TestPaths.packageRoot.appendingPathComponent("pipelines")
    static let sampleModel = TestPaths.packageRoot.appendingPathComponent("samples/model/landcover-33UUU.onnx").path
    static let sampleScene = TestPaths.packageRoot.appendingPathComponent("samples/s2l1c_33UUU_20170216_west").path

    static func validate(_ items: [String]) throws -> CLI.Result {
        try CLI.run([validator, "--schemas", schemas, "--require-extension", "mlm"] + items, executable: "python3")
    }

    static func items(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".stac.json") }.sorted()
            .map { folder.appendingPathComponent($0).path }
    }

    static func load(_ path: String) throws -> [String: Any] {
        try CLI.json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
    }

    static func sha256(_ path: String) throws -> String {
        let result = try CLI.run([path], executable: "sha256sum")
        return String(result.stdout.prefix(64))
    }

    /// Every asset's href leads to an existing file whose size and SHA-256 multihash are the
    /// asset's `file:size` and `file:checksum`; every link's href leads to an existing file.
    static func checkFiles(of item: [String: Any], at path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ href: String) -> String {
            href.hasPrefix("/") ? href : folder.appendingPathComponent(href).standardizedFileURL.path
        }
        for (key, value) in (item["assets"] as? [String: Any]) ?? [:] {
            let asset = try #require(value as? [String: Any])
            let href = try #require(asset["href"] as? String)
            let file = resolve(href)
            #expect(FileManager.default.fileExists(atPath: file), "asset \(key): \(href) -> \(file)")
            guard FileManager.default.fileExists(atPath: file) else { continue }
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue
            #expect(asset["file:size"] as? Int == size, "asset \(key) size")
            #expect(asset["file:checksum"] as? String == "1220" + (try sha256(file)), "asset \(key) checksum")
        }
        for link in (item["links"] as? [[String: Any]]) ?? [] {
            let href = try #require(link["href"] as? String)
            #expect(FileManager.default.fileExists(atPath: resolve(href)), "link \(link["rel"] ?? "") \(href)")
        }
    }

    /// Every example pipeline's items validate; the sample's item says what the issue asked for.
    @Test func everyExamplePipelineWritesItemsThatValidate() throws {
        let examples = ((try? FileManager.default.contentsOfDirectory(atPath: Self.pipelinesFolder.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        #expect(examples.contains("sample.yaml"))
        for name in examples {
            let folder = try TestPaths.temporaryFolder("stac-\(name)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try CLI.run(["run", Self.pipelinesFolder.appendingPathComponent(name).path, "--output-folder", folder.path, "--quiet"])
            #expect(run.status == 0, "\(name): \(run.stderr)")
            let items = Self.items(in: folder)
            #expect(!items.isEmpty, "\(name) wrote no STAC item")
            let check = try Self.validate(items)
            #expect(check.status == 0, "\(name):\n\(check.stdout)\n\(check.stderr)")
            #expect(check.stdout.components(separatedBy: ": ok (").count - 1 == items.count, "\(check.stdout)")
            for path in items { try Self.checkFiles(of: try Self.load(path), at: path) }
            if name == "sample.yaml", let path = items.first { try Self.checkSampleItem(try Self.load(path), at: path) }
        }
    }

    static func checkSampleItem(_ item: [String: Any], at path: String) throws {
        let properties = try #require(item["properties"] as? [String: Any])
        #expect(properties["datetime"] as? String == "2017-02-16T10:21:01Z", "sensing time from the band file names")
        #expect((properties["landcover:datetime_source"] as? String)?.contains("T33UUU_20170216T102101") == true)
        #expect(properties["proj:code"] as? String == "EPSG:32633" && properties["proj:epsg"] == nil)
        #expect(properties["proj:shape"] as? [Int] == [768, 1008])
        #expect(properties["proj:bbox"] as? [Double] == [330000, 5814360, 340080, 5822040])
        #expect((properties["processing:software"] as? [String: String])?["landcover"] != nil)
        let extensions = Set((item["stac_extensions"] as? [String]) ?? [])
        for name in ["projection/v2.0.0", "classification/v1.1.0", "raster/v1", "file/v2.1.0", "processing/v1.2.0", "mlm/v1.5.2"] {
            #expect(extensions.contains { $0.contains("/\(name)") }, "declares \(name): \(extensions)")
        }

        let assets = try #require(item["assets"] as? [String: Any])
        let map = try #require(assets["classification"] as? [String: Any])
        let bands = try #require(map["raster:bands"] as? [[String: Any]])
        #expect(bands.map { $0["name"] as? String } == ["class"])
        // Confidence is a file of its own (a second band of the map would be alpha to QGIS).
        let confidenceAsset = try #require(assets["confidence"] as? [String: Any])
        let confidence = try #require(confidenceAsset["raster:bands"] as? [[String: Any]])
        #expect(confidence.map { $0["name"] as? String } == ["confidence"])
        #expect((bands + confidence).allSatisfy { $0["data_type"] as? String == "uint8" && $0["nodata"] as? Int == 255 })
        #expect(confidence.first?["unit"] as? String == "%" && confidence.first?["scale"] as? Int == 1)
        let classes = try #require(bands.first?["classification:classes"] as? [[String: Any]])
        #expect(classes.map { $0["name"] as? String } == ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"])
        #expect(classes.allSatisfy { !(($0["description"] as? String) ?? "").isEmpty })
        let preview = try #require(assets["preview"] as? [String: Any])
        #expect(preview["roles"] as? [String] == ["overview"])
        #expect((preview["raster:bands"] as? [[String: Any]])?.map { $0["name"] as? String } == ["red", "green", "blue", "alpha"])
        #expect((assets["polygons"] as? [String: Any])?["classification:classes"] != nil)
        let mapPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(try #require(map["href"] as? String)).path
        let style = (mapPath as NSString).deletingPathExtension + ".qml"
        #expect((assets["style"] != nil) == FileManager.default.fileExists(atPath: style), "a style asset exactly when the .qml is written")

        // The model: an mlm:model asset with its checksum, input bands and scaling from the contract.
        let model = try #require(assets["model"] as? [String: Any])
        #expect(model["roles"] as? [String] == ["mlm:model", "model"])
        #expect((model["href"] as? String)?.hasSuffix("samples/model/landcover-33UUU.onnx") == true, "\(model["href"] ?? "")")
        #expect(model["file:checksum"] as? String == "1220" + (try sha256(sampleModel)))
        #expect(properties["mlm:name"] as? String == "landcover-33UUU")
        #expect(properties["mlm:tasks"] as? [String] == ["semantic-segmentation", "segmentation"])
        let input = try #require((properties["mlm:input"] as? [[String: Any]])?.first)
        let contract = try contractNormalization()
        #expect(input["bands"] as? [String] == contract.bands)
        let scaling = try #require(input["value_scaling"] as? [[String: Any]])
        #expect(scaling.count == contract.bands.count)
        for (index, entry) in scaling.enumerated() {
            #expect(entry["type"] as? String == "z-score")
            #expect(abs(((entry["mean"] as? Double) ?? .nan) - contract.mean[index]) < 1e-9)
            #expect(abs(((entry["stddev"] as? Double) ?? .nan) - contract.std[index]) < 1e-9)
        }
        let output = try #require((properties["mlm:output"] as? [[String: Any]])?.first)
        #expect((output["result"] as? [String: Any])?["shape"] as? [Int] == [-1, 7, 16, 16])
        #expect(((output["classification:classes"] as? [[String: Any]]) ?? []).count == 7)

        // One derived_from link per source band file (they resolve: checkFiles; relative hrefs
        // where the item and the sources share a folder: STACItemTests).
        let links = ((item["links"] as? [[String: Any]]) ?? []).filter { $0["rel"] as? String == "derived_from" }
        let bandOrder = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
        #expect(links.compactMap { ($0["href"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } }
                == bandOrder.map { "T33UUU_20170216T102101_\($0).jp2" })
        #expect(links.allSatisfy { ($0["type"] as? String) == "image/jp2" })
    }

    /// The sample model's contract normalization as `model info --json` prints it.
    static func contractNormalization() throws -> (bands: [String], mean: [Double], std: [Double]) {
        let info = try CLI.run(["model", "info", sampleModel, "--json"])
        let contract = try #require(try CLI.json(info.stdout)["contract"] as? [String: String])
        let normalization = try CLI.json(try #require(contract["landcover.normalization"]))
        return (try #require(contract["landcover.bands"]).components(separatedBy: ","),
                (normalization["mean"] as? [Double]) ?? [], (normalization["std"] as? [Double]) ?? [])
    }

    /// Probabilities, a plain GTiff without confidence and GeoJSON polygons: the probabilities
    /// file is an asset whose bands are the classes in percent.
    @Test func probabilitiesGTiffAndGeoJSONVariantValidates() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pipeline = folder.appendingPathComponent("variant.yaml")
        try """
        inputs: [\(Self.sampleScene)]
        model: \(Self.sampleModel)
        mode: segmentation
        output: {folder: out, format: gtiff, confidence: false, probabilities: true, polygons: geojson}
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", pipeline.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let items = Self.items(in: folder.appendingPathComponent("out"))
        #expect(items.count == 1)
        let check = try Self.validate(items)
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr)")
        let path = try #require(items.first)
        let item = try Self.load(path)
        try Self.checkFiles(of: item, at: path)
        let assets = try #require(item["assets"] as? [String: Any])
        let map = try #require(assets["classification"] as? [String: Any])
        #expect(map["type"] as? String == "image/tiff; application=geotiff")
        #expect((map["raster:bands"] as? [[String: Any]])?.map { $0["name"] as? String } == ["class"])
        let probabilities = try #require(assets["probabilities"] as? [String: Any])
        let bands = try #require(probabilities["raster:bands"] as? [[String: Any]])
        #expect(bands.map { $0["name"] as? String } == ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"])
        #expect(bands.allSatisfy { $0["unit"] as? String == "%" && $0["data_type"] as? String == "uint8" })
        #expect((assets["polygons"] as? [String: Any])?["type"] as? String == "application/geo+json")
    }

    /// `model info --stac`: an MLM item of the model alone that validates, with the model file's checksum.
    @Test func modelInfoSTACValidatesAgainstMLM() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let info = try CLI.run(["model", "info", Self.sampleModel, "--stac"])
        #expect(info.status == 0, "\(info.stderr)")
        let path = folder.appendingPathComponent("model.stac.json").path
        try info.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try Self.validate([path])
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr)")
        let item = try CLI.json(info.stdout)
        let properties = try #require(item["properties"] as? [String: Any])
        #expect(properties["mlm:name"] as? String == "landcover-33UUU")
        #expect(properties["mlm:architecture"] as? String == "U-Net")
        let model = try #require((item["assets"] as? [String: Any])?["model"] as? [String: Any])
        #expect(model["href"] as? String == Self.sampleModel)
        #expect(model["file:checksum"] as? String == "1220" + (try Self.sha256(Self.sampleModel)))
        let both = try CLI.run(["model", "info", Self.sampleModel, "--stac", "--json"])
        #expect(both.status != 0 && both.stderr.contains("--json or --stac"))

        // A model without a contract cannot be described: one line naming the file and the fix.
        let bare = folder.appendingPathComponent("bare.onnx").path
        let strip = try CLI.run(["-c", "import onnx, sys\nm = onnx.load(sys.argv[1])\ndel m.metadata_props[:]\nonnx.save(m, sys.argv[2])",
                                 Self.sampleModel, bare], executable: "python3")
        #expect(strip.status == 0, "\(strip.stderr)")
        let refused = try CLI.run(["model", "info", bare, "--stac"])
        #expect(refused.status == 2 && refused.stdout.isEmpty)
        #expect(refused.stderr == "landcover: \(bare): the model has no landcover contract, so it cannot be described for STAC; add the landcover.* metadata_props (README, \"Model contract\")\n",
                "\(refused.stderr)")
    }

    /// The validator is not a rubber stamp: the faults the issue found fail it (a class without
    /// description, `proj:epsg` under projection v2, a missing MLM field, a wrong checksum form).
    @Test func validatorRejectsTheFaultsTheIssueFound() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let info = try CLI.run(["model", "info", Self.sampleModel, "--stac"])
        let good = try CLI.json(info.stdout)
        func variant(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
            var item = good
            change(&item)
            let path = folder.appendingPathComponent("\(name).json").path
            try JSONSerialization.data(withJSONObject: item).write(to: URL(fileURLWithPath: path))
            return path
        }
        let noDescription = try variant("no-description") { item in
            var properties = item["properties"] as? [String: Any] ?? [:]
            var outputs = properties["mlm:output"] as? [[String: Any]] ?? []
            var classes = outputs[0]["classification:classes"] as? [[String: Any]] ?? []
            classes[0]["description"] = nil
            outputs[0]["classification:classes"] = classes
            properties["mlm:output"] = outputs
            item["properties"] = properties
        }
        let noArchitecture = try variant("no-architecture") { item in
            var properties = item["properties"] as? [String: Any] ?? [:]
            properties["mlm:architecture"] = nil
            item["properties"] = properties
        }
        let badChecksum = try variant("bad-checksum") { item in
            var assets = item["assets"] as? [String: Any] ?? [:]
            var model = assets["model"] as? [String: Any] ?? [:]
            model["file:checksum"] = "sha256:ABC"
            assets["model"] = model
            item["assets"] = assets
        }
        let epsg = try variant("proj-epsg") { item in
            item["stac_extensions"] = ((item["stac_extensions"] as? [String]) ?? []) + ["https://stac-extensions.github.io/projection/v2.0.0/schema.json"]
            var properties = item["properties"] as? [String: Any] ?? [:]
            properties["proj:epsg"] = 32633
            item["properties"] = properties
        }
        for path in [noDescription, noArchitecture, badChecksum, epsg] {
            let check = try Self.validate([path])
            #expect(check.status == 1 && check.stdout.contains("INVALID"), "\(path) passed:\n\(check.stdout)\n\(check.stderr)")
        }
    }
}

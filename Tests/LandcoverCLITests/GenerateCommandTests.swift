import Foundation
import RasterIO
import TestSupport
import Testing

@Suite("landcover generate")
struct GenerateCommandTests {
    /// The files of a folder and their bytes.
    static func contents(_ folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            result[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return result
    }

    @Test("writes a 13-band scene and a label raster that gdalinfo reads")
    func multiBand() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("scene").path
        let result = try CLI.run(["generate", out, "--size", "300", "--seed", "5", "--clouds", "--nodata-border", "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let bandsPath = "\(out)/synthetic_seed5_300x300.tif", labelsPath = "\(out)/synthetic_seed5_300x300_labels.tif"
        #expect(result.stdout.contains("wrote \(bandsPath)") && result.stdout.contains("wrote \(labelsPath)"), "\(result.stdout)")
        #expect(result.stdout.contains("EPSG:32633") && result.stdout.contains("cloud") && result.stdout.contains("255 nodata"))

        let bands = try CLI.json(try CLI.run(["-json", bandsPath], executable: "gdalinfo").stdout)
        #expect(bands["size"] as? [Int] == [300, 300])
        #expect(bands["geoTransform"] as? [Double] == [300_000, 10, 0, 5_900_040, 0, -10])
        let bandList = try #require(bands["bands"] as? [[String: Any]])
        #expect(bandList.compactMap { $0["description"] as? String } == SentinelBand.all)
        #expect(bandList.allSatisfy { $0["type"] as? String == "UInt16" && $0["noDataValue"] as? Double == 0 })

        let labels = try CLI.json(try CLI.run(["-json", labelsPath], executable: "gdalinfo").stdout)
        #expect(labels["geoTransform"] as? [Double] == bands["geoTransform"] as? [Double])
        let label = try #require((labels["bands"] as? [[String: Any]])?.first)
        #expect(label["type"] as? String == "Byte" && label["noDataValue"] as? Double == 255)
        let categories = try #require(label["categories"] as? [String])
        #expect(Array(categories.prefix(9)) == ["water", "tree cover", "cropland", "grassland", "built-up",
                                                "bare / sparse vegetation", "herbaceous wetland", "shrubland", "cloud"])
        let entries = try #require((label["colorTable"] as? [String: Any])?["entries"] as? [[Int]])
        #expect(entries.count == 256)
        #expect(entries.prefix(2).map { $0 } == [[0, 100, 200, 255], [0, 100, 0, 255]])   // WorldCover water, tree cover
        #expect(entries[8] == [255, 255, 255, 255])

        // RasterIO reads the same legend, and DN 0 where labels are nodata.
        let dataset = try RasterDataset(path: labelsPath)
        #expect(dataset.bands.first?.hasColorTable == true && dataset.bands.first?.categoryNames.first == "water")
        let classes = try dataset.read(window: dataset.fullWindow).values
        let pixels = try RasterDataset(path: bandsPath).read(window: RasterWindow(width: 300, height: 300), bands: [4]).values
        #expect(classes.contains(255))
        #expect(zip(classes, pixels).allSatisfy { ($0 == 255) == ($1 == 0) })
    }

    @Test("the same seed writes the same bytes; another seed does not")
    func deterministic() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var runs: [[String: Data]] = []
        for (name, seed, threads) in [("a", "77", "1"), ("b", "77", "2"), ("c", "78", "2")] {
            let out = folder.appendingPathComponent(name)
            let result = try CLI.run(["generate", out.path, "--width", "260", "--height", "190", "--seed", seed,
                                      "--clouds", "--threads", threads, "--name", "scene"])
            #expect(result.status == 0, "\(result.stderr)")
            runs.append(try Self.contents(out))
        }
        #expect(Set(runs[0].keys) == ["scene.tif", "scene_labels.tif", "scene_labels.tif.aux.xml"])
        #expect(runs[0] == runs[1])
        #expect(runs[0]["scene.tif"] != runs[2]["scene.tif"] && runs[0]["scene_labels.tif"] != runs[2]["scene_labels.tif"])
    }

    @Test("per-band files stack onto the 10 m grid with landcover info")
    func perBandFiles() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("bands").path
        let result = try CLI.run(["generate", out, "--width", "240", "--height", "180", "--seed", "3", "--per-band-files",
                                  "--classes", "5", "--epsg", "32632"])
        #expect(result.status == 0, "\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".tif") }.sorted()
        #expect(names.count == 14)
        #expect(names.contains("synthetic_seed3_240x180_B05_20m.tif") && names.contains("synthetic_seed3_240x180_B10_60m.tif"))
        let info = try CLI.run(["info", "--json", out])
        #expect(info.status == 0, "\(info.stderr)")
        let summary = try CLI.json(info.stdout)
        let stack = try #require(summary["stack"] as? [String: Any])
        #expect((stack["bands"] as? [Any])?.count == 13, "\(stack)")
        let stacked = try Scene.assemble(inputs: [out])
        #expect(stacked.grid.width == 240 && stacked.grid.height == 180 && stacked.grid.spatialReference?.epsg == 32632)
        let labels = try RasterDataset(path: "\(out)/synthetic_seed3_240x180_labels.tif")
        #expect(labels.bands.first.map { Array($0.categoryNames.prefix(5)) } == ["water", "tree cover", "cropland", "grassland", "built-up"])
        #expect(labels.geoTransform == stacked.grid.geoTransform)
    }

    @Test("invalid options fail with exit status 2 and name the option", arguments: [
        (["--size", "64"], "--seed"),
        (["--seed", "1"], "--size"),
        (["--size", "0", "--seed", "1"], "--size"),
        (["--size", "64", "--height", "0", "--seed", "1"], "--height"),
        (["--size", "64", "--seed", "1", "--epsg", "4326"], "--epsg"),
        (["--size", "64", "--seed", "1", "--classes", "9"], "--classes"),
        (["--size", "64", "--seed", "1", "--compression", "jpeg"], "--compression"),
        (["--size", "64", "--seed", "1", "--cloud-cover", "0.5"], "--cloud-cover"),
        (["--size", "64", "--seed", "1", "--threads", "0"], "--threads"),
    ])
    func invalidOptions(arguments: [String], option: String) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        let result = try CLI.run(["generate", out] + arguments)
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.hasPrefix("landcover: \(option)") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test("an output path that is a file fails with exit status 2")
    func outputIsAFile() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        let result = try CLI.run(["generate", file.path, "--size", "32", "--seed", "1"])
        #expect(result.status == 2 && result.stderr.contains(file.path) && result.stderr.contains("is a file"), "\(result.stderr)")
    }
}

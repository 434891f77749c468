import Foundation
import TestSupport
import Testing

@Suite("landcover info and stack on the real Sentinel-2 layouts")
struct InfoCommandTests {
    @Test func versionAndHelp() throws {
        let version = try CLI.run(["--version"])
        #expect(version.status == 0 && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let help = try CLI.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("info") && help.stdout.contains("stack"))
    }

    /// Every file `landcover info --json` lists reports gdalinfo's CRS and bounds, and the band names.
    @Test("info agrees with gdalinfo", arguments: [
        ("s2l2a_29RKH_20200219_riotilerpds", 12),
        ("s2l1c_33UUU_20170216_west", 13),
        ("s2l1c_18SVG_20160112_sattestdata", 9),
        ("bigearthnet_s2/S2A_MSIL2A_20170617T113321_36_85", 12),
        ("eurosat_ms/Highway_8.tif", 13),
    ])
    func infoAgreesWithGdalinfo(layout: String, stackedBands: Int) throws {
        var arguments = ["info", "--json", TestPaths.real(layout)]
        if layout.hasSuffix(".tif") { arguments += ["--band-order", "eurosat"] }
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try CLI.json(result.stdout)
        let files = try #require(summary["files"] as? [[String: Any]])
        #expect(!files.isEmpty)
        for file in files {
            let path = try #require(file["path"] as? String)
            let gdal = try CLI.json(try CLI.run(["-json", path], executable: "gdalinfo").stdout)
            let size = try #require(gdal["size"] as? [Int])
            #expect(file["width"] as? Int == size[0] && file["height"] as? Int == size[1])
            let gt = try #require(gdal["geoTransform"] as? [Double])
            // gdalinfo prints coefficients with 15-16 significant digits: compare to 1e-6 map units.
            func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) <= 1e-6 } ?? false }
            let ours = try #require(file["geoTransform"] as? [Double])
            #expect(ours.count == 6 && zip(ours, gt).allSatisfy { close($0, $1) })
            let bounds = try #require(file["bounds"] as? [String: Double])
            #expect(close(bounds["minX"], gt[0]) && close(bounds["maxY"], gt[3]))
            #expect(close(bounds["maxX"], gt[0] + gt[1] * Double(size[0])) && close(bounds["minY"], gt[3] + gt[5] * Double(size[1])))
            let wkt = ((gdal["coordinateSystem"] as? [String: Any])?["wkt"] as? String) ?? ""
            let epsg = try #require(file["epsg"] as? Int)
            #expect(wkt.contains("ID[\"EPSG\",\(epsg)]"), "EPSG \(epsg) not in gdalinfo's WKT for \(path)")
            // Band names: gdalinfo's description when present, else the name in the file name.
            let gdalBands = try #require(gdal["bands"] as? [[String: Any]])
            let ourBands = try #require(file["bands"] as? [[String: Any]])
            #expect(ourBands.count == gdalBands.count)
            if ourBands.count == 1 {
                let fileName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                let name = try #require(ourBands[0]["name"] as? String)
                #expect(fileName.hasSuffix(name) || fileName.contains("_\(name)"))
            }
        }
        let stack = try #require(summary["stack"] as? [String: Any])
        #expect((stack["bands"] as? [Any])?.count == stackedBands, "\(stack["problem"] ?? "")")
        // The text form names bands, CRS and bounds too.
        let text = try CLI.run(Array(arguments.filter { $0 != "--json" }))
        #expect(text.status == 0 && text.stdout.contains("EPSG:") && text.stdout.contains("bounds") && text.stdout.contains("stack"))
    }

    @Test func stackWritesAGeoreferencedMultiBandFile() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("stack.tif").path
        let result = try CLI.run(["stack", TestPaths.real("s2l2a_29RKH_20200219_riotilerpds"), "--bands", "B04,B05,B8A", "-o", out])
        #expect(result.status == 0, "\(result.stderr)")
        let info = try CLI.json(try CLI.run(["-json", out], executable: "gdalinfo").stdout)
        #expect(info["size"] as? [Int] == [1098, 1098])
        #expect((info["bands"] as? [[String: Any]])?.compactMap { $0["description"] as? String } == ["B04", "B05", "B8A"])
        #expect((info["geoTransform"] as? [Double])?[1] == 100)
    }

    /// Bad input: non-zero exit, one line on stderr naming the file, and no output left behind.
    @Test("bad input fails cleanly", arguments: ["truncated", "text", "missing band", "missing file"])
    func badInputFailsCleanly(kind: String) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var input = ""
        var extra: [String] = []
        var named = ""
        switch kind {
        case "truncated":
            let full = folder.appendingPathComponent("full.tif").path
            _ = try CLI.run(["-q", "-co", "TILED=YES", TestPaths.real("s2l2a_29RKH_20200219_riotilerpds/B04.tif"), full], executable: "gdal_translate")
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            input = folder.appendingPathComponent("truncated.tif").path
            try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: input))
            try FileManager.default.removeItem(atPath: full)
            named = "truncated.tif"
        case "text":
            input = folder.appendingPathComponent("notes.tif").path
            try "just text\n".write(toFile: input, atomically: true, encoding: .utf8)
            named = "notes.tif"
        case "missing band":
            input = TestPaths.real("s2l2a_29RKH_20200219_riotilerpds")
            extra = ["--bands", "B04,B10"]
            named = "s2l2a_29RKH_20200219_riotilerpds"
        default:
            input = folder.appendingPathComponent("absent_B04.tif").path
            named = "absent_B04.tif"
        }
        let out = folder.appendingPathComponent("out.tif").path
        let result = try CLI.run(["stack", input, "-o", out] + extra)
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(named))
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!left.contains("out.tif") && !left.contains { $0.contains(".landcover-tmp-") }, "left behind: \(left)")
        // info reads metadata only (like gdalinfo), so it reports unreadable and missing files.
        if kind == "text" || kind == "missing file" {
            let info = try CLI.run(["info", input])
            #expect(info.status == 2 && info.stderr.contains(named))
        }
    }
}

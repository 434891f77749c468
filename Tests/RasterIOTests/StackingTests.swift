import Foundation
import RasterIO
import TestSupport
import Testing

@Suite("Scene assembly: bands matched by name onto one grid")
struct StackingTests {
    @Test("a 20 m pixel lands on the right four 10 m pixels; 10 m averages onto 20 m")
    func resolutionsLineUp() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let b04 = folder.appendingPathComponent("T_B04.tif").path
        let b05 = folder.appendingPathComponent("T_B05.tif").path
        try TestRasters.writeRaster(b04, width: 8, height: 6, pixel: 10) { _, x, y in Double(1000 + y * 8 + x) }
        try TestRasters.writeRaster(b05, width: 4, height: 3, pixel: 20) { _, x, y in Double(2000 + y * 10 + x) }

        let fine = try Scene.assemble(inputs: [b05, b04], options: SceneOptions(bands: ["B04", "B05"], resampling: ["B05": .nearest]))
        #expect(fine.grid.width == 8 && fine.grid.height == 6 && fine.grid.resolution == 10)
        #expect(fine.bands.map(\.name) == ["B04", "B05"])
        #expect(fine.bands[0].resampling == nil && fine.bands[1].resampling == .nearest)
        let buffer = try SceneReader(scene: fine).read(window: fine.grid.fullWindow)
        for y in 0..<6 {
            for x in 0..<8 {
                #expect(buffer[0, x, y] == Float(1000 + y * 8 + x))
                #expect(buffer[1, x, y] == Float(2000 + (y / 2) * 10 + x / 2), "10 m pixel (\(x), \(y))")
            }
        }
        // Down-sampling onto the 20 m grid averages the four 10 m pixels (default method).
        let coarse = try Scene.assemble(inputs: [b04, b05], options: SceneOptions(referenceResolution: 20))
        #expect(coarse.grid.width == 4 && coarse.grid.height == 3)
        #expect(coarse.bands.first { $0.name == "B04" }?.resampling == .average)
        let c = try SceneReader(scene: coarse).read(window: coarse.grid.fullWindow)
        for y in 0..<3 {
            for x in 0..<4 {
                let mean = [(0, 0), (1, 0), (0, 1), (1, 1)].map { Double(1000 + (2 * y + $0.1) * 8 + 2 * x + $0.0) }.reduce(0, +) / 4
                #expect(abs(Double(c[0, x, y]) - mean) <= 0.5, "20 m pixel (\(x), \(y))")
                #expect(c[1, x, y] == Float(2000 + y * 10 + x))
            }
        }
    }

    @Test func windowsOfShiftedSourcesAreAligned() throws {
        // A band file covering a sub-area of the grid (origin shifted by whole pixels) is read directly.
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("s_B02.tif").path, b = folder.appendingPathComponent("s_B03.tif").path
        try TestRasters.writeRaster(a, width: 10, height: 10) { _, x, y in Double(y * 10 + x + 1) }
        try TestRasters.writeRaster(b, width: 4, height: 4, originX: 330000 + 30, originY: 5822040 - 20) { _, x, y in Double(500 + y * 4 + x) }
        let scene = try Scene.assemble(inputs: [a, b])
        #expect(scene.bands.allSatisfy { $0.resampling == nil })
        let buffer = try SceneReader(scene: scene).read(window: RasterWindow(column: 2, row: 1, width: 4, height: 4))
        #expect(buffer[1, 1, 1] == 500)   // grid (3, 2) = source (0, 0)
        #expect(!buffer.isValid(column: 0, row: 0))
        #expect(buffer.isValid(column: 1, row: 1))
    }

    @Test("29RKH: 12 band files stack onto the 100 m grid; B05 matches gdalwarp -r bilinear within 1 DN")
    func tile29RKH() throws {
        let folder = TestPaths.real("s2l2a_29RKH_20200219_riotilerpds")
        let scene = try Scene.assemble(inputs: [folder])
        #expect(scene.bandNames == ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"])
        #expect(scene.grid.width == 1098 && scene.grid.height == 1098 && scene.grid.resolution == 100)
        #expect(scene.grid.spatialReference?.epsg == 32629)
        let b05 = try #require(scene.bands.firstIndex { $0.name == "B05" })
        #expect(scene.bands[b05].resampling == .bilinear && scene.bands[b05].sourceResolution == 200)

        let tmp = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let warped = tmp.appendingPathComponent("b05_100m.tif").path
        try CommandLineTool.run("gdalwarp", ["-q", "-tr", "100", "100", "-r", "bilinear", "\(folder)/B05.tif", warped])
        let reference = try RasterDataset(path: warped)
        #expect(reference.width == 1098 && reference.height == 1098)
        let expected = try reference.read(window: reference.fullWindow)
        let actual = try SceneReader(scene: scene).read(window: scene.grid.fullWindow, bands: [b05])
        var worst: Float = 0
        for i in 0..<expected.values.count { worst = max(worst, abs(expected.values[i] - actual.values[i])) }
        #expect(worst <= 1, "largest B05 difference from gdalwarp: \(worst) DN")
        // Auxiliary layers are stacked when asked for.
        let withSCL = try Scene.assemble(inputs: [folder], options: SceneOptions(bands: ["B04", "SCL"]))
        #expect(withSCL.bandNames == ["B04", "SCL"])
    }

    @Test("33UUU: 13 JPEG2000 band files at 10/20/60 m stack onto the 10 m grid")
    func crop33UUU() throws {
        let folder = TestPaths.real("s2l1c_33UUU_20170216_west")
        let scene = try Scene.assemble(inputs: [folder])
        #expect(scene.bandNames == SentinelBand.all)
        #expect(scene.grid.width == 1008 && scene.grid.height == 768)
        #expect(scene.grid.geoTransform.originX == 330000 && scene.grid.geoTransform.originY == 5822040)
        let reader = try SceneReader(scene: scene)
        let buffer = try reader.read(window: RasterWindow(column: 500, row: 300, width: 64, height: 64))
        #expect(buffer.bandCount == 13 && buffer.validFraction == 1)
        // B02 read through the scene equals the file.
        let b02 = try RasterDataset(path: "\(folder)/T33UUU_20170216T102101_B02.jp2").read(window: RasterWindow(column: 500, row: 300, width: 64, height: 64))
        #expect(Array(buffer.values[64 * 64..<2 * 64 * 64]) == b02.values)
    }

    @Test("BigEarthNet patch: 120/60/20 pixel band files at 10/20/60 m")
    func bigEarthNet() throws {
        let root = TestPaths.real("bigearthnet_s2")
        let patch = try #require(try FileManager.default.contentsOfDirectory(atPath: root).sorted().first)
        let scene = try Scene.assemble(inputs: ["\(root)/\(patch)"])
        #expect(scene.grid.width == 120 && scene.grid.height == 120)
        #expect(scene.bandNames == SentinelBand.all.filter { $0 != "B10" })
        let at20 = try Scene.assemble(inputs: ["\(root)/\(patch)"], options: SceneOptions(referenceResolution: 20))
        #expect(at20.grid.width == 60 && at20.bands.first { $0.name == "B02" }?.resampling == .average)
        let buffer = try SceneReader(scene: at20).read(window: at20.grid.fullWindow)
        #expect(buffer.validFraction == 1)
    }

    @Test("EuroSAT: a 13-band file in EuroSAT order; B8A is the 13th band, matched by name")
    func euroSAT() throws {
        let path = TestPaths.real("eurosat_ms/Highway_8.tif")
        // Without a declared order the bands have no names and cannot be matched.
        #expect(throws: RasterIOError.self) { try Scene.assemble(inputs: [path], options: SceneOptions(bands: ["B8A"])) }
        let scene = try Scene.assemble(inputs: [path], options: SceneOptions(bands: ["B8A", "B02"], bandOrder: SentinelBand.eurosatOrder))
        #expect(scene.bands.map(\.sourceBand) == [13, 2])
        let stacked = try SceneReader(scene: scene).read(window: scene.grid.fullWindow)
        let raw = try RasterDataset(path: path).read(window: RasterWindow(width: 64, height: 64), bands: [13, 2])
        #expect(stacked.values == raw.values)
    }

    @Test("18SVG: 20 m and 60 m band files whose extents differ slightly")
    func crop18SVG() throws {
        let scene = try Scene.assemble(inputs: [TestPaths.real("s2l1c_18SVG_20160112_sattestdata")])
        #expect(scene.grid.resolution == 20 && scene.grid.width == 967 && scene.grid.height == 973)
        #expect(scene.bandNames == ["B01", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12"])
        #expect(scene.bands.filter { $0.resampling == .bilinear }.map(\.name) == ["B01", "B09", "B10"])
    }

    @Test func typedErrorsWhenStacking() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("x_B02.tif").path
        let b = folder.appendingPathComponent("x_B03.tif").path
        try TestRasters.writeRaster(a, width: 4, height: 4) { _, _, _ in 1 }
        try TestRasters.writeRaster(b, width: 4, height: 4, crs: "EPSG:32632") { _, _, _ in 1 }
        do {
            _ = try Scene.assemble(inputs: [a, b])
            Issue.record("band files with different CRS were stacked")
        } catch let error as RasterIOError {
            guard case .crsMismatch(let path, _, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == b)
        }
        do {
            _ = try Scene.assemble(inputs: [a], options: SceneOptions(bands: ["B02", "B12"]))
            Issue.record("a missing band was not reported")
        } catch let error as RasterIOError {
            guard case .bandNotFound(let band, let path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(band == "B12" && path == a)
        }
        let twin = folder.appendingPathComponent("y_B02.tif").path
        try TestRasters.writeRaster(twin, width: 4, height: 4) { _, _, _ in 2 }
        #expect(throws: RasterIOError.duplicateBand(band: "B02", paths: [a, twin])) { try Scene.assemble(inputs: [a, twin]) }
        #expect(throws: RasterIOError.fileNotFound(path: "/nonexistent/B04.tif")) { try Scene.assemble(inputs: ["/nonexistent/B04.tif"]) }
    }
}

@Suite("Sentinel-2 SAFE products through GDAL's SENTINEL2 driver")
struct SAFETests {
    /// Generates the L1C and L2A products (folders and zips) once per test process.
    static let products: Result<URL, Error> = Result {
        let out = try TestPaths.temporaryFolder("safe")
        if !FileManager.default.fileExists(atPath: out.appendingPathComponent("done").path) {
            try CommandLineTool.run("python3", [TestPaths.packageRoot.appendingPathComponent("scripts/fixtures/make_safe.py").path,
                                         "--out", out.path, "--level", "both", "--zip", "--src", TestPaths.real("s2l1c_33UUU_20170216_west")])
            _ = FileManager.default.createFile(atPath: out.appendingPathComponent("done").path, contents: Data())
        }
        return out
    }

    static func product(_ prefix: String, zip: Bool) throws -> String {
        let folder = try products.get()
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .first { $0.hasPrefix(prefix) && $0.hasSuffix(zip ? ".zip" : ".SAFE") })
        return folder.appendingPathComponent(name).path
    }

    @Test("L1C SAFE folder and zip stack all 13 bands on the 10 m grid", arguments: [false, true])
    func l1c(zip: Bool) throws {
        let path = try Self.product("S2A_MSIL1C", zip: zip)
        let scene = try Scene.assemble(inputs: [path])
        #expect(scene.bandNames == SentinelBand.all)
        #expect(scene.grid.width == 1008 && scene.grid.height == 768 && scene.grid.spatialReference?.epsg == 32633)
        #expect(scene.grid.geoTransform.originX == 330000 && scene.grid.geoTransform.originY == 5822040)
        #expect(scene.name.hasPrefix("S2A_MSIL1C_20170216T102101"))
        // Matched by name: the SAFE's B05 (20 m subdataset) equals the band file, up-sampled the same way.
        let direct = try Scene.assemble(inputs: [TestPaths.real("s2l1c_33UUU_20170216_west")], options: SceneOptions(bands: ["B05", "B04"]))
        let fromSAFE = try Scene.assemble(inputs: [path], options: SceneOptions(bands: ["B05", "B04"]))
        let window = RasterWindow(column: 100, row: 100, width: 200, height: 150)
        let a = try SceneReader(scene: direct).read(window: window)
        let b = try SceneReader(scene: fromSAFE).read(window: window)
        #expect(a.values == b.values)
    }

    @Test func l2aSafeHasSCLAndNodataBorder() throws {
        let path = try Self.product("S2A_MSIL2A", zip: false)
        let scene = try Scene.assemble(inputs: [path], options: SceneOptions(bands: ["B02", "B8A", "SCL"]))
        #expect(scene.bands.first { $0.name == "SCL" }?.sourceResolution == 20)
        let buffer = try SceneReader(scene: scene).read(window: RasterWindow(column: 0, row: 0, width: 40, height: 40))
        #expect(buffer[0, 0, 0] == 0)   // the 120 m nodata strip on the west edge
        #expect(buffer[0, 30, 0] > 0)
        let all = try Scene.assemble(inputs: [path])
        #expect(all.bandNames == SentinelBand.all.filter { $0 != "B10" })
    }
}

import Foundation
import RasterIO
import SceneSynthesis
import TestSupport
import Testing

@Suite("Synthetic scene files")
struct OutputTests {
    @Test("labels share the bands' grid and carry the legend; bands carry names, nodata and offsets")
    func labelAlignedWithBands() throws {
        let folder = try TestPaths.temporaryFolder().path
        defer { Support.remove(folder) }
        let scene = try SyntheticScene(spec: Support.spec(900, 600, seed: 12, clouds: 0.2))
        let result = try scene.write(to: folder)
        #expect(result.bandFiles.count == 1)
        let bands = try RasterDataset(path: result.bandFiles[0].path)
        let labels = try RasterDataset(path: result.labelFile.path)
        #expect(bands.width == 900 && bands.height == 600 && labels.width == 900 && labels.height == 600)
        #expect(bands.geoTransform == labels.geoTransform)
        #expect(bands.geoTransform == GeoTransform(originX: 300_000, pixelWidth: 10, originY: 5_900_040, pixelHeight: -10))
        #expect(bands.spatialReference?.epsg == 32633 && labels.spatialReference?.epsg == 32633)
        #expect(bands.bandNames.compactMap { $0 } == SentinelBand.all)
        #expect(bands.bands.allSatisfy { $0.dataType == .uint16 && $0.nodata == 0 && $0.blockWidth == 512 && $0.blockHeight == 512 })
        #expect(bands.metadata()["BOA_ADD_OFFSET"] == "-1000" && bands.metadata()["BOA_QUANTIFICATION_VALUE"] == "10000")
        let label = try #require(labels.bands.first)
        #expect(label.dataType == .byte && label.nodata == 255 && label.hasColorTable)
        let names = SyntheticClass.defaults.map(\.name) + ["cloud"]
        #expect(Array(label.categoryNames.prefix(names.count)) == names)
        #expect(label.categoryNames.count == 256 && label.categoryNames[255] == "nodata")
        #expect(labels.metadata()["LANDCOVER_CLASS_NAMES"] == names.joined(separator: ","))
        #expect(labels.metadata()["LANDCOVER_SYNTHETIC_SEED"] == "12")
        #expect(result.legend.names == names)
        #expect(result.labelCounts.reduce(0, +) == 900 * 600)
        let left = try Support.files(in: folder)
        #expect(!left.contains { $0.contains(RasterWriter.temporaryMarker) }, "\(left)")
    }

    @Test("nodata border: DN 0 in every band exactly where the label is nodata", arguments: [false, true])
    func nodataBorder(enabled: Bool) throws {
        let folder = try TestPaths.temporaryFolder().path
        defer { Support.remove(folder) }
        let scene = try SyntheticScene(spec: Support.spec(800, 640, seed: 31, clouds: 0.2, border: enabled))
        let result = try scene.write(to: folder)
        let bands = try Support.readAll(result.bandFiles[0].path).values
        let labels = try Support.readAll(result.labelFile.path).values
        let plane = 800 * 640
        var nodata = 0, inconsistent = 0
        for pixel in 0..<plane {
            let zeros = (0..<13).filter { bands[$0 * plane + pixel] == 0 }.count
            if labels[pixel] == 255 {
                nodata += 1
                if zeros != 13 { inconsistent += 1 }
            } else if zeros != 0 {
                inconsistent += 1
            }
        }
        #expect(inconsistent == 0, "pixels whose label and bands disagree on nodata")
        let fraction = Double(nodata) / Double(plane)
        if enabled {
            #expect(fraction > 0.08 && fraction < 0.5, "nodata fraction \(fraction)")
            // A straight swath edge: each row is one valid run and one nodata run.
            for row in stride(from: 0, to: 640, by: 37) {
                let flags = (0..<800).map { labels[row * 800 + $0] == 255 }
                let changes = zip(flags, flags.dropFirst()).filter { $0 != $1 }.count
                #expect(changes <= 1)
            }
        } else {
            #expect(nodata == 0)
        }
    }

    /// Per-band files at native resolutions stack by name onto the 10 m label grid; their 10 m
    /// bands equal the multi-band file's, their 20 m and 60 m pixels are means of 10 m pixels.
    @Test("per-band files stack through Scene.assemble")
    func perBandFilesStack() throws {
        let folder = try TestPaths.temporaryFolder().path, single = try TestPaths.temporaryFolder().path
        defer { Support.remove(folder); Support.remove(single) }
        let scene = try SyntheticScene(spec: Support.spec(1_000, 700, seed: 17, border: true))
        let result = try scene.write(to: folder, options: SceneWriteOptions(layout: .perBandFiles))
        let multi = try scene.write(to: single)
        #expect(result.bandFiles.map { $0.bands[0] } == SentinelBand.all)
        let b05 = try #require(result.bandFiles.first { $0.bands == ["B05"] })
        let b01 = try #require(result.bandFiles.first { $0.bands == ["B01"] })
        #expect(b05.path.hasSuffix("_B05_20m.tif") && b05.grid.width == 500 && b05.grid.height == 350)
        #expect(b01.path.hasSuffix("_B01_60m.tif") && b01.grid.width == 167 && b01.grid.height == 117)

        let stacked = try Scene.assemble(inputs: [folder])
        #expect(stacked.bandNames == SentinelBand.all)
        #expect(stacked.grid.width == 1_000 && stacked.grid.height == 700)
        #expect(stacked.grid.geoTransform == result.labelFile.grid.geoTransform)
        #expect(stacked.grid.spatialReference?.epsg == 32633)
        for band in stacked.bands {
            let native = SyntheticScene.nativeFactor(of: band.name)
            #expect((band.resampling == nil) == (native == 1), "\(band.name): \(String(describing: band.resampling))")
            #expect(abs(band.sourceResolution - 10 * Double(native)) < 1e-9)
        }
        // 10 m bands through the stacked reader equal the multi-band file's.
        let reader = try SceneReader(scene: stacked)
        let window = RasterWindow(column: 100, row: 50, width: 300, height: 200)
        let read = try reader.read(window: window)
        let reference = try RasterDataset(path: multi.bandFiles[0].path).read(window: window)
        for name in ["B02", "B03", "B04", "B08"] {
            let s = try #require(stacked.bandNames.firstIndex(of: name))
            let r = try #require(SentinelBand.all.firstIndex(of: name))
            #expect(Support.mismatches(Array(read.values[(s * window.pixelCount)..<((s + 1) * window.pixelCount)]),
                                       Array(reference.values[(r * window.pixelCount)..<((r + 1) * window.pixelCount)])) == 0, "\(name)")
        }
        // A 20 m pixel is the mean of its 2 x 2 10 m pixels up to noise.
        let coarse = try Support.readAll(b05.path).values
        let fine = try scene.render(window: scene.grid.fullWindow, bands: ["B05"]).values
        var difference = 0.0, compared = 0, wrongNodata = 0
        for y in 0..<350 {
            for x in 0..<500 {
                let quad = [fine[2 * y * 1000 + 2 * x], fine[2 * y * 1000 + 2 * x + 1],
                            fine[(2 * y + 1) * 1000 + 2 * x], fine[(2 * y + 1) * 1000 + 2 * x + 1]]
                let value = coarse[y * 500 + x]
                if quad.allSatisfy({ $0 == 0 }) && value != 0 { wrongNodata += 1 }
                guard quad.allSatisfy({ $0 > 0 }) else { continue }
                if value == 0 { wrongNodata += 1 }
                difference += abs(Double(value) - Double(quad.map(Int.init).reduce(0, +)) / 4)
                compared += 1
            }
        }
        #expect(wrongNodata == 0)
        #expect(compared > 100_000)
        #expect(difference / Double(compared) < 60, "mean |20 m - mean of 10 m| = \(difference / Double(compared)) DN")
    }

    @Test("a 2048 x 2048 scene with clouds and border has every class")
    func largeScene() throws {
        let folder = try TestPaths.temporaryFolder().path
        defer { Support.remove(folder) }
        let scene = try SyntheticScene(spec: Support.spec(2_048, 2_048, seed: 42, clouds: 0.2, border: true))
        let result = try scene.write(to: folder)
        let size = try FileManager.default.attributesOfItem(atPath: result.bandFiles[0].path)[.size] as? Int ?? 0
        #expect(size > 20_000_000)
        #expect(result.labelCounts.reduce(0, +) == 2_048 * 2_048)
        for (value, name) in result.legend.names.enumerated() {
            #expect(result.labelCounts[value] > 0, "no \(name) pixels")
        }
        #expect(result.labelCounts[255] > 0)
    }

    @Test("options out of range are named")
    func invalidOptions() throws {
        func option(_ spec: SyntheticSceneSpec) -> String? {
            do {
                _ = try SyntheticScene(spec: spec)
                return nil
            } catch let error as SynthesisError {
                if case .invalidOption(let option, _) = error { return option }
                if case .unsuitableCRS = error { return "epsg" }
                return "other"
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(option(Support.spec(0, 10)) == "width")
        #expect(option(Support.spec(10, 200_000)) == "height")
        #expect(option(Support.spec(10, 10, clouds: 1.5)) == "cloud-cover")
        var spec = Support.spec(10, 10)
        spec.epsg = 4326
        #expect(option(spec) == "epsg")
        spec.epsg = 2_000_000_000
        #expect(option(spec) == "epsg")
        spec.epsg = 32733
        #expect(option(spec) == nil)
        spec.classes = []
        #expect(option(spec) == "classes")
        let description = SynthesisError.unsuitableCRS(definition: "EPSG:4326", reason: "is not projected").description
        #expect(description.contains("--epsg") && description.contains("UTM"))
        #expect(throws: SynthesisError.self) {
            _ = try SyntheticClass(name: "x", color: RGBColor(red: 0, green: 0, blue: 0), reflectance: [0.1], landscapeWeight: 1, patchWeight: 1)
        }
        let scene = try SyntheticScene(spec: Support.spec(64, 64))
        #expect(throws: SynthesisError.self) { try scene.render(window: RasterWindow(column: 60, row: 0, width: 10, height: 10)) }
        #expect(throws: SynthesisError.self) { try scene.render(window: RasterWindow(width: 8, height: 8), bands: ["B13"]) }
        #expect(throws: SynthesisError.self) { try scene.render(window: RasterWindow(width: 8, height: 8), factor: 3) }
    }

    @Test("unusable output folders and options fail before anything is written")
    func writeErrors() throws {
        let folder = try TestPaths.temporaryFolder().path
        defer { Support.remove(folder) }
        let file = (folder as NSString).appendingPathComponent("file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let scene = try SyntheticScene(spec: Support.spec(64, 64))
        #expect(throws: SynthesisError.outputFolder(path: file, reason: "is a file, not a folder")) {
            try scene.write(to: file)
        }
        #expect(throws: SynthesisError.self) { try scene.write(to: folder, options: SceneWriteOptions(threads: 0)) }
        #expect(throws: SynthesisError.self) { try scene.write(to: folder, options: SceneWriteOptions(name: "a/b")) }
        #expect(try Support.files(in: folder) == ["file"])
        // A label commit that fails (its final name is taken by a folder) removes the band file
        // committed before it: a failed run leaves nothing under the final names.
        let blocked = (folder as NSString).appendingPathComponent("blocked")
        try FileManager.default.createDirectory(atPath: (blocked as NSString).appendingPathComponent("b_labels.tif"),
                                                withIntermediateDirectories: true)
        #expect(throws: RasterIOError.self) { try scene.write(to: blocked, options: SceneWriteOptions(name: "b")) }
        #expect(try Support.files(in: blocked) == ["b_labels.tif"])
        // A missing folder is created.
        let nested = (folder as NSString).appendingPathComponent("new/inner")
        let result = try scene.write(to: nested, options: SceneWriteOptions(name: "s"))
        #expect(try Support.files(in: nested).filter { $0.hasSuffix(".tif") } == ["s.tif", "s_labels.tif"])
        #expect(result.bandFiles[0].path == (nested as NSString).appendingPathComponent("s.tif"))
    }
}

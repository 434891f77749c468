import Foundation
import RasterIO
import TestSupport
import Testing

@Suite("Reading and writing rasters")
struct ReadWriteTests {
    @Test("round trip keeps CRS, geotransform, nodata, type and values", arguments: RasterDataType.allCases)
    func roundTrip(dataType: RasterDataType) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("r.tif").path
        let nodata: Double = dataType == .byte ? 255 : 7
        try TestRasters.writeRaster(path, width: 37, height: 23, bands: 2, dataType: dataType, originX: 499980.5,
                                 originY: 4200000.25, pixel: 20, crs: "EPSG:32618", nodata: nodata,
                                 descriptions: ["B05", "B06"]) { b, x, y in Double((b * 31 + x * 3 + y) % 200 + 10) }
        let ds = try RasterDataset(path: path)
        #expect(ds.width == 37 && ds.height == 23)
        #expect(ds.bands.count == 2)
        #expect(ds.bands.allSatisfy { $0.dataType == dataType && $0.nodata == nodata })
        #expect(ds.bandNames == ["B05", "B06"])
        #expect(ds.spatialReference?.epsg == 32618)
        #expect(ds.geoTransform == GeoTransform(originX: 499980.5, pixelWidth: 20, originY: 4200000.25, pixelHeight: -20))
        let buffer = try ds.read(window: ds.fullWindow, bands: [2, 1])
        #expect(buffer[0, 5, 7] == Float((31 + 15 + 7) % 200 + 10))
        #expect(buffer[1, 5, 7] == Float((15 + 7) % 200 + 10))
        #expect(buffer.validFraction == 1)
        // gdalinfo agrees on the georeferencing.
        let info = try TestRasters.gdalinfo(path)
        let gt = info["geoTransform"] as? [Double]
        #expect(gt == [499980.5, 20, 0, 4200000.25, 0, -20])
    }

    @Test func boundlessReadMarksOutsidePixelsInvalid() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("r.tif").path
        try TestRasters.writeRaster(path, width: 10, height: 8, nodata: 0) { _, x, y in Double(100 + y * 10 + x) }
        let ds = try RasterDataset(path: path)
        let window = RasterWindow(column: -3, row: 5, width: 6, height: 6)
        let buffer = try ds.read(window: window)
        for row in 0..<6 {
            for col in 0..<6 {
                let x = col - 3, y = row + 5
                let inside = x >= 0 && x < 10 && y >= 0 && y < 8
                #expect(buffer.isValid(column: col, row: row) == inside)
                #expect(buffer[0, col, row] == (inside ? Float(100 + y * 10 + x) : 0))
            }
        }
        let outside = try ds.read(window: RasterWindow(column: 50, row: 50, width: 4, height: 4))
        #expect(outside.validFraction == 0)
    }

    @Test func nodataAndNaNAreInvalid() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let uint = folder.appendingPathComponent("u.tif").path
        try TestRasters.writeRaster(uint, width: 4, height: 4, bands: 2, nodata: 0) { b, x, y in
            (b == 1 && x == 2 && y == 1) || (b == 0 && x == 0 && y == 0) ? 0 : 50
        }
        let buffer = try RasterDataset(path: uint).read(window: RasterWindow(width: 4, height: 4))
        #expect(!buffer.isValid(column: 2, row: 1) && !buffer.isValid(column: 0, row: 0))
        #expect(buffer.validity.filter { $0 == 1 }.count == 14)
        let float = folder.appendingPathComponent("f.tif").path
        try TestRasters.writeRaster(float, width: 3, height: 1, dataType: .float32) { _, x, _ in x == 1 ? .nan : 2 }
        let fb = try RasterDataset(path: float).read(window: RasterWindow(width: 3, height: 1))
        #expect(fb.validity == [1, 0, 1])
        #expect(fb.values == [2, 0, 2])
    }

    @Test func uncommittedWriterLeavesNothing() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.tif").path
        do {
            let grid = SceneGrid(width: 8, height: 8, geoTransform: GeoTransform(originX: 0, pixelWidth: 1, originY: 8, pixelHeight: -1),
                                 spatialReference: try SpatialReference("EPSG:4326"))
            let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: grid, bandCount: 1, dataType: .byte))
            try writer.write(band: 1, window: RasterWindow(width: 8, height: 8), values: [UInt8](repeating: 3, count: 64))
            #expect(FileManager.default.fileExists(atPath: writer.temporaryPath))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        // Stale temporary files of a killed run are found and removed.
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(".x.tif\(RasterWriter.temporaryMarker)12-1.tif").path, contents: Data([1]))
        #expect(RasterWriter.removeStaleTemporaryFiles(in: folder.path).count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func typedErrorsForBadFiles() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.tif").path
        #expect(throws: RasterIOError.fileNotFound(path: missing)) { try RasterDataset(path: missing) }

        let text = folder.appendingPathComponent("notes.tif").path
        try "this is not a raster\n".write(toFile: text, atomically: true, encoding: .utf8)
        do {
            _ = try RasterDataset(path: text)
            Issue.record("a text file opened as a raster")
        } catch let error as RasterIOError {
            guard case .notARaster(let path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == text)
            #expect(error.description.contains("notes.tif"))
        }

        // A truncated GeoTIFF: either opening or reading fails with a typed error naming the file.
        let full = folder.appendingPathComponent("full.tif").path
        try TestRasters.writeRaster(full, width: 600, height: 600, bands: 3) { b, x, y in Double((x * 7 + y * 13 + b) % 4000) }
        let data = try Data(contentsOf: URL(fileURLWithPath: full))
        let truncated = folder.appendingPathComponent("truncated.tif").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        do {
            let ds = try RasterDataset(path: truncated)
            _ = try ds.read(window: ds.fullWindow)
            Issue.record("a truncated GeoTIFF was read without error")
        } catch let error as RasterIOError {
            #expect(error.description.contains("truncated.tif"))
        }

        let ds = try RasterDataset(path: full)
        #expect(throws: RasterIOError.self) { try ds.bandIndex(named: "B12") }
        #expect(throws: RasterIOError.self) { try ds.read(window: ds.fullWindow, bands: [4]) }
    }
}

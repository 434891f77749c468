import Foundation
import RasterIO
import TestSupport
import Testing

@Suite("Label rasters read onto a scene grid")
struct RasterLabelsTests {
    /// gdal_rasterize of the 33UUU polygons on the sample grid, written to `folder/ref.tif`.
    private func reference(_ grid: SceneGrid, _ folder: URL) throws -> (path: String, values: [UInt8]) {
        let values = try LabelFixtures.gdalRasterize(grid: grid, folder: folder, name: "ref.tif")
        return (folder.appendingPathComponent("ref.tif").path, values)
    }

    @Test func alignedAndShiftedRastersAreReadDirectly() throws {
        let grid = try LabelFixtures.grid()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ref = try reference(grid, folder)
        let aligned = try RasterLabels(path: ref.path, grid: grid)
        #expect(!aligned.isWarped)
        #expect(try LabelFixtures.rasterizeInStrips(aligned, rows: 200) == ref.values)

        // A crop starting at column 100, row 50: same grid shifted by whole pixels.
        let crop = folder.appendingPathComponent("crop.tif").path
        try CommandLineTool.run("gdal_translate", ["-q", "-srcwin", "100", "50", "300", "200", ref.path, crop])
        let shifted = try RasterLabels(path: crop, grid: grid)
        #expect(!shifted.isWarped)
        let window = RasterWindow(column: 80, row: 40, width: 340, height: 220)
        let part = try shifted.labels(window: window)
        for row in 0..<window.height {
            for column in 0..<window.width {
                let x = window.column + column, y = window.row + row
                let inside = (100..<400).contains(x) && (50..<250).contains(y)
                #expect(part[row * window.width + column] == (inside ? ref.values[y * grid.width + x] : 255))
            }
        }
    }

    /// A 20 m label raster is put on the 10 m grid by nearest neighbour: the same as gdalwarp -r near.
    @Test func coarserRasterIsWarpedWithNearestNeighbour() throws {
        let grid = try LabelFixtures.grid()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ref = try reference(grid, folder)
        let coarse = folder.appendingPathComponent("coarse.tif").path
        try CommandLineTool.run("gdal_translate", ["-q", "-tr", "20", "20", "-r", "nearest", ref.path, coarse])
        let expectedPath = folder.appendingPathComponent("expected.tif").path
        let b = grid.bounds
        try CommandLineTool.run("gdalwarp", ["-q", "-r", "near", "-te", "\(b.minX)", "\(b.minY)", "\(b.maxX)", "\(b.maxY)",
                                      "-ts", "\(grid.width)", "\(grid.height)", coarse, expectedPath])
        let expected = try LabelFixtures.readBytes(expectedPath)
        let labels = try RasterLabels(path: coarse, grid: grid)
        #expect(labels.isWarped)
        let ours = try LabelFixtures.rasterizeInStrips(labels, rows: 100)
        #expect(zip(ours, expected).filter { $0 != $1 }.count == 0)
        // Nearest neighbour never invents classes: only values of the source appear.
        #expect(Set(ours).isSubset(of: Set(ref.values)))
    }

    /// A label raster in another CRS (ETRS89-LAEA, no nodata) is reprojected: most labelled pixels
    /// agree with the original, and pixels outside its extent are unlabelled (alpha band).
    @Test func reprojectedRasterWithoutNodataIsWarpedAndMasked() throws {
        let grid = try LabelFixtures.grid()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ref = try reference(grid, folder)
        // Reproject, then drop the nodata declaration and crop so part of the grid is not covered.
        let laea = folder.appendingPathComponent("laea.tif").path
        try CommandLineTool.run("gdalwarp", ["-q", "-t_srs", "EPSG:3035", "-r", "near", "-tr", "10", "10", ref.path, laea])
        let cropped = folder.appendingPathComponent("laea_crop.tif").path
        let info = try TestRasters.gdalinfo(laea)
        let size = (info["size"] as? [Int]) ?? [0, 0]
        try CommandLineTool.run("gdal_translate", ["-q", "-a_nodata", "none", "-srcwin", "0", "0", "\(size[0] / 2)", "\(size[1])", laea, cropped])
        let labels = try RasterLabels(path: cropped, grid: grid)
        #expect(labels.isWarped)
        let ours = try LabelFixtures.rasterizeInStrips(labels, rows: 768)
        // Left part: the same classes almost everywhere (nearest neighbour through two grids).
        var agree = 0, labelled = 0, rightLabelled = 0
        for y in 0..<grid.height {
            for x in 0..<grid.width {
                let i = y * grid.width + x
                if x < grid.width / 3, ref.values[i] != 255 {
                    labelled += 1
                    if ours[i] == ref.values[i] { agree += 1 }
                }
                if x > grid.width * 2 / 3, ours[i] != 255 { rightLabelled += 1 }
            }
        }
        #expect(labelled > 10_000)
        #expect(Double(agree) / Double(labelled) > 0.9)
        #expect(rightLabelled == 0, "pixels the cropped raster does not cover must be unlabelled")
    }

    @Test func valueMappingAndErrors() throws {
        let grid = try LabelFixtures.grid()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ref = try reference(grid, folder)
        let mapped = try RasterLabels(path: ref.path, grid: grid, classValues: [1: 0, 5: 1])
        let ours = try LabelFixtures.rasterizeInStrips(mapped, rows: 768)
        for (value, original) in zip(ours, ref.values) {
            let expected: UInt8 = original == 1 ? 0 : (original == 5 ? 1 : 255)
            #expect(value == expected)
            if value != expected { break }
        }
        #expect(throws: RasterIOError.bandNotFound(band: "#2", path: ref.path, available: ["#1"])) {
            try RasterLabels(path: ref.path, band: 2, grid: grid)
        }
        #expect(throws: RasterIOError.fileNotFound(path: folder.appendingPathComponent("missing.tif").path)) {
            try RasterLabels(path: folder.appendingPathComponent("missing.tif").path, grid: grid)
        }
        #expect(throws: RasterIOError.self) {
            try RasterLabels(path: ref.path, grid: grid, classValues: [1: 255])
        }
    }
}

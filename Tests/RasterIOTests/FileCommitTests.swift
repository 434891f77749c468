import Foundation
import RasterIO
import TestSupport
import Testing

/// Finished files move into place whole: the new content replaces the old in one step, and a
/// failure names the final path and leaves the old file untouched.
@Suite("Moving finished files into place")
struct FileCommitTests {
    @Test func replacesTheFileAtTheFinalPath() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let final = folder.appendingPathComponent("map.tif").path, temporary = folder.appendingPathComponent(".map.tif.tmp").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: final))
        try Data("new, complete".utf8).write(to: URL(fileURLWithPath: temporary))
        try FileCommit.moveIntoPlace(temporary, to: final)
        #expect(try String(contentsOfFile: final, encoding: .utf8) == "new, complete")
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    @Test func aMissingTemporaryNamesTheFinalPathAndKeepsTheOldFile() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let final = folder.appendingPathComponent("map.tif").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: final))
        do {
            try FileCommit.moveIntoPlace(folder.appendingPathComponent("gone.tmp").path, to: final)
            Issue.record("moving a missing file succeeded")
        } catch let RasterIOError.writeFailed(path, reason) {
            #expect(path == final)
            #expect(reason.contains("No such file"))
        }
        #expect(try String(contentsOfFile: final, encoding: .utf8) == "old")
    }

    @Test func aRasterThatDoesNotFitFailsAsNoSpaceAndLeavesTheOldFileAlone() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = folder.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        do {
            _ = try CommandLineTool.run("mount", ["-t", "tmpfs", "-o", "size=262144", "tmpfs", small.path])
        } catch {
            print("no-space test skipped: cannot mount a tmpfs (\(error))")
            return
        }
        defer { _ = try? CommandLineTool.run("umount", [small.path]) }
        let final = small.appendingPathComponent("map.tif").path
        try Data("old, complete".utf8).write(to: URL(fileURLWithPath: final))
        // 512 x 512 x 2 bands of noise: about 1 MiB even compressed, four times the disk.
        let grid = SceneGrid(width: 512, height: 512,
                             geoTransform: GeoTransform(originX: 500_000, pixelWidth: 10, rowRotation: 0,
                                                        originY: 5_000_000, columnRotation: 0, pixelHeight: -10),
                             spatialReference: try SpatialReference("EPSG:32633"))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let values = (0..<(512 * 512)).map { _ -> UInt16 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt16(truncatingIfNeeded: state >> 48)
        }
        do {
            let writer = try RasterWriter(path: final, spec: RasterWriteSpec(grid: grid, bandCount: 2, dataType: .uint16))
            for band in 1...2 {
                try writer.write(band: band, window: RasterWindow(width: 512, height: 512), values: values)
            }
            try writer.commit()
            Issue.record("a 1 MiB raster was committed to a 256 KiB disk")
        } catch let RasterIOError.noSpace(path, full) {
            #expect(path == final)
            #expect(full == small.path)
        }
        #expect(try String(contentsOfFile: final, encoding: .utf8) == "old, complete")
        let left = try FileManager.default.contentsOfDirectory(atPath: small.path)
        #expect(left == ["map.tif"], "\(left)")
    }
}

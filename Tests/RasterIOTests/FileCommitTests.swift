import Foundation
import Testing
import RasterIO

/// Finished files move into place whole: the new content replaces the old in one step, and a
/// failure names the final path and leaves the old file untouched.
@Suite("Moving finished files into place")
struct FileCommitTests {
    @Test func replacesTheFileAtTheFinalPath() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let final = folder.appendingPathComponent("map.tif").path, temporary = folder.appendingPathComponent(".map.tif.tmp").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: final))
        try Data("new, complete".utf8).write(to: URL(fileURLWithPath: temporary))
        try FileCommit.moveIntoPlace(temporary, to: final)
        #expect(try String(contentsOfFile: final, encoding: .utf8) == "new, complete")
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    @Test func aMissingTemporaryNamesTheFinalPathAndKeepsTheOldFile() throws {
        let folder = try Fixtures.temporaryFolder()
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
}

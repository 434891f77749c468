import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Moves finished output files into place durably: the file's data reaches the disk before it
/// gets its final name, and the name reaches the disk before the caller goes on (to record the
/// scene as done in the run history, say). After a crash or power loss the final path holds
/// either the previous file or the complete new one, never a truncated one under a name the
/// history calls finished.
public enum FileCommit {
    /// Flushes `temporary` to disk, renames it to `path` (atomically replacing a file there) and
    /// flushes the folder entry.
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` naming `path` when the data cannot be
    ///   flushed or the rename fails; `temporary` is left for the caller to remove.
    public static func moveIntoPlace(_ temporary: String, to path: String) throws {
        try flush(temporary, reportingAs: path)
        if rename(temporary, path) != 0 {
            throw RasterIOError.writeFailed(path: path, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
        }
        try flush(folderOf: path)
    }

    /// `fsync` of one file.
    private static func flush(_ file: String, reportingAs path: String) throws {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw RasterIOError.writeFailed(path: path, reason: "cannot reopen the finished file to flush it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 {
            throw RasterIOError.writeFailed(path: path, reason: "the disk did not take the data (fsync: \(String(cString: strerror(errno)))); check the disk and free space")
        }
    }

    /// `fsync` of the folder holding `path`, so that the rename itself is on disk. File systems
    /// that cannot sync a folder (EINVAL) are not an error.
    private static func flush(folderOf path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 && errno != EINVAL {
            throw RasterIOError.writeFailed(path: path, reason: "the disk did not take the folder entry (fsync: \(String(cString: strerror(errno))))")
        }
    }
}

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
            let code = errno
            throw failure(path: path, reason: "cannot move the finished file into place: \(String(cString: strerror(code)))", errno: code)
        }
        try flush(folderOf: path)
    }

    /// Free bytes below which a failed write is put down to a full file system when the failing
    /// call's `errno` was lost (GDAL reports libtiff write errors through its own messages): a
    /// write that failed for lack of space has used up what was left, down to less than a block.
    static let nearlyFullBytes: UInt64 = 4 << 20

    /// The error for a failed write of `path`: ``RasterIOError/noSpace(path:folder:)`` when `errno`
    /// is ENOSPC or EDQUOT, or the file system holding the folder of `path` has less than
    /// ``nearlyFullBytes`` left; ``RasterIOError/writeFailed(path:reason:)`` otherwise.
    /// Call it before removing the failed temporary file (which frees its space).
    public static func failure(path: String, reason: String, errno code: Int32) -> RasterIOError {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if code == ENOSPC || code == EDQUOT {
            return .noSpace(path: path, folder: folder)
        }
        if let free = freeBytes(folder), free < nearlyFullBytes {
            return .noSpace(path: path, folder: folder)
        }
        return .writeFailed(path: path, reason: reason)
    }

    /// Bytes this process may still write on the file system holding `folder` (root may use the
    /// blocks reserved for it); nil when `statvfs` fails.
    public static func freeBytes(_ folder: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(folder, &info) == 0 else { return nil }
        let blocks = geteuid() == 0 ? UInt64(info.f_bfree) : UInt64(info.f_bavail)
        return blocks * UInt64(info.f_frsize)
    }

    /// Writes `data` to a new file at `temporary` (which must not exist; symbolic links are not
    /// followed), checking every `write` and the `close`.
    /// - Throws: ``RasterIOError/noSpace(path:folder:)`` or ``RasterIOError/writeFailed(path:reason:)``
    ///   naming `path` (the final name the data is meant for); a partial `temporary` is removed.
    public static func writeNew(_ data: Data, to temporary: String, reportingAs path: String) throws {
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            let code = errno
            throw failure(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(code)))", errno: code)
        }
        var failed: RasterIOError?
        data.withUnsafeBytes { raw in
            guard var cursor = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let written = Glibc.write(descriptor, cursor, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    failed = failure(path: path, reason: "writing: \(String(cString: strerror(code)))", errno: code)
                    return
                }
                cursor += written
                left -= written
            }
        }
        if close(descriptor) != 0, failed == nil {
            let code = errno
            failed = failure(path: path, reason: "closing: \(String(cString: strerror(code)))", errno: code)
        }
        if let failed {
            unlink(temporary)
            throw failed
        }
    }

    /// `fsync` of one file.
    private static func flush(_ file: String, reportingAs path: String) throws {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw RasterIOError.writeFailed(path: path, reason: "cannot reopen the finished file to flush it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 {
            let code = errno
            throw failure(path: path, reason: "the disk did not take the data (fsync: \(String(cString: strerror(code))))", errno: code)
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
            let code = errno
            throw failure(path: path, reason: "the disk did not take the folder entry (fsync: \(String(cString: strerror(code))))", errno: code)
        }
    }
}

/// Writes files so that the final path only ever holds complete content.
public enum AtomicFile {
    /// Writes `data` to a hidden temporary file beside `path` (every `write` and the `close`
    /// checked) and moves it into place durably (``FileCommit/moveIntoPlace(_:to:)``), then reads
    /// the file under the final name back and compares it with `data`; a file that differs is
    /// removed.
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` or ``RasterIOError/noSpace(path:folder:)``
    ///   naming the path.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent)\(RasterWriter.temporaryMarker)\(ProcessInfo.processInfo.processIdentifier)").path
        // A file of an earlier process with the same pid.
        unlink(temporary)
        try FileCommit.writeNew(data, to: temporary, reportingAs: path)
        do {
            try FileCommit.moveIntoPlace(temporary, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard FileManager.default.contents(atPath: path) == data else {
            try? FileManager.default.removeItem(atPath: path)
            throw RasterIOError.writeFailed(path: path, reason: "the file on disk differs from what was written")
        }
    }
}

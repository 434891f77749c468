import Foundation

/// Who holds a run lock, as its holder wrote it into the lock file.
public struct RunLockHolder: Sendable, Equatable, CustomStringConvertible {
    /// Process id of the holder (on `host`).
    public var pid: Int32?
    /// Host name of the holder.
    public var host: String?
    /// When the holder took the lock (ISO 8601, UTC).
    public var started: String?

    /// Parses the lock file's `pid=... host=... started=...` line.
    init(text: String) {
        var fields: [String: String] = [:]
        for part in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        pid = fields["pid"].flatMap { Int32($0) }
        host = fields["host"]
        started = fields["started"]
    }

    /// `pid 1234 on host, since 2025-01-01T00:00:00Z`, or `an unknown process`.
    public var description: String {
        guard let pid else { return "an unknown process" }
        return "pid \(pid)" + (host.map { " on \($0)" } ?? "") + (started.map { ", since \($0)" } ?? "")
    }
}

/// Errors of ``RunLock``.
public enum RunLockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process holds the lock (and the caller did not want to wait).
    case held(path: String, holder: RunLockHolder)
    /// The lock file cannot be created or locked.
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .held(let path, let holder):
            return "another run holds the lock \(path) (\(holder)); wait for it to finish, or pass --wait to queue behind it"
        case .unusable(let path, let reason):
            return "\(path): cannot lock (\(reason)); the output folder must be writable and on a file system with flock support"
        }
    }
}

/// An advisory exclusive lock (`flock(2)`) on a file: one run per pipeline (and shard) at a time
/// (`landcover run`, the path from `RunLock.path(pipelinePath:outputFolder:shard:)` in BatchRun), one
/// training per checkpoint folder (`landcover train`).
///
/// The kernel releases the lock when the process exits, however it exits (`kill -9` included),
/// so a lock is never stale. The file itself stays (deleting a lock file while another process
/// waits on it would let two runs in); after taking the lock the holder writes its pid, host
/// and start time into it so a second run can say who holds it.
public final class RunLock: @unchecked Sendable {
    /// The lock file.
    public let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the lock.
    ///
    /// - Parameters:
    ///   - wait: block until the holder finishes instead of failing at once.
    ///   - onWait: called once with the current holder before blocking (for a log line).
    /// - Throws: ``RunLockError/held(path:holder:)`` when another process holds it and `wait`
    ///   is false; ``RunLockError/unusable(path:reason:)`` when the file cannot be opened or locked.
    public static func acquire(path: String, wait: Bool, onWait: (RunLockHolder) -> Void = { _ in }) throws -> RunLock {
        // Never follow a symbolic link planted at the lock's path (it could point at any file the
        // user can write), never block on a FIFO, and never truncate on open.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            if code == ELOOP {
                throw RunLockError.unusable(path: path, reason: "a symbolic link is at the lock file's path; remove it")
            }
            throw RunLockError.unusable(path: path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink == 1 else {
            close(descriptor)
            let what = (info.st_mode & S_IFMT) == S_IFREG ? "a file with several hard links" : FileKind.describe(mode: info.st_mode)
            throw RunLockError.unusable(path: path, reason: "\(what) is at the lock file's path, not a lock file; remove it")
        }
        if info.st_size > 0, !Self.looksLikeLock(descriptor, size: Int(info.st_size)) {
            close(descriptor)
            throw RunLockError.unusable(path: path, reason: "the file at the lock's path is not a landcover lock file (it does not start with pid=); move it away")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK else {
                close(descriptor)
                throw RunLockError.unusable(path: path, reason: String(cString: strerror(code)))
            }
            let holder = readHolder(descriptor)
            guard wait else {
                close(descriptor)
                throw RunLockError.held(path: path, holder: holder)
            }
            onWait(holder)
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(descriptor)
                    throw RunLockError.unusable(path: path, reason: reason)
                }
            }
        }
        let lock = RunLock(path: path, descriptor: descriptor)
        lock.writeHolder()
        return lock
    }

    /// Whether the file holds what a lock holder writes (`pid=... host=... started=...`), so that
    /// writing the holder line over it destroys nothing.
    private static func looksLikeLock(_ descriptor: Int32, size: Int) -> Bool {
        guard size <= 4096 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        return count == 4 && buffer == Array("pid=".utf8)
    }

    /// The holder recorded in a lock file (for messages).
    public static func holder(path: String) -> RunLockHolder {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return RunLockHolder(text: "") }
        defer { close(descriptor) }
        return readHolder(descriptor)
    }

    /// Reads the holder line; the holder writes it right after locking, so an empty file is
    /// retried for up to a quarter of a second.
    private static func readHolder(_ descriptor: Int32) -> RunLockHolder {
        for _ in 0..<25 {
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                let holder = RunLockHolder(text: String(decoding: buffer.prefix(count), as: UTF8.self))
                if holder.pid != nil { return holder }
            }
            usleep(10_000)
        }
        return RunLockHolder(text: "")
    }

    private func writeHolder() {
        let formatter = ISO8601DateFormatter()
        let line = "pid=\(getpid()) host=\(ProcessInfo.processInfo.hostName) started=\(formatter.string(from: Date()))\n"
        let bytes = Array(line.utf8)
        _ = ftruncate(descriptor, 0)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock (also done when the object goes away or the process exits).
    public func release() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit {
        release()
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real server process a test starts on 127.0.0.1 and stops after: the range-capable HTTP
/// file server (`scripts/test_http_server.py`) for GDAL's `/vsicurl/`, an S3 endpoint, a STAC API.
/// The one process/port helper of the tests for servers.
///
/// The server's standard output and standard error are read line by line as they come (so a
/// chatty server never fills its pipes) and kept in ``log``; the start waits for the line that
/// says the server listens and takes the port from it (a server that picks a free port itself
/// has no race with another test), or for `port` to accept connections.
public final class LoopbackServer: @unchecked Sendable {
    /// The port it listens on, on 127.0.0.1.
    public let port: Int
    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let process: Process
    private let output = Lines()

    /// Starts `tool arguments` (a path or a name on `PATH`) and waits until `ready` returns a port
    /// for one of its output lines (or, when `port` is given, until that port accepts a TCP
    /// connection), at most `timeout` seconds.
    /// - Throws: ``Failure`` when the process exits or does not become ready in time (with its output).
    public init(_ tool: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
                port fixedPort: Int? = nil, timeout: TimeInterval = 60, ready: @escaping @Sendable (String) -> Int? = { _ in nil }) throws {
        let (launched, out, err) = try CommandLineTool.launch(tool, arguments, environment: environment, directory: directory)
        process = launched
        for pipe in [out, err] {
            let lines = output
            Thread {
                let handle = pipe.fileHandleForReading
                var pending = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self), ready: ready)
                        pending = Data(pending[pending.index(after: newline)...])
                    }
                }
                if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self), ready: ready) }
            }.start()
        }
        let deadline = Date().addingTimeInterval(timeout)
        var found: Int?
        while Date() < deadline && process.isRunning {
            if let fixedPort {
                if Self.accepts(port: fixedPort) { found = fixedPort; break }
            } else if let announced = output.port {
                found = announced
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let found else {
            let command = ([tool] + arguments).joined(separator: " ")
            let why = process.isRunning ? "did not become ready in \(Int(timeout)) s" : "exited \(process.terminationStatus)"
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            throw Failure(description: "\(command) \(why): \(output.text)")
        }
        port = found
    }

    deinit { stop() }

    /// The range-capable HTTP file server of the tests serving the files below `root`
    /// (`scripts/test_http_server.py`: Range, HEAD, ETag, Last-Modified, and the fault modes
    /// `/fault/500/...`, `/fault/503/...`, `/fault/429/...`, `/fault/stall/...`).
    public static func httpFiles(root: URL) throws -> LoopbackServer {
        try LoopbackServer("python3", [TestPaths.package("scripts/test_http_server.py"), root.path]) { line in
            guard line.hasPrefix("listening on http://127.0.0.1:") else { return nil }
            return Int(line.split(separator: ":").last ?? "")
        }
    }

    /// Everything the server printed so far (standard output and standard error, one line each).
    public var log: [String] { output.all }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it; idempotent.
    /// Whether the server process is still running.
    public var isRunning: Bool { process.isRunning }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (bound to port 0 and released), for
    /// servers that cannot pick one themselves.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "cannot bind a port on 127.0.0.1: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A server that did not start.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The lines read so far and the port announced in one of them.
    private final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        private var announced: Int?

        func append(_ line: String, ready: (String) -> Int?) {
            let port = ready(line)
            lock.lock()
            lines.append(line)
            if announced == nil { announced = port }
            lock.unlock()
        }

        var port: Int? { lock.lock(); defer { lock.unlock() }; return announced }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
        var text: String { all.suffix(40).joined(separator: "\n") }
    }
}

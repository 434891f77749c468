import Foundation

/// Runs command-line programs for tests: landcover itself and the independent tools that check
/// its files (gdalinfo, ogr2ogr, ogrinfo, QGIS, python3). The one process runner of the tests.
public enum CommandLineTool {
    /// What a finished program returned.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Runs `tool` (a path, or a name looked up on `PATH`) with `arguments` and returns its
    /// standard output.
    /// - Throws: ``Failure`` with the command line, exit status and standard error on a non-zero exit.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let result = try outcome(tool, arguments)
        guard result.status == 0 else {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    /// Runs `tool` and returns its exit status and output whatever the status.
    /// - Parameters:
    ///   - environment: the whole environment of the child; nil inherits the test's own.
    ///   - directory: its working directory; nil keeps the test's own.
    /// Standard error is collected on another thread, so a chatty tool cannot fill its pipe and
    /// stall while standard output is read.
    public static func outcome(_ tool: String, _ arguments: [String], environment: [String: String]? = nil,
                               directory: URL? = nil) throws -> Result {
        let (process, out, err) = try launch(tool, arguments, environment: environment, directory: directory)
        let errors = ErrorData()
        let reader = Thread { errors.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = errors.wait()
        return Result(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                      stderr: String(decoding: message, as: UTF8.self))
    }

    /// Starts `tool` (looked up on PATH) with its standard output and error piped; the caller
    /// reads both (a full pipe would stall the process) and waits for it.
    public static func launch(_ tool: String, _ arguments: [String], environment: [String: String]? = nil,
                              directory: URL? = nil) throws -> (process: Process, stdout: Pipe, stderr: Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    /// The test's environment with `changes` applied (a nil value removes the variable).
    public static func environment(_ changes: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in changes { environment[key] = value }
        return environment
    }

    /// A tool that exited non-zero.
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var stderr: String
        public var description: String { "\(command) exited \(status): \(stderr)" }
    }

    /// Standard error handed from the reading thread.
    private final class ErrorData: @unchecked Sendable {
        private let condition = NSCondition()
        private var data: Data?

        func set(_ value: Data) {
            condition.lock()
            data = value
            condition.signal()
            condition.unlock()
        }

        func wait() -> Data {
            condition.lock()
            defer { condition.unlock() }
            while data == nil { condition.wait() }
            return data ?? Data()
        }
    }
}

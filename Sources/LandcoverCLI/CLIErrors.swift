import ArgumentParser
import Foundation
import RasterIO

/// Process exit codes (documented in README, "Exit codes").
enum ExitCodes {
    /// Everything done.
    static let success: Int32 = 0
    /// A run finished but some scenes failed.
    static let someFailed: Int32 = 1
    /// Invalid pipeline file, arguments or input data; nothing was written.
    static let invalidInput: Int32 = 2
    /// Another run holds the pipeline's lock.
    static let locked: Int32 = 3
    /// An unexpected internal or I/O failure.
    static let failure: Int32 = 4
    /// An output could not be written (no space left, output folder not writable); nothing
    /// partial was left under a final name and no scene was recorded done for it.
    static let cannotWrite: Int32 = 5
    /// Stopped by a signal: 128 + the signal number (SIGTERM 143, SIGINT 130), as shells and
    /// Kubernetes report a process ended by that signal.
    static func interrupted(by signal: Int32) -> Int32 { 128 + signal }
}

/// Maps library errors to one-line messages on stderr and exit codes.
enum CLIErrors {
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as RasterIOError {
            fail(error.description, code: code(for: error))
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch let error as CustomStringConvertible & Error {
            fail(error.description, code: ExitCodes.invalidInput)
        } catch {
            fail("\(error)", code: ExitCodes.failure)
        }
    }

    static func code(for error: RasterIOError) -> Int32 {
        switch error {
        case .writeFailed, .noSpace: return ExitCodes.cannotWrite
        case .gdalFailure: return ExitCodes.failure
        default: return ExitCodes.invalidInput
        }
    }

    /// Prints `landcover: <message>` on one line of stderr and exits with `code`.
    static func fail(_ message: String, code: Int32) -> Never {
        printError(message)
        exit(code)
    }

    /// Prints `landcover: <message>` on one line of stderr (newlines in the message become spaces).
    static func printError(_ message: String) {
        let line = "landcover: " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

import ArgumentParser
import CNN
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO

/// Process exit codes, one per class of failure (documented in README, "Exit codes", and relied
/// on by examples/schedulers: Kubernetes does not retry 2).
enum ExitCodes {
    /// Everything done.
    static let success: Int32 = 0
    /// A run finished but some scenes failed.
    static let someFailed: Int32 = 1
    /// Invalid pipeline file, arguments, model or input data; nothing was written.
    static let invalidInput: Int32 = 2
    /// Another run holds the pipeline's lock.
    static let locked: Int32 = 3
    /// An unexpected internal or I/O failure (a write, the disk, the output folder, the lock file).
    static let failure: Int32 = 4
    /// An output could not be written (no space left, output folder not writable); nothing
    /// partial was left under a final name and no scene was recorded done for it.
    static let cannotWrite: Int32 = 5
    /// The run history cannot be opened, read or written (missing, damaged, not a landcover
    /// history, permissions, a lock held past the busy timeout).
    static let history: Int32 = 6
    /// Stopped by a signal: 128 + the signal number (SIGTERM 143, SIGINT 130), as shells and
    /// Kubernetes report a process ended by that signal.
    static func interrupted(by signal: Int32) -> Int32 { 128 + signal }
}

/// Maps library errors to one-line messages on stderr and exit codes.
enum CLIErrors {
    /// Runs `body`; an error becomes one line on stderr and its class's exit code. `file` is the
    /// pipeline (or training) file the command reads: key errors are prefixed with it.
    static func guarded(file: String? = nil, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            fail(message(for: error, file: file), code: code(for: error))
        }
    }

    /// The one-line message of `error`: `<file>: <problem>; <fix>`, never a Swift type name.
    static func message(for error: any Error, file: String?) -> String {
        if let error = error as? PipelineError, let file { return error.message(pipelineFile: file) }
        return ErrorText.describe(error)
    }

    /// The exit code of `error`'s class (see ``ExitCodes``).
    static func code(for error: any Error) -> Int32 {
        switch error {
        case let error as RasterIOError:
            switch error {
            case .writeFailed, .noSpace: return ExitCodes.cannotWrite
            case .gdalFailure: return ExitCodes.failure
            // A server that fails or does not answer may work on a retry; a missing object or
            // refused access will not.
            case .remoteUnavailable(_, let status, _): return (400..<500).contains(status) && status != 429 ? ExitCodes.invalidInput : ExitCodes.failure
            default: return ExitCodes.invalidInput
            }
        case is RunHistoryError: return ExitCodes.history
        case let error as RunLockError:
            if case .held = error { return ExitCodes.locked }
            return ExitCodes.invalidInput
        case let error as ONNXError:
            if case .fileError = error { return ExitCodes.failure }
            return ExitCodes.invalidInput
        case is ModelContractError, is NumpyError, is TensorError: return ExitCodes.invalidInput
        default:
            // landcover's own error types describe themselves (bad input); Foundation's and
            // anything else are unexpected failures.
            let value: Any = error
            return !(value is NSError) && value is any CustomStringConvertible ? ExitCodes.invalidInput : ExitCodes.failure
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

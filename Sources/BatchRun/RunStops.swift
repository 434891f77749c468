import Classification
import Foundation
import RasterIO

/// The run stopped because a signal asked it to (see ``RunCancellation``): the run is recorded
/// `interrupted`.
public struct RunInterrupted: Error, Sendable, CustomStringConvertible {
    /// The signal number (SIGTERM 15, SIGINT 2).
    public var signal: Int32
    /// The run's report up to the stop, when the runner got that far.
    public var report: RunReport?

    public init(signal: Int32, report: RunReport? = nil) {
        self.signal = signal
        self.report = report
    }

    /// `SIGTERM`, `SIGINT` or `signal N`.
    public var signalName: String { SceneInterrupted(signal: signal).signalName }

    public var description: String {
        "stopped by \(signalName) before the run finished; unfinished scenes left no output and the next run does them"
    }
}

/// The run stopped because an output could not be written (a full disk, an output folder that
/// is not writable): every later scene would fail the same way. The failing scene is recorded
/// `failed` and the run `failed`; nothing partial is left under a final name.
public struct RunCannotWrite: Error, Sendable, CustomStringConvertible {
    /// The write error naming the file (and, for a full disk, the folder).
    public var error: RasterIOError
    /// The run's report up to the stop.
    public var report: RunReport

    public init(error: RasterIOError, report: RunReport) {
        self.error = error
        self.report = report
    }

    public var description: String { error.description }
}

import Foundation
import RasterIO

/// A request to stop a run, set from outside it (the command line's SIGTERM/SIGINT handler):
/// the run stops taking new work, the scene in flight abandons its unfinished outputs (their
/// temporary files are removed), and ``PipelineRunner/run(options:progress:)`` records the run
/// `interrupted` and throws ``RunInterrupted``. Thread-safe.
public final class RunCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var requestedSignal: Int32?
    private var handlers: [Int: @Sendable () -> Void] = [:]
    private var nextToken = 0

    public init() {}

    /// Asks the run to stop; `signal` is the signal that asked (SIGTERM, SIGINT), kept for the
    /// message and the exit code. Later requests keep the first signal.
    public func cancel(signal: Int32) {
        lock.lock()
        if requestedSignal == nil { requestedSignal = signal }
        let waiting = Array(handlers.values)
        handlers.removeAll()
        lock.unlock()
        for handler in waiting { handler() }
    }

    /// The signal that asked the run to stop, or nil while it may go on.
    public var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return requestedSignal
    }

    /// Whether a stop was requested.
    public var isCancelled: Bool { signal != nil }

    /// Calls `handler` once when a stop is requested (at once when it already was); returns a
    /// token for ``remove(_:)``.
    func onCancel(_ handler: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        if requestedSignal != nil {
            lock.unlock()
            handler()
            return -1
        }
        nextToken += 1
        let token = nextToken
        handlers[token] = handler
        lock.unlock()
        return token
    }

    /// Forgets a handler registered with ``onCancel(_:)``.
    func remove(_ token: Int) {
        lock.lock()
        handlers[token] = nil
        lock.unlock()
    }

    /// Throws ``RunInterrupted`` when a stop was requested.
    func check() throws {
        if let signal { throw RunInterrupted(signal: signal) }
    }
}

/// The run stopped because a signal asked it to (see ``RunCancellation``).
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
    public var signalName: String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        default: return "signal \(signal)"
        }
    }

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

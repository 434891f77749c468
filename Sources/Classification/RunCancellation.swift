import Config
import Foundation
import RasterIO

/// A request to stop a run, set from outside it (the command line's SIGTERM/SIGINT handler):
/// the run stops taking new work, the scene in flight abandons its unfinished outputs (their
/// temporary files are removed, and the classifier throws ``SceneInterrupted``), and the batch
/// runner records the run `interrupted`. Thread-safe.
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
    public func onCancel(_ handler: @escaping @Sendable () -> Void) -> Int {
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
    public func remove(_ token: Int) {
        lock.lock()
        handlers[token] = nil
        lock.unlock()
    }

    /// Throws ``SceneInterrupted`` when a stop was requested.
    public func check() throws {
        if let signal { throw SceneInterrupted(signal: signal) }
    }
}

/// A scene's classification stopped because ``RunCancellation`` asked it to: its unfinished
/// outputs were abandoned (their temporary files removed).
public struct SceneInterrupted: Error, Sendable, CustomStringConvertible {
    /// The signal number (SIGTERM 15, SIGINT 2).
    public var signal: Int32

    public init(signal: Int32) { self.signal = signal }

    /// `SIGTERM`, `SIGINT` or `signal N`.
    public var signalName: String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        default: return "signal \(signal)"
        }
    }

    public var description: String { "stopped by \(signalName) before the scene was finished; it left no output" }
}

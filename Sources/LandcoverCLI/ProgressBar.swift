import Foundation

/// Progress of `run` (patches of a scene) and `train` (batches of an epoch) on stderr: on a
/// terminal a one-line bar redrawn at most ten times a second (log lines clear it first, see
/// ``KeyValueLogHandler``); otherwise, for `train` only, a plain line every `interval` seconds
/// (cron and batch logs), prefixed like the command's other lines.
final class ProgressBar: @unchecked Sendable {
    /// How progress is shown.
    enum Style {
        /// A bar redrawn in place (stderr is a terminal).
        case bar
        /// A plain line at most every `interval` seconds, each starting with `prefix`.
        case lines(interval: Double, prefix: String)
    }

    private let style: Style
    private let lock = NSLock()
    private var lastDraw = -Double.infinity
    private var drawn = false

    init(style: Style = .bar) {
        self.style = style
    }

    /// Shows `fraction` (0...1) of the current unit of work with `detail` beside it
    /// (`scene 1/3 T33UUU 120/400 patches, 850/s`). `force` draws even within the interval
    /// (the unit just completed).
    func update(fraction: Double, detail: String, force: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date().timeIntervalSinceReferenceDate
        let clamped = min(1, max(0, fraction.isFinite ? fraction : 0))
        switch style {
        case .bar:
            guard now - lastDraw >= 0.1 || force else { return }
            lastDraw = now
            let width = 30, filled = Int(clamped * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = String(format: "\r[%@] %3.0f%% ", bar, clamped * 100) + detail + " \u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
            drawn = true
        case .lines(let interval, let prefix):
            guard now - lastDraw >= interval else { return }
            lastDraw = now
            FileHandle.standardError.write(Data((prefix + String(format: "%.0f%% ", clamped * 100) + detail + "\n").utf8))
        }
    }

    /// Clears the bar's line (a terminal bar only), so that the next line starts clean.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard case .bar = style, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        drawn = false
    }

    /// `42s`, `3m05s`, `1h02m`: a duration for an ETA (`?` when unknown).
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }
}

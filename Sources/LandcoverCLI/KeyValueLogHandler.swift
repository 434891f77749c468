import Foundation
import Logging

/// A swift-log handler that writes one `key=value` line per event on standard error (the logfmt
/// convention): `ts=2025-01-01T06:00:00.123Z level=info event=scene status=done scene=T33UUU ...`.
///
/// Keys come in a fixed order, `ts`, `level`, then `event`, `status`, `scene`, then the rest
/// sorted, and `msg` last; values with spaces, quotes, `=` or nothing in them are quoted with
/// `"` and escaped. On a terminal the time stamp is left out and the line first clears the
/// progress bar's line.
struct KeyValueLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    let terminal: Bool

    init(terminal: Bool) {
        self.terminal = terminal
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let leadingKeys = ["event", "status", "scene"]

    /// The line for one event (without the newline).
    static func line(level: Logger.Level, message: String, metadata: Logger.Metadata, timestamp: Date?) -> String {
        var fields: [(String, String)] = []
        if let timestamp {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            fields.append(("ts", formatter.string(from: timestamp)))
        }
        fields.append(("level", level.rawValue))
        for key in leadingKeys {
            if let value = metadata[key] { fields.append((key, "\(value)")) }
        }
        for key in metadata.keys.sorted() where !leadingKeys.contains(key) {
            if let value = metadata[key] { fields.append((key, "\(value)")) }
        }
        fields.append(("msg", message))
        return fields.map { "\($0.0)=\(quote($0.1))" }.joined(separator: " ")
    }

    /// The value as is, or quoted and escaped when it holds a space, quote, `=`, control
    /// character, or nothing.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) }
        guard needsQuotes else { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        let text = Self.line(level: event.level, message: event.message.description, metadata: merged, timestamp: terminal ? nil : Date())
        FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[2K" : "") + text + "\n").utf8))
    }
}

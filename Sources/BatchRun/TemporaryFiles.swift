import CNN
import Classification
import Config
import Foundation
import Logging
import Products
import RasterIO

/// Temporary files (names carrying ``RasterWriter/temporaryMarker``) that interrupted runs left in
/// output folders. Each folder is listed once per run; entries are grouped by the final file name
/// they were written for (`.NAME.landcover-tmp-<pid>...` belongs to `NAME`).
final class TemporaryFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var listings: [String: [String: [String]]] = [:]

    /// The final name a temporary entry was written for, and the writer's pid.
    static func parse(_ entry: String) -> (owner: String, pid: Int32?)? {
        guard entry.hasPrefix("."), let marker = entry.range(of: RasterWriter.temporaryMarker) else { return nil }
        let owner = String(entry[entry.index(after: entry.startIndex)..<marker.lowerBound])
        let digits = entry[marker.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return (owner, Int32(digits))
    }

    private func listing(_ folder: String) -> [String: [String]] {
        if let cached = listings[folder] { return cached }
        var byOwner: [String: [String]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            if let parsed = Self.parse(entry) { byOwner[parsed.owner, default: []].append(entry) }
        }
        listings[folder] = byOwner
        return byOwner
    }

    /// Removes the temporaries found at the start of the run for `path` (the caller owns the
    /// scene, so none of them belongs to a live writer).
    func removeStale(for path: String) {
        lock.lock()
        defer { lock.unlock() }
        let folder = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        var byOwner = listing(folder)
        for entry in byOwner[name] ?? [] {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(entry))
        }
        byOwner[name] = nil
        listings[folder] = byOwner
    }

    /// Removes every temporary file in `folder` whose writer is no longer running on this host
    /// (or whose pid cannot be read); returns the removed paths.
    func removeAbandoned(in folder: String) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var removed: [String] = []
        var byOwner = listing(folder)
        for (owner, entries) in byOwner {
            var kept: [String] = []
            for entry in entries {
                if let pid = Self.parse(entry)?.pid, pid != getpid(), kill(pid, 0) == 0 || errno == EPERM {
                    kept.append(entry)
                    continue
                }
                let full = (folder as NSString).appendingPathComponent(entry)
                if (try? FileManager.default.removeItem(atPath: full)) != nil { removed.append(full) }
            }
            byOwner[owner] = kept.isEmpty ? nil : kept
        }
        listings[folder] = byOwner
        return removed.sorted()
    }
}

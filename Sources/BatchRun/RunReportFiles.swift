import Foundation
import RasterIO

/// Where a run's reports go and how they are written: the per-run report
/// `reports/run-<UTC time>-<run id>[-shard-K-of-N].json`, its run page (the same name with
/// `.html`, see ``Products/RunPage``) and the latest report (`--report`, or
/// `landcover-report[-shard-K-of-N].json`), all in the output folder, each written whole
/// (temporary file, then rename).
public enum RunReportFiles {
    /// The per-run and the latest report paths of `report`.
    public static func paths(of report: RunReport, folder: String, latest: String?, shard: Shard?) -> (run: String, latest: String) {
        let stamp = report.started.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let suffix = shard.map { "-\($0.fileSuffix)" } ?? ""
        let id = report.runID.map { "\($0)" } ?? "pid\(getpid())"
        let run = ((folder as NSString).appendingPathComponent("reports") as NSString)
            .appendingPathComponent("run-\(stamp)-\(id)\(suffix).json")
        let latestPath = latest.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            ?? (folder as NSString).appendingPathComponent("landcover-report\(suffix).json")
        return (run, latestPath)
    }

    /// The run page beside the per-run report `runReport`: its path with `.json` replaced by `.html`.
    public static func pagePath(runReport: String) -> String {
        (runReport as NSString).deletingPathExtension + ".html"
    }

    /// Writes both reports and the run page, and records the per-run report in `history`;
    /// returns the per-run report's path.
    /// - Throws: `RasterIOError` when a report cannot be written; ``RunHistoryError`` when the
    ///   history cannot record it.
    @discardableResult
    public static func write(_ report: RunReport, folder: String, latest: String?, shard: Shard?, history: RunHistory) throws -> String {
        let paths = paths(of: report, folder: folder, latest: latest, shard: shard)
        let data = try report.jsonData()
        try FileManager.default.createDirectory(atPath: (paths.run as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AtomicFile.write(data, to: paths.run)
        try AtomicFile.write(data, to: paths.latest)
        let page = pagePath(runReport: paths.run)
        try AtomicFile.write(Data(report.page(pagePath: page, reportPath: paths.run).html().utf8), to: page)
        if let runID = report.runID {
            try history.setReportPath(runID: runID, path: paths.run)
        }
        return paths.run
    }

    /// With object-store outputs: uploads a copy of the run's report beside the outputs, as
    /// `reports/<the per-run report's file name>` and `landcover-report[-shard-K-of-N].json`, so
    /// that `landcover history --from URL` can list every shard's runs without a shared disk.
    /// `localRun` is the per-run report written locally by ``write(_:folder:latest:shard:history:)``.
    /// - Returns: the URL of the per-run report in the store.
    /// - Throws: ``ObjectStoreError`` naming the URL.
    @discardableResult
    public static func publish(localRun: String, to store: ObjectStoreFolder, shard: Shard?) throws -> String {
        let suffix = shard.map { "-\($0.fileSuffix)" } ?? ""
        let run = store.object("reports/" + (localRun as NSString).lastPathComponent)
        try ObjectStore.upload(file: localRun, to: run)
        try ObjectStore.upload(file: localRun, to: store.object("landcover-report\(suffix).json"))
        return ObjectStore.display(run)
    }

    /// The run reports published in an object store (``publish(localRun:to:shard:)``), newest
    /// first (report names start with the UTC start time), at most `limit`.
    /// - Throws: ``ObjectStoreError`` when a report cannot be read or is larger than 64 MiB;
    ///   a report that is not a landcover run report is skipped.
    public static func published(in store: ObjectStoreFolder, limit: Int) throws -> [(url: String, report: RunReport)] {
        let names = ObjectStore.list(store.object("reports")).filter { $0.hasPrefix("run-") && $0.hasSuffix(".json") }
        var found: [(String, RunReport)] = []
        for name in names.reversed().prefix(limit) {
            let url = store.object("reports/" + name)
            guard let data = try ObjectStore.read(url, maxBytes: 64 << 20),
                  let report = try? JSONDecoder().decode(RunReport.self, from: data) else { continue }
            found.append((ObjectStore.display(url), report))
        }
        return found
    }
}

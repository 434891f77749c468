import ArgumentParser
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO

/// `landcover history [PIPELINE | --history PATH]`: recent runs, failures, or one run's scenes,
/// from the run history database.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List recent runs, failed scenes or one run's scenes from the run history.",
        discussion: """
        The history is the SQLite database `landcover run` writes (default <output folder>/landcover-history.sqlite). \
        Given a pipeline file, lists that pipeline's runs from the database in its output folder; with --history, every run in that database. \
        With --from URL (an object-store output folder, s3://bucket/prefix), lists the runs whose reports the shards published there instead: \
        with object-store outputs every shard keeps its own local history and uploads a copy of each run report beside the outputs. \
        --html OUT.html draws the recent runs on a self-contained page instead (status, duration, scenes per run, failures over time; it links each run's page). \
        Exit codes: 0 listed, 2 invalid pipeline file or arguments, 5 the history cannot be opened or read (missing, damaged, not a landcover history, an unreachable store).
        """)

    @Argument(help: "A pipeline file: its output folder's history, its runs only.")
    var pipeline: String?

    @Option(help: "The history database (default: <output folder of PIPELINE>/landcover-history.sqlite).")
    var history: String?

    @Option(help: "An object-store output folder (s3://bucket/prefix, /vsis3/bucket/prefix): list the run reports published there, every shard's.")
    var from: String?

    @Flag(help: "List failed and interrupted scenes instead of runs.")
    var failures = false

    @Option(name: .customLong("run"), help: "List the scenes of this run (its id).")
    var runID: Int64?

    @Option(help: "At most this many runs or failures, newest first.")
    var limit = 20

    @OptionGroup var format: JSONOutputOption

    @Option(help: "Write the recent runs as an HTML page with charts to this file.")
    var html: String?

    /// Argument errors exit with code 2 (README, "Exit codes").
    func validate() throws {
        if pipeline == nil && history == nil && from == nil {
            throw ValidationError("history: no history named; give a pipeline file, --history PATH or --from URL")
        }
        if from != nil && (pipeline != nil || history != nil || runID != nil) {
            throw ValidationError("--from lists the run reports of an object store; give it without a pipeline file, --history or --run")
        }
        if !(1...Self.maximumLimit).contains(limit) { throw ValidationError("--limit: '\(limit)' must be from 1 to \(Self.maximumLimit)") }
        if let runID, runID < 1 { throw ValidationError("--run: '\(runID)' must be a run id (1 or more); `landcover history` lists them") }
        if failures && runID != nil { throw ValidationError("--failures and --run exclude each other; give one") }
        if html != nil && (failures || runID != nil || format.json) {
            throw ValidationError("--html draws the recent runs; it excludes --failures, --run and --json")
        }
    }

    /// Largest `--limit`.
    static let maximumLimit = 1_000_000

    func run() throws {
        if let from {
            try CLIErrors.guarded { try listPublished(from) }
            return
        }
        try CLIErrors.guarded(file: pipeline) {
            var pipelinePath: String?
            var databasePath = history.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            if let pipeline {
                let path = URL(fileURLWithPath: pipeline).standardizedFileURL.path
                let file = try PipelineFile.load(path: path)
                pipelinePath = path
                if databasePath == nil { databasePath = RunHistory.defaultPath(outputFolder: file.resolve(file.output.folder)) }
            }
            guard let databasePath else {
                CLIErrors.fail("history: no history named; give a pipeline file or --history PATH", code: ExitCodes.invalidInput)
            }
            let database = try RunHistory(path: databasePath, readOnly: true)
            if let html {
                let records = try database.runs(limit: limit, pipelinePath: pipelinePath)
                let path = URL(fileURLWithPath: html).standardizedFileURL.path
                try AtomicFile.write(Data(Self.page(records, history: databasePath, pipelinePath: pipelinePath, pagePath: path).html().utf8), to: path)
                print("wrote \(html) (\(records.count) run(s) of \(databasePath))")
            } else if let runID {
                guard let record = try database.run(id: runID) else {
                    throw PipelineError.invalidValue(key: "--run", value: "\(runID)", reason: "is not a run in \(databasePath); see `landcover history` for the ids")
                }
                let scenes = try database.scenes(runID: runID)
                if format.json {
                    try printJSON(RunDetail(history: databasePath, run: record, scenes: scenes))
                } else {
                    print(Self.runTable([record]))
                    print("")
                    print(Self.sceneTable(scenes))
                }
            } else if failures {
                let records = try database.failures(limit: limit, pipelinePath: pipelinePath)
                if format.json {
                    try printJSON(FailureList(history: databasePath, failures: records))
                } else {
                    print(records.isEmpty ? "no failed scenes in \(databasePath)" : Self.failureTable(records))
                }
            } else {
                let records = try database.runs(limit: limit, pipelinePath: pipelinePath)
                if format.json {
                    try printJSON(RunList(history: databasePath, runs: records))
                } else {
                    print(records.isEmpty ? "no runs in \(databasePath)" : Self.runTable(records))
                }
            }
        }
    }

    /// The history page of `runs`, written to `pagePath`: each run links its run page when it
    /// is still there.
    static func page(_ runs: [RunRecord], history: String, pipelinePath: String?, pagePath: String) -> HistoryPage {
        let folder = (pagePath as NSString).deletingLastPathComponent
        let formatter = ISO8601DateFormatter()
        return HistoryPage(historyPath: history, pipelinePath: pipelinePath, runs: runs.map { run in
            let page = run.reportPath.map { RunReportFiles.pagePath(runReport: $0) }.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            return HistoryPage.Run(id: run.id, started: run.started, status: run.status.rawValue, error: run.error, seconds: run.seconds,
                                   scenes: run.scenes, done: run.done, skipped: run.skipped, failed: run.failed, shard: run.shard,
                                   forced: run.forced, pipelinePath: run.pipelinePath,
                                   pageHref: page.map { HTMLPage.relativeHref(from: folder, to: $0) })
        }, generated: formatter.string(from: Date()))
    }

    /// `--from URL`: the runs whose reports were published in an object store, newest first;
    /// with --failures, their failed scenes.
    private func listPublished(_ url: String) throws {
        guard case .success(let store)? = ObjectStoreFolder.parse(url) else {
            throw PipelineError.invalidValue(key: "--from", value: url, reason: "must be an object-store folder (s3://bucket/prefix or /vsis3/bucket/prefix)")
        }
        let reports: [(url: String, report: RunReport)]
        do {
            reports = try RunReportFiles.published(in: store, limit: limit)
        } catch let error as ObjectStoreError {
            CLIErrors.fail(error.description, code: ExitCodes.history)
        }
        if failures {
            let failed = reports.flatMap { entry in
                entry.report.scenes.filter { $0.status == .failed }.map { PublishedFailure(report: entry.url, shard: entry.report.shard, started: entry.report.started, scene: $0) }
            }
            if format.json {
                try printJSON(PublishedFailures(from: store.description, failures: failed))
            } else {
                print(failed.isEmpty ? "no failed scenes in the reports of \(store)" : Self.table(
                    ["started", "shard", "scene", "error"],
                    failed.map { [$0.started, $0.shard ?? "-", $0.scene.name, $0.scene.error ?? ""] }))
            }
            return
        }
        if format.json {
            try printJSON(PublishedRuns(from: store.description, runs: reports.map { PublishedRun(report: $0.url, run: $0.report) }))
        } else if reports.isEmpty {
            print("no run reports in \(store)/reports")
        } else {
            print(Self.table(["started", "status", "scenes", "done", "skipped", "failed", "seconds", "shard", "model", "report"],
                             reports.map { entry in
                                 let run = entry.report
                                 return [run.started, run.status.rawValue + (run.forced == true ? " (forced)" : ""), String(run.scenes.count),
                                         String(run.succeeded), String(run.skipped), String(run.failed), String(format: "%.1f", run.seconds),
                                         run.shard ?? "-", String(run.modelSHA256.prefix(12)), entry.url]
                             }))
        }
    }

    struct PublishedRun: Encodable {
        var report: String
        var run: RunReport
    }

    struct PublishedRuns: Encodable {
        var from: String
        var runs: [PublishedRun]
    }

    struct PublishedFailure: Encodable {
        var report: String
        var shard: String?
        var started: String
        var scene: SceneReport
    }

    struct PublishedFailures: Encodable {
        var from: String
        var failures: [PublishedFailure]
    }

    struct RunList: Encodable {
        var history: String
        var runs: [RunRecord]
    }

    struct FailureList: Encodable {
        var history: String
        var failures: [SceneRecord]
    }

    struct RunDetail: Encodable {
        var history: String
        var run: RunRecord
        var scenes: [SceneRecord]
    }

    private func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func runTable(_ runs: [RunRecord]) -> String {
        table(["run", "started", "status", "scenes", "done", "skipped", "failed", "seconds", "shard", "model", "pipeline"],
              runs.map { run in
                  [String(run.id), run.started, run.status.rawValue + (run.forced ? " (forced)" : ""), String(run.scenes), String(run.done),
                   String(run.skipped), String(run.failed), run.seconds.map { String(format: "%.1f", $0) } ?? "-",
                   run.shard ?? "-", String(run.modelSHA256.prefix(12)), run.pipelinePath ?? "-"]
              })
    }

    static func failureTable(_ scenes: [SceneRecord]) -> String {
        table(["run", "scene", "status", "finished", "error"], scenes.map { scene in
            [String(scene.runID), scene.name, scene.status.rawValue, scene.finished ?? scene.started, scene.error ?? ""]
        })
    }

    static func sceneTable(_ scenes: [SceneRecord]) -> String {
        table(["scene", "status", "reason", "seconds", "map sha256", "output / error"], scenes.map { scene in
            [scene.name, scene.status.rawValue, scene.reason ?? "", scene.seconds.map { String(format: "%.2f", $0) } ?? "-",
             String(scene.outputs.first { $0.role == .map }?.sha256.prefix(12) ?? "-"), scene.error ?? scene.output ?? ""]
        })
    }
}

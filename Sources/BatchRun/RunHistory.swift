import Classification
import Config
import Foundation
import GRDB
import Products
import RasterIO

/// The run history: every run and every scene attempt, in an SQLite database (through GRDB).
///
/// Default location `<output folder>/landcover-history.sqlite`. Shards of one pipeline share it:
/// each statement is a short transaction and writers wait up to a minute for each other (busy
/// timeout). The rollback journal is used rather than WAL so that the file also works on network
/// file systems with POSIX locks (NFSv4, EFS); on a file system without working locks, give each
/// shard its own `--history`.
///
/// The history is the commit point of a scene: its `done` row is written only after every output
/// file is in place, with each file's size, modification time and SHA-256. A batch run skips a
/// scene only when its latest `done` row matches the current model, settings and inputs and every
/// recorded file is still on disk unchanged (see ``PipelineRunner``).
public final class RunHistory: Sendable {
    /// Database path.
    public let path: String
    private let queue: DatabaseQueue

    /// `PRAGMA application_id` of landcover history databases ("LNDC").
    static let applicationID: Int32 = 0x4C4E_4443
    /// Schema version (`PRAGMA user_version`).
    static let schemaVersion = 1

    /// The default database path for an output folder.
    public static func defaultPath(outputFolder: String) -> String {
        (outputFolder as NSString).appendingPathComponent("landcover-history.sqlite")
    }

    /// Opens (and, unless `readOnly`, creates, with its folder) a history database.
    /// - Throws: ``RunHistoryError`` naming the path.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var link = stat()
        if lstat(path, &link) == 0 {
            // Never follow a link planted at the history's path, nor open a FIFO or device.
            guard (link.st_mode & S_IFMT) == S_IFREG else {
                throw RunHistoryError.cannotOpen(path: path, reason: "is \(FileKind.describe(mode: link.st_mode)), not a database file; landcover does not follow links at the files it writes: remove it, or give the real file with --history")
            }
        }
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw RunHistoryError.cannotOpen(path: path, reason: "no such file; runs create it in their output folder")
        }
        if !readOnly {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(60)
        configuration.readonly = readOnly
        configuration.foreignKeysEnabled = true
        configuration.label = "landcover-history"
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            if let damaged = Self.damaged(path: path, error) { throw damaged }
            throw RunHistoryError.cannotOpen(path: path, reason: Self.reason(error))
        }
        try prepareSchema(readOnly: readOnly)
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    private func perform<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.write(body)
        } catch let error as RunHistoryError {
            throw error
        } catch {
            throw failure(operation, error)
        }
    }

    private func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as RunHistoryError {
            throw error
        } catch {
            throw failure(operation, error)
        }
    }

    /// A failed statement as a history error: a file that is not an SQLite database, or a
    /// damaged one, is not a permissions or disk-space problem and says so.
    private func failure(_ operation: String, _ error: any Error) -> RunHistoryError {
        Self.damaged(path: path, error) ?? .failed(path: path, operation: operation, reason: Self.reason(error))
    }

    /// The error for a file that is not an SQLite database or is a damaged one, else nil.
    private static func damaged(path: String, _ error: any Error) -> RunHistoryError? {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT else { return nil }
        return .notAHistory(path: path, reason: "is not a landcover run history or is damaged (\(reason(error))); move it aside (the next run starts a new history)")
    }

    /// Creates the tables on first use (in one immediate transaction, so concurrent first runs of
    /// several shards do not race) and checks that an existing file is a landcover history.
    private func prepareSchema(readOnly: Bool) throws {
        let check: (Database) throws -> Int = { [path] db in
            let application = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
            if application != Self.applicationID && tables > 0 {
                throw RunHistoryError.notAHistory(path: path, reason: "is an SQLite database of another application, not a landcover run history")
            }
            if version > Self.schemaVersion {
                throw RunHistoryError.notAHistory(path: path, reason: "was written by a newer landcover (schema \(version), this one reads \(Self.schemaVersion))")
            }
            return version
        }
        if readOnly {
            let version = try read("read the schema version", check)
            if version == 0 { throw RunHistoryError.notAHistory(path: path, reason: "holds no run history yet") }
            return
        }
        try perform("create the tables") { db in
            guard try check(db) == 0 else { return }
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started TEXT NOT NULL,
                    finished TEXT,
                    status TEXT NOT NULL,
                    error TEXT,
                    pipeline_path TEXT,
                    pipeline_sha256 TEXT,
                    settings_sha256 TEXT NOT NULL,
                    model_path TEXT NOT NULL,
                    model_sha256 TEXT NOT NULL,
                    version TEXT NOT NULL,
                    shard TEXT,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    forced INTEGER NOT NULL DEFAULT 0,
                    scenes INTEGER NOT NULL DEFAULT 0,
                    done INTEGER NOT NULL DEFAULT 0,
                    skipped INTEGER NOT NULL DEFAULT 0,
                    failed INTEGER NOT NULL DEFAULT 0,
                    seconds REAL,
                    report_path TEXT
                );
                CREATE TABLE IF NOT EXISTS scenes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    scene_key TEXT NOT NULL,
                    name TEXT NOT NULL,
                    inputs TEXT NOT NULL,
                    status TEXT NOT NULL,
                    reason TEXT,
                    error TEXT,
                    started TEXT NOT NULL,
                    finished TEXT,
                    seconds REAL,
                    read_seconds REAL,
                    convert_seconds REAL,
                    infer_seconds REAL,
                    write_seconds REAL,
                    patches INTEGER,
                    inputs_fingerprint TEXT,
                    model_sha256 TEXT NOT NULL,
                    settings_sha256 TEXT NOT NULL,
                    output TEXT
                );
                CREATE INDEX IF NOT EXISTS scenes_by_key ON scenes(scene_key, settings_sha256, status, id);
                CREATE INDEX IF NOT EXISTS scenes_by_run ON scenes(run_id);
                CREATE TABLE IF NOT EXISTS outputs (
                    scene_id INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
                    role TEXT NOT NULL,
                    path TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    modified_ns INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    PRIMARY KEY (scene_id, role)
                );
                """)
            try db.execute(sql: "PRAGMA application_id = \(Self.applicationID)")
            try db.execute(sql: "PRAGMA user_version = \(Self.schemaVersion)")
        }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    // MARK: Writing

    /// Marks runs of this pipeline and shard that are still `running` as `interrupted` (and their
    /// running scenes too): the caller holds the pipeline's lock, so no such run is alive.
    /// - Returns: the ids of the runs marked.
    @discardableResult
    public func markInterrupted(pipelinePath: String?, shard: String?) throws -> [Int64] {
        try perform("mark interrupted runs") { db in
            let ids = try Int64.fetchAll(db, sql: """
                SELECT id FROM runs WHERE status = 'running' AND pipeline_path IS ? AND shard IS ?
                """, arguments: [pipelinePath, shard])
            for id in ids {
                try db.execute(sql: "UPDATE runs SET status = 'interrupted', error = 'the process ended before the run finished (killed or crashed)' WHERE id = ?", arguments: [id])
                try db.execute(sql: "UPDATE scenes SET status = 'interrupted', error = 'the run was interrupted during this scene' WHERE run_id = ? AND status = 'running'", arguments: [id])
            }
            return ids
        }
    }

    /// Records the start of a run; returns its id.
    public func startRun(_ start: RunStart, started: Date = Date()) throws -> Int64 {
        try perform("record the run start") { db in
            try db.execute(sql: """
                INSERT INTO runs (started, status, pipeline_path, pipeline_sha256, settings_sha256, model_path, model_sha256,
                                  version, shard, host, pid, forced, scenes)
                VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Self.timestamp(started), start.pipelinePath, start.pipelineSHA256, start.settingsSHA256,
                                 start.modelPath, start.modelSHA256, start.version, start.shard,
                                 ProcessInfo.processInfo.hostName, Int64(getpid()), start.forced, start.scenes])
            return db.lastInsertedRowID
        }
    }

    /// Records the end of a run.
    public func finishRun(id: Int64, status: RunStatus, done: Int, skipped: Int, failed: Int, seconds: Double,
                          error: String? = nil) throws {
        try perform("record the run end") { db in
            try db.execute(sql: """
                UPDATE runs SET finished = ?, status = ?, done = ?, skipped = ?, failed = ?, seconds = ?, error = ? WHERE id = ?
                """, arguments: [Self.timestamp(), status.rawValue, done, skipped, failed, seconds, error, id])
        }
    }

    /// Records where a run's JSON report was written.
    public func setReportPath(runID: Int64, path reportPath: String) throws {
        try perform("record the report path") { db in
            try db.execute(sql: "UPDATE runs SET report_path = ? WHERE id = ?", arguments: [reportPath, runID])
        }
    }

    /// What identifies a scene attempt.
    public struct SceneStart: Sendable {
        public var sceneKey: String
        public var name: String
        public var inputs: [String]
        public var inputsFingerprint: String?
        public var modelSHA256: String
        public var settingsSHA256: String

        /// Creates the identity of a scene attempt.
        public init(sceneKey: String, name: String, inputs: [String], inputsFingerprint: String?, modelSHA256: String,
                    settingsSHA256: String) {
            self.sceneKey = sceneKey
            self.name = name
            self.inputs = inputs
            self.inputsFingerprint = inputsFingerprint
            self.modelSHA256 = modelSHA256
            self.settingsSHA256 = settingsSHA256
        }
    }

    private static func json(_ strings: [String]) -> String {
        (try? JSONEncoder().encode(strings)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// Records that a scene started (status `running`) and returns the row id.
    public func startScene(runID: Int64, _ scene: SceneStart, reason: String, started: Date = Date()) throws -> Int64 {
        try perform("record a scene start") { db in
            try insertScene(db, runID: runID, scene, status: .running, reason: reason, started: started, finished: nil)
        }
    }

    private func insertScene(_ db: Database, runID: Int64, _ scene: SceneStart, status: SceneStatus, reason: String?,
                             started: Date, finished: Date?) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO scenes (run_id, scene_key, name, inputs, status, reason, started, finished, seconds,
                                inputs_fingerprint, model_sha256, settings_sha256)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [runID, scene.sceneKey, scene.name, Self.json(scene.inputs), status.rawValue, reason,
                             Self.timestamp(started), finished.map { Self.timestamp($0) },
                             finished.map { $0.timeIntervalSince(started) }, scene.inputsFingerprint,
                             scene.modelSHA256, scene.settingsSHA256])
        return db.lastInsertedRowID
    }

    private func insertOutputs(_ db: Database, sceneID: Int64, _ outputs: [OutputFileRecord]) throws {
        for output in outputs {
            try db.execute(sql: """
                INSERT OR REPLACE INTO outputs (scene_id, role, path, bytes, modified_ns, sha256) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [sceneID, output.role.rawValue, output.path, output.bytes, output.modifiedNanoseconds, output.sha256])
        }
    }

    /// Records the outcome of a started scene: `done` with its outputs (the commit point), or
    /// `failed` with its error. The scene's display name may have become known only while it ran.
    public func finishScene(id: Int64, status: SceneStatus, name: String? = nil, error: String? = nil, seconds: Double,
                            times: StageTimes? = nil, patches: Int? = nil, output: String? = nil,
                            outputs: [OutputFileRecord] = []) throws {
        try perform("record a scene outcome") { db in
            try db.execute(sql: """
                UPDATE scenes SET status = ?, name = coalesce(?, name), error = ?, finished = ?, seconds = ?,
                    read_seconds = ?, convert_seconds = ?, infer_seconds = ?, write_seconds = ?, patches = ?, output = ?
                WHERE id = ?
                """, arguments: [status.rawValue, name, error, Self.timestamp(), seconds, times?.read, times?.convert, times?.infer,
                                 times?.write, patches, output, id])
            try insertOutputs(db, sceneID: id, outputs)
        }
    }

    /// Records a skipped scene, with the outputs it was found to have.
    @discardableResult
    public func recordSkipped(runID: Int64, _ scene: SceneStart, reason: String, output: String?,
                              outputs: [OutputFileRecord], started: Date) throws -> Int64 {
        try perform("record a skipped scene") { db in
            let id = try insertScene(db, runID: runID, scene, status: .skipped, reason: reason, started: started, finished: Date())
            try db.execute(sql: "UPDATE scenes SET output = ? WHERE id = ?", arguments: [output, id])
            try insertOutputs(db, sceneID: id, outputs)
            return id
        }
    }

    // MARK: Reading

    /// The latest `done` attempt of a scene under the given pipeline settings, with its outputs.
    public func lastDone(sceneKey: String, settingsSHA256: String) throws -> SceneRecord? {
        try read("look up a scene") { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT * FROM scenes WHERE scene_key = ? AND settings_sha256 = ? AND status = 'done' ORDER BY id DESC LIMIT 1
                """, arguments: [sceneKey, settingsSHA256])
            return try row.map { try sceneRecord($0, db) }
        }
    }

    /// True when the scene was ever done, under any settings.
    public func wasEverDone(sceneKey: String) throws -> Bool {
        try read("look up a scene") { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM scenes WHERE scene_key = ? AND status = 'done'", arguments: [sceneKey]) ?? 0 > 0
        }
    }

    /// Recent runs, newest first; only those of `pipelinePath` when given.
    public func runs(limit: Int, pipelinePath: String? = nil) throws -> [RunRecord] {
        try read("list runs") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM runs WHERE (? IS NULL OR pipeline_path = ?) ORDER BY id DESC LIMIT ?
                """, arguments: [pipelinePath, pipelinePath, limit])
            return try rows.map(runRecord)
        }
    }

    /// One run by id.
    public func run(id: Int64) throws -> RunRecord? {
        try read("read a run") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(runRecord)
        }
    }

    /// The scene attempts of a run, in order.
    public func scenes(runID: Int64) throws -> [SceneRecord] {
        try read("list scenes") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM scenes WHERE run_id = ? ORDER BY id", arguments: [runID]).map { try sceneRecord($0, db) }
        }
    }

    /// Recent failed or interrupted scene attempts, newest first; only those of `pipelinePath` when given.
    public func failures(limit: Int, pipelinePath: String? = nil) throws -> [SceneRecord] {
        try read("list failures") { db in
            try Row.fetchAll(db, sql: """
                SELECT scenes.* FROM scenes JOIN runs ON runs.id = scenes.run_id
                WHERE scenes.status IN ('failed', 'interrupted') AND (? IS NULL OR runs.pipeline_path = ?)
                ORDER BY scenes.id DESC LIMIT ?
                """, arguments: [pipelinePath, pipelinePath, limit]).map { try sceneRecord($0, db) }
        }
    }

    /// Every scene attempt with a given status (e.g. `done`), oldest first.
    public func sceneAttempts(status: SceneStatus) throws -> [SceneRecord] {
        try read("list scenes") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM scenes WHERE status = ? ORDER BY id", arguments: [status.rawValue]).map { try sceneRecord($0, db) }
        }
    }

    /// A status column as `Status`; a value this landcover does not know (a newer version wrote
    /// it) makes the history unusable rather than silently read as something else.
    private func status<Status: RawRepresentable>(_ row: Row, _ type: Status.Type) throws -> Status where Status.RawValue == String {
        let text = row.text("status") ?? ""
        guard let status = Status(rawValue: text) else {
            throw RunHistoryError.notAHistory(path: path, reason: "records a status '\(text)' this landcover does not know (written by a newer version?)")
        }
        return status
    }

    private func runRecord(_ row: Row) throws -> RunRecord {
        RunRecord(id: row.int64("id") ?? 0, started: row.text("started") ?? "", finished: row.text("finished"),
                  status: try status(row, RunStatus.self), error: row.text("error"), pipelinePath: row.text("pipeline_path"),
                  pipelineSHA256: row.text("pipeline_sha256"), settingsSHA256: row.text("settings_sha256") ?? "",
                  modelPath: row.text("model_path") ?? "", modelSHA256: row.text("model_sha256") ?? "",
                  version: row.text("version") ?? "", shard: row.text("shard"), host: row.text("host") ?? "",
                  pid: row.int64("pid") ?? 0, forced: (row.int64("forced") ?? 0) != 0, scenes: Int(row.int64("scenes") ?? 0),
                  done: Int(row.int64("done") ?? 0), skipped: Int(row.int64("skipped") ?? 0), failed: Int(row.int64("failed") ?? 0),
                  seconds: row.double("seconds"), reportPath: row.text("report_path"))
    }

    private func sceneRecord(_ row: Row, _ db: Database) throws -> SceneRecord {
        let id = row.int64("id") ?? 0
        let outputs = try Row.fetchAll(db, sql: "SELECT * FROM outputs WHERE scene_id = ? ORDER BY role", arguments: [id]).compactMap { output -> OutputFileRecord? in
            // A role this version does not know (a newer landcover wrote it) is not one it needs.
            guard let role = output.text("role").flatMap(OutputRole.init(rawValue:)) else { return nil }
            return OutputFileRecord(role: role, path: output.text("path") ?? "", bytes: output.int64("bytes") ?? -1,
                             modifiedNanoseconds: output.int64("modified_ns") ?? -1, sha256: output.text("sha256") ?? "")
        }
        let inputs = (row.text("inputs").flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }) ?? []
        var times: StageTimes?
        if let read = row.double("read_seconds") {
            var stage = StageTimes()
            stage.read = read
            stage.convert = row.double("convert_seconds") ?? 0
            stage.infer = row.double("infer_seconds") ?? 0
            stage.write = row.double("write_seconds") ?? 0
            stage.wall = row.double("seconds") ?? 0
            times = stage
        }
        return SceneRecord(id: id, runID: row.int64("run_id") ?? 0, sceneKey: row.text("scene_key") ?? "",
                           name: row.text("name") ?? "", inputs: inputs, status: try status(row, SceneStatus.self),
                           reason: row.text("reason"), error: row.text("error"), started: row.text("started") ?? "",
                           finished: row.text("finished"), seconds: row.double("seconds"), times: times,
                           patches: row.int64("patches").map { Int($0) }, inputsFingerprint: row.text("inputs_fingerprint"),
                           modelSHA256: row.text("model_sha256") ?? "", settingsSHA256: row.text("settings_sha256") ?? "",
                           output: row.text("output"), outputs: outputs)
    }
}

private extension Row {
    /// Column values converted without trapping: nil when absent, NULL or of another type.
    func text(_ column: String) -> String? { (self[column] as DatabaseValue?).flatMap { String.fromDatabaseValue($0) } }
    func int64(_ column: String) -> Int64? { (self[column] as DatabaseValue?).flatMap { Int64.fromDatabaseValue($0) } }
    func double(_ column: String) -> Double? { (self[column] as DatabaseValue?).flatMap { Double.fromDatabaseValue($0) } }
}

import Classification
import Foundation

/// Errors of the run history database.
public enum RunHistoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database cannot be opened or created.
    case cannotOpen(path: String, reason: String)
    /// The file is an SQLite database of another application, or of a newer landcover.
    case notAHistory(path: String, reason: String)
    /// A statement failed (disk full, permissions, a lock held longer than the busy timeout).
    case failed(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open the run history (\(reason)); check the folder exists and is writable, or pass --history PATH"
        case .notAHistory(let path, let reason):
            return "\(path): \(reason); pass --history with another path"
        case .failed(let path, let operation, let reason):
            return "\(path): cannot \(operation) in the run history (\(reason)); check free disk space and permissions"
        }
    }
}

/// A run as the history records it.
public struct RunRecord: Codable, Sendable, Equatable {
    public var id: Int64
    /// ISO 8601 UTC times; `finished` is nil while running or when the run was killed.
    public var started: String
    public var finished: String?
    /// See ``RunStatus``: `failed` also when the run itself failed (its `error` says why).
    public var status: RunStatus
    public var error: String?
    public var pipelinePath: String?
    public var pipelineSHA256: String?
    public var settingsSHA256: String
    public var modelPath: String
    public var modelSHA256: String
    public var version: String
    /// `K/N` when sharded.
    public var shard: String?
    public var host: String
    public var pid: Int64
    public var forced: Bool
    /// Scenes in this run (this shard's share) and their outcomes.
    public var scenes: Int
    public var done: Int
    public var skipped: Int
    public var failed: Int
    public var seconds: Double?
    public var reportPath: String?

    enum CodingKeys: String, CodingKey {
        case id, started, finished, status, error, version, shard, host, pid, forced, scenes, done, skipped, failed, seconds
        case pipelinePath = "pipeline_path", pipelineSHA256 = "pipeline_sha256", settingsSHA256 = "settings_sha256"
        case modelPath = "model_path", modelSHA256 = "model_sha256", reportPath = "report_path"
    }
}

/// A scene attempt as the history records it.
public struct SceneRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var runID: Int64
    /// Stable identity (see `SceneInput.key(baseFolder:)`).
    public var sceneKey: String
    public var name: String
    public var inputs: [String]
    /// `running`, `done`, `skipped`, `failed` or `interrupted`.
    public var status: SceneStatus
    /// Why the scene ran (`new`, `model changed`, `--force`, ...) or why it was skipped.
    public var reason: String?
    public var error: String?
    public var started: String
    public var finished: String?
    /// Wall seconds and seconds per stage (summed over threads).
    public var seconds: Double?
    public var times: StageTimes?
    public var patches: Int?
    public var inputsFingerprint: String?
    public var modelSHA256: String
    public var settingsSHA256: String
    /// The class map's path.
    public var output: String?
    public var outputs: [OutputFileRecord]

    enum CodingKeys: String, CodingKey {
        case id, name, inputs, status, reason, error, started, finished, seconds, times, patches, output, outputs
        case runID = "run_id", sceneKey = "scene_key", inputsFingerprint = "inputs_fingerprint"
        case modelSHA256 = "model_sha256", settingsSHA256 = "settings_sha256"
    }
}

/// What a run records when it starts.
public struct RunStart: Sendable {
    public var pipelinePath: String?
    public var pipelineSHA256: String?
    public var settingsSHA256: String
    public var modelPath: String
    public var modelSHA256: String
    public var version: String
    public var shard: String?
    public var forced: Bool
    public var scenes: Int

    /// Creates the start record of a run.
    public init(pipelinePath: String?, pipelineSHA256: String?, settingsSHA256: String, modelPath: String,
                modelSHA256: String, version: String, shard: String?, forced: Bool, scenes: Int) {
        self.pipelinePath = pipelinePath
        self.pipelineSHA256 = pipelineSHA256
        self.settingsSHA256 = settingsSHA256
        self.modelPath = modelPath
        self.modelSHA256 = modelSHA256
        self.version = version
        self.shard = shard
        self.forced = forced
        self.scenes = scenes
    }
}

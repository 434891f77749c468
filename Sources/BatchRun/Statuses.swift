/// A run's status in the run history: `running` while it runs (or after it was killed, until the
/// next run of the same pipeline and shard marks it `interrupted`), `done` when every scene was
/// done or skipped, `failed` when some scene failed or an output could not be written,
/// `interrupted` when a signal stopped it.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case running, done, failed, interrupted
}

/// A scene attempt's status in the run history and the run report: `running` while in flight,
/// `done` (its outputs are on disk and whole), `skipped` (unchanged since a recorded `done`),
/// `failed` (with the error), `interrupted` (a signal or a killed run ended it; it left no output).
public enum SceneStatus: String, Codable, Sendable, CaseIterable {
    case running, done, skipped, failed, interrupted
}

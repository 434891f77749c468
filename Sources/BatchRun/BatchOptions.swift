import CNN
import Classification
import Config
import Foundation
import Logging
import Products
import RasterIO

/// Progress of a run, reported after every work unit (on the thread running the scene).
public struct RunProgress: Sendable {
    /// 0-based index of the current scene and the number of scenes.
    public var sceneIndex: Int
    public var sceneCount: Int
    /// Name of the current scene.
    public var sceneName: String
    /// Patches finished in the current scene and its total.
    public var patchesDone: Int
    public var patchesTotal: Int
}

/// How a batch run treats scenes done before, and which share of the batch it takes.
public struct BatchOptions: Sendable {
    /// Redo every scene, even unchanged ones.
    public var force: Bool
    /// Only this shard's scenes (nil: all).
    public var shard: Shard?
    /// Where runs and scenes are recorded; nil runs every scene and records nothing (the
    /// history is what makes a run idempotent).
    public var history: RunHistory?
    /// Set by a SIGTERM/SIGINT handler to stop the run (see ``RunCancellation``).
    public var cancellation: RunCancellation?

    /// Creates batch options.
    public init(force: Bool = false, shard: Shard? = nil, history: RunHistory? = nil, cancellation: RunCancellation? = nil) {
        self.force = force
        self.shard = shard
        self.history = history
        self.cancellation = cancellation
    }
}

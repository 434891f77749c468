import Classification
import Config
import Foundation
import Products

/// The JSON report of one `landcover run`: what was read, with which model, what was written,
/// how long each stage took and what the map contains.
public struct RunReport: Codable, Sendable, Equatable {
    /// Tool version.
    public var version: String
    /// Start and end time (ISO 8601, UTC) and wall seconds.
    public var started: String
    public var finished: String
    public var seconds: Double
    /// Pipeline file path and SHA-256 (nil when the pipeline did not come from a file).
    public var pipelinePath: String?
    public var pipelineSHA256: String?
    /// Model file path and SHA-256.
    public var modelPath: String
    public var modelSHA256: String
    /// Worker threads used.
    public var workers: Int
    /// One entry per scene of this run (this shard's share), in pipeline order.
    public var scenes: [SceneReport]
    /// Fingerprint of the pipeline settings that shape outputs (see ``BatchFingerprint/settings(_:)``).
    public var settingsSHA256: String?
    /// The run's id in the run history (nil without a history).
    public var runID: Int64?
    /// `K/N` when the run processed one shard of the batch.
    public var shard: String?
    /// Scenes in the whole batch (all shards).
    public var batchScenes: Int?
    /// True when `--force` redid unchanged scenes.
    public var forced: Bool?
    /// Path of the run history database.
    public var history: String?
    /// The pipeline's STAC API searches and the ids of the items each returned (each item is a
    /// scene); absent without `stac_search` inputs.
    public var searches: [SearchReport]?

    /// One STAC API search of the run.
    public struct SearchReport: Codable, Sendable, Equatable {
        /// The search endpoint and request body, as one line of JSON with sorted keys.
        public var search: String
        /// Ids of the items found, in the server's order.
        public var items: [String]
        /// Pages read.
        public var pages: Int
        /// True when the search stopped at `max_items` while the server had more.
        public var truncated: Bool

        /// Creates a search report.
        public init(search: String, items: [String], pages: Int, truncated: Bool) {
            self.search = search
            self.items = items
            self.pages = pages
            self.truncated = truncated
        }
    }

    /// Creates a report.
    public init(version: String, started: String, finished: String, seconds: Double, pipelinePath: String?,
                pipelineSHA256: String?, modelPath: String, modelSHA256: String, workers: Int, scenes: [SceneReport]) {
        self.version = version
        self.started = started
        self.finished = finished
        self.seconds = seconds
        self.pipelinePath = pipelinePath
        self.pipelineSHA256 = pipelineSHA256
        self.modelPath = modelPath
        self.modelSHA256 = modelSHA256
        self.workers = workers
        self.scenes = scenes
    }

    /// Scenes that completed in this run.
    public var succeeded: Int { scenes.filter { $0.status == .done }.count }
    /// Scenes skipped because they were unchanged since an earlier run.
    public var skipped: Int { scenes.filter { $0.status == .skipped }.count }
    /// Scenes that failed.
    public var failed: Int { scenes.filter { $0.status == .failed }.count }
    /// The run's status: `failed` when some scene failed, else `done`.
    public var status: RunStatus { failed > 0 ? .failed : .done }

    enum CodingKeys: String, CodingKey {
        case version, started, finished, seconds, workers, scenes, shard, forced, history, searches
        case pipelinePath = "pipeline_path", pipelineSHA256 = "pipeline_sha256"
        case modelPath = "model_path", modelSHA256 = "model_sha256"
        case settingsSHA256 = "settings_sha256", runID = "run_id", batchScenes = "batch_scenes"
    }
}

/// What happened to one scene.
public struct SceneReport: Codable, Sendable, Equatable {
    /// Outcome of a scene: classified in this run, failed, or skipped as unchanged.
    /// `done`, `skipped` or `failed` (the run history's scene statuses).
    public typealias Status = SceneStatus

    /// Pixels of one class in the map.
    public struct ClassCount: Codable, Sendable, Equatable {
        public var name: String
        public var pixels: Int
        /// The class's colour in the map's colour table, `#rrggbb` (absent in reports of older versions).
        public var color: String? = nil
    }

    public var name: String
    public var inputs: [String]
    public var status: Status
    /// The error message when `status` is `failed`.
    public var error: String?
    /// Written files (absent when the scene failed).
    public var output: String?
    public var preview: String?
    public var stac: String?
    /// Output grid size, CRS and mode.
    public var width: Int?
    public var height: Int?
    public var epsg: Int?
    public var mode: String?
    /// Patches tiled and patches that went through the CNN.
    public var patches: Int?
    public var classifiedPatches: Int?
    /// Class histogram of the map and its nodata pixels.
    public var classes: [ClassCount]?
    public var nodataPixels: Int?
    /// Seconds per stage (summed over threads) and wall seconds.
    public var times: StageTimes?
    /// The per-class probabilities file, when enabled.
    public var probabilities: String?
    /// The class polygons file, when enabled.
    public var polygons: String?
    /// Why the scene ran (`new`, `model changed`, `inputs changed`, `--force`, ...) or why it
    /// was skipped (`unchanged since run N`).
    public var reason: String?
    /// Fingerprint of the input files (paths, sizes, modification times).
    public var inputsFingerprint: String?
    /// Every output file with its size, modification time and SHA-256.
    public var outputs: [OutputFileRecord]?
    /// When the scene failed because of a setting of the pipeline file that cannot be used for
    /// it (a `resolution` that makes its grid too large): that key. `run` then exits 2.
    public var settingKey: String?

    /// Creates a scene report.
    public init(name: String, inputs: [String], status: Status, error: String? = nil, output: String? = nil,
                preview: String? = nil, stac: String? = nil, width: Int? = nil, height: Int? = nil, epsg: Int? = nil,
                mode: String? = nil, patches: Int? = nil, classifiedPatches: Int? = nil, classes: [ClassCount]? = nil,
                nodataPixels: Int? = nil, times: StageTimes? = nil) {
        self.name = name
        self.inputs = inputs
        self.status = status
        self.error = error
        self.output = output
        self.preview = preview
        self.stac = stac
        self.width = width
        self.height = height
        self.epsg = epsg
        self.mode = mode
        self.patches = patches
        self.classifiedPatches = classifiedPatches
        self.classes = classes
        self.nodataPixels = nodataPixels
        self.times = times
    }

    enum CodingKeys: String, CodingKey {
        case name, inputs, status, error, output, preview, stac, width, height, epsg, mode, patches, classes, times
        case probabilities, polygons, reason, outputs
        case settingKey = "setting_key"
        case classifiedPatches = "classified_patches", nodataPixels = "nodata_pixels", inputsFingerprint = "inputs_fingerprint"
    }

    /// A failed scene.
    public static func failure(name: String, inputs: [String], error: String) -> SceneReport {
        SceneReport(name: name, inputs: inputs, status: .failed, error: error)
    }
}

extension RunReport {
    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

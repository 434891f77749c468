import Foundation

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
    /// One entry per scene, in pipeline order.
    public var scenes: [SceneReport]

    /// Scenes that completed.
    public var succeeded: Int { scenes.filter { $0.status == .done }.count }
    /// Scenes that failed.
    public var failed: Int { scenes.filter { $0.status == .failed }.count }

    enum CodingKeys: String, CodingKey {
        case version, started, finished, seconds, workers, scenes
        case pipelinePath = "pipeline_path", pipelineSHA256 = "pipeline_sha256"
        case modelPath = "model_path", modelSHA256 = "model_sha256"
    }
}

/// What happened to one scene.
public struct SceneReport: Codable, Sendable, Equatable {
    /// Outcome of a scene.
    public enum Status: String, Codable, Sendable {
        case done, failed, skipped
    }

    /// Pixels of one class in the map.
    public struct ClassCount: Codable, Sendable, Equatable {
        public var name: String
        public var pixels: Int
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

    enum CodingKeys: String, CodingKey {
        case name, inputs, status, error, output, preview, stac, width, height, epsg, mode, patches, classes, times
        case classifiedPatches = "classified_patches", nodataPixels = "nodata_pixels"
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

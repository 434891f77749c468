import Config
import Foundation
import RasterIO

/// Resources and output options for classifying one scene.
public struct ClassifierSettings: Sendable, Equatable {
    /// Classifier worker threads (each runs its own inference session).
    public var workers: Int
    /// Patches per inference batch.
    public var batchSize: Int
    /// Memory budget in bytes for in-flight buffers (reads, batches, results).
    public var memoryBudget: Int
    /// Minimum share of valid pixels for a patch to count fully (see ``MapAssembler``).
    public var minValidFraction: Double
    /// DN treated as nodata in every model band, in addition to the files' nodata.
    public var nodataValue: Double?
    /// Values of the mask band that make a pixel nodata.
    public var maskInvalidValues: [Int]
    /// Write the confidence (top-1 probability, 0-100) to `NAME_confidence.tif` beside the map.
    public var confidence: Bool
    /// Write one probability band per class (0-100).
    public var probabilities: Bool
    /// Container format.
    public var format: RasterFormat
    /// Compression.
    public var compression: RasterCompression
    /// Minimum mapping unit applied to the finished map (GDAL's sieve filter); nil = none.
    public var minMappingUnit: PipelineFile.MinimumMappingUnit?
    /// Connectivity of the sieve's regions: 8 (corners join) or 4, as `output.polygon_connectivity`.
    public var eightConnected: Bool
    /// Test-time augmentation passes, identity first (``PatchTransform/passes(_:)``); one pass
    /// (the identity) without augmentation.
    public var passes: [PatchTransform]
    /// GDAL creation options for the map, confidence and probability rasters (`output.creation_options`).
    public var creationOptions: [String: String] = [:]

    /// Creates settings; every value is given (``init(plan:workers:)`` takes them from a pipeline).
    public init(workers: Int, batchSize: Int, memoryBudget: Int, minValidFraction: Double,
                nodataValue: Double?, maskInvalidValues: [Int], confidence: Bool,
                probabilities: Bool, format: RasterFormat, compression: RasterCompression,
                minMappingUnit: PipelineFile.MinimumMappingUnit?, eightConnected: Bool,
                passes: [PatchTransform]) {
        self.workers = workers
        self.batchSize = batchSize
        self.memoryBudget = memoryBudget
        self.minValidFraction = minValidFraction
        self.nodataValue = nodataValue
        self.maskInvalidValues = maskInvalidValues
        self.confidence = confidence
        self.probabilities = probabilities
        self.format = format
        self.compression = compression
        self.minMappingUnit = minMappingUnit
        self.eightConnected = eightConnected
        self.passes = passes.isEmpty ? [.identity] : passes
    }
}

extension ClassifierSettings {
    /// The settings `plan`'s pipeline file asks for, with `workers` classifier threads.
    public init(plan: PipelinePlan, workers: Int) {
        let p = plan.pipeline
        self.init(workers: workers, batchSize: plan.batchSize, memoryBudget: p.runtime.memoryMiB << 20,
                  minValidFraction: p.nodata.minValidFraction, nodataValue: p.nodata.value,
                  maskInvalidValues: p.nodata.invalidValues, confidence: p.output.confidence,
                  probabilities: p.output.probabilities, format: p.output.format,
                  compression: p.output.compression, minMappingUnit: p.output.minMappingUnit,
                  eightConnected: p.output.polygonConnectivity == 8,
                  passes: PatchTransform.passes(p.runtime.testTimeAugmentation))
        creationOptions = p.output.creationOptions
    }
}

/// Seconds spent per stage (summed over the threads of a stage) and the wall time.
public struct StageTimes: Sendable, Equatable, Codable {
    /// Reading and decoding rasters (reader thread).
    public var read: Double = 0
    /// Normalizing patches into NCHW batches (workers).
    public var convert: Double = 0
    /// Running the CNN (workers).
    public var infer: Double = 0
    /// Blending, painting and writing the map (writer).
    public var write: Double = 0
    /// Wall-clock seconds for the whole scene.
    public var wall: Double = 0
    /// Polygonizing the finished map, when polygons are written (after `wall`).
    public var polygonize: Double?

    public init() {}
}

/// What classifying a scene produced.
public struct SceneClassification: Sendable {
    /// Patches in the tiling.
    public var patches: Int
    /// Patches that went through the CNN (the others had no valid pixel).
    public var classifiedPatches: Int
    /// Output pixels per class (index = class), and `nodataPixels`.
    public var classPixels: [Int]
    public var nodataPixels: Int
    /// Output grid.
    public var outputGrid: SceneGrid
    /// Stage timings.
    public var times: StageTimes
    /// Preview classes (nearest sampling of the map), row-major, `previewWidth` x `previewHeight`.
    public var preview: [UInt16]
    public var previewWidth: Int
    public var previewHeight: Int
    /// The files moved into place (probabilities, then the map and its sidecar), with the sizes
    /// the writers produced.
    public var committed: [CommittedFile] = []
}

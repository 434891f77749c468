import CNN
import Config
import Foundation
import RasterIO

/// Classifies one scene in bounded memory: a reader thread reads work units (rectangles of
/// patches) ahead of N classifier workers, and the calling thread assembles and writes the map in
/// order. A fixed number of permits bounds the units in flight (backpressure), so memory follows
/// the budget, not the scene size. Output bytes do not depend on the worker count: each unit's
/// batch is formed from the unit alone and results are assembled in unit order.
public final class SceneClassifier: Sendable {
    public let job: SceneJob
    public let model: InferenceModel
    public let contract: ModelContract
    public let settings: ClassifierSettings
    let converter: PatchTensorConverter
    let plan: UnitPlan
    /// True when units are whole source blocks (see ``unitPlan(job:batchSize:)``).
    let isBlockAligned: Bool
    /// The stacked bands each unit reads: the model's, then the mask band if any.
    let readBands: [Int]
    /// Pixels of the largest unit window.
    let largestUnitPixels: Int

    /// Longest preview side in pixels.
    public static let previewSize = 1024

    /// - Throws: ``PipelineError/contractMismatch(scene:reason:)`` when the model's patch size and
    ///   the tiling disagree for a segmentation model.
    public init(job: SceneJob, model: InferenceModel, contract: ModelContract, settings: ClassifierSettings) throws {
        self.job = job
        self.model = model
        self.contract = contract
        self.settings = settings
        let affine = contract.normalization.affine
        converter = PatchTensorConverter(scale: affine.scale, offset: affine.offset, patchSize: job.tiler.patchSize)
        (plan, isBlockAligned) = Self.unitPlan(job: job, batchSize: max(1, settings.batchSize))
        readBands = job.modelBandIndices + (job.maskBandIndex.map { [$0] } ?? [])
        largestUnitPixels = plan.units.map { $0.window.pixelCount }.max() ?? 0
    }

    /// Groups patches into work units.
    ///
    /// Patch mode without overlap reads whole source blocks when the patch size divides the
    /// source's block size (the common case: 64-pixel patches in 512-pixel GeoTIFF tiles), so
    /// every compressed block is decoded exactly once with a small GDAL cache; otherwise units
    /// are square-ish groups of about `batchSize` patches. Blending modes use rows of
    /// `batchSize` patches, keeping the assembler's band of rows one patch high.
    /// - Returns: the plan, and whether its units are whole source blocks.
    static func unitPlan(job: SceneJob, batchSize: Int) -> (UnitPlan, blockAligned: Bool) {
        let tiler = job.tiler, p = tiler.patchSize
        switch job.mode {
        case .patch, .patchResolution:
            if tiler.stride == p, let block = sourceBlockSize(job), block.width % p == 0, block.height % p == 0,
               block.width / p <= 16, block.height / p <= 16 {
                return (UnitPlan(tiler: tiler, unitRows: block.height / p, unitColumns: block.width / p), true)
            }
            let side = max(1, Int(Double(batchSize).squareRoot()))
            return (UnitPlan(tiler: tiler, unitRows: side, unitColumns: max(1, batchSize / side)), false)
        case .dense, .segmentation:
            return (UnitPlan(tiler: tiler, unitRows: 1, unitColumns: batchSize), false)
        }
    }

    /// Block size of the first model band's source when it lies on the scene grid unshifted
    /// (read directly, not warped); nil otherwise.
    static func sourceBlockSize(_ job: SceneJob) -> (width: Int, height: Int)? {
        guard let index = job.modelBandIndices.first else { return nil }
        let band = job.scene.bands[index]
        guard band.resampling == nil, let dataset = try? RasterDataset(path: band.sourcePath),
              dataset.width == job.scene.grid.width, dataset.height == job.scene.grid.height,
              band.sourceBand >= 1, band.sourceBand <= dataset.bands.count else { return nil }
        let info = dataset.bands[band.sourceBand - 1]
        return info.blockWidth > 1 && info.blockHeight > 1 ? (info.blockWidth, info.blockHeight) : nil
    }

    /// Bytes one unit occupies while in flight (read buffer, validity, batch, results).
    var bytesPerUnit: Int {
        // Byte/UInt16 scenes are read as UInt16 samples (see `run`).
        let sampleBytes = readBands.allSatisfy { [.byte, .uint16].contains(job.scene.bands[$0].dataType) } ? 2 : 4
        let patches = plan.units.map(\.patchCount).max() ?? 1
        let results = job.mode == .segmentation ? contract.classNames.count * job.tiler.patchSize * job.tiler.patchSize * patches : contract.classNames.count * patches
        return largestUnitPixels * (readBands.count * sampleBytes + 1) + results * 4
    }

    /// GDAL block-cache size for this scene: block-aligned units decode each block once, so the
    /// cache only has to hold one unit's blocks twice over (a pixel-interleaved block decodes
    /// every band at once; at least 8 MiB); other layouts re-read blocks across units and get a
    /// quarter of the memory budget.
    public var gdalCacheBytes: Int {
        let quarter = max(16 << 20, settings.memoryBudget / 4)
        guard isBlockAligned else { return quarter }
        let unitSamples = largestUnitPixels * readBands.count
        let largestSample = job.scene.bands.map { $0.dataType.byteSize }.max() ?? 4
        return min(quarter, max(8 << 20, 2 * unitSamples * largestSample))
    }

    /// Bytes of one worker's NCHW batch.
    var bytesPerBatch: Int { converter.patchElementCount * max(1, settings.batchSize) * 4 }

    /// Units allowed in flight: one per worker plus one being read (workers + 1), and one more
    /// when it fits in an eighth of the budget. More read-ahead does not make a CPU-bound run
    /// faster (10980², small CNN: 8.3 s with workers + 2 units as with 2 x workers + 2), it only
    /// costs memory (159 -> 147 MiB).
    var unitsInFlight: Int {
        let fit = (settings.memoryBudget / 8) / max(1, bytesPerUnit)
        return max(settings.workers + 1, min(fit, settings.workers + 2))
    }

    /// Number of work units.
    public var unitCount: Int { plan.units.count }

    /// Estimated bytes held by this classifier at its peak: units in flight, per-worker batches,
    /// the assembler's band of rows and GDAL's block cache (the model's weights come on top).
    public var estimatedBufferBytes: Int {
        let k = contract.classNames.count
        let rowBand = (job.mode == .patchResolution ? job.tiler.columnStarts.count : job.tiler.width) * max(1, plan.maxRowSpan)
        // Band state per cell (validity is one bit), plus the finished rows' UInt16 classes,
        // confidence and probabilities.
        let outputs = 2 + (settings.confidence ? 2 : 0) + (settings.probabilities ? 2 * k : 0)
        let state: Int
        switch job.mode {
        case .dense, .segmentation: state = 4 * (k + 1)
        case .patch: state = 0
        case .patchResolution: state = 6 + (settings.confidence ? 4 : 0) + (settings.probabilities ? 4 * k : 0)
        }
        let perCell = state + outputs
        return unitsInFlight * bytesPerUnit + settings.workers * bytesPerBatch + rowBand * perCell + rowBand / 8 + gdalCacheBytes
    }

    /// Runs the scene and writes the class map (temporary file renamed when complete).
    ///
    /// Three stages (see `SceneClassifier+Stages.swift`): a reader thread reads work units ahead,
    /// `settings.workers` threads classify them, and the calling thread assembles the map rows in
    /// unit order and writes them through ``MapOutputWriters``, the one owner of the map's files.
    ///
    /// - Parameters:
    ///   - provenance: metadata written into the map (`LANDCOVER_<KEY>`).
    ///   - cancellation: when it is cancelled, the reader, workers and writer stop after their
    ///     current unit and this throws ``SceneInterrupted`` (the outputs are abandoned).
    ///   - progress: called on the calling thread after each unit with (patches done, total).
    /// - Throws: the first error of any stage; the output is then removed, never left partial.
    public func run(provenance: [String: String] = [:], cancellation: RunCancellation? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> SceneClassification {
        let start = DispatchTime.now().uptimeNanoseconds
        GDALEnvironment.setCacheMax(bytes: gdalCacheBytes)
        let legend = try ClassLegend(contract: contract)
        let outputs = try MapOutputWriters(job: job, settings: settings, legend: legend, provenance: provenance)
        var committed = false
        defer { if !committed { outputs.abort() } }

        let assembler = MapAssembler(mode: job.mode, plan: plan, classes: contract.classNames.count,
                                     minValidFraction: settings.minValidFraction, nodata: UInt16(legend.nodataValue),
                                     confidence: settings.confidence, probabilities: settings.probabilities)
        let preview = PreviewSampler(width: assembler.outputWidth, height: assembler.outputHeight,
                                     maxSide: Self.previewSize, nodata: UInt16(legend.nodataValue))
        let stages = ClassifierStages(unitsInFlight: unitsInFlight, largestUnitPixels: largestUnitPixels)
        let stop = cancellation?.onCancel { stages.fail(SceneInterrupted(signal: cancellation?.signal ?? SIGTERM)) }
        defer { if let stop { cancellation?.remove(stop) } }

        startReader(stages, cancellation: cancellation)
        startWorkers(stages, cancellation: cancellation)
        let classified = assembleInOrder(stages, assembler: assembler, outputs: outputs, preview: preview,
                                         cancellation: cancellation, progress: progress)
        try stages.finish()
        try cancellation?.check()

        let t0 = DispatchTime.now().uptimeNanoseconds
        let minimumPixels = try settings.minMappingUnit.map { try Self.minimumPixels($0, grid: outputs.grid) } ?? 1
        let (histogram, files) = try outputs.finish(histogram: assembler.histogram, minimumPixels: minimumPixels,
                                                    eightConnected: settings.eightConnected, preview: preview, stylePath: job.files.style)
        committed = true
        stages.timing.add(write: DispatchTime.now().uptimeNanoseconds - t0)

        var times = stages.timing.times
        times.wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let k = contract.classNames.count
        return SceneClassification(patches: job.tiler.patchCount, classifiedPatches: classified,
                                   classPixels: Array(histogram.prefix(k)), nodataPixels: histogram[k],
                                   outputGrid: outputs.grid, times: times, preview: preview.values,
                                   previewWidth: preview.previewWidth, previewHeight: preview.previewHeight, committed: files)
    }

    /// The minimum mapping unit in whole pixels of `grid`.
    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` for an area on a grid whose
    ///   pixels have no area in square metres (geographic CRS or none).
    static func minimumPixels(_ unit: PipelineFile.MinimumMappingUnit, grid: SceneGrid) throws -> Int {
        switch unit {
        case .pixels(let count):
            return count
        case .squareMetres(let area):
            guard let pixelArea = grid.pixelAreaSquareMetres else {
                throw PipelineError.invalidValue(key: "output.min_mapping_unit", value: "\(area) m2",
                                                 reason: "is an area, but the map's CRS (\(grid.spatialReference?.description ?? "none")) is not projected in metres; give it in pixels")
            }
            return unit.pixels(pixelArea: pixelArea)
        }
    }
}

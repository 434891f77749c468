import CNN
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

    /// Creates settings; every value is given (``init(plan:workers:)`` takes them from a pipeline).
    public init(workers: Int, batchSize: Int, memoryBudget: Int, minValidFraction: Double,
                nodataValue: Double?, maskInvalidValues: [Int], confidence: Bool,
                probabilities: Bool, format: RasterFormat, compression: RasterCompression,
                minMappingUnit: PipelineFile.MinimumMappingUnit?, eightConnected: Bool) {
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
                  eightConnected: p.output.polygonConnectivity == 8)
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
    private let converter: PatchTensorConverter
    private let plan: UnitPlan
    /// True when units are whole source blocks (see ``unitPlan(job:batchSize:)``).
    let isBlockAligned: Bool
    /// The stacked bands each unit reads: the model's, then the mask band if any.
    private let readBands: [Int]
    /// Pixels of the largest unit window.
    private let largestUnitPixels: Int

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
        let legend = try ClassLegend(names: contract.classNames, colors: contract.classColors.map { RGBColor(red: $0.red, green: $0.green, blue: $0.blue) })
        let factor = job.mode == .patchResolution ? job.tiler.patchSize : 1
        // The map has one band: GDAL tags the second band of a paletted GeoTIFF/COG as alpha
        // (QGIS then takes it as transparency) or QGIS draws two bands as RGB, so confidence and
        // probabilities go to files of their own.
        let writer = try ClassRasterWriter(path: job.files.map, sourceGrid: job.scene.grid, factor: factor, legend: legend,
                                           format: self.settings.format, compression: self.settings.compression,
                                           provenance: provenance)
        let metadata = Dictionary(uniqueKeysWithValues: provenance.map { ("LANDCOVER_\($0.key.uppercased())", $0.value) })
        let confidenceWriter = try job.files.confidence.map { path in
            try RasterWriter(path: path, spec: RasterWriteSpec(
                grid: writer.grid, bandCount: 1, dataType: .byte, nodata: 255, bandDescriptions: ["confidence"],
                format: self.settings.format, compression: self.settings.compression, metadata: metadata))
        }
        let probabilityWriter = try job.files.probabilities.map { path in
            try RasterWriter(path: path, spec: RasterWriteSpec(
                grid: writer.grid, bandCount: contract.classNames.count, dataType: .byte, nodata: Double(legend.nodataValue),
                bandDescriptions: contract.classNames, format: self.settings.format, compression: self.settings.compression,
                metadata: metadata))
        }
        var committed = false
        defer {
            if !committed {
                writer.abort()
                confidenceWriter?.abort()
                probabilityWriter?.abort()
            }
        }

        let assembler = MapAssembler(mode: job.mode, plan: plan, classes: contract.classNames.count,
                                     minValidFraction: settings.minValidFraction, nodata: UInt16(legend.nodataValue),
                                     confidence: settings.confidence, probabilities: settings.probabilities)
        let preview = PreviewSampler(width: assembler.outputWidth, height: assembler.outputHeight,
                                     maxSide: Self.previewSize, nodata: UInt16(legend.nodataValue))

        let permits = Permits(unitsInFlight)
        let pool = SampleBufferPool(largestPixels: largestUnitPixels, limit: unitsInFlight)
        let readQueue = StageQueue<(WorkUnit, UnitPixels)>()
        let resultQueue = StageQueue<ClassifiedUnit>()
        let failure = FirstError()
        let timing = StageClock()
        let group = DispatchGroup()

        let fail: @Sendable (any Error) -> Void = { error in
            failure.record(error)
            permits.cancel()
            readQueue.close()
            resultQueue.close()
        }
        let stop = cancellation?.onCancel { fail(SceneInterrupted(signal: cancellation?.signal ?? SIGTERM)) }
        defer { if let stop { cancellation?.remove(stop) } }

        // Reader: one thread, one set of GDAL handles.
        let units = plan.units
        let job = self.job, settings = self.settings, bands = readBands
        group.enter()
        let reader = Thread {
            defer { group.leave() }
            do {
                let sceneReader = try SceneReader(scene: job.scene)
                // Byte and UInt16 scenes (Sentinel-2 DN) travel as UInt16: half the memory of
                // Float32 and no conversion before the one into the model's tensor.
                let asSamples = sceneReader.canReadSamples(bands: bands)
                for unit in units {
                    guard permits.acquire() else { return }
                    try cancellation?.check()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let pixels: UnitPixels
                    if asSamples {
                        var buffer = pool.take(width: unit.window.width, height: unit.window.height, bandCount: bands.count)
                        try buffer.withUnsafeMutablePointers { v, m in
                            try sceneReader.readSamples(window: unit.window, bands: bands, samples: v, validity: m)
                        }
                        Self.applyNodata(&buffer, modelBands: job.modelBandIndices.count, hasMask: job.maskBandIndex != nil,
                                         nodataValue: settings.nodataValue, maskInvalid: settings.maskInvalidValues)
                        pixels = .samples(buffer)
                    } else {
                        var buffer = try sceneReader.read(window: unit.window, bands: bands)
                        Self.applyNodata(&buffer, modelBands: job.modelBandIndices.count, hasMask: job.maskBandIndex != nil,
                                         nodataValue: settings.nodataValue, maskInvalid: settings.maskInvalidValues)
                        pixels = .floats(buffer)
                    }
                    timing.add(read: DispatchTime.now().uptimeNanoseconds - t0)
                    readQueue.push((unit, pixels))
                }
                readQueue.close()
            } catch {
                fail(error)
            }
        }
        reader.stackSize = 1 << 22
        reader.start()

        // Workers: one inference session each.
        let workerCount = max(1, settings.workers)
        let workerGroup = DispatchGroup()
        for _ in 0..<workerCount {
            group.enter()
            workerGroup.enter()
            let session = model.makeSession()
            session.memoryLimit = settings.memoryBudget
            let worker = Thread { [self] in
                defer { group.leave(); workerGroup.leave() }
                do {
                    var batch: [Float] = []
                    while let (unit, pixels) = readQueue.pop() {
                        try cancellation?.check()
                        let result: ClassifiedUnit
                        switch pixels {
                        case .samples(let buffer):
                            result = try classify(unit: unit, buffer: buffer, session: session, batch: &batch, timing: timing)
                            // The result keeps only the validity mask: the samples go back for reuse.
                            pool.give(buffer)
                        case .floats(let buffer):
                            result = try classify(unit: unit, buffer: buffer, session: session, batch: &batch, timing: timing)
                        }
                        resultQueue.push(result)
                    }
                } catch {
                    fail(error)
                }
            }
            worker.stackSize = 1 << 23
            worker.start()
        }
        workerGroup.notify(queue: .global()) { resultQueue.close() }

        // Writer: the calling thread, in unit order.
        var pending: [Int: ClassifiedUnit] = [:]
        var nextUnit = 0, unitsLeftInRow = 0, currentRow = -1, patchesDone = 0, classified = 0
        let totalPatches = job.tiler.patchCount
        do {
            while nextUnit < units.count, let result = resultQueue.pop() {
                try cancellation?.check()
                pending[result.unit.index] = result
                while let ready = pending.removeValue(forKey: nextUnit) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    if ready.unit.unitRow != currentRow {
                        currentRow = ready.unit.unitRow
                        unitsLeftInRow = plan.unitsPerRow[currentRow]
                        assembler.beginUnitRow(currentRow)
                    }
                    assembler.add(ready)
                    classified += ready.classified.reduce(0) { $0 + ($1 ? 1 : 0) }
                    unitsLeftInRow -= 1
                    if unitsLeftInRow == 0 {
                        var end = 0
                        try assembler.finishUnitRow(currentRow) { rows in
                            try write(rows, to: writer, confidence: confidenceWriter, probabilities: probabilityWriter)
                            preview.consume(rows)
                            end = rows.firstRow + rows.rowCount
                        }
                        // A finished row of output blocks leaves GDAL's cache (it would otherwise
                        // hold a whole row of 512x512 blocks until the end of the scene).
                        if end > 0 && end % RasterWriter.blockSize == 0 {
                            try writer.writer.flush()
                            try confidenceWriter?.flush()
                            try probabilityWriter?.flush()
                        }
                    }
                    permits.release()
                    nextUnit += 1
                    patchesDone += ready.unit.patchCount
                    timing.add(write: DispatchTime.now().uptimeNanoseconds - t0)
                    progress(patchesDone, totalPatches)
                }
            }
        } catch {
            fail(error)
        }
        if nextUnit < units.count, failure.value == nil {
            fail(PipelineError.unreadable(path: job.input.label, reason: "classification stopped after \(nextUnit) of \(units.count) work units"))
        }
        permits.cancel()
        readQueue.close()
        group.wait()
        if let error = failure.value { throw error }
        try cancellation?.check()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let k = contract.classNames.count
        var histogram = assembler.histogram
        if let unit = settings.minMappingUnit {
            let minimum = try Self.minimumPixels(unit, grid: writer.grid)
            if minimum > 1 {
                try writer.sieve(minimumPixels: minimum, eightConnected: settings.eightConnected)
                // Class shares and the preview describe the sieved map.
                histogram = [Int](repeating: 0, count: k + 1)
                let nodata = UInt16(legend.nodataValue)
                try writer.forEachClassRows(RasterWriter.blockSize) { firstRow, values in
                    for value in values { histogram[value == nodata || Int(value) >= k ? k : Int(value)] += 1 }
                    preview.consume(firstRow: firstRow, rowCount: values.count / writer.grid.width, width: writer.grid.width, classes: values)
                }
            }
        }
        var files = try probabilityWriter?.commit() ?? []
        files += try confidenceWriter?.commit() ?? []
        files += try writer.commit()
        try ClassStyle.writeRasterQML(legend: legend, to: job.files.style)
        committed = true
        timing.add(write: DispatchTime.now().uptimeNanoseconds - t0)

        var times = timing.times
        times.wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return SceneClassification(patches: totalPatches, classifiedPatches: classified,
                                   classPixels: Array(histogram.prefix(k)), nodataPixels: histogram[k],
                                   outputGrid: writer.grid, times: times, preview: preview.values,
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

    private func write(_ rows: MapRows, to writer: ClassRasterWriter, confidence: RasterWriter?, probabilities: RasterWriter?) throws {
        guard rows.rowCount > 0 else { return }
        let window = RasterWindow(column: 0, row: rows.firstRow, width: rows.width, height: rows.rowCount)
        try rows.classes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try writer.writeClasses(window: window, values: base)
        }
        if let confidence {
            try rows.confidence.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                try confidence.write(band: 1, window: window, values: base)
            }
        }
        if let probabilities {
            let plane = rows.rowCount * rows.width
            try rows.probabilities.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                for c in 0..<contract.classNames.count {
                    try probabilities.write(band: c + 1, window: window, values: base + c * plane)
                }
            }
        }
    }

    /// Marks pixels invalid where a model band equals the nodata override or the mask says so.
    static func applyNodata<Sample: RasterSample>(_ buffer: inout RasterBuffer<Sample>, modelBands: Int, hasMask: Bool,
                                                  nodataValue: Double?, maskInvalid: [Int]) {
        let plane = buffer.pixelCount
        if let nodataValue, let value = Sample.nodataSample(nodataValue) {
            buffer.values.withUnsafeBufferPointer { values in
                buffer.validity.withUnsafeMutableBufferPointer { validity in
                    guard let v = values.baseAddress, let m = validity.baseAddress else { return }
                    for b in 0..<modelBands {
                        let band = v + b * plane
                        for i in 0..<plane { m[i] &= band[i] == value ? 0 : 1 }
                    }
                }
            }
        }
        if hasMask {
            let base = modelBands * plane
            let invalid = Set(maskInvalid)
            for i in 0..<plane where buffer.validity[i] != 0 {
                let value = buffer.values[base + i].floatValue
                if value == value.rounded(), abs(value) < 1e9, invalid.contains(Int(value)) { buffer.validity[i] = 0 }
            }
        }
    }

    /// Normalizes a unit's patches into a batch, runs the CNN and returns class probabilities.
    private func classify<Sample: RasterSample>(unit: WorkUnit, buffer: RasterBuffer<Sample>, session: InferenceSession, batch: inout [Float],
                          timing: StageClock) throws -> ClassifiedUnit {
        let p = job.tiler.patchSize, k = contract.classNames.count
        let columnStarts = job.tiler.columnStarts, rowStarts = job.tiler.rowStarts
        var patches: [RasterWindow] = []
        for r in unit.patchRows {
            for c in unit.patchColumns { patches.append(RasterWindow(column: columnStarts[c], row: rowStarts[r], width: p, height: p)) }
        }
        let element = converter.patchElementCount
        let batchSize = max(1, settings.batchSize)
        if batch.count < batchSize * element { batch = [Float](repeating: 0, count: batchSize * element) }
        var fractions = [Float](repeating: 0, count: patches.count)
        var classified = [Bool](repeating: false, count: patches.count)
        let modelBands = job.modelBandIndices.count
        let origin = (column: unit.window.column, row: unit.window.row)
        let perPatch = job.mode == .segmentation ? k * p * p : k
        var probabilities = [Float](repeating: 0, count: patches.count * perPatch)
        var convertTime: UInt64 = 0, inferTime: UInt64 = 0
        var next = 0
        // Fill up to `batchSize` patches that have valid pixels, run them, repeat. A patch's
        // result does not depend on the batch it is in, so outputs match for any batch size.
        while next < patches.count {
            let c0 = DispatchTime.now().uptimeNanoseconds
            var slots: [Int] = []
            batch.withUnsafeMutableBufferPointer { storage in
                guard let base = storage.baseAddress else { return }
                while next < patches.count && slots.count < batchSize {
                    let fraction = converter.fill(batch: base, index: slots.count, from: buffer, bufferOrigin: origin, patch: patches[next])
                    fractions[next] = Float(fraction)
                    if fraction > 0 {
                        classified[next] = true
                        slots.append(next)
                    }
                    next += 1
                }
            }
            let c1 = DispatchTime.now().uptimeNanoseconds
            convertTime += c1 - c0
            guard !slots.isEmpty else { continue }
            let output = try batch.withUnsafeBufferPointer { storage -> Tensor in
                guard let base = storage.baseAddress else { throw PipelineError.unreadable(path: job.input.label, reason: "empty batch") }
                return try session.run(input: base, shape: [slots.count, modelBands, p, p])
            }
            let expected = job.mode == .segmentation ? [slots.count, k, p, p] : [slots.count, k]
            let shape = output.shape.count == 4 && job.mode != .segmentation && output.shape[2] == 1 && output.shape[3] == 1
                ? Array(output.shape.prefix(2)) : output.shape
            guard shape == expected else {
                throw PipelineError.contractMismatch(scene: job.input.label, reason: "the model returned shape \(output.shape) for \(slots.count) patches of \(p)x\(p); a \(contract.task.rawValue) model with \(k) classes must return \(expected)")
            }
            Self.probabilities(from: output.scalars, slots: slots, perPatch: perPatch, classes: k,
                               logits: contract.output == .logits, into: &probabilities)
            inferTime += DispatchTime.now().uptimeNanoseconds - c1
        }
        timing.add(convert: convertTime, infer: inferTime)
        return ClassifiedUnit(unit: unit, validity: buffer.validity, validFractions: fractions, classified: classified,
                              probabilities: probabilities)
    }

    /// Copies model outputs into per-patch probabilities (softmax over classes for logits).
    /// `values` holds `slots.count` patches of `perPatch` values, channel-major.
    static func probabilities(from values: [Float], slots: [Int], perPatch: Int, classes k: Int, logits: Bool,
                              into probabilities: inout [Float]) {
        values.withUnsafeBufferPointer { valueBuffer in
            probabilities.withUnsafeMutableBufferPointer { out in
                guard let v = valueBuffer.baseAddress, let o = out.baseAddress else { return }
                for (slot, index) in slots.enumerated() {
                    let source = v + slot * perPatch, destination = o + index * perPatch
                    let pixels = perPatch / k
                    for pixel in 0..<pixels {
                        // Channel c of this pixel is at c * pixels + pixel.
                        if logits {
                            var maximum = -Float.infinity
                            for c in 0..<k { maximum = max(maximum, source[c * pixels + pixel]) }
                            var sum: Float = 0
                            for c in 0..<k {
                                let e = Foundation.exp(source[c * pixels + pixel] - maximum)
                                destination[c * pixels + pixel] = e
                                sum += e
                            }
                            let inverse = 1 / sum
                            for c in 0..<k { destination[c * pixels + pixel] *= inverse }
                        } else {
                            for c in 0..<k { destination[c * pixels + pixel] = source[c * pixels + pixel] }
                        }
                    }
                }
            }
        }
    }
}

/// A unit's pixels as read: UInt16 samples for Byte/UInt16 scenes, Float32 otherwise.
enum UnitPixels: Sendable {
    case samples(SampleBuffer)
    case floats(BandBuffer)
}

/// Thread-safe accumulation of stage times.
final class StageClock: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = StageTimes()

    func add(read: UInt64 = 0, convert: UInt64 = 0, infer: UInt64 = 0, write: UInt64 = 0) {
        lock.lock()
        storage.read += Double(read) / 1e9
        storage.convert += Double(convert) / 1e9
        storage.infer += Double(infer) / 1e9
        storage.write += Double(write) / 1e9
        lock.unlock()
    }

    var times: StageTimes {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

/// Nearest-neighbour samples of the finished map for the preview, filled as rows are finished.
final class PreviewSampler {
    let previewWidth: Int
    let previewHeight: Int
    private let step: Int
    private(set) var values: [UInt16]

    init(width: Int, height: Int, maxSide: Int, nodata: UInt16) {
        step = max(1, (max(width, height) + maxSide - 1) / maxSide)
        previewWidth = max(1, (width + step - 1) / step)
        previewHeight = max(1, (height + step - 1) / step)
        values = [UInt16](repeating: nodata, count: previewWidth * previewHeight)
    }

    func consume(_ rows: MapRows) {
        rows.classes.withUnsafeBufferPointer { classes in
            consume(firstRow: rows.firstRow, rowCount: rows.rowCount, width: rows.width, classes: classes)
        }
    }

    /// Takes the samples falling into `rowCount` map rows from `firstRow` (`classes` row-major,
    /// `width` per row).
    func consume(firstRow: Int, rowCount: Int, width: Int, classes: UnsafeBufferPointer<UInt16>) {
        for py in 0..<previewHeight {
            let sourceRow = py * step + step / 2
            guard sourceRow >= firstRow, sourceRow < firstRow + rowCount else { continue }
            for px in 0..<previewWidth {
                let column = min(px * step + step / 2, width - 1)
                values[py * previewWidth + px] = classes[(sourceRow - firstRow) * width + column]
            }
        }
    }
}

import CNN
import Config
import Foundation
import RasterIO

/// The state one scene's stages share: permits bounding the units in flight, the queues between
/// reader, workers and writer, the first error, and the stage clock. `fail` stops every stage.
final class ClassifierStages: @unchecked Sendable {
    let permits: Permits
    let pool: SampleBufferPool
    let readQueue = StageQueue<(WorkUnit, UnitPixels)>()
    let resultQueue = StageQueue<ClassifiedUnit>()
    let failure = FirstError()
    let timing = StageClock()
    let group = DispatchGroup()

    init(unitsInFlight: Int, largestUnitPixels: Int) {
        permits = Permits(unitsInFlight)
        pool = SampleBufferPool(largestPixels: largestUnitPixels, limit: unitsInFlight)
    }

    /// Records the first error and wakes every stage so it stops.
    func fail(_ error: any Error) {
        failure.record(error)
        permits.cancel()
        readQueue.close()
        resultQueue.close()
    }

    /// Stops the reader and waits for every stage thread; throws the first error of any stage.
    func finish() throws {
        permits.cancel()
        readQueue.close()
        group.wait()
        if let error = failure.value { throw error }
    }
}

extension SceneClassifier {
    /// Reader: one thread, one set of GDAL handles, reading units in order as permits allow.
    func startReader(_ stages: ClassifierStages, cancellation: RunCancellation?) {
        let units = plan.units
        let job = self.job, settings = self.settings, bands = readBands
        stages.group.enter()
        let reader = Thread {
            defer { stages.group.leave() }
            do {
                let sceneReader = try SceneReader(scene: job.scene)
                // Byte and UInt16 scenes (Sentinel-2 DN) travel as UInt16: half the memory of
                // Float32 and no conversion before the one into the model's tensor.
                let asSamples = sceneReader.canReadSamples(bands: bands)
                for unit in units {
                    guard stages.permits.acquire() else { return }
                    try cancellation?.check()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let pixels: UnitPixels
                    if asSamples {
                        var buffer = stages.pool.take(width: unit.window.width, height: unit.window.height, bandCount: bands.count)
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
                    stages.timing.add(read: DispatchTime.now().uptimeNanoseconds - t0)
                    stages.readQueue.push((unit, pixels))
                }
                stages.readQueue.close()
            } catch {
                stages.fail(error)
            }
        }
        reader.stackSize = 1 << 22
        reader.start()
    }

    /// Workers: `settings.workers` threads, one inference session each; the result queue closes
    /// when the last one ends.
    func startWorkers(_ stages: ClassifierStages, cancellation: RunCancellation?) {
        let workerGroup = DispatchGroup()
        for _ in 0..<max(1, settings.workers) {
            stages.group.enter()
            workerGroup.enter()
            let session = model.makeSession()
            session.memoryLimit = settings.memoryBudget
            let worker = Thread { [self] in
                defer { stages.group.leave(); workerGroup.leave() }
                do {
                    var batch: [Float] = []
                    while let (unit, pixels) = stages.readQueue.pop() {
                        try cancellation?.check()
                        let result: ClassifiedUnit
                        switch pixels {
                        case .samples(let buffer):
                            result = try classify(unit: unit, buffer: buffer, session: session, batch: &batch, timing: stages.timing)
                            // The result keeps only the validity mask: the samples go back for reuse.
                            stages.pool.give(buffer)
                        case .floats(let buffer):
                            result = try classify(unit: unit, buffer: buffer, session: session, batch: &batch, timing: stages.timing)
                        }
                        stages.resultQueue.push(result)
                    }
                } catch {
                    stages.fail(error)
                }
            }
            worker.stackSize = 1 << 23
            worker.start()
        }
        workerGroup.notify(queue: .global()) { stages.resultQueue.close() }
    }

    /// Writer: on the calling thread, takes results in unit order, assembles each finished row
    /// of units and writes its map rows. Returns the number of patches that went through the CNN.
    /// Errors go to `stages` (see ``ClassifierStages/finish()``).
    func assembleInOrder(_ stages: ClassifierStages, assembler: MapAssembler, outputs: MapOutputWriters, preview: PreviewSampler,
                         cancellation: RunCancellation?, progress: (Int, Int) -> Void) -> Int {
        let units = plan.units
        var pending: [Int: ClassifiedUnit] = [:]
        var nextUnit = 0, unitsLeftInRow = 0, currentRow = -1, patchesDone = 0, classified = 0
        let totalPatches = job.tiler.patchCount
        do {
            while nextUnit < units.count, let result = stages.resultQueue.pop() {
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
                            try outputs.write(rows)
                            preview.consume(rows)
                            end = rows.firstRow + rows.rowCount
                        }
                        try outputs.flushIfBlockRowDone(end: end)
                    }
                    stages.permits.release()
                    nextUnit += 1
                    patchesDone += ready.unit.patchCount
                    stages.timing.add(write: DispatchTime.now().uptimeNanoseconds - t0)
                    progress(patchesDone, totalPatches)
                }
            }
        } catch {
            stages.fail(error)
        }
        if nextUnit < units.count, stages.failure.value == nil {
            stages.fail(PipelineError.unreadable(path: job.input.label, reason: "classification stopped after \(nextUnit) of \(units.count) work units"))
        }
        return classified
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
    func classify<Sample: RasterSample>(unit: WorkUnit, buffer: RasterBuffer<Sample>, session: InferenceSession, batch: inout [Float],
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
            try batch.withUnsafeBufferPointer { storage in
                guard let base = storage.baseAddress else { throw PipelineError.unreadable(path: job.input.label, reason: "empty batch") }
                try infer(batch: base, slots: slots, perPatch: perPatch, session: session, into: &probabilities)
            }
            inferTime += DispatchTime.now().uptimeNanoseconds - c1
        }
        timing.add(convert: convertTime, infer: inferTime)
        return ClassifiedUnit(unit: unit, validity: buffer.validity, validFractions: fractions, classified: classified,
                              probabilities: probabilities)
    }

    /// Runs the `slots.count` patches at the start of `batch` (NCHW) through the model, once per
    /// test-time augmentation pass, and writes each patch's class probabilities (the passes'
    /// mean, turned back to the patch's orientation, summed in pass order) to its slot in
    /// `probabilities` (`perPatch` values per patch, channel-major).
    func infer(batch: UnsafePointer<Float>, slots: [Int], perPatch: Int, session: InferenceSession,
               into probabilities: inout [Float]) throws {
        let p = job.tiler.patchSize, k = contract.classNames.count, n = slots.count
        let modelBands = job.modelBandIndices.count, element = converter.patchElementCount
        let logits = contract.output == .logits
        func run(_ input: UnsafePointer<Float>) throws -> [Float] {
            let output = try session.run(input: input, shape: [n, modelBands, p, p])
            let expected = job.mode == .segmentation ? [n, k, p, p] : [n, k]
            let shape = output.shape.count == 4 && job.mode != .segmentation && output.shape[2] == 1 && output.shape[3] == 1
                ? Array(output.shape.prefix(2)) : output.shape
            guard shape == expected else {
                throw PipelineError.contractMismatch(scene: job.input.label, reason: "the model returned shape \(output.shape) for \(n) patches of \(p)x\(p); a \(contract.task.rawValue) model with \(k) classes must return \(expected)")
            }
            return output.scalars
        }
        let passes = settings.passes
        guard passes.count > 1 else {
            Self.probabilities(from: try run(batch), slots: slots, perPatch: perPatch, classes: k, logits: logits, into: &probabilities)
            return
        }
        let packed = Array(0..<n)
        var augmented = [Float](repeating: 0, count: n * element)
        var passProbabilities = [Float](repeating: 0, count: n * perPatch)
        var turnedBack = [Float](repeating: 0, count: perPatch)
        var sum = [Float](repeating: 0, count: n * perPatch)
        for transform in passes {
            let values: [Float]
            if transform == .identity {
                values = try run(batch)
            } else {
                augmented.withUnsafeMutableBufferPointer { out in
                    guard let o = out.baseAddress else { return }
                    for patch in 0..<n { transform.apply(batch + patch * element, to: o + patch * element, size: p, planes: modelBands) }
                }
                values = try augmented.withUnsafeBufferPointer { storage in
                    guard let base = storage.baseAddress else { throw PipelineError.unreadable(path: job.input.label, reason: "empty batch") }
                    return try run(base)
                }
            }
            Self.probabilities(from: values, slots: packed, perPatch: perPatch, classes: k, logits: logits, into: &passProbabilities)
            // Per-pixel outputs come back in the pass's orientation: undo it before summing.
            let undo = job.mode == .segmentation && transform != .identity ? transform.inverse : nil
            passProbabilities.withUnsafeBufferPointer { from in
                turnedBack.withUnsafeMutableBufferPointer { back in
                    sum.withUnsafeMutableBufferPointer { total in
                        guard let f = from.baseAddress, let b = back.baseAddress, let t = total.baseAddress else { return }
                        for patch in 0..<n {
                            var source = UnsafePointer(f + patch * perPatch)
                            if let undo {
                                undo.apply(source, to: b, size: p, planes: k)
                                source = UnsafePointer(b)
                            }
                            let destination = t + patch * perPatch
                            for i in 0..<perPatch { destination[i] += source[i] }
                        }
                    }
                }
            }
        }
        let scale = 1 / Float(passes.count)
        for (patch, index) in slots.enumerated() {
            for i in 0..<perPatch { probabilities[index * perPatch + i] = sum[patch * perPatch + i] * scale }
        }
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
                    if logits {
                        // Channel c of pixel p is at c * pixels + p.
                        SoftmaxKernel.apply(source, destination, outer: 1, size: k, inner: perPatch / k)
                    } else {
                        destination.update(from: source, count: perPatch)
                    }
                }
            }
        }
    }
}

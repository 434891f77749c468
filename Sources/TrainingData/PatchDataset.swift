import CNN
import Classification
import Config
import RasterIO
import Training

/// One split of a patch dataset, ready for the trainer.
///
/// Samples are patches of raw DN kept compactly (see ``storageKind``); ``batch(indices:)``
/// normalizes them with ``normalization`` (the model contract's form, raw DN to network input)
/// through Classification's `PatchTensorConverter` (the one band-sequential to NCHW conversion: invalid
/// pixels become 0) and returns NCHW Float32 inputs `[N, bands, size, size]` with integer targets.
/// Oversampled samples repeat a stored patch. The value is `Sendable` and cheap to copy (the
/// patches are shared copy-on-write with the other splits).
public struct PatchDataset: SampleSource, Sendable {
    /// The target of unlabelled and invalid pixels (PyTorch's `ignore_index`).
    public static let ignoreIndex: Int32 = -1

    /// Band names in channel order.
    public var bands: [String] { storage.bands }
    /// Patch edge in pixels.
    public var patchSize: Int { storage.patchSize }
    /// Class names; class `i` is target `i`.
    public let classNames: [String]
    /// Patch classes or pixel classes.
    public let targetKind: TargetKind
    /// Which split this dataset is.
    public let split: DatasetSplit
    /// Raw DN to network input, per band (`ModelContract.Normalization`).
    public let normalization: ModelContract.Normalization
    /// Stored patch of each sample, in sample order (repeats when oversampled).
    public let storageIndices: [Int]
    let storage: PatchStorage
    private let converter: PatchTensorConverter

    init(storage: PatchStorage, storageIndices: [Int], split: DatasetSplit, classNames: [String],
         targetKind: TargetKind, normalization: ModelContract.Normalization) {
        self.storage = storage
        self.storageIndices = storageIndices
        self.split = split
        self.classNames = classNames
        self.targetKind = targetKind
        self.normalization = normalization
        let affine = normalization.affine
        self.converter = PatchTensorConverter(scale: affine.scale, offset: affine.offset, patchSize: storage.patchSize)
    }

    /// Number of samples.
    public var count: Int { storageIndices.count }

    /// How the raw DN are stored: `"UInt16"` or `"Float32"`.
    public var storageKind: String { storage.usesFloat ? "Float32" : "UInt16" }

    /// The class of sample `index` (the patch label, also for pixel targets).
    public func label(of index: Int) -> Int { storage.labels[storageIndices[index]] }

    /// Where sample `index` comes from (scene pixel offsets of its top-left pixel).
    public func location(of index: Int) -> PatchLocation { storage.locations[storageIndices[index]] }

    /// Locations of all samples, in sample order.
    public var locations: [PatchLocation] { storageIndices.map { storage.locations[$0] } }

    /// Samples per class (index = class), repeats counted.
    public var classHistogram: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for s in storageIndices where storage.labels[s] < counts.count { counts[storage.labels[s]] += 1 }
        return counts
    }

    /// Labelled pixels per class over the samples (pixel targets only; empty for patch targets).
    public var pixelHistogram: [Int] {
        guard storage.hasPixelLabels else { return [] }
        var counts = [Int](repeating: 0, count: classNames.count)
        for s in storageIndices {
            for p in 0..<storage.pixelsPerPatch where storage.isValid(patch: s, pixel: p) {
                let c = Int(storage.pixelLabel(patch: s, pixel: p))
                if c < counts.count { counts[c] += 1 }
            }
        }
        return counts
    }

    /// Raw DN of sample `index`, band-sequential `[(band * size + row) * size + column]`, 0 at
    /// invalid pixels, with its validity mask (1 = valid).
    public func rawPatch(_ index: Int) -> (values: [Float], validity: [UInt8]) {
        var values = [Float](repeating: 0, count: storage.valuesPerPatch)
        var validity = [UInt8](repeating: 0, count: storage.pixelsPerPatch)
        storage.copy(patch: storageIndices[index], into: &values, validity: &validity)
        return (values, validity)
    }

    /// The same samples normalized differently (e.g. with statistics computed elsewhere).
    /// - Throws: ``TrainingDataError/invalidOption(option:value:reason:)`` when the normalization
    ///   does not have one value per band.
    public func with(normalization: ModelContract.Normalization) throws -> PatchDataset {
        try Self.check(normalization, bands: bands)
        return PatchDataset(storage: storage, storageIndices: storageIndices, split: split, classNames: classNames,
                            targetKind: targetKind, normalization: normalization)
    }

    static func check(_ normalization: ModelContract.Normalization, bands: [String]) throws {
        let affine = normalization.affine
        guard affine.scale.count == bands.count, affine.offset.count == bands.count else {
            throw TrainingDataError.invalidOption(option: "normalization", value: "\(affine.scale.count) values",
                                                  reason: "needs one value per band (\(bands.count): \(bands.joined(separator: ",")))")
        }
        guard affine.scale.allSatisfy({ $0.isFinite }), affine.offset.allSatisfy({ $0.isFinite }) else {
            throw TrainingDataError.invalidOption(option: "normalization", value: "\(normalization)",
                                                  reason: "gives non-finite values (a standard deviation of 0?); every std must be > 0")
        }
    }

    /// Assembles samples into a batch.
    ///
    /// - Returns: inputs `[N, bands, size, size]` (NCHW Float32, normalized; invalid pixels 0) and
    ///   targets: `N` patch classes, or `N * size * size` pixel classes (row-major per patch, -1 at
    ///   unlabelled or invalid pixels).
    /// - Throws: ``TrainingDataError/sampleIndexOutOfRange(index:count:)``.
    public func batch(indices: [Int]) throws -> TrainingBatch {
        for i in indices where !storageIndices.indices.contains(i) {
            throw TrainingDataError.sampleIndexOutOfRange(index: i, count: count)
        }
        let p = storage.patchSize, plane = p * p
        var inputs = [Float](repeating: 0, count: indices.count * converter.patchElementCount)
        var targets: [Int32] = []
        targets.reserveCapacity(targetKind == .patchClass ? indices.count : indices.count * plane)
        var buffer = BandBuffer(width: p, height: p, bandCount: storage.bands.count)
        let window = RasterWindow(width: p, height: p)
        inputs.withUnsafeMutableBufferPointer { batch in
            guard let base = batch.baseAddress else { return }
            for (slot, index) in indices.enumerated() {
                let s = storageIndices[index]
                storage.copy(patch: s, into: &buffer.values, validity: &buffer.validity)
                converter.fill(batch: base, index: slot, from: buffer, bufferOrigin: (0, 0), patch: window)
            }
        }
        for index in indices {
            let s = storageIndices[index]
            switch targetKind {
            case .patchClass:
                targets.append(Int32(storage.labels[s]))
            case .pixelClasses:
                for pixel in 0..<plane {
                    let c = storage.hasPixelLabels ? storage.pixelLabel(patch: s, pixel: pixel) : UInt8(storage.labels[s])
                    let labelled = storage.isValid(patch: s, pixel: pixel) && c != LabelValue.unlabelled && Int(c) < classNames.count
                    targets.append(labelled ? Int32(c) : Self.ignoreIndex)
                }
            }
        }
        let tensor = try Tensor(shape: [indices.count, storage.bands.count, p, p], scalars: inputs)
        return TrainingBatch(inputs: tensor, targets: targets)
    }
}

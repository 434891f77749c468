import CNN
import RasterIO

/// The training, validation and test datasets built from one source, with the normalization
/// statistics of the training split and a report of what was kept and why.
public struct DatasetSplits: Sendable {
    /// Training samples (balanced when balancing was asked for).
    public var train: PatchDataset
    /// Validation samples (natural class counts).
    public var validation: PatchDataset
    /// Test samples (natural class counts).
    public var test: PatchDataset
    /// Per-band mean and std of raw DN over the valid pixels of the training split's patches
    /// (before balancing; each scene pixel counted once): put `statistics.normalization` in the
    /// model contract.
    public var statistics: BandStatistics
    /// What was built, for reports (`Codable`).
    public var summary: DatasetSummary

    /// The dataset of one split.
    public subscript(split: DatasetSplit) -> PatchDataset {
        switch split {
        case .train: return train
        case .validation: return validation
        case .test: return test
        }
    }

    /// Builds the three datasets from stored patches.
    static func make(storage: PatchStorage, source: String, classNames: [String], targetKind: TargetKind,
                     balancing: ClassBalancing, normalization: ModelContract.Normalization?,
                     rejected: RejectionCounts, sampling: PatchSampling?, split: SpatialSplit?,
                     labels: String?, statistics: BandStatistics) throws -> DatasetSplits {
        let chosen = normalization ?? statistics.normalization
        try PatchDataset.check(chosen, bands: storage.bands)
        var byIndex: [DatasetSplit: [Int]] = [:]
        for i in 0..<storage.count { byIndex[storage.splits[i], default: []].append(i) }
        let trainIndices = balancing.apply(to: byIndex[.train] ?? []) { storage.labels[$0] }
        func dataset(_ split: DatasetSplit, _ indices: [Int]) -> PatchDataset {
            PatchDataset(storage: storage, storageIndices: indices, split: split, classNames: classNames,
                         targetKind: targetKind, normalization: chosen)
        }
        let train = dataset(.train, trainIndices)
        let validation = dataset(.validation, byIndex[.validation] ?? [])
        let test = dataset(.test, byIndex[.test] ?? [])
        func part(_ d: PatchDataset, storedCount: Int) -> DatasetSummary.Part {
            DatasetSummary.Part(samples: d.count, storedPatches: storedCount, classCounts: d.classHistogram,
                                pixelClassCounts: d.pixelHistogram,
                                locations: d.locations.map { [$0.column, $0.row] })
        }
        let summary = DatasetSummary(
            source: source, labels: labels, bands: storage.bands, patchSize: storage.patchSize,
            classNames: classNames, targetKind: targetKind, storage: train.storageKind,
            storedBytes: storage.byteCount, sampling: sampling, split: split, balancing: balancing,
            rejected: rejected, statistics: statistics,
            train: part(train, storedCount: byIndex[.train]?.count ?? 0),
            validation: part(validation, storedCount: byIndex[.validation]?.count ?? 0),
            test: part(test, storedCount: byIndex[.test]?.count ?? 0))
        return DatasetSplits(train: train, validation: validation, test: test, statistics: statistics, summary: summary)
    }
}

/// A `Codable` report of a built dataset: sources, options, class counts per split, patch
/// positions and normalization statistics.
public struct DatasetSummary: Sendable, Equatable, Codable {
    /// Counts of one split.
    public struct Part: Sendable, Equatable, Codable {
        /// Samples (after balancing for the training split; repeats counted).
        public var samples: Int
        /// Distinct stored patches of the split (before balancing).
        public var storedPatches: Int
        /// Samples per class (index = class).
        public var classCounts: [Int]
        /// Labelled valid pixels per class over the samples (pixel targets from scenes; else empty).
        public var pixelClassCounts: [Int]
        /// Scene pixel offsets `[column, row]` of each sample's top-left pixel, in sample order
        /// (`[0, 0]` for patch files).
        public var locations: [[Int]]
    }

    /// The scene name or patch folder.
    public var source: String
    /// Where the labels came from (label raster, or vector file with layer and attribute); nil for
    /// class folders.
    public var labels: String?
    /// Band names in channel order.
    public var bands: [String]
    /// Patch edge in pixels.
    public var patchSize: Int
    /// Class names; class `i` is target `i`.
    public var classNames: [String]
    /// Patch or pixel targets.
    public var targetKind: TargetKind
    /// How raw DN are stored (`UInt16` or `Float32`).
    public var storage: String
    /// Bytes held by the stored patches.
    public var storedBytes: Int
    /// Sampling options (scenes only).
    public var sampling: PatchSampling?
    /// The spatial split (scenes only).
    public var split: SpatialSplit?
    /// Balancing of the training split.
    public var balancing: ClassBalancing
    /// Candidate patches not kept, by reason.
    public var rejected: RejectionCounts
    /// Normalization statistics of the training split (raw DN).
    public var statistics: BandStatistics
    /// The training split (after balancing).
    public var train: Part
    /// The validation split.
    public var validation: Part
    /// The test split.
    public var test: Part
}

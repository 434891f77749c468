import CNN
import RasterIO

/// Where a scene's labels come from.
public enum SceneLabels: Sendable, Equatable {
    /// A label raster (see `RasterIO.RasterLabels`): band `band`, values mapped by `classValues`
    /// (raster value -> class index) or, when nil, taken as class indices; read directly when it
    /// lies on the scene grid, otherwise warped to it with nearest neighbour.
    case raster(path: String, band: Int = 1, classValues: [Int: Int]? = nil)
    /// Vector polygons (see `RasterIO.VectorLabels`): layer (nil = the first), the class attribute,
    /// attribute value -> class index, and the rule for pixels covered by different classes.
    case vector(path: String, layer: String? = nil, attribute: String, classes: [String: Int],
                overlap: LabelOverlapRule = .unlabelled)

    /// Opens the labels on `grid` (on the calling thread).
    func open(grid: SceneGrid) throws -> LabelSource {
        switch self {
        case .raster(let path, let band, let classValues):
            return try RasterLabels(path: path, band: band, grid: grid, classValues: classValues)
        case .vector(let path, let layer, let attribute, let classes, let overlap):
            return try VectorLabels(path: path, layer: layer, attribute: attribute, classes: classes, grid: grid, overlapRule: overlap)
        }
    }
}

/// Turns a scene and its labels into training, validation and test patches.
///
/// The scene is read through a `SceneReader` in row strips (all bands of the scene, in its band
/// order; at most `stripBytes` of pixels per strip, and at least one patch high), and its labels
/// are rasterized or read for the same strip, so a 10980 x 10980 scene is never held whole: memory
/// is one strip plus the kept patches (`bands * size * size * 2` bytes each for UInt16 DN).
public enum SceneSampler {
    /// Samples patches of a scene.
    ///
    /// - Parameters:
    ///   - scene: the stacked scene (`Scene.assemble` with the model's band list); its bands, in
    ///     order, are the dataset's channels.
    ///   - labels: the label raster or vector polygons.
    ///   - classNames: class `i`'s name; labels `>= classNames.count` are treated as unlabelled.
    ///   - sampling: patch size, stride, label rule and minimum fractions.
    ///   - split: the spatial train/validation/test split with its buffer.
    ///   - balancing: class balancing of the training split.
    ///   - targets: patch classes or per-pixel classes.
    ///   - normalization: the normalization of the returned datasets; nil = mean/std of the
    ///     training split (``DatasetSplits/statistics``).
    ///   - stripBytes: memory budget of one read strip.
    /// - Throws: ``TrainingDataError`` for invalid options or when no patch is kept;
    ///   `RasterIOError` naming the file when a scene or label source cannot be read.
    public static func sample(scene: Scene, labels: SceneLabels, classNames: [String], sampling: PatchSampling,
                              split: SpatialSplit = .none, balancing: ClassBalancing = .none,
                              targets: TargetKind = .patchClass, normalization: ModelContract.Normalization? = nil,
                              stripBytes: Int = 64 << 20) throws -> DatasetSplits {
        try validate(classNames: classNames, sampling: sampling, split: split, balancing: balancing)
        let source = try labels.open(grid: scene.grid)
        return try sample(scene: scene, labelSource: source, classNames: classNames, sampling: sampling, split: split,
                          balancing: balancing, targets: targets, normalization: normalization, stripBytes: stripBytes)
    }

    /// Samples patches of a scene with an open label source (any `RasterIO.LabelSource` on the
    /// scene's grid); see ``sample(scene:labels:classNames:sampling:split:balancing:targets:normalization:stripBytes:)``.
    public static func sample(scene: Scene, labelSource: LabelSource, classNames: [String], sampling: PatchSampling,
                              split: SpatialSplit = .none, balancing: ClassBalancing = .none,
                              targets: TargetKind = .patchClass, normalization: ModelContract.Normalization? = nil,
                              stripBytes: Int = 64 << 20) throws -> DatasetSplits {
        try validate(classNames: classNames, sampling: sampling, split: split, balancing: balancing)
        guard labelSource.grid == scene.grid else {
            throw TrainingDataError.invalidOption(option: "labels", value: labelSource.sourceDescription,
                                                  reason: "are delivered on another grid than the scene \(scene.name)'s; open the labels on scene.grid")
        }
        if let normalization { try PatchDataset.check(normalization, bands: scene.bandNames) }
        let grid = scene.grid
        let p = sampling.patchSize, plane = p * p
        let bandCount = scene.bands.count
        let xs = sampling.starts(length: grid.width), ys = sampling.starts(length: grid.height)
        guard !xs.isEmpty, !ys.isEmpty else {
            throw TrainingDataError.invalidOption(option: "patch_size", value: "\(p)",
                                                  reason: "is larger than the scene \(scene.name) (\(grid.width)x\(grid.height) pixels)")
        }
        let reader = try SceneReader(scene: scene)
        var storage = PatchStorage(bands: scene.bandNames, patchSize: p)
        var rejected = RejectionCounts()
        let classCount = classNames.count
        let rowBytes = max(1, grid.width * (bandCount * 4 + 2))
        let budgetRows = max(p, stripBytes / rowBytes)

        var start = 0
        while start < ys.count {
            var end = start + 1
            if sampling.stride <= p {
                while end < ys.count, ys[end] + p - ys[start] <= budgetRows { end += 1 }
            }
            let window = RasterWindow(column: 0, row: ys[start], width: grid.width, height: ys[end - 1] + p - ys[start])
            let buffer = try reader.read(window: window)
            var stripLabels = try labelSource.labels(window: window)
            for i in 0..<stripLabels.count where Int(stripLabels[i]) >= classCount || buffer.validity[i] == 0 {
                stripLabels[i] = LabelValue.unlabelled
            }
            let stripPlane = window.pixelCount
            for y in ys[start..<end] {
                let dy = y - window.row
                for x in xs {
                    var valid = 0, labelled = 0
                    var counts = [Int](repeating: 0, count: classCount)
                    for row in 0..<p {
                        let base = (dy + row) * window.width + x
                        for column in 0..<p {
                            if buffer.validity[base + column] != 0 { valid += 1 }
                            let c = stripLabels[base + column]
                            if c != LabelValue.unlabelled { labelled += 1; counts[Int(c)] += 1 }
                        }
                    }
                    if Double(valid) < sampling.minValidFraction * Double(plane) { rejected.tooFewValid += 1; continue }
                    if labelled == 0 || Double(labelled) < sampling.minLabelledFraction * Double(plane) {
                        rejected.tooFewLabelled += 1; continue
                    }
                    let label: Int
                    switch sampling.labelRule {
                    case .majority:
                        var best = 0
                        for c in 1..<max(classCount, 1) where counts[c] > counts[best] { best = c }
                        label = best
                    case .centre:
                        let c = stripLabels[(dy + p / 2) * window.width + x + p / 2]
                        guard c != LabelValue.unlabelled else { rejected.centreUnlabelled += 1; continue }
                        label = Int(c)
                    }
                    let patch = RasterWindow(column: x, row: y, width: p, height: p)
                    guard let part = split.split(of: patch, width: grid.width, height: grid.height, patchSize: p) else {
                        rejected.splitBuffer += 1; continue
                    }
                    let values = buffer.values, validity = buffer.validity
                    let pixelLabels: ((Int) -> UInt8)? = targets == .pixelClasses
                        ? { i in stripLabels[(dy + i / p) * window.width + x + i % p] } : nil
                    storage.append(value: { b, i in values[b * stripPlane + (dy + i / p) * window.width + x + i % p] },
                                   valid: { i in validity[(dy + i / p) * window.width + x + i % p] != 0 },
                                   pixelLabel: pixelLabels, label: label,
                                   location: PatchLocation(source: scene.name, column: x, row: y), split: part)
                }
            }
            start = end
        }
        guard storage.splits.contains(.train) else {
            throw TrainingDataError.noSamples(source: scene.name, reason: "\(xs.count * ys.count) candidates: \(rejected.description)")
        }
        let statistics = trainingStatistics(storage, width: grid.width, height: grid.height)
        return try DatasetSplits.make(storage: storage, source: scene.name, classNames: classNames, targetKind: targets,
                                      balancing: balancing, normalization: normalization, rejected: rejected,
                                      sampling: sampling, split: split, labels: labelSource.sourceDescription,
                                      statistics: statistics)
    }

    static func validate(classNames: [String], sampling: PatchSampling, split: SpatialSplit, balancing: ClassBalancing) throws {
        guard !classNames.isEmpty, classNames.count <= LabelValue.maximumClass + 1 else {
            throw TrainingDataError.invalidOption(option: "class_names", value: "\(classNames.count) classes",
                                                  reason: "give between 1 and \(LabelValue.maximumClass + 1) class names")
        }
        try sampling.validate()
        try split.validate()
        try balancing.validate()
    }

    /// Mean and std over the valid pixels of the training patches, each scene pixel once (patches
    /// overlap when the stride is smaller than the patch size).
    static func trainingStatistics(_ storage: PatchStorage, width: Int, height: Int) -> BandStatistics {
        var accumulator = BandStatisticsAccumulator(bands: storage.bands)
        var seen = [UInt64](repeating: 0, count: (width * height + 63) / 64)
        let p = storage.patchSize
        for s in 0..<storage.count where storage.splits[s] == .train {
            let location = storage.locations[s]
            for pixel in 0..<storage.pixelsPerPatch where storage.isValid(patch: s, pixel: pixel) {
                let index = (location.row + pixel / p) * width + location.column + pixel % p
                let word = index >> 6, bit = UInt64(1) << UInt64(index & 63)
                if seen[word] & bit != 0 { continue }
                seen[word] |= bit
                accumulator.add { b in Double(storage.value(patch: s, band: b, pixel: pixel)) }
            }
        }
        return accumulator.statistics
    }
}

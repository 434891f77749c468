/// Applies random augmentations to NCHW batches in place, each sample from its own seed.
///
/// The choices for a sample depend only on that sample's seed, never on the batch it shares or
/// its position in it, so a run gives the same samples whatever the batch size. The trainer seeds
/// each sample from the epoch and the sample's index in the ``SampleSource``.
///
/// For each sample, in this order: the geometric ``PatchTransform`` (mirror bits and quarter
/// turns drawn only for enabled options), applied to every channel and, for segmentation, to
/// the sample's `H × W` targets; then the brightness factor; then Gaussian noise, drawn in
/// channel, row, column order.
public struct Augmenter: Sendable {
    /// The settings.
    public let settings: AugmentationSettings

    /// Creates an augmenter.
    /// - Throws: ``AugmentationError/invalidSetting(name:value:expected:)``.
    public init(settings: AugmentationSettings) throws {
        try settings.validate()
        self.settings = settings
    }

    /// Draws a sample's geometric transform and brightness factor, advancing `generator`.
    public func draw(using generator: inout SeededGenerator) -> (transform: PatchTransform, brightness: Float) {
        var transform = PatchTransform.identity
        if settings.horizontalFlip { transform.flipsHorizontally = generator.next() >> 63 == 1 }
        if settings.verticalFlip { transform.flipsVertically = generator.next() >> 63 == 1 }
        if settings.quarterTurns { transform.quarterTurns = Int(generator.next() >> 62) }
        var factor: Float = 1
        if settings.brightness > 0 { factor = 1 + settings.brightness * (2 * generator.nextUnitFloat() - 1) }
        return (transform, factor)
    }

    /// Augments `batch` in place; sample `i` draws from `SeededGenerator(seed: sampleSeeds[i])`.
    /// Targets are transformed with the pixels when there is one per pixel (`N·H·W` of them);
    /// one target per sample is left as is.
    /// - Throws: ``AugmentationError`` for inputs that are not NCHW, targets of another layout,
    ///   quarter turns on non-square patches or a seed count that is not the batch size.
    public func augment(_ batch: inout TrainingBatch, sampleSeeds: [UInt64]) throws {
        let shape = batch.inputs.shape
        guard shape.count == 4 else { throw AugmentationError.notNCHW(shape: shape) }
        let (n, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        guard sampleSeeds.count == n else { throw AugmentationError.seedCount(seeds: sampleSeeds.count, samples: n) }
        let pixels = height * width
        let perPixel = batch.targets.count == n * pixels && pixels != 1
        guard perPixel || batch.targets.count == n else {
            throw AugmentationError.targetLayout(targets: batch.targets.count, samples: n, pixels: pixels)
        }
        if settings.quarterTurns, height != width { throw AugmentationError.notSquare(height: height, width: width) }
        guard !settings.isIdentity else { return }
        let sampleSize = channels * pixels
        for sample in 0..<n {
            var generator = SeededGenerator(seed: sampleSeeds[sample])
            let (transform, factor) = draw(using: &generator)
            let noise = settings.noiseStandardDeviation
            try batch.inputs.scalars.withUnsafeMutableBufferPointer { all in
                guard let base = all.baseAddress else { return }
                let values = UnsafeMutableBufferPointer(start: base + sample * sampleSize, count: sampleSize)
                try transform.apply(to: values, height: height, width: width)
                if factor != 1 { for i in 0..<sampleSize { values[i] *= factor } }
                if noise > 0 { for i in 0..<sampleSize { values[i] += noise * generator.nextGaussian() } }
            }
            if perPixel {
                try batch.targets.withUnsafeMutableBufferPointer { all in
                    guard let base = all.baseAddress else { return }
                    try transform.apply(to: UnsafeMutableBufferPointer(start: base + sample * pixels, count: pixels),
                                        height: height, width: width)
                }
            }
        }
    }
}

import CNN
import Testing
import Training

@Suite struct PatchTransformTests {
    @Test func quarterTurnMatchesNumpyRot90AndFourTurnsAreIdentity() throws {
        var plane: [Float] = [1, 2, 3, 4]
        try PatchTransform(quarterTurns: 1).apply(to: &plane, height: 2, width: 2)
        #expect(plane == [2, 4, 1, 3], "np.rot90([[1, 2], [3, 4]]) is [[2, 4], [1, 3]]")
        let original = (0..<25).map(Float.init)
        var turned = original
        for turn in 1...4 {
            try PatchTransform(quarterTurns: 1).apply(to: &turned, height: 5, width: 5)
            #expect((turned == original) == (turn == 4))
        }
        var twice = original, once = original
        try PatchTransform(quarterTurns: 1).apply(to: &twice, height: 5, width: 5)
        try PatchTransform(quarterTurns: 1).apply(to: &twice, height: 5, width: 5)
        try PatchTransform(quarterTurns: 2).apply(to: &once, height: 5, width: 5)
        #expect(twice == once)
        var back = original
        try PatchTransform(quarterTurns: 3).apply(to: &back, height: 5, width: 5)
        try PatchTransform(quarterTurns: -3).apply(to: &back, height: 5, width: 5)
        #expect(back == original)
    }

    @Test func flipsMirrorAndAreInvolutions() throws {
        let original: [Float] = [1, 2, 3, 4, 5, 6]
        var horizontal = original
        try PatchTransform(flipsHorizontally: true).apply(to: &horizontal, height: 2, width: 3)
        #expect(horizontal == [3, 2, 1, 6, 5, 4])
        var vertical = original
        try PatchTransform(flipsVertically: true).apply(to: &vertical, height: 2, width: 3)
        #expect(vertical == [4, 5, 6, 1, 2, 3])
        for transform in [PatchTransform(flipsHorizontally: true), PatchTransform(flipsVertically: true),
                          PatchTransform(flipsHorizontally: true, flipsVertically: true)] {
            var values = original
            try transform.apply(to: &values, height: 2, width: 3)
            #expect(values != original)
            try transform.apply(to: &values, height: 2, width: 3)
            #expect(values == original)
        }
        // Both mirrors together are a half turn.
        var both = original, half = original
        try PatchTransform(flipsHorizontally: true, flipsVertically: true).apply(to: &both, height: 2, width: 3)
        try PatchTransform(quarterTurns: 2).apply(to: &half, height: 2, width: 3)
        #expect(both == half)
    }

    @Test func everyPlaneOfASampleIsTransformed() throws {
        var channels: [Int32] = [1, 2, 3, 4, 10, 20, 30, 40]
        try PatchTransform(flipsHorizontally: true, quarterTurns: 1).apply(to: &channels, height: 2, width: 2)
        // Mirror [[1, 2], [3, 4]] to [[2, 1], [4, 3]], then rot90 to [[1, 3], [2, 4]].
        #expect(channels == [1, 3, 2, 4, 10, 30, 20, 40])
    }

    @Test func oddTurnsOfNonSquarePlanesThrow() {
        var values: [Float] = [1, 2, 3, 4, 5, 6]
        #expect(throws: AugmentationError.notSquare(height: 2, width: 3)) {
            try PatchTransform(quarterTurns: 1).apply(to: &values, height: 2, width: 3)
        }
        #expect(values == [1, 2, 3, 4, 5, 6])
    }
}

@Suite struct AugmenterTests {
    /// `n` samples of `channels × size × size`: channel c of sample s holds
    /// `(c + 1) · (1000·s + pixel)`, so every value says where it came from.
    func batch(samples n: Int, channels: Int = 2, size: Int = 4, perPixelTargets: Bool) throws -> TrainingBatch {
        var scalars: [Float] = []
        for s in 0..<n { for c in 0..<channels { for p in 0..<(size * size) { scalars.append(Float((c + 1) * (1000 * s + p))) } } }
        let targets: [Int32] = perPixelTargets ? (0..<n).flatMap { s in (0..<(size * size)).map { Int32(1000 * s + $0) } }
                                               : (0..<n).map(Int32.init)
        return TrainingBatch(inputs: try Tensor(shape: [n, channels, size, size], scalars: scalars), targets: targets)
    }

    static let geometric = AugmentationSettings(horizontalFlip: true, verticalFlip: true, quarterTurns: true)

    @Test func segmentationTargetsFollowTheirPixels() throws {
        let augmenter = try Augmenter(settings: Self.geometric)
        var data = try batch(samples: 8, perPixelTargets: true)
        let original = data
        try augmenter.augment(&data, sampleSeeds: (0..<8).map { UInt64($0) * 7 + 1 })
        #expect(data.inputs != original.inputs)
        for s in 0..<8 {
            for p in 0..<16 {
                let first = data.inputs.scalars[(s * 2) * 16 + p], second = data.inputs.scalars[(s * 2 + 1) * 16 + p]
                #expect(first == Float(data.targets[s * 16 + p]), "target stays on its pixel")
                #expect(second == 2 * first, "channels move together")
            }
            #expect(Set(data.targets[(s * 16)..<((s + 1) * 16)]) == Set(original.targets[(s * 16)..<((s + 1) * 16)]))
        }
    }

    @Test func classificationTargetsAreLeftAlone() throws {
        let augmenter = try Augmenter(settings: Self.geometric)
        var data = try batch(samples: 4, perPixelTargets: false)
        try augmenter.augment(&data, sampleSeeds: [1, 2, 3, 4])
        #expect(data.targets == [0, 1, 2, 3])
    }

    @Test func resultsDependOnTheSampleSeedNotOnTheBatch() throws {
        let settings = AugmentationSettings(horizontalFlip: true, verticalFlip: true, quarterTurns: true,
                                            brightness: 0.3, noiseStandardDeviation: 0.1)
        let augmenter = try Augmenter(settings: settings)
        let seeds: [UInt64] = [11, 22, 33, 44]
        var whole = try batch(samples: 4, perPixelTargets: true)
        try augmenter.augment(&whole, sampleSeeds: seeds)
        let full = try batch(samples: 4, perPixelTargets: true)
        var parts: [TrainingBatch] = []
        for start in [0, 2] {
            var part = TrainingBatch(inputs: try full.inputs.batchSlice(start: start, count: 2),
                                     targets: Array(full.targets[(start * 16)..<((start + 2) * 16)]))
            try augmenter.augment(&part, sampleSeeds: Array(seeds[start..<(start + 2)]))
            parts.append(part)
        }
        #expect(try Tensor.concatenatingBatches(parts.map(\.inputs)) == whole.inputs)
        #expect(parts.flatMap(\.targets) == whole.targets)
        // Different seeds give different samples.
        var other = try batch(samples: 4, perPixelTargets: true)
        try augmenter.augment(&other, sampleSeeds: [12, 23, 34, 45])
        #expect(other.inputs != whole.inputs)
    }

    @Test func geometricChoicesCoverAllSymmetries() throws {
        let augmenter = try Augmenter(settings: Self.geometric)
        var seen: Set<[Float]> = []
        for seed in 0..<200 {
            var data = try batch(samples: 1, channels: 1, size: 3, perPixelTargets: false)
            try augmenter.augment(&data, sampleSeeds: [UInt64(seed)])
            seen.insert(data.inputs.scalars)
        }
        #expect(seen.count == 8, "the 8 symmetries of the square all occur")
    }

    @Test func brightnessScalesEachSampleWithinItsRange() throws {
        let augmenter = try Augmenter(settings: AugmentationSettings(brightness: 0.2))
        var data = TrainingBatch(inputs: Tensor(zeros: [16, 2, 3, 3], value: 1), targets: [Int32](repeating: 0, count: 16))
        try augmenter.augment(&data, sampleSeeds: (0..<16).map(UInt64.init))
        var factors: Set<Float> = []
        for s in 0..<16 {
            let values = data.inputs.scalars[(s * 18)..<((s + 1) * 18)]
            let factor = try #require(values.first)
            #expect(values.allSatisfy { $0 == factor }, "one factor per sample")
            #expect(factor >= 0.8 && factor <= 1.2)
            factors.insert(factor)
        }
        #expect(factors.count > 8)
    }

    @Test func noiseHasTheRequestedStandardDeviation() throws {
        let augmenter = try Augmenter(settings: AugmentationSettings(noiseStandardDeviation: 0.5))
        var data = TrainingBatch(inputs: Tensor(zeros: [4, 3, 32, 32]), targets: [0, 0, 0, 0])
        try augmenter.augment(&data, sampleSeeds: [1, 2, 3, 4])
        let values = data.inputs.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        #expect(abs(mean) < 0.02)
        #expect(abs(variance.squareRoot() - 0.5) < 0.02)
    }

    @Test func badBatchesAndSettingsAreRejected() throws {
        #expect(throws: AugmentationError.self) { try Augmenter(settings: AugmentationSettings(brightness: 1)) }
        #expect(throws: AugmentationError.self) { try Augmenter(settings: AugmentationSettings(noiseStandardDeviation: -1)) }
        let augmenter = try Augmenter(settings: Self.geometric)
        var flat = TrainingBatch(inputs: Tensor(zeros: [2, 4]), targets: [0, 1])
        #expect(throws: AugmentationError.notNCHW(shape: [2, 4])) { try augmenter.augment(&flat, sampleSeeds: [1, 2]) }
        var wide = TrainingBatch(inputs: Tensor(zeros: [1, 1, 2, 3]), targets: [0])
        #expect(throws: AugmentationError.notSquare(height: 2, width: 3)) { try augmenter.augment(&wide, sampleSeeds: [1]) }
        var data = try batch(samples: 2, perPixelTargets: false)
        #expect(throws: AugmentationError.seedCount(seeds: 1, samples: 2)) { try augmenter.augment(&data, sampleSeeds: [1]) }
        data.targets = [0, 1, 2]
        #expect(throws: AugmentationError.targetLayout(targets: 3, samples: 2, pixels: 16)) {
            try augmenter.augment(&data, sampleSeeds: [1, 2])
        }
    }
}

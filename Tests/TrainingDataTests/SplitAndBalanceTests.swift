import Foundation
import Testing
import RasterIO
import TrainingData

@Suite("Spatial splits and class balancing")
struct SplitAndBalanceTests {
    /// Checks that every pair of patches from different splits is at least `minimumGap` pixels apart.
    private func expectDisjoint(_ data: DatasetSplits, size: Int, minimumGap: Int) {
        let parts: [(DatasetSplit, [RasterWindow])] = DatasetSplit.allCases.map { split in
            (split, data[split].locations.map { DataFixtures.window($0, size) })
        }
        for (i, a) in parts.enumerated() {
            for b in parts[(i + 1)...] {
                var closest = Int.max
                for wa in a.1 { for wb in b.1 { closest = min(closest, DataFixtures.gap(wa, wb)) } }
                #expect(a.1.isEmpty || b.1.isEmpty || closest >= minimumGap, "\(a.0) vs \(b.0): closest gap \(closest) px")
            }
        }
    }

    @Test func stripsLeaveAtLeastOnePatchBetweenSplits() throws {
        let scene = try DataFixtures.scene(bands: ["B04"])
        let size = 16
        let split = SpatialSplit(validation: .init(axis: .columns, start: 0.75, fraction: 0.25),
                                 test: .init(axis: .rows, start: 0, fraction: 0.25))
        let data = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                           sampling: PatchSampling(patchSize: size, stride: 8, minLabelledFraction: 0.3), split: split)
        #expect(data.train.count > 100 && data.validation.count > 20 && data.test.count > 20)
        expectDisjoint(data, size: size, minimumGap: size)
        // Each split lies in its region: validation in the east quarter, test in the north quarter.
        let w = scene.grid.width, h = scene.grid.height
        #expect(data.validation.locations.allSatisfy { $0.column >= 3 * w / 4 })
        #expect(data.test.locations.allSatisfy { $0.row + size <= h / 4 && $0.column + size <= 3 * w / 4 })
        #expect(data.train.locations.allSatisfy { $0.row >= h / 4 && $0.column + size <= 3 * w / 4 })
        #expect(data.summary.rejected.splitBuffer > 0)
        // Overlapping training patches (stride 8 < 16) stay: the buffer is only between splits.
        let train = data.train.locations.map { DataFixtures.window($0, size) }
        #expect(train.contains { a in train.contains { b in a != b && DataFixtures.gap(a, b) < 0 } })
    }

    @Test(arguments: [nil, 40])
    func blockCheckerboardIsDisjointWithItsBuffer(buffer: Int?) throws {
        let scene = try DataFixtures.scene(bands: ["B04"])
        let size = 16
        let split = SpatialSplit(blocks: .init(size: 128, validationFraction: 0.25, testFraction: 0.15, seed: 11), buffer: buffer)
        let data = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                           sampling: PatchSampling(patchSize: size, stride: 16, minLabelledFraction: 0.3), split: split)
        #expect(data.train.count > 50 && data.validation.count > 0)
        expectDisjoint(data, size: size, minimumGap: buffer ?? size)
        // Same seed, same blocks; another seed, other blocks.
        let again = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                            sampling: PatchSampling(patchSize: size, stride: 16, minLabelledFraction: 0.3), split: split)
        #expect(again.validation.locations == data.validation.locations)
        var other = split
        other.blocks?.seed = 12
        let reseeded = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                               sampling: PatchSampling(patchSize: size, stride: 16, minLabelledFraction: 0.3), split: other)
        #expect(reseeded.validation.locations != data.validation.locations)
    }

    @Test func regionsFollowStripsThenBlocks() {
        let split = SpatialSplit(validation: .init(axis: .columns, start: 0.5, fraction: 0.25),
                                 test: .init(axis: .columns, start: 0.25, fraction: 0.5))
        // Validation wins where the strips overlap.
        #expect(split.region(column: 10, row: 5, width: 100, height: 100) == .train)
        #expect(split.region(column: 30, row: 5, width: 100, height: 100) == .test)
        #expect(split.region(column: 60, row: 5, width: 100, height: 100) == .validation)
        #expect(split.region(column: 74, row: 99, width: 100, height: 100) == .validation)
        #expect(split.region(column: 75, row: 0, width: 100, height: 100) == .train)
        // A patch needs its grown window inside one region: 8 px patch, buffer 8 -> margin 4.
        let p = 8
        #expect(split.split(of: RasterWindow(column: 13, row: 0, width: p, height: p), width: 100, height: 100, patchSize: p) == .train)
        #expect(split.split(of: RasterWindow(column: 14, row: 0, width: p, height: p), width: 100, height: 100, patchSize: p) == nil)
        #expect(split.split(of: RasterWindow(column: 29, row: 0, width: p, height: p), width: 100, height: 100, patchSize: p) == .test)
        #expect(split.split(of: RasterWindow(column: 54, row: 92, width: p, height: p), width: 100, height: 100, patchSize: p) == .validation)
    }

    @Test func balancingCapsAndOversamplesTheTrainingSplit() throws {
        let scene = try DataFixtures.scene(bands: ["B04"])
        let sampling = PatchSampling(patchSize: 16, minLabelledFraction: 0.5)
        let split = SpatialSplit.eastStrip(fraction: 0.25)
        let natural = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                              sampling: sampling, split: split)
        let counts = natural.train.classHistogram
        #expect(counts.filter { $0 > 60 }.count >= 2 && counts.contains { $0 > 0 && $0 < 60 })

        let capped = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                             sampling: sampling, split: split, balancing: ClassBalancing(maxPerClass: 60, seed: 1))
        #expect(capped.train.classHistogram == counts.map { min($0, 60) })
        #expect(Set(capped.train.storageIndices).count == capped.train.count, "capping never repeats a patch")
        #expect(Set(capped.train.storageIndices).isSubset(of: Set(natural.train.storageIndices)))
        // Validation keeps its natural counts; the statistics ignore balancing.
        #expect(capped.validation.classHistogram == natural.validation.classHistogram)
        #expect(capped.statistics == natural.statistics)

        let equalized = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                                sampling: sampling, split: split,
                                                balancing: ClassBalancing(maxPerClass: 60, oversampleToLargest: true, seed: 1))
        #expect(equalized.train.classHistogram == counts.map { $0 > 0 ? 60 : 0 })
        // Oversampling repeats patches of the same class only.
        for (position, s) in equalized.train.storageIndices.enumerated() {
            #expect(natural.train.storageIndices.contains(s))
            #expect(equalized.train.label(of: position) == natural.train.label(of: natural.train.storageIndices.firstIndex(of: s) ?? 0))
        }
        let raised = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                             sampling: sampling, split: split, balancing: ClassBalancing(minPerClass: 40, seed: 1))
        #expect(raised.train.classHistogram == counts.map { $0 == 0 ? 0 : max($0, 40) })
    }

    @Test func balancingIsSeededAndDeterministic() {
        let labels = (0..<500).map { $0 % 5 == 0 ? 0 : ($0 % 7 == 0 ? 1 : 2) }
        let indices = Array(0..<500)
        let a = ClassBalancing(maxPerClass: 30, minPerClass: 30, seed: 7).apply(to: indices) { labels[$0] }
        let b = ClassBalancing(maxPerClass: 30, minPerClass: 30, seed: 7).apply(to: indices) { labels[$0] }
        let c = ClassBalancing(maxPerClass: 30, minPerClass: 30, seed: 8).apply(to: indices) { labels[$0] }
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 90)
        for k in 0..<3 { #expect(a.filter { labels[$0] == k }.count == 30) }
        #expect(a == a.sorted())
        #expect(ClassBalancing.none.apply(to: indices) { labels[$0] } == indices)
    }
}

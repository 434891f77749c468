import CNN
import Foundation
import RasterIO
import TestSupport
import Testing
import Training
import TrainingData

@Suite("Scene + labels -> patches (33UUU sample, OpenStreetMap polygons)")
struct SceneSamplerTests {
    /// The expected patches, computed independently from gdal_rasterize labels: every stride
    /// position whose window is at least `minLabelled` labelled, with its majority (or centre) class.
    private func expectedPatches(_ labels: [UInt8], width: Int, height: Int, size: Int, stride: Int,
                                 minLabelled: Double, rule: PatchLabelRule) -> [[Int]: Int] {
        var result: [[Int]: Int] = [:]
        for y in Swift.stride(from: 0, through: height - size, by: stride) {
            for x in Swift.stride(from: 0, through: width - size, by: stride) {
                var counts = [Int](repeating: 0, count: 7)
                for row in y..<(y + size) { for column in x..<(x + size) where labels[row * width + column] != 255 {
                    counts[Int(labels[row * width + column])] += 1
                } }
                let labelled = counts.reduce(0, +)
                guard labelled > 0, Double(labelled) >= minLabelled * Double(size * size) else { continue }
                switch rule {
                case .majority:
                    let best = counts.indices.max { a, b in counts[a] < counts[b] || (counts[a] == counts[b] && a > b) } ?? 0
                    result[[x, y]] = best
                case .centre:
                    let c = labels[(y + size / 2) * width + x + size / 2]
                    if c != 255 { result[[x, y]] = Int(c) }
                }
            }
        }
        return result
    }

    @Test(arguments: [(16, 16, PatchLabelRule.majority), (32, 32, .majority), (32, 24, .centre)])
    func patchesAndLabelsMatchAnIndependentComputation(size: Int, stride: Int, rule: PatchLabelRule) throws {
        let scene = try DataFixtures.scene()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try DataFixtures.gdalReferenceLabels(grid: scene.grid, folder: folder)
        let sampling = PatchSampling(patchSize: size, stride: stride, labelRule: rule, minLabelledFraction: 0.5)
        let data = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(.lastFeature),
                                           classNames: DataFixtures.classNames, sampling: sampling)
        let expected = expectedPatches(reference.values, width: scene.grid.width, height: scene.grid.height,
                                       size: size, stride: stride, minLabelled: 0.5, rule: rule)
        var got: [[Int]: Int] = [:]
        for i in 0..<data.train.count {
            let l = data.train.location(of: i)
            got[[l.column, l.row]] = data.train.label(of: i)
        }
        #expect(got == expected)
        #expect(data.validation.count == 0 && data.test.count == 0)
        var histogram = [Int](repeating: 0, count: 7)
        for c in expected.values { histogram[c] += 1 }
        #expect(data.train.classHistogram == histogram)
        #expect(data.summary.train.classCounts == histogram)
        let candidates = ((scene.grid.width - size) / stride + 1) * ((scene.grid.height - size) / stride + 1)
        #expect(data.summary.rejected.total + data.train.count == candidates)
        #expect(data.train.storageKind == "UInt16")
    }

    /// Patches hold the scene's raw DN (compared with a direct SceneReader read), and batches are
    /// NCHW, normalized with the training statistics.
    @Test func rawValuesAndBatchesMatchTheScene() throws {
        let scene = try DataFixtures.scene(bands: ["B04", "B08", "B11"])
        let data = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                           sampling: PatchSampling(patchSize: 16, stride: 48))
        let reader = try SceneReader(scene: scene)
        let indices = [0, data.train.count / 2, data.train.count - 1]
        let batch = try data.train.batch(indices: indices)
        #expect(batch.inputs.shape == [3, 3, 16, 16])
        #expect(batch.targets == indices.map { Int32(data.train.label(of: $0)) })
        guard case .meanStd(let mean, let std) = data.train.normalization else {
            Issue.record("the default normalization is mean/std"); return
        }
        #expect(mean == data.statistics.mean.map { Float($0) })
        for (slot, index) in indices.enumerated() {
            let location = data.train.location(of: index)
            let direct = try reader.read(window: RasterWindow(column: location.column, row: location.row, width: 16, height: 16))
            #expect(data.train.rawPatch(index).values == direct.values)
            for c in 0..<3 {
                for y in 0..<16 {
                    for x in 0..<16 {
                        let got = batch.inputs.scalars[((slot * 3 + c) * 16 + y) * 16 + x]
                        let expected = (direct[c, x, y] - mean[c]) / std[c]
                        #expect(abs(got - expected) <= 1e-5 * max(1, abs(expected)))
                    }
                }
            }
        }
        #expect(throws: TrainingDataError.sampleIndexOutOfRange(index: data.train.count, count: data.train.count)) {
            try data.train.batch(indices: [data.train.count])
        }
        let source: any SampleSource = data.train
        #expect(source.count == data.train.count)
    }

    /// Per-pixel targets are the rasterized classes, -1 where unlabelled.
    @Test func segmentationTargetsArePixelLabelsWithIgnoreIndex() throws {
        let scene = try DataFixtures.scene(bands: ["B02", "B03"])
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try DataFixtures.gdalReferenceLabels(grid: scene.grid, folder: folder)
        let data = try SceneSampler.sample(scene: scene, labels: .raster(path: reference.path), classNames: DataFixtures.classNames,
                                           sampling: PatchSampling(patchSize: 32, minLabelledFraction: 0.2), targets: .pixelClasses)
        #expect(data.train.count > 50)
        let indices = Array(0..<data.train.count)
        let batch = try data.train.batch(indices: indices)
        #expect(batch.targets.count == indices.count * 32 * 32)
        var ignored = 0
        var pixelCounts = [Int](repeating: 0, count: 7)
        for (slot, index) in indices.enumerated() {
            let l = data.train.location(of: index)
            for y in 0..<32 {
                for x in 0..<32 {
                    let label = reference.values[(l.row + y) * scene.grid.width + l.column + x]
                    let target = batch.targets[(slot * 32 + y) * 32 + x]
                    #expect(target == (label == 255 ? -1 : Int32(label)))
                    if target == -1 { ignored += 1 } else { pixelCounts[Int(target)] += 1 }
                }
            }
        }
        #expect(ignored > 0)
        #expect(data.train.pixelHistogram == pixelCounts)
        #expect(data.summary.labels == "\(reference.path) (band 1)")
    }

    /// Reading in small strips gives exactly the patches of one big strip.
    @Test func stripSizeDoesNotChangeTheResult() throws {
        let scene = try DataFixtures.scene(bands: ["B04", "B8A"])
        let sampling = PatchSampling(patchSize: 24, stride: 20, minLabelledFraction: 0.3)
        let split = SpatialSplit(validation: .init(axis: .rows, start: 0.6, fraction: 0.2))
        let big = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(.unlabelled), classNames: DataFixtures.classNames,
                                          sampling: sampling, split: split, stripBytes: 1 << 30)
        let small = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(.unlabelled), classNames: DataFixtures.classNames,
                                            sampling: sampling, split: split, stripBytes: 1)
        #expect(big.summary == small.summary)
        #expect(big.train.count > 0 && big.validation.count > 0)
        for i in Swift.stride(from: 0, to: big.validation.count, by: 7) {
            #expect(big.validation.rawPatch(i) == small.validation.rawPatch(i))
        }
    }

    /// Statistics: per-band mean and population std over the valid pixels of the union of the
    /// training patches, compared with numpy on the same pixels (10 m bands straight from the JP2s,
    /// B11 through gdalwarp -r bilinear, the scene's default for up-sampling).
    @Test func statisticsMatchNumpyOnTheTrainingPixels() throws {
        let scene = try DataFixtures.scene(bands: ["B02", "B08", "B11"])
        let size = 32
        let data = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                           sampling: PatchSampling(patchSize: size, stride: 16, minLabelledFraction: 0.4),
                                           split: .eastStrip(fraction: 0.3))
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let w = scene.grid.width, h = scene.grid.height
        var mask = [UInt8](repeating: 0, count: w * h)
        for l in data.train.locations {
            for y in l.row..<(l.row + size) { for x in l.column..<(l.column + size) { mask[y * w + x] = 1 } }
        }
        let maskPath = folder.appendingPathComponent("mask.u8").path
        try Data(mask).write(to: URL(fileURLWithPath: maskPath))
        let b = scene.grid.bounds
        var rawPaths: [String] = []
        for name in ["B02", "B08", "B11"] {
            let raw = folder.appendingPathComponent("\(name).raw").path
            try CommandLineTool.run("gdalwarp", ["-q", "-of", "ENVI", "-ot", "Float32", "-r", "bilinear",
                                              "-te", "\(b.minX)", "\(b.minY)", "\(b.maxX)", "\(b.maxY)", "-ts", "\(w)", "\(h)",
                                              DataFixtures.band(name), raw])
            rawPaths.append(raw)
        }
        let script = """
        import sys, json, numpy as np
        mask = np.fromfile(sys.argv[1], dtype=np.uint8).astype(bool)
        out = {"mean": [], "std": [], "n": int(mask.sum())}
        for path in sys.argv[2:]:
            v = np.fromfile(path, dtype=np.float32).astype(np.float64)[mask]
            out["mean"].append(float(v.mean())); out["std"].append(float(v.std()))
        print(json.dumps(out))
        """
        let output = try CommandLineTool.run("python3", ["-c", script, maskPath] + rawPaths)
        struct NumpyStats: Decodable { var mean: [Double]; var std: [Double]; var n: Int }
        let numpy = try JSONDecoder().decode(NumpyStats.self, from: Data(output.utf8))
        #expect(data.statistics.pixelCount == numpy.n)
        #expect(data.statistics.bands == ["B02", "B08", "B11"])
        for bnd in 0..<3 {
            #expect(abs(data.statistics.mean[bnd] - numpy.mean[bnd]) <= 1e-9 * numpy.mean[bnd])
            #expect(abs(data.statistics.std[bnd] - numpy.std[bnd]) <= 1e-7 * numpy.std[bnd])
        }
        // The validation strip's pixels are not in the statistics.
        #expect(numpy.n < w * h * 7 / 10)
        guard case .meanStd(_, let std) = data.statistics.normalization else { Issue.record("mean/std expected"); return }
        #expect(std.allSatisfy { $0 > 0 })
    }

    /// Invalid (nodata) pixels: the minimum valid fraction rejects patches, kept patches store 0
    /// there, batches put 0 there and pixel targets -1; non-integer DN are stored as Float.
    @Test func nodataAndFloatScenes() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("image.tif").path
        // 64x64, 2 bands Float32 (fractional DN), nodata -1 in columns 0..<10.
        try TestRasters.writeRaster(image, width: 64, height: 64, bands: 2, dataType: .float32, nodata: -1,
                                     descriptions: ["B04", "B08"]) { b, x, y in x < 10 ? -1 : Double(100 * b + x) + 0.25 }
        let labels = folder.appendingPathComponent("labels.tif").path
        try TestRasters.writeRaster(labels, width: 64, height: 64, dataType: .byte) { _, x, y in y < 32 ? 0 : 1 }
        let scene = try Scene.assemble(inputs: [image])
        let strict = try SceneSampler.sample(scene: scene, labels: .raster(path: labels), classNames: ["a", "b"],
                                             sampling: PatchSampling(patchSize: 16, minValidFraction: 1.0))
        // 16 candidates; the first column of patches (x 0..<16) has 10 invalid columns.
        #expect(strict.train.count == 12)
        #expect(strict.summary.rejected.tooFewValid == 4)
        #expect(strict.train.storageKind == "Float32")
        #expect(strict.train.rawPatch(0).values[0] == Float(16.25))   // band 0 at x = 16
        let lenient = try SceneSampler.sample(scene: scene, labels: .raster(path: labels), classNames: ["a", "b"],
                                              sampling: PatchSampling(patchSize: 16, minLabelledFraction: 0.3, minValidFraction: 0.3),
                                              targets: .pixelClasses, normalization: .scaleOffset(scale: [1, 1], offset: [0, 0]))
        #expect(lenient.train.count == 16)
        let first = try #require((0..<lenient.train.count).first { lenient.train.location(of: $0).column == 0 })
        let patch = lenient.train.rawPatch(first)
        #expect(patch.validity[9] == 0 && patch.validity[10] == 1)
        #expect(patch.values[9] == 0)
        let batch = try lenient.train.batch(indices: [first])
        #expect(batch.inputs.scalars[9] == 0 && batch.inputs.scalars[10] == 10.25)
        #expect(batch.targets[9] == -1 && batch.targets[10] >= 0)
        // Only valid pixels of kept training patches enter the statistics: columns 16..<64.
        #expect(strict.statistics.pixelCount == 48 * 64)
    }

    @Test func labelValuesBeyondTheClassListAreUnlabelled() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("image.tif").path
        try TestRasters.writeRaster(image, width: 32, height: 32, bands: 1, descriptions: ["B04"]) { _, x, y in Double(x + y) }
        let labels = folder.appendingPathComponent("labels.tif").path
        try TestRasters.writeRaster(labels, width: 32, height: 32, dataType: .byte) { _, x, _ in x < 16 ? 1 : 9 }
        let data = try SceneSampler.sample(scene: Scene.assemble(inputs: [image]), labels: .raster(path: labels), classNames: ["a", "b"],
                                           sampling: PatchSampling(patchSize: 16, minLabelledFraction: 0.5))
        #expect(data.train.count == 2)
        #expect(data.train.classHistogram == [0, 2])
    }

    @Test func invalidOptionsAreNamed() throws {
        let scene = try DataFixtures.scene(bands: ["B04"])
        func option(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as TrainingDataError {
                if case .invalidOption(let option, _, _) = error { return option }
            } catch {}
            return nil
        }
        let labels = DataFixtures.vectorLabels()
        let names = DataFixtures.classNames
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 0)) } == "patch_size")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 8, stride: -1)) } == "stride")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 8, minLabelledFraction: 2)) } == "min_labelled_fraction")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 2000)) } == "patch_size")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: [], sampling: PatchSampling(patchSize: 8)) } == "class_names")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 8),
                                                     split: SpatialSplit(validation: .init(axis: .columns, start: 0.9, fraction: 0.3))) } == "split.validation")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 8),
                                                     split: SpatialSplit(blocks: .init(size: 64, validationFraction: 0.6, testFraction: 0.5))) } == "split.blocks")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 8),
                                                     balancing: ClassBalancing(maxPerClass: 5, minPerClass: 10)) } == "balance.min_per_class")
        #expect(option { _ = try SceneSampler.sample(scene: scene, labels: labels, classNames: names, sampling: PatchSampling(patchSize: 8),
                                                     normalization: .meanStd(mean: [0, 0], std: [1, 1])) } == "normalization")
        // No patch passes: a typed error naming the scene and the reasons.
        do {
            _ = try SceneSampler.sample(scene: scene, labels: .vector(path: DataFixtures.gpkg, attribute: "fclass", classes: ["grass": 0]),
                                        classNames: ["grassland"], sampling: PatchSampling(patchSize: 64, minLabelledFraction: 1.0))
            Issue.record("no 64 px patch of the sample is covered by the small 'grass' polygons")
        } catch let error as TrainingDataError {
            guard case .noSamples(let source, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(source == scene.name)
        }
        // Label errors from RasterIO pass through, naming the file and attribute.
        #expect(throws: RasterIOError.self) {
            try SceneSampler.sample(scene: scene, labels: .vector(path: DataFixtures.gpkg, attribute: "landuse", classes: ["farm": 0]),
                                    classNames: names, sampling: PatchSampling(patchSize: 8))
        }
    }

    @Test func summaryIsCodable() throws {
        let scene = try DataFixtures.scene(bands: ["B04", "B08"])
        let data = try SceneSampler.sample(scene: scene, labels: DataFixtures.vectorLabels(), classNames: DataFixtures.classNames,
                                           sampling: PatchSampling(patchSize: 32), split: .eastStrip(fraction: 0.25),
                                           balancing: ClassBalancing(maxPerClass: 20, seed: 3))
        let json = try JSONEncoder().encode(data.summary)
        let decoded = try JSONDecoder().decode(DatasetSummary.self, from: json)
        #expect(decoded == data.summary)
        #expect(decoded.source == scene.name)
        #expect(decoded.bands == ["B04", "B08"])
        #expect(decoded.train.samples == data.train.count)
        #expect(decoded.train.locations.count == data.train.count)
        #expect(decoded.validation.classCounts == data.validation.classHistogram)
        #expect(decoded.statistics == data.statistics)
    }
}

import CNN
import Foundation
import RasterIO
import TestSupport
import Testing
import TrainingData

@Suite("EuroSAT-style class folders (real EuroSAT-MS patches)")
struct PatchFolderTests {
    static let classes = ["HerbaceousVegetation", "Highway", "PermanentCrop"]

    @Test func loadsRealPatchesByBandName() throws {
        let bands = ["B02", "B03", "B04", "B08", "B8A"]
        let data = try PatchFolder.load(folder: DataFixtures.eurosat.path,
                                        options: .init(bands: bands, bandOrder: SentinelBand.eurosatOrder))
        #expect(data.train.classNames == Self.classes)
        #expect(data.train.count == 3)
        #expect(data.train.classHistogram == [1, 1, 1])
        #expect(data.train.patchSize == 64)
        #expect(data.train.storageKind == "UInt16")
        // Band values straight from the files: B8A is the 13th band of a EuroSAT file.
        let fileBands = [2, 3, 4, 8, 13]
        for i in 0..<3 {
            let location = data.train.location(of: i)
            #expect(location.source.hasSuffix(".tif") && location.source.contains("/\(Self.classes[data.train.label(of: i)])/"))
            let file = try RasterDataset(path: location.source)
            let direct = try file.read(window: file.fullWindow, bands: fileBands)
            #expect(data.train.rawPatch(i).values == direct.values)
        }
        // Statistics over the 3 x 64 x 64 pixels, per band, computed here directly.
        #expect(data.statistics.pixelCount == 3 * 64 * 64)
        for (b, fileBand) in fileBands.enumerated() {
            var values: [Double] = []
            for i in 0..<3 {
                let file = try RasterDataset(path: data.train.location(of: i).source)
                values += try file.read(window: file.fullWindow, bands: [fileBand]).values.map(Double.init)
            }
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            #expect(abs(data.statistics.mean[b] - mean) <= 1e-9 * mean)
            #expect(abs(data.statistics.std[b] - std) <= 1e-9 * std)
        }
        let batch = try data.train.batch(indices: [2, 0])
        #expect(batch.inputs.shape == [2, 5, 64, 64])
        #expect(batch.targets == [2, 0])
        // A caller-given normalization (EuroSAT models often take DN * 1e-4).
        let scaled = try data.train.with(normalization: .scaleOffset(scale: [Float](repeating: 1e-4, count: 5), offset: [Float](repeating: 0, count: 5)))
        let scaledBatch = try scaled.batch(indices: [0])
        #expect(abs(scaledBatch.inputs.scalars[0] - data.train.rawPatch(0).values[0] * 1e-4) < 1e-7)
    }

    /// A larger folder (copies of the real patches) split per class with a seed; classes from a
    /// given list, including one without a folder.
    @Test func givenClassListAndSeededSplit() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in Self.classes {
            let source = try #require(FileManager.default.contentsOfDirectory(atPath: DataFixtures.eurosat.appendingPathComponent(name).path)
                .first { $0.hasSuffix(".tif") })
            let target = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            for k in 0..<10 {
                try FileManager.default.copyItem(at: DataFixtures.eurosat.appendingPathComponent(name).appendingPathComponent(source),
                                                 to: target.appendingPathComponent("\(name)_\(k).tif"))
            }
        }
        let classNames = ["AnnualCrop"] + Self.classes
        let options = PatchFolder.Options(bands: ["B04", "B03", "B02"], bandOrder: SentinelBand.eurosatOrder, classNames: classNames,
                                          validationFraction: 0.2, testFraction: 0.1, seed: 5)
        let data = try PatchFolder.load(folder: folder.path, options: options)
        #expect(data.train.classNames == classNames)
        #expect(data.train.classHistogram == [0, 7, 7, 7])
        #expect(data.validation.classHistogram == [0, 2, 2, 2])
        #expect(data.test.classHistogram == [0, 1, 1, 1])
        let again = try PatchFolder.load(folder: folder.path, options: options)
        #expect(again.validation.locations == data.validation.locations)
        var reseeded = options
        reseeded.seed = 6
        #expect(try PatchFolder.load(folder: folder.path, options: reseeded).validation.locations != data.validation.locations)
        #expect(Set(data.train.locations).isDisjoint(with: Set(data.validation.locations)))
        // Balancing on folders: oversample one class.
        let balanced = try PatchFolder.load(folder: folder.path, options: options, balancing: ClassBalancing(minPerClass: 9, seed: 2))
        #expect(balanced.train.classHistogram == [0, 9, 9, 9])
        #expect(try JSONDecoder().decode(DatasetSummary.self, from: JSONEncoder().encode(data.summary)) == data.summary)
    }

    @Test func errorsNameTheFile() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = DataFixtures.eurosat.appendingPathComponent("Highway/Highway_8.tif").path
        let classFolder = folder.appendingPathComponent("Highway")
        try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: original, toPath: classFolder.appendingPathComponent("a.tif").path)

        // Without a band order, unnamed bands cannot be matched.
        let copied = classFolder.appendingPathComponent("a.tif").path
        do {
            _ = try PatchFolder.load(folder: folder.path, options: .init(bands: ["B04"]))
            Issue.record("unnamed bands must not match")
        } catch let error as TrainingDataError {
            guard case .missingBand(let path, let band, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == copied && band == "B04")
            #expect(error.description.contains(copied) && error.description.contains("eurosat"))
        }

        // A named 12-band patch without B8A.
        let named = classFolder.appendingPathComponent("b.tif").path
        let twelve = SentinelBand.all.filter { $0 != "B8A" }
        try TestRasters.writeRaster(named, width: 64, height: 64, bands: 12, descriptions: twelve) { b, x, y in Double(1000 + b) }
        #expect(throws: TrainingDataError.missingBand(path: named, band: "B8A", available: twelve)) {
            try PatchFolder.load(folder: folder.path, options: .init(bands: ["B04", "B8A"], bandOrder: SentinelBand.eurosatOrder))
        }
        // Named files are matched by their names even when a band order is given: B04 is band 4 of b.tif.
        let mixed = try PatchFolder.load(folder: folder.path, options: .init(bands: ["B04", "B12"], bandOrder: SentinelBand.eurosatOrder))
        let bIndex = try #require((0..<mixed.train.count).first { mixed.train.location(of: $0).source == named })
        #expect(mixed.train.rawPatch(bIndex).values[0] == 1003 && mixed.train.rawPatch(bIndex).values[4096] == 1011)
        try FileManager.default.removeItem(atPath: named)

        // A 32 x 32 patch among 64 x 64 ones.
        let small = classFolder.appendingPathComponent("c.tif").path
        try CommandLineTool.run("gdal_translate", ["-q", "-srcwin", "0", "0", "32", "32", original, small])
        #expect(throws: TrainingDataError.wrongPatchSize(path: small, width: 32, height: 32, expected: 64)) {
            try PatchFolder.load(folder: folder.path, options: .init(bands: ["B04"], bandOrder: SentinelBand.eurosatOrder))
        }
        try FileManager.default.removeItem(atPath: small)

        // A class folder missing from the given class list.
        #expect(throws: TrainingDataError.unknownClass(path: classFolder.path, className: "Highway", known: ["Forest"])) {
            try PatchFolder.load(folder: folder.path, options: .init(bands: ["B04"], bandOrder: SentinelBand.eurosatOrder, classNames: ["Forest"]))
        }
        // A folder without class folders, and a missing folder.
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: TrainingDataError.self) {
            try PatchFolder.load(folder: empty.path, options: .init(bands: ["B04"]))
        }
        #expect(throws: RasterIOError.fileNotFound(path: folder.appendingPathComponent("nowhere").path)) {
            try PatchFolder.load(folder: folder.appendingPathComponent("nowhere").path, options: .init(bands: ["B04"]))
        }
        // Wrong band-order length.
        #expect(throws: TrainingDataError.self) {
            try PatchFolder.load(folder: folder.path, options: .init(bands: ["B04"], bandOrder: ["B02", "B03", "B04"]))
        }
    }
}

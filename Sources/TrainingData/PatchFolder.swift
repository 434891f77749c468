import CNN
import Foundation
import RasterIO
import Training

/// A EuroSAT-style folder: one sub-folder per class holding multi-band GeoTIFF patches.
///
/// Bands are matched **by name**: a file's band descriptions or `BANDNAME` metadata when it has
/// them, otherwise the declared ``Options/bandOrder`` (EuroSAT files carry no names and store B8A
/// last: `RasterIO.SentinelBand.eurosatOrder`). Classes are the sub-folder names sorted, or a given
/// list (sub-folders not in it are an error, listed classes without a folder have no samples).
/// Patches are split at random per class (seeded; the files are independent patches, so the split
/// needs no spatial buffer).
public enum PatchFolder {
    /// What to load and how to split it.
    public struct Options: Sendable, Equatable {
        /// Bands wanted, in channel order (canonical names, e.g. `B02`, `B8A`).
        public var bands: [String]
        /// Names of the bands of files that carry none, in file order (e.g.
        /// `SentinelBand.eurosatOrder`); nil = every file must name its bands.
        public var bandOrder: [String]?
        /// Class names in target order; nil = the sub-folder names, sorted.
        public var classNames: [String]?
        /// Patch edge in pixels; nil = the first file's size (every file must be square and equal).
        public var patchSize: Int?
        /// Fraction (0..<1) of each class's patches held out for validation.
        public var validationFraction: Double
        /// Fraction (0..<1) of each class's patches held out for testing.
        public var testFraction: Double
        /// Seed of the split.
        public var seed: UInt64
        /// File name extensions of patch files (lower case, without the dot).
        public var extensions: Set<String>

        /// Creates options; band names are canonicalized (`B4` -> `B04`, `B08A` -> `B8A`).
        public init(bands: [String], bandOrder: [String]? = nil, classNames: [String]? = nil, patchSize: Int? = nil,
                    validationFraction: Double = 0, testFraction: Double = 0, seed: UInt64 = 0,
                    extensions: Set<String> = ["tif", "tiff"]) {
            self.bands = bands.map(SentinelBand.canonicalName)
            self.bandOrder = bandOrder?.map(SentinelBand.canonicalName)
            self.classNames = classNames
            self.patchSize = patchSize
            self.validationFraction = validationFraction
            self.testFraction = testFraction
            self.seed = seed
            self.extensions = extensions
        }
    }

    /// Loads every patch of a class folder.
    ///
    /// - Parameters:
    ///   - folder: the folder holding one sub-folder per class.
    ///   - options: bands, band order, classes, patch size and split.
    ///   - balancing: class balancing of the training split.
    ///   - targets: patch classes (pixel targets repeat the patch class over its valid pixels).
    ///   - normalization: the datasets' normalization; nil = mean/std of the training split.
    /// - Throws: ``TrainingDataError`` naming the file: a missing band, a wrong size, an unknown
    ///   class folder, an empty folder; `RasterIOError` for unreadable files.
    public static func load(folder: String, options: Options, balancing: ClassBalancing = .none,
                            targets: TargetKind = .patchClass,
                            normalization: ModelContract.Normalization? = nil) throws -> DatasetSplits {
        guard !options.bands.isEmpty else {
            throw TrainingDataError.invalidOption(option: "bands", value: "[]", reason: "name at least one band")
        }
        guard options.validationFraction >= 0, options.testFraction >= 0, options.validationFraction + options.testFraction < 1 else {
            throw TrainingDataError.invalidOption(option: "split", value: "validation \(options.validationFraction), test \(options.testFraction)",
                                                  reason: "fractions must be >= 0 and sum to less than 1 (the rest is training)")
        }
        if let size = options.patchSize, size < 1 {
            throw TrainingDataError.invalidOption(option: "patch_size", value: "\(size)", reason: "must be a positive number of pixels")
        }
        try balancing.validate()
        let files = try listFiles(folder: folder, options: options)
        let classNames = files.classNames
        var storage: PatchStorage?
        var byClass: [Int: [Int]] = [:]
        var labels: [Int] = []
        for (path, classIndex) in files.patches {
            let (buffer, size) = try read(path: path, options: options, expectedSize: storage?.patchSize ?? options.patchSize)
            if storage == nil { storage = PatchStorage(bands: options.bands, patchSize: size) }
            labels.append(classIndex)
            byClass[classIndex, default: []].append(labels.count - 1)
            // The split is drawn after all files are read; store as train and fix up below.
            storage?.append(value: { b, i in buffer.values[b * size * size + i] }, valid: { i in buffer.validity[i] != 0 },
                            pixelLabel: nil, label: classIndex, location: PatchLocation(source: path, column: 0, row: 0),
                            split: .train)
        }
        guard let loaded = storage else {
            throw TrainingDataError.emptyFolder(path: folder, reason: "no patch files (\(options.extensions.sorted().joined(separator: ", "))) in the class folders")
        }
        // Per class: a seeded shuffle, the first fractions go to validation and test.
        var generator = SeededGenerator(seed: options.seed)
        var splits = [DatasetSplit](repeating: .train, count: labels.count)
        for c in byClass.keys.sorted() {
            guard var members = byClass[c] else { continue }
            ClassBalancing.shuffle(&members, using: &generator)
            let nValidation = Int((options.validationFraction * Double(members.count)).rounded())
            let nTest = min(members.count - nValidation, Int((options.testFraction * Double(members.count)).rounded()))
            for (k, i) in members.enumerated() {
                splits[i] = k < nValidation ? .validation : (k < nValidation + nTest ? .test : .train)
            }
        }
        let final = loaded.reassigningSplits(splits)
        let statistics = statisticsOfTraining(final)
        return try DatasetSplits.make(storage: final, source: folder, classNames: classNames, targetKind: targets,
                                      balancing: balancing, normalization: normalization, rejected: RejectionCounts(),
                                      sampling: nil, split: nil, labels: nil, statistics: statistics)
    }

    /// The class names and the patch files with their class, in class then file-name order.
    static func listFiles(folder: String, options: Options) throws -> (classNames: [String], patches: [(String, Int)]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw RasterIOError.fileNotFound(path: folder)
        }
        guard isDirectory.boolValue else {
            throw TrainingDataError.emptyFolder(path: folder, reason: "is a file, not a folder")
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        } catch {
            throw TrainingDataError.emptyFolder(path: folder, reason: "cannot be listed (\(error.localizedDescription))")
        }
        let url = URL(fileURLWithPath: folder)
        let subfolders = entries.filter { name in
            var dir: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &dir) && dir.boolValue
        }
        guard !subfolders.isEmpty else {
            throw TrainingDataError.emptyFolder(path: folder, reason: "holds no class sub-folders")
        }
        let classNames = options.classNames ?? subfolders
        for name in subfolders where !classNames.contains(name) {
            throw TrainingDataError.unknownClass(path: url.appendingPathComponent(name).path, className: name, known: classNames)
        }
        var patches: [(String, Int)] = []
        for (classIndex, name) in classNames.enumerated() where subfolders.contains(name) {
            let classFolder = url.appendingPathComponent(name)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: classFolder.path)) ?? []).sorted()
                .filter { !$0.hasPrefix(".") && options.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
            patches += files.map { (classFolder.appendingPathComponent($0).path, classIndex) }
        }
        return (classNames, patches)
    }

    /// Reads the wanted bands of one patch file, matched by name.
    static func read(path: String, options: Options, expectedSize: Int?) throws -> (BandBuffer, Int) {
        let dataset = try RasterDataset(path: path)
        let names: [String?]
        if dataset.bands.allSatisfy({ $0.name == nil }), let order = options.bandOrder {
            guard order.count == dataset.bands.count else {
                throw TrainingDataError.unreadablePatch(path: path, reason: "has \(dataset.bands.count) unnamed bands but the band order lists \(order.count); give one name per band in file order")
            }
            names = order
        } else {
            names = dataset.bandNames
        }
        let indices = try options.bands.map { band -> Int in
            guard let position = names.firstIndex(where: { $0 == band }) else {
                throw TrainingDataError.missingBand(path: path, band: band, available: names.enumerated().map { $0.element ?? "#\($0.offset + 1) (unnamed)" })
            }
            return position + 1
        }
        let expected = expectedSize ?? dataset.width
        guard dataset.width == expected, dataset.height == expected else {
            throw TrainingDataError.wrongPatchSize(path: path, width: dataset.width, height: dataset.height, expected: expected)
        }
        return (try dataset.read(window: dataset.fullWindow, bands: indices), expected)
    }

    /// Mean and std over the valid pixels of the training patches.
    static func statisticsOfTraining(_ storage: PatchStorage) -> BandStatistics {
        var accumulator = BandStatisticsAccumulator(bands: storage.bands)
        for s in 0..<storage.count where storage.splits[s] == .train {
            for pixel in 0..<storage.pixelsPerPatch where storage.isValid(patch: s, pixel: pixel) {
                accumulator.add { b in Double(storage.value(patch: s, band: b, pixel: pixel)) }
            }
        }
        return accumulator.statistics
    }
}

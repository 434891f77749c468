import Dispatch
import Foundation
import RasterIO

/// How ``SyntheticScene/write(to:options:)`` lays out its files.
public struct SceneWriteOptions: Equatable, Sendable {
    /// File layout of the bands.
    public enum Layout: String, Equatable, Sendable, CaseIterable {
        /// One 13-band UInt16 GeoTIFF on the 10 m grid, band descriptions in ESA order
        /// (``RasterIO/SentinelBand/all``: B01...B08, B8A, B09...B12), every band sampled at 10 m.
        case multiBand
        /// One single-band UInt16 GeoTIFF per band at its native resolution (10, 20 or 60 m),
        /// named `<name>_<band>_<res>m.tif` like L2A band files, so ``RasterIO/Scene/assemble(inputs:options:)``
        /// stacks them by name.
        case perBandFiles
    }

    /// Band layout.
    public var layout: Layout
    /// File name stem; default `synthetic_seed<seed>_<width>x<height>`. The bands go to
    /// `<name>.tif` (multi-band) or `<name>_<band>_<res>m.tif`, the labels to `<name>_labels.tif`.
    public var name: String?
    /// Compression of every file (DEFLATE by default; `.none` writes fastest).
    public var compression: RasterCompression
    /// Rendering threads (the calling thread writes); the files do not depend on it.
    public var threads: Int

    /// Options with the defaults above; `threads` defaults to the number of active cores.
    public init(layout: Layout = .multiBand, name: String? = nil, compression: RasterCompression = .deflate,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.layout = layout
        self.name = name
        self.compression = compression
        self.threads = threads
    }
}

/// What ``SyntheticScene/write(to:options:)`` wrote.
public struct GeneratedScene: Equatable, Sendable {
    /// One file written: its path, grid and bands (`["class"]` for the label raster).
    public struct File: Equatable, Sendable {
        /// Final path of the file.
        public let path: String
        /// Its grid (10, 20 or 60 m pixels).
        public let grid: SceneGrid
        /// Its band names in file order.
        public let bands: [String]
    }

    /// The band files: one multi-band file, or one file per band in ESA order.
    public let bandFiles: [File]
    /// The UInt8 label raster on the 10 m grid (colour table, category names, nodata 255).
    public let labelFile: File
    /// The label legend (value `i` = `legend.names[i]`).
    public let legend: ClassLegend
    /// Pixels per label value, 256 entries (index 255 = nodata).
    public let labelCounts: [Int]
    /// Wall-clock seconds spent rendering and writing.
    public let seconds: Double
}

extension SyntheticScene {
    /// Side in pixels of the square tiles of every output (RasterIO's ``RasterIO/RasterWriter``
    /// block size): work is split into tiles so each write fills whole blocks.
    public static let tileSize = 512

    /// Writes the scene's bands and labels into `folder` (created when missing).
    ///
    /// Work is split into 512 x 512 tiles of each output grid. Tiles are rendered in parallel by
    /// `options.threads` Dispatch workers, at most `threads + 1` ahead of the writer, and written
    /// in a fixed order (tile rows top to bottom, tiles left to right, bands in order, then the
    /// labels) by the calling thread, so the files are byte-identical for any thread count. (The
    /// order of tiles inside a file follows GDAL's block-cache evictions, so byte identity also
    /// needs the same GDAL version and `GDAL_CACHEMAX`; pixel values never depend on them.)
    /// Memory: about 7 MB per tile in flight plus GDAL's block cache (`GDAL_CACHEMAX`, by default
    /// 5 % of RAM; the `landcover generate` command caps it at 32 MB). Each file is written to a
    /// temporary name and renamed when complete; on error nothing is left under the final names.
    ///
    /// - Throws: ``SynthesisError`` for bad options or an unusable folder, ``RasterIO/RasterIOError``
    ///   when GDAL cannot write.
    @discardableResult
    public func write(to folder: String, options: SceneWriteOptions = SceneWriteOptions()) throws -> GeneratedScene {
        let start = DispatchTime.now()
        guard (1...256).contains(options.threads) else {
            throw SynthesisError.invalidOption(option: "threads", reason: "\(options.threads) threads; give 1...256")
        }
        let stem = options.name ?? "synthetic_seed\(spec.seed)_\(spec.width)x\(spec.height)"
        guard !stem.isEmpty, !stem.contains("/"), !stem.hasPrefix(".") else {
            throw SynthesisError.invalidOption(option: "name", reason: "'\(stem)' is not a plain file name stem (no '/', not starting with '.')")
        }
        try Self.prepareFolder(folder)

        // Outputs go in groups sharing one grid: the multi-band file, or the 10 m, 20 m and 60 m
        // band files (the labels with the 10 m group). A group's files are open only while it is
        // written, which bounds GDAL's per-file buffers; files committed before a later failure
        // are removed again, so a failed run leaves nothing under the final names.
        let groups: [(factor: Int, bands: [Int])]
        switch options.layout {
        case .multiBand:
            groups = [(1, Array(SentinelBand.all.indices))]
        case .perBandFiles:
            groups = Self.resolutionFactors.map { factor in
                (factor, SentinelBand.all.indices.filter { Self.nativeFactor(of: SentinelBand.all[$0]) == factor })
            }
        }
        let metadata = bandMetadata()
        let labelPath = (folder as NSString).appendingPathComponent("\(stem)_labels.tif")
        var files: [Int: GeneratedScene.File] = [:]
        var counts = [Int](repeating: 0, count: 256)
        var committed: [String] = []
        var committing: String?
        do {
            for group in groups {
                let groupGrid = grid(factor: group.factor)
                var writers: [RasterWriter] = []
                var targets: [(writer: Int, band: Int)] = []
                if options.layout == .multiBand {
                    let path = (folder as NSString).appendingPathComponent("\(stem).tif")
                    writers.append(try RasterWriter(path: path, spec: RasterWriteSpec(
                        grid: groupGrid, bandCount: group.bands.count, dataType: .uint16, nodata: Double(Self.bandNodata),
                        bandDescriptions: group.bands.map { SentinelBand.all[$0] }, compression: options.compression,
                        metadata: metadata)))
                    targets = group.bands.indices.map { (writer: 0, band: $0 + 1) }
                    files[0] = GeneratedScene.File(path: path, grid: groupGrid, bands: group.bands.map { SentinelBand.all[$0] })
                } else {
                    let metres = spec.pixelSize * Double(group.factor)
                    let resolution = metres == metres.rounded() ? "\(Int(metres))m" : "\(metres)m"
                    for band in group.bands {
                        let name = SentinelBand.all[band]
                        let path = (folder as NSString).appendingPathComponent("\(stem)_\(name)_\(resolution).tif")
                        targets.append((writer: writers.count, band: 1))
                        writers.append(try RasterWriter(path: path, spec: RasterWriteSpec(
                            grid: groupGrid, bandCount: 1, dataType: .uint16, nodata: Double(Self.bandNodata),
                            bandDescriptions: [name], compression: options.compression, metadata: metadata)))
                        files[band] = GeneratedScene.File(path: path, grid: groupGrid, bands: [name])
                    }
                }
                let labelWriter = group.factor == 1
                    ? try ClassRasterWriter(path: labelPath, sourceGrid: grid, legend: legend,
                                            compression: options.compression, provenance: provenance())
                    : nil
                let jobs = Self.tiles(of: groupGrid).map {
                    TileJob(window: $0, factor: group.factor, bands: group.bands, targets: targets, labels: labelWriter != nil)
                }
                let groupCounts = try runPipeline(jobs: jobs, threads: options.threads, writers: writers, labelWriter: labelWriter)
                for writer in writers {
                    committing = writer.path
                    try writer.commit()
                    committed.append(writer.path)
                }
                if let labelWriter {
                    committing = labelPath
                    try labelWriter.commit()
                    committed.append(labelPath)
                    counts = groupCounts
                }
                committing = nil
            }
        } catch {
            for path in committed {
                try? FileManager.default.removeItem(atPath: path)
                try? FileManager.default.removeItem(atPath: path + ".aux.xml")
            }
            // A commit that failed may already have moved its sidecar into place.
            if let committing {
                try? FileManager.default.removeItem(atPath: committing + ".aux.xml")
            }
            throw error
        }
        let bandFiles = files.keys.sorted().compactMap { files[$0] }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return GeneratedScene(bandFiles: bandFiles, labelFile: GeneratedScene.File(path: labelPath, grid: grid, bands: ["class"]),
                              legend: legend, labelCounts: counts, seconds: seconds)
    }

    /// Creates `folder` when missing; fails when it is a file or cannot be created.
    static func prepareFolder(_ folder: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw SynthesisError.outputFolder(path: folder, reason: "is a file, not a folder")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SynthesisError.outputFolder(path: folder, reason: "cannot be created (\(error.localizedDescription))")
        }
    }

    /// The 512 x 512 tiles of a grid, row-major (edge tiles clipped).
    static func tiles(of grid: SceneGrid) -> [RasterWindow] {
        grid.fullWindow.subdivided(blockWidth: tileSize, blockHeight: tileSize)
    }

    /// A one-line description of the spec for file metadata.
    var specSummary: String {
        "seed=\(spec.seed) size=\(spec.width)x\(spec.height) classes=\(spec.classes.count) cloud_cover=\(spec.cloudCover) nodata_border=\(spec.nodataBorder) offset=\(spec.radiometricOffset) noise=\(spec.sensorNoise)"
    }

    func bandMetadata() -> [String: String] {
        [
            "PROCESSING_LEVEL": "Level-2A (synthetic)",
            "BOA_QUANTIFICATION_VALUE": "10000",
            "BOA_ADD_OFFSET": "\(-spec.radiometricOffset)",
            "SPECIAL_VALUE_NODATA": "0",
            "LANDCOVER_SYNTHETIC": "SceneSynthesis \(specSummary)",
            "LANDCOVER_SYNTHETIC_SEED": "\(spec.seed)",
        ]
    }

    func provenance() -> [String: String] {
        ["SYNTHETIC": "SceneSynthesis \(specSummary)", "SYNTHETIC_SEED": "\(spec.seed)"]
    }

    /// Renders `jobs` on worker threads and writes them in order on this thread; returns the
    /// label histogram.
    private func runPipeline(jobs: [TileJob], threads: Int, writers: [RasterWriter], labelWriter: ClassRasterWriter?) throws -> [Int] {
        let queue = TileQueue(jobCount: jobs.count, lookahead: threads + 1)
        let group = DispatchGroup()
        let scene = self
        for _ in 0..<threads {
            DispatchQueue.global(qos: .userInitiated).async(group: group) {
                while let index = queue.take() {
                    queue.deliver(index, scene.render(jobs[index]))
                }
            }
        }
        var counts = [Int](repeating: 0, count: 256)
        do {
            for index in jobs.indices {
                guard let output = queue.wait(for: index) else { break }
                let job = jobs[index]
                let pixels = job.window.pixelCount
                try output.planes.withUnsafeBufferPointer { planes in
                    guard let base = planes.baseAddress else { return }
                    for (slot, target) in job.targets.enumerated() {
                        try writers[target.writer].write(band: target.band, window: job.window, values: base + slot * pixels)
                    }
                }
                if job.labels, let labelWriter {
                    try output.labels.withUnsafeBufferPointer { labels in
                        guard let base = labels.baseAddress else { return }
                        try labelWriter.writer.write(band: 1, window: job.window, values: base)
                    }
                    for value in output.labels { counts[Int(value)] += 1 }
                }
                queue.markWritten()
            }
        } catch {
            queue.cancel()
            group.wait()
            throw error
        }
        group.wait()
        return counts
    }

    fileprivate func render(_ job: TileJob) -> TileOutput {
        let pixels = job.window.pixelCount
        var labels: [UInt8] = []
        let planes = [UInt16](unsafeUninitializedCapacity: pixels * job.bands.count) { buffer, count in
            guard let base = buffer.baseAddress else { count = 0; return }
            if job.factor == 1 {
                labels = [UInt8](unsafeUninitializedCapacity: job.labels ? pixels : 0) { labelBuffer, labelCount in
                    renderFine(window: job.window, bands: job.bands, planes: base, labels: labelBuffer.baseAddress)
                    labelCount = job.labels ? pixels : 0
                }
            } else {
                renderCoarse(window: job.window, factor: job.factor, bands: job.bands, planes: base)
            }
            count = pixels * job.bands.count
        }
        return TileOutput(planes: planes, labels: labels)
    }
}

/// One tile to render and where its bands go.
private struct TileJob: Sendable {
    let window: RasterWindow
    let factor: Int
    /// Band indices (ESA order) rendered, in plane order.
    let bands: [Int]
    /// Per plane: the writer and its 1-based band.
    let targets: [(writer: Int, band: Int)]
    let labels: Bool
}

private struct TileOutput: Sendable {
    let planes: [UInt16]
    let labels: [UInt8]
}

/// Hands out tile indices in increasing order to workers, at most `lookahead` ahead of the
/// writer, and passes rendered tiles to the writer in index order.
private final class TileQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let jobCount: Int
    private let lookahead: Int
    private var next = 0
    private var written = 0
    private var cancelled = false
    private var ready: [Int: TileOutput] = [:]

    init(jobCount: Int, lookahead: Int) {
        self.jobCount = jobCount
        self.lookahead = lookahead
    }

    /// The next tile to render, or nil when all are taken or the run was cancelled.
    func take() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && next < jobCount && next >= written + lookahead {
            condition.wait()
        }
        guard !cancelled, next < jobCount else { return nil }
        next += 1
        return next - 1
    }

    func deliver(_ index: Int, _ output: TileOutput) {
        condition.lock()
        ready[index] = output
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for tile `index`; nil when cancelled.
    func wait(for index: Int) -> TileOutput? {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && ready[index] == nil {
            condition.wait()
        }
        return ready.removeValue(forKey: index)
    }

    func markWritten() {
        condition.lock()
        written += 1
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        ready.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

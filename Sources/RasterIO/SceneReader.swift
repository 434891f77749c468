import CGDAL
import Foundation

/// Reads windows of a ``Scene``'s stacked bands.
///
/// A reader owns its own GDAL dataset handles (and in-memory warped VRTs for bands that are not on
/// the scene grid), so it must be used by one thread at a time: create one reader per worker
/// thread. Bands already on the grid are read directly; the others go through GDAL's warper
/// (`gdalwarp -of VRT -te ... -ts ... -r <method>`), the same machinery `gdalwarp` uses.
public final class SceneReader {
    /// The scene being read.
    public let scene: Scene
    private var direct: [String: RasterDataset] = [:]
    private var warped: [String: RasterDataset] = [:]
    /// Per stacked band: the dataset it is read from, its band index there and the window shift.
    private var plan: [(dataset: RasterDataset, band: Int, columns: Int, rows: Int)] = []

    /// Opens the scene's sources for reading on the calling thread.
    /// - Throws: ``RasterIOError`` naming the source that cannot be opened or warped.
    public init(scene: Scene) throws {
        self.scene = scene
        for band in scene.bands {
            let source = try dataset(path: band.sourcePath)
            if let method = band.resampling {
                let warpedDataset = try warpedDataset(source: source, method: method)
                plan.append((warpedDataset, band.sourceBand, 0, 0))
            } else {
                let offset = scene.grid.integerOffset(of: SceneGrid(source)) ?? (0, 0)
                plan.append((source, band.sourceBand, offset.columns, offset.rows))
            }
        }
    }

    private func dataset(path: String) throws -> RasterDataset {
        if let open = direct[path] { return open }
        let opened = try RasterDataset(path: path)
        direct[path] = opened
        return opened
    }

    private func warpedDataset(source: RasterDataset, method: Resampling) throws -> RasterDataset {
        let key = "\(source.path)|\(method.rawValue)"
        if let open = warped[key] { return open }
        let grid = scene.grid
        let bounds = grid.bounds
        let args = ["-of", "VRT", "-r", method.rawValue,
                    "-te", Self.format(bounds.minX), Self.format(bounds.minY), Self.format(bounds.maxX), Self.format(bounds.maxY),
                    "-ts", String(grid.width), String(grid.height)]
        GDALCall.reset()
        let handle: GDALDatasetH = try GDALCall.withStringList(args) { list in
            guard let options = GDALWarpAppOptionsNew(list, nil) else {
                throw RasterIOError.gdalFailure(operation: "preparing the warp to the scene grid", path: source.path, gdalMessage: GDALCall.lastMessage())
            }
            defer { GDALWarpAppOptionsFree(options) }
            var sources: [GDALDatasetH?] = [source.handle]
            var usageError: Int32 = 0
            let result = GDALWarp("", nil, 1, &sources, options, &usageError)
            return try GDALCall.check(result, "warping onto the scene grid (\(method.rawValue))", path: source.path)
        }
        let opened = try RasterDataset(handle: handle, path: source.path, keepAlive: source)
        warped[key] = opened
        return opened
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.10f", value)
    }

    /// Reads a window of the scene grid for the given stacked bands.
    ///
    /// - Parameters:
    ///   - window: pixels of the scene grid; parts outside the scene come back invalid.
    ///   - bands: 0-based indices into ``Scene/bands`` in output order (default: all, in order).
    /// - Returns: band-sequential Float32 values in the sources' units (raw DN for Sentinel-2) and
    ///   the combined validity of all bands.
    public func read(window: RasterWindow, bands: [Int]? = nil) throws -> BandBuffer {
        let list = bands ?? Array(scene.bands.indices)
        return try BandBuffer.filled(width: window.width, height: window.height, bandCount: list.count) { v, m in
            try read(window: window, bands: list, values: v, validity: m)
        }
    }

    /// Reads into caller-owned memory: `values` holds `bands.count * window.pixelCount` floats
    /// (band-sequential) and `validity` `window.pixelCount` bytes (1 = valid in every band).
    /// Consecutive bands from the same source are read with one GDAL call.
    public func read(window: RasterWindow, bands: [Int], values: UnsafeMutablePointer<Float>,
                     validity: UnsafeMutablePointer<UInt8>) throws {
        try read(window: window, bands: bands, into: values, validity: validity) { dataset, sourceWindow, sourceBands, destination in
            try dataset.read(window: sourceWindow, bands: sourceBands, values: destination, validity: validity, combine: true)
        }
    }

    /// True when the listed stacked bands (0-based indices into ``Scene/bands``) can be read as
    /// UInt16 samples without loss (their sources are Byte or UInt16).
    public func canReadSamples(bands: [Int]) -> Bool {
        bands.allSatisfy { plan.indices.contains($0) && plan[$0].dataset.canReadSamples(bands: [plan[$0].band]) }
    }

    /// Reads a window of Byte or UInt16 bands as raw UInt16 samples (see ``SampleBuffer``).
    /// - Throws: ``RasterIOError`` when a band is of another type (check ``canReadSamples(bands:)``)
    ///   or a source cannot be read.
    public func readSamples(window: RasterWindow, bands: [Int]? = nil) throws -> SampleBuffer {
        let list = bands ?? Array(scene.bands.indices)
        return try SampleBuffer.filled(width: window.width, height: window.height, bandCount: list.count) { v, m in
            try readSamples(window: window, bands: list, samples: v, validity: m)
        }
    }

    /// Reads UInt16 samples into caller-owned memory, with the layout of the Float32 read.
    public func readSamples(window: RasterWindow, bands: [Int], samples: UnsafeMutablePointer<UInt16>,
                            validity: UnsafeMutablePointer<UInt8>) throws {
        try read(window: window, bands: bands, into: samples, validity: validity) { dataset, sourceWindow, sourceBands, destination in
            try dataset.read(window: sourceWindow, bands: sourceBands, samples: destination, validity: validity, combine: true)
        }
    }

    /// Groups consecutive bands of one source into one read each.
    private func read<Sample>(window: RasterWindow, bands: [Int], into values: UnsafeMutablePointer<Sample>,
                              validity: UnsafeMutablePointer<UInt8>,
                              source: (RasterDataset, RasterWindow, [Int], UnsafeMutablePointer<Sample>) throws -> Void) throws {
        let plane = window.pixelCount
        validity.update(repeating: 1, count: plane)
        var start = 0
        while start < bands.count {
            guard plan.indices.contains(bands[start]) else {
                throw RasterIOError.bandNotFound(band: "#\(bands[start])", path: scene.name, available: scene.bandNames)
            }
            let first = plan[bands[start]]
            var end = start + 1
            while end < bands.count, plan.indices.contains(bands[end]) {
                let next = plan[bands[end]]
                guard next.dataset === first.dataset, next.columns == first.columns, next.rows == first.rows else { break }
                end += 1
            }
            let sourceWindow = window.offsetBy(columns: -first.columns, rows: -first.rows)
            try source(first.dataset, sourceWindow, bands[start..<end].map { plan[$0].band }, values + start * plane)
            start = end
        }
    }
}

extension Scene {
    /// The scene with one more band, `name`, taken from band `band` of the raster at `path` and
    /// put on the scene grid with nearest-neighbour resampling (categorical values such as a
    /// cloud mask are never blended): read directly when the raster lies on the grid (whole-pixel
    /// shifts and a different extent included), otherwise through GDAL's warper. The raster may
    /// have any grid in the scene's CRS; pixels it does not cover read as invalid.
    /// - Throws: ``RasterIOError`` when the file cannot be opened, has no such band, has no
    ///   georeferencing, or has another CRS than the scene.
    public func addingBand(named name: String, from path: String, band: Int = 1) throws -> Scene {
        let dataset = try RasterDataset(path: path)
        guard band >= 1, band <= dataset.bands.count else {
            throw RasterIOError.bandNotFound(band: "#\(band)", path: path, available: dataset.bands.map { "#\($0.index)" })
        }
        guard dataset.geoTransform != nil else { throw RasterIOError.missingGeoreferencing(path: path) }
        if let target = grid.spatialReference {
            guard let crs = dataset.spatialReference else { throw RasterIOError.missingGeoreferencing(path: path) }
            guard crs.isSame(as: target) else {
                throw RasterIOError.crsMismatch(path: path, expected: target.description, actual: crs.description)
            }
        }
        let source = SceneGrid(dataset)
        let info = dataset.bands[band - 1]
        var copy = self
        copy.bands.append(StackedBand(name: name, sourcePath: path, sourceBand: band, sourceResolution: source.resolution,
                                      dataType: info.dataType, nodata: info.nodata,
                                      resampling: grid.integerOffset(of: source) != nil ? nil : .nearest))
        return copy
    }
}

import CGDAL
import Foundation

/// Output container formats.
public enum RasterFormat: String, Sendable, Codable, CaseIterable {
    /// Tiled GeoTIFF.
    case gtiff = "GTiff"
    /// Cloud-optimized GeoTIFF (tiled, with overviews; written through GDAL's COG driver).
    case cog = "COG"
}

/// Lossless compression for outputs.
public enum RasterCompression: String, Sendable, Codable, CaseIterable {
    case deflate = "DEFLATE"
    case zstd = "ZSTD"
    case lzw = "LZW"
    case none = "NONE"
}

/// Everything needed to create an output raster.
public struct RasterWriteSpec: Sendable {
    /// Output grid: size, transform and CRS.
    public var grid: SceneGrid
    /// Number of bands.
    public var bandCount: Int
    /// Pixel type of every band.
    public var dataType: RasterDataType
    /// Nodata value for all bands (GeoTIFF stores one per dataset).
    public var nodata: Double?
    /// Band descriptions (names), one per band or empty.
    public var bandDescriptions: [String]
    /// GTiff or COG.
    public var format: RasterFormat
    /// Compression.
    public var compression: RasterCompression
    /// Resampling for COG overviews (`mode` for classes; `average` for continuous data).
    public var overviewResampling: Resampling
    /// Dataset metadata items (provenance and the like).
    public var metadata: [String: String]
    /// GDAL creation options over landcover's own for the final file's driver (GTiff, or COG
    /// for the copy), by upper-case key; checked by ``RasterCreationOptions/problem(_:format:)``.
    public var creationOptions: [String: String] = [:]

    public init(grid: SceneGrid, bandCount: Int, dataType: RasterDataType, nodata: Double? = nil,
                bandDescriptions: [String] = [], format: RasterFormat = .gtiff,
                compression: RasterCompression = .deflate, overviewResampling: Resampling = .average,
                metadata: [String: String] = [:]) {
        self.grid = grid
        self.bandCount = bandCount
        self.dataType = dataType
        self.nodata = nodata
        self.bandDescriptions = bandDescriptions
        self.format = format
        self.compression = compression
        self.overviewResampling = overviewResampling
        self.metadata = metadata
    }
}

/// Writes a raster window by window to a temporary file in the output folder and moves it to its
/// final name only in ``commit()``; a writer released without `commit()` removes its temporary
/// files, so an interrupted or failed write never leaves a partial file under the final name.
///
/// Not thread-safe: one owner per output (send windows to it from one writer thread).
public final class RasterWriter {
    /// The final path.
    public let path: String
    /// The temporary path being written.
    public let temporaryPath: String
    public let spec: RasterWriteSpec
    private var handle: GDALDatasetH?
    private var committed = false

    /// Prefix of temporary files (`.<name>.landcover-tmp-<pid>-<n>.tif`), for stale-file clean-up.
    public static let temporaryMarker = ".landcover-tmp-"

    /// Creates the temporary output.
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` when the folder is missing or not writable.
    public init(path: String, spec: RasterWriteSpec) throws {
        GDALEnvironment.ensureInitialized()
        guard spec.bandCount > 0, spec.grid.width > 0, spec.grid.height > 0 else {
            throw RasterIOError.invalidArgument("\(path): cannot write a raster of \(spec.grid.width)x\(spec.grid.height) with \(spec.bandCount) bands")
        }
        self.path = path
        self.spec = spec
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RasterIOError.writeFailed(path: path, reason: "output folder \(folder.path) does not exist")
        }
        let unique = "\(ProcessInfo.processInfo.processIdentifier)-\(Self.nextSerial())"
        self.temporaryPath = folder.appendingPathComponent(".\(url.lastPathComponent)\(Self.temporaryMarker)\(unique).tif").path
        guard let driver = GDALGetDriverByName("GTiff") else {
            throw RasterIOError.writeFailed(path: path, reason: "GDAL has no GTiff driver")
        }
        let block = Self.blockSize
        var options = ["TILED=YES", "BLOCKXSIZE=\(block)", "BLOCKYSIZE=\(block)", "BIGTIFF=IF_NEEDED",
                       "COMPRESS=\(spec.compression.rawValue)"]
        if spec.compression == .deflate || spec.compression == .zstd || spec.compression == .lzw {
            options.append(spec.dataType == .float32 || spec.dataType == .float64 ? "PREDICTOR=3" : "PREDICTOR=2")
        }
        if spec.bandCount > 1 { options.append("INTERLEAVE=BAND") }
        if spec.format == .cog {
            options = ["TILED=YES", "BIGTIFF=IF_NEEDED", "COMPRESS=ZSTD", "ZSTD_LEVEL=1"]
        } else {
            options = RasterCreationOptions.merged(options, spec.creationOptions)
        }
        GDALCall.reset()
        let created = GDALCall.withStringList(options) { list in
            GDALCreate(driver, temporaryPath, Int32(spec.grid.width), Int32(spec.grid.height),
                       Int32(spec.bandCount), spec.dataType.gdalType, list)
        }
        guard let created else {
            throw RasterIOError.writeFailed(path: path, reason: "cannot create \(temporaryPath) (GDAL: \(GDALCall.lastMessage()))")
        }
        self.handle = created
        do {
            try configure(created)
        } catch {
            abort()
            throw error
        }
    }

    private static let serialLock = NSLock()
    nonisolated(unsafe) private static var serial = 0
    private static func nextSerial() -> Int {
        serialLock.lock()
        defer { serialLock.unlock() }
        serial += 1
        return serial
    }

    private func configure(_ dataset: GDALDatasetH) throws {
        var coefficients = spec.grid.geoTransform.coefficients
        try GDALCall.check(GDALSetGeoTransform(dataset, &coefficients), "setting the geotransform", path: path)
        if let crs = spec.grid.spatialReference {
            try GDALCall.check(GDALSetProjection(dataset, crs.wkt), "setting the CRS", path: path)
        }
        for (key, value) in spec.metadata.sorted(by: { $0.key < $1.key }) {
            try GDALCall.check(GDALSetMetadataItem(dataset, key, value, nil), "setting metadata \(key)", path: path)
        }
        for index in 1...spec.bandCount {
            guard let band = GDALGetRasterBand(dataset, Int32(index)) else { continue }
            if let nodata = spec.nodata {
                try GDALCall.check(GDALSetRasterNoDataValue(band, nodata), "setting nodata", path: path)
            }
            if index <= spec.bandDescriptions.count {
                if let failure = GDALCall.reportedFailure({ GDALSetDescription(band, spec.bandDescriptions[index - 1]) }) {
                    throw RasterIOError.gdalFailure(operation: "setting the description of band \(index)", path: path, gdalMessage: failure.message)
                }
            }
        }
    }

    /// The open GDAL handle of the temporary file, for format-specific additions (colour tables).
    func withBand<R>(_ index: Int, _ body: (GDALRasterBandH) throws -> R) throws -> R {
        guard let handle, let band = GDALGetRasterBand(handle, Int32(index)) else {
            throw RasterIOError.writeFailed(path: path, reason: "band \(index) is not open for writing")
        }
        return try body(band)
    }

    /// Writes a window of one band.
    ///
    /// - Parameters:
    ///   - band: 1-based band index.
    ///   - window: pixels of the output grid (must lie inside it).
    ///   - values: `window.pixelCount` values, row-major; converted to the band's type by GDAL
    ///     (rounded and clamped to its range).
    public func write<T: RasterScalar>(band: Int, window: RasterWindow, values: UnsafePointer<T>) throws {
        guard let handle else { throw RasterIOError.writeFailed(path: path, reason: "already closed") }
        guard RasterWindow(width: spec.grid.width, height: spec.grid.height).contains(window), !window.isEmpty else {
            throw RasterIOError.invalidArgument("\(path): \(window) lies outside the \(spec.grid.width)x\(spec.grid.height) output")
        }
        guard let gdalBand = GDALGetRasterBand(handle, Int32(band)) else {
            throw RasterIOError.writeFailed(path: path, reason: "no band \(band)")
        }
        GDALCall.reset()
        errno = 0
        let result = GDALRasterIO(gdalBand, GF_Write, Int32(window.column), Int32(window.row), Int32(window.width),
                                  Int32(window.height), UnsafeMutableRawPointer(mutating: values),
                                  Int32(window.width), Int32(window.height), T.rasterDataType.gdalType, 0, 0)
        let code = errno
        if result.rawValue > CE_Warning.rawValue {
            // GDAL writes blocks evicted from its cache here: a full disk shows up now.
            throw FileCommit.failure(path: path, reason: "writing \(window) of band \(band): \(GDALCall.lastMessage())", errno: code)
        }
    }

    /// Convenience for arrays: see ``write(band:window:values:)``.
    public func write<T: RasterScalar>(band: Int, window: RasterWindow, values: [T]) throws {
        guard values.count == window.pixelCount else {
            throw RasterIOError.invalidArgument("\(path): \(values.count) values for a \(window)")
        }
        try values.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try write(band: band, window: window, values: base)
        }
    }

    /// Writes the blocks written so far to the file and drops them from GDAL's block cache. Call
    /// it when whole rows of blocks are complete: a compressed block written again later takes
    /// new space in the file.
    public func flush() throws {
        guard let handle, !committed else { throw RasterIOError.writeFailed(path: path, reason: "already closed") }
        if let failure = GDALCall.reportedFailure({ GDALFlushCache(handle) }) {
            throw FileCommit.failure(path: path, reason: "writing cached blocks: \(failure.message)", errno: failure.errno)
        }
    }

    /// Tile edge of GeoTIFF outputs, in pixels.
    public static let blockSize = 512

    /// Finishes the file (flush; for COG: convert with overviews), checks it and renames it to the
    /// final path, along with its `.aux.xml` sidecar when GDAL wrote one. The final path appears
    /// only complete, and only once the data is on disk (``FileCommit``):
    ///
    /// 1. every GDAL step (flush, COG conversion, close) is checked through GDAL's error state;
    /// 2. before the rename, the temporary file opens with GDAL, has the spec's size and bands,
    ///    and every block of every band lies inside the file (a truncated file fails here), and the
    ///    sidecar, when there is one (or ``requiresSidecar``), is complete XML;
    /// 3. after the rename, the file under the final name has the size the writer produced and
    ///    GDAL reads every block of every band back; a file failing this is removed.
    ///
    /// On any failure the temporary files are removed, nothing new is left under the final name,
    /// and the error names the final path (``RasterIOError/noSpace(path:folder:)`` for a full disk).
    /// - Returns: the committed files (raster, then sidecar) with their sizes in bytes.
    @discardableResult
    public func commit() throws -> [CommittedFile] {
        guard let handle, !committed else { throw RasterIOError.writeFailed(path: path, reason: "already closed") }
        var finished = temporaryPath
        let files: [CommittedFile]
        do {
            if let failure = GDALCall.reportedFailure({ GDALFlushCache(handle) }) {
                throw FileCommit.failure(path: path, reason: "writing cached blocks: \(failure.message)", errno: failure.errno)
            }
            if spec.format == .cog {
                let cogPath = temporaryPath.replacingOccurrences(of: ".tif", with: ".cog.tif")
                guard let cogDriver = GDALGetDriverByName("COG") else {
                    throw RasterIOError.writeFailed(path: path, reason: "GDAL has no COG driver")
                }
                let options = RasterCreationOptions.merged(["COMPRESS=\(spec.compression == .none ? "NONE" : spec.compression.rawValue)",
                               "OVERVIEW_RESAMPLING=\(spec.overviewResampling == .nearest ? "NEAREST" : spec.overviewResampling.rawValue.uppercased())",
                               "BIGTIFF=IF_NEEDED", "BLOCKSIZE=512", "NUM_THREADS=1"], spec.creationOptions)
                GDALCall.reset()
                errno = 0
                let copy = GDALCall.withStringList(options) { list in
                    GDALCreateCopy(cogDriver, cogPath, handle, 0, list, nil, nil)
                }
                let code = errno
                guard let copy else {
                    throw FileCommit.failure(path: path, reason: "COG conversion failed (GDAL: \(GDALCall.lastMessage()))", errno: code)
                }
                finished = cogPath
                if let failure = GDALCall.reportedFailure({ GDALClose(copy) }) {
                    throw FileCommit.failure(path: path, reason: "finishing the COG: \(failure.message)", errno: failure.errno)
                }
            }
            self.handle = nil
            if let failure = GDALCall.reportedFailure({ GDALClose(handle) }) {
                throw FileCommit.failure(path: path, reason: "finishing the file: \(failure.message)", errno: failure.errno)
            }
            if spec.format == .cog {
                Self.removeWithSidecars(temporaryPath)
            }
            files = try place(finished)
        } catch let error as RasterIOError {
            abort()
            throw error
        }
        committed = true
        return files
    }

    /// When true, the finished file must come with a GDAL `.aux.xml` sidecar (class maps: GeoTIFF
    /// keeps category names only there); its absence fails the commit.
    public var requiresSidecar = false

    /// Checks `finished` and its sidecar, moves both into place and checks the result.
    private func place(_ finished: String) throws -> [CommittedFile] {
        let sidecar = finished + ".aux.xml"
        let produced = try RasterCheck.verify(finished, reportingAs: path, spec: spec, readEveryBlock: false)
        var sidecarBytes: UInt64?
        if FileManager.default.fileExists(atPath: sidecar) {
            sidecarBytes = try RasterCheck.verifySidecar(sidecar, reportingAs: path + ".aux.xml")
        } else if requiresSidecar {
            throw FileCommit.failure(path: path + ".aux.xml", reason: "GDAL did not write the sidecar with the class names", errno: 0)
        }
        if sidecarBytes != nil {
            try FileCommit.moveIntoPlace(sidecar, to: path + ".aux.xml")
        } else if FileManager.default.fileExists(atPath: path + ".aux.xml") {
            do {
                try FileManager.default.removeItem(atPath: path + ".aux.xml")
            } catch {
                throw RasterIOError.writeFailed(path: path + ".aux.xml", reason: "cannot remove the sidecar of the previous file: \(error.localizedDescription)")
            }
        }
        try FileCommit.moveIntoPlace(finished, to: path)
        do {
            let onDisk = try RasterCheck.verify(path, reportingAs: path, spec: spec, readEveryBlock: true)
            guard onDisk == produced else {
                throw RasterIOError.writeFailed(path: path, reason: "the file on disk has \(onDisk) bytes, the writer produced \(produced)")
            }
            if let sidecarBytes {
                let onDiskSidecar = try RasterCheck.verifySidecar(path + ".aux.xml", reportingAs: path + ".aux.xml")
                guard onDiskSidecar == sidecarBytes else {
                    throw RasterIOError.writeFailed(path: path + ".aux.xml", reason: "the file on disk has \(onDiskSidecar) bytes, the writer produced \(sidecarBytes)")
                }
            }
        } catch {
            // A file that does not read back must not stay under the final name.
            Self.removeWithSidecars(path)
            throw error
        }
        var files = [CommittedFile(path: path, bytes: produced)]
        if let sidecarBytes { files.append(CommittedFile(path: path + ".aux.xml", bytes: sidecarBytes)) }
        return files
    }

    /// Closes and deletes the temporary output without touching the final path.
    public func abort() {
        if let handle {
            GDALClose(handle)
            self.handle = nil
        }
        if !committed {
            Self.removeWithSidecars(temporaryPath)
            Self.removeWithSidecars(temporaryPath.replacingOccurrences(of: ".tif", with: ".cog.tif"))
        }
    }

    deinit {
        abort()
    }

    static func removeWithSidecars(_ path: String) {
        for candidate in [path, path + ".aux.xml", path + ".ovr", path + ".msk"] {
            try? FileManager.default.removeItem(atPath: candidate)
        }
    }

    /// Removes temporary files that interrupted runs left in `folder` (names carrying
    /// ``temporaryMarker``); returns the removed paths.
    @discardableResult
    public static func removeStaleTemporaryFiles(in folder: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed: [String] = []
        for entry in entries where entry.hasPrefix(".") && entry.contains(temporaryMarker) {
            let full = (folder as NSString).appendingPathComponent(entry)
            if (try? FileManager.default.removeItem(atPath: full)) != nil { removed.append(full) }
        }
        return removed
    }
}

/// Swift scalar types that can be written to rasters.
public protocol RasterScalar {
    static var rasterDataType: RasterDataType { get }
}
extension UInt8: RasterScalar { public static var rasterDataType: RasterDataType { .byte } }
extension UInt16: RasterScalar { public static var rasterDataType: RasterDataType { .uint16 } }
extension Int16: RasterScalar { public static var rasterDataType: RasterDataType { .int16 } }
extension UInt32: RasterScalar { public static var rasterDataType: RasterDataType { .uint32 } }
extension Int32: RasterScalar { public static var rasterDataType: RasterDataType { .int32 } }
extension Float: RasterScalar { public static var rasterDataType: RasterDataType { .float32 } }
extension Double: RasterScalar { public static var rasterDataType: RasterDataType { .float64 } }

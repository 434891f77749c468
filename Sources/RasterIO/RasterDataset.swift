import CGDAL
import Foundation

/// Facts about one band of a raster.
public struct BandInfo: Equatable, Sendable, Codable {
    /// 1-based band index in its file (GDAL convention).
    public var index: Int
    /// Pixel type.
    public var dataType: RasterDataType
    /// The band's nodata value, if the file declares one.
    public var nodata: Double?
    /// The band description stored in the file (may be empty).
    public var description: String
    /// The canonical band name (e.g. `B04`) from the description, GDAL's `BANDNAME` metadata or,
    /// for single-band files, the file name; nil when none can be told.
    public var name: String?
    /// Natural block size in pixels (width, height).
    public var blockWidth: Int
    public var blockHeight: Int
    /// Category names of a thematic band (index = pixel value), empty for continuous bands.
    public var categoryNames: [String]
    /// True when the band carries a colour table.
    public var hasColorTable: Bool
}

/// A read-only GDAL raster dataset.
///
/// A `RasterDataset` wraps one GDAL dataset handle and is **not** thread-safe: GDAL 3.6 forbids
/// concurrent use of one handle, so open one `RasterDataset` per thread (opening is cheap).
/// The handle closes when the object is released.
public final class RasterDataset {
    /// The path the dataset was opened from (GDAL connection strings such as subdatasets included).
    public let path: String
    let handle: GDALDatasetH
    /// A dataset this one reads from (the source of a warped VRT), kept open as long as this one.
    private let keepAlive: RasterDataset?

    /// Width in pixels.
    public let width: Int
    /// Height in pixels (lines).
    public let height: Int
    /// The bands, in file order (`bands[0]` is GDAL band 1).
    public let bands: [BandInfo]
    /// The affine pixel-to-map transform; nil when the file has none.
    public let geoTransform: GeoTransform?
    /// The coordinate reference system; nil when the file has none.
    public let spatialReference: SpatialReference?
    /// GDAL's short driver name (e.g. `GTiff`, `JP2OpenJPEG`, `VRT`).
    public let driverName: String
    /// The reader that decodes this file's tiles without GDAL, set up at the first read.
    var directTiles: DirectTiles = .unknown

    enum DirectTiles {
        case unknown, unavailable
        case available(DirectTileReader)
    }

    /// Opens a raster read-only.
    ///
    /// - Parameters:
    ///   - path: a file path or any GDAL connection string (`/vsizip/...`, `SENTINEL2_L1C:...`).
    ///   - bandNames: optional canonical names for the bands in file order (for files such as EuroSAT
    ///     GeoTIFFs that carry none); must have one entry per band.
    /// - Throws: ``RasterIOError/fileNotFound(path:)``, ``RasterIOError/notARaster(path:gdalMessage:)`` or, for a
    ///   network path whose server fails, ``RasterIOError/remoteUnavailable(url:status:detail:)``.
    public convenience init(path: String, bandNames: [String]? = nil) throws {
        GDALEnvironment.ensureInitialized()
        let isConnectionString = path.hasPrefix("/vsi") || path.contains(":") && !FileManager.default.fileExists(atPath: path)
        if !isConnectionString && !FileManager.default.fileExists(atPath: path) {
            throw RasterIOError.fileNotFound(path: path)
        }
        if !isConnectionString, let kind = FileKind.nonRegular(path) {
            throw RasterIOError.invalidArgument("\(path): is \(kind), not a raster file or folder; give a file, a folder or a GDAL /vsi path")
        }
        GDALCall.reset()
        guard let handle = GDALOpenEx(path, UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR), nil, nil, nil) else {
            let message = GDALCall.lastMessage()
            // A server that answers with an error (or not at all) is named with its HTTP status.
            throw RasterIOError.remote(path: path, gdalMessage: message) ?? RasterIOError.notARaster(path: path, gdalMessage: message)
        }
        try self.init(handle: handle, path: path, bandNames: bandNames)
    }

    /// Wraps an open GDAL handle, taking ownership of it (it is closed on error and in deinit).
    init(handle: GDALDatasetH, path: String, bandNames: [String]? = nil, keepAlive: RasterDataset? = nil) throws {
        self.keepAlive = keepAlive
        self.path = path
        self.handle = handle
        self.width = Int(GDALGetRasterXSize(handle))
        self.height = Int(GDALGetRasterYSize(handle))
        self.driverName = GDALGetDatasetDriver(handle).flatMap { GDALGetDriverShortName($0) }.map { String(cString: $0) } ?? ""

        var coefficients = [Double](repeating: 0, count: 6)
        if GDALGetGeoTransform(handle, &coefficients) == CE_None {
            self.geoTransform = GeoTransform(coefficients: coefficients)
        } else {
            self.geoTransform = nil
        }
        if let srs = GDALGetSpatialRef(handle) {
            self.spatialReference = SpatialReference(handle: srs)
        } else {
            self.spatialReference = nil
        }

        let count = Int(GDALGetRasterCount(handle))
        if let bandNames, bandNames.count != count {
            GDALClose(handle)
            throw RasterIOError.invalidArgument("\(path): \(bandNames.count) band names given for \(count) bands; give one name per band in file order")
        }
        let fileBandName = count == 1 ? SentinelBand.nameInFileName(path) : nil
        var infos: [BandInfo] = []
        for index in 1...max(count, 1) where count > 0 {
            guard let band = GDALGetRasterBand(handle, Int32(index)) else { continue }
            let gdalType = GDALGetRasterDataType(band)
            guard let dataType = RasterDataType(gdal: gdalType) else {
                let name = GDALGetDataTypeName(gdalType).map { String(cString: $0) } ?? "unknown"
                GDALClose(handle)
                throw RasterIOError.unsupportedDataType(path: path, typeName: name)
            }
            var hasNodata: Int32 = 0
            let nodataValue = GDALGetRasterNoDataValue(band, &hasNodata)
            let description = GDALGetDescription(band).map { String(cString: $0) } ?? ""
            let metadataName = GDALGetMetadataItem(band, "BANDNAME", nil).map { String(cString: $0) }
            var name: String?
            if let bandNames {
                name = SentinelBand.canonicalName(bandNames[index - 1])
            } else if let n = SentinelBand.sentinelName(description) {
                name = n
            } else if let metadataName {
                name = SentinelBand.canonicalName(metadataName)
            } else if let fileBandName {
                name = fileBandName
            } else if !description.isEmpty {
                name = description
            }
            var blockWidth: Int32 = 0, blockHeight: Int32 = 0
            GDALGetBlockSize(band, &blockWidth, &blockHeight)
            let categories = GDALCall.strings(from: GDALGetRasterCategoryNames(band))
            infos.append(BandInfo(index: index, dataType: dataType, nodata: hasNodata != 0 ? nodataValue : nil,
                                  description: description, name: name, blockWidth: Int(blockWidth),
                                  blockHeight: Int(blockHeight), categoryNames: categories,
                                  hasColorTable: GDALGetRasterColorTable(band) != nil))
        }
        self.bands = infos
        if keepAlive == nil { try checkTIFFTables() }
    }

    deinit {
        GDALClose(handle)
    }

    /// Diagnostic: true when window reads of this dataset decode its tiles directly (a plain tiled
    /// GeoTIFF, DEFLATE or uncompressed, 8- or 16-bit unsigned; see the README) instead of going
    /// through GDAL. Values are identical either way; `LANDCOVER_GDAL_READS=1` in the environment
    /// turns the direct path off for the whole process.
    public var readsTilesDirectly: Bool {
        directTileReader() != nil
    }

    /// Diagnostic: the number of tiles this dataset has decoded directly so far (0 when every read
    /// went through GDAL); for tests and benchmarks.
    public var directTileReads: Int {
        if case .available(let reader) = directTiles { return reader.tilesDecoded }
        return 0
    }

    /// The direct tile reader, set up on first use; nil when the file needs GDAL.
    func directTileReader() -> DirectTileReader? {
        switch directTiles {
        case .available(let reader): return reader
        case .unavailable: return nil
        case .unknown:
            if keepAlive == nil, let reader = DirectTileReader.make(for: self) {
                directTiles = .available(reader)
                return reader
            }
            directTiles = .unavailable
            return nil
        }
    }

    /// The whole raster as a window.
    public var fullWindow: RasterWindow { RasterWindow(width: width, height: height) }

    /// Map bounds of the raster; nil without a geotransform.
    public var bounds: MapBounds? {
        geoTransform.map { MapBounds(transform: $0, width: width, height: height) }
    }

    /// Canonical band names in file order (nil entries for bands without a name).
    public var bandNames: [String?] { bands.map(\.name) }

    /// The 1-based index of the band called `name` (canonical comparison).
    /// - Throws: ``RasterIOError/bandNotFound(band:path:available:)``.
    public func bandIndex(named name: String) throws -> Int {
        let wanted = SentinelBand.canonicalName(name)
        if let band = bands.first(where: { $0.name == wanted }) { return band.index }
        throw RasterIOError.bandNotFound(band: wanted, path: path, available: bands.compactMap(\.name))
    }

    /// Dataset-level metadata in `domain` (nil = default domain) as key/value pairs.
    public func metadata(domain: String? = nil) -> [String: String] {
        Self.parseMetadata(GDALCall.strings(from: GDALGetMetadata(handle, domain)))
    }

    /// Metadata of band `index` (1-based) in `domain`.
    public func bandMetadata(_ index: Int, domain: String? = nil) -> [String: String] {
        guard let band = GDALGetRasterBand(handle, Int32(index)) else { return [:] }
        return Self.parseMetadata(GDALCall.strings(from: GDALGetMetadata(band, domain)))
    }

    /// Subdataset connection strings (e.g. the 10m/20m/60m parts of a Sentinel-2 SAFE product),
    /// with their descriptions, in GDAL's order.
    public var subdatasets: [(name: String, description: String)] {
        let items = metadata(domain: "SUBDATASETS")
        var result: [(String, String)] = []
        var i = 1
        while let name = items["SUBDATASET_\(i)_NAME"] {
            result.append((name, items["SUBDATASET_\(i)_DESC"] ?? ""))
            i += 1
        }
        return result
    }

    static func parseMetadata(_ lines: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for line in lines {
            guard let eq = line.firstIndex(of: "=") else { continue }
            result[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return result
    }
}

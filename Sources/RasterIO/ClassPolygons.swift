import CGDAL
import Foundation

/// Vector formats a class map can be polygonized into.
public enum PolygonFormat: String, CaseIterable, Sendable, Codable {
    /// GeoPackage (`.gpkg`), layer `landcover`: the format for large maps.
    case gpkg
    /// GeoJSON (`.geojson`): one file of features, handy for small maps and the web.
    case geojson

    /// File extension, without the dot.
    public var fileExtension: String { rawValue }

    var driverName: String { self == .gpkg ? "GPKG" : "GeoJSON" }
}

/// Polygons of a finished class map: every connected region of one class becomes one polygon
/// feature with the attributes `class` (the class index, as in the map) and `name` (the class name
/// from the legend). GeoPackages are in the map's CRS and coordinates and carry the class style
/// in their `layer_styles` table (``ClassStyle``), which QGIS applies when the layer is opened.
/// GeoJSON follows RFC 7946 by default: WGS 84 longitude/latitude, no `crs` member,
/// counter-clockwise outer rings; with `geographic: false` it is in the map's CRS with a legacy
/// `crs` member. The layer is named ``layerName`` in both formats. Nodata pixels belong to no
/// polygon.
///
/// Connectivity is 4 (edge neighbours) unless `eightConnected`. GDAL's polygonizer
/// (`GDALPolygonize`) works a row at a time, so memory follows the map width and the number of
/// polygons still open, not the map size. The file is built under a hidden temporary name in
/// the output's folder and moved into place only when complete (``FileCommit``).
public enum ClassPolygons {
    /// The layer name (GeoPackage table; GeoJSON `name` member).
    public static let layerName = "landcover"
    /// The geometry column of the GeoPackage layer.
    public static let geometryColumn = "geom"

    /// Polygonizes band 1 of the class map at `mapPath` into `outputPath`.
    /// - Parameters:
    ///   - mapPath: a class map written by ``ClassRasterWriter`` (or any single-band integer
    ///     raster whose nodata marks pixels to leave out).
    ///   - legend: class names for the `name` attribute; values without a name get an empty one.
    ///   - outputPath: the vector file to write; an existing file is replaced.
    ///   - format: GeoPackage or GeoJSON.
    ///   - eightConnected: join pixels that touch only at a corner.
    ///   - geographic: GeoJSON only: WGS 84 lon/lat per RFC 7946 (true) or the map's CRS (false).
    /// - Returns: the number of polygons written.
    /// - Throws: ``RasterIOError`` naming the map or the output when GDAL fails.
    @discardableResult
    public static func write(mapPath: String, legend: ClassLegend, to outputPath: String, format: PolygonFormat,
                             eightConnected: Bool = false, geographic: Bool = true) throws -> Int {
        GDALEnvironment.ensureInitialized()
        let url = URL(fileURLWithPath: outputPath)
        let unique = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let folder = url.deletingLastPathComponent()
        // Stage 1: polygons with their class in a temporary GeoPackage (GDALPolygonize writes
        // features as rows complete). Stage 2: the final file with the class names joined in.
        let stage = folder.appendingPathComponent(".\(url.lastPathComponent)\(RasterWriter.temporaryMarker)\(unique).stage.gpkg").path
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent)\(RasterWriter.temporaryMarker)\(unique).\(format.fileExtension)").path
        defer {
            removeVector(stage)
            removeVector(temporary)
        }
        let count = try polygonize(mapPath: mapPath, into: stage, eightConnected: eightConnected,
                                   needsCRS: format == .geojson && geographic, reportingAs: outputPath)
        try translate(stage, to: temporary, format: format, legend: legend, geographic: geographic, reportingAs: outputPath)
        if format == .gpkg {
            try ClassStyle.addLayerStyle(toGeoPackage: temporary, layerName: layerName, geometryColumn: geometryColumn, legend: legend)
        }
        try FileCommit.moveIntoPlace(temporary, to: outputPath)
        return count
    }

    /// Writes the class polygons of `mapPath` into a new GeoPackage at `stagePath`.
    /// - Throws: ``RasterIOError/invalidArgument(_:)`` naming `outputPath` when `needsCRS`
    ///   (RFC 7946 GeoJSON) and the map has no CRS to reproject from.
    private static func polygonize(mapPath: String, into stagePath: String, eightConnected: Bool, needsCRS: Bool,
                                   reportingAs outputPath: String) throws -> Int {
        GDALCall.reset()
        let map = try GDALCall.check(GDALOpenEx(mapPath, UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR), nil, nil, nil),
                                     "opening the class map to polygonize it", path: mapPath)
        defer { GDALClose(map) }
        let band = try GDALCall.check(GDALGetRasterBand(map, 1), "reading band 1 of the class map", path: mapPath)
        // The mask band follows the band's nodata: nodata pixels join no polygon.
        let mask = GDALGetMaskBand(band)
        let driver = try GDALCall.check(GDALGetDriverByName("GPKG"), "finding GDAL's GPKG driver", path: stagePath)
        let vector = try GDALCall.check(GDALCreate(driver, stagePath, 0, 0, 0, GDT_Unknown, nil),
                                        "creating the polygon file", path: stagePath)
        defer { GDALClose(vector) }
        var srs: OGRSpatialReferenceH?
        if let wkt = GDALGetProjectionRef(map), wkt.pointee != 0 {
            srs = OSRNewSpatialReference(wkt)
        }
        defer { if let srs { OSRDestroySpatialReference(srs) } }
        if needsCRS && srs == nil {
            throw RasterIOError.invalidArgument("\(outputPath): the map \(mapPath) has no CRS, so its polygons cannot be written in WGS 84 longitude/latitude (RFC 7946); set output.geojson_crs: native")
        }
        if let srs { OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER) }
        let layer = try GDALCall.check(GDALDatasetCreateLayer(vector, layerName, srs, wkbPolygon, nil),
                                       "creating the polygon layer", path: stagePath)
        let field = OGR_Fld_Create("class", OFTInteger)
        defer { OGR_Fld_Destroy(field) }
        guard OGR_L_CreateField(layer, field, 1) == OGRERR_NONE else {
            throw RasterIOError.gdalFailure(operation: "adding the class field", path: stagePath, gdalMessage: GDALCall.lastMessage())
        }
        // One transaction: GeoPackage inserts are slow one commit at a time.
        GDALDatasetStartTransaction(vector, 0)
        let options = eightConnected ? ["8CONNECTED=8"] : []
        let result = GDALCall.withStringList(options) { list in
            GDALPolygonize(band, mask, layer, 0, list, nil, nil)
        }
        try GDALCall.check(result, "polygonizing the class map", path: mapPath)
        guard GDALDatasetCommitTransaction(vector) == OGRERR_NONE else {
            throw RasterIOError.gdalFailure(operation: "writing the polygons", path: stagePath, gdalMessage: GDALCall.lastMessage())
        }
        return Int(OGR_L_GetFeatureCount(layer, 1))
    }

    /// Copies the staged polygons into `format` at `temporary`, adding each class's name.
    private static func translate(_ stage: String, to temporary: String, format: PolygonFormat, legend: ClassLegend,
                                  geographic: Bool, reportingAs outputPath: String) throws {
        GDALCall.reset()
        let source = try GDALCall.check(GDALOpenEx(stage, UInt32(GDAL_OF_VECTOR | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR), nil, nil, nil),
                                        "reopening the staged polygons", path: stage)
        defer { GDALClose(source) }
        let cases = legend.names.enumerated().map { index, name in
            "WHEN \(index) THEN '\(name.replacingOccurrences(of: "'", with: "''"))'"
        }.joined(separator: " ")
        let name = cases.isEmpty ? "''" : "CASE class \(cases) ELSE '' END"
        let sql = "SELECT class, \(name) AS name, geom FROM \(layerName)"
        var arguments = ["-f", format.driverName, "-dialect", "SQLITE", "-sql", sql, "-nln", layerName]
        if format == .gpkg { arguments += ["-gt", "65536", "-lco", "GEOMETRY_NAME=\(geometryColumn)"] }
        if format == .geojson {
            arguments += geographic ? ["-t_srs", "EPSG:4326", "-lco", "RFC7946=YES"] : ["-lco", "RFC7946=NO"]
        }
        let options = try GDALCall.withStringList(arguments) { list in
            try GDALCall.check(GDALVectorTranslateOptionsNew(list, nil), "preparing the polygon copy", path: outputPath)
        }
        defer { GDALVectorTranslateOptionsFree(options) }
        var sources: [GDALDatasetH?] = [source]
        var failed: Int32 = 0
        let written = sources.withUnsafeMutableBufferPointer { buffer in
            GDALVectorTranslate(temporary, nil, 1, buffer.baseAddress, options, &failed)
        }
        let code = errno
        guard let written, failed == 0 else {
            throw FileCommit.failure(path: outputPath, reason: "writing the polygons failed (GDAL: \(GDALCall.lastMessage()))", errno: code)
        }
        // Closing writes what GDAL still holds (for GeoPackage: the last transaction).
        if let failure = GDALCall.reportedFailure({ GDALClose(written) }) {
            throw FileCommit.failure(path: outputPath, reason: "finishing the polygon file: \(failure.message)", errno: failure.errno)
        }
    }

    /// Deletes a temporary vector file and the journal files SQLite may leave beside it.
    private static func removeVector(_ path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}

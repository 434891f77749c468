import CGDAL

/// A coordinate reference system, kept as WKT (the form GDAL stores in files), with the EPSG code
/// when GDAL can identify one.
public struct SpatialReference: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// OGC WKT (WKT1 as GDAL writes it to GeoTIFF, or whatever the file carried).
    public var wkt: String
    /// EPSG code of the CRS, when known (e.g. 32633 for WGS 84 / UTM zone 33N).
    public var epsg: Int?
    /// The CRS's own name (e.g. "WGS 84 / UTM zone 33N").
    public var name: String

    /// Parses a CRS from WKT, `EPSG:nnnn`, PROJ strings or anything `OSRSetFromUserInput` accepts.
    public init(_ definition: String) throws {
        GDALEnvironment.ensureInitialized()
        guard let srs = OSRNewSpatialReference(nil) else {
            throw RasterIOError.invalidArgument("could not allocate a spatial reference")
        }
        defer { OSRDestroySpatialReference(srs) }
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER)
        GDALCall.reset()
        guard OSRSetFromUserInput(srs, definition) == OGRERR_NONE else {
            throw RasterIOError.invalidArgument("CRS '\(definition.prefix(80))' is not understood (\(GDALCall.lastMessage())); give it as EPSG:nnnn or WKT")
        }
        self = Self.describe(srs, fallbackWKT: definition)
    }

    init(handle: OGRSpatialReferenceH) {
        self = Self.describe(handle, fallbackWKT: "")
    }

    private init(wkt: String, epsg: Int?, name: String) {
        self.wkt = wkt
        self.epsg = epsg
        self.name = name
    }

    private static func describe(_ srs: OGRSpatialReferenceH, fallbackWKT: String) -> SpatialReference {
        var wktPointer: UnsafeMutablePointer<CChar>? = nil
        var wkt = fallbackWKT
        if OSRExportToWkt(srs, &wktPointer) == OGRERR_NONE, let wktPointer {
            wkt = String(cString: wktPointer)
        }
        VSIFree(wktPointer)
        var epsg: Int? = nil
        let key: String? = OSRIsProjected(srs) != 0 ? "PROJCS" : (OSRIsGeographic(srs) != 0 ? "GEOGCS" : nil)
        if let key, let authority = OSRGetAuthorityName(srs, key), String(cString: authority) == "EPSG",
           let code = OSRGetAuthorityCode(srs, key) {
            epsg = Int(String(cString: code))
        }
        if epsg == nil, OSRAutoIdentifyEPSG(srs) == OGRERR_NONE, let key,
           let code = OSRGetAuthorityCode(srs, key) {
            epsg = Int(String(cString: code))
        }
        let name = OSRGetName(srs).map { String(cString: $0) } ?? ""
        return SpatialReference(wkt: wkt, epsg: epsg, name: name)
    }

    /// "EPSG:32633" when the code is known, otherwise the CRS name.
    public var description: String {
        if let epsg { return "EPSG:\(epsg)" }
        return name.isEmpty ? "unnamed CRS" : name
    }

    /// True when GDAL considers both definitions the same CRS (ignoring axis order and naming).
    public func isSame(as other: SpatialReference) -> Bool {
        if let a = epsg, let b = other.epsg { return a == b }
        if wkt == other.wkt { return true }
        GDALEnvironment.ensureInitialized()
        guard let a = OSRNewSpatialReference(wkt), let b = OSRNewSpatialReference(other.wkt) else { return false }
        defer { OSRDestroySpatialReference(a); OSRDestroySpatialReference(b) }
        return OSRIsSame(a, b) != 0
    }
}

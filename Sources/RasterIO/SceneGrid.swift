import CGDAL

/// The pixel grid a scene's bands are stacked onto: size, pixel-to-map transform and CRS.
public struct SceneGrid: Equatable, Hashable, Sendable, Codable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Pixel-to-map transform (GDAL convention, see ``GeoTransform``).
    public var geoTransform: GeoTransform
    /// CRS of the grid; nil for rasters without one.
    public var spatialReference: SpatialReference?

    public init(width: Int, height: Int, geoTransform: GeoTransform, spatialReference: SpatialReference?) {
        self.width = width
        self.height = height
        self.geoTransform = geoTransform
        self.spatialReference = spatialReference
    }

    /// The grid of a dataset.
    init(_ dataset: RasterDataset) {
        self.init(width: dataset.width, height: dataset.height,
                  geoTransform: dataset.geoTransform ?? GeoTransform(originX: 0, pixelWidth: 1, originY: 0, pixelHeight: 1),
                  spatialReference: dataset.spatialReference)
    }

    /// Pixel size in map units (x).
    public var resolution: Double { geoTransform.resolution.x }

    /// Area of one pixel in square metres, when the CRS is projected (its linear unit converted
    /// to metres); nil for geographic CRSs (degrees) and grids without a CRS.
    public var pixelAreaSquareMetres: Double? {
        guard let wkt = spatialReference?.wkt, let srs = OSRNewSpatialReference(wkt) else { return nil }
        defer { OSRDestroySpatialReference(srs) }
        guard OSRIsProjected(srs) != 0 else { return nil }
        let metres = OSRGetLinearUnits(srs, nil)
        let t = geoTransform
        let area = abs(t.pixelWidth * t.pixelHeight - t.rowRotation * t.columnRotation) * metres * metres
        return area.isFinite && area > 0 ? area : nil
    }

    /// Map bounds of the grid.
    public var bounds: MapBounds { MapBounds(transform: geoTransform, width: width, height: height) }

    /// The whole grid as a window.
    public var fullWindow: RasterWindow { RasterWindow(width: width, height: height) }

    /// The integer pixel offset of `other`'s origin in this grid when both grids have the same pixel
    /// size and their origins differ by whole pixels (so a window of this grid maps to a window of
    /// `other` by a shift); nil otherwise.
    func integerOffset(of other: SceneGrid) -> (columns: Int, rows: Int)? {
        let a = geoTransform, b = other.geoTransform
        guard a.isNorthUp, b.isNorthUp else { return a == b ? (0, 0) : nil }
        let tolerance = 1e-6
        guard abs(a.pixelWidth - b.pixelWidth) <= tolerance * abs(a.pixelWidth),
              abs(a.pixelHeight - b.pixelHeight) <= tolerance * abs(a.pixelHeight) else { return nil }
        let dc = (b.originX - a.originX) / a.pixelWidth
        let dr = (b.originY - a.originY) / a.pixelHeight
        let rc = dc.rounded(), rr = dr.rounded()
        guard abs(dc - rc) < 1e-6, abs(dr - rr) < 1e-6 else { return nil }
        return (Int(rc), Int(rr))
    }
}

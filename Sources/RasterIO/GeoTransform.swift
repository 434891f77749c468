/// GDAL's six-coefficient affine transform from pixel/line space to map coordinates.
///
/// Pixel coordinates follow GDAL's convention: `(0, 0)` is the top-left *corner* of the top-left
/// pixel, so the centre of pixel `(col, row)` is at `(col + 0.5, row + 0.5)`. Map units are those of
/// the raster's CRS (metres for UTM).
///
///     x = originX + col * pixelWidth + row * rowRotation
///     y = originY + col * columnRotation + row * pixelHeight
///
/// `pixelHeight` is negative for north-up rasters.
public struct GeoTransform: Equatable, Hashable, Sendable, Codable {
    public var originX: Double
    public var pixelWidth: Double
    public var rowRotation: Double
    public var originY: Double
    public var columnRotation: Double
    public var pixelHeight: Double

    /// Creates a transform from its coefficients in GDAL order.
    public init(originX: Double, pixelWidth: Double, rowRotation: Double = 0,
                originY: Double, columnRotation: Double = 0, pixelHeight: Double) {
        self.originX = originX
        self.pixelWidth = pixelWidth
        self.rowRotation = rowRotation
        self.originY = originY
        self.columnRotation = columnRotation
        self.pixelHeight = pixelHeight
    }

    /// Creates a transform from the six coefficients in GDAL order; nil unless there are six.
    public init?(coefficients c: [Double]) {
        guard c.count == 6 else { return nil }
        self.init(originX: c[0], pixelWidth: c[1], rowRotation: c[2], originY: c[3], columnRotation: c[4], pixelHeight: c[5])
    }

    /// The six coefficients in GDAL order.
    public var coefficients: [Double] { [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight] }

    /// True when the transform has no rotation or shear terms.
    public var isNorthUp: Bool { rowRotation == 0 && columnRotation == 0 }

    /// Pixel size as positive numbers in map units: (x resolution, y resolution).
    public var resolution: (x: Double, y: Double) {
        ((pixelWidth * pixelWidth + columnRotation * columnRotation).squareRoot(),
         (rowRotation * rowRotation + pixelHeight * pixelHeight).squareRoot())
    }

    /// Map coordinates of a pixel-space point (col, row may be fractional; see the type's convention).
    public func mapPoint(column: Double, row: Double) -> (x: Double, y: Double) {
        (originX + column * pixelWidth + row * rowRotation,
         originY + column * columnRotation + row * pixelHeight)
    }

    /// The inverse transform, or nil when the transform is degenerate.
    public func inverted() -> GeoTransform? {
        let det = pixelWidth * pixelHeight - rowRotation * columnRotation
        guard det != 0, det.isFinite else { return nil }
        let a = pixelHeight / det, b = -rowRotation / det
        let d = -columnRotation / det, e = pixelWidth / det
        return GeoTransform(originX: -(a * originX + b * originY), pixelWidth: a, rowRotation: b,
                            originY: -(d * originX + e * originY), columnRotation: d, pixelHeight: e)
    }

    /// Pixel-space coordinates of a map point; nil when the transform is degenerate.
    public func pixelPoint(x: Double, y: Double) -> (column: Double, row: Double)? {
        guard let inverse = inverted() else { return nil }
        let p = inverse.mapPoint(column: x, row: y)
        return (p.x, p.y)
    }

    /// The transform of a window of this grid: same pixel size, origin at the window's top-left corner.
    public func forWindow(_ window: RasterWindow) -> GeoTransform {
        let origin = mapPoint(column: Double(window.column), row: Double(window.row))
        var result = self
        result.originX = origin.x
        result.originY = origin.y
        return result
    }

    /// The transform of the same area sampled with pixels `factor` times larger (a coarser grid whose
    /// pixel (c, r) covers this grid's pixels [c*factor, (c+1)*factor) x [r*factor, (r+1)*factor)).
    public func coarsened(by factor: Int) -> GeoTransform {
        let f = Double(factor)
        return GeoTransform(originX: originX, pixelWidth: pixelWidth * f, rowRotation: rowRotation * f,
                            originY: originY, columnRotation: columnRotation * f, pixelHeight: pixelHeight * f)
    }
}

/// An axis-aligned rectangle in map units of some CRS.
public struct MapBounds: Equatable, Hashable, Sendable, Codable {
    public var minX: Double
    public var minY: Double
    public var maxX: Double
    public var maxY: Double

    public init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
        self.minX = minX
        self.minY = minY
        self.maxX = maxX
        self.maxY = maxY
    }

    /// The bounds of a `width` x `height` pixel grid under `transform` (all four corners considered).
    public init(transform: GeoTransform, width: Int, height: Int) {
        let corners = [(0.0, 0.0), (Double(width), 0.0), (0.0, Double(height)), (Double(width), Double(height))]
            .map { transform.mapPoint(column: $0.0, row: $0.1) }
        self.init(minX: corners.map(\.x).min() ?? 0, minY: corners.map(\.y).min() ?? 0,
                  maxX: corners.map(\.x).max() ?? 0, maxY: corners.map(\.y).max() ?? 0)
    }

    public var width: Double { maxX - minX }
    public var height: Double { maxY - minY }
}

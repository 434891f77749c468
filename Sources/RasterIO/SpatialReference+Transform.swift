import CGDAL

extension SpatialReference {
    /// WGS 84 longitude/latitude (EPSG:4326) in the traditional GIS axis order (x = longitude).
    public static func wgs84() throws -> SpatialReference { try SpatialReference("EPSG:4326") }

    /// Transforms points from this CRS to `target`.
    ///
    /// - Parameter points: map coordinates in this CRS as (x, y) (easting/northing or
    ///   longitude/latitude: traditional GIS order for both CRSs, never the EPSG axis order).
    /// - Returns: the points in `target`, in the same order.
    /// - Throws: ``RasterIOError/invalidArgument(_:)`` when PROJ cannot transform them.
    public func transform(_ points: [(x: Double, y: Double)], to target: SpatialReference) throws -> [(x: Double, y: Double)] {
        GDALEnvironment.ensureInitialized()
        guard let source = OSRNewSpatialReference(nil), let destination = OSRNewSpatialReference(nil) else {
            throw RasterIOError.invalidArgument("could not allocate spatial references")
        }
        defer { OSRDestroySpatialReference(source); OSRDestroySpatialReference(destination) }
        OSRSetAxisMappingStrategy(source, OAMS_TRADITIONAL_GIS_ORDER)
        OSRSetAxisMappingStrategy(destination, OAMS_TRADITIONAL_GIS_ORDER)
        GDALCall.reset()
        guard OSRSetFromUserInput(source, wkt) == OGRERR_NONE, OSRSetFromUserInput(destination, target.wkt) == OGRERR_NONE,
              let transformation = OCTNewCoordinateTransformation(source, destination) else {
            throw RasterIOError.invalidArgument("cannot transform from \(self) to \(target): \(GDALCall.lastMessage())")
        }
        defer { OCTDestroyCoordinateTransformation(transformation) }
        var xs = points.map(\.x), ys = points.map(\.y)
        var success = [Int32](repeating: 0, count: points.count)
        let ok = OCTTransformEx(transformation, Int32(points.count), &xs, &ys, nil, &success)
        guard ok != 0, !success.contains(0) else {
            throw RasterIOError.invalidArgument("PROJ could not transform \(points.count) points from \(self) to \(target): \(GDALCall.lastMessage())")
        }
        return zip(xs, ys).map { (x: $0, y: $1) }
    }
}

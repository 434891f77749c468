import Foundation
import RasterIO

/// Builds the STAC 1.0 Item written beside each class map: footprint and bounding box in WGS 84
/// longitude/latitude, acquisition date, the projection extension (EPSG code, shape, transform),
/// the classification extension (class values, names, colours) on the map asset, the preview as an
/// overview asset and the class polygons, when written, as a data asset. Asset links are relative
/// to the item's folder.
public enum STACItem {
    /// STAC version written.
    public static let version = "1.0.0"
    static let projectionExtension = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
    static let classificationExtension = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"

    /// The item as a JSON object.
    ///
    /// - Parameters:
    ///   - id: item id (the output file's stem).
    ///   - grid: the class map's grid (its CRS gives the footprint).
    ///   - date: acquisition date `YYYY-MM-DD`; nil uses `created` (the processing time).
    ///   - created: processing time.
    ///   - polygonsPath: the class polygons (GeoPackage or GeoJSON), if written.
    ///   - properties: extra `landcover:` properties (model name and hash, scene name).
    /// - Throws: ``RasterIOError`` when the grid has no CRS or PROJ cannot transform it.
    public static func make(id: String, grid: SceneGrid, legend: ClassLegend, nodata: Int, mapPath: String,
                            previewPath: String?, polygonsPath: String? = nil, cloudOptimized: Bool, date: String?, created: Date,
                            properties extra: [String: String]) throws -> [String: Any] {
        guard let crs = grid.spatialReference else {
            throw RasterIOError.missingGeoreferencing(path: mapPath)
        }
        // Footprint: the grid outline densified (11 points per edge) so reprojection keeps its shape.
        let b = grid.bounds
        var outline: [(x: Double, y: Double)] = []
        let steps = 10
        for i in 0..<steps { outline.append((b.minX + (b.maxX - b.minX) * Double(i) / Double(steps), b.maxY)) }
        for i in 0..<steps { outline.append((b.maxX, b.maxY - (b.maxY - b.minY) * Double(i) / Double(steps))) }
        for i in 0..<steps { outline.append((b.maxX - (b.maxX - b.minX) * Double(i) / Double(steps), b.minY)) }
        for i in 0..<steps { outline.append((b.minX, b.minY + (b.maxY - b.minY) * Double(i) / Double(steps))) }
        let lonLat = try crs.transform(outline, to: SpatialReference.wgs84())
        // Counter-clockwise exterior ring (RFC 7946): the outline above runs clockwise, so reverse it.
        var ring = lonLat.reversed().map { [round7($0.x), round7($0.y)] }
        if let first = ring.first { ring.append(first) }
        let bbox = [round7(lonLat.map(\.x).min() ?? 0), round7(lonLat.map(\.y).min() ?? 0),
                    round7(lonLat.map(\.x).max() ?? 0), round7(lonLat.map(\.y).max() ?? 0)]

        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let createdText = formatter.string(from: created)
        var properties: [String: Any] = [
            "datetime": date.map { "\($0)T00:00:00Z" } ?? createdText,
            "created": createdText,
            "proj:shape": [grid.height, grid.width],
            "proj:transform": [grid.geoTransform.pixelWidth, grid.geoTransform.rowRotation, grid.geoTransform.originX,
                               grid.geoTransform.columnRotation, grid.geoTransform.pixelHeight, grid.geoTransform.originY],
        ]
        if let epsg = crs.epsg { properties["proj:epsg"] = epsg } else { properties["proj:wkt2"] = crs.wkt }
        for (key, value) in extra { properties["landcover:\(key)"] = value }

        let classes: [[String: Any]] = legend.names.enumerated().map { index, name in
            ["value": index, "name": name, "color_hint": String(legend.colors[index].hex.dropFirst()).uppercased()]
        }
        let folder = URL(fileURLWithPath: mapPath).deletingLastPathComponent().path
        func relative(_ path: String) -> String {
            path.hasPrefix(folder + "/") ? "./" + String(path.dropFirst(folder.count + 1)) : path
        }
        var assets: [String: Any] = [
            "classification": [
                "href": relative(mapPath),
                "type": "image/tiff; application=geotiff" + (cloudOptimized ? "; profile=cloud-optimized" : ""),
                "title": "Land-cover classes",
                "roles": ["data"],
                "classification:classes": classes,
                "nodata": nodata,
            ] as [String: Any],
        ]
        if let previewPath {
            assets["preview"] = ["href": relative(previewPath), "type": "image/png", "title": "Preview with legend",
                                 "roles": ["overview"]] as [String: Any]
        }
        if let polygonsPath {
            let type = polygonsPath.hasSuffix(".gpkg") ? "application/geopackage+sqlite3" : "application/geo+json"
            assets["polygons"] = ["href": relative(polygonsPath), "type": type, "title": "Land-cover polygons (class, name)",
                                  "roles": ["data"], "classification:classes": classes] as [String: Any]
        }
        return [
            "type": "Feature",
            "stac_version": version,
            "stac_extensions": [projectionExtension, classificationExtension],
            "id": id,
            "geometry": ["type": "Polygon", "coordinates": [ring]] as [String: Any],
            "bbox": bbox,
            "properties": properties,
            "links": [] as [Any],
            "assets": assets,
        ]
    }

    private static func round7(_ value: Double) -> Double { (value * 1e7).rounded() / 1e7 }

    /// Writes a JSON object atomically (temporary file, then rename), pretty-printed with sorted keys.
    public static func writeJSON(_ object: Any, to path: String) throws {
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw PipelineError.unreadable(path: path, reason: "cannot encode JSON: \(error)")
        }
        try AtomicFile.write(data, to: path)
    }
}

/// Writes files so that the final path only ever holds complete content.
public enum AtomicFile {
    /// Writes `data` to a hidden temporary file beside `path` (every `write` and the `close`
    /// checked) and moves it into place durably (``FileCommit/moveIntoPlace(_:to:)``), then reads
    /// the file under the final name back and compares it with `data`; a file that differs is
    /// removed.
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` or ``RasterIOError/noSpace(path:folder:)``
    ///   naming the path.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent)\(RasterWriter.temporaryMarker)\(ProcessInfo.processInfo.processIdentifier)").path
        // A file of an earlier process with the same pid.
        unlink(temporary)
        try FileCommit.writeNew(data, to: temporary, reportingAs: path)
        do {
            try FileCommit.moveIntoPlace(temporary, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard FileManager.default.contents(atPath: path) == data else {
            try? FileManager.default.removeItem(atPath: path)
            throw RasterIOError.writeFailed(path: path, reason: "the file on disk differs from what was written")
        }
    }
}

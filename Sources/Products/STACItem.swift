import Classification
import Config
import Foundation
import RasterIO

/// Builds the STAC 1.0 Item written beside each class map. It declares, and validates against,
/// the projection (v2: `proj:code`, shape, transform, bbox and geometry in the map's CRS),
/// classification (classes with value, name, description and colour), raster (`raster:bands`
/// for every band of every raster asset, read back from the written files: data type, nodata,
/// unit, scale, offset, resolution), file (`file:checksum` as a SHA-256 multihash and
/// `file:size` on every asset), processing (`processing:software`, level, lineage, datetime)
/// and MLM extensions (the model that made the map, see ``STACModelDescription``).
///
/// Footprint and bbox are in WGS 84 longitude/latitude. Assets come from the scene's recorded
/// outputs: the map (`classification`), its `.aux.xml`, confidence, probabilities, preview (role
/// `overview`), polygons, the QGIS style (output role `style`) and the model. Each input file
/// is a `derived_from` link. Hrefs are relative to the item's folder where possible.
public enum STACItem {
    /// STAC version written.
    public static let version = "1.0.0"
    static let projectionExtension = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
    static let classificationExtension = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"
    static let rasterExtension = "https://stac-extensions.github.io/raster/v1.0.0/schema.json"
    static let fileExtension = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
    static let processingExtension = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"

    /// The item as a JSON object.
    ///
    /// - Parameters:
    ///   - id: item id (the output file's stem).
    ///   - itemPath: where the item will be written (hrefs are relative to its folder).
    ///   - grid: the class map's grid (its CRS gives the footprint and the projection fields).
    ///   - legend: the classes (value = index).
    ///   - outputs: the scene's written files with their sizes and SHA-256 (roles `map`,
    ///     `map_aux`, `probabilities`, `probabilities_aux`, `preview`, `polygons`, `style`; others
    ///     become metadata assets named after their role).
    ///   - cloudOptimized: the map is a COG.
    ///   - acquisition: the acquisition time found in the scene's files, if any.
    ///   - date: acquisition day `YYYY-MM-DD` from the scene name, used when no time is known
    ///     (`datetime` null, `start_datetime`/`end_datetime` spanning that UTC day).
    ///   - created: processing time (`created`, `processing:datetime`; `datetime` when the scene
    ///     carries no date at all).
    ///   - model: the model's MLM description; `modelPath` its file.
    ///   - sourceFiles: files the scene was read from (one `derived_from` link each).
    ///   - softwareVersion: landcover's version for `processing:software`.
    ///   - properties: extra `landcover:` properties (model name and hash, scene name).
    ///   - publishedBesideAssets: the item is published in another place than it is written (an
    ///     object store), beside its assets: assets keep `./NAME` hrefs, every other file (model,
    ///     sources) gets its absolute path or URL, since a path relative to the local item's
    ///     folder would mean nothing there. An output with an ``OutputFileRecord/etag`` gets it
    ///     as `landcover:etag`.
    /// - Throws: ``RasterIOError`` when the grid has no CRS, PROJ cannot transform it, or a raster
    ///   asset cannot be opened.
    public static func make(id: String, itemPath: String, grid: SceneGrid, legend: ClassLegend, outputs: [OutputFileRecord],
                            cloudOptimized: Bool, acquisition: AcquisitionTime?, date: String?, created: Date,
                            model: STACModelDescription, modelPath: String, sourceFiles: [String], softwareVersion: String,
                            properties extra: [String: String], publishedBesideAssets: Bool = false) throws -> [String: Any] {
        let mapPath = outputs.first { $0.role == .map }?.path ?? itemPath
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
        let t = grid.geoTransform
        var properties: [String: Any] = [
            "created": createdText,
            "proj:code": crs.epsg.map { "EPSG:\($0)" as Any } ?? NSNull(),
            "proj:shape": [grid.height, grid.width],
            "proj:transform": [t.pixelWidth, t.rowRotation, t.originX, t.columnRotation, t.pixelHeight, t.originY],
            "proj:bbox": [b.minX, b.minY, b.maxX, b.maxY],
            "proj:geometry": ["type": "Polygon", "coordinates": [[[b.minX, b.minY], [b.maxX, b.minY], [b.maxX, b.maxY],
                                                                  [b.minX, b.maxY], [b.minX, b.minY]]]] as [String: Any],
            "processing:software": ["landcover": softwareVersion],
            "processing:level": "L4",
            "processing:datetime": createdText,
            "processing:lineage": "Classified by landcover \(softwareVersion) with the model \(model.fileName) from the files linked as derived_from",
        ]
        if crs.epsg == nil { properties["proj:wkt2"] = crs.wkt }
        if let acquisition {
            properties["datetime"] = acquisition.text
            properties["landcover:datetime_source"] = acquisition.source
        } else if let date {
            properties["datetime"] = NSNull()
            properties["start_datetime"] = "\(date)T00:00:00Z"
            properties["end_datetime"] = "\(date)T23:59:59Z"
            properties["landcover:datetime_source"] = "acquisition date in the scene name (no time of day in the scene)"
        } else {
            properties["datetime"] = createdText
            properties["landcover:datetime_source"] = "processing time (the scene carries no acquisition date)"
        }
        for (key, value) in extra { properties["landcover:\(key)"] = value }
        for (key, value) in model.properties { properties[key] = value }

        let folder = (itemPath as NSString).deletingLastPathComponent
        let href = { (path: String) -> String in
            guard publishedBesideAssets, (path as NSString).deletingLastPathComponent != folder else { return relativeHref(from: folder, to: path) }
            return relativeHref(from: "/", to: path)
        }
        let classes = model.classes
        var assets: [String: Any] = [:]
        for output in outputs where output.role != .stac {
            var asset: [String: Any] = ["href": href(output.path),
                                        "file:checksum": "1220" + output.sha256, "file:size": Int(output.bytes)]
            if let etag = output.etag { asset["landcover:etag"] = etag }
            let key: String
            switch output.role {
            case .map, .probabilities, .confidence:
                // GeoTIFF data assets, their bands described as GDAL reads them back.
                key = output.role == .map ? "classification" : output.role.rawValue
                asset["type"] = "image/tiff; application=geotiff" + (cloudOptimized ? "; profile=cloud-optimized" : "")
                asset["title"] = [OutputRole.map: "Land-cover classes", .probabilities: "Class probabilities (one band per class, percent)",
                                  .confidence: "Confidence: probability of the chosen class (percent)"][output.role]
                asset["roles"] = ["data"]
                asset["raster:bands"] = try rasterBands(path: output.path, legend: legend, classes: classes)
            case .preview:
                key = "preview"
                asset["type"] = "image/png"
                asset["title"] = "Preview with legend"
                asset["roles"] = ["overview"]
                asset["raster:bands"] = try rasterBands(path: output.path, legend: legend, classes: classes,
                                                        names: ["red", "green", "blue", "alpha"])
            case .polygons:
                key = "polygons"
                asset["type"] = output.path.hasSuffix(".gpkg") ? "application/geopackage+sqlite3" : "application/geo+json"
                asset["title"] = "Land-cover polygons (class, name)"
                asset["roles"] = ["data"]
                asset["classification:classes"] = classes
            case .style:
                key = "style"
                asset["type"] = "application/xml"
                asset["title"] = "QGIS layer style for the map (.qml)"
                asset["roles"] = ["style", "metadata"]
            case .mapAux, .probabilitiesAux, .confidenceAux:
                key = output.role == .mapAux ? "classification_aux" : output.role.rawValue
                asset["type"] = "application/xml"
                asset["title"] = "GDAL auxiliary metadata (.aux.xml)"
                asset["roles"] = ["metadata"]
            case .stac:
                continue
            }
            assets[key] = asset
        }
        assets["model"] = model.asset(href: href(modelPath))

        let links: [[String: Any]] = sourceFiles.map { path in
            ["rel": "derived_from", "href": href(path), "type": mediaType(path),
             "title": "Source file \((path as NSString).lastPathComponent)"]
        }
        return [
            "type": "Feature",
            "stac_version": version,
            "stac_extensions": [projectionExtension, classificationExtension, rasterExtension, fileExtension, processingExtension,
                                STACModelDescription.extensionURL],
            "id": id,
            "geometry": ["type": "Polygon", "coordinates": [ring]] as [String: Any],
            "bbox": bbox,
            "properties": properties,
            "links": links,
            "assets": assets,
        ]
    }

    /// `raster:bands` of a written raster, band by band as the file declares them (type, nodata,
    /// resolution); band meaning from its description: `class` (categorical: classes, no unit),
    /// `confidence` and per-class probabilities (percent, 0-100). `names` names bands that carry
    /// no description (the preview's `red`, `green`, `blue`, `alpha`: display colours, not data).
    static func rasterBands(path: String, legend: ClassLegend, classes: [[String: Any]], names: [String] = []) throws -> [[String: Any]] {
        let dataset = try RasterDataset(path: path)
        let resolution = dataset.geoTransform.map { abs($0.pixelWidth) }
        return dataset.bands.map { band in
            let given = band.index <= names.count ? names[band.index - 1] : nil
            var object: [String: Any] = ["name": band.description.isEmpty ? given ?? "band\(band.index)" : band.description,
                                         "data_type": rasterDataType(band.dataType)]
            if let given, band.description.isEmpty {
                object["description"] = "display colour \(given) of the preview image, 0-255 (not data)"
            } else {
                object["sampling"] = "area"
            }
            if let nodata = band.nodata { object["nodata"] = nodata == nodata.rounded() ? Int(nodata) as Any : nodata as Any }
            if let resolution, given == nil { object["spatial_resolution"] = resolution }
            switch band.description {
            case "class":
                object["description"] = "land-cover class value (see classification:classes); categorical, no unit"
                object["classification:classes"] = classes
            case "confidence":
                object["description"] = "probability of the chosen class, in percent"
                object["unit"] = "%"
                object["scale"] = 1
                object["offset"] = 0
            default:
                if legend.names.contains(band.description) {
                    object["description"] = "probability of class \(band.description), in percent"
                    object["unit"] = "%"
                    object["scale"] = 1
                    object["offset"] = 0
                }
            }
            return object
        }
    }

    /// The raster extension's name of a pixel type.
    static func rasterDataType(_ type: RasterDataType) -> String {
        switch type {
        case .byte: return "uint8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .float64: return "float64"
        }
    }

    /// A media type from a file name's extension.
    static func mediaType(_ path: String) -> String {
        // An item of an ItemCollection is linked as `COLLECTION.json#ID`.
        let file = path.split(separator: "#", maxSplits: 1).first.map(String.init) ?? path
        switch (file as NSString).pathExtension.lowercased() {
        case "tif", "tiff": return "image/tiff; application=geotiff"
        case "jp2", "j2k": return "image/jp2"
        case "xml": return "application/xml"
        case "zip": return "application/zip"
        case "vrt": return "application/xml"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }

    /// `path` relative to `folder` (`./name`, `../../samples/x.onnx`); the absolute path when the
    /// two share nothing but the root; GDAL network paths as URLs (`/vsicurl/https://h/x.tif` ->
    /// `https://h/x.tif`, `/vsis3/bucket/key` -> `s3://bucket/key`), other virtual paths as they are.
    static func relativeHref(from folder: String, to path: String) -> String {
        if path.hasPrefix("/vsicurl/") { return String(path.dropFirst("/vsicurl/".count)) }
        if path.hasPrefix("/vsis3/") { return "s3://" + path.dropFirst("/vsis3/".count) }
        if path.hasPrefix("/vsigs/") { return "gs://" + path.dropFirst("/vsigs/".count) }
        if path.hasPrefix("/vsi") || !path.hasPrefix("/") { return path }
        let from = URL(fileURLWithPath: folder).standardizedFileURL.pathComponents
        let to = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        var common = 0
        while common < min(from.count, to.count) && from[common] == to[common] { common += 1 }
        guard common > 1 else { return URL(fileURLWithPath: path).standardizedFileURL.path }
        let ups = Array(repeating: "..", count: from.count - common)
        let rest = Array(to[common...])
        return (ups.isEmpty ? ["."] + rest : ups + rest).joined(separator: "/")
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

import CGDAL
import Foundation

/// A STAC Item read as a scene: its id, acquisition time and the raster assets that carry
/// Sentinel-2 bands, with their hrefs resolved and the band names each holds.
///
/// - Items are JSON files or URLs (any path ending in `.json` or `.geojson`, a query string aside);
///   an ItemCollection (a GeoJSON FeatureCollection of items) is a list of scenes, and one of its
///   items is named `COLLECTION.json#ITEM_ID`.
/// - Band names come from each asset's `eo:bands` (STAC 1.0) or `bands` (STAC 1.1): a band's `name`
///   when it is a Sentinel-2 band name (`B04`, `B8A`) or an auxiliary layer (`SCL`), else its
///   common name (`common_name` / `eo:common_name`: `red` -> B04, `nir08` -> B8A, ...); an asset
///   without band entries is named by its key (`B04`, `red`, `rededge1`, `nir08`, `scl`).
///   Assets of other roles or media types (thumbnails, metadata, the `visual` RGB composite when
///   single-band assets hold its bands, a JPEG 2000 copy of a band a COG also holds) are left out.
/// - Hrefs are resolved against the item's own location: relative hrefs against its folder (or
///   URL), `http(s)://` hrefs become `/vsicurl/` paths, `s3://` `/vsis3/` (see ``RemotePath``).
public struct STACSceneItem: Sendable, Equatable {
    /// One raster asset of the scene.
    public struct Asset: Sendable, Equatable {
        /// The asset key in the item (`red`, `B04`).
        public var key: String
        /// The resolved GDAL path (a file, or a `/vsicurl/`, `/vsis3/` ... path).
        public var path: String
        /// Canonical band names of the asset's bands, in band order.
        public var bands: [String]
    }

    /// The item's `id`.
    public var id: String
    /// `properties.datetime` (else `start_datetime`) as RFC 3339 UTC text, nil when absent or null.
    public var datetime: String?
    /// Where the item was read from (a file path, or a GDAL network path), with `#ID` for an item
    /// of an ItemCollection.
    public var location: String
    /// The band assets, in asset-key order.
    public var assets: [Asset]
    /// The item's JSON (keys sorted) as a STAC API search returned it, which stands in for the
    /// item document's file stamp in the inputs fingerprint; nil for items read from a document.
    public var content: String? = nil

    /// Largest STAC document read (an ItemCollection of a few thousand items fits).
    public static let maximumBytes = 64 << 20

    /// Whether `path` names a STAC document: its file name (query string and fragment aside)
    /// ends in `.json` or `.geojson`.
    public static func isItemPath(_ path: String) -> Bool {
        var name = path
        if let fragment = name.firstIndex(of: "#") { name = String(name[..<fragment]) }
        if RemotePath.isRemote(name), let query = name.firstIndex(of: "?") { name = String(name[..<query]) }
        let lower = name.lowercased()
        return lower.hasSuffix(".json") || lower.hasSuffix(".geojson") || documents.contains(path)
    }

    /// The items at `path` (an Item gives one, an ItemCollection each of its items; `PATH#ID`
    /// only that item).
    /// - Throws: ``RasterIOError`` naming the path: unreadable, not JSON, not a STAC Item or
    ///   ItemCollection, no item of that id, an item without band assets.
    public static func items(at path: String) throws -> [STACSceneItem] {
        var document = path, wanted: String?
        if let hash = path.lastIndex(of: "#"), isItemPath(String(path[..<hash])) {
            document = String(path[..<hash])
            wanted = String(path[path.index(after: hash)...])
        }
        let all = try documents.items(of: document) { try parse(document: document) }
        guard let wanted else { return all }
        let items = all.filter { $0.id == wanted }
        if items.isEmpty {
            throw RasterIOError.invalidArgument("\(document): has no STAC Item with id '\(wanted)'; check the id after '#'")
        }
        return items
    }

    /// Documents read by this process: a run reads each STAC document once, so the plan, the
    /// fingerprint and the scene of each of a collection's items see the same snapshot of it.
    static let documents = DocumentCache()

    /// Every item of the document at `document` (one for an Item).
    static func parse(document path: String) throws -> [STACSceneItem] {
        let data = try VirtualFile.contents(of: path, maximumBytes: maximumBytes)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw RasterIOError.notARaster(path: path, gdalMessage: "not a STAC Item: not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw RasterIOError.notARaster(path: path, gdalMessage: "not a STAC Item: the JSON is not an object")
        }
        let features: [[String: Any]]
        switch object["type"] as? String {
        case "Feature": features = [object]
        case "FeatureCollection": features = (object["features"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
        default:
            throw RasterIOError.notARaster(path: path, gdalMessage: "not a STAC Item or ItemCollection: \"type\" is neither \"Feature\" nor \"FeatureCollection\"")
        }
        let isCollection = object["type"] as? String == "FeatureCollection"
        var items: [STACSceneItem] = []
        for feature in features {
            guard let id = feature["id"] as? String, !id.isEmpty else {
                throw RasterIOError.notARaster(path: path, gdalMessage: "a STAC Item has no \"id\"")
            }
            items.append(try item(feature, id: id, document: path, location: isCollection ? "\(path)#\(id)" : path))
        }
        return items
    }

    /// One Item's scene description.
    static func item(_ feature: [String: Any], id: String, document: String, location: String) throws -> STACSceneItem {
        let properties = feature["properties"] as? [String: Any] ?? [:]
        let datetime = ((properties["datetime"] as? String) ?? (properties["start_datetime"] as? String)).flatMap(AcquisitionTime.parse)
        let assetObjects = feature["assets"] as? [String: Any] ?? [:]
        var candidates: [(asset: Asset, cog: Bool)] = []
        for key in assetObjects.keys.sorted() {
            guard let asset = assetObjects[key] as? [String: Any], let href = asset["href"] as? String else { continue }
            let roles = asset["roles"] as? [String] ?? []
            if !roles.isEmpty && !roles.contains("data") { continue }
            let type = (asset["type"] as? String ?? "").lowercased()
            if !type.isEmpty && !(type.contains("image/tiff") || type.contains("image/jp2") || type.contains("vrt")) { continue }
            guard let bands = bandNames(asset: asset, key: key) else { continue }
            candidates.append((Asset(key: key, path: resolve(href: href, against: document), bands: bands),
                               type.contains("tiff") || href.lowercased().hasSuffix(".tif")))
        }
        // Single-band assets first, COGs before other copies of a band; a multi-band asset (the
        // visual composite) only when none of its bands is held by another asset.
        var chosen: [Asset] = []
        var covered = Set<String>()
        for (asset, _) in candidates.filter({ $0.asset.bands.count == 1 }).sorted(by: { $0.cog && !$1.cog }) {
            guard let band = asset.bands.first, !covered.contains(band) else { continue }
            covered.insert(band)
            chosen.append(asset)
        }
        for (asset, _) in candidates where asset.bands.count > 1 && covered.isDisjoint(with: asset.bands) {
            covered.formUnion(asset.bands)
            chosen.append(asset)
        }
        guard !chosen.isEmpty else {
            throw RasterIOError.notARaster(path: location, gdalMessage: "STAC Item '\(id)' has no raster asset carrying Sentinel-2 bands (named by eo:bands/bands, common names or asset keys)")
        }
        return STACSceneItem(id: id, datetime: datetime, location: location, assets: chosen.sorted { $0.key < $1.key }, content: nil)
    }

    /// Sentinel-2 names by STAC common name (`eo:common_name`), where the name is unique.
    static let commonNames: [String: String] = [
        "coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "rededge071": "B05", "rededge075": "B06",
        "rededge078": "B07", "nir": "B08", "nir08": "B8A", "nir09": "B09", "cirrus": "B10", "swir16": "B11", "swir22": "B12",
    ]
    /// Sentinel-2 names by asset key as Earth Search and Planetary Computer name them.
    static let assetKeys: [String: String] = commonNames.merging([
        "rededge1": "B05", "rededge2": "B06", "rededge3": "B07", "scl": "SCL",
    ]) { first, _ in first }

    /// A band label as a canonical Sentinel-2 band or auxiliary layer name, else nil.
    static func sentinelName(_ label: String) -> String? {
        let canonical = SentinelBand.canonicalName(label)
        if SentinelBand.all.contains(canonical) { return canonical }
        if SentinelBand.auxiliaryLayers.contains(canonical.uppercased()) { return canonical.uppercased() }
        return nil
    }

    /// The canonical names of an asset's bands, or nil when it is not a band asset.
    static func bandNames(asset: [String: Any], key: String) -> [String]? {
        let entries = (asset["bands"] as? [Any] ?? asset["eo:bands"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
        if !entries.isEmpty {
            var names: [String] = []
            for entry in entries {
                let common = (entry["eo:common_name"] as? String) ?? (entry["common_name"] as? String)
                guard let name = (entry["name"] as? String).flatMap(sentinelName) ?? common.flatMap({ commonNames[$0.lowercased()] }) else {
                    // One entry cannot be named: the asset is named by its key if it has one band.
                    return entries.count == 1 ? keyName(key).map { [$0] } : nil
                }
                names.append(name)
            }
            return names
        }
        return keyName(key).map { [$0] }
    }

    static func keyName(_ key: String) -> String? {
        sentinelName(key) ?? assetKeys[key.lowercased()]
    }

    /// `href` resolved against the document at `document` (a file path or GDAL network path).
    public static func resolve(href: String, against document: String) -> String {
        if let remote = RemotePath.gdalPath(ofURL: href) { return remote }
        if href.hasPrefix("/vsi") { return href }
        let documentURL = RemotePath.url(of: document)
        if RemotePath.isRemote(document), documentURL != document, let base = URL(string: documentURL),
           let resolved = URL(string: href, relativeTo: base)?.absoluteURL.absoluteString {
            return RemotePath.normalized(resolved)
        }
        if href.hasPrefix("/") { return URL(fileURLWithPath: href).standardizedFileURL.path }
        // A file, or another virtual path (/vsis3/b/k/item.json, /vsizip/...): resolved as a path.
        let folder = (document as NSString).deletingLastPathComponent
        return URL(fileURLWithPath: folder).appendingPathComponent(href).standardizedFileURL.path
    }
}

/// STAC documents already parsed, by path (failures are not kept: the next use reads again).
final class DocumentCache: @unchecked Sendable {
    private let lock = NSLock()
    private var parsed: [String: [STACSceneItem]] = [:]

    /// Whether `path` was read or registered (an item a STAC API search returned, by its URL).
    func contains(_ path: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return parsed[path] != nil
    }

    /// Records the items a STAC API search returned at `path` (the item's URL).
    func register(_ path: String, items: [STACSceneItem]) {
        lock.lock()
        parsed[path] = items
        lock.unlock()
    }

    func items(of path: String, parse: () throws -> [STACSceneItem]) throws -> [STACSceneItem] {
        lock.lock()
        if let known = parsed[path] {
            lock.unlock()
            return known
        }
        lock.unlock()
        let items = try parse()
        lock.lock()
        parsed[path] = items
        lock.unlock()
        return items
    }
}

/// Whole small files read through GDAL's VSI layer (local files, `/vsicurl/`, `/vsis3/`, ...).
public enum VirtualFile {
    /// The bytes of `path`, at most `maximumBytes`.
    /// - Throws: ``RasterIOError/remoteUnavailable(url:status:detail:)`` when a server fails,
    ///   ``RasterIOError/fileNotFound(path:)`` for a missing file, ``RasterIOError/invalidArgument(_:)``
    ///   when it is larger than `maximumBytes`.
    public static func contents(of path: String, maximumBytes: Int) throws -> Data {
        GDALEnvironment.ensureInitialized()
        GDALCall.reset()
        VSIErrorReset()
        guard let file = VSIFOpenExL(path, "rb", 1) else {
            let message = GDALCall.lastMessage()
            if let remote = RasterIOError.remote(path: path, gdalMessage: message) { throw remote }
            if RemotePath.isRemote(path) { throw RasterIOError.remoteUnavailable(url: RemotePath.url(of: path), status: 404, detail: message) }
            throw RasterIOError.fileNotFound(path: path)
        }
        defer { VSIFCloseL(file) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { VSIFReadL($0.baseAddress, 1, $0.count, file) }
            if count > 0 { data.append(contentsOf: buffer[0..<count]) }
            if data.count > maximumBytes {
                throw RasterIOError.invalidArgument("\(RemotePath.url(of: path)): is larger than \(maximumBytes >> 20) MiB; a STAC document that large is not read")
            }
            if count < buffer.count {
                let message = GDALCall.lastMessage()
                if VSIFEofL(file) == 0 {
                    if let remote = RasterIOError.remote(path: path, gdalMessage: message) { throw remote }
                    throw RasterIOError.gdalFailure(operation: "reading", path: path, gdalMessage: message)
                }
                break
            }
        }
        return data
    }
}

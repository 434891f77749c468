import CGDAL
import Foundation

/// A STAC API item search (`POST {url}/search`, STAC API - Item Search), whose items are scenes.
///
/// The request body is JSON: `collections`, `bbox` or `intersects`, `datetime`, `query` (the Query
/// extension, e.g. `{"eo:cloud_cover": {"lt": 20}}`) or `filter` (CQL2 JSON, sent with
/// `filter-lang: cql2-json`), and `limit` (items per page). Pages are followed through each
/// answer's `next` link (a POST link's `body`, merged when it says `merge`, or a GET URL) until
/// there is none or ``maxItems`` items were read. A server that answers the POST with
/// 405 (method not allowed) is asked again with `GET {url}/search?...` (its parameters as the
/// STAC API's GET binding spells them).
///
/// HTTP goes through GDAL (`CPLHTTPFetch`), so the environment's GDAL network settings
/// (`GDAL_HTTP_MAX_RETRY`, `GDAL_HTTP_RETRY_DELAY`, `GDAL_HTTP_TIMEOUT`, `GDAL_HTTP_HEADERS`,
/// proxies, ...) apply to the search exactly as to the assets it finds.
public struct STACSearchRequest: Equatable, Sendable {
    /// The STAC API root (the search endpoint is `{url}/search`), without a trailing `/search`.
    public var url: String
    public var collections: [String] = []
    /// `[west, south, east, north]` in WGS 84 degrees (or 6 numbers with heights).
    public var bbox: [Double]? = nil
    /// A GeoJSON geometry, as JSON text.
    public var intersectsJSON: String? = nil
    /// RFC 3339 instant or interval (`2024-06-01T00:00:00Z/2024-06-30T23:59:59Z`, `../2024-01-01T00:00:00Z`).
    public var datetime: String? = nil
    /// The Query extension's object, as JSON text.
    public var queryJSON: String? = nil
    /// A CQL2 JSON filter, as JSON text.
    public var filterJSON: String? = nil
    /// Items per page asked of the server.
    public var limit: Int
    /// Most items read over all pages; the search stops there.
    public var maxItems: Int

    /// Creates a request.
    public init(url: String, limit: Int, maxItems: Int) {
        self.url = url
        self.limit = limit
        self.maxItems = maxItems
    }

    /// The search endpoint, `{url}/search`.
    public var endpoint: String {
        var root = url
        while root.hasSuffix("/") { root.removeLast() }
        return root.hasSuffix("/search") ? root : root + "/search"
    }

    /// The JSON body of the first POST request.
    public func body() throws -> [String: Any] {
        var body: [String: Any] = ["limit": limit]
        if !collections.isEmpty { body["collections"] = collections }
        if let bbox { body["bbox"] = bbox }
        if let datetime { body["datetime"] = datetime }
        if let intersectsJSON { body["intersects"] = try Self.object(intersectsJSON, key: "intersects") }
        if let queryJSON { body["query"] = try Self.object(queryJSON, key: "query") }
        if let filterJSON {
            body["filter"] = try Self.object(filterJSON, key: "filter")
            body["filter-lang"] = "cql2-json"
        }
        return body
    }

    /// The search as one line of canonical JSON (sorted keys): `{"body":{...},"url":"..."}`, for
    /// run reports and fingerprints.
    public func summary() throws -> String {
        let data = try JSONSerialization.data(withJSONObject: ["url": endpoint, "body": try body()], options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func object(_ text: String, key: String) throws -> Any {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            throw RasterIOError.invalidArgument("stac_search.\(key): is not valid JSON; write it as a YAML mapping")
        }
        return value
    }

    /// The GET form of the first request: `{url}/search?limit=..&collections=a,b&bbox=..`, JSON
    /// values (intersects, query, filter) URL-encoded as JSON text.
    func getURL() throws -> String {
        var items: [URLQueryItem] = [URLQueryItem(name: "limit", value: "\(limit)")]
        if !collections.isEmpty { items.append(URLQueryItem(name: "collections", value: collections.joined(separator: ","))) }
        if let bbox { items.append(URLQueryItem(name: "bbox", value: bbox.map { "\($0)" }.joined(separator: ","))) }
        if let datetime { items.append(URLQueryItem(name: "datetime", value: datetime)) }
        if let intersectsJSON { items.append(URLQueryItem(name: "intersects", value: intersectsJSON)) }
        if let queryJSON { items.append(URLQueryItem(name: "query", value: queryJSON)) }
        if let filterJSON {
            items.append(URLQueryItem(name: "filter", value: filterJSON))
            items.append(URLQueryItem(name: "filter-lang", value: "cql2-json"))
        }
        var components = URLComponents(string: endpoint)
        components?.queryItems = items
        // `+` means a space in query strings: encode it (datetimes carry `+00:00` offsets).
        let query = components?.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        components?.percentEncodedQuery = query
        guard let text = components?.url?.absoluteString else {
            throw RasterIOError.invalidArgument("\(endpoint): is not a URL; stac_search.url must be an http(s) URL of a STAC API")
        }
        return text
    }
}

/// What a STAC API search returned: its items as scenes, in the server's order.
public struct STACSearchResult: Sendable, Equatable {
    /// One item found.
    public struct Item: Sendable, Equatable {
        /// The item as a scene (its ``STACSceneItem/location`` is the item's URL).
        public var scene: STACSceneItem
        /// `properties.eo:cloud_cover` in percent, when the item has it.
        public var cloudCover: Double?
    }

    /// The search (``STACSearchRequest/summary()``).
    public var search: String
    public var items: [Item]
    /// Pages read.
    public var pages: Int
    /// True when the search stopped at `max_items` while the server had a further page.
    public var truncated: Bool
}

extension STACSearchRequest {
    /// Runs the search: the first page by POST (GET when the server answers 405), then each `next`
    /// link, until no link is left or ``maxItems`` items are read. Each item is parsed as a scene
    /// like a STAC Item input and registered so that ``STACSceneItem/items(at:)`` finds it by its
    /// URL (its `self` link, else `{url}/collections/{collection}/items/{id}`).
    /// - Throws: ``RasterIOError/remoteUnavailable(url:status:detail:)`` naming the URL and the
    ///   HTTP status when the server fails; ``RasterIOError/invalidArgument(_:)`` when it answers
    ///   something other than an ItemCollection, or an item without Sentinel-2 band assets.
    public func run() throws -> STACSearchResult {
        var request: (url: String, body: [String: Any]?) = (endpoint, try body())
        var items: [STACSearchResult.Item] = []
        var pages = 0, truncated = false
        var seenPages = Set<String>()
        while true {
            let page: [String: Any]
            do {
                page = try Self.fetchJSON(url: request.url, body: request.body)
            } catch RasterIOError.remoteUnavailable(_, 405, _) where pages == 0 && request.body != nil {
                request = (try getURL(), nil)
                page = try Self.fetchJSON(url: request.url, body: nil)
            }
            pages += 1
            guard page["type"] as? String == "FeatureCollection", let features = page["features"] as? [Any] else {
                throw RasterIOError.invalidArgument("\(request.url): the STAC API answered something other than an ItemCollection; check stac_search.url (the API root, whose /search endpoint is searched)")
            }
            for case let feature as [String: Any] in features {
                guard items.count < maxItems else { truncated = true; break }
                items.append(try Self.item(feature, search: self, page: request.url))
            }
            guard !truncated, let next = Self.nextRequest(page, previous: request) else { break }
            if items.count >= maxItems { truncated = true; break }
            // A server that hands out the same page again would loop forever.
            let key = next.url + (next.body.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: .sortedKeys) }.map { String(decoding: $0, as: UTF8.self) } ?? "")
            guard seenPages.insert(key).inserted else { break }
            request = next
        }
        let result = STACSearchResult(search: try summary(), items: items, pages: pages, truncated: truncated)
        for item in result.items { STACSceneItem.documents.register(item.scene.location, items: [item.scene]) }
        return result
    }

    /// Largest page read (a page of a few hundred full Sentinel-2 items fits).
    public static let maximumPageBytes = 64 << 20

    /// The request the page's `next` link asks for, or nil on the last page.
    static func nextRequest(_ page: [String: Any], previous: (url: String, body: [String: Any]?)) -> (url: String, body: [String: Any]?)? {
        let links = (page["links"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
        guard let next = links.first(where: { $0["rel"] as? String == "next" }), let href = next["href"] as? String else { return nil }
        let method = (next["method"] as? String ?? "GET").uppercased()
        guard method == "POST" else { return (href, nil) }
        var body = next["body"] as? [String: Any] ?? [:]
        if next["merge"] as? Bool == true, let previousBody = previous.body {
            body = previousBody.merging(body) { _, new in new }
        }
        return (href, body)
    }

    /// One feature of a page as a found item.
    static func item(_ feature: [String: Any], search: STACSearchRequest, page: String) throws -> STACSearchResult.Item {
        guard let id = feature["id"] as? String, !id.isEmpty else {
            throw RasterIOError.invalidArgument("\(page): the STAC API returned an item without \"id\"; check the server")
        }
        let links = (feature["links"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
        var url = links.first(where: { $0["rel"] as? String == "self" })?["href"] as? String
        if url == nil {
            var root = search.endpoint
            root.removeLast("/search".count)
            let collection = feature["collection"] as? String ?? ""
            url = collection.isEmpty ? "\(root)/search#\(id)" : "\(root)/collections/\(collection)/items/\(id)"
        }
        let location = RemotePath.normalized(url ?? "")
        var scene = try STACSceneItem.item(feature, id: id, document: location, location: location)
        let properties = feature["properties"] as? [String: Any] ?? [:]
        let canonical = try JSONSerialization.data(withJSONObject: feature, options: [.sortedKeys, .withoutEscapingSlashes])
        scene.content = String(decoding: canonical, as: UTF8.self)
        return STACSearchResult.Item(scene: scene, cloudCover: (properties["eo:cloud_cover"] as? NSNumber)?.doubleValue)
    }

    /// GETs or POSTs (`body` as JSON) `url` and parses the JSON object it answers.
    static func fetchJSON(url: String, body: [String: Any]?) throws -> [String: Any] {
        GDALEnvironment.ensureInitialized()
        GDALCall.reset()
        var options: [String] = ["HEADERS=Accept: application/geo+json, application/json"]
        if let body {
            let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
            options = ["POSTFIELDS=\(String(decoding: data, as: UTF8.self))", "CUSTOMREQUEST=POST",
                       "HEADERS=Content-Type: application/json\r\nAccept: application/geo+json, application/json"]
        }
        guard let result = GDALCall.withStringList(options, { CPLHTTPFetch(url, $0) }) else {
            throw RasterIOError.remoteUnavailable(url: url, status: 0, detail: GDALCall.lastMessage())
        }
        defer { CPLHTTPDestroyResult(result) }
        let errorText = result.pointee.pszErrBuf.map { String(cString: $0) } ?? ""
        if let match = errorText.firstMatch(of: #/HTTP error code ?: ?(\d{3})/#), let status = Int(match.1) {
            throw RasterIOError.remoteUnavailable(url: url, status: status, detail: errorText)
        }
        if result.pointee.nStatus != 0 || !errorText.isEmpty {
            throw RasterIOError.remoteUnavailable(url: url, status: 0, detail: errorText.isEmpty ? GDALCall.lastMessage() : errorText)
        }
        let count = Int(result.pointee.nDataLen)
        guard count <= maximumPageBytes else {
            throw RasterIOError.invalidArgument("\(url): a search page larger than \(maximumPageBytes >> 20) MiB; lower stac_search.limit")
        }
        let data = result.pointee.pabyData.map { Data(bytes: $0, count: count) } ?? Data()
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw RasterIOError.invalidArgument("\(url): the STAC API's answer is not a JSON object; check stac_search.url")
        }
        return object
    }
}

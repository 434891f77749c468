import Foundation
import RasterIO
import Yams

extension PipelineFile {
    /// `inputs: - stac_search: {...}` defaults (pipelines/README.md, "STAC API search").
    public enum STACSearchDefaults {
        /// `limit`: items per page asked of the server.
        public static let limit = 100
        /// `max_items`: most items read over all pages.
        public static let maxItems = 1000
    }

    /// Reads one `stac_search` mapping (``STACSearchRequest``): `url` required, `bbox` and
    /// `intersects` exclusive, `query` and `filter` exclusive, `limit` and `max_items` bounded.
    static func parseSearch(_ map: YAMLMap) throws -> STACSearchRequest {
        guard let url = try map.string("url") else { throw map.missing("url", "the STAC API's root URL, e.g. https://earth-search.aws.element84.com/v1") }
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), URL(string: url) != nil else {
            throw map.invalid("url", url, "must be an http(s) URL of a STAC API (its root; /search is added)")
        }
        let limit = try map.int("limit", in: Limits.searchLimit) ?? STACSearchDefaults.limit
        let maxItems = try map.int("max_items", in: Limits.searchMaxItems) ?? STACSearchDefaults.maxItems
        var request = STACSearchRequest(url: url, limit: limit, maxItems: maxItems)
        request.collections = try map.strings("collections") ?? []
        if let bbox = try map.strings("bbox") {
            let numbers = bbox.compactMap(Double.init).filter(\.isFinite)
            guard numbers.count == bbox.count, numbers.count == 4 || numbers.count == 6 else {
                throw map.invalid("bbox", bbox.joined(separator: ", "), "must be 4 numbers [west, south, east, north] in degrees (or 6 with heights)")
            }
            request.bbox = numbers
        }
        request.intersectsJSON = try map["intersects"].map { try json($0, key: map.key("intersects"), errors: map.errors) }
        request.queryJSON = try map["query"].map { try json($0, key: map.key("query"), errors: map.errors) }
        request.filterJSON = try map["filter"].map { try json($0, key: map.key("filter"), errors: map.errors) }
        request.datetime = try map.string("datetime")
        if request.bbox != nil && request.intersectsJSON != nil {
            throw map.invalid("intersects", "bbox and intersects", "give either bbox or intersects, not both")
        }
        if request.queryJSON != nil && request.filterJSON != nil {
            throw map.invalid("filter", "query and filter", "give either query (the Query extension) or filter (CQL2 JSON), not both")
        }
        return request
    }

    /// A YAML value as JSON text (mappings become objects, sequences arrays; plain scalars that
    /// read as numbers, booleans or null keep that type, quoted ones are strings).
    static func json(_ node: Node, key: String, errors: PipelineYAMLErrors) throws -> String {
        let value = try jsonValue(node, key: key, errors: errors)
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func jsonValue(_ node: Node, key: String, errors: PipelineYAMLErrors) throws -> Any {
        switch node {
        case .mapping(let mapping):
            var object: [String: Any] = [:]
            for (name, value) in mapping {
                guard let text = name.string else { throw errors.invalidValue(key, value: YAMLMap.show(name), reason: "has a key that is not a single value") }
                object[text] = try jsonValue(value, key: "\(key).\(text)", errors: errors)
            }
            return object
        case .sequence(let sequence):
            return try sequence.map { try jsonValue($0, key: key, errors: errors) }
        case .scalar(let scalar):
            let text = scalar.string
            guard scalar.style == .plain || scalar.style == .any else { return text }
            if let number = Int(text) { return number }
            if let number = Double(text), number.isFinite { return number }
            switch text {
            case "true": return true
            case "false": return false
            case "null", "~": return NSNull()
            default: return text
            }
        default:
            throw errors.invalidValue(key, value: YAMLMap.show(node), reason: "must be a mapping, a list or a single value (no aliases)")
        }
    }
}

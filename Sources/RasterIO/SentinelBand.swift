/// Sentinel-2 band naming: canonical names are `B01`...`B12` and `B8A` (ESA product naming).
/// Files and GDAL metadata also use `B1`, `B4`, `B08A`, lower case, or carry the name inside a file
/// name such as `T33UUU_20170216T102101_B04.jp2` or `B04_10m.jp2`; ``canonicalName(_:)`` maps all of
/// these to the canonical form.
public enum SentinelBand {
    /// All 13 Sentinel-2 MSI bands in ESA order.
    public static let all = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]

    /// Native ground sampling distance in metres of each band.
    public static let nativeResolution: [String: Double] = [
        "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
        "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
    ]

    /// EuroSAT-MS GeoTIFFs store the 13 bands as B01...B12 followed by B8A.
    public static let eurosatOrder = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12", "B8A"]

    /// The names ``namedOrder(_:)`` knows (besides its aliases `esa` and `l2a`), for help texts
    /// and messages.
    public static let namedOrders = ["eurosat", "sentinel2", "sentinel2-l2a"]

    /// Named band orders for multi-band files that carry no band names.
    public static func namedOrder(_ name: String) -> [String]? {
        switch name.lowercased() {
        case "eurosat": return eurosatOrder
        case "sentinel2", "esa": return all
        case "sentinel2-l2a", "l2a": return all.filter { $0 != "B10" }
        default: return nil
        }
    }

    /// The canonical name of a band label (`"B4"`, `"b04"`, `"B08A"` -> `"B04"`, `"B04"`, `"B8A"`),
    /// or the label itself, trimmed, when it is not a Sentinel-2 band name (e.g. `"SCL"`).
    public static func canonicalName(_ label: String) -> String {
        let trimmed = label.trimmingCharacters(in: .whitespaces)
        return sentinelName(trimmed) ?? trimmed
    }

    /// The canonical Sentinel-2 name when `label` is exactly a band label, else nil.
    static func sentinelName(_ label: String) -> String? {
        let upper = label.uppercased()
        guard upper.hasPrefix("B"), upper.count >= 2, upper.count <= 4 else { return nil }
        var digits = upper.dropFirst()
        if digits.hasSuffix("A") {
            digits = digits.dropLast()
            guard let n = Int(digits), n == 8 else { return nil }
            return "B8A"
        }
        guard digits.allSatisfy(\.isNumber), let n = Int(digits), (1...12).contains(n) else { return nil }
        return n < 10 ? "B0\(n)" : "B\(n)"
    }

    /// Auxiliary Sentinel-2 layers recognized in file names (scene classification, aerosol, water
    /// vapour, cloud and snow probabilities). They are stacked only when asked for by name.
    public static let auxiliaryLayers: Set<String> = ["SCL", "AOT", "WVP", "CLD", "SNW", "CLDPRB", "SNWPRB"]

    /// Layers whose values are class codes, not measurements: resampled with nearest (up) and mode
    /// (down) by default (see ``Resampling/defaultMethod(sourceResolution:targetResolution:categorical:)``).
    public static let categoricalLayers: Set<String> = ["SCL"]

    /// Finds a band name inside a file name: the last `_`/`-`/`.`-separated token that is a band label
    /// (`T33UUU_20170216T102101_B8A.jp2` -> `B8A`, `B05.tif` -> `B05`, `x_B04_10m.jp2` -> `B04`).
    public static func nameInFileName(_ fileName: String) -> String? {
        let base = fileName.split(separator: "/").last.map(String.init) ?? fileName
        let tokens = base.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." }).map(String.init)
        if let band = tokens.reversed().lazy.compactMap({ sentinelName($0) }).first { return band }
        return tokens.reversed().first { auxiliaryLayers.contains($0.uppercased()) }?.uppercased()
    }
}

import Foundation

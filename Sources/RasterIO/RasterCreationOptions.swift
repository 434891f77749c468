import CGDAL
import Foundation

/// GDAL creation options given by the user (`--co KEY=VALUE`, the pipeline key
/// `output.creation_options`) for the rasters landcover writes: added to landcover's own options
/// for the driver that makes the final file (GTiff's `GDALCreate`, or the COG driver's copy),
/// replacing an option of the same key.
public enum RasterCreationOptions {
    /// Keys landcover sets from a setting of its own, with the setting to use instead.
    public static let reserved = ["COMPRESS": "output.compression (--compression)"]

    /// `KEY=VALUE,...`, keys sorted: the options as one text (messages, provenance).
    public static func text(_ options: [String: String]) -> String {
        options.keys.sorted().map { "\($0)=\(options[$0] ?? "")" }.joined(separator: ",")
    }

    /// Why `options` cannot be used for files of `format` (a reserved key, a key the driver does
    /// not know, a value it refuses), or nil when they can. Asks the driver's own option list
    /// (`GDALValidateCreationOptions`, as `gdal_translate -co` does).
    public static func problem(_ options: [String: String], format: RasterFormat) -> String? {
        guard !options.isEmpty else { return nil }
        for key in options.keys.sorted() {
            if key.isEmpty || key.contains("=") || key.contains(where: { $0.isWhitespace }) {
                return "'\(key)' is not a creation option name; give KEY=VALUE (e.g. BLOCKSIZE=256)"
            }
            if let setting = reserved[key] { return "\(key) is set by \(setting); use that instead" }
        }
        GDALEnvironment.ensureInitialized()
        guard let driver = GDALGetDriverByName(format.rawValue) else {
            return "GDAL has no \(format.rawValue) driver to check the options against"
        }
        for key in options.keys.sorted() {
            GDALCall.reset()
            let valid = GDALCall.withStringList(["\(key)=\(options[key] ?? "")"]) { list in GDALValidateCreationOptions(driver, list) }
            if valid == 0 {
                let message = GDALCall.lastMessage()
                return "\(key)=\(options[key] ?? ""): the \(format.rawValue) driver refuses it\(message.isEmpty ? "" : " (GDAL: \(message))"); see `gdalinfo --format \(format.rawValue)` for its creation options"
            }
        }
        return nil
    }

    /// `defaults` (`KEY=VALUE` strings) with every key of `user` replaced or added.
    static func merged(_ defaults: [String], _ user: [String: String]) -> [String] {
        let kept = defaults.filter { item in
            let key = item.split(separator: "=", maxSplits: 1).first.map { String($0).uppercased() } ?? item
            return user[key] == nil
        }
        return kept + user.keys.sorted().map { "\($0)=\(user[$0] ?? "")" }
    }
}

import Foundation

/// When a scene was acquired, and where that was read.
///
/// Looked up, in this order:
/// 1. metadata of the files the scene reads (each distinct source opened once, default domain):
///    `PRODUCT_START_TIME`, `DATATAKE_1_DATATAKE_SENSING_START`, `SENSING_TIME`, `SENSING_START`
///    (Sentinel-2 SAFE products through GDAL's SENTINEL2 driver), `ACQUISITIONDATETIME`,
///    `ACQUISITION_DATETIME`, `ACQUISITION_DATE_TIME`, `ACQUISITION_TIME`, `DATETIME_ORIGINAL`
///    (GeoTIFF metadata items);
/// 2. a `YYYYMMDDTHHMMSS` stamp in a file or folder name (`T33UUU_20170216T102101_B02.jp2`,
///    `S2A_MSIL1C_20170216T102101_N0204_...SAFE`: the first stamp is the sensing start);
/// 3. the `TIFFTAG_DATETIME` tag (TIFF's "date and time of image creation", which many
///    producers set to the acquisition time but some to the processing time, hence last).
/// Times without a zone are taken as UTC.
public struct AcquisitionTime: Sendable, Equatable {
    /// The time as RFC 3339 UTC text, e.g. `2017-02-16T10:21:01.026Z` (fraction as given, at most 6 digits).
    public var text: String
    /// Where it was found, e.g. `PRODUCT_START_TIME metadata of MTD_MSIL1C.xml` or
    /// `file name T33UUU_20170216T102101_B02.jp2`.
    public var source: String

    /// Creates a value.
    public init(text: String, source: String) {
        self.text = text
        self.source = source
    }

    /// Metadata items naming the acquisition (sensing) start, most specific first.
    public static let metadataKeys = ["PRODUCT_START_TIME", "DATATAKE_1_DATATAKE_SENSING_START", "SENSING_TIME", "SENSING_START",
                                      "ACQUISITIONDATETIME", "ACQUISITION_DATETIME", "ACQUISITION_DATE_TIME", "ACQUISITION_TIME",
                                      "DATETIME_ORIGINAL"]

    /// The acquisition time of `scene` (see the type's documentation), or nil when none of its
    /// files carries one. Files that cannot be opened are skipped.
    public static func find(in scene: Scene) -> AcquisitionTime? {
        var sources: [String] = []
        for band in scene.bands where !sources.contains(band.sourcePath) { sources.append(band.sourcePath) }
        var tiffTag: AcquisitionTime?
        for source in sources {
            guard let dataset = try? RasterDataset(path: source) else { continue }
            let metadata = dataset.metadata()
            let label = displayName(source)
            for key in metadataKeys {
                if let value = metadata[key], let text = parse(value) {
                    return AcquisitionTime(text: text, source: "\(key) metadata of \(label)")
                }
            }
            if tiffTag == nil, let value = metadata["TIFFTAG_DATETIME"], let text = parse(value) {
                tiffTag = AcquisitionTime(text: text, source: "TIFFTAG_DATETIME of \(label)")
            }
        }
        for name in sources.map(displayName) + scene.inputs.map({ URL(fileURLWithPath: $0).lastPathComponent }) {
            if let text = stamp(inName: name) { return AcquisitionTime(text: text, source: "file name \(name)") }
        }
        return tiffTag
    }

    /// The file name of a source: the last path component, or for a GDAL connection string
    /// (`SENTINEL2_L1C:/path/MTD_MSIL1C.xml:10m:EPSG_32633`) that of its file part.
    static func displayName(_ source: String) -> String {
        let file = source.split(separator: ":").first { $0.contains("/") }.map(String.init) ?? source
        return URL(fileURLWithPath: file).lastPathComponent
    }

    /// The first `YYYYMMDDTHHMMSS` stamp in `name` (not part of a longer digit run), as RFC 3339 UTC.
    public static func stamp(inName name: String) -> String? {
        let c = Array(name.utf8)
        guard c.count >= 15 else { return nil }
        func digit(_ i: Int) -> Bool { c[i] >= 48 && c[i] <= 57 }
        for i in 0...(c.count - 15) {
            guard (0..<8).allSatisfy({ digit(i + $0) }), c[i + 8] == UInt8(ascii: "T"),
                  (9..<15).allSatisfy({ digit(i + $0) }) else { continue }
            if i > 0 && digit(i - 1) { continue }
            if i + 15 < c.count && digit(i + 15) { continue }
            let s = String(decoding: c[i..<(i + 15)], as: UTF8.self)
            let text = "\(s.prefix(4))-\(s.dropFirst(4).prefix(2))-\(s.dropFirst(6).prefix(2))T\(s.dropFirst(9).prefix(2)):\(s.dropFirst(11).prefix(2)):\(s.dropFirst(13).prefix(2))Z"
            if let valid = parse(text) { return valid }
        }
        return nil
    }

    /// Parses a date-time as metadata carry it, into RFC 3339 UTC text: `2017-02-16T10:21:01.026Z`,
    /// `2017-02-16T10:21:01+01:00`, `2017-02-16 10:21:01`, TIFF's `2017:02:16 10:21:01`. Nil for
    /// anything else, dates alone included, and for out-of-range fields.
    public static func parse(_ value: String) -> String? {
        let c = Array(value.trimmingCharacters(in: .whitespaces).utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= c.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                guard c[i] >= 48 && c[i] <= 57 else { return nil }
                n = n * 10 + Int(c[i] - 48)
            }
            return n
        }
        guard c.count >= 19, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              "-:".utf8.contains(c[4]), c[7] == c[4], "T t".utf8.contains(c[10]), c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":"),
              (1900...2200).contains(year), (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var fraction = ""
        if index < c.count, c[index] == UInt8(ascii: ".") {
            index += 1
            while index < c.count, c[index] >= 48 && c[index] <= 57 {
                if fraction.count < 6 { fraction.append(Character(UnicodeScalar(c[index]))) }
                index += 1
            }
        }
        var offsetMinutes = 0
        if index < c.count {
            let zone = c[index]
            if zone == UInt8(ascii: "Z") || zone == UInt8(ascii: "z") {
                index += 1
            } else if zone == UInt8(ascii: "+") || zone == UInt8(ascii: "-"), let h = number(index + 1, 2) {
                let m = index + 3 < c.count && c[index + 3] == UInt8(ascii: ":") ? number(index + 4, 2) : number(index + 3, 2)
                guard let m, h < 24, m < 60 else { return nil }
                offsetMinutes = (h * 60 + m) * (zone == UInt8(ascii: "+") ? 1 : -1)
                index += c.count > index + 3 && c[index + 3] == UInt8(ascii: ":") ? 6 : 5
            } else {
                return nil
            }
        }
        guard index == c.count else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
        guard let local = calendar.date(from: components),
              calendar.component(.day, from: local) == day else { return nil }  // rejects 2017-02-30
        let date = local.addingTimeInterval(TimeInterval(-offsetMinutes * 60))
        let f = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        guard let y = f.year, let mo = f.month, let d = f.day, let h = f.hour, let mi = f.minute, let s = f.second else { return nil }
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, s) + (fraction.isEmpty ? "" : ".\(fraction)") + "Z"
    }
}

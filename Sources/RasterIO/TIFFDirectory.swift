#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few baseline tags of one little-endian TIFF or BigTIFF image file directory (IFD) that
/// decide whether ``DirectTileReader`` can decode the image's tiles itself.
///
/// Only integer tags are kept (SHORT, LONG, LONG8 values); a listed tag of another type makes the
/// whole directory unusable (nil), so that nothing is guessed.
struct TIFFDirectory {
    /// Tag -> values, for the tags in ``wanted``.
    private(set) var tags: [UInt16: [UInt64]] = [:]

    static let imageWidth: UInt16 = 256, imageLength: UInt16 = 257, bitsPerSample: UInt16 = 258
    static let compression: UInt16 = 259, photometric: UInt16 = 262, fillOrder: UInt16 = 266
    static let samplesPerPixel: UInt16 = 277, planarConfig: UInt16 = 284, predictor: UInt16 = 317
    static let tileWidth: UInt16 = 322, tileLength: UInt16 = 323, sampleFormat: UInt16 = 339
    private static let wanted: Set<UInt16> = [imageWidth, imageLength, bitsPerSample, compression, photometric, fillOrder,
                                              samplesPerPixel, planarConfig, predictor, tileWidth, tileLength, sampleFormat]

    /// The first value of `tag`, or `defaultValue` when the tag is absent.
    func value(_ tag: UInt16, default defaultValue: UInt64? = nil) -> UInt64? {
        if let values = tags[tag] { return values.first }
        return defaultValue
    }

    /// All values of `tag` (nil when absent).
    func values(_ tag: UInt16) -> [UInt64]? { tags[tag] }

    /// Reads the directory at `offset` of the little-endian TIFF open as `fd`; nil when the file is
    /// big-endian, not a TIFF, or the directory cannot be read exactly.
    static func read(fd: Int32, offset: UInt64) -> TIFFDirectory? {
        var header = [UInt8](repeating: 0, count: 8)
        guard preadFully(fd, &header, count: 8, at: 0) == 8 else { return nil }
        guard header[0] == 0x49, header[1] == 0x49 else { return nil }  // "II": little-endian only
        let version = le16(header, 2)
        let big: Bool
        switch version {
        case 42: big = false
        case 43:
            guard le16(header, 4) == 8 else { return nil }
            big = true
        default: return nil
        }
        var countBytes = [UInt8](repeating: 0, count: 8)
        let countSize = big ? 8 : 2
        guard preadFully(fd, &countBytes, count: countSize, at: offset) == countSize else { return nil }
        let count = big ? le64(countBytes, 0) : UInt64(le16(countBytes, 0))
        guard count > 0, count <= 4096 else { return nil }
        let entrySize = big ? 20 : 12
        let total = Int(count) * entrySize
        var entries = [UInt8](repeating: 0, count: total)
        guard preadFully(fd, &entries, count: total, at: offset + UInt64(countSize)) == total else { return nil }

        var directory = TIFFDirectory()
        for e in 0..<Int(count) {
            let base = e * entrySize
            let tag = le16(entries, base)
            guard wanted.contains(tag) else { continue }
            let type = le16(entries, base + 2)
            let valueCount = big ? le64(entries, base + 4) : UInt64(le32(entries, base + 4))
            let size: Int
            switch type {
            case 3: size = 2      // SHORT
            case 4: size = 4      // LONG
            case 16: size = 8     // LONG8
            default: return nil
            }
            guard valueCount >= 1, valueCount <= 65_536 else { return nil }
            let byteCount = Int(valueCount) * size
            let inlineSize = big ? 8 : 4
            let valueField = base + (big ? 12 : 8)
            var bytes: [UInt8]
            if byteCount <= inlineSize {
                bytes = Array(entries[valueField..<(valueField + byteCount)])
            } else {
                let at = big ? le64(entries, valueField) : UInt64(le32(entries, valueField))
                bytes = [UInt8](repeating: 0, count: byteCount)
                guard preadFully(fd, &bytes, count: byteCount, at: at) == byteCount else { return nil }
            }
            var values: [UInt64] = []
            values.reserveCapacity(Int(valueCount))
            for i in 0..<Int(valueCount) {
                switch size {
                case 2: values.append(UInt64(le16(bytes, i * 2)))
                case 4: values.append(UInt64(le32(bytes, i * 4)))
                default: values.append(le64(bytes, i * 8))
                }
            }
            directory.tags[tag] = values
        }
        return directory
    }

    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(le16(b, i)) | UInt32(le16(b, i + 2)) << 16 }
    private static func le64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32 }
}

/// Reads `count` bytes at `offset` (retrying short reads and EINTR): the number read (less at end
/// of file), or -errno on an I/O error.
func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, at offset: UInt64) -> Int {
    guard offset <= UInt64(Int64.max) - UInt64(count) else { return 0 }
    var done = 0
    while done < count {
        let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
        if n > 0 {
            done += n
        } else if n == 0 {
            break
        } else if errno != EINTR {
            return -Int(errno)
        }
    }
    return done
}

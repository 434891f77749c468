#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few baseline tags of one little-endian TIFF or BigTIFF image file directory (IFD) that
/// decide whether ``DirectTileReader`` can decode the image's tiles itself.
///
/// Only integer tags are kept (SHORT, LONG, LONG8 values); a listed tag of another type makes the
/// whole directory unusable (``usable`` false), so that nothing is guessed. The strip and tile
/// tables are not read, only their field types and entry counts (see ``tableProblem(fileSize:tiles:)``).
struct TIFFDirectory {
    /// Tag -> values, for the tags in ``wanted``.
    private(set) var tags: [UInt16: [UInt64]] = [:]
    /// Field type and value count of the offset and byte-count tables (strip or tile), whose
    /// values are not read here: they are as many as the image has strips or tiles.
    private(set) var tables: [UInt16: (type: UInt16, count: UInt64)] = [:]
    /// True for a BigTIFF (version 43) file.
    private(set) var isBigTIFF = false
    /// False when a tag in ``wanted`` has a type or count this reader does not take (the tables
    /// are still recorded); ``DirectTileReader`` then leaves the file to GDAL.
    private(set) var usable = true

    static let imageWidth: UInt16 = 256, imageLength: UInt16 = 257, bitsPerSample: UInt16 = 258
    static let compression: UInt16 = 259, photometric: UInt16 = 262, fillOrder: UInt16 = 266
    static let samplesPerPixel: UInt16 = 277, planarConfig: UInt16 = 284, predictor: UInt16 = 317
    static let tileWidth: UInt16 = 322, tileLength: UInt16 = 323, sampleFormat: UInt16 = 339
    static let stripOffsets: UInt16 = 273, stripByteCounts: UInt16 = 279, tileOffsets: UInt16 = 324, tileByteCounts: UInt16 = 325
    private static let tableTags: Set<UInt16> = [stripOffsets, stripByteCounts, tileOffsets, tileByteCounts]
    private static let wanted: Set<UInt16> = [imageWidth, imageLength, bitsPerSample, compression, photometric, fillOrder,
                                              samplesPerPixel, planarConfig, predictor, tileWidth, tileLength, sampleFormat]

    /// The first value of `tag`, or `defaultValue` when the tag is absent.
    func value(_ tag: UInt16, default defaultValue: UInt64? = nil) -> UInt64? {
        if let values = tags[tag] { return values.first }
        return defaultValue
    }

    /// All values of `tag` (nil when absent).
    func values(_ tag: UInt16) -> [UInt64]? { tags[tag] }

    /// Reads the directory at `offset` of the TIFF open as `fd`; nil when the file is not a TIFF
    /// or the directory itself cannot be read. A big-endian file's directory is read (its tables
    /// can be checked) but is not ``usable``.
    static func read(fd: Int32, offset: UInt64) -> TIFFDirectory? {
        var header = [UInt8](repeating: 0, count: 8)
        guard preadFully(fd, &header, count: 8, at: 0) == 8 else { return nil }
        let swapped: Bool
        switch (header[0], header[1]) {
        case (0x49, 0x49): swapped = false  // "II": little-endian
        case (0x4D, 0x4D): swapped = true   // "MM": big-endian
        default: return nil
        }
        let order = ByteOrder(swapped: swapped)
        let version = order.u16(header, 2)
        let big: Bool
        switch version {
        case 42: big = false
        case 43:
            guard order.u16(header, 4) == 8 else { return nil }
            big = true
        default: return nil
        }
        var countBytes = [UInt8](repeating: 0, count: 8)
        let countSize = big ? 8 : 2
        guard preadFully(fd, &countBytes, count: countSize, at: offset) == countSize else { return nil }
        let count = big ? order.u64(countBytes, 0) : UInt64(order.u16(countBytes, 0))
        guard count > 0, count <= 4096 else { return nil }
        let entrySize = big ? 20 : 12
        let total = Int(count) * entrySize
        var entries = [UInt8](repeating: 0, count: total)
        guard preadFully(fd, &entries, count: total, at: offset + UInt64(countSize)) == total else { return nil }

        var directory = TIFFDirectory()
        directory.isBigTIFF = big
        directory.usable = !swapped
        for e in 0..<Int(count) {
            let base = e * entrySize
            let tag = order.u16(entries, base)
            let type = order.u16(entries, base + 2)
            let valueCount = big ? order.u64(entries, base + 4) : UInt64(order.u32(entries, base + 4))
            if tableTags.contains(tag) {
                directory.tables[tag] = (type, valueCount)
                continue
            }
            guard wanted.contains(tag) else { continue }
            let size: Int
            switch type {
            case 3: size = 2      // SHORT
            case 4: size = 4      // LONG
            case 16: size = 8     // LONG8
            default: directory.usable = false; continue
            }
            guard valueCount >= 1, valueCount <= 65_536 else { directory.usable = false; continue }
            let byteCount = Int(valueCount) * size
            let inlineSize = big ? 8 : 4
            let valueField = base + (big ? 12 : 8)
            var bytes: [UInt8]
            if byteCount <= inlineSize {
                bytes = Array(entries[valueField..<(valueField + byteCount)])
            } else {
                let at = big ? order.u64(entries, valueField) : UInt64(order.u32(entries, valueField))
                bytes = [UInt8](repeating: 0, count: byteCount)
                guard preadFully(fd, &bytes, count: byteCount, at: at) == byteCount else { directory.usable = false; continue }
            }
            var values: [UInt64] = []
            values.reserveCapacity(Int(valueCount))
            for i in 0..<Int(valueCount) {
                switch size {
                case 2: values.append(UInt64(order.u16(bytes, i * 2)))
                case 4: values.append(UInt64(order.u32(bytes, i * 4)))
                default: values.append(order.u64(bytes, i * 8))
                }
            }
            directory.tags[tag] = values
        }
        return directory
    }

    /// Bytes of one value of TIFF field type `type` (BYTE ... IFD8), nil for an unknown type.
    static func fieldSize(_ type: UInt16) -> Int? {
        switch type {
        case 1, 2, 6, 7: return 1
        case 3, 8: return 2
        case 4, 9, 11, 13: return 4
        case 5, 10, 12, 16, 17, 18: return 8
        default: return nil
        }
    }

    /// Checks the base image's strip or tile tables against the file's size before anything is
    /// sized from the header: a table cannot hold more entries than the file has bytes for, and
    /// a tiled image needs one entry per tile (`tiles`, planes included). A header that claims
    /// 65536 x 65536 pixels in a 350-byte file is refused here instead of making readers allocate
    /// tables for 16 million tiles.
    /// - Returns: nil when the tables are plausible, else what is wrong (for an error message).
    func tableProblem(fileSize: UInt64, tiles: UInt64) -> String? {
        let tiled = tables[Self.tileOffsets] != nil || tags[Self.tileWidth] != nil
        let offsetsTag = tiled ? Self.tileOffsets : Self.stripOffsets
        let countsTag = tiled ? Self.tileByteCounts : Self.stripByteCounts
        let what = tiled ? "tile" : "strip"
        let inline: UInt64 = isBigTIFF ? 8 : 4
        for tag in [offsetsTag, countsTag] {
            let name = tag == offsetsTag ? "\(what) offsets" : "\(what) byte counts"
            // libtiff derives missing byte counts of uncompressed strips; offsets are required.
            guard let table = tables[tag] else {
                if tag == countsTag { continue }
                return "it has no table of \(name)"
            }
            guard let size = Self.fieldSize(table.type) else { return "its table of \(name) has field type \(table.type)" }
            let (bytes, overflow) = table.count.multipliedReportingOverflow(by: UInt64(size))
            if overflow || bytes > inline && bytes > fileSize {
                return "its table of \(name) declares \(table.count) entries (\(overflow ? "more than 2^64" : "\(bytes)") bytes) but the file has \(fileSize) bytes"
            }
            if tiled && table.count < tiles {
                return "its image needs \(tiles) tiles but its table of \(name) has \(table.count) entries"
            }
        }
        return nil
    }

    /// The file's byte order (II or MM).
    private struct ByteOrder {
        let swapped: Bool
        func u16(_ b: [UInt8], _ i: Int) -> UInt16 {
            swapped ? UInt16(b[i]) << 8 | UInt16(b[i + 1]) : UInt16(b[i]) | UInt16(b[i + 1]) << 8
        }
        func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
            swapped ? UInt32(u16(b, i)) << 16 | UInt32(u16(b, i + 2)) : UInt32(u16(b, i)) | UInt32(u16(b, i + 2)) << 16
        }
        func u64(_ b: [UInt8], _ i: Int) -> UInt64 {
            swapped ? UInt64(u32(b, i)) << 32 | UInt64(u32(b, i + 4)) : UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32
        }
    }
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

import CDeflate
import CGDAL
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes the tiles of a plain tiled GeoTIFF itself instead of going through GDAL and libtiff:
/// `pread` of the compressed bytes, libdeflate's zlib decompressor, a register-carried undo of the
/// horizontal predictor and a copy of the window's part into the caller's band-sequential buffer.
/// It gives exactly GDAL's values, without libtiff's scalar predictor loop, GDAL's block cache
/// and its copies.
///
/// It applies only to the base image of a local, little-endian GeoTIFF (classic or BigTIFF) that
/// GDAL opened with the GTiff driver and that is
/// - tiled (tile width and height multiples of 16, greater than 1),
/// - uncompressed or DEFLATE (TIFF compression 1, 8 or 32946), predictor 1 or (DEFLATE only) 2,
/// - 8- or 16-bit unsigned integer samples (no NBITS, no signed bytes), fill order 1,
/// - planar configuration separate (`INTERLEAVE=BAND`) or contiguous (`INTERLEAVE=PIXEL`),
///   photometric MinIsBlack, RGB or palette,
/// - with nodata values (if any) that the sample type represents exactly,
///
/// as seen both by GDAL (driver, data type, block size, `IMAGE_STRUCTURE` metadata) and by its own
/// reading of the image's directory (GDAL's `IFD_OFFSET`). Tile offsets and byte counts come from
/// GDAL (`BLOCK_OFFSET_x_y` and `BLOCK_SIZE_x_y` in the `TIFF` domain); a tile that is not in the
/// file (sparse) reads as the band's nodata value or 0, like GDAL. Anything else stays on GDAL's
/// path, and `LANDCOVER_GDAL_READS=1` sends every read there.
///
/// Not thread-safe, like the ``RasterDataset`` that owns it (one per dataset, one file
/// descriptor, reused scratch buffers).
final class DirectTileReader {
    /// True when `LANDCOVER_GDAL_READS` is set to anything but empty or `0`.
    static let disabledByEnvironment: Bool = {
        guard let raw = getenv("LANDCOVER_GDAL_READS") else { return false }
        let value = String(cString: raw)
        return !value.isEmpty && value != "0"
    }()

    let path: String
    private let fd: Int32
    private let bandHandles: [GDALRasterBandH]
    private let tileWidth: Int, tileHeight: Int, tilesAcross: Int, tilesDown: Int
    private let bytesPerSample: Int
    /// Samples per pixel in a decoded tile: 1 for separate planes, the band count for contiguous.
    private let pixelStride: Int
    private let separate: Bool
    private let deflate: Bool
    private let predictor: Int
    /// Samples in one row of a decoded tile.
    private let rowSamples: Int
    /// Bytes of one decoded tile (tiles are always stored whole, edge tiles included).
    private let tileBytes: Int
    private let decompressor: OpaquePointer
    private var compressed: UnsafeMutableRawPointer
    private var compressedCapacity: Int
    private let tile: UnsafeMutableRawPointer
    /// Tiles looked up so far (index: plane, row, column): byte offset and count, nil when the
    /// tile is not stored (sparse). Filled as tiles are read, so its size follows the reads, not
    /// the tile count the header declares.
    private var locations: [Int: (offset: UInt64, size: UInt64)?] = [:]
    /// Tiles decoded so far (a diagnostic; see ``RasterDataset/directTileReads``).
    private(set) var tilesDecoded = 0

    private init(path: String, fd: Int32, bandHandles: [GDALRasterBandH], tileWidth: Int, tileHeight: Int,
                 width: Int, height: Int, bytesPerSample: Int, separate: Bool, deflate: Bool, predictor: Int,
                 decompressor: OpaquePointer) {
        self.path = path
        self.fd = fd
        self.bandHandles = bandHandles
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        self.tilesAcross = (width + tileWidth - 1) / tileWidth
        self.tilesDown = (height + tileHeight - 1) / tileHeight
        self.bytesPerSample = bytesPerSample
        self.separate = separate
        self.pixelStride = separate ? 1 : bandHandles.count
        self.deflate = deflate
        self.predictor = predictor
        self.rowSamples = tileWidth * pixelStride
        self.tileBytes = rowSamples * tileHeight * bytesPerSample
        self.decompressor = decompressor
        self.compressedCapacity = deflate ? tileBytes / 2 : 0
        self.compressed = UnsafeMutableRawPointer.allocate(byteCount: max(compressedCapacity, 1), alignment: 64)
        self.tile = UnsafeMutableRawPointer.allocate(byteCount: tileBytes, alignment: 64)
    }

    deinit {
        close(fd)
        libdeflate_free_decompressor(decompressor)
        compressed.deallocate()
        tile.deallocate()
    }

    /// A reader for `dataset`, or nil when its file is not one this reader decodes exactly as GDAL
    /// does (see the type's documentation) or `LANDCOVER_GDAL_READS` is set.
    static func make(for dataset: RasterDataset) -> DirectTileReader? {
        guard !disabledByEnvironment, UInt16(1).littleEndian == 1, dataset.driverName == "GTiff",
              let first = dataset.bands.first, !dataset.path.hasPrefix("/vsi") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataset.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        let bytesPerSample: Int
        switch first.dataType {
        case .byte: bytesPerSample = 1
        case .uint16: bytesPerSample = 2
        default: return nil
        }
        let tileWidth = first.blockWidth, tileHeight = first.blockHeight
        // Tiles of at most 64 MiB decoded (scratch memory); bigger ones are left to GDAL.
        guard tileWidth > 1, tileHeight > 1, tileWidth % 16 == 0, tileHeight % 16 == 0,
              tileWidth <= 1 << 16, tileHeight <= 1 << 16,
              tileWidth * tileHeight * dataset.bands.count * bytesPerSample <= 1 << 26 else { return nil }
        for band in dataset.bands {
            guard band.dataType == first.dataType, band.blockWidth == tileWidth, band.blockHeight == tileHeight else { return nil }
            if let nodata = band.nodata {
                let exact = bytesPerSample == 1 ? UInt8(exactly: nodata) != nil : UInt16(exactly: nodata) != nil
                guard exact else { return nil }
            }
        }
        // GDAL's view of the structure.
        let structure = dataset.metadata(domain: "IMAGE_STRUCTURE")
        let gdalCompression = structure["COMPRESSION"]
        guard gdalCompression == nil || gdalCompression == "DEFLATE", structure["NBITS"] == nil, structure["PIXELTYPE"] == nil
        else { return nil }
        var handles: [GDALRasterBandH] = []
        for band in dataset.bands {
            guard let handle = GDALGetRasterBand(dataset.handle, Int32(band.index)) else { return nil }
            let bandStructure = dataset.bandMetadata(band.index, domain: "IMAGE_STRUCTURE")
            guard bandStructure["NBITS"] == nil, bandStructure["PIXELTYPE"] == nil else { return nil }
            handles.append(handle)
        }
        guard let ifdText = GDALGetMetadataItem(handles[0], "IFD_OFFSET", "TIFF"),
              let ifdOffset = UInt64(String(cString: ifdText)), ifdOffset > 0 else { return nil }

        // The file's own view: the image directory GDAL reads.
        let fd = open(dataset.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var handedOver = false
        defer { if !handedOver { close(fd) } }
        guard let directory = TIFFDirectory.read(fd: fd, offset: ifdOffset), directory.usable else { return nil }
        let bandCount = handles.count
        guard directory.value(TIFFDirectory.imageWidth) == UInt64(dataset.width),
              directory.value(TIFFDirectory.imageLength) == UInt64(dataset.height),
              directory.value(TIFFDirectory.tileWidth) == UInt64(tileWidth),
              directory.value(TIFFDirectory.tileLength) == UInt64(tileHeight),
              directory.value(TIFFDirectory.samplesPerPixel, default: 1) == UInt64(bandCount),
              let bits = directory.values(TIFFDirectory.bitsPerSample), bits.allSatisfy({ $0 == UInt64(8 * bytesPerSample) }),
              directory.values(TIFFDirectory.sampleFormat)?.allSatisfy({ $0 == 1 }) ?? true,
              directory.value(TIFFDirectory.fillOrder, default: 1) == 1,
              let photometric = directory.value(TIFFDirectory.photometric, default: 1), [1, 2, 3].contains(photometric),
              let planar = directory.value(TIFFDirectory.planarConfig, default: 1), planar == 1 || planar == 2,
              let compression = directory.value(TIFFDirectory.compression, default: 1),
              let predictor = directory.value(TIFFDirectory.predictor, default: 1)
        else { return nil }
        let deflate: Bool
        switch compression {
        case 1:
            guard gdalCompression == nil, predictor == 1 else { return nil }
            deflate = false
        case 8, 32946:
            guard gdalCompression == "DEFLATE", predictor == 1 || predictor == 2 else { return nil }
            deflate = true
        default:
            return nil
        }
        guard let decompressor = libdeflate_alloc_decompressor() else { return nil }
        handedOver = true
        return DirectTileReader(path: dataset.path, fd: fd, bandHandles: handles, tileWidth: tileWidth, tileHeight: tileHeight,
                                width: dataset.width, height: dataset.height, bytesPerSample: bytesPerSample,
                                separate: planar == 2 || bandCount == 1, deflate: deflate, predictor: Int(predictor),
                                decompressor: decompressor)
    }

    /// True when ``read(inside:window:bands:values:fills:)`` handles this sample type.
    static func handles<Sample: RasterSample>(_: Sample.Type) -> Bool {
        Sample.self == UInt16.self || Sample.self == Float.self
    }

    /// Reads the part `inside` (within the raster) of `window` for the 1-based `bands` into the
    /// band-sequential `values` laid out for `window`; sparse tiles get `fills` (one per band).
    /// - Throws: ``RasterIOError/damagedFile(path:detail:)`` when a tile cannot be read or decoded.
    func read<Sample: RasterSample>(inside: RasterWindow, window: RasterWindow, bands: [Int],
                                    values: UnsafeMutablePointer<Sample>, fills: [Sample]) throws {
        let plane = window.width * window.height
        for ty in (inside.row / tileHeight)...((inside.rowEnd - 1) / tileHeight) {
            let y0 = max(inside.row, ty * tileHeight), y1 = min(inside.rowEnd, (ty + 1) * tileHeight)
            for tx in (inside.column / tileWidth)...((inside.columnEnd - 1) / tileWidth) {
                let x0 = max(inside.column, tx * tileWidth), x1 = min(inside.columnEnd, (tx + 1) * tileWidth)
                let part = TilePart(firstRow: y0 - ty * tileHeight, rows: y1 - y0, firstColumn: x0 - tx * tileWidth, columns: x1 - x0,
                                    destination: (y0 - window.row) * window.width + (x0 - window.column), destinationStride: window.width)
                if separate {
                    for (i, b) in bands.enumerated() {
                        let destination = values + i * plane + part.destination
                        if try decode(plane: b - 1, column: tx, row: ty, part: part) {
                            copy(part, channel: 0, to: destination)
                        } else {
                            Self.fill(destination, stride: part.destinationStride, rows: part.rows, columns: part.columns, with: fills[i])
                        }
                    }
                } else if try decode(plane: 0, column: tx, row: ty, part: part) {
                    for (i, b) in bands.enumerated() {
                        copy(part, channel: b - 1, to: values + i * plane + part.destination)
                    }
                } else {
                    for i in bands.indices {
                        Self.fill(values + i * plane + part.destination, stride: part.destinationStride, rows: part.rows,
                                  columns: part.columns, with: fills[i])
                    }
                }
            }
        }
    }

    /// The part of one tile a read needs: tile rows and columns, and where it goes.
    private struct TilePart {
        var firstRow: Int, rows: Int, firstColumn: Int, columns: Int
        /// Offset of the part's first pixel in a band plane of the destination, and its row stride.
        var destination: Int, destinationStride: Int
    }

    // MARK: - Tiles

    private func damaged(_ plane: Int, _ column: Int, _ row: Int, _ detail: String) -> RasterIOError {
        let band = separate ? "band \(plane + 1)" : "all bands"
        return .damagedFile(path: path, detail: "tile (\(column), \(row)) of \(band): \(detail)")
    }

    /// The tile's byte offset and count from GDAL, nil when the tile is not stored (sparse).
    private func locate(plane: Int, column: Int, row: Int) throws -> (offset: UInt64, size: UInt64)? {
        let index = (plane * tilesDown + row) * tilesAcross + column
        if let known = locations[index] { return known }
        let band = bandHandles[plane]
        GDALCall.reset()
        let offsetText = GDALGetMetadataItem(band, "BLOCK_OFFSET_\(column)_\(row)", "TIFF").map { String(cString: $0) }
        let sizeText = GDALGetMetadataItem(band, "BLOCK_SIZE_\(column)_\(row)", "TIFF").map { String(cString: $0) }
        if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
            throw damaged(plane, column, row, "its offset cannot be read (GDAL: \(GDALCall.lastMessage()))")
        }
        guard let offsetText, let sizeText else {
            locations[index] = .some(nil)
            return nil
        }
        guard let offset = UInt64(offsetText), let size = UInt64(sizeText) else {
            throw damaged(plane, column, row, "GDAL reports offset '\(offsetText)' and size '\(sizeText)'")
        }
        guard size > 0 else {
            locations[index] = .some(nil)
            return nil
        }
        locations[index] = (offset, size)
        return (offset, size)
    }

    /// Reads and decodes one tile into `tile` and undoes the predictor on the rows and columns
    /// `part` needs; false when the tile is sparse.
    private func decode(plane: Int, column: Int, row: Int, part: TilePart) throws -> Bool {
        guard let (offset, size) = try locate(plane: plane, column: column, row: row) else { return false }
        if deflate {
            // A DEFLATE stream of a tile is never much longer than the tile; bytes past the stream's
            // end are ignored (as by libtiff), so a bigger recorded size need not be read.
            let wanted = Int(min(size, UInt64(tileBytes + tileBytes / 16 + 4096)))
            if wanted > compressedCapacity {
                compressed.deallocate()
                compressedCapacity = wanted
                compressed = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 64)
            }
            let got = preadFully(fd, compressed, count: wanted, at: offset)
            guard got == wanted else { throw shortRead(plane, column, row, got: got, wanted: wanted, offset: offset) }
            let result = libdeflate_zlib_decompress(decompressor, compressed, wanted, tile, tileBytes, nil)
            guard result == LIBDEFLATE_SUCCESS else {
                let reason: String
                switch result {
                case LIBDEFLATE_SHORT_OUTPUT: reason = "it inflates to fewer than the tile's \(tileBytes) bytes"
                case LIBDEFLATE_INSUFFICIENT_SPACE: reason = "it inflates to more than the tile's \(tileBytes) bytes"
                default: reason = "its \(size) DEFLATE bytes at offset \(offset) are corrupt"
                }
                throw damaged(plane, column, row, reason)
            }
        } else {
            guard size >= UInt64(tileBytes) else {
                throw damaged(plane, column, row, "\(size) bytes are stored for a tile of \(tileBytes)")
            }
            let got = preadFully(fd, tile, count: tileBytes, at: offset)
            guard got == tileBytes else { throw shortRead(plane, column, row, got: got, wanted: tileBytes, offset: offset) }
        }
        tilesDecoded += 1
        if predictor == 2 {
            let count = (part.firstColumn + part.columns) * pixelStride
            if bytesPerSample == 2 {
                Self.accumulate(tile.assumingMemoryBound(to: UInt16.self) + part.firstRow * rowSamples, rowStride: rowSamples,
                                rows: part.rows, count: count, stride: pixelStride)
            } else {
                Self.accumulate(tile.assumingMemoryBound(to: UInt8.self) + part.firstRow * rowSamples, rowStride: rowSamples,
                                rows: part.rows, count: count, stride: pixelStride)
            }
        }
        return true
    }

    private func shortRead(_ plane: Int, _ column: Int, _ row: Int, got: Int, wanted: Int, offset: UInt64) -> RasterIOError {
        if got < 0 {
            return damaged(plane, column, row, "reading \(wanted) bytes at offset \(offset) failed (\(String(cString: strerror(Int32(-got)))))")
        }
        return damaged(plane, column, row, "the file ends \(got) bytes into the tile's \(wanted) bytes at offset \(offset)")
    }

    // MARK: - Kernels

    /// Undoes TIFF predictor 2 (horizontal differencing) in place: in each of `rows` rows
    /// (`rowStride` samples apart), sample j becomes the wrapping sum of itself and sample
    /// j - `stride`, for j < `count`. One sample per pixel keeps the running sum in a register and
    /// interleaves four rows (libtiff reloads the previous sample from memory, a store-to-load
    /// dependency per sample).
    @inline(__always)
    static func accumulate<T: FixedWidthInteger & UnsignedInteger>(_ p: UnsafeMutablePointer<T>, rowStride: Int, rows: Int,
                                                                  count: Int, stride: Int) {
        guard count > stride else { return }
        if stride == 1 {
            var r = 0
            while r + 4 <= rows {
                let a = p + r * rowStride, b = a + rowStride, c = b + rowStride, d = c + rowStride
                var sa = a[0], sb = b[0], sc = c[0], sd = d[0]
                for j in 1..<count {
                    sa &+= a[j]; a[j] = sa
                    sb &+= b[j]; b[j] = sb
                    sc &+= c[j]; c[j] = sc
                    sd &+= d[j]; d[j] = sd
                }
                r += 4
            }
            while r < rows {
                let a = p + r * rowStride
                var sa = a[0]
                for j in 1..<count {
                    sa &+= a[j]; a[j] = sa
                }
                r += 1
            }
        } else {
            for r in 0..<rows {
                let row = p + r * rowStride
                for j in stride..<count {
                    row[j] &+= row[j - stride]
                }
            }
        }
    }

    /// Copies channel `channel` of `part` of the decoded tile to `destination`, converting to `Sample`.
    private func copy<Sample: RasterSample>(_ part: TilePart, channel: Int, to destination: UnsafeMutablePointer<Sample>) {
        let first = part.firstRow * rowSamples + part.firstColumn * pixelStride + channel
        if bytesPerSample == 2 {
            let source = UnsafePointer(tile.assumingMemoryBound(to: UInt16.self)) + first
            for r in 0..<part.rows {
                Self.copyRow(source + r * rowSamples, stride: pixelStride, to: destination + r * part.destinationStride, count: part.columns)
            }
        } else {
            let source = UnsafePointer(tile.assumingMemoryBound(to: UInt8.self)) + first
            for r in 0..<part.rows {
                Self.copyRow(source + r * rowSamples, stride: pixelStride, to: destination + r * part.destinationStride, count: part.columns)
            }
        }
    }

    /// One row: `count` samples `stride` apart, as UInt16 or Float32 (exact for 8- and 16-bit samples).
    @inline(__always)
    private static func copyRow<Source: FixedWidthInteger & UnsignedInteger, Sample: RasterSample>(
        _ source: UnsafePointer<Source>, stride: Int, to destination: UnsafeMutablePointer<Sample>, count: Int) {
        if Sample.self == UInt16.self {
            let d = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt16.self)
            if stride == 1 {
                if Source.self == UInt16.self {
                    UnsafeMutableRawPointer(d).copyMemory(from: source, byteCount: count * 2)
                } else {
                    for i in 0..<count { d[i] = UInt16(truncatingIfNeeded: source[i]) }
                }
            } else {
                for i in 0..<count { d[i] = UInt16(truncatingIfNeeded: source[i * stride]) }
            }
        } else if Sample.self == Float.self {
            let d = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self)
            if stride == 1 {
                for i in 0..<count { d[i] = Float(source[i]) }
            } else {
                for i in 0..<count { d[i] = Float(source[i * stride]) }
            }
        }
    }

    private static func fill<Sample>(_ destination: UnsafeMutablePointer<Sample>, stride: Int, rows: Int, columns: Int, with value: Sample) {
        for r in 0..<rows {
            (destination + r * stride).update(repeating: value, count: columns)
        }
    }
}

extension RasterDataset {
    /// Refuses a GeoTIFF whose header declares more strips or tiles than the file has bytes to
    /// list (see ``TIFFDirectory/tableProblem(fileSize:tiles:)``), before anything (GDAL's block
    /// maps, this module's readers, a scene's buffers) is sized from its width and height.
    /// Files that are not local GeoTIFFs pass unchecked.
    /// - Throws: ``RasterIOError/damagedFile(path:detail:)``.
    func checkTIFFTables() throws {
        guard driverName == "GTiff", !path.hasPrefix("/vsi"), let first = bands.first,
              first.blockWidth > 0, first.blockHeight > 0,
              let band = GDALGetRasterBand(handle, 1),
              let ifdText = GDALGetMetadataItem(band, "IFD_OFFSET", "TIFF"),
              let ifdOffset = UInt64(String(cString: ifdText)) else { return }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard let directory = TIFFDirectory.read(fd: fd, offset: ifdOffset) else { return }
        let across = UInt64((width + first.blockWidth - 1) / first.blockWidth)
        let down = UInt64((height + first.blockHeight - 1) / first.blockHeight)
        let separate = directory.value(TIFFDirectory.planarConfig, default: 1) == 2
        let planes = separate ? max(1, directory.value(TIFFDirectory.samplesPerPixel, default: 1) ?? 1) : 1
        let (perPlane, overflow1) = across.multipliedReportingOverflow(by: down)
        let (tiles, overflow2) = perPlane.multipliedReportingOverflow(by: planes)
        let problem = overflow1 || overflow2
            ? "its header declares more than 2^64 tiles"
            : directory.tableProblem(fileSize: UInt64(max(0, info.st_size)), tiles: tiles)
        if let problem {
            throw RasterIOError.damagedFile(path: path, detail: "\(problem) (\(width) x \(height) pixels in \(first.blockWidth) x \(first.blockHeight) blocks)")
        }
    }
}

import CGDAL
import Foundation

/// A file a writer moved into place, with the size it produced (in bytes): what the file under
/// the final name must still have when the run records it.
public struct CommittedFile: Sendable, Equatable {
    /// The final path.
    public var path: String
    /// Size in bytes of the finished file as the writer produced it.
    public var bytes: UInt64

    public init(path: String, bytes: UInt64) {
        self.path = path
        self.bytes = bytes
    }
}

/// Read-back checks of finished outputs: a file is complete when GDAL opens it, it has the
/// expected size and bands, and (GeoTIFF) every block of every band lies inside the file and
/// decodes. A disk that filled up while GDAL wrote leaves files that open but miss blocks (GDAL
/// reads a block whose offset lies past the end as nodata, silently), which these checks catch.
enum RasterCheck {
    /// Size of `file` in bytes.
    static func size(_ file: String, reportingAs path: String) throws -> UInt64 {
        var info = stat()
        guard stat(file, &info) == 0 else {
            let code = errno
            throw RasterIOError.writeFailed(path: path, reason: "the finished file is missing: \(String(cString: strerror(code)))")
        }
        return UInt64(info.st_size)
    }

    /// Checks a finished GeoTIFF or COG at `file` against `spec` and returns its size in bytes.
    /// - Parameter readEveryBlock: also decode every block of every band (`GDALChecksumImage`).
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` naming `path`.
    static func verify(_ file: String, reportingAs path: String, spec: RasterWriteSpec, readEveryBlock: Bool) throws -> UInt64 {
        let bytes = try size(file, reportingAs: path)
        GDALCall.reset()
        guard let dataset = GDALOpenEx(file, UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY), nil, nil, nil) else {
            throw RasterIOError.writeFailed(path: path, reason: "the finished file does not open (GDAL: \(GDALCall.lastMessage()))")
        }
        defer { GDALClose(dataset) }
        let width = Int(GDALGetRasterXSize(dataset)), height = Int(GDALGetRasterYSize(dataset))
        let bandCount = Int(GDALGetRasterCount(dataset))
        guard width == spec.grid.width, height == spec.grid.height, bandCount == spec.bandCount else {
            throw RasterIOError.writeFailed(path: path, reason: "the finished file is \(width)x\(height) with \(bandCount) bands, not \(spec.grid.width)x\(spec.grid.height) with \(spec.bandCount)")
        }
        for index in 1...bandCount {
            guard let band = GDALGetRasterBand(dataset, Int32(index)) else {
                throw RasterIOError.writeFailed(path: path, reason: "band \(index) of the finished file does not open")
            }
            var blockWidth: Int32 = 0, blockHeight: Int32 = 0
            GDALGetBlockSize(band, &blockWidth, &blockHeight)
            guard blockWidth > 0, blockHeight > 0 else {
                throw RasterIOError.writeFailed(path: path, reason: "band \(index) of the finished file has no block size")
            }
            let columns = (width + Int(blockWidth) - 1) / Int(blockWidth), rows = (height + Int(blockHeight) - 1) / Int(blockHeight)
            for row in 0..<rows {
                for column in 0..<columns {
                    let offset = GDALGetMetadataItem(band, "BLOCK_OFFSET_\(column)_\(row)", "TIFF").flatMap { UInt64(String(cString: $0)) } ?? 0
                    let length = GDALGetMetadataItem(band, "BLOCK_SIZE_\(column)_\(row)", "TIFF").flatMap { UInt64(String(cString: $0)) } ?? 0
                    guard offset > 0, length > 0, offset + length <= bytes else {
                        throw RasterIOError.writeFailed(path: path, reason: "block \(column),\(row) of band \(index) is missing from the finished file (\(bytes) bytes; truncated)")
                    }
                }
            }
            if readEveryBlock {
                GDALCall.reset()
                _ = GDALChecksumImage(band, 0, 0, Int32(width), Int32(height))
                if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
                    throw RasterIOError.writeFailed(path: path, reason: "band \(index) does not read back (GDAL: \(GDALCall.lastMessage()))")
                }
            }
        }
        return bytes
    }

    /// Checks that a GDAL `.aux.xml` sidecar is complete (a whole `PAMDataset` element) and
    /// returns its size in bytes.
    static func verifySidecar(_ file: String, reportingAs path: String) throws -> UInt64 {
        let bytes = try size(file, reportingAs: path)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RasterIOError.writeFailed(path: path, reason: "the finished sidecar cannot be read back")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard UInt64(data.count) == bytes, text.hasPrefix("<PAMDataset"), text.hasSuffix("</PAMDataset>") else {
            throw FileCommit.failure(path: path, reason: "the sidecar GDAL wrote is incomplete (\(bytes) bytes)", errno: 0)
        }
        return bytes
    }

    /// Checks that GDAL opens a finished picture (PNG) with the given size and reads all of it;
    /// returns its size in bytes.
    static func verifyPicture(_ file: String, reportingAs path: String, width: Int, height: Int, channels: Int) throws -> UInt64 {
        let bytes = try size(file, reportingAs: path)
        GDALCall.reset()
        guard let dataset = GDALOpenEx(file, UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY), nil, nil, nil) else {
            throw RasterIOError.writeFailed(path: path, reason: "the finished picture does not open (GDAL: \(GDALCall.lastMessage()))")
        }
        defer { GDALClose(dataset) }
        guard Int(GDALGetRasterXSize(dataset)) == width, Int(GDALGetRasterYSize(dataset)) == height,
              Int(GDALGetRasterCount(dataset)) == channels else {
            throw RasterIOError.writeFailed(path: path, reason: "the finished picture does not have \(width)x\(height) pixels and \(channels) channels")
        }
        for index in 1...channels {
            guard let band = GDALGetRasterBand(dataset, Int32(index)) else { continue }
            GDALCall.reset()
            _ = GDALChecksumImage(band, 0, 0, Int32(width), Int32(height))
            if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
                throw RasterIOError.writeFailed(path: path, reason: "the finished picture does not read back (GDAL: \(GDALCall.lastMessage()))")
            }
        }
        return bytes
    }
}

import CGDAL
import Foundation

/// Writes 8-bit RGB or RGBA pictures (previews, legends) as PNG through GDAL's PNG driver.
///
/// The picture goes to a hidden temporary file in the same folder and is renamed into place, so
/// the final path never holds a partial image.
public enum ImageWriter {
    /// Writes `pixels` as a PNG.
    ///
    /// - Parameters:
    ///   - pixels: pixel-interleaved bytes, `((row * width) + column) * channels + channel`, rows
    ///     top to bottom.
    ///   - width, height: picture size in pixels.
    ///   - channels: 3 (RGB) or 4 (RGBA).
    /// The PNG is checked before the rename (every GDAL step's error state; GDAL reopens and
    /// decodes it) and its size after.
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` or ``RasterIOError/noSpace(path:folder:)``
    ///   naming the path.
    public static func writePNG(path: String, pixels: [UInt8], width: Int, height: Int, channels: Int) throws {
        GDALEnvironment.ensureInitialized()
        guard channels == 3 || channels == 4, width > 0, height > 0, pixels.count == width * height * channels else {
            throw RasterIOError.invalidArgument("\(path): a \(width)x\(height) picture with \(channels) channels needs \(width * height * channels) bytes, got \(pixels.count)")
        }
        guard let memDriver = GDALGetDriverByName("MEM"), let pngDriver = GDALGetDriverByName("PNG") else {
            throw RasterIOError.writeFailed(path: path, reason: "GDAL lacks the MEM or PNG driver")
        }
        guard let memory = GDALCreate(memDriver, "", Int32(width), Int32(height), Int32(channels), GDT_Byte, nil) else {
            throw RasterIOError.writeFailed(path: path, reason: "cannot allocate a \(width)x\(height) picture")
        }
        defer { GDALClose(memory) }
        var mutablePixels = pixels
        GDALCall.reset()
        let result = mutablePixels.withUnsafeMutableBytes { raw in
            GDALDatasetRasterIO(memory, GF_Write, 0, 0, Int32(width), Int32(height), raw.baseAddress,
                                Int32(width), Int32(height), GDT_Byte, Int32(channels), nil,
                                Int32(channels), Int32(width * channels), 1)
        }
        guard result.rawValue <= CE_Warning.rawValue else {
            throw RasterIOError.writeFailed(path: path, reason: "filling the picture: \(GDALCall.lastMessage())")
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent)\(RasterWriter.temporaryMarker)\(ProcessInfo.processInfo.processIdentifier).png").path
        GDALCall.reset()
        errno = 0
        guard let copy = GDALCreateCopy(pngDriver, temporary, memory, 0, nil, nil, nil) else {
            let code = errno
            let error = FileCommit.failure(path: path, reason: "PNG encoding failed (GDAL: \(GDALCall.lastMessage()))", errno: code)
            RasterWriter.removeWithSidecars(temporary)
            throw error
        }
        if let failure = GDALCall.reportedFailure({ GDALClose(copy) }) {
            let error = FileCommit.failure(path: path, reason: "finishing the PNG: \(failure.message)", errno: failure.errno)
            RasterWriter.removeWithSidecars(temporary)
            throw error
        }
        try? FileManager.default.removeItem(atPath: temporary + ".aux.xml")
        do {
            let produced = try RasterCheck.verifyPicture(temporary, reportingAs: path, width: width, height: height, channels: channels)
            try FileCommit.moveIntoPlace(temporary, to: path)
            let onDisk = try RasterCheck.size(path, reportingAs: path)
            guard onDisk == produced else {
                try? FileManager.default.removeItem(atPath: path)
                throw RasterIOError.writeFailed(path: path, reason: "the file on disk has \(onDisk) bytes, the writer produced \(produced)")
            }
        } catch {
            RasterWriter.removeWithSidecars(temporary)
            throw error
        }
    }
}

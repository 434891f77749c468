import Foundation

/// The header of an `.npy` file: element type, shape and where the data starts.
public struct NumpyHeader: Sendable, Equatable {
    /// The dtype string, e.g. `<f4`, `<f2`, `<i8`.
    public var dtype: String
    /// The array's shape (C order).
    public var shape: [Int]
    /// Byte offset of the first element.
    public var dataOffset: Int

    /// Bytes per element of ``dtype``.
    public var elementWidth: Int {
        switch dtype {
        case "<f8", "<i8": return 8
        case "<f4", "<i4": return 4
        case "<f2", "<i2", "<u2": return 2
        default: return 1
        }
    }

    /// True for the floating-point dtypes (read as Float32).
    public var isFloatingPoint: Bool { ["<f4", "<f8", "<f2"].contains(dtype) }

    /// Dtypes ``NumpyFile`` reads.
    static let supportedTypes: Set<String> = ["<f4", "<f8", "<f2", "<i8", "<i4", "<i2", "|i1", "|u1", "|b1", "<u2"]

    /// Parses the header at the start of `bytes` (the first bytes of a file; 64 KiB is always
    /// enough for a header this reader accepts).
    /// - Throws: ``NumpyError`` naming `path`.
    public init(prefix bytes: [UInt8], path: String) throws {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw NumpyError.malformed(path: path, detail: "missing the \\x93NUMPY magic; not an .npy file")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else if major == 2 || major == 3 {
            guard bytes.count >= 12 else { throw NumpyError.malformed(path: path, detail: "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        } else {
            throw NumpyError.malformed(path: path, detail: "unsupported format version \(major)")
        }
        guard headerLength <= 65_536 - headerStart, headerStart + headerLength <= bytes.count else {
            throw NumpyError.malformed(path: path, detail: "truncated or oversized header")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = NumpyFile.field("descr", in: header), let shapeText = NumpyFile.field("shape", in: header) else {
            throw NumpyError.malformed(path: path, detail: "header lacks descr or shape: \(header)")
        }
        if let fortran = NumpyFile.field("fortran_order", in: header), fortran.hasPrefix("True") {
            throw NumpyError.unsupported(path: path, detail: "Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        let parts = shapeText.split(whereSeparator: { ",() ".contains($0) })
        let shape = parts.compactMap { Int($0) }
        guard shape.count == parts.count, shape.allSatisfy({ $0 >= 0 }), Tensor.elementCount(shape) != nil else {
            throw NumpyError.malformed(path: path, detail: "invalid shape \(shapeText)")
        }
        let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard Self.supportedTypes.contains(dtype) else {
            throw NumpyError.unsupported(path: path, detail: "dtype \(dtype) is not supported (use float32 '<f4', float16 '<f2' or int64 '<i8')")
        }
        self.dtype = dtype
        self.shape = shape
        self.dataOffset = headerStart + headerLength
    }

    /// Converts `count` little-endian elements of ``dtype`` at `raw` into a tensor of `shape`.
    func decode(_ raw: UnsafeRawBufferPointer, shape: [Int], path: String) throws -> AnyTensor {
        let count = shape.reduce(1, *)
        guard raw.count >= count * elementWidth else {
            throw NumpyError.malformed(path: path, detail: "holds \(raw.count) data bytes, too few for shape \(shape) of \(dtype)")
        }
        func floats(_ convert: (Int) -> Float) throws -> AnyTensor {
            let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count { buffer[index] = convert(index) }
                initialized = count
            }
            return .float32(try Tensor(shape: shape, scalars: values))
        }
        func ints(_ convert: (Int) -> Int64) throws -> AnyTensor {
            .int64(try Int64Tensor(shape: shape, values: (0..<count).map(convert)))
        }
        switch dtype {
        case "<f4": return try floats { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case "<f8": return try floats { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
        case "<f2": return try floats { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
        case "<i8": return try ints { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case "<i4": return try ints { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        case "<i2": return try ints { Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
        case "<u2": return try ints { Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case "|i1": return try ints { Int64(Int8(bitPattern: raw[$0])) }
        default: return try ints { Int64(raw[$0]) }  // |u1, |b1
        }
    }
}

/// Reads an `.npy` file a range of samples (rows of dimension 0) at a time, so that a large
/// input is never held whole in memory.
public final class NumpyReader {
    /// The file's header.
    public let header: NumpyHeader
    /// The file's path, for messages.
    public let path: String
    private let handle: FileHandle

    /// Opens `url` and reads its header; the data bytes are checked against the shape.
    /// - Throws: ``NumpyError`` naming the file.
    public init(contentsOf url: URL) throws {
        path = url.path
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw NumpyError.unreadable(path: url.path, detail: error.localizedDescription)
        }
        do {
            let prefix = try handle.read(upToCount: 65_536) ?? Data()
            header = try NumpyHeader(prefix: [UInt8](prefix), path: url.path)
            let size = try handle.seekToEnd()
            let needed = UInt64(header.shape.reduce(1, *)) * UInt64(header.elementWidth)
            guard size >= UInt64(header.dataOffset) + needed else {
                throw NumpyError.malformed(path: url.path, detail: "holds \(Int(size) - header.dataOffset) data bytes, too few for shape \(header.shape) of \(header.dtype)")
            }
        } catch let error as NumpyError {
            try? handle.close()
            throw error
        } catch {
            try? handle.close()
            throw NumpyError.unreadable(path: url.path, detail: error.localizedDescription)
        }
    }

    deinit { try? handle.close() }

    /// Number of samples (dimension 0; 1 for a scalar).
    public var sampleCount: Int { header.shape.first ?? 1 }

    /// Reads samples `start ..< start + count` as a tensor of shape `[count] + shape[1...]`.
    public func read(start: Int, count: Int) throws -> AnyTensor {
        guard !header.shape.isEmpty else { return try NumpyFile.read(contentsOf: URL(fileURLWithPath: path)) }
        let sampleShape = Array(header.shape.dropFirst())
        let perSample = sampleShape.reduce(1, *) * header.elementWidth
        guard start >= 0, count >= 0, start + count <= sampleCount else {
            throw NumpyError.malformed(path: path, detail: "samples \(start)..<\(start + count) are outside its \(sampleCount)")
        }
        do {
            try handle.seek(toOffset: UInt64(header.dataOffset + start * perSample))
            let data = try handle.read(upToCount: count * perSample) ?? Data()
            return try data.withUnsafeBytes { try header.decode($0, shape: [count] + sampleShape, path: path) }
        } catch let error as NumpyError {
            throw error
        } catch {
            throw NumpyError.unreadable(path: path, detail: error.localizedDescription)
        }
    }
}

/// Writes an `.npy` file of a known shape a range of samples at a time, to a temporary file
/// beside the destination that ``finish()`` checks (size) and renames into place.
public final class NumpyWriter {
    /// The destination.
    public let url: URL
    /// The full array's shape.
    public let shape: [Int]
    /// True for `<i8` data, false for `<f4`.
    public let isInteger: Bool
    private let temporary: URL
    private let handle: FileHandle
    private var written = 0
    private var finished = false

    /// Creates the temporary file and writes the header.
    public init(url: URL, shape: [Int], isInteger: Bool) throws {
        self.url = url
        self.shape = shape
        self.isInteger = isInteger
        temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw NumpyError.unreadable(path: url.path, detail: "cannot create a temporary file beside it")
        }
        do {
            handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: NumpyFile.headerBytes(descr: isInteger ? "<i8" : "<f4", shape: shape))
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw NumpyError.unreadable(path: url.path, detail: "cannot write (\(error.localizedDescription))")
        }
    }

    deinit {
        try? handle.close()
        if !finished { try? FileManager.default.removeItem(at: temporary) }
    }

    /// Appends the samples of `tensor` (its element type must match ``isInteger``).
    public func append(_ tensor: AnyTensor) throws {
        var bytes = NumpyFile.encode(tensor)
        // Drop the header encode wrote: only the payload is appended.
        let payloadSize = tensor.shape.reduce(1, *) * (isInteger ? 8 : 4)
        bytes = bytes.suffix(payloadSize)
        do { try handle.write(contentsOf: bytes) } catch {
            throw NumpyError.unreadable(path: url.path, detail: "cannot write (\(error.localizedDescription))")
        }
        written += payloadSize
    }

    /// Checks that every sample was written, flushes and renames the file into place.
    public func finish() throws {
        let expected = shape.reduce(1, *) * (isInteger ? 8 : 4)
        guard written == expected else {
            throw NumpyError.unreadable(path: url.path, detail: "only \(written) of \(expected) data bytes were written")
        }
        do {
            try handle.synchronize()
            try handle.close()
            let size = (try FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? NSNumber)?.intValue ?? -1
            let header = NumpyFile.headerBytes(descr: isInteger ? "<i8" : "<f4", shape: shape).count
            guard size == header + expected else {
                throw NumpyError.unreadable(path: url.path, detail: "the written file has \(size) bytes, expected \(header + expected)")
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw NumpyError.unreadable(path: url.path, detail: "cannot rename the temporary file into place (\(String(cString: strerror(errno))))")
            }
            finished = true
        } catch let error as NumpyError {
            throw error
        } catch {
            throw NumpyError.unreadable(path: url.path, detail: "cannot write (\(error.localizedDescription))")
        }
    }
}

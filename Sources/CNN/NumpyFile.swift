import Foundation

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Reading accepts C-order little-endian `<f4`, `<f8`, `<i8`, `<i4`, `<i2`, `<i1`, `|u1`, `<u2`
/// and `|b1` arrays; floating types load as ``Tensor`` (Float32), integer types as
/// ``Int64Tensor``. Writing produces version 1.0 files of `<f4` or `<i8`, readable by `np.load`.
public enum NumpyFile {
    /// Reads an `.npy` file.
    /// - Throws: ``NumpyError`` naming the file and what is wrong with it.
    public static func read(contentsOf url: URL) throws -> AnyTensor {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NumpyError.unreadable(path: url.path, detail: error.localizedDescription)
        }
        return try decode(data, path: url.path)
    }

    /// Decodes the bytes of an `.npy` file; `path` is used in error messages.
    public static func decode(_ data: Data, path: String = "<memory>") throws -> AnyTensor {
        let bytes = [UInt8](data)
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
        guard headerStart + headerLength <= bytes.count else { throw NumpyError.malformed(path: path, detail: "truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header), let shapeText = field("shape", in: header) else {
            throw NumpyError.malformed(path: path, detail: "header lacks descr or shape: \(header)")
        }
        if let fortran = field("fortran_order", in: header), fortran.hasPrefix("True") {
            throw NumpyError.unsupported(path: path, detail: "Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        let shape = shapeText.split(whereSeparator: { ",() ".contains($0) }).compactMap { Int($0) }
        let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard shape.allSatisfy({ $0 >= 0 }), let count = Tensor.elementCount(shape) else {
            throw NumpyError.malformed(path: path, detail: "invalid shape \(shapeText)")
        }
        let payload = Array(bytes[(headerStart + headerLength)...])
        func load(_ width: Int) throws -> [UInt64] {
            guard count <= payload.count / width else {
                throw NumpyError.malformed(path: path, detail: "holds \(payload.count) data bytes, too few for shape \(shape) of \(dtype)")
            }
            return (0..<count).map { index in
                var value: UInt64 = 0
                for byte in 0..<width { value |= UInt64(payload[index * width + byte]) << (8 * UInt64(byte)) }
                return value
            }
        }
        switch dtype {
        case "<f4": return .float32(try Tensor(shape: shape, scalars: try load(4).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }))
        case "<f8": return .float32(try Tensor(shape: shape, scalars: try load(8).map { Float(Double(bitPattern: $0)) }))
        case "<i8": return .int64(try Int64Tensor(shape: shape, values: try load(8).map { Int64(bitPattern: $0) }))
        case "<i4": return .int64(try Int64Tensor(shape: shape, values: try load(4).map { Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }))
        case "<i2": return .int64(try Int64Tensor(shape: shape, values: try load(2).map { Int64(Int16(bitPattern: UInt16(truncatingIfNeeded: $0))) }))
        case "|i1": return .int64(try Int64Tensor(shape: shape, values: try load(1).map { Int64(Int8(bitPattern: UInt8(truncatingIfNeeded: $0))) }))
        case "|u1", "|b1", "<u2": return .int64(try Int64Tensor(shape: shape, values: try load(dtype == "<u2" ? 2 : 1).map { Int64($0) }))
        default: throw NumpyError.unsupported(path: path, detail: "dtype \(dtype) is not supported (use float32 '<f4' or int64 '<i8')")
        }
    }

    /// Encodes a tensor as an `.npy` file (`<f4` for Float32, `<i8` for Int64).
    public static func encode(_ tensor: AnyTensor) -> Data {
        let descr: String
        var payload = [UInt8]()
        switch tensor {
        case .float32(let t):
            descr = "<f4"
            payload.reserveCapacity(t.count * 4)
            for value in t.scalars { let bits = value.bitPattern; for byte in 0..<4 { payload.append(UInt8((bits >> (8 * UInt32(byte))) & 0xFF)) } }
        case .int64(let t):
            descr = "<i8"
            payload.reserveCapacity(t.values.count * 8)
            for value in t.values { let bits = UInt64(bitPattern: value); for byte in 0..<8 { payload.append(UInt8((bits >> (8 * UInt64(byte))) & 0xFF)) } }
        }
        let shape = tensor.shape
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        bytes += payload
        return Data(bytes)
    }

    /// Writes a tensor as an `.npy` file.
    public static func write(_ tensor: AnyTensor, to url: URL) throws {
        do { try encode(tensor).write(to: url, options: .atomic) } catch {
            throw NumpyError.unreadable(path: url.path, detail: "cannot write (\(error.localizedDescription))")
        }
    }

    private static func field(_ name: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(name)':") ?? header.range(of: "\"\(name)\":") else { return nil }
        let rest = header[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        return rest.split(separator: ",", maxSplits: 1).first.map(String.init)
    }
}

import Foundation

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Reading accepts C-order little-endian `<f4`, `<f8`, `<f2`, `<i8`, `<i4`, `<i2`, `<i1`, `|u1`,
/// `<u2` and `|b1` arrays; floating types load as ``Tensor`` (Float32), integer types as
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
        let header = try NumpyHeader(prefix: [UInt8](data.prefix(65_536)), path: path)
        return try data.withUnsafeBytes { raw in
            try header.decode(UnsafeRawBufferPointer(rebasing: raw[header.dataOffset...]), shape: header.shape, path: path)
        }
    }

    /// Encodes a tensor as an `.npy` file (`<f4` for Float32, `<i8` for Int64).
    public static func encode(_ tensor: AnyTensor) -> Data {
        var data: Data
        switch tensor {
        case .float32(let t):
            data = headerBytes(descr: "<f4", shape: t.shape)
            t.scalars.withUnsafeBufferPointer { buffer in
                let little = buffer.map { $0.bitPattern.littleEndian }
                little.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        case .int64(let t):
            data = headerBytes(descr: "<i8", shape: t.shape)
            t.values.map { $0.littleEndian }.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// The version 1.0 header (magic, length, dict, padding to 64 bytes) for an array.
    static func headerBytes(descr: String, shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        return Data(bytes)
    }

    /// Writes a tensor as an `.npy` file.
    public static func write(_ tensor: AnyTensor, to url: URL) throws {
        do { try encode(tensor).write(to: url, options: .atomic) } catch {
            throw NumpyError.unreadable(path: url.path, detail: "cannot write (\(error.localizedDescription))")
        }
    }

    static func field(_ name: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(name)':") ?? header.range(of: "\"\(name)\":") else { return nil }
        let rest = header[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        return rest.split(separator: ",", maxSplits: 1).first.map(String.init)
    }
}

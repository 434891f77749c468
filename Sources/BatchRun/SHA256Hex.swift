import Config
import Crypto
import Foundation

/// SHA-256 digests as lowercase hex, the form the run history, reports, fingerprints and STAC
/// `file:checksum` use. The hashing is swift-crypto's (BoringSSL on Linux, with the CPU's SHA
/// extensions where it has them).
public enum SHA256Hex {
    /// Hex digest of `bytes`.
    public static func hex<Bytes: Sequence>(of bytes: Bytes) -> String where Bytes.Element == UInt8 {
        hexString(SHA256.hash(data: Array(bytes)))
    }

    /// Hex digest of a file's contents, read in 1 MiB chunks.
    /// - Throws: ``PipelineError/unreadable(path:reason:)`` when the file cannot be opened or read.
    public static func hex(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PipelineError.unreadable(path: path, reason: "cannot be opened for hashing; check that it exists and is readable")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw PipelineError.unreadable(path: path, reason: "cannot be read for hashing (\(error.localizedDescription)); check the file and the disk")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hash.update(data: chunk)
        }
        return hexString(hash.finalize())
    }

    private static func hexString(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

import Foundation

/// Errors reading or writing `.npy` files; each names the file.
public enum NumpyError: Error, LocalizedError, Equatable, Sendable {
    /// The file cannot be read or written.
    case unreadable(path: String, detail: String)
    /// The bytes are not a valid `.npy` file.
    case malformed(path: String, detail: String)
    /// A valid `.npy` file of a kind the engine does not read (dtype, Fortran order).
    case unsupported(path: String, detail: String)

    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let detail):
            return "\(path): \(detail.hasSuffix(".") ? String(detail.dropLast()) : detail)." 
        case .malformed(let path, let detail): return "\(path) is not a valid .npy file: \(detail)."
        case .unsupported(let path, let detail): return "\(path): \(detail)."
        }
    }
}

/// Resampling methods for putting a band on another grid (GDAL's names).
public enum Resampling: String, Sendable, Codable, CaseIterable {
    case nearest = "near"
    case bilinear
    case cubic
    case cubicSpline = "cubicspline"
    case lanczos
    case average
    case mode

    /// Parses GDAL's names and common spellings (`nearest`, `near`, `bilinear`, `average`, ...).
    public init?(name: String) {
        switch name.lowercased() {
        case "near", "nearest": self = .nearest
        case "bilinear", "linear": self = .bilinear
        case "cubic": self = .cubic
        case "cubicspline", "cubic_spline": self = .cubicSpline
        case "lanczos": self = .lanczos
        case "average", "mean": self = .average
        case "mode", "majority": self = .mode
        default: return nil
        }
    }

    /// landcover's default: bilinear when a band is up-sampled (source pixels coarser than the
    /// grid), average when it is down-sampled.
    public static func defaultMethod(sourceResolution: Double, targetResolution: Double) -> Resampling {
        sourceResolution > targetResolution ? .bilinear : .average
    }
}

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
    /// grid), average when it is down-sampled. Categorical layers (class codes such as the
    /// Sentinel-2 scene classification SCL, or masks) get nearest when up-sampled and mode when
    /// down-sampled, so that every output pixel holds a class the source has there (bilinear
    /// would invent codes between neighbouring classes, e.g. 6 "water" between 5 and 7).
    public static func defaultMethod(sourceResolution: Double, targetResolution: Double, categorical: Bool = false) -> Resampling {
        if categorical { return sourceResolution > targetResolution ? .nearest : .mode }
        return sourceResolution > targetResolution ? .bilinear : .average
    }
}

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

/// How bands are put on the grid, as `--resampling` and the pipeline key `resampling` write it:
/// one method for every band (`cubic`), per-band methods (`B05=cubic,B11=near`), or both
/// (`cubic,SCL=mode`: the per-band entries win). The all-bands method applies to measurement
/// bands only; categorical layers (SCL, a mask band, `categorical`) keep nearest/mode unless
/// named per band, so that resampling never invents class codes.
public struct ResamplingChoice: Equatable, Sendable {
    /// The method for every band not named in ``perBand``; nil = landcover's default.
    public var allBands: Resampling?
    /// Per-band methods, by canonical band name.
    public var perBand: [String: Resampling]

    /// A choice of `allBands` and `perBand` methods.
    public init(allBands: Resampling? = nil, perBand: [String: Resampling] = [:]) {
        self.allBands = allBands
        self.perBand = perBand
    }

    /// The expected form, for error messages.
    public static var syntax: String {
        "METHOD (every band), BAND=METHOD,... or both (cubic,SCL=mode), with METHOD one of \(Resampling.allCases.map(\.rawValue).joined(separator: ", "))"
    }

    /// Parses `cubic`, `B05=cubic,B11=near` or `cubic,B05=near`; nil when an item is neither a
    /// method nor `BAND=METHOD`, or when two items give the all-bands method.
    public init?(text: String) {
        self.init()
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty else { return nil }
        for item in items {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 1 {
                guard allBands == nil, let method = Resampling(name: parts[0]) else { return nil }
                allBands = method
            } else {
                guard parts.count == 2, !parts[0].isEmpty, let method = Resampling(name: parts[1]) else { return nil }
                perBand[SentinelBand.canonicalName(parts[0])] = method
            }
        }
    }

    /// The text form ``init(text:)`` reads: the all-bands method first, then bands sorted by name.
    public var text: String {
        ((allBands.map { [$0.rawValue] } ?? []) + perBand.keys.sorted().compactMap { band in perBand[band].map { "\(band)=\($0.rawValue)" } })
            .joined(separator: ",")
    }
}

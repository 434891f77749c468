import CNN

/// Per-band mean and standard deviation of raw DN over valid pixels, for the model contract's
/// `mean_std` normalization.
///
/// The standard deviation is the population one (`numpy.std`, ddof 0). Sums are accumulated in
/// Double around a per-band shift (the first value seen), so that large DN do not lose precision.
public struct BandStatistics: Sendable, Equatable, Codable {
    /// Band names, in channel order.
    public var bands: [String]
    /// Mean raw DN per band.
    public var mean: [Double]
    /// Population standard deviation of raw DN per band.
    public var std: [Double]
    /// Number of valid pixels the statistics cover (per band; the same for every band).
    public var pixelCount: Int

    /// Creates statistics from known values.
    public init(bands: [String], mean: [Double], std: [Double], pixelCount: Int) {
        self.bands = bands
        self.mean = mean
        self.std = std
        self.pixelCount = pixelCount
    }

    /// `ModelContract.Normalization.meanStd` with these values; a band whose standard deviation
    /// is 0 (constant, or no pixel) gets 1, so that the contract stays valid (`std > 0`).
    public var normalization: ModelContract.Normalization {
        .meanStd(mean: mean.map { Float($0) }, std: std.map { $0 > 0 && $0.isFinite ? Float($0) : 1 })
    }
}

/// Streaming accumulator of ``BandStatistics``.
struct BandStatisticsAccumulator {
    let bands: [String]
    private var shift: [Double]
    private var sum: [Double]
    private var sumSquares: [Double]
    private(set) var count = 0

    init(bands: [String]) {
        self.bands = bands
        shift = [Double](repeating: .nan, count: bands.count)
        sum = [Double](repeating: 0, count: bands.count)
        sumSquares = [Double](repeating: 0, count: bands.count)
    }

    /// Adds one pixel's values (one per band).
    mutating func add(_ value: (Int) -> Double) {
        for b in 0..<bands.count {
            let v = value(b)
            if shift[b].isNaN { shift[b] = v }
            let d = v - shift[b]
            sum[b] += d
            sumSquares[b] += d * d
        }
        count += 1
    }

    var statistics: BandStatistics {
        guard count > 0 else {
            return BandStatistics(bands: bands, mean: [Double](repeating: 0, count: bands.count),
                                  std: [Double](repeating: 0, count: bands.count), pixelCount: 0)
        }
        let n = Double(count)
        var mean: [Double] = [], std: [Double] = []
        for b in 0..<bands.count {
            let m = sum[b] / n
            mean.append(shift[b] + m)
            std.append(max(0, sumSquares[b] / n - m * m).squareRoot())
        }
        return BandStatistics(bands: bands, mean: mean, std: std, pixelCount: count)
    }
}

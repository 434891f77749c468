import RasterIO

/// The immutable parameters of one scene, derived from a validated ``SyntheticSceneSpec``: class
/// tables, noise octaves and stream keys, thresholds, the swath edge. Every pixel of the scene is
/// a pure function of this model and the pixel's coordinates.
///
/// Layers, from coarse to fine (sizes in 10 m pixels):
/// - landscape regions: a jittered grid of 256-pixel cells (Voronoi), each dominated by one class
///   drawn by ``SyntheticClass/landscapeWeight``, modulated by slow per-class noise so that
///   regions of a class cluster;
/// - patches: a jittered grid of 32-pixel cells (about 10 ha), warped by 6 pixels of value noise
///   so borders bend; a patch takes its region's class with probability
///   ``SyntheticClass/coherence``, else a class drawn by ``SyntheticClass/patchWeight``;
/// - water: lakes where a smooth noise field exceeds its 95th percentile, a shore belt down to the
///   92.5th percentile, and rivers about 50 m wide along zero crossings of another field inside a
///   mask covering about a third of the plane;
/// - texture, per-patch brightness and per-band jitter, clouds, cloud shadows, sensor noise.
struct SceneModel: Sendable {
    static let bandCount = SentinelBand.all.count
    static let patchSize = 32
    static let regionSize = 256
    /// Clouds cast shadows this many pixels west and north of themselves (sun in the south-east).
    static let shadowOffset = (columns: 48, rows: 64)

    let width: Int
    let height: Int
    let classCount: Int
    /// Class reflectances, `classCount x 13`, ESA band order.
    let reflectance: [Float]
    let cloudSpectrum: [Float]
    let patchVariation: [Float]
    let texture: [Float]
    let coherence: [Float]
    let landscapeWeight: [Float]
    let totalLandscapeWeight: Float
    /// Per class, the low-frequency noise that makes regions of the class cluster.
    let regionAffinity: [[Octave]]
    let patchCumulative: [Float]?
    let waterClass: Int?
    let shoreClass: Int?
    let cloudLabel: UInt8?

    let dnOffset: Int32
    let sensorNoise: Bool

    // Noise fields and their thresholds.
    let warpX: [Octave]
    let warpY: [Octave]
    let warpAmplitude: Float = 6
    let regionWarpX: [Octave]
    let regionWarpY: [Octave]
    let regionWarpAmplitude: Float = 96
    let lake: [Octave]
    let lakeThreshold: Float
    let shoreThreshold: Float
    let river: [Octave]
    let riverMask: [Octave]
    let riverMaskThreshold: Float
    let riverHalfWidth: Float = 2.5
    let cloud: [Octave]
    let cloudThreshold: Float
    let cloudSoftness: Float = 0.04

    // Stream keys of hashed quantities.
    let patchPointKey: UInt32
    let patchPointKey2: UInt32
    let patchCoherenceKey: UInt32
    let patchClassKey: UInt32
    let patchBrightnessKey: UInt32
    let patchJitterKey: UInt32
    let regionPointKey: UInt32
    let regionPointKey2: UInt32
    let regionClassKey: UInt32
    let texture4Key: UInt32
    let texture16Key: UInt32
    /// Sensor-noise keys per band for the 10 m grid and for 2x and 6x coarser grids.
    let noiseKeys: [Int: [UInt32]]

    /// The swath edge: pixels whose centre lies on the nodata side of the line
    /// `x = edgeCenter + edgeSlope * (y - height / 2)` (pixel units) are nodata; `edgeSide` is +1
    /// when the nodata side is east of the line, -1 when west; nil without a border.
    let edge: (center: Float, slope: Float, side: Float)?

    init(spec: SyntheticSceneSpec) {
        let seed = spec.seed
        func key(_ index: UInt32) -> UInt32 { Hash.streamKey(seed: seed, index: index) }
        width = spec.width
        height = spec.height
        classCount = spec.classes.count
        reflectance = spec.classes.flatMap(\.reflectance)
        cloudSpectrum = ReferenceSpectra.cloud
        patchVariation = spec.classes.map(\.patchVariation)
        texture = spec.classes.map(\.texture)
        coherence = spec.classes.map { Float($0.coherence) }
        landscapeWeight = spec.classes.map { Float($0.landscapeWeight) }
        totalLandscapeWeight = landscapeWeight.reduce(0, +)
        regionAffinity = spec.classes.indices.map {
            ValueNoise.octaves(longest: 4096, count: 3, seed: seed, stream: 300 + 4 * UInt32($0))
        }
        patchCumulative = Self.cumulative(spec.classes.map(\.patchWeight))
        waterClass = spec.classes.firstIndex { $0.placement == .waterBodies }
        shoreClass = spec.classes.firstIndex { $0.placement == .lakeShores }
        cloudLabel = spec.cloudLabel.map { UInt8($0) }
        dnOffset = Int32(spec.radiometricOffset)
        sensorNoise = spec.sensorNoise

        warpX = ValueNoise.octaves(longest: 256, count: 3, seed: seed, stream: 100)
        warpY = ValueNoise.octaves(longest: 256, count: 3, seed: seed, stream: 110)
        regionWarpX = ValueNoise.octaves(longest: 1024, count: 3, seed: seed, stream: 120)
        regionWarpY = ValueNoise.octaves(longest: 1024, count: 3, seed: seed, stream: 130)
        lake = ValueNoise.octaves(longest: 2048, count: 6, seed: seed, stream: 140)
        river = ValueNoise.octaves(longest: 1024, count: 3, seed: seed, stream: 150)
        riverMask = ValueNoise.octaves(longest: 4096, count: 2, seed: seed, stream: 160)
        cloud = ValueNoise.octaves(longest: 2048, count: 7, seed: seed, stream: 170)

        patchPointKey = key(1)
        patchPointKey2 = key(2)
        patchCoherenceKey = key(3)
        patchClassKey = key(4)
        patchBrightnessKey = key(5)
        patchJitterKey = key(6)
        regionPointKey = key(7)
        regionPointKey2 = key(8)
        regionClassKey = key(9)
        texture4Key = key(10)
        texture16Key = key(11)
        var noiseKeys: [Int: [UInt32]] = [:]
        for factor in [1, 2, 6] {
            noiseKeys[factor] = (0..<Self.bandCount).map { key(UInt32(1000 + factor * 32 + $0)) }
        }
        self.noiseKeys = noiseKeys

        // Thresholds are percentiles of each field over a fixed 11 km x 11 km sample of the
        // plane, so they do not depend on the scene size (smaller scenes are crops of larger ones).
        lakeThreshold = Self.percentile(lake, 0.95)
        shoreThreshold = Self.percentile(lake, 0.925)
        riverMaskThreshold = Self.percentile(riverMask, 0.65)
        if spec.cloudCover > 0 {
            cloudThreshold = Self.percentile(cloud, 1 - spec.cloudCover) - 0.5 * cloudSoftness
        } else {
            cloudThreshold = .infinity
        }

        if spec.nodataBorder {
            // The nodata side covers 15...40 % of the width at mid-height; real swath edges run
            // about 11 degrees off grid north (NNE-SSW for descending orbits).
            let fraction = 0.15 + 0.25 * Hash.unit(Hash.point(1, 2, key(20)))
            let east = Hash.point(3, 4, key(21)) & 1 == 0
            let w = Float(spec.width)
            edge = (center: east ? w * (1 - fraction) : w * fraction, slope: -0.2, side: east ? 1 : -1)
        } else {
            edge = nil
        }
    }

    var cloudsEnabled: Bool { cloudLabel != nil }

    /// Normalised cumulative weights; nil when all are 0.
    private static func cumulative(_ weights: [Double]) -> [Float]? {
        let total = weights.reduce(0, +)
        guard total > 0 else { return nil }
        var running = 0.0
        return weights.map { weight in
            running += weight
            return Float(running / total)
        }
    }

    /// The class drawn by `u` in 0..<1 from cumulative weights.
    @inline(__always)
    static func pick(_ cumulative: [Float], _ u: Float) -> Int {
        for (index, bound) in cumulative.enumerated() where u < bound { return index }
        return cumulative.count - 1
    }

    /// The `q`-quantile of a fractal field sampled on a 128 x 128 grid spanning 11 km.
    private static func percentile(_ octaves: [Octave], _ q: Double) -> Float {
        var samples: [Float] = []
        samples.reserveCapacity(128 * 128)
        for j in 0..<128 {
            for i in 0..<128 {
                samples.append(ValueNoise.fractal(Float(37 + 86 * i), Float(41 + 86 * j), octaves))
            }
        }
        samples.sort()
        let index = min(samples.count - 1, max(0, Int((q * Double(samples.count)).rounded(.down))))
        return samples[index]
    }

    /// True when the point `(x, y)` (pixel units of the 10 m grid) lies on the nodata side.
    @inline(__always)
    func isNodata(x: Float, y: Float) -> Bool {
        guard let edge else { return false }
        let line = edge.center + edge.slope * (y - Float(height) * 0.5)
        return edge.side * (x - line) > 0
    }

    /// The class of the patch whose seed point lies at `(x, y)` (warped pixel units).
    func patchClass(cellX: Int, cellY: Int, x: Float, y: Float) -> Int {
        let rx = x + regionWarpAmplitude * ValueNoise.fractal(x, y, regionWarpX)
        let ry = y + regionWarpAmplitude * ValueNoise.fractal(x, y, regionWarpY)
        let size = Float(Self.regionSize)
        let cx = Int((rx / size).rounded(.down)), cy = Int((ry / size).rounded(.down))
        var best = Float.infinity, bestX = cx, bestY = cy
        for j in (cy - 1)...(cy + 1) {
            for i in (cx - 1)...(cx + 1) {
                let px = (Float(i) + 0.2 + 0.6 * Hash.unit(Hash.point(i, j, regionPointKey))) * size
                let py = (Float(j) + 0.2 + 0.6 * Hash.unit(Hash.point(i, j, regionPointKey2))) * size
                let d = (px - rx) * (px - rx) + (py - ry) * (py - ry)
                if d < best { best = d; bestX = i; bestY = j }
            }
        }
        guard totalLandscapeWeight > 0 else {
            return patchCumulative.map { Self.pick($0, Hash.unit(Hash.point(cellX, cellY, patchClassKey))) } ?? 0
        }
        // The region's dominant class: drawn by landscape weight, each weight scaled by
        // (1 + 1.5 v)^2 with v a class-specific noise of 10...40 km wavelength at the region's
        // seed, so regions of one class cluster (forest belts, farmland plains, towns).
        let px = (Float(bestX) + 0.2 + 0.6 * Hash.unit(Hash.point(bestX, bestY, regionPointKey))) * size
        let py = (Float(bestY) + 0.2 + 0.6 * Hash.unit(Hash.point(bestX, bestY, regionPointKey2))) * size
        var weights = [Float](repeating: 0, count: landscapeWeight.count)
        var total: Float = 0
        for c in landscapeWeight.indices where landscapeWeight[c] > 0 {
            let v = ValueNoise.fractal(px, py, regionAffinity[c])
            let factor = max(0, 1 + 1.5 * v)
            weights[c] = landscapeWeight[c] * factor * factor
            total += weights[c]
        }
        var dominant = 0
        if total > 0 {
            let u = Hash.unit(Hash.point(bestX, bestY, regionClassKey)) * total
            var running: Float = 0
            dominant = weights.count - 1
            for (c, weight) in weights.enumerated() where weight > 0 {
                running += weight
                if u < running { dominant = c; break }
            }
        } else {
            dominant = landscapeWeight.firstIndex { $0 > 0 } ?? 0
        }
        guard let patchCumulative, Hash.unit(Hash.point(cellX, cellY, patchCoherenceKey)) >= coherence[dominant] else {
            return dominant
        }
        return Self.pick(patchCumulative, Hash.unit(Hash.point(cellX, cellY, patchClassKey)))
    }
}

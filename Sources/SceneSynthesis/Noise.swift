/// Counter-based randomness: every random quantity of a scene is a hash of integer coordinates
/// (pixel, lattice point or cell) and a stream key derived from the seed, never the state of a
/// sequential generator. A pixel's value therefore depends only on its coordinates and the seed,
/// whatever the order, the window or the thread that computes it.
enum Hash {
    /// A 32-bit integer finalizer with low bias (Chris Wellons' "lowbias32").
    @inline(__always)
    static func mix(_ value: UInt32) -> UInt32 {
        var x = value
        x ^= x >> 16
        x &*= 0x7feb_352d
        x ^= x >> 15
        x &*= 0x846c_a68b
        x ^= x >> 16
        return x
    }

    /// Hash of a 2-D integer point under a stream key.
    @inline(__always)
    static func point(_ i: Int, _ j: Int, _ key: UInt32) -> UInt32 {
        mix(mix(UInt32(truncatingIfNeeded: i) ^ key) &+ UInt32(truncatingIfNeeded: j))
    }

    /// The key of stream `index` for a 64-bit seed.
    static func streamKey(seed: UInt64, index: UInt32) -> UInt32 {
        let low = UInt32(truncatingIfNeeded: seed), high = UInt32(truncatingIfNeeded: seed >> 32)
        return mix(mix(low &+ index &* 0x9e37_79b9) ^ mix(high ^ 0x85eb_ca6b) &+ index)
    }

    /// Maps a hash to a float uniform in -1..<1 (24 significant bits).
    @inline(__always)
    static func signedUnit(_ h: UInt32) -> Float {
        Float(Int32(bitPattern: h) >> 8) * (1.0 / 8_388_608.0)
    }

    /// Maps a hash to a float uniform in 0..<1 (24 significant bits).
    @inline(__always)
    static func unit(_ h: UInt32) -> Float {
        Float(h >> 8) * (1.0 / 16_777_216.0)
    }

    /// An approximately standard-normal deviate from one hash: the Irwin-Hall sum of its four
    /// bytes, centred and scaled to unit variance (range about -3.45...3.45).
    @inline(__always)
    static func gaussian(_ h: UInt32) -> Float {
        let sum = (h & 0xff) &+ ((h >> 8) & 0xff) &+ ((h >> 16) & 0xff) &+ (h >> 24)
        return (Float(sum) - 510.0) * (1.0 / 147.801_895)
    }
}

/// One octave of value noise: lattice spacing (wavelength) in pixels, amplitude and stream key.
struct Octave: Sendable {
    var wavelength: Float
    var amplitude: Float
    var key: UInt32
}

/// Fractal sums of value noise (random values on an integer lattice, interpolated with a
/// smoothstep), evaluated exactly at any point; values lie in -1...1 when amplitudes sum to 1.
enum ValueNoise {
    @inline(__always)
    static func smooth(_ t: Float) -> Float { t * t * (3 - 2 * t) }

    /// Value noise of one lattice at `(x, y)` in lattice units.
    @inline(__always)
    static func sample(_ x: Float, _ y: Float, key: UInt32) -> Float {
        let fx = x.rounded(.down), fy = y.rounded(.down)
        let i = Int(fx), j = Int(fy)
        let sx = smooth(x - fx), sy = smooth(y - fy)
        let v00 = Hash.signedUnit(Hash.point(i, j, key)), v10 = Hash.signedUnit(Hash.point(i + 1, j, key))
        let v01 = Hash.signedUnit(Hash.point(i, j + 1, key)), v11 = Hash.signedUnit(Hash.point(i + 1, j + 1, key))
        let top = v00 + (v10 - v00) * sx, bottom = v01 + (v11 - v01) * sx
        return top + (bottom - top) * sy
    }

    /// Sum of octaves at `(x, y)` in pixels.
    static func fractal(_ x: Float, _ y: Float, _ octaves: [Octave]) -> Float {
        var sum: Float = 0
        for octave in octaves {
            let inverse = 1 / octave.wavelength
            sum += octave.amplitude * sample(x * inverse, y * inverse, key: octave.key)
        }
        return sum
    }

    /// Octaves with wavelengths `longest`, `longest/2`, ... (`count` of them) and amplitudes
    /// halving with each, normalised to sum to 1; keys from consecutive streams.
    static func octaves(longest: Float, count: Int, seed: UInt64, stream: UInt32) -> [Octave] {
        var amplitudes: [Float] = []
        var amplitude: Float = 1
        for _ in 0..<count {
            amplitudes.append(amplitude)
            amplitude *= 0.5
        }
        let total = amplitudes.reduce(0, +)
        var wavelength = longest
        return (0..<count).map { index in
            defer { wavelength *= 0.5 }
            return Octave(wavelength: wavelength, amplitude: amplitudes[index] / total,
                          key: Hash.streamKey(seed: seed, index: stream &+ UInt32(index)))
        }
    }
}

/// Floor division for possibly negative numerators.
@inline(__always)
func floorDivide(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

/// Values of a field at the points of a square lattice (spacing `spacing` pixels, lattice point
/// `(i, j)` at pixel `(i * spacing, j * spacing)`) covering a rectangle of pixels, for cheap
/// per-pixel interpolation. The stored values depend only on the lattice coordinates, so
/// interpolated values are the same whichever rectangle the table was built for.
struct LatticeTable {
    let spacing: Int
    let shift: Int
    /// First lattice column and row.
    let i0: Int
    let j0: Int
    /// Lattice points per row and rows.
    let columns: Int
    let rows: Int
    var values: [Float]

    /// A table covering pixel columns `columnRange` and rows `rowRange` (spacing a power of two).
    init(spacing: Int, columns columnRange: Range<Int>, rows rowRange: Range<Int>, value: (Int, Int) -> Float) {
        precondition(spacing > 0 && spacing & (spacing - 1) == 0, "lattice spacing must be a power of two")
        self.spacing = spacing
        self.shift = spacing.trailingZeroBitCount
        i0 = floorDivide(columnRange.lowerBound, spacing)
        j0 = floorDivide(rowRange.lowerBound, spacing)
        columns = floorDivide(columnRange.upperBound - 1, spacing) + 2 - i0
        rows = floorDivide(rowRange.upperBound - 1, spacing) + 2 - j0
        var values = [Float](repeating: 0, count: columns * rows)
        for r in 0..<rows {
            for c in 0..<columns {
                values[r * columns + c] = value(i0 + c, j0 + r)
            }
        }
        self.values = values
    }

    /// Interpolates lattice rows `j` and `j + 1` at pixel row `y` into `row` (one value per
    /// lattice column) with weight `weight(fraction)` and, when `difference` is given, stores
    /// `value(j + 1) - value(j)` per lattice column there (for vertical derivatives).
    func interpolateRow(_ y: Int, into row: UnsafeMutablePointer<Float>, difference: UnsafeMutablePointer<Float>? = nil,
                        weight: (Float) -> Float) {
        let j = (y >> shift) - j0
        let t = weight(Float(y & (spacing - 1)) / Float(spacing))
        values.withUnsafeBufferPointer { v in
            guard let base = v.baseAddress else { return }
            let top = base + j * columns, bottom = top + columns
            for c in 0..<columns {
                let d = bottom[c] - top[c]
                row[c] = top[c] + d * t
                difference?[c] = d
            }
        }
    }
}

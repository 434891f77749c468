import RasterIO

/// Renders the pixels of one rectangle of the 10 m grid (or of a 2x / 6x coarser grid over it).
///
/// Building a renderer evaluates the smooth noise fields on lattices covering the rectangle and
/// the patches that can reach it; rendering then walks the rectangle row by row. Values depend
/// only on the model and the pixel coordinates, never on the rectangle, so any tiling of a grid
/// gives the same pixels. One renderer per thread (it owns scratch memory).
final class BlockRenderer {
    let model: SceneModel
    /// The 10 m pixels whose surface state the renderer can compute.
    let columns: Range<Int>
    let rows: Range<Int>

    // Smooth fields on 8-pixel lattices (bilinear), texture on 4- and 16-pixel lattices (smoothstep).
    private let warpX: LatticeTable
    private let warpY: LatticeTable
    private let lake: LatticeTable?
    private let river: LatticeTable?
    private let riverMask: LatticeTable?
    private let cloud: LatticeTable?
    private let shadow: LatticeTable?
    private let texture4: LatticeTable
    private let texture16: LatticeTable

    // Patches that pixels of the rectangle can fall into: seed points and their spectrum entry.
    private let patchX0: Int
    private let patchY0: Int
    private let patchColumns: Int
    private var seedX: [Float]
    private var seedY: [Float]
    /// Spectrum entries: one per patch, then water, then shore. Per entry: class, 13 reflectances
    /// (class spectrum x patch brightness x per-band jitter), texture amplitude.
    private var entryClass: [UInt8]
    private var entrySpectrum: [Float]
    private var entryTexture: [Float]
    private let waterEntry: Int32
    private let shoreEntry: Int32

    // Per-row scratch: lattice-row interpolations and the surface state of each pixel.
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchCount: Int
    private let latticeRowLength: Int
    /// Surface state of the current row, one entry per column of `columns`.
    let entry: UnsafeMutablePointer<Int32>
    let scale: UnsafeMutablePointer<Float>
    let cloudWeight: UnsafeMutablePointer<Float>
    let label: UnsafeMutablePointer<UInt8>

    private static let smoothWeights4: [Float] = (0..<4).map { ValueNoise.smooth(Float($0) / 4) }
    private static let smoothWeights16: [Float] = (0..<16).map { ValueNoise.smooth(Float($0) / 16) }

    init(model: SceneModel, columns: Range<Int>, rows: Range<Int>) {
        self.model = model
        self.columns = columns
        self.rows = rows
        let m = model
        warpX = LatticeTable(spacing: 8, columns: columns, rows: rows) { i, j in
            m.warpAmplitude * ValueNoise.fractal(Float(i * 8), Float(j * 8), m.warpX)
        }
        warpY = LatticeTable(spacing: 8, columns: columns, rows: rows) { i, j in
            m.warpAmplitude * ValueNoise.fractal(Float(i * 8), Float(j * 8), m.warpY)
        }
        if model.waterClass != nil || model.shoreClass != nil {
            lake = LatticeTable(spacing: 8, columns: columns, rows: rows) { i, j in
                ValueNoise.fractal(Float(i * 8), Float(j * 8), m.lake)
            }
        } else {
            lake = nil
        }
        if model.waterClass != nil {
            river = LatticeTable(spacing: 8, columns: columns, rows: rows) { i, j in
                ValueNoise.fractal(Float(i * 8), Float(j * 8), m.river)
            }
            riverMask = LatticeTable(spacing: 8, columns: columns, rows: rows) { i, j in
                ValueNoise.fractal(Float(i * 8), Float(j * 8), m.riverMask)
            }
        } else {
            river = nil
            riverMask = nil
        }
        if model.cloudsEnabled {
            cloud = LatticeTable(spacing: 8, columns: columns, rows: rows) { i, j in
                ValueNoise.fractal(Float(i * 8), Float(j * 8), m.cloud)
            }
            let offset = SceneModel.shadowOffset
            shadow = LatticeTable(spacing: 8, columns: (columns.lowerBound + offset.columns)..<(columns.upperBound + offset.columns),
                                  rows: (rows.lowerBound + offset.rows)..<(rows.upperBound + offset.rows)) { i, j in
                ValueNoise.fractal(Float(i * 8), Float(j * 8), m.cloud)
            }
        } else {
            cloud = nil
            shadow = nil
        }
        texture4 = LatticeTable(spacing: 4, columns: columns, rows: rows) { i, j in
            Hash.signedUnit(Hash.point(i, j, m.texture4Key))
        }
        texture16 = LatticeTable(spacing: 16, columns: columns, rows: rows) { i, j in
            Hash.signedUnit(Hash.point(i, j, m.texture16Key))
        }

        // Patches: every cell whose seed can be nearest to a warped pixel of the rectangle.
        let size = SceneModel.patchSize
        let margin = Int(model.warpAmplitude.rounded(.up)) + 1
        patchX0 = floorDivide(columns.lowerBound - margin, size) - 1
        patchY0 = floorDivide(rows.lowerBound - margin, size) - 1
        let patchX1 = floorDivide(columns.upperBound - 1 + margin, size) + 1
        let patchY1 = floorDivide(rows.upperBound - 1 + margin, size) + 1
        patchColumns = patchX1 - patchX0 + 1
        let patchCount = patchColumns * (patchY1 - patchY0 + 1)
        let bands = SceneModel.bandCount
        seedX = [Float](repeating: 0, count: patchCount)
        seedY = [Float](repeating: 0, count: patchCount)
        entryClass = [UInt8](repeating: 0, count: patchCount + 2)
        entrySpectrum = [Float](repeating: 0, count: (patchCount + 2) * bands)
        entryTexture = [Float](repeating: 0, count: patchCount + 2)
        let fsize = Float(size)
        for cy in patchY0...patchY1 {
            for cx in patchX0...patchX1 {
                let index = (cy - patchY0) * patchColumns + (cx - patchX0)
                let sx = (Float(cx) + 0.2 + 0.6 * Hash.unit(Hash.point(cx, cy, m.patchPointKey))) * fsize
                let sy = (Float(cy) + 0.2 + 0.6 * Hash.unit(Hash.point(cx, cy, m.patchPointKey2))) * fsize
                seedX[index] = sx
                seedY[index] = sy
                let cls = m.patchClass(cellX: cx, cellY: cy, x: sx, y: sy)
                let brightness = 1 + m.patchVariation[cls] * Hash.signedUnit(Hash.point(cx, cy, m.patchBrightnessKey))
                entryClass[index] = UInt8(truncatingIfNeeded: cls)
                entryTexture[index] = m.texture[cls]
                for b in 0..<bands {
                    let jitter = 1 + 0.04 * Hash.signedUnit(Hash.point(cx, cy, m.patchJitterKey &+ UInt32(b) &* 0x9e37_79b9))
                    entrySpectrum[index * bands + b] = m.reflectance[cls * bands + b] * brightness * jitter
                }
            }
        }
        waterEntry = Int32(patchCount)
        shoreEntry = Int32(patchCount + 1)
        for (entryIndex, cls) in [(patchCount, model.waterClass), (patchCount + 1, model.shoreClass)] {
            guard let cls else { continue }
            entryClass[entryIndex] = UInt8(truncatingIfNeeded: cls)
            entryTexture[entryIndex] = m.texture[cls]
            for b in 0..<bands {
                entrySpectrum[entryIndex * bands + b] = m.reflectance[cls * bands + b]
            }
        }

        // Scratch: 11 lattice-row buffers (the widest table is the 4-pixel texture lattice).
        latticeRowLength = max(texture4.columns, warpX.columns, shadow?.columns ?? 0) + 1
        scratchCount = latticeRowLength * 11
        scratch = .allocate(capacity: scratchCount)
        scratch.initialize(repeating: 0, count: scratchCount)
        let width = columns.count
        entry = .allocate(capacity: width)
        entry.initialize(repeating: 0, count: width)
        scale = .allocate(capacity: width)
        scale.initialize(repeating: 0, count: width)
        cloudWeight = .allocate(capacity: width)
        cloudWeight.initialize(repeating: 0, count: width)
        label = .allocate(capacity: width)
        label.initialize(repeating: 0, count: width)
    }

    deinit {
        scratch.deallocate()
        entry.deallocate()
        scale.deallocate()
        cloudWeight.deallocate()
        label.deallocate()
    }

    /// Computes the surface state (spectrum entry, scale, cloud weight, label without nodata) of
    /// every pixel of row `y` in `columns`.
    func computeRow(_ y: Int) {
        let n = latticeRowLength
        let rowWarpX = scratch, rowWarpY = scratch + n, rowLake = scratch + 2 * n
        let rowRiver = scratch + 3 * n, rowRiverStep = scratch + 4 * n, rowMask = scratch + 5 * n
        let rowCloud = scratch + 6 * n, rowShadow = scratch + 7 * n
        let rowTexture4 = scratch + 8 * n, rowTexture16 = scratch + 9 * n
        let linear: (Float) -> Float = { $0 }
        warpX.interpolateRow(y, into: rowWarpX, weight: linear)
        warpY.interpolateRow(y, into: rowWarpY, weight: linear)
        lake?.interpolateRow(y, into: rowLake, weight: linear)
        river?.interpolateRow(y, into: rowRiver, difference: rowRiverStep, weight: linear)
        riverMask?.interpolateRow(y, into: rowMask, weight: linear)
        cloud?.interpolateRow(y, into: rowCloud, weight: linear)
        shadow?.interpolateRow(y + SceneModel.shadowOffset.rows, into: rowShadow, weight: linear)
        texture4.interpolateRow(y, into: rowTexture4, weight: ValueNoise.smooth)
        texture16.interpolateRow(y, into: rowTexture16, weight: ValueNoise.smooth)

        let m = model
        let x0 = columns.lowerBound
        let i8 = warpX.i0, i4 = texture4.i0, i16 = texture16.i0
        let fy = Float(y)
        let inverseSize: Float = 1 / Float(SceneModel.patchSize)
        let hasLake = lake != nil, hasRiver = river != nil
        let water = waterEntry, shore = model.shoreClass != nil ? shoreEntry : -1
        let lakeThreshold = model.waterClass != nil ? m.lakeThreshold : Float.infinity
        let shoreThreshold = m.shoreThreshold, maskThreshold = m.riverMaskThreshold
        let halfWidth = m.riverHalfWidth
        let cloudLabel = m.cloudLabel
        let cloudThreshold = m.cloudThreshold, inverseSoftness = 1 / m.cloudSoftness
        let shadowColumns = SceneModel.shadowOffset.columns
        let shadowI0 = shadow?.i0 ?? 0
        let w4 = Self.smoothWeights4, w16 = Self.smoothWeights16
        seedX.withUnsafeBufferPointer { seedXs in
        seedY.withUnsafeBufferPointer { seedYs in
        entryClass.withUnsafeBufferPointer { classes in
        entryTexture.withUnsafeBufferPointer { textures in
        w4.withUnsafeBufferPointer { w4 in
        w16.withUnsafeBufferPointer { w16 in
            for k in 0..<columns.count {
                let x = x0 + k
                // Warped position and nearest patch seed among the 3 x 3 cells around it.
                let c8 = (x >> 3) - i8
                let f8 = Float(x & 7) * 0.125
                let wx = Float(x) + (rowWarpX[c8] + (rowWarpX[c8 + 1] - rowWarpX[c8]) * f8)
                let wy = fy + (rowWarpY[c8] + (rowWarpY[c8 + 1] - rowWarpY[c8]) * f8)
                let cx = Int((wx * inverseSize).rounded(.down)) - 1 - patchX0
                let cy = Int((wy * inverseSize).rounded(.down)) - 1 - patchY0
                var best = Float.infinity
                var nearest = 0
                for dy in 0..<3 {
                    let base = (cy + dy) * patchColumns + cx
                    for dx in 0..<3 {
                        let index = base + dx
                        let ex = seedXs[index] - wx, ey = seedYs[index] - wy
                        let d = ex * ex + ey * ey
                        if d < best { best = d; nearest = index }
                    }
                }
                var e = Int32(nearest)
                // Lakes, rivers and lake shores override patches.
                if hasLake {
                    let l = rowLake[c8] + (rowLake[c8 + 1] - rowLake[c8]) * f8
                    if l > lakeThreshold {
                        e = water
                    } else if hasRiver, case let mask = rowMask[c8] + (rowMask[c8 + 1] - rowMask[c8]) * f8, mask > maskThreshold {
                        let r = rowRiver[c8] + (rowRiver[c8 + 1] - rowRiver[c8]) * f8
                        // Gradient of the bilinear interpolant, per pixel: |r| / |grad r| is the
                        // distance to the zero crossing. Rivers narrow to nothing at the mask edge.
                        let gx = (rowRiver[c8 + 1] - rowRiver[c8]) * 0.125
                        let gy = (rowRiverStep[c8] + (rowRiverStep[c8 + 1] - rowRiverStep[c8]) * f8) * 0.125
                        let taper = min(1, (mask - maskThreshold) * 20)
                        let limit = halfWidth * taper
                        if r * r < limit * limit * (gx * gx + gy * gy) {
                            e = water
                        } else if shore >= 0, l > shoreThreshold {
                            e = shore
                        }
                    } else if shore >= 0, l > shoreThreshold {
                        e = shore
                    }
                }
                let entryIndex = Int(e)
                // Texture: value noise at 40 m and 160 m wavelengths, zero mean.
                let c4 = (x >> 2) - i4, c16 = (x >> 4) - i16
                let t4 = rowTexture4[c4] + (rowTexture4[c4 + 1] - rowTexture4[c4]) * w4[x & 3]
                let t16 = rowTexture16[c16] + (rowTexture16[c16 + 1] - rowTexture16[c16]) * w16[x & 15]
                var s = 1 + textures[entryIndex] * (0.65 * t4 + 0.35 * t16)
                var cw: Float = 0
                var lab = classes[entryIndex]
                if let cloudLabel {
                    let c = rowCloud[c8] + (rowCloud[c8 + 1] - rowCloud[c8]) * f8
                    let a = ValueNoise.smooth(min(1, max(0, (c - cloudThreshold) * inverseSoftness)))
                    let xs = x + shadowColumns
                    let cs8 = (xs >> 3) - shadowI0
                    let fs8 = Float(xs & 7) * 0.125
                    let cs = rowShadow[cs8] + (rowShadow[cs8 + 1] - rowShadow[cs8]) * fs8
                    let shade = ValueNoise.smooth(min(1, max(0, (cs - cloudThreshold) * inverseSoftness)))
                    s *= (1 - 0.6 * shade) * (1 - a)
                    cw = a * (0.75 + 0.25 * a)
                    if a >= 0.5 { lab = cloudLabel }
                }
                entry[k] = e
                scale[k] = s
                cloudWeight[k] = cw
                label[k] = lab
            }
        }
        }
        }
        }
        }
        }
    }

    /// Encodes a reflectance as DN: `round(reflectance * 10000 + noise) + offset`, clamped to
    /// 1...32767 (DN 0 is nodata); the offset is added after rounding, so it shifts DN exactly.
    @inline(__always)
    private func encode(_ reflectance: Float, _ h: UInt32, noise: Bool, offset: Int32) -> UInt16 {
        var value = reflectance * 10_000
        if noise { value += Hash.gaussian(h) * (10 + 80 * reflectance) }
        value = min(max(value, -4_000_000), 4_000_000)
        // Adding 1.5 * 2^23 rounds to the nearest integer (ties to even), which then sits in the
        // low mantissa bits offset by 2^22.
        let rounded = Int32(bitPattern: (value + 12_582_912).bitPattern & 0x7f_ffff) &- 4_194_304
        return UInt16(truncatingIfNeeded: min(max(rounded &+ offset, 1), 32_767))
    }

    /// Renders bands and labels of 10 m pixels: `window` must lie within `columns` x `rows`.
    ///
    /// - Parameters:
    ///   - bands: band indices (0...12, ESA order) to render, in output order.
    ///   - planes: `bands.count` planes of `window.pixelCount` DN, row-major.
    ///   - labels: `window.pixelCount` labels (255 = nodata), or nil.
    func renderFine(window: RasterWindow, bands: [Int], planes: UnsafeMutablePointer<UInt16>, labels: UnsafeMutablePointer<UInt8>?) {
        let m = model
        let w = window.width, plane = window.pixelCount
        let skip = window.column - columns.lowerBound
        let valid = UnsafeMutablePointer<Bool>.allocate(capacity: w)
        defer { valid.deallocate() }
        let noise = m.sensorNoise, offset = m.dnOffset
        let keys = m.noiseKeys[1] ?? []
        entrySpectrum.withUnsafeBufferPointer { spectrum in
            for row in 0..<window.height {
                let y = window.row + row
                computeRow(y)
                let entries = entry + skip, scales = scale + skip, clouds = cloudWeight + skip
                for k in 0..<w {
                    valid[k] = !m.isNodata(x: Float(window.column + k) + 0.5, y: Float(y) + 0.5)
                }
                for (slot, band) in bands.enumerated() {
                    let out = planes + slot * plane + row * w
                    let rowKey = Hash.mix(keys[band] &+ UInt32(truncatingIfNeeded: y) &* 0x9e37_79b9)
                    let cloudValue = m.cloudSpectrum[band]
                    let stride = SceneModel.bandCount
                    for k in 0..<w {
                        let rho = scales[k] * spectrum[Int(entries[k]) * stride + band] + clouds[k] * cloudValue
                        let h = Hash.mix(rowKey &+ UInt32(truncatingIfNeeded: window.column + k))
                        out[k] = valid[k] ? encode(rho, h, noise: noise, offset: offset) : 0
                    }
                }
                if let labels {
                    let out = labels + row * w
                    let source = label + skip
                    for k in 0..<w {
                        out[k] = valid[k] ? source[k] : 255
                    }
                }
            }
        }
    }

    /// Renders bands on a grid `factor` times coarser than the 10 m grid (same upper-left corner):
    /// a coarse pixel's reflectance is the mean over its `factor x factor` 10 m pixels (before
    /// noise), plus sensor noise of its own; it is nodata when its centre lies beyond the swath
    /// edge. `window` is in the coarse grid; `columns` x `rows` must cover it times `factor`.
    func renderCoarse(window: RasterWindow, factor: Int, bands: [Int], planes: UnsafeMutablePointer<UInt16>) {
        let m = model
        let w = window.width, plane = window.pixelCount
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: w * bands.count)
        defer { sums.deallocate() }
        let noise = m.sensorNoise, offset = m.dnOffset
        let keys = m.noiseKeys[factor] ?? m.noiseKeys[1] ?? []
        let inverseArea = 1 / Float(factor * factor)
        let fineStart = window.column * factor - columns.lowerBound
        entrySpectrum.withUnsafeBufferPointer { spectrum in
            for row in 0..<window.height {
                let coarseY = window.row + row
                sums.initialize(repeating: 0, count: w * bands.count)
                for sub in 0..<factor {
                    computeRow(coarseY * factor + sub)
                    for (slot, band) in bands.enumerated() {
                        let cloudValue = m.cloudSpectrum[band]
                        let stride = SceneModel.bandCount
                        let sum = sums + slot * w
                        for k in 0..<w {
                            var total: Float = 0
                            let first = fineStart + k * factor
                            for t in first..<(first + factor) {
                                total += scale[t] * spectrum[Int(entry[t]) * stride + band] + cloudWeight[t] * cloudValue
                            }
                            sum[k] += total
                        }
                    }
                }
                let centerY = (Float(coarseY) + 0.5) * Float(factor)
                for (slot, band) in bands.enumerated() {
                    let out = planes + slot * plane + row * w
                    let sum = sums + slot * w
                    let rowKey = Hash.mix(keys[band] &+ UInt32(truncatingIfNeeded: coarseY) &* 0x9e37_79b9)
                    for k in 0..<w {
                        let coarseX = window.column + k
                        if m.isNodata(x: (Float(coarseX) + 0.5) * Float(factor), y: centerY) {
                            out[k] = 0
                        } else {
                            let h = Hash.mix(rowKey &+ UInt32(truncatingIfNeeded: coarseX))
                            out[k] = encode(sum[k] * inverseArea, h, noise: noise, offset: offset)
                        }
                    }
                }
            }
        }
    }
}

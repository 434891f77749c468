import Foundation

/// Dense and segmentation modes: class probabilities summed per pixel with a Hann weight
/// `w(y, x) = sin²(π (y + ½) / P) · sin²(π (x + ½) / P)` (P the patch size, y and x pixel offsets
/// in the patch), which falls smoothly towards patch borders. On each side where a neighbouring
/// patch overlaps, the outer `margin = (P - stride) / 4` pixels get weight 0, so pixels are
/// predicted by patches that see their surroundings (a CNN's zero padding distorts predictions
/// near patch edges). Sides on the scene edge keep their weight, so every pixel stays covered.
/// Patches below the minimum valid share have their weight multiplied by 1e-3: they decide only
/// where no accepted patch covers a pixel.
///
/// Dense mode spreads each patch's `classes` probabilities over its pixels; segmentation adds the
/// model's per-pixel probabilities (`classes * P * P` per patch, class planes, row-major). A pixel's
/// probability is its weighted sum divided by its summed weight.
final class HannBlendAssembly: AssemblyStrategy {
    private let output: AssemblyOutput
    /// Whether the model answers per pixel (segmentation) rather than per patch (dense).
    private let perPixel: Bool
    private let patch: Int
    private let sceneWidth: Int
    private let sceneHeight: Int
    private let margin: Int
    /// The tiler's patch origins (scene pixels).
    private let columnStarts: [Int]
    private let rowStarts: [Int]
    private let hann: [Float]
    private static let fallbackWeight: Float = 1e-3

    // Raw buffers (owned, freed in deinit): per-pixel loops over them avoid Swift's dynamic
    // exclusivity checks on class properties. Band rows row-major, `width` values per row.
    /// `classes` planes of `capacity * width` weighted probability sums.
    private let accumulated: UnsafeMutablePointer<Float>
    /// `capacity * width` summed weights.
    private let weight: UnsafeMutablePointer<Float>

    init(output: AssemblyOutput, tiler: Tiler, perPixel: Bool) {
        self.output = output
        self.perPixel = perPixel
        patch = tiler.patchSize
        sceneWidth = tiler.width
        sceneHeight = tiler.height
        margin = (tiler.patchSize - tiler.stride) / 4
        columnStarts = tiler.columnStarts
        rowStarts = tiler.rowStarts
        let p = tiler.patchSize
        hann = (0..<p).map { i in
            let s = Float(sin(Double.pi * (Double(i) + 0.5) / Double(p)))
            return s * s
        }
        let cells = output.capacity * output.width
        accumulated = .allocate(capacity: cells * output.classes)
        weight = .allocate(capacity: cells)
    }

    deinit {
        accumulated.deallocate()
        weight.deallocate()
    }

    func shift(by rows: Int, keep: Int) {
        output.shiftPlanes(weight, by: rows, keep: keep)
        output.shiftPlanes(accumulated, planes: output.classes, by: rows, keep: keep)
    }

    func reset(rows: Range<Int>) {
        output.resetPlanes(weight, rows: rows, to: 0)
        output.resetPlanes(accumulated, planes: output.classes, rows: rows, to: 0)
    }

    func dropRows(above top: Int) {}

    func add(_ result: ClassifiedUnit, band: AssemblyBand) {
        band.recordValidity(of: result, sceneWidth: sceneWidth)
        let unit = result.unit, p = patch
        let columnStarts = self.columnStarts, rowStarts = self.rowStarts
        var index = 0
        for r in unit.patchRows {
            for c in unit.patchColumns {
                defer { index += 1 }
                guard result.classified[index] else { continue }
                let accepted = result.validFractions[index] >= output.minValidFraction
                let originX = columnStarts[c], originY = rowStarts[r] - band.top
                let xEnd = min(p, sceneWidth - columnStarts[c])
                let yEnd = min(p, band.filled - originY)
                blend(result, patchIndex: index, originX: originX, originY: originY, xEnd: xEnd, yEnd: yEnd,
                      accepted: accepted, top: band.top)
            }
        }
    }

    /// Adds one patch's weighted probabilities to the band; the patch's top-left pixel is band
    /// row `originY`, column `originX`, and its first `yEnd` rows and `xEnd` columns are in the band.
    private func blend(_ result: ClassifiedUnit, patchIndex: Int, originX: Int, originY: Int, xEnd: Int, yEnd: Int,
                       accepted: Bool, top: Int) {
        let w = output.width, k = output.classes, p = patch, capacity = output.capacity
        let factor: Float = accepted ? 1 : Self.fallbackWeight
        // Trim the margins on sides that have an overlapping neighbour (not on the scene edge).
        let column = originX, row = originY + top
        let left = column > 0 ? margin : 0, right = column + p < sceneWidth ? margin : 0
        let upper = row > 0 ? margin : 0, lower = row + p < sceneHeight ? margin : 0
        var wx = hann, wyTable = hann
        for i in 0..<p where i < left || i >= p - right { wx[i] = 0 }
        for i in 0..<p where i < upper || i >= p - lower { wyTable[i] = 0 }
        let perPixel = self.perPixel
        let stride = perPixel ? k * p * p : k
        let base = patchIndex * stride
        let a = accumulated, ws = weight
        result.probabilities.withUnsafeBufferPointer { probs in
            guard let pr = probs.baseAddress else { return }
            for y in 0..<yEnd {
                let wy = wyTable[y] * factor
                guard wy > 0 else { continue }
                let rowBase = (originY + y) * w + originX
                for x in 0..<xEnd {
                    ws[rowBase + x] += wy * wx[x]
                }
                for c in 0..<k {
                    let plane = a + c * capacity * w + rowBase
                    if perPixel {
                        let source = pr + base + (c * p + y) * p
                        for x in 0..<xEnd { plane[x] += wy * wx[x] * source[x] }
                    } else {
                        let value = pr[base + c] * wy
                        for x in 0..<xEnd { plane[x] += value * wx[x] }
                    }
                }
            }
        }
    }

    /// Each valid pixel with some weight takes the class with the largest weighted sum (ties: the
    /// lower class); confidence and probabilities are the sums divided by the summed weight.
    func finish(rows count: Int, band: AssemblyBand, into values: inout FinishedRows) {
        let w = output.width, k = output.classes, capacity = output.capacity
        let validity = band.validity, accumulated = self.accumulated, weight = self.weight
        let wantConfidence = output.confidence, wantProbabilities = output.probabilities
        for row in 0..<count { for x in 0..<w {
            let cell = row * w + x
            guard validity[row, x] else { values.histogram[k] += 1; continue }
            let total = weight[cell]
            guard total > 0 else { values.histogram[k] += 1; continue }
            var top1: Float = -1, cls = 0
            for c in 0..<k {
                let value = accumulated[c * capacity * w + cell]
                if value > top1 { top1 = value; cls = c }
            }
            values.classes[cell] = UInt16(cls)
            values.histogram[cls] += 1
            if wantConfidence { values.confidence[cell] = MapAssembler.percent(top1 / total) }
            if wantProbabilities {
                for c in 0..<k { values.probabilities[c * count * w + cell] = MapAssembler.percent(accumulated[c * capacity * w + cell] / total) }
            }
        } }
    }
}

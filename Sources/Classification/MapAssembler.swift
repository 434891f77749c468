import Config
import Foundation
import RasterIO

/// The model's answer for one work unit, in the unit's patch order (row-major within the unit).
struct ClassifiedUnit: Sendable {
    let unit: WorkUnit
    /// Validity of `unit.window`'s pixels, row-major (1 = valid in every model band and the mask).
    let validity: [UInt8]
    /// Per patch: the share of valid pixels (0...1).
    let validFractions: [Float]
    /// Per patch: whether it was classified (it has at least one valid pixel).
    let classified: [Bool]
    /// Class probabilities: per patch `classes` values (patch classifiers) or
    /// `classes * P * P` values, channel-major (segmentation). Zeros for unclassified patches.
    let probabilities: [Float]
}

/// Rows of the finished map, ready to write: `rowCount` rows of the output grid starting at
/// `firstRow`, each `width` values.
struct MapRows {
    let firstRow: Int
    let rowCount: Int
    let width: Int
    /// Class values or the legend's nodata value.
    let classes: [UInt16]
    /// Top-1 probability in percent (0-100) or nodata; empty when not requested.
    let confidence: [UInt16]
    /// Per class, the probability in percent (0-100) or nodata, class-major; empty when not requested.
    let probabilities: [UInt16]
}

/// Turns classified units into finished map rows, in order, holding only the rows that later
/// units can still change.
///
/// Full-resolution modes keep a band of rows (at most one unit row's span) with per-pixel state:
/// - patch: each pixel takes the patch whose centre is nearest (ties: the earlier patch). Distance
///   is separable, so the owner is the nearest patch row times the nearest patch column: the band
///   holds only pixel validity and the results of the patches it overlaps, and rows are resolved
///   when finished (1 byte per pixel instead of per-pixel scores);
/// - dense and segmentation: probabilities are summed with a Hann weight
///   `w(y, x) = sin²(π (y + ½) / P) · sin²(π (x + ½) / P)`, which falls smoothly towards patch
///   borders. On each side where a neighbouring patch overlaps, the outer
///   `margin = (P - stride) / 4` pixels get weight 0, so pixels are predicted by patches that see
///   their surroundings (a CNN's zero padding distorts predictions near patch edges). Sides on
///   the scene edge keep their weight, so every pixel stays covered.
///
/// Patches whose valid share is below the minimum count only where no better patch covers a
/// pixel (in patch mode the pixel takes the nearest accepted patch covering it, else the nearest
/// classified one; when blending their weight is multiplied by 1e-3), so every
/// valid pixel is classified and the minimum decides quality, not coverage. Invalid pixels are
/// always nodata. The patch-resolution mode writes one pixel per patch and leaves patches below
/// the minimum nodata.
final class MapAssembler {
    let mode: ClassificationMode
    let plan: UnitPlan
    let classes: Int
    let minValidFraction: Float
    let nodata: UInt16
    let wantConfidence: Bool
    let wantProbabilities: Bool
    /// Output grid width (scene width, or patch columns at patch resolution).
    let outputWidth: Int
    /// Output grid height.
    let outputHeight: Int
    /// Per-class pixel counts of the finished map; index `classes` counts nodata pixels.
    private(set) var histogram: [Int]

    private let patch: Int
    private let sceneWidth: Int
    private let sceneHeight: Int
    private let margin: Int
    private let hann: [Float]
    private static let fallbackWeight: Float = 1e-3

    // Band of rows [top, top + filled) of the output grid. Raw buffers (owned, freed in deinit):
    // per-pixel loops over them avoid Swift's dynamic exclusivity checks on class properties.
    private var top = 0
    private var filled = 0
    private let capacity: Int
    private let cells: Int
    private let validity: RowBits                          // pixel validity, one bit per pixel
    private let score: UnsafeMutablePointer<Float>        // patch modes: distance score of the winner
    private let best: UnsafeMutablePointer<Float>         // patch modes with confidence: top-1 probability of the winner
    private let label: UnsafeMutablePointer<UInt16>       // patch modes: class of the winner
    private let accumulated: UnsafeMutablePointer<Float>  // blend (or patch + probabilities): class planes
    private let weight: UnsafeMutablePointer<Float>       // blend: summed weights
    private let blends: Bool
    private let keepsProbabilities: Bool

    // Patch mode: per scene column (row), the patch column (row) whose centre is nearest, ties to
    // the earlier one; the column ranges each patch column owns; results of the patches in the band.
    private let columnStarts: [Int]
    private let rowStarts: [Int]
    private let rowOwner: [Int]
    private let ownedColumns: [Range<Int>]
    private var patchRows: [Int: PatchRowResults] = [:]

    /// Results of one row of patches (patch mode), indexed by patch column.
    private struct PatchRowResults {
        var label: [UInt16]
        var top1: [Float]
        /// 0: not classified (no valid pixel), 1: below the minimum valid share, 2: accepted.
        var state: [UInt8]
        /// `classes` values per patch column, when probabilities are written.
        var probabilities: [Float]
    }

    init(mode: ClassificationMode, plan: UnitPlan, classes: Int, minValidFraction: Double, nodata: UInt16,
         confidence: Bool, probabilities: Bool) {
        self.mode = mode
        self.plan = plan
        self.classes = classes
        self.minValidFraction = Float(minValidFraction)
        self.nodata = nodata
        self.wantConfidence = confidence
        self.wantProbabilities = probabilities
        self.patch = plan.tiler.patchSize
        self.sceneWidth = plan.tiler.width
        self.sceneHeight = plan.tiler.height
        self.margin = (plan.tiler.patchSize - plan.tiler.stride) / 4
        if mode == .patchResolution {
            outputWidth = plan.tiler.columnStarts.count
            outputHeight = plan.tiler.rowStarts.count
            capacity = plan.units.map(\.patchRows.count).max() ?? 1
        } else {
            outputWidth = plan.tiler.width
            outputHeight = plan.tiler.height
            capacity = max(1, plan.maxRowSpan)
        }
        histogram = [Int](repeating: 0, count: classes + 1)
        let p = plan.tiler.patchSize
        hann = (0..<p).map { i in
            let s = Float(sin(Double.pi * (Double(i) + 0.5) / Double(p)))
            return s * s
        }
        let cells = capacity * outputWidth
        self.cells = cells
        let blends = mode == .dense || mode == .segmentation
        self.blends = blends
        let perPixelWinners = mode == .patchResolution
        keepsProbabilities = blends || (perPixelWinners && probabilities)
        validity = RowBits(rows: capacity, width: outputWidth)
        score = .allocate(capacity: perPixelWinners ? cells : 1)
        best = .allocate(capacity: perPixelWinners && confidence ? cells : 1)
        label = .allocate(capacity: perPixelWinners ? cells : 1)
        columnStarts = plan.tiler.columnStarts
        rowStarts = plan.tiler.rowStarts
        if mode == .patch {
            let columnOwner = Self.owners(starts: columnStarts, length: sceneWidth, patch: p)
            rowOwner = Self.owners(starts: rowStarts, length: sceneHeight, patch: p)
            var ranges = [Range<Int>](repeating: 0..<0, count: columnStarts.count)
            var x = 0
            while x < sceneWidth {
                let owner = columnOwner[x]
                var end = x + 1
                while end < sceneWidth && columnOwner[end] == owner { end += 1 }
                if owner >= 0 { ranges[owner] = x..<end }
                x = end
            }
            ownedColumns = ranges
        } else {
            rowOwner = []
            ownedColumns = []
        }
        accumulated = .allocate(capacity: keepsProbabilities ? cells * classes : 1)
        weight = .allocate(capacity: blends ? cells : 1)
    }

    deinit {
        validity.deallocate()
        score.deallocate()
        best.deallocate()
        label.deallocate()
        accumulated.deallocate()
        weight.deallocate()
    }

    /// Output rows (in output-grid rows) that unit row `u` starts at and finishes before.
    private func outputRange(unitRow u: Int) -> (top: Int, bottom: Int, final: Int) {
        if mode == .patchResolution {
            let rows = plan.units.first { $0.unitRow == u }?.patchRows ?? 0..<0
            return (rows.lowerBound, rows.upperBound, rows.upperBound)
        }
        return (plan.unitRowTops[u], plan.unitRowBottoms[u], plan.finalRow(after: u))
    }

    /// Prepares the row band for unit row `u`: rows above its top must already be finished.
    func beginUnitRow(_ u: Int) {
        let range = outputRange(unitRow: u)
        precondition(range.top >= top, "unit rows arrive in order")
        let drop = min(filled, range.top - top)
        if drop > 0 { shift(by: drop) }
        top = range.top
        let needed = range.bottom - top
        if needed > filled {
            reset(rows: filled..<needed)
            filled = needed
        }
    }

    private func shift(by rows: Int) {
        let keep = filled - rows
        let w = outputWidth
        func move<T>(_ base: UnsafeMutablePointer<T>, planes: Int) {
            for plane in 0..<planes where keep > 0 {
                let start = base + plane * capacity * w
                start.update(from: start + rows * w, count: keep * w)
            }
        }
        validity.moveRows(from: rows, count: keep)
        if blends {
            move(weight, planes: 1)
        } else if mode == .patchResolution {
            move(score, planes: 1)
            if wantConfidence { move(best, planes: 1) }
            move(label, planes: 1)
        }
        if keepsProbabilities { move(accumulated, planes: classes) }
        filled = keep
    }

    private func reset(rows: Range<Int>) {
        let w = outputWidth
        let start = rows.lowerBound * w, count = rows.count * w
        validity.clear(rows: rows)
        if blends {
            (weight + start).update(repeating: 0, count: count)
        } else if mode == .patchResolution {
            (score + start).update(repeating: .infinity, count: count)
            if wantConfidence { (best + start).update(repeating: 0, count: count) }
            (label + start).update(repeating: nodata, count: count)
        }
        if keepsProbabilities {
            for c in 0..<classes { (accumulated + c * capacity * w + start).update(repeating: 0, count: count) }
        }
    }

    /// Adds one unit's results to the row band.
    func add(_ result: ClassifiedUnit) {
        if mode == .patchResolution { addCoarse(result); return }
        let unit = result.unit, window = unit.window, p = patch
        // Validity of the unit's pixels inside the scene.
        for y in 0..<window.height {
            let row = window.row + y - top
            guard row >= 0, row < filled else { continue }
            for x in 0..<window.width {
                let column = window.column + x
                guard column < sceneWidth else { break }
                validity.set(row: row, x: column, result.validity[y * window.width + x] != 0)
            }
        }
        var index = 0
        let columnStarts = plan.tiler.columnStarts, rowStarts = plan.tiler.rowStarts
        for r in unit.patchRows {
            for c in unit.patchColumns {
                defer { index += 1 }
                guard result.classified[index] else { continue }
                let accepted = result.validFractions[index] >= minValidFraction
                let originX = columnStarts[c], originY = rowStarts[r] - top
                let xEnd = min(p, sceneWidth - columnStarts[c])
                let yEnd = min(p, filled - originY)
                switch mode {
                case .patch:
                    record(result, patchIndex: index, row: r, column: c, accepted: accepted)
                case .dense, .segmentation:
                    blend(result, patchIndex: index, originX: originX, originY: originY, xEnd: xEnd, yEnd: yEnd, accepted: accepted)
                case .patchResolution:
                    break
                }
            }
        }
    }

    /// Per scene pixel along one axis: the index of the patch whose centre is nearest, ties to the
    /// earlier patch; -1 where no patch covers the pixel. Distances in half pixels (integers).
    static func owners(starts: [Int], length: Int, patch: Int) -> [Int] {
        var owner = [Int](repeating: -1, count: length)
        var distance = [Int](repeating: .max, count: length)
        for (index, start) in starts.enumerated() {
            let centre2 = 2 * start + patch
            for x in max(0, start)..<min(length, start + patch) {
                let d = abs(2 * x + 1 - centre2)
                if d < distance[x] {
                    distance[x] = d
                    owner[x] = index
                }
            }
        }
        return owner
    }

    /// Keeps one patch's result (patch mode) until the rows it covers are finished.
    private func record(_ result: ClassifiedUnit, patchIndex: Int, row: Int, column: Int, accepted: Bool) {
        let k = classes, columns = columnStarts.count
        // `default:` is evaluated only for a patch row's first patch.
        func empty() -> PatchRowResults {
            PatchRowResults(label: [UInt16](repeating: nodata, count: columns), top1: [Float](repeating: 0, count: columns),
                            state: [UInt8](repeating: 0, count: columns),
                            probabilities: wantProbabilities ? [Float](repeating: 0, count: columns * k) : [])
        }
        let probabilities = result.probabilities[(patchIndex * k)..<(patchIndex * k + k)]
        let (cls, top1) = Self.top1(probabilities)
        // Mutated in place (a copy taken out of the dictionary would copy the whole row each time).
        patchRows[row, default: empty()].label[column] = UInt16(cls)
        patchRows[row, default: empty()].top1[column] = top1
        patchRows[row, default: empty()].state[column] = accepted ? 2 : 1
        if wantProbabilities {
            for (c, value) in probabilities.enumerated() { patchRows[row, default: empty()].probabilities[column * k + c] = value }
        }
    }

    /// The most probable class of one patch's `classes` probabilities and its probability (ties:
    /// the lower class).
    static func top1(_ probabilities: ArraySlice<Float>) -> (cls: Int, value: Float) {
        var value: Float = -1, cls = 0
        for (offset, p) in probabilities.enumerated() where p > value { value = p; cls = offset }
        return (cls, value)
    }

    /// Patch mode fallback, for a valid pixel whose nearest patch is below the minimum valid share:
    /// the nearest accepted patch covering it, else the nearest classified one (ties: earlier row,
    /// then earlier column). Returns (patch row, patch column) or nil.
    private func fallbackOwner(x: Int, y: Int, nearestRow: Int, nearestColumn: Int) -> (Int, Int)? {
        let p = patch
        func covering(_ starts: [Int], _ position: Int, around index: Int) -> ClosedRange<Int> {
            var low = index, high = index
            while low > 0 && starts[low - 1] + p > position { low -= 1 }
            while high + 1 < starts.count && starts[high + 1] <= position { high += 1 }
            return low...high
        }
        var bestKey: (Int, Int, Int, Int)? = nil
        var winner: (Int, Int)? = nil
        for r in covering(rowStarts, y, around: nearestRow) where rowStarts[r] <= y && y < rowStarts[r] + p {
            guard let results = patchRows[r] else { continue }
            let dy = abs(2 * y + 1 - (2 * rowStarts[r] + p))
            for c in covering(columnStarts, x, around: nearestColumn) where columnStarts[c] <= x && x < columnStarts[c] + p {
                let state = results.state[c]
                guard state > 0 else { continue }
                let dx = abs(2 * x + 1 - (2 * columnStarts[c] + p))
                let key = (state == 2 ? 0 : 1, dx * dx + dy * dy, r, c)
                if bestKey.map({ key < $0 }) ?? true {
                    bestKey = key
                    winner = (r, c)
                }
            }
        }
        return winner
    }

    private func blend(_ result: ClassifiedUnit, patchIndex: Int, originX: Int, originY: Int, xEnd: Int, yEnd: Int, accepted: Bool) {
        let w = outputWidth, k = classes, p = patch
        let factor: Float = accepted ? 1 : Self.fallbackWeight
        // Trim the margins on sides that have an overlapping neighbour (not on the scene edge).
        let column = originX, row = originY + top
        let left = column > 0 ? margin : 0, right = column + p < sceneWidth ? margin : 0
        let upper = row > 0 ? margin : 0, lower = row + p < sceneHeight ? margin : 0
        var wx = hann, wyTable = hann
        for i in 0..<p where i < left || i >= p - right { wx[i] = 0 }
        for i in 0..<p where i < upper || i >= p - lower { wyTable[i] = 0 }
        let perPixel = mode == .segmentation
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

    private func addCoarse(_ result: ClassifiedUnit) {
        let unit = result.unit, w = outputWidth, k = classes
        var index = 0
        for r in unit.patchRows {
            for c in unit.patchColumns {
                defer { index += 1 }
                let cell = (r - top) * w + c
                guard result.classified[index], result.validFractions[index] >= minValidFraction,
                      result.validFractions[index] > 0 else { continue }
                let probabilities = result.probabilities[(index * k)..<(index * k + k)]
                let (cls, top1) = Self.top1(probabilities)
                validity.set(row: r - top, x: c, true)
                score[cell] = 0
                label[cell] = UInt16(cls)
                if wantConfidence { best[cell] = top1 }
                if wantProbabilities {
                    for (ci, value) in probabilities.enumerated() { accumulated[ci * capacity * w + cell] = value }
                }
            }
        }
    }

    /// Finishes the rows that unit row `u` completed and hands them to `emit` in chunks of at
    /// most `chunkRows` rows, top to bottom (the finished arrays stay small on wide scenes).
    func finishUnitRow(_ u: Int, chunkRows: Int = 64, emit: (MapRows) throws -> Void) rethrows {
        let range = outputRange(unitRow: u)
        var remaining = max(0, min(range.final, outputHeight) - top)
        while remaining > 0 {
            let count = min(remaining, max(1, chunkRows))
            try emit(finishRows(count))
            remaining -= count
        }
    }

    /// Finishes the next `count` rows of the band and drops them from it.
    private func finishRows(_ count: Int) -> MapRows {
        let w = outputWidth, k = classes
        var classValues = [UInt16](repeating: nodata, count: count * w)
        var confidence = wantConfidence ? [UInt16](repeating: nodata, count: count * w) : []
        var probabilities = wantProbabilities ? [UInt16](repeating: nodata, count: count * w * k) : []
        var hist = histogram
        defer { histogram = hist }
        if mode == .patch {
            resolvePatchRows(count: count, classValues: &classValues, confidence: &confidence, probabilities: &probabilities, histogram: &hist)
        } else {
            for row in 0..<count { for x in 0..<w {
                let cell = row * w + x
                guard validity[row, x] else { hist[k] += 1; continue }
                if blends {
                    let total = weight[cell]
                    guard total > 0 else { hist[k] += 1; continue }
                    var top1: Float = -1, cls = 0
                    for c in 0..<k {
                        let value = accumulated[c * capacity * w + cell]
                        if value > top1 { top1 = value; cls = c }
                    }
                    classValues[cell] = UInt16(cls)
                    hist[cls] += 1
                    if wantConfidence { confidence[cell] = Self.percent(top1 / total) }
                    if wantProbabilities {
                        for c in 0..<k { probabilities[c * count * w + cell] = Self.percent(accumulated[c * capacity * w + cell] / total) }
                    }
                } else {
                    guard score[cell] < .infinity else { hist[k] += 1; continue }
                    let cls = label[cell]
                    classValues[cell] = cls
                    hist[Int(cls)] += 1
                    if wantConfidence { confidence[cell] = Self.percent(best[cell]) }
                    if wantProbabilities {
                        for c in 0..<k { probabilities[c * count * w + cell] = Self.percent(accumulated[c * capacity * w + cell]) }
                    }
                }
            } }
        }
        let rows = MapRows(firstRow: top, rowCount: count, width: w, classes: classValues, confidence: confidence,
                           probabilities: probabilities)
        // Drop the finished rows; the rest carries over to the next unit row.
        if count > 0 { shift(by: min(count, filled)) }
        top += count
        if mode == .patch {
            for r in Array(patchRows.keys) where rowStarts[r] + patch <= top { patchRows[r] = nil }
        }
        return rows
    }

    /// Patch mode: the finished rows' classes from their nearest patches (see the type's notes).
    private func resolvePatchRows(count: Int, classValues: inout [UInt16], confidence: inout [UInt16],
                                  probabilities: inout [UInt16], histogram hist: inout [Int]) {
        let w = outputWidth, k = classes, plane = count * w
        let covered = ownedColumns.reduce(0) { $0 + $1.count }
        for row in 0..<count {
            let y = top + row, rowBase = row * w
            let r = rowOwner[y]
            guard r >= 0 else { hist[k] += w; continue }
            hist[k] += w - covered
            let results = patchRows[r]
            for c in ownedColumns.indices where !ownedColumns[c].isEmpty {
                let xs = ownedColumns[c]
                if let results, results.state[c] == 2 {
                    // The common case: the nearest patch is accepted; one class for the run.
                    let cls = results.label[c]
                    var valid = 0
                    classValues.withUnsafeMutableBufferPointer { out in
                        for x in xs {
                            let isValid = validity[row, x]
                            out[rowBase + x] = isValid ? cls : nodata
                            valid &+= isValid ? 1 : 0
                        }
                    }
                    hist[Int(cls)] += valid
                    hist[k] += xs.count - valid
                    if wantConfidence {
                        let percent = Self.percent(results.top1[c])
                        for x in xs where validity[row, x] { confidence[rowBase + x] = percent }
                    }
                    if wantProbabilities {
                        for ci in 0..<k {
                            let percent = Self.percent(results.probabilities[c * k + ci])
                            for x in xs where validity[row, x] { probabilities[ci * plane + rowBase + x] = percent }
                        }
                    }
                } else {
                    for x in xs {
                        let cell = rowBase + x
                        guard validity[row, x], let (fr, fc) = fallbackOwner(x: x, y: y, nearestRow: r, nearestColumn: c),
                              let owner = patchRows[fr] else { hist[k] += 1; continue }
                        let cls = owner.label[fc]
                        classValues[cell] = cls
                        hist[Int(cls)] += 1
                        if wantConfidence { confidence[cell] = Self.percent(owner.top1[fc]) }
                        if wantProbabilities {
                            for ci in 0..<k { probabilities[ci * plane + cell] = Self.percent(owner.probabilities[fc * k + ci]) }
                        }
                    }
                }
            }
        }
    }

    private static func percent(_ p: Float) -> UInt16 {
        UInt16(max(0, min(100, (p * 100).rounded())))
    }
}

/// One bit per pixel for a band of rows (`rows` x `width`), each row starting on a word: the
/// assembler's validity, 1/8 of a byte mask (0.7 MB rather than 5.6 MB for 512 rows of a
/// 10980-pixel-wide scene). Owned raw storage, freed with ``deallocate()``.
private struct RowBits {
    private let words: UnsafeMutablePointer<UInt64>
    private let wordsPerRow: Int

    init(rows: Int, width: Int) {
        wordsPerRow = max(1, (width + 63) / 64)
        words = .allocate(capacity: max(1, rows) * wordsPerRow)
        words.initialize(repeating: 0, count: max(1, rows) * wordsPerRow)
    }

    func deallocate() { words.deallocate() }

    /// Whether pixel `x` of band row `row` is valid.
    subscript(row: Int, x: Int) -> Bool {
        words[row * wordsPerRow + x >> 6] >> UInt64(x & 63) & 1 != 0
    }

    func set(row: Int, x: Int, _ valid: Bool) {
        let index = row * wordsPerRow + x >> 6, bit = UInt64(1) << UInt64(x & 63)
        words[index] = valid ? words[index] | bit : words[index] & ~bit
    }

    /// Moves rows `[from, from + count)` to `[0, count)`.
    func moveRows(from: Int, count: Int) {
        guard count > 0 else { return }
        words.update(from: words + from * wordsPerRow, count: count * wordsPerRow)
    }

    /// Marks the rows invalid.
    func clear(rows: Range<Int>) {
        (words + rows.lowerBound * wordsPerRow).update(repeating: 0, count: rows.count * wordsPerRow)
    }
}

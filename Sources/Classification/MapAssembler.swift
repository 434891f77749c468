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
/// The assembler owns what every mode shares: the band of output rows `[top, top + filled)` (at
/// most one unit row's span, `capacity` rows), pixel validity in that band, the histogram, and the
/// order in which unit rows begin and finish (in chunks). How patches become pixels is one
/// ``AssemblyStrategy`` per mode, holding its own per-pixel or per-patch state for the band:
/// - patch: ``NearestPatchAssembly``, each pixel takes the patch whose centre is nearest;
/// - dense and segmentation: ``HannBlendAssembly``, probabilities summed with a Hann weight;
/// - patch resolution: ``PatchResolutionAssembly``, one output pixel per patch.
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
    let nodata: UInt16
    let wantConfidence: Bool
    let wantProbabilities: Bool
    /// Output grid width (scene width, or patch columns at patch resolution).
    let outputWidth: Int
    /// Output grid height.
    let outputHeight: Int
    /// Per-class pixel counts of the finished map; index `classes` counts nodata pixels.
    private(set) var histogram: [Int]

    // Band of rows [top, top + filled) of the output grid; `capacity` rows of storage.
    private var top = 0
    private var filled = 0
    private let capacity: Int
    private let validity: RowBits
    private let strategy: any AssemblyStrategy

    init(mode: ClassificationMode, plan: UnitPlan, classes: Int, minValidFraction: Double, nodata: UInt16,
         confidence: Bool, probabilities: Bool) {
        self.mode = mode
        self.plan = plan
        self.classes = classes
        self.nodata = nodata
        self.wantConfidence = confidence
        self.wantProbabilities = probabilities
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
        validity = RowBits(rows: capacity, width: outputWidth)
        let output = AssemblyOutput(classes: classes, minValidFraction: Float(minValidFraction), nodata: nodata,
                                    confidence: confidence, probabilities: probabilities,
                                    width: outputWidth, capacity: capacity)
        switch mode {
        case .patch: strategy = NearestPatchAssembly(output: output, tiler: plan.tiler)
        case .dense: strategy = HannBlendAssembly(output: output, tiler: plan.tiler, perPixel: false)
        case .segmentation: strategy = HannBlendAssembly(output: output, tiler: plan.tiler, perPixel: true)
        case .patchResolution: strategy = PatchResolutionAssembly(output: output)
        }
    }

    deinit {
        validity.deallocate()
    }

    /// The band as the strategy sees it now.
    private var band: AssemblyBand { AssemblyBand(top: top, filled: filled, validity: validity) }

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
            validity.clear(rows: filled..<needed)
            strategy.reset(rows: filled..<needed)
            filled = needed
        }
    }

    /// Drops the band's first `rows` rows (the rest moves up).
    private func shift(by rows: Int) {
        let keep = filled - rows
        validity.moveRows(from: rows, count: keep)
        strategy.shift(by: rows, keep: keep)
        filled = keep
    }

    /// Adds one unit's results to the row band.
    func add(_ result: ClassifiedUnit) {
        strategy.add(result, band: band)
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
        var values = FinishedRows(
            classes: [UInt16](repeating: nodata, count: count * w),
            confidence: wantConfidence ? [UInt16](repeating: nodata, count: count * w) : [],
            probabilities: wantProbabilities ? [UInt16](repeating: nodata, count: count * w * k) : [],
            histogram: histogram)
        strategy.finish(rows: count, band: band, into: &values)
        histogram = values.histogram
        let rows = MapRows(firstRow: top, rowCount: count, width: w, classes: values.classes,
                           confidence: values.confidence, probabilities: values.probabilities)
        // Drop the finished rows; the rest carries over to the next unit row.
        if count > 0 { shift(by: min(count, filled)) }
        top += count
        strategy.dropRows(above: top)
        return rows
    }

    /// The most probable class of one patch's `classes` probabilities and its probability (ties:
    /// the lower class).
    static func top1(_ probabilities: ArraySlice<Float>) -> (cls: Int, value: Float) {
        var value: Float = -1, cls = 0
        for (offset, p) in probabilities.enumerated() where p > value { value = p; cls = offset }
        return (cls, value)
    }

    /// A probability (0...1) in whole percent, clamped to 0...100.
    static func percent(_ p: Float) -> UInt16 {
        UInt16(max(0, min(100, (p * 100).rounded())))
    }
}

/// One way of turning classified patches into map pixels. The strategy keeps its own state for
/// the assembler's band of rows (`capacity` rows of `width` output pixels, row-major; class planes
/// `capacity * width` values apart); the assembler calls it once per unit, per band shift or
/// reset, and per finished chunk of rows, never per pixel.
protocol AssemblyStrategy: AnyObject {
    /// Adds one unit's results to the band (band row 0 is output row `band.top`); sets the
    /// validity of the pixels it covers.
    func add(_ result: ClassifiedUnit, band: AssemblyBand)
    /// Moves band rows `[rows, rows + keep)` to `[0, keep)`.
    func shift(by rows: Int, keep: Int)
    /// Empties band rows `rows` (no pixel has a result yet).
    func reset(rows: Range<Int>)
    /// Writes the band's first `count` rows into `values` (row-major, `count * width` values;
    /// probabilities class-major, `count * width` per class; pre-filled with nodata) and counts
    /// them in its histogram.
    func finish(rows count: Int, band: AssemblyBand, into values: inout FinishedRows)
    /// The rows above output row `top` are finished: forget what only they needed.
    func dropRows(above top: Int)
}

/// What every strategy is told about the output.
struct AssemblyOutput {
    let classes: Int
    /// Minimum share of valid pixels (0...1) for a patch to count fully.
    let minValidFraction: Float
    let nodata: UInt16
    /// Whether the top-1 probability is written.
    let confidence: Bool
    /// Whether the per-class probabilities are written.
    let probabilities: Bool
    /// Output grid width, in output pixels.
    let width: Int
    /// Rows of band storage.
    let capacity: Int

    /// Moves band rows `[rows, rows + keep)` to `[0, keep)` in each of `planes` planes stored
    /// `capacity * width` values apart from `base` (one value per output pixel, row-major).
    func shiftPlanes<T>(_ base: UnsafeMutablePointer<T>, planes: Int = 1, by rows: Int, keep: Int) {
        guard keep > 0 else { return }
        for plane in 0..<planes {
            let start = base + plane * capacity * width
            start.update(from: start + rows * width, count: keep * width)
        }
    }

    /// Sets band rows `rows` of each of `planes` planes (laid out as in ``shiftPlanes``) to `value`.
    func resetPlanes<T>(_ base: UnsafeMutablePointer<T>, planes: Int = 1, rows: Range<Int>, to value: T) {
        for plane in 0..<planes {
            (base + plane * capacity * width + rows.lowerBound * width).update(repeating: value, count: rows.count * width)
        }
    }
}

/// The assembler's band of rows at one moment: output rows `[top, top + filled)`, band row 0 being
/// output row `top`, and their pixel validity.
struct AssemblyBand {
    let top: Int
    let filled: Int
    let validity: RowBits
}

/// Finished rows being filled in by a strategy (layouts as in ``MapRows``) and the histogram so far.
struct FinishedRows {
    var classes: [UInt16]
    var confidence: [UInt16]
    var probabilities: [UInt16]
    /// Per-class pixel counts; index `classes` counts nodata pixels.
    var histogram: [Int]
}

/// One bit per pixel for a band of rows (`rows` x `width`), each row starting on a word: the
/// assembler's validity, 1/8 of a byte mask (0.7 MB rather than 5.6 MB for 512 rows of a
/// 10980-pixel-wide scene). Owned raw storage, freed with ``deallocate()``.
struct RowBits {
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

extension AssemblyBand {
    /// Full-resolution modes: copies the validity of `result`'s window pixels that fall in the
    /// band and inside the scene (`sceneWidth` columns; output pixels are scene pixels).
    func recordValidity(of result: ClassifiedUnit, sceneWidth: Int) {
        let window = result.unit.window
        for y in 0..<window.height {
            let row = window.row + y - top
            guard row >= 0, row < filled else { continue }
            for x in 0..<window.width {
                let column = window.column + x
                guard column < sceneWidth else { break }
                validity.set(row: row, x: column, result.validity[y * window.width + x] != 0)
            }
        }
    }
}

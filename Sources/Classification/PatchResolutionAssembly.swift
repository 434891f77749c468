/// Patch-resolution mode: one output pixel per patch (output row = patch row, output column =
/// patch column). A patch with at least the minimum valid share (and some valid pixel) gives its
/// pixel the most probable class (ties: the lower class) and the band's validity bit; others
/// leave it nodata.
final class PatchResolutionAssembly: AssemblyStrategy {
    private let output: AssemblyOutput
    // Raw buffers (owned, freed in deinit): per-pixel loops over them avoid Swift's dynamic
    // exclusivity checks on class properties. Band rows row-major, `width` values per row; a
    // pixel's values are meaningful only where the band's validity bit is set.
    /// `capacity * width` classes.
    private let label: UnsafeMutablePointer<UInt16>
    /// `capacity * width` top-1 probabilities, when confidence is written.
    private let best: UnsafeMutablePointer<Float>
    /// `classes` planes of `capacity * width` probabilities, when probabilities are written.
    private let probabilities: UnsafeMutablePointer<Float>

    init(output: AssemblyOutput) {
        self.output = output
        let cells = output.capacity * output.width
        label = .allocate(capacity: cells)
        best = .allocate(capacity: output.confidence ? cells : 1)
        probabilities = .allocate(capacity: output.probabilities ? cells * output.classes : 1)
    }

    deinit {
        label.deallocate()
        best.deallocate()
        probabilities.deallocate()
    }

    func shift(by rows: Int, keep: Int) {
        output.shiftPlanes(label, by: rows, keep: keep)
        if output.confidence { output.shiftPlanes(best, by: rows, keep: keep) }
        if output.probabilities { output.shiftPlanes(probabilities, planes: output.classes, by: rows, keep: keep) }
    }

    func reset(rows: Range<Int>) {
        output.resetPlanes(label, rows: rows, to: output.nodata)
        if output.confidence { output.resetPlanes(best, rows: rows, to: 0) }
        if output.probabilities { output.resetPlanes(probabilities, planes: output.classes, rows: rows, to: 0) }
    }

    func dropRows(above top: Int) {}

    func add(_ result: ClassifiedUnit, band: AssemblyBand) {
        let unit = result.unit, w = output.width, k = output.classes, planeSize = output.capacity * w
        var index = 0
        for r in unit.patchRows {
            for c in unit.patchColumns {
                defer { index += 1 }
                let cell = (r - band.top) * w + c
                guard result.classified[index], result.validFractions[index] >= output.minValidFraction,
                      result.validFractions[index] > 0 else { continue }
                let patchProbabilities = result.probabilities[(index * k)..<(index * k + k)]
                let (cls, top1) = MapAssembler.top1(patchProbabilities)
                band.validity.set(row: r - band.top, x: c, true)
                label[cell] = UInt16(cls)
                if output.confidence { best[cell] = top1 }
                if output.probabilities {
                    for (ci, value) in patchProbabilities.enumerated() { probabilities[ci * planeSize + cell] = value }
                }
            }
        }
    }

    func finish(rows count: Int, band: AssemblyBand, into values: inout FinishedRows) {
        let w = output.width, k = output.classes, planeSize = output.capacity * w
        let validity = band.validity
        for row in 0..<count { for x in 0..<w {
            let cell = row * w + x
            guard validity[row, x] else { values.histogram[k] += 1; continue }
            let cls = label[cell]
            values.classes[cell] = cls
            values.histogram[Int(cls)] += 1
            if output.confidence { values.confidence[cell] = MapAssembler.percent(best[cell]) }
            if output.probabilities {
                for c in 0..<k { values.probabilities[c * count * w + cell] = MapAssembler.percent(probabilities[c * planeSize + cell]) }
            }
        } }
    }
}

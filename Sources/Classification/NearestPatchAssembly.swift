/// Patch mode: each pixel takes the class of the patch whose centre is nearest (ties: the
/// earlier patch). Distance is separable, so the owner is the nearest patch row times the
/// nearest patch column: the strategy holds only the results of the patches the band overlaps
/// (per patch row, indexed by patch column) and resolves pixels when their rows are finished,
/// 1 bit of validity per pixel instead of per-pixel scores.
///
/// A valid pixel whose nearest patch is below the minimum valid share takes the nearest accepted
/// patch covering it, else the nearest classified one (ties: earlier row, then earlier column).
final class NearestPatchAssembly: AssemblyStrategy {
    private let output: AssemblyOutput
    private let patch: Int
    private let sceneWidth: Int
    // Per scene column (row), the patch column (row) whose centre is nearest, ties to the earlier
    // one; the scene columns each patch column owns; results of the patches in the band.
    private let columnStarts: [Int]
    private let rowStarts: [Int]
    private let rowOwner: [Int]
    private let ownedColumns: [Range<Int>]
    /// Scene columns owned by some patch column (the rest are nodata in every row).
    private let coveredColumns: Int
    private var patchRows: [Int: PatchRowResults] = [:]

    /// What became of one patch.
    enum PatchState: UInt8 {
        /// Not classified: it has no valid pixel.
        case unclassified = 0
        /// Classified, but its valid share is below the minimum: used only as a fallback.
        case belowMinimum = 1
        /// Classified with at least the minimum valid share.
        case accepted = 2
    }

    /// Results of one row of patches, indexed by patch column.
    private struct PatchRowResults {
        var label: [UInt16]
        var top1: [Float]
        var state: [PatchState]
        /// `classes` values per patch column (patch-column-major), when probabilities are written.
        var probabilities: [Float]
    }

    init(output: AssemblyOutput, tiler: Tiler) {
        self.output = output
        patch = tiler.patchSize
        sceneWidth = tiler.width
        columnStarts = tiler.columnStarts
        rowStarts = tiler.rowStarts
        let columnOwner = Self.owners(starts: columnStarts, length: tiler.width, patch: patch)
        rowOwner = Self.owners(starts: rowStarts, length: tiler.height, patch: patch)
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
        coveredColumns = ranges.reduce(0) { $0 + $1.count }
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

    func add(_ result: ClassifiedUnit, band: AssemblyBand) {
        band.recordValidity(of: result, sceneWidth: sceneWidth)
        var index = 0
        for r in result.unit.patchRows {
            for c in result.unit.patchColumns {
                defer { index += 1 }
                guard result.classified[index] else { continue }
                record(result, patchIndex: index, row: r, column: c,
                       accepted: result.validFractions[index] >= output.minValidFraction)
            }
        }
    }

    /// Per-pixel state lives in the band's validity only: nothing to move.
    func shift(by rows: Int, keep: Int) {}

    func reset(rows: Range<Int>) {}

    func dropRows(above top: Int) {
        for r in Array(patchRows.keys) where rowStarts[r] + patch <= top { patchRows[r] = nil }
    }

    /// Keeps one patch's result until the rows it covers are finished.
    private func record(_ result: ClassifiedUnit, patchIndex: Int, row: Int, column: Int, accepted: Bool) {
        let k = output.classes, columns = columnStarts.count, nodata = output.nodata
        let wantProbabilities = output.probabilities
        // `default:` is evaluated only for a patch row's first patch.
        func empty() -> PatchRowResults {
            PatchRowResults(label: [UInt16](repeating: nodata, count: columns), top1: [Float](repeating: 0, count: columns),
                            state: [PatchState](repeating: .unclassified, count: columns),
                            probabilities: wantProbabilities ? [Float](repeating: 0, count: columns * k) : [])
        }
        let probabilities = result.probabilities[(patchIndex * k)..<(patchIndex * k + k)]
        let (cls, top1) = MapAssembler.top1(probabilities)
        // Mutated in place (a copy taken out of the dictionary would copy the whole row each time).
        patchRows[row, default: empty()].label[column] = UInt16(cls)
        patchRows[row, default: empty()].top1[column] = top1
        patchRows[row, default: empty()].state[column] = accepted ? .accepted : .belowMinimum
        if wantProbabilities {
            for (c, value) in probabilities.enumerated() { patchRows[row, default: empty()].probabilities[column * k + c] = value }
        }
    }

    /// The fallback for a valid pixel whose nearest patch is below the minimum valid share: the
    /// nearest accepted patch covering it, else the nearest classified one (ties: earlier row,
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
                guard state != .unclassified else { continue }
                let dx = abs(2 * x + 1 - (2 * columnStarts[c] + p))
                let key = (state == .accepted ? 0 : 1, dx * dx + dy * dy, r, c)
                if bestKey.map({ key < $0 }) ?? true {
                    bestKey = key
                    winner = (r, c)
                }
            }
        }
        return winner
    }

    /// The finished rows' classes from their nearest patches: one run of scene columns per patch
    /// column, one class per run in the common case (the nearest patch is accepted).
    func finish(rows count: Int, band: AssemblyBand, into values: inout FinishedRows) {
        let w = output.width, k = output.classes, plane = count * w, nodata = output.nodata
        let validity = band.validity
        let wantConfidence = output.confidence, wantProbabilities = output.probabilities
        for row in 0..<count {
            let y = band.top + row, rowBase = row * w
            let r = rowOwner[y]
            guard r >= 0 else { values.histogram[k] += w; continue }
            values.histogram[k] += w - coveredColumns
            let results = patchRows[r]
            for c in ownedColumns.indices where !ownedColumns[c].isEmpty {
                let xs = ownedColumns[c]
                if let results, results.state[c] == .accepted {
                    let cls = results.label[c]
                    var valid = 0
                    values.classes.withUnsafeMutableBufferPointer { out in
                        for x in xs {
                            let isValid = validity[row, x]
                            out[rowBase + x] = isValid ? cls : nodata
                            valid &+= isValid ? 1 : 0
                        }
                    }
                    values.histogram[Int(cls)] += valid
                    values.histogram[k] += xs.count - valid
                    if wantConfidence {
                        let percent = MapAssembler.percent(results.top1[c])
                        for x in xs where validity[row, x] { values.confidence[rowBase + x] = percent }
                    }
                    if wantProbabilities {
                        for ci in 0..<k {
                            let percent = MapAssembler.percent(results.probabilities[c * k + ci])
                            for x in xs where validity[row, x] { values.probabilities[ci * plane + rowBase + x] = percent }
                        }
                    }
                } else {
                    for x in xs {
                        let cell = rowBase + x
                        guard validity[row, x], let (fr, fc) = fallbackOwner(x: x, y: y, nearestRow: r, nearestColumn: c),
                              let owner = patchRows[fr] else { values.histogram[k] += 1; continue }
                        let cls = owner.label[fc]
                        values.classes[cell] = cls
                        values.histogram[Int(cls)] += 1
                        if wantConfidence { values.confidence[cell] = MapAssembler.percent(owner.top1[fc]) }
                        if wantProbabilities {
                            for ci in 0..<k { values.probabilities[ci * plane + cell] = MapAssembler.percent(owner.probabilities[fc * k + ci]) }
                        }
                    }
                }
            }
        }
    }
}

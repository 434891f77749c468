import Config
import RasterIO

/// A rectangle of patches read, classified and written together: `patchRows` x `patchColumns`
/// of the tiler's patch grid, read as the one window that covers them.
struct WorkUnit: Sendable {
    /// Position in processing order (unit rows top to bottom, units left to right).
    let index: Int
    /// Which row of units this unit belongs to.
    let unitRow: Int
    /// Tiler patch-row indices.
    let patchRows: Range<Int>
    /// Tiler patch-column indices.
    let patchColumns: Range<Int>
    /// Union of the unit's patches in scene pixels (may extend past the scene with `pad` edges).
    let window: RasterWindow

    var patchCount: Int { patchRows.count * patchColumns.count }
}

/// How a scene's patches are grouped into work units, and which output rows each row of units
/// completes.
struct UnitPlan: Sendable {
    let tiler: Tiler
    let units: [WorkUnit]
    /// Per unit row: the first scene row it touches and the first row a later unit row touches
    /// (rows above `finalBefore` are complete once this unit row is done).
    let unitRowTops: [Int]
    /// Per unit row: one past the lowest scene row it touches, clipped to the scene.
    let unitRowBottoms: [Int]
    /// Per unit row: how many units it has.
    let unitsPerRow: [Int]
    let unitRowCount: Int

    /// - Parameters:
    ///   - unitRows, unitColumns: patches per unit in each direction (at least 1).
    init(tiler: Tiler, unitRows: Int, unitColumns: Int) {
        self.tiler = tiler
        let rowStarts = tiler.rowStarts, columnStarts = tiler.columnStarts
        let p = tiler.patchSize
        var units: [WorkUnit] = []
        var tops: [Int] = [], bottoms: [Int] = [], counts: [Int] = []
        var unitRow = 0
        var r = 0
        while r < rowStarts.count {
            let rows = r..<min(rowStarts.count, r + max(1, unitRows))
            tops.append(rowStarts[rows.lowerBound])
            bottoms.append(min(tiler.height, rowStarts[rows.upperBound - 1] + p))
            counts.append((columnStarts.count + max(1, unitColumns) - 1) / max(1, unitColumns))
            var c = 0
            while c < columnStarts.count {
                let columns = c..<min(columnStarts.count, c + max(1, unitColumns))
                let left = columnStarts[columns.lowerBound], right = columnStarts[columns.upperBound - 1] + p
                let top = rowStarts[rows.lowerBound], bottom = rowStarts[rows.upperBound - 1] + p
                units.append(WorkUnit(index: units.count, unitRow: unitRow, patchRows: rows, patchColumns: columns,
                                      window: RasterWindow(column: left, row: top, width: right - left, height: bottom - top)))
                c = columns.upperBound
            }
            unitRow += 1
            r = rows.upperBound
        }
        self.units = units
        self.unitRowTops = tops
        self.unitRowBottoms = bottoms
        self.unitsPerRow = counts
        self.unitRowCount = unitRow
    }

    /// Rows `< finalRow(after: u)` are complete once unit row `u` has been accumulated.
    func finalRow(after unitRow: Int) -> Int {
        unitRow + 1 < unitRowCount ? unitRowTops[unitRow + 1] : tiler.height
    }

    /// Largest number of scene rows one unit row spans.
    var maxRowSpan: Int {
        zip(unitRowBottoms, unitRowTops).map { $0 - $1 }.max() ?? 0
    }
}

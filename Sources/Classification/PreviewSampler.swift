import Foundation

/// Nearest-neighbour samples of the finished map for the preview, filled as rows are finished.
final class PreviewSampler {
    let previewWidth: Int
    let previewHeight: Int
    private let step: Int
    private(set) var values: [UInt16]

    init(width: Int, height: Int, maxSide: Int, nodata: UInt16) {
        step = max(1, (max(width, height) + maxSide - 1) / maxSide)
        previewWidth = max(1, (width + step - 1) / step)
        previewHeight = max(1, (height + step - 1) / step)
        values = [UInt16](repeating: nodata, count: previewWidth * previewHeight)
    }

    func consume(_ rows: MapRows) {
        rows.classes.withUnsafeBufferPointer { classes in
            consume(firstRow: rows.firstRow, rowCount: rows.rowCount, width: rows.width, classes: classes)
        }
    }

    /// Takes the samples falling into `rowCount` map rows from `firstRow` (`classes` row-major,
    /// `width` per row).
    func consume(firstRow: Int, rowCount: Int, width: Int, classes: UnsafeBufferPointer<UInt16>) {
        for py in 0..<previewHeight {
            let sourceRow = py * step + step / 2
            guard sourceRow >= firstRow, sourceRow < firstRow + rowCount else { continue }
            for px in 0..<previewWidth {
                let column = min(px * step + step / 2, width - 1)
                values[py * previewWidth + px] = classes[(sourceRow - firstRow) * width + column]
            }
        }
    }
}

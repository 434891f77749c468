/// A rectangle of whole pixels in a raster's pixel grid: `column`/`row` of the top-left pixel,
/// `width` x `height` pixels. Offsets may be negative or extend past the raster for boundless reads.
public struct RasterWindow: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var column: Int
    public var row: Int
    public var width: Int
    public var height: Int

    public init(column: Int, row: Int, width: Int, height: Int) {
        self.column = column
        self.row = row
        self.width = width
        self.height = height
    }

    /// The whole grid of a `width` x `height` raster.
    public init(width: Int, height: Int) {
        self.init(column: 0, row: 0, width: width, height: height)
    }

    /// One past the last column.
    public var columnEnd: Int { column + width }
    /// One past the last row.
    public var rowEnd: Int { row + height }
    /// Number of pixels.
    public var pixelCount: Int { width * height }
    /// True when the window covers no pixel.
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    public var description: String { "window(col \(column), row \(row), \(width)x\(height))" }

    /// The overlap of two windows, or nil when they do not overlap.
    public func intersection(_ other: RasterWindow) -> RasterWindow? {
        let c0 = max(column, other.column), r0 = max(row, other.row)
        let c1 = min(columnEnd, other.columnEnd), r1 = min(rowEnd, other.rowEnd)
        guard c1 > c0, r1 > r0 else { return nil }
        return RasterWindow(column: c0, row: r0, width: c1 - c0, height: r1 - r0)
    }

    /// True when every pixel of `other` lies in this window.
    public func contains(_ other: RasterWindow) -> Bool {
        other.column >= column && other.row >= row && other.columnEnd <= columnEnd && other.rowEnd <= rowEnd
    }

    /// This window shifted by (`columns`, `rows`).
    public func offsetBy(columns: Int, rows: Int) -> RasterWindow {
        RasterWindow(column: column + columns, row: row + rows, width: width, height: height)
    }

    /// This window grown by `pixels` on every side (shrunk when negative).
    public func expanded(by pixels: Int) -> RasterWindow {
        RasterWindow(column: column - pixels, row: row - pixels, width: width + 2 * pixels, height: height + 2 * pixels)
    }

    /// Splits the window into blocks of at most `blockWidth` x `blockHeight` pixels, row-major; the
    /// last block in each row and column is clipped to the window, so the blocks tile it exactly.
    public func subdivided(blockWidth: Int, blockHeight: Int) -> [RasterWindow] {
        precondition(blockWidth > 0 && blockHeight > 0, "block size must be positive")
        var blocks: [RasterWindow] = []
        var r = row
        while r < rowEnd {
            let h = min(blockHeight, rowEnd - r)
            var c = column
            while c < columnEnd {
                let w = min(blockWidth, columnEnd - c)
                blocks.append(RasterWindow(column: c, row: r, width: w, height: h))
                c += blockWidth
            }
            r += blockHeight
        }
        return blocks
    }

    /// The window of a grid `factor` times coarser that covers this window (rounded outwards).
    public func coarsened(by factor: Int) -> RasterWindow {
        precondition(factor > 0, "factor must be positive")
        let c0 = Self.floorDiv(column, factor), r0 = Self.floorDiv(row, factor)
        let c1 = Self.floorDiv(columnEnd + factor - 1, factor), r1 = Self.floorDiv(rowEnd + factor - 1, factor)
        return RasterWindow(column: c0, row: r0, width: c1 - c0, height: r1 - r0)
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

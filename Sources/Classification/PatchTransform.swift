import Config

/// One symmetry of a square patch (an element of the dihedral group D4): an optional swap of
/// rows and columns, then optional mirrors of the rows and of the columns. Test-time
/// augmentation runs a batch through the model once per transform and averages the class
/// probabilities, turned back to the patch's orientation.
///
/// Coordinates are (row, column) with row 0 at the top, in a `size` x `size` plane. The pixel
/// the transformed plane holds at (r, c) is the source's (r', c') with
/// `(a, b) = swapsAxes ? (c, r) : (r, c)`, `r' = mirrorsRows ? size - 1 - a : a` and
/// `c' = mirrorsColumns ? size - 1 - b : b`.
public struct PatchTransform: Equatable, Sendable, CustomStringConvertible {
    /// Rows and columns trade places (a transpose) before the mirrors.
    public var swapsAxes: Bool
    /// The source's rows are read bottom to top (a top-bottom mirror).
    public var mirrorsRows: Bool
    /// The source's columns are read right to left (a left-right mirror).
    public var mirrorsColumns: Bool

    /// Creates a transform from its three parts (see the type's description).
    public init(swapsAxes: Bool, mirrorsRows: Bool, mirrorsColumns: Bool) {
        self.swapsAxes = swapsAxes
        self.mirrorsRows = mirrorsRows
        self.mirrorsColumns = mirrorsColumns
    }

    /// The patch as it is.
    public static let identity = PatchTransform(swapsAxes: false, mirrorsRows: false, mirrorsColumns: false)

    /// The passes of `augmentation`, identity first; the averaging follows this order.
    public static func passes(_ augmentation: PipelineFile.TestTimeAugmentation) -> [PatchTransform] {
        switch augmentation {
        case .none:
            return [.identity]
        case .flips:
            return [.identity, PatchTransform(swapsAxes: false, mirrorsRows: false, mirrorsColumns: true)]
        case .d4:
            return [false, true].flatMap { swap in
                [false, true].flatMap { rows in [false, true].map { PatchTransform(swapsAxes: swap, mirrorsRows: rows, mirrorsColumns: $0) } }
            }
        }
    }

    /// The transform that undoes this one. Mirrors alone undo themselves; with a swap, the row
    /// and column mirrors trade places (a quarter turn one way is undone by one the other way).
    public var inverse: PatchTransform {
        swapsAxes ? PatchTransform(swapsAxes: true, mirrorsRows: mirrorsColumns, mirrorsColumns: mirrorsRows) : self
    }

    /// Writes the transformed copy of `planes` consecutive `size` x `size` row-major planes
    /// (for instance one patch's NCHW channels) from `source` to `destination` (not overlapping).
    public func apply(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, size: Int, planes: Int) {
        let area = size * size, last = size - 1
        for plane in 0..<planes {
            let from = source + plane * area, to = destination + plane * area
            for r in 0..<size {
                let row = to + r * size
                for c in 0..<size {
                    let (a, b) = swapsAxes ? (c, r) : (r, c)
                    row[c] = from[(mirrorsRows ? last - a : a) * size + (mirrorsColumns ? last - b : b)]
                }
            }
        }
    }

    public var description: String {
        switch (swapsAxes, mirrorsRows, mirrorsColumns) {
        case (false, false, false): return "identity"
        case (false, false, true): return "left-right mirror"
        case (false, true, false): return "top-bottom mirror"
        case (false, true, true): return "half turn"
        case (true, false, false): return "transpose"
        case (true, false, true): return "quarter turn counter-clockwise"
        case (true, true, false): return "quarter turn clockwise"
        case (true, true, true): return "anti-transpose"
        }
    }
}

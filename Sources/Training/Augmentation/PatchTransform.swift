/// A symmetry of a patch: optional mirrors followed by counter-clockwise quarter turns.
///
/// Applied as: mirror left-right (``flipsHorizontally``), then mirror top-bottom
/// (``flipsVertically``), then rotate by ``quarterTurns`` × 90° counter-clockwise (NumPy's
/// `rot90(plane, k)`). The same transform applied to an image plane and to its per-pixel
/// targets keeps every target on its pixel.
public struct PatchTransform: Sendable, Equatable {
    /// Reverse the columns.
    public var flipsHorizontally: Bool
    /// Reverse the rows.
    public var flipsVertically: Bool
    /// Counter-clockwise quarter turns; taken modulo 4. Non-zero odd turns need square planes.
    public var quarterTurns: Int

    /// Creates a transform.
    public init(flipsHorizontally: Bool = false, flipsVertically: Bool = false, quarterTurns: Int = 0) {
        self.flipsHorizontally = flipsHorizontally
        self.flipsVertically = flipsVertically
        self.quarterTurns = quarterTurns
    }

    /// The transform that changes nothing.
    public static let identity = PatchTransform()

    /// Turns normalized to 0...3.
    var turns: Int { ((quarterTurns % 4) + 4) % 4 }

    /// True when applying it changes nothing.
    public var isIdentity: Bool { !flipsHorizontally && !flipsVertically && turns == 0 }

    /// Whether the plane size allows the transform (odd quarter turns need square planes).
    public func supports(height: Int, width: Int) -> Bool { turns % 2 == 0 || height == width }

    /// Transforms every `height × width` row-major plane stored consecutively in `values`
    /// (for example the channels of one NCHW sample), in place.
    /// - Throws: ``AugmentationError/notSquare(height:width:)`` for an odd number of quarter
    ///   turns on a non-square plane.
    public func apply<Element>(to values: inout [Element], height: Int, width: Int) throws {
        try values.withUnsafeMutableBufferPointer { try apply(to: $0, height: height, width: width) }
    }

    /// Transforms every `height × width` row-major plane stored consecutively in a buffer, in place.
    public func apply<Element>(to values: UnsafeMutableBufferPointer<Element>, height: Int, width: Int) throws {
        guard supports(height: height, width: width) else { throw AugmentationError.notSquare(height: height, width: width) }
        let planeSize = height * width
        guard !isIdentity, planeSize > 0, let base = values.baseAddress else { return }
        let source = (0..<planeSize).map { sourceIndex(of: $0, height: height, width: width) }
        let scratch = UnsafeMutableBufferPointer<Element>.allocate(capacity: planeSize)
        defer { scratch.deallocate() }
        var plane = 0
        while (plane + 1) * planeSize <= values.count {
            let start = base + plane * planeSize
            _ = scratch.initialize(from: UnsafeBufferPointer(start: start, count: planeSize))
            for i in 0..<planeSize { start[i] = scratch[source[i]] }
            _ = scratch.deinitialize()
            plane += 1
        }
    }

    /// The index in the original plane of the value that ends up at output index `index`.
    func sourceIndex(of index: Int, height: Int, width: Int) -> Int {
        let y = index / width, x = index % width
        // Undo the rotation: output (y, x) of rot90^k comes from (sy, sx) of the mirrored plane.
        // For odd turns the plane is square, so height == width == n.
        let sy: Int, sx: Int
        switch turns {
        case 1: (sy, sx) = (x, width - 1 - y)
        case 2: (sy, sx) = (height - 1 - y, width - 1 - x)
        case 3: (sy, sx) = (height - 1 - x, y)
        default: (sy, sx) = (y, x)
        }
        let oy = flipsVertically ? height - 1 - sy : sy
        let ox = flipsHorizontally ? width - 1 - sx : sx
        return oy * width + ox
    }
}

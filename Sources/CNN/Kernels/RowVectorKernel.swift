/// The pixel-vectorised direct-convolution micro-kernel: 8 output channels x 32 output pixels.
///
/// The 32 pixels are two runs of 16 consecutive pixels of one output row each (stride-1
/// convolutions whose output width is a multiple of 16), so each reduction step loads two
/// unaligned vectors straight from the zero-padded NCHW input at `offsets[k]` and broadcasts 8
/// weights (packed `[k][8]`). Results are stored as rows of 32 contiguous floats. Each element is
/// one fused multiply-add chain over `k` in increasing order, independent of every other element.
enum RowVectorKernel {
    /// Output channels per tile.
    static let channels = 8
    /// Pixels per tile: two SIMD16 vectors.
    static let pixels = 32

    /// Computes one tile; row `r` (output channel `r` of the panel) goes to `target + r * ldt`.
    /// With an epilogue, rows are finished before the store (`epilogue.bias` at the tile's first
    /// channel, `epilogue.residual` at the element matching `target`, same row stride).
    @inline(__always)
    static func compute(depth: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int32>,
                        first: UnsafePointer<Float>, second: UnsafePointer<Float>,
                        target: UnsafeMutablePointer<Float>, ldt: Int, epilogue: Epilogue? = nil) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        let firstRaw = UnsafeRawPointer(first)
        let secondRaw = UnsafeRawPointer(second)
        var w = weights
        for step in 0..<depth {
            let offset = Int(offsets[step]) &* 4
            let b0 = firstRaw.loadUnaligned(fromByteOffset: offset, as: V.self)
            let b1 = secondRaw.loadUnaligned(fromByteOffset: offset, as: V.self)
            var a = V(repeating: w[0])
            c00 = c00.addingProduct(a, b0); c01 = c01.addingProduct(a, b1)
            a = V(repeating: w[1])
            c10 = c10.addingProduct(a, b0); c11 = c11.addingProduct(a, b1)
            a = V(repeating: w[2])
            c20 = c20.addingProduct(a, b0); c21 = c21.addingProduct(a, b1)
            a = V(repeating: w[3])
            c30 = c30.addingProduct(a, b0); c31 = c31.addingProduct(a, b1)
            a = V(repeating: w[4])
            c40 = c40.addingProduct(a, b0); c41 = c41.addingProduct(a, b1)
            a = V(repeating: w[5])
            c50 = c50.addingProduct(a, b0); c51 = c51.addingProduct(a, b1)
            a = V(repeating: w[6])
            c60 = c60.addingProduct(a, b0); c61 = c61.addingProduct(a, b1)
            a = V(repeating: w[7])
            c70 = c70.addingProduct(a, b0); c71 = c71.addingProduct(a, b1)
            w += 8
        }
        @inline(__always) func store(_ row: Int, _ v0: V, _ v1: V) {
            let destination = UnsafeMutableRawPointer(target + row * ldt)
            if let epilogue {
                var r0 = V(), r1 = V()
                if let residual = epilogue.residual {
                    r0 = UnsafeRawPointer(residual + row * ldt).loadUnaligned(as: V.self)
                    r1 = UnsafeRawPointer(residual + row * ldt + 16).loadUnaligned(as: V.self)
                }
                destination.storeBytes(of: epilogue.finish(v0, row: row, residualValue: r0), as: V.self)
                destination.storeBytes(of: epilogue.finish(v1, row: row, residualValue: r1), toByteOffset: 64,
                                       as: V.self)
                return
            }
            destination.storeBytes(of: v0, as: V.self)
            destination.storeBytes(of: v1, toByteOffset: 64, as: V.self)
        }
        store(0, c00, c01); store(1, c10, c11); store(2, c20, c21); store(3, c30, c31)
        store(4, c40, c41); store(5, c50, c51); store(6, c60, c61); store(7, c70, c71)
    }
}

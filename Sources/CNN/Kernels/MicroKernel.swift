/// The register-blocked SIMD16 GEMM micro-kernel of ``Gemm``.
///
/// It computes one `rows x columns` = 8 x 32 tile of `C` from packed panels:
/// - `a`: `[depth][8]` (eight rows of `op(A)` interleaved per reduction step),
/// - `b`: `[depth][32]` (32 columns of `op(B)` per reduction step),
/// - `c`: row-major with row stride `ldc`.
/// Each element is reduced over `depth` in increasing order with one fused multiply-add per step,
/// independently of every other element, so results never depend on tiling or padding lanes.
enum MicroKernel {
    /// Rows of a tile (output channels for convolutions).
    static let rows = 8
    /// Columns of a tile (pixels for convolutions): two SIMD16 vectors.
    static let columns = 32

    /// Computes a full 8 x 32 tile. With `accumulate`, the tile's current contents are the
    /// starting values; otherwise the sums start at zero.
    @inline(__always)
    static func tile(depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        if accumulate {
            let source = UnsafeRawPointer(c)
            let rowBytes = ldc &* 4
            c00 = source.loadUnaligned(fromByteOffset: 0 &* rowBytes, as: V.self)
            c01 = source.loadUnaligned(fromByteOffset: 0 &* rowBytes &+ 64, as: V.self)
            c10 = source.loadUnaligned(fromByteOffset: 1 &* rowBytes, as: V.self)
            c11 = source.loadUnaligned(fromByteOffset: 1 &* rowBytes &+ 64, as: V.self)
            c20 = source.loadUnaligned(fromByteOffset: 2 &* rowBytes, as: V.self)
            c21 = source.loadUnaligned(fromByteOffset: 2 &* rowBytes &+ 64, as: V.self)
            c30 = source.loadUnaligned(fromByteOffset: 3 &* rowBytes, as: V.self)
            c31 = source.loadUnaligned(fromByteOffset: 3 &* rowBytes &+ 64, as: V.self)
            c40 = source.loadUnaligned(fromByteOffset: 4 &* rowBytes, as: V.self)
            c41 = source.loadUnaligned(fromByteOffset: 4 &* rowBytes &+ 64, as: V.self)
            c50 = source.loadUnaligned(fromByteOffset: 5 &* rowBytes, as: V.self)
            c51 = source.loadUnaligned(fromByteOffset: 5 &* rowBytes &+ 64, as: V.self)
            c60 = source.loadUnaligned(fromByteOffset: 6 &* rowBytes, as: V.self)
            c61 = source.loadUnaligned(fromByteOffset: 6 &* rowBytes &+ 64, as: V.self)
            c70 = source.loadUnaligned(fromByteOffset: 7 &* rowBytes, as: V.self)
            c71 = source.loadUnaligned(fromByteOffset: 7 &* rowBytes &+ 64, as: V.self)
        }
        var aPointer = a
        var bPointer = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = bPointer.loadUnaligned(as: V.self)
            let b1 = bPointer.loadUnaligned(fromByteOffset: 64, as: V.self)
            var w = V(repeating: aPointer[0])
            c00 = c00.addingProduct(w, b0); c01 = c01.addingProduct(w, b1)
            w = V(repeating: aPointer[1])
            c10 = c10.addingProduct(w, b0); c11 = c11.addingProduct(w, b1)
            w = V(repeating: aPointer[2])
            c20 = c20.addingProduct(w, b0); c21 = c21.addingProduct(w, b1)
            w = V(repeating: aPointer[3])
            c30 = c30.addingProduct(w, b0); c31 = c31.addingProduct(w, b1)
            w = V(repeating: aPointer[4])
            c40 = c40.addingProduct(w, b0); c41 = c41.addingProduct(w, b1)
            w = V(repeating: aPointer[5])
            c50 = c50.addingProduct(w, b0); c51 = c51.addingProduct(w, b1)
            w = V(repeating: aPointer[6])
            c60 = c60.addingProduct(w, b0); c61 = c61.addingProduct(w, b1)
            w = V(repeating: aPointer[7])
            c70 = c70.addingProduct(w, b0); c71 = c71.addingProduct(w, b1)
            aPointer += 8
            bPointer += 128
        }
        let destination = UnsafeMutableRawPointer(c)
        let rowBytes = ldc &* 4
        destination.storeBytes(of: c00, toByteOffset: 0 &* rowBytes, as: V.self)
        destination.storeBytes(of: c01, toByteOffset: 0 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c10, toByteOffset: 1 &* rowBytes, as: V.self)
        destination.storeBytes(of: c11, toByteOffset: 1 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c20, toByteOffset: 2 &* rowBytes, as: V.self)
        destination.storeBytes(of: c21, toByteOffset: 2 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c30, toByteOffset: 3 &* rowBytes, as: V.self)
        destination.storeBytes(of: c31, toByteOffset: 3 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c40, toByteOffset: 4 &* rowBytes, as: V.self)
        destination.storeBytes(of: c41, toByteOffset: 4 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c50, toByteOffset: 5 &* rowBytes, as: V.self)
        destination.storeBytes(of: c51, toByteOffset: 5 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c60, toByteOffset: 6 &* rowBytes, as: V.self)
        destination.storeBytes(of: c61, toByteOffset: 6 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c70, toByteOffset: 7 &* rowBytes, as: V.self)
        destination.storeBytes(of: c71, toByteOffset: 7 &* rowBytes &+ 64, as: V.self)
    }

    /// Computes a tile of which only `rowCount x columnCount` elements exist in `c` (the packed
    /// panels are still full 8 x 32, zero-padded). Uses `tileBuffer` (8 x 32 floats) as staging,
    /// so each element goes through exactly the arithmetic of a full tile.
    @inline(never)
    static func partialTile(depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, rowCount: Int, columnCount: Int,
                            accumulate: Bool, tileBuffer: UnsafeMutablePointer<Float>) {
        if accumulate {
            for row in 0..<rowCount {
                for column in 0..<columnCount { tileBuffer[row * columns + column] = c[row * ldc + column] }
            }
        }
        tile(depth: depth, a: a, b: b, c: tileBuffer, ldc: columns, accumulate: accumulate)
        for row in 0..<rowCount {
            for column in 0..<columnCount { c[row * ldc + column] = tileBuffer[row * columns + column] }
        }
    }
}

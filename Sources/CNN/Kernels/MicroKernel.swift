/// The register-blocked SIMD16 GEMM micro-kernel shared by ``Gemm`` and ``Conv2DKernel``.
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
    /// starting values; otherwise the sums start at zero. With an epilogue, the finished values
    /// are passed through it before the store.
    @inline(__always)
    static func tile(depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, epilogue: Epilogue?) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        if accumulate {
            @inline(__always) func load(_ row: Int, _ half: Int) -> V {
                UnsafeRawPointer(c + row * ldc + half * 16).loadUnaligned(as: V.self)
            }
            c00 = load(0, 0); c01 = load(0, 1); c10 = load(1, 0); c11 = load(1, 1)
            c20 = load(2, 0); c21 = load(2, 1); c30 = load(3, 0); c31 = load(3, 1)
            c40 = load(4, 0); c41 = load(4, 1); c50 = load(5, 0); c51 = load(5, 1)
            c60 = load(6, 0); c61 = load(6, 1); c70 = load(7, 0); c71 = load(7, 1)
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
        @inline(__always) func store(_ row: Int, _ v0: V, _ v1: V) {
            let destination = UnsafeMutableRawPointer(c + row * ldc)
            if let epilogue {
                var r0 = V(), r1 = V()
                if let residual = epilogue.residual {
                    r0 = UnsafeRawPointer(residual + row * ldc).loadUnaligned(as: V.self)
                    r1 = UnsafeRawPointer(residual + row * ldc + 16).loadUnaligned(as: V.self)
                }
                destination.storeBytes(of: epilogue.finish(v0, row: row, residualValue: r0), as: V.self)
                destination.storeBytes(of: epilogue.finish(v1, row: row, residualValue: r1),
                                       toByteOffset: 64, as: V.self)
            } else {
                destination.storeBytes(of: v0, as: V.self)
                destination.storeBytes(of: v1, toByteOffset: 64, as: V.self)
            }
        }
        store(0, c00, c01); store(1, c10, c11); store(2, c20, c21); store(3, c30, c31)
        store(4, c40, c41); store(5, c50, c51); store(6, c60, c61); store(7, c70, c71)
    }

    /// Computes a tile of which only `rowCount x columnCount` elements exist in `c` (the packed
    /// panels are still full 8 x 32, zero-padded). Uses `tileBuffer` (8 x 32 floats) as staging,
    /// so each element goes through exactly the arithmetic of a full tile.
    @inline(never)
    static func partialTile(depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, rowCount: Int, columnCount: Int,
                            accumulate: Bool, epilogue: Epilogue?, tileBuffer: UnsafeMutablePointer<Float>) {
        if accumulate {
            for row in 0..<rowCount {
                for column in 0..<columnCount { tileBuffer[row * columns + column] = c[row * ldc + column] }
            }
        }
        tile(depth: depth, a: a, b: b, c: tileBuffer, ldc: columns, accumulate: accumulate, epilogue: nil)
        for row in 0..<rowCount {
            if let epilogue {
                epilogue.finish(source: tileBuffer + row * columns, destination: c + row * ldc, count: columnCount,
                                row: row, residualRow: epilogue.residual.map { $0 + row * ldc })
            } else {
                for column in 0..<columnCount { c[row * ldc + column] = tileBuffer[row * columns + column] }
            }
        }
    }
}

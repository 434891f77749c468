import CNN

/// `C += A * B^T` for row-major `A [rows x depth]` and `B [columns x depth]`, both contiguous
/// along the reduction: the weight gradients of a convolution, `dW [O x K] += dY [O x P] *
/// columns [K x P]^T`, whose reduction runs over all pixels of a chunk (long) while `O` and `K`
/// are short, and whose operands are both pixel-major, so no packing or transposition is needed.
///
/// A register-blocked SIMD16 kernel in the engine's style: a tile of 4 rows of `A` x 6 rows of
/// `B` keeps 24 vector accumulators (one per element of `C`, 16 pixels per lane set) over a block
/// of ``depthBlock`` pixels, then adds each accumulator's lanes (in a fixed order) to its element
/// of `C`; the block's tail (< 16 pixels) is added in scalar FMAs after that. Every element gets
/// the same sequence of operations whatever its tile position (remainder tiles repeat a valid row
/// and discard it), so results depend only on the operands and `depth`. Single-threaded.
enum InnerProductKernel {
    /// Pixels per block: 4 rows of A and 6 of B (40 KB at most) stay in L1 across a tile, a block of
    /// `A` (256 rows, 1 MB) in L2 across the tiles of one column strip.
    static let depthBlock = 1024

    /// Sum of the 16 lanes, pairwise in a fixed order.
    @inline(__always)
    static func lanes(_ v: SIMD16<Float>) -> Float {
        let v8 = v.lowHalf + v.highHalf
        let v4 = v8.lowHalf + v8.highHalf
        let v2 = v4.lowHalf + v4.highHalf
        return v2[0] + v2[1]
    }

    /// `C[i, j] += sum_p A[i, p] * B[j, p]` for `i < rows`, `j < columns`, `p < depth`.
    static func multiplyAccumulate(rows: Int, columns: Int, depth: Int, a: UnsafePointer<Float>, lda: Int,
                                   b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard rows > 0, columns > 0, depth > 0 else { return }
        var start = 0
        while start < depth {
            let count = min(depthBlock, depth - start)
            var column = 0
            while column < columns {
                let width = min(6, columns - column)
                var row = 0
                while row < rows {
                    let height = min(4, rows - row)
                    tile(depth: count, a: a + start, lda: lda, row: row, height: height,
                         b: b + start, ldb: ldb, column: column, width: width, c: c, ldc: ldc)
                    row += 4
                }
                column += 6
            }
            start += count
        }
    }

    @inline(__always)
    private static func tile(depth: Int, a: UnsafePointer<Float>, lda: Int, row: Int, height: Int,
                             b: UnsafePointer<Float>, ldb: Int, column: Int, width: Int,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        typealias V = SIMD16<Float>
        // Rows past the matrix repeat its last row (their results are discarded).
        let a0 = UnsafeRawPointer(a + (row + min(0, height - 1)) * lda)
        let a1 = UnsafeRawPointer(a + (row + min(1, height - 1)) * lda)
        let a2 = UnsafeRawPointer(a + (row + min(2, height - 1)) * lda)
        let a3 = UnsafeRawPointer(a + (row + min(3, height - 1)) * lda)
        let b0 = UnsafeRawPointer(b + (column + min(0, width - 1)) * ldb)
        let b1 = UnsafeRawPointer(b + (column + min(1, width - 1)) * ldb)
        let b2 = UnsafeRawPointer(b + (column + min(2, width - 1)) * ldb)
        let b3 = UnsafeRawPointer(b + (column + min(3, width - 1)) * ldb)
        let b4 = UnsafeRawPointer(b + (column + min(4, width - 1)) * ldb)
        let b5 = UnsafeRawPointer(b + (column + min(5, width - 1)) * ldb)
        var s00 = V(); var s01 = V(); var s02 = V(); var s03 = V(); var s04 = V(); var s05 = V(); var s10 = V(); var s11 = V(); var s12 = V(); var s13 = V(); var s14 = V(); var s15 = V()
        var s20 = V(); var s21 = V(); var s22 = V(); var s23 = V(); var s24 = V(); var s25 = V(); var s30 = V(); var s31 = V(); var s32 = V(); var s33 = V(); var s34 = V(); var s35 = V()
        var offset = 0
        let end = (depth & ~15) &* 4
        while offset < end {
            let x0 = a0.loadUnaligned(fromByteOffset: offset, as: V.self)
            let x1 = a1.loadUnaligned(fromByteOffset: offset, as: V.self)
            let x2 = a2.loadUnaligned(fromByteOffset: offset, as: V.self)
            let x3 = a3.loadUnaligned(fromByteOffset: offset, as: V.self)
            let y0 = b0.loadUnaligned(fromByteOffset: offset, as: V.self)
            s00 = s00.addingProduct(x0, y0); s10 = s10.addingProduct(x1, y0); s20 = s20.addingProduct(x2, y0); s30 = s30.addingProduct(x3, y0)
            let y1 = b1.loadUnaligned(fromByteOffset: offset, as: V.self)
            s01 = s01.addingProduct(x0, y1); s11 = s11.addingProduct(x1, y1); s21 = s21.addingProduct(x2, y1); s31 = s31.addingProduct(x3, y1)
            let y2 = b2.loadUnaligned(fromByteOffset: offset, as: V.self)
            s02 = s02.addingProduct(x0, y2); s12 = s12.addingProduct(x1, y2); s22 = s22.addingProduct(x2, y2); s32 = s32.addingProduct(x3, y2)
            let y3 = b3.loadUnaligned(fromByteOffset: offset, as: V.self)
            s03 = s03.addingProduct(x0, y3); s13 = s13.addingProduct(x1, y3); s23 = s23.addingProduct(x2, y3); s33 = s33.addingProduct(x3, y3)
            let y4 = b4.loadUnaligned(fromByteOffset: offset, as: V.self)
            s04 = s04.addingProduct(x0, y4); s14 = s14.addingProduct(x1, y4); s24 = s24.addingProduct(x2, y4); s34 = s34.addingProduct(x3, y4)
            let y5 = b5.loadUnaligned(fromByteOffset: offset, as: V.self)
            s05 = s05.addingProduct(x0, y5); s15 = s15.addingProduct(x1, y5); s25 = s25.addingProduct(x2, y5); s35 = s35.addingProduct(x3, y5)
            offset &+= 64
        }
        let tail = depth & ~15
        // Each accumulator by value (a closure capturing them would keep them in memory).
        @inline(__always)
        func finish(_ i: Int, _ j: Int, _ v: V) {
            guard i < height, j < width else { return }
            var sum = lanes(v)
            let x = a + (row + i) * lda, y = b + (column + j) * ldb
            for p in tail..<depth { sum = sum.addingProduct(x[p], y[p]) }
            c[(row + i) * ldc + column + j] += sum
        }
        finish(0, 0, s00)
        finish(0, 1, s01)
        finish(0, 2, s02)
        finish(0, 3, s03)
        finish(0, 4, s04)
        finish(0, 5, s05)
        finish(1, 0, s10)
        finish(1, 1, s11)
        finish(1, 2, s12)
        finish(1, 3, s13)
        finish(1, 4, s14)
        finish(1, 5, s15)
        finish(2, 0, s20)
        finish(2, 1, s21)
        finish(2, 2, s22)
        finish(2, 3, s23)
        finish(2, 4, s24)
        finish(2, 5, s25)
        finish(3, 0, s30)
        finish(3, 1, s31)
        finish(3, 2, s32)
        finish(3, 3, s33)
        finish(3, 4, s34)
        finish(3, 5, s35)
    }
}

/// General matrix multiplication on Float32, single-threaded.
///
/// ### See Also
/// - ``Conv2DKernel``
public enum Gemm {
    /// Reduction steps per packed block; fixed, so an element's summation order never depends on
    /// the matrix sizes.
    static let reductionBlock = 256
    /// Columns of `op(B)` per packed block.
    static let columnBlock = 512
    /// Rows of `op(A)` per packed block.
    static let rowBlock = 128

    /// Computes `C = alpha * op(A) * op(B) + beta * C` on row-major matrices.
    ///
    /// `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`. `op(X)` is `X` or its transpose:
    /// with `transA == false`, `A` is stored `m x k` with row stride `lda`; with `transA == true`
    /// it is stored `k x m`. Likewise `B` is `k x n` (or `n x k` when `transB`). `C` has row
    /// stride `ldc`. When `beta == 0`, `C` is not read (NaNs in it are ignored). Single-threaded.
    /// Each element of `C` is reduced over `k` in increasing order, in fixed blocks, so its bits
    /// depend only on its row of `op(A)`, its column of `op(B)`, `alpha`, `beta` and its old value.
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "Gemm.sgemm: negative dimension")
        if m == 0 || n == 0 { return }
        // C = beta * C first; then every reduction block accumulates into C.
        if beta != 1 {
            for row in 0..<m {
                let cRow = c + row * ldc
                if beta == 0 {
                    cRow.update(repeating: 0, count: n)
                } else {
                    for column in 0..<n { cRow[column] = beta * cRow[column] }
                }
            }
        }
        if k == 0 || alpha == 0 { return }

        let rows = MicroKernel.rows
        let columns = MicroKernel.columns
        let depthMax = min(reductionBlock, k)
        let columnMax = (min(columnBlock, n) + columns - 1) / columns * columns
        let rowMax = (min(rowBlock, m) + rows - 1) / rows * rows
        let scratchCount = depthMax * (columnMax + rowMax) + rows * columns
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCount * MemoryLayout<Float>.stride,
                                                       alignment: 64).bindMemory(to: Float.self, capacity: scratchCount)
        defer { UnsafeMutableRawPointer(scratch).deallocate() }
        let packedB = scratch
        let packedA = packedB + depthMax * columnMax
        let tileBuffer = packedA + depthMax * rowMax

        var columnStart = 0
        while columnStart < n {
            let columnCount = min(columnBlock, n - columnStart)
            let columnPanels = (columnCount + columns - 1) / columns
            var kStart = 0
            while kStart < k {
                let depth = min(reductionBlock, k - kStart)
                // Pack op(B)[kStart ..< kStart + depth, columnStart ..< + columnCount] as [panel][depth][32].
                for panel in 0..<columnPanels {
                    let panelBase = packedB + panel * depth * columns
                    let first = columnStart + panel * columns
                    let width = min(columns, n - first)
                    if transB {
                        // Row by row of B (sequential reads; the panel, 32 KB at most, stays in
                        // L1): reading a column of B would touch 32 rows `ldb` apart per step,
                        // which alias in the cache when `ldb` is a multiple of 1,024.
                        for column in 0..<width {
                            let source = b + (first + column) * ldb + kStart
                            let target = panelBase + column
                            for step in 0..<depth { target[step &* columns] = source[step] }
                        }
                        if width < columns {
                            for step in 0..<depth { (panelBase + step * columns + width).update(repeating: 0, count: columns - width) }
                        }
                    } else {
                        for step in 0..<depth {
                            let target = panelBase + step * columns
                            let source = b + (kStart + step) * ldb + first
                            for column in 0..<width { target[column] = source[column] }
                            if width < columns { (target + width).update(repeating: 0, count: columns - width) }
                        }
                    }
                }
                var rowStart = 0
                while rowStart < m {
                    let rowCount = min(rowBlock, m - rowStart)
                    let rowPanels = (rowCount + rows - 1) / rows
                    // Pack alpha * op(A)[rowStart ..< + rowCount, kStart ..< + depth] as [panel][depth][8].
                    for panel in 0..<rowPanels {
                        let panelBase = packedA + panel * depth * rows
                        let first = rowStart + panel * rows
                        let height = min(rows, m - first)
                        if transA {
                            for step in 0..<depth {
                                let target = panelBase + step * rows
                                let source = a + (kStart + step) * lda + first
                                for row in 0..<rows { target[row] = row < height ? alpha * source[row] : 0 }
                            }
                        } else {
                            // Row by row of A: sequential reads (see the packing of a transposed B).
                            for row in 0..<height {
                                let source = a + (first + row) * lda + kStart
                                let target = panelBase + row
                                for step in 0..<depth { target[step &* rows] = alpha * source[step] }
                            }
                            if height < rows {
                                for step in 0..<depth {
                                    for row in height..<rows { panelBase[step &* rows &+ row] = 0 }
                                }
                            }
                        }
                    }
                    for rowPanel in 0..<rowPanels {
                        let firstRow = rowStart + rowPanel * rows
                        let height = min(rows, m - firstRow)
                        for columnPanel in 0..<columnPanels {
                            let firstColumn = columnStart + columnPanel * columns
                            let width = min(columns, n - firstColumn)
                            let aPanel = packedA + rowPanel * depth * rows
                            let bPanel = packedB + columnPanel * depth * columns
                            let target = c + firstRow * ldc + firstColumn
                            if height == rows && width == columns {
                                MicroKernel.tile(depth: depth, a: aPanel, b: bPanel, c: target, ldc: ldc,
                                                 accumulate: true)
                            } else {
                                MicroKernel.partialTile(depth: depth, a: aPanel, b: bPanel, c: target, ldc: ldc,
                                                        rowCount: height, columnCount: width, accumulate: true,
                                                        tileBuffer: tileBuffer)
                            }
                        }
                    }
                    rowStart += rowCount
                }
                kStart += depth
            }
            columnStart += columnCount
        }
    }
}

/// General matrix multiplication on Float32, single-threaded.
///
/// ### See Also
/// - ``Conv2DKernel``
public enum Gemm {
    /// Computes `C = alpha * op(A) * op(B) + beta * C` on row-major matrices.
    ///
    /// `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`. `op(X)` is `X` or its transpose:
    /// with `transA == false`, `A` is stored `m x k` with row stride `lda`; with `transA == true`
    /// it is stored `k x m`. Likewise `B` is `k x n` (or `n x k` when `transB`). `C` has row
    /// stride `ldc`. When `beta == 0`, `C` is not read (NaNs in it are ignored). Single-threaded;
    /// the result of each element depends only on its row of `op(A)` and column of `op(B)`.
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "Gemm.sgemm: negative dimension")
        for row in 0..<m {
            let cRow = c + row * ldc
            for column in 0..<n {
                var sum: Float = 0
                for inner in 0..<k {
                    let aValue = transA ? a[inner * lda + row] : a[row * lda + inner]
                    let bValue = transB ? b[column * ldb + inner] : b[inner * ldb + column]
                    sum += aValue * bValue
                }
                cRow[column] = beta == 0 ? alpha * sum : alpha * sum + beta * cRow[column]
            }
        }
    }
}

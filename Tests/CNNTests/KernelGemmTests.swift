import Testing
import CNN

/// Naive row-major reference for C = alpha * op(A) op(B) + beta * C, in Double.
private func referenceGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                           b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
    var result = c
    for row in 0..<m {
        for column in 0..<n {
            var sum = 0.0
            for inner in 0..<k {
                let x = transA ? a[inner * lda + row] : a[row * lda + inner]
                let y = transB ? b[column * ldb + inner] : b[inner * ldb + column]
                sum += Double(x) * Double(y)
            }
            let previous = beta == 0 ? 0 : Double(beta) * Double(c[row * ldc + column])
            result[row * ldc + column] = Float(Double(alpha) * sum + previous)
        }
    }
    return result
}

struct GemmCase: Sendable, CustomStringConvertible {
    var m: Int, n: Int, k: Int
    var description: String { "\(m)x\(n)x\(k)" }
}

@Suite("Gemm.sgemm against a naive reference")
struct KernelGemmTests {
    static let sizes: [GemmCase] = [
        GemmCase(m: 1, n: 1, k: 1), GemmCase(m: 3, n: 5, k: 7), GemmCase(m: 17, n: 33, k: 19),
        GemmCase(m: 8, n: 32, k: 64), GemmCase(m: 65, n: 47, k: 130), GemmCase(m: 100, n: 10, k: 512),
        GemmCase(m: 9, n: 129, k: 300), GemmCase(m: 64, n: 64, k: 1), GemmCase(m: 31, n: 1, k: 40),
        GemmCase(m: 200, n: 70, k: 600),
    ]

    @Test(arguments: sizes, [(false, false), (false, true), (true, false), (true, true)])
    func matchesReference(size: GemmCase, transposes: (Bool, Bool)) {
        let (transA, transB) = transposes
        var random = KernelTestRandom(seed: UInt64(size.m * 1000 + size.n * 10 + size.k))
        let (m, n, k) = (size.m, size.n, size.k)
        // Leading dimensions larger than the logical width exercise the strides.
        let lda = (transA ? m : k) + 3
        let ldb = (transB ? k : n) + 1
        let ldc = n + 2
        let a = random.floats((transA ? k : m) * lda)
        let b = random.floats((transB ? n : k) * ldb)
        let c = random.floats(m * ldc)
        for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(1)), (Float(-2), Float(0.25))] {
            var result = beta == 0 ? [Float](repeating: .nan, count: c.count) : c
            if beta == 0 {  // keep the padding columns comparable
                for row in 0..<m { for column in n..<ldc { result[row * ldc + column] = c[row * ldc + column] } }
            }
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    result.withUnsafeMutableBufferPointer { cBuffer in
                        Gemm.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                   a: aBuffer.baseAddress!, lda: lda, b: bBuffer.baseAddress!, ldb: ldb,
                                   beta: beta, c: cBuffer.baseAddress!, ldc: ldc)
                    }
                }
            }
            let expected = referenceGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                         a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            #expect(maxRelativeError(result, expected) < 1e-4 * Float(max(1, k / 64)),
                    "alpha \(alpha) beta \(beta)")
        }
    }
}

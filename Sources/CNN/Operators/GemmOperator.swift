/// Gemm (`Y = alpha * op(A) * op(B) + beta * C`, A `[M, K]`, B `[K, N]`, C broadcast to
/// `[M, N]`) and MatMul (numpy-style batched matrix product) on ``Gemm/sgemm``.
///
/// ``Gemm/sgemm`` gives every row of C the same arithmetic whatever the row count, so
/// per-sample results do not depend on the batch size.
struct GemmOperator: GraphOperator {
    let attributes: NodeAttributes
    let isMatMul: Bool
    let transA: Bool
    let transB: Bool
    let alpha: Float
    let beta: Float

    init(attributes: NodeAttributes, isMatMul: Bool) throws {
        self.attributes = attributes
        self.isMatMul = isMatMul
        transA = isMatMul ? false : try attributes.int("transA", default: 0) != 0
        transB = isMatMul ? false : try attributes.int("transB", default: 0) != 0
        alpha = isMatMul ? 1 : try attributes.float("alpha", default: 1)
        beta = isMatMul ? 1 : try attributes.float("beta", default: 1)
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard inputs.count >= 2, let a = inputs[0], let b = inputs[1] else { throw attributes.invalid("needs inputs A and B") }
        return isMatMul ? try planMatMul(a, b) : try planGemm(a, b, inputs.count > 2 ? inputs[2] : nil)
    }

    private func planGemm(_ a: PlanValue, _ b: PlanValue, _ c: PlanValue?) throws -> OperatorPlan {
        guard a.shape.count == 2, b.shape.count == 2 else {
            throw attributes.shapeError("A \(a.shape) and B \(b.shape) must be matrices")
        }
        let m = transA ? a.shape[1] : a.shape[0]
        let k = transA ? a.shape[0] : a.shape[1]
        let kb = transB ? b.shape[1] : b.shape[0]
        let n = transB ? b.shape[0] : b.shape[1]
        guard k == kb else {
            throw attributes.shapeError("inner dimensions differ: op(A) is [\(m), \(k)] and op(B) is [\(kb), \(n)]")
        }
        var loops: BroadcastLoops?
        if let c {
            guard ShapeMath.broadcast([m, n], c.shape) == [m, n] else {
                throw attributes.shapeError("C \(c.shape) cannot be broadcast to [\(m), \(n)]")
            }
            loops = BroadcastLoops(a: [m, n], b: c.shape, output: [m, n])
        }
        let (transA, transB, alpha, beta) = (self.transA, self.transB, self.alpha, self.beta)
        let lda = a.shape[1], ldb = b.shape[1]
        let kernel: OperatorKernel = { [loops] inputs, outputs, _ in
            let y = outputs[0]
            // Gemm.sgemm computes every row of C with the same k-order whatever m is, so one
            // call over the whole batch gives each sample the bits it gets alone (tested in
            // DeterminismTests).
            if let loops, beta != 0 {
                loops.run(UnsafePointer(y), inputs[2], y) { _, c in beta * c }
            }
            let effectiveBeta: Float = loops == nil || beta == 0 ? 0 : 1
            Gemm.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: inputs[0], lda: lda,
                       b: inputs[1], ldb: ldb, beta: effectiveBeta, c: y, ldc: n)
        }
        return OperatorPlan(outputs: [.runtime([m, n])], kernel: kernel, flops: 2 * m * n * k)
    }

    private func planMatMul(_ a: PlanValue, _ b: PlanValue) throws -> OperatorPlan {
        guard !a.shape.isEmpty, !b.shape.isEmpty else { throw attributes.shapeError("MatMul operands must not be scalars") }
        let aShape = a.shape.count == 1 ? [1] + a.shape : a.shape
        let bShape = b.shape.count == 1 ? b.shape + [1] : b.shape
        let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1]
        let kb = bShape[bShape.count - 2], n = bShape[bShape.count - 1]
        guard k == kb else { throw attributes.shapeError("inner dimensions differ: A \(a.shape), B \(b.shape)") }
        let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
        guard let batchShape = ShapeMath.broadcast(aBatch, bBatch) else {
            throw attributes.shapeError("batch dimensions of A \(a.shape) and B \(b.shape) cannot be broadcast")
        }
        var outputShape = batchShape
        if a.shape.count > 1 { outputShape.append(m) }
        if b.shape.count > 1 { outputShape.append(n) }
        let batchCount = batchShape.reduce(1, *)
        let aStrides = ShapeMath.broadcastStrides(input: aBatch, output: batchShape)
        let bStrides = ShapeMath.broadcastStrides(input: bBatch, output: batchShape)
        let kernel: OperatorKernel = { inputs, outputs, _ in
            var index = [Int](repeating: 0, count: batchShape.count)
            for batch in 0..<batchCount {
                var aOffset = 0, bOffset = 0
                for d in 0..<batchShape.count { aOffset += index[d] * aStrides[d]; bOffset += index[d] * bStrides[d] }
                let aBase = inputs[0] + aOffset * m * k
                let bBase = inputs[1] + bOffset * k * n
                let yBase = outputs[0] + batch * m * n
                Gemm.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: aBase, lda: k,
                           b: bBase, ldb: n, beta: 0, c: yBase, ldc: n)
                var d = batchShape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < batchShape[d] { break }; index[d] = 0; d -= 1 }
            }
        }
        return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, flops: 2 * batchCount * m * n * k)
    }
}

import CNN

/// `Gemm` (`Y = alpha * A * op(B) + beta * C`, `transA = 0`) and `MatMul` (`Y = A * B`) with
/// `A [N, K]` data and `B` (`[M, K]` with `transB`, else `[K, M]`) and `C [M]` parameters.
/// The forward pass runs the engine's ``Gemm/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// (the engine's `Gemm` node), the backward products ``Matrix``.
final class GemmLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let alpha: Float, beta: Float, transB: Bool
    let weight: Parameter
    let bias: Parameter?
    private var weightValues: [Float] = []
    private var biasValues: [Float] = []

    init(node: NetworkNode, alpha: Float, beta: Float, transB: Bool, initializers: [Parameter]) throws {
        self.node = node
        self.alpha = alpha; self.beta = beta; self.transB = transB
        guard let first = initializers.first, initializers.count <= 2 else {
            throw NetworkError.invalidNode(node: node.name, operatorType: node.operation.onnxType,
                                           detail: "needs a weight initializer B and an optional bias C, got \(initializers.count) initializers")
        }
        weight = first
        bias = initializers.count > 1 ? initializers[1] : nil
        guard weight.shape.count == 2, weight.shape.allSatisfy({ $0 > 0 }) else {
            throw invalid("weight \"\(weight.name)\" has shape \(weight.shape); expected a matrix")
        }
        if let bias, bias.shape != [outputFeatures] && bias.shape != [1, outputFeatures] {
            throw invalid("bias \"\(bias.name)\" has shape \(bias.shape); expected [\(outputFeatures)] (broadcasting other shapes is not supported)")
        }
    }

    var inputFeatures: Int { transB ? weight.shape[1] : weight.shape[0] }
    var outputFeatures: Int { transB ? weight.shape[0] : weight.shape[1] }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let a = inputShapes.first, a.count == 2, a[1] == inputFeatures else {
            throw invalid("input \(inputShapes.first ?? []) must be [N, \(inputFeatures)] to match weight \"\(weight.name)\" \(weight.shape); add a Flatten before it")
        }
        return [a[0], outputFeatures]
    }

    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws {
        weightValues = weight.value
        biasValues = bias?.value ?? []
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let n = inputShapes[0][0], k = inputFeatures, m = outputFeatures
        let y = output.pointer
        var start: Float = 0
        if !biasValues.isEmpty {
            for row in 0..<n { for column in 0..<m { y[row * m + column] = beta * biasValues[column] } }
            start = 1
        }
        weightValues.withUnsafeBufferPointer { w in
            guard let wBase = w.baseAddress else { return }
            Gemm.sgemm(transA: false, transB: transB, m: n, n: m, k: k, alpha: alpha, a: inputs[0].pointer, lda: k,
                       b: wBase, ldb: transB ? k : m, beta: start, c: y, ldc: m)
        }
    }

    func backward(_ b: BackwardBuffers) {
        let n = b.inputShapes[0][0], k = inputFeatures, m = outputFeatures
        let dy = b.outputGradient.pointer
        if let dBias = b.parameterGradients.count > 1 ? b.parameterGradients[1] : nil {
            for column in 0..<m {
                var sum: Float = 0
                for row in 0..<n { sum += dy[row * m + column] }
                dBias.pointer[column] += beta * sum
            }
        }
        if let dWeight = b.parameterGradients.first ?? nil {
            if transB {
                Matrix.multiply(transA: true, m: m, n: k, k: n, alpha: alpha, a: dy, lda: m, b: b.inputs[0].pointer, ldb: k,
                                beta: 1, c: dWeight.pointer, ldc: k)
            } else {
                Matrix.multiply(transA: true, m: k, n: m, k: n, alpha: alpha, a: b.inputs[0].pointer, lda: k, b: dy, ldb: m,
                                beta: 1, c: dWeight.pointer, ldc: m)
            }
        }
        if let dInput = b.inputGradients[0] {
            weightValues.withUnsafeBufferPointer { w in
                guard let wBase = w.baseAddress else { return }
                Matrix.multiply(transB: !transB, m: n, n: k, k: m, alpha: alpha, a: dy, lda: m, b: wBase, ldb: transB ? k : m,
                                beta: 1, c: dInput.pointer, ldc: k)
            }
        }
    }
}

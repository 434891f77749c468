extension Network {
    /// Replaces the classification head for `classes` classes: the final `Gemm`/`MatMul`
    /// (patch classification) or the final 1x1 `Conv` (segmentation) that produces the output.
    ///
    /// The head keeps its node and parameter names (e.g. `fc.weight`, `fc.bias`); its weights are
    /// re-initialized He-normal from `seed` (fan-in = input features, or input channels of the
    /// 1x1 convolution), its bias (if it had one) to zero; both are unfrozen. Every other
    /// parameter, frozen flag and running statistic is kept.
    /// - Throws: ``NetworkError/invalidGraph(detail:)`` when the output is not produced by such
    ///   a node, or when `classes` is not positive.
    public func replaceHead(classes: Int, seed: UInt64) throws {
        guard classes > 0 else { throw NetworkError.invalidGraph(detail: "the new head needs a positive class count, got \(classes)") }
        guard let index = nodes.indices.last else { throw NetworkError.invalidGraph(detail: "the network has no nodes") }
        let head = nodes[index]
        let initializerNames = head.initializerInputs
        guard let weightName = initializerNames.first, let weight = parameter(named: weightName) else {
            throw NetworkError.invalidGraph(detail: "the output is produced by \(head.operation.onnxType) node \"\(head.name)\", not by a Gemm, MatMul or 1x1 Conv head")
        }
        let bias = initializerNames.count > 1 ? parameter(named: initializerNames[1]) : nil
        var generator = SeededGenerator(seed: seed)
        func heNormal(_ count: Int, fanIn: Int) -> [Float] {
            let std = (2 / Float(max(fanIn, 1))).squareRoot()
            return (0..<count).map { _ in generator.nextGaussian() * std }
        }
        let newWeight: Parameter
        switch head.operation {
        case .gemm(_, _, let transB):
            let features = transB ? weight.shape[1] : weight.shape[0]
            newWeight = Parameter(name: weight.name, shape: transB ? [classes, features] : [features, classes],
                                  value: heNormal(classes * features, fanIn: features))
        case .matMul:
            let features = weight.shape[0]
            newWeight = Parameter(name: weight.name, shape: [features, classes], value: heNormal(classes * features, fanIn: features))
        case .conv(let a) where a.kernelShape == [1, 1] && a.groups == 1:
            let channels = weight.shape[1]
            newWeight = Parameter(name: weight.name, shape: [classes, channels, 1, 1], value: heNormal(classes * channels, fanIn: channels))
        default:
            throw NetworkError.invalidGraph(detail: "the output is produced by \(head.operation.onnxType) node \"\(head.name)\", not by a Gemm, MatMul or 1x1 Conv (group 1) head")
        }
        var replacements = [weight.name: newWeight]
        if let bias {
            replacements[bias.name] = Parameter(name: bias.name, shape: [classes], value: [Float](repeating: 0, count: classes), decays: bias.decays)
        }
        try replaceGraph(nodes: nodes, parameters: parameters.map { replacements[$0.name] ?? $0 },
                         runningStatistics: runningStatistics)
    }
}

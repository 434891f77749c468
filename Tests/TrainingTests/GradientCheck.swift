import CNN
import Testing
import Training

/// Central finite-difference check of a network's analytic parameter gradients.
///
/// The loss is the batch's mean softmax cross-entropy (with class weights and ignored targets),
/// evaluated in training mode with ``Network/evaluate(_:loss:training:workers:)`` (the same
/// micro-batch statistics and dropout masks as the gradient call) and differenced in Float64.
/// Operators without parameters are checked through the parameters of the layers before them.
enum GradientCheck {
    /// A random `[N, C, H, W]` batch with random targets for `network`'s output; about one target
    /// in six is the ignore index.
    static func batch(for network: Network, inputShape: [Int], options: CrossEntropyOptions, seed: UInt64) throws -> TrainingBatch {
        var generator = SeededGenerator(seed: seed)
        let count = inputShape.reduce(1, *)
        let inputs = try Tensor(shape: inputShape, scalars: (0..<count).map { _ in generator.nextGaussian() })
        let output = try network.outputShape(inputShape: inputShape)
        let classes = output[1]
        let targetCount = output[0] * output.dropFirst(2).reduce(1, *)
        let targets: [Int32] = (0..<targetCount).map { _ in
            generator.next() % 6 == 0 ? options.ignoreIndex : Int32(generator.next() % UInt64(classes))
        }
        return TrainingBatch(inputs: inputs, targets: targets)
    }

    /// Random class weights in [0.5, 2).
    static func classWeights(_ classes: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<classes).map { _ in 0.5 + 1.5 * generator.nextUnitFloat() }
    }

    /// Compares analytic and numerical gradients of up to `perParameter` elements of every
    /// parameter; records an issue for each element outside `|a - n| <= atol + rtol * max(|a|, |n|)`.
    static func check(_ network: Network, inputShape: [Int], options: CrossEntropyOptions, seed: UInt64 = 1,
                      step: Float = 1e-3, rtol: Double = 2e-2, atol: Double = 2e-4, perParameter: Int = 12,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let batch = try self.batch(for: network, inputShape: inputShape, options: options, seed: seed)
        var generator = SeededGenerator(seed: seed &+ 99)
        // Numerical gradients first: evaluate(training:) reproduces the next accumulateGradients call.
        var numerical = [[Int: Double]]()
        for parameter in network.parameters {
            var indices = Array(0..<parameter.count)
            if indices.count > perParameter {
                for i in 0..<perParameter { indices.swapAt(i, i + Int(generator.next() % UInt64(indices.count - i))) }
                indices = Array(indices.prefix(perParameter))
            }
            var values = [Int: Double]()
            for index in indices {
                let original = parameter.value[index]
                let plus = original + step, minus = original - step
                parameter.value[index] = plus
                let lossPlus = try network.evaluate(batch, loss: options, training: true, workers: 1).meanLoss
                parameter.value[index] = minus
                let lossMinus = try network.evaluate(batch, loss: options, training: true, workers: 1).meanLoss
                parameter.value[index] = original
                values[index] = (lossPlus - lossMinus) / (Double(plus) - Double(minus))
            }
            numerical.append(values)
        }
        for parameter in network.parameters { parameter.zeroGradient() }
        let outcome = try network.accumulateGradients(for: batch, loss: options, workers: 1)
        #expect(outcome.weightSum > 0, "every target was ignored", sourceLocation: sourceLocation)
        var checked = 0
        for (parameter, values) in zip(network.parameters, numerical) {
            for (index, expected) in values.sorted(by: { $0.key < $1.key }) {
                let actual = Double(parameter.gradient[index])
                let tolerance = atol + rtol * max(abs(actual), abs(expected))
                #expect(abs(actual - expected) <= tolerance,
                        "\(parameter.name)[\(index)]: analytic \(actual), numerical \(expected)", sourceLocation: sourceLocation)
                checked += 1
            }
        }
        #expect(checked > 0, sourceLocation: sourceLocation)
    }
}

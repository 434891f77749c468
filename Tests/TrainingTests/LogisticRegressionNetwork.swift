import CNN
import Training

/// Multinomial logistic regression on `[N, C, 1, 1]` inputs, a real ``TrainableNetwork`` with an
/// exact analytic gradient, for testing the training loop without the layers:
/// `logits = W·x + b`, `W` `[classes, features]`, `b` `[classes]`; the gradient of the weighted
/// mean cross-entropy with respect to the logits is `w_t · (softmax − onehot(t)) / Σ w`.
class LogisticRegression: TrainableNetwork {
    let features: Int
    let classes: Int
    let weight: Parameter
    let bias: Parameter
    /// Sizes of the batches `accumulateGradients` saw, in order.
    var seenBatchSizes: [Int] = []

    init(features: Int, classes: Int, initialScale: Float = 0) {
        self.features = features
        self.classes = classes
        var generator = SeededGenerator(seed: 99)
        weight = Parameter(name: "fc.weight", shape: [classes, features],
                           value: (0..<(classes * features)).map { _ in initialScale * generator.nextGaussian() })
        bias = Parameter(name: "fc.bias", shape: [classes], value: [Float](repeating: 0, count: classes), decays: false)
    }

    var parameters: [Parameter] { [weight, bias] }

    /// The input of sample `n` as the model sees it in training (subclasses may change it).
    func trainingInput(_ inputs: Tensor, sample n: Int) -> [Float] {
        Array(inputs.scalars[(n * features)..<((n + 1) * features)])
    }

    /// The input of sample `n` as the model sees it in inference.
    func inferenceInput(_ inputs: Tensor, sample n: Int) -> [Float] {
        Array(inputs.scalars[(n * features)..<((n + 1) * features)])
    }

    /// Called after a training batch (subclasses update buffers here).
    func finishTrainingBatch(_ inputs: Tensor) {}

    func logits(_ x: [Float]) -> [Float] {
        (0..<classes).map { k in
            var sum = bias.value[k]
            for f in 0..<features { sum += weight.value[k * features + f] * x[f] }
            return sum
        }
    }

    func accumulateGradients(for batch: TrainingBatch, loss: CrossEntropyOptions, workers: Int) throws -> BatchOutcome {
        let n = batch.count
        seenBatchSizes.append(n)
        let rows = (0..<n).map { trainingInput(batch.inputs, sample: $0) }
        let logitRows = rows.map(logits)
        let logitTensor = try Tensor(shape: [n, classes], scalars: logitRows.flatMap { $0 })
        let outcome = try SoftmaxCrossEntropy.evaluate(logits: logitTensor, targets: batch.targets, options: loss)
        if outcome.weightSum > 0 {
            for (sample, (x, z)) in zip(rows, logitRows).enumerated() {
                let target = batch.targets[sample]
                guard target != loss.ignoreIndex else { continue }
                let w = Double(loss.classWeights?[Int(target)] ?? 1) / outcome.weightSum
                let maximum = z.max() ?? 0
                let exps = z.map { exp(Double($0 - maximum)) }
                let total = exps.reduce(0, +)
                for k in 0..<classes {
                    let dz = Float(w * (exps[k] / total - (k == Int(target) ? 1 : 0)))
                    bias.gradient[k] += dz
                    for f in 0..<features { weight.gradient[k * features + f] += dz * x[f] }
                }
            }
        }
        finishTrainingBatch(batch.inputs)
        return outcome
    }

    func predict(_ inputs: Tensor, workers: Int) throws -> Tensor {
        let n = inputs.shape.first ?? 0
        return try Tensor(shape: [n, classes], scalars: (0..<n).flatMap { logits(inferenceInput(inputs, sample: $0)) })
    }
}

/// Logistic regression with training state outside its parameters, like BatchNormalization and
/// dropout: inputs are centred with a running mean (a buffer updated by training, momentum 0.5)
/// and, in training, perturbed with noise from the network's own generator.
final class NoisyLogisticRegression: LogisticRegression, ResumableNetwork {
    let runningMean: Parameter
    var generator = SeededGenerator(seed: 5)

    override init(features: Int, classes: Int, initialScale: Float = 0) {
        runningMean = Parameter(name: "input.running_mean", shape: [features], value: [Float](repeating: 0, count: features))
        super.init(features: features, classes: classes, initialScale: initialScale)
    }

    var trainingBuffers: [Parameter] { [runningMean] }
    var trainingRandomState: [UInt64] { generator.state }

    func restoreTrainingRandomState(_ words: [UInt64]) throws {
        guard let restored = SeededGenerator(state: words) else { throw NetworkError.invalidInput(detail: "bad generator words") }
        generator = restored
    }

    override func trainingInput(_ inputs: Tensor, sample n: Int) -> [Float] {
        zip(super.trainingInput(inputs, sample: n), runningMean.value).map { $0 - $1 + 0.05 * generator.nextGaussian() }
    }

    override func inferenceInput(_ inputs: Tensor, sample n: Int) -> [Float] {
        zip(super.inferenceInput(inputs, sample: n), runningMean.value).map { $0 - $1 }
    }

    override func finishTrainingBatch(_ inputs: Tensor) {
        let n = inputs.shape[0]
        for f in 0..<features {
            var mean: Float = 0
            for s in 0..<n { mean += inputs.scalars[s * features + f] }
            runningMean.value[f] = 0.5 * runningMean.value[f] + 0.5 * mean / Float(n)
        }
    }
}

/// Labelled feature vectors served as `[N, features, 1, 1]` batches.
struct ArraySource: SampleSource {
    let features: [[Float]]
    let labels: [Int32]

    var count: Int { labels.count }

    func batch(indices: [Int]) throws -> TrainingBatch {
        let width = features.first?.count ?? 0
        return TrainingBatch(inputs: try Tensor(shape: [indices.count, width, 1, 1], scalars: indices.flatMap { features[$0] }),
                             targets: indices.map { labels[$0] })
    }

    /// `perClass` points around each of three well-separated centres in the plane.
    static func clusters(perClass: Int, seed: UInt64, spread: Float = 0.6) -> ArraySource {
        let centres: [[Float]] = [[3, 0], [-3, 1], [0, -3]]
        var generator = SeededGenerator(seed: seed)
        var features: [[Float]] = [], labels: [Int32] = []
        for _ in 0..<perClass {
            for (label, centre) in centres.enumerated() {
                features.append(centre.map { $0 + spread * generator.nextGaussian() })
                labels.append(Int32(label))
            }
        }
        return ArraySource(features: features, labels: labels)
    }

    /// The same points with every label moved to the next class (a validation set training
    /// makes worse and worse).
    func relabelled() -> ArraySource {
        ArraySource(features: features, labels: labels.map { ($0 + 1) % 3 })
    }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

import CNN
import Dispatch

/// A trainable convolutional network: a DAG of ONNX-like nodes with forward and backward passes.
///
/// ## Structure
/// `nodes` are in topological order; each reads named values (the graph input `inputName`,
/// earlier nodes' outputs) and initializers (``parameters`` and ``runningStatistics``, named like
/// ONNX initializers such as `layer1.0.conv1.weight`, `bn1.running_mean`) and writes one named
/// value. The last node's output is the network output: logits `[N, classes]` or
/// `[N, classes, H, W]`. Every tensor is NCHW Float32; weights use ONNX layouts (see
/// ``NetworkOperator``). Build one with ``NetworkBuilder`` or a ``ModelZoo`` factory, import one
/// with ``init(onnx:)``, export it with ``exportONNX(contract:)``.
///
/// ## Training and determinism
/// ``accumulateGradients(for:loss:workers:)`` splits the batch into micro-batches of
/// ``microBatchSize`` samples (a constant, never derived from `workers`). Each micro-batch runs
/// its forward pass, loss and backward pass single-threaded with its own activations, scratch
/// and gradient buffers; workers (Dispatch) take the micro-batches in order. Gradients are added
/// to the parameters in micro-batch index order as soon as all earlier micro-batches have been
/// (so only a few gradient sets are alive at a time) and running-statistics updates are reduced
/// in the same order, so parameters, gradients and losses are bit-identical for every worker
/// count.
///
/// BatchNormalization in training normalizes each micro-batch with that micro-batch's own
/// statistics (*ghost batch normalization*: the statistics of at most ``microBatchSize``
/// samples, not of the whole batch). The running statistics are updated once per call with the
/// average of the micro-batches' means and unbiased variances (weighted by their sizes):
/// `running = momentum * running + (1 - momentum) * average`. A BatchNormalization node whose
/// scale and shift are both frozen behaves as in inference (running statistics, no update).
/// Dropout masks come from ``dropoutGenerator`` derived per call, micro-batch and node.
///
/// Not thread-safe: one owner calls `accumulateGradients`, `predict` and mutates parameters.
public final class Network: TrainableNetwork {
    /// Samples per micro-batch (the unit of parallel work and of BatchNormalization statistics).
    public static let microBatchSize = 16
    /// The ONNX operators a trainable network implements (forward and backward).
    public static let supportedOperators = ["Conv", "ConvTranspose", "Resize", "BatchNormalization", "Relu", "LeakyRelu",
                                            "Clip", "Sigmoid", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm",
                                            "MatMul", "Add", "Concat", "Dropout", "Flatten"]

    /// Name of the graph input value (`[N, inputChannels, H, W]`).
    public let inputName: String
    /// Channels (bands) of the input.
    public let inputChannels: Int
    /// The nodes, in topological order.
    public private(set) var nodes: [NetworkNode]
    /// Every trainable tensor, in node order (the order optimizers keep their state in).
    public private(set) var parameters: [Parameter]
    /// BatchNormalization running means and variances (`<node>.running_mean`, `<node>.running_var`):
    /// updated by training, not by optimizers.
    public private(set) var runningStatistics: [Parameter]
    /// The stream dropout masks are derived from.
    public var dropoutGenerator: SeededGenerator
    /// Number of `accumulateGradients` calls so far (part of the dropout stream).
    public private(set) var trainingCalls: UInt64 = 0

    private var compiled: CompiledNetwork

    /// Creates a network and checks it: names are unique, every node reads values defined before
    /// it, initializer shapes fit their operators.
    ///
    /// - Parameters:
    ///   - inputName: name of the graph input.
    ///   - inputChannels: channels of the input (C of NCHW).
    ///   - nodes: nodes in topological order; the last one produces the logits.
    ///   - parameters: trainable tensors, referenced by name from `nodes`.
    ///   - runningStatistics: BatchNormalization running mean/variance tensors.
    ///   - seed: seed of ``dropoutGenerator``.
    /// - Throws: ``NetworkError`` naming the node or parameter at fault.
    public init(inputName: String = "input", inputChannels: Int, nodes: [NetworkNode], parameters: [Parameter],
                runningStatistics: [Parameter] = [], seed: UInt64 = 0) throws {
        guard inputChannels > 0 else { throw NetworkError.invalidGraph(detail: "inputChannels must be positive, got \(inputChannels)") }
        self.inputName = inputName
        self.inputChannels = inputChannels
        self.nodes = nodes
        self.parameters = parameters
        self.runningStatistics = runningStatistics
        self.dropoutGenerator = SeededGenerator(seed: seed)
        self.compiled = try CompiledNetwork(inputName: inputName, nodes: nodes, parameters: parameters,
                                            runningStatistics: runningStatistics)
    }

    /// Name of the output value (the last node's output).
    public var outputName: String { nodes.last?.output ?? inputName }

    /// The parameter called `name`, if any.
    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// The running statistic called `name`, if any.
    public func runningStatistic(named name: String) -> Parameter? { runningStatistics.first { $0.name == name } }

    /// Replaces the graph (used by head replacement); re-validates everything.
    func replaceGraph(nodes: [NetworkNode], parameters: [Parameter], runningStatistics: [Parameter]) throws {
        let compiled = try CompiledNetwork(inputName: inputName, nodes: nodes, parameters: parameters,
                                           runningStatistics: runningStatistics)
        self.nodes = nodes
        self.parameters = parameters
        self.runningStatistics = runningStatistics
        self.compiled = compiled
    }

    // MARK: - Freezing

    /// Freezes (or unfreezes) every parameter of the nodes called `layers`, and every parameter
    /// whose name starts with `<layer>.` (so `layer1` covers `layer1.0.conv1.weight`).
    /// - Throws: ``NetworkError/invalidParameter(name:detail:)`` when a name matches nothing.
    public func freeze(layers: [String], frozen: Bool = true) throws {
        for layer in layers {
            var matched = false
            let nodeInitializers = Set(nodes.filter { $0.name == layer }.flatMap(\.initializerInputs))
            for p in parameters where nodeInitializers.contains(p.name) || p.name.hasPrefix(layer + ".") {
                p.isFrozen = frozen
                matched = true
            }
            guard matched else {
                throw NetworkError.invalidParameter(name: layer, detail: "no node or parameter group of this name; layer names are node names such as \(nodes.prefix(3).map(\.name).joined(separator: ", "))")
            }
        }
    }

    /// Freezes (or unfreezes) every parameter whose initializer name starts with `prefix`;
    /// returns how many matched.
    @discardableResult
    public func freeze(parametersWithPrefix prefix: String, frozen: Bool = true) -> Int {
        var count = 0
        for p in parameters where p.name.hasPrefix(prefix) {
            p.isFrozen = frozen
            count += 1
        }
        return count
    }

    // MARK: - Shapes

    /// The shape of every value for an input of `inputShape`, by value name.
    /// - Throws: ``NetworkError`` when the input does not fit a node.
    public func valueShapes(inputShape: [Int]) throws -> [String: [Int]] {
        let shapes = try compiled.inferShapes(inputShape: inputShape)
        var result = [inputName: inputShape]
        for (index, node) in nodes.enumerated() { result[node.output] = shapes[index + 1] }
        return result
    }

    /// The output (logits) shape for an input of `inputShape`.
    public func outputShape(inputShape: [Int]) throws -> [Int] {
        try compiled.inferShapes(inputShape: inputShape).last ?? inputShape
    }

    // MARK: - TrainableNetwork

    /// Forward (training mode), loss and backward over `batch`; adds the gradient of the batch's
    /// mean loss `lossSum / weightSum` to every unfrozen parameter's `gradient` and updates the
    /// running statistics. See the type documentation for micro-batching and determinism.
    /// - Parameters:
    ///   - batch: `[N, inputChannels, H, W]` inputs and `N` (classification) or `N * H' * W'`
    ///     (segmentation, output size) targets.
    ///   - loss: class weights and ignore index.
    ///   - workers: threads to use (at least 1); results do not depend on it.
    /// - Returns: loss sum, weight sum and argmax predictions of the training-mode forward pass.
    /// - Throws: ``NetworkError`` for inputs or targets that do not fit.
    public func accumulateGradients(for batch: TrainingBatch, loss: CrossEntropyOptions, workers: Int) throws -> BatchOutcome {
        let plan = try compiled.makePlan(inputShape: batch.inputs.shape, inputChannels: inputChannels, inputName: inputName)
        let layout = try SoftmaxCrossEntropy.Layout(logitsShape: plan.outputShape(batch: batch.count),
                                                    targetCount: batch.targets.count, options: loss)
        try SoftmaxCrossEntropy.validate(targets: batch.targets, classes: layout.classes, options: loss)
        let weightSum = SoftmaxCrossEntropy.weightSum(targets: batch.targets, options: loss)
        try compiled.prepare(training: true, plan: plan, workers: workers)
        let base = dropoutGenerator.derived(stream: trainingCalls)
        trainingCalls &+= 1
        let results = compiled.train(plan: plan, batch: batch, loss: loss, gradientScale: weightSum > 0 ? 1 / weightSum : 0,
                                     workers: workers, generator: base)
        // Gradients were added in micro-batch order by the workers; statistics too, here.
        compiled.updateRunningStatistics(results: results)
        return Self.combine(results)
    }

    /// Loss and predictions of `batch` without gradients and without changing any state.
    ///
    /// - Parameters:
    ///   - training: false (default) runs the inference-mode forward pass (running statistics,
    ///     no dropout), as ``predict(_:workers:)``; true runs the training-mode forward pass
    ///     exactly as the next ``accumulateGradients(for:loss:workers:)`` call will (micro-batch
    ///     statistics, the same dropout masks), which is what finite-difference checks need.
    /// - Throws: ``NetworkError`` for inputs or targets that do not fit.
    public func evaluate(_ batch: TrainingBatch, loss: CrossEntropyOptions, training: Bool = false, workers: Int) throws -> BatchOutcome {
        guard training else {
            return try SoftmaxCrossEntropy.evaluate(logits: try predict(batch.inputs, workers: workers), targets: batch.targets, options: loss)
        }
        let plan = try compiled.makePlan(inputShape: batch.inputs.shape, inputChannels: inputChannels, inputName: inputName)
        let layout = try SoftmaxCrossEntropy.Layout(logitsShape: plan.outputShape(batch: batch.count),
                                                    targetCount: batch.targets.count, options: loss)
        try SoftmaxCrossEntropy.validate(targets: batch.targets, classes: layout.classes, options: loss)
        try compiled.prepare(training: true, plan: plan, workers: workers)
        let results = compiled.train(plan: plan, batch: batch, loss: loss, gradientScale: 0, workers: workers,
                                     generator: dropoutGenerator.derived(stream: trainingCalls), backward: false)
        return Self.combine(results)
    }

    /// Sums micro-batch outcomes in order.
    private static func combine(_ results: [MicroBatchResult]) -> BatchOutcome {
        var lossSum = 0.0, weightSum = 0.0
        var predictions = [Int32]()
        for result in results {
            lossSum += result.outcome.lossSum
            weightSum += result.outcome.weightSum
            predictions.append(contentsOf: result.outcome.predictions)
        }
        return BatchOutcome(lossSum: lossSum, weightSum: weightSum, predictions: predictions)
    }

    /// Inference-mode forward pass (running statistics, no dropout), micro-batches spread over
    /// `workers` threads: logits `[N, classes]` or `[N, classes, H, W]`. A sample's output does
    /// not depend on `workers` or on the other samples.
    /// - Throws: ``NetworkError/invalidInput(detail:)`` when `inputs` is not
    ///   `[N, inputChannels, ...]` or does not fit a node.
    public func predict(_ inputs: Tensor, workers: Int) throws -> Tensor {
        let plan = try compiled.makePlan(inputShape: inputs.shape, inputChannels: inputChannels, inputName: inputName)
        try compiled.prepare(training: false, plan: plan, workers: workers)
        return try compiled.infer(plan: plan, inputs: inputs, workers: workers)
    }
}

import CNN

/// One minibatch: inputs and integer class targets.
///
/// `inputs` is NCHW Float32, already normalized the way the model contract says. `targets` holds
/// one class index per sample (`[N]`, patch classification) or one per output pixel
/// (`[N * H * W]`, row-major per sample, segmentation). A target equal to the loss's
/// `ignoreIndex` contributes nothing (unlabelled or nodata pixels).
public struct TrainingBatch: Sendable {
    /// `[N, C, H, W]` inputs.
    public var inputs: Tensor
    /// Class indices, `N` or `N * H * W` of them.
    public var targets: [Int32]

    /// Creates a batch.
    public init(inputs: Tensor, targets: [Int32]) {
        self.inputs = inputs
        self.targets = targets
    }

    /// Number of samples (`inputs.shape[0]`).
    public var count: Int { inputs.shape.first ?? 0 }
}

/// Configuration of the softmax cross-entropy loss.
public struct CrossEntropyOptions: Sendable, Equatable {
    /// Per-class weights (`[classCount]`); nil weighs every class 1.
    public var classWeights: [Float]?
    /// Targets equal to this value are ignored (PyTorch's `ignore_index`, default -1).
    public var ignoreIndex: Int32

    /// Creates loss options.
    public init(classWeights: [Float]? = nil, ignoreIndex: Int32 = -1) {
        self.classWeights = classWeights
        self.ignoreIndex = ignoreIndex
    }
}

/// What one forward/backward pass over a batch measured.
public struct BatchOutcome: Sendable, Equatable {
    /// Sum over non-ignored targets of `weight[target] * -log softmax(logits)[target]`.
    public var lossSum: Double
    /// Sum of the weights of the non-ignored targets (the loss is `lossSum / weightSum`).
    public var weightSum: Double
    /// Argmax class per target element (same layout as `TrainingBatch.targets`).
    public var predictions: [Int32]

    /// Creates an outcome.
    public init(lossSum: Double, weightSum: Double, predictions: [Int32]) {
        self.lossSum = lossSum
        self.weightSum = weightSum
        self.predictions = predictions
    }

    /// Mean loss, or 0 when every target was ignored.
    public var meanLoss: Double { weightSum > 0 ? lossSum / weightSum : 0 }
}

/// A network the trainer can fit: the boundary between the training loop (optimizers,
/// schedules, epochs) and the layers (forward and backward passes).
public protocol TrainableNetwork: AnyObject {
    /// Every parameter, in a stable order (the order optimizers keep their state in).
    var parameters: [Parameter] { get }

    /// Runs the forward pass in training mode (batch statistics, dropout active), the loss and
    /// the backward pass, and *adds* the gradient of the batch's mean loss
    /// (`lossSum / weightSum`) to each unfrozen parameter's `gradient`. Updates running
    /// statistics. Uses up to `workers` threads; the result does not depend on `workers`.
    func accumulateGradients(for batch: TrainingBatch, loss: CrossEntropyOptions,
                             workers: Int) throws -> BatchOutcome

    /// Inference-mode forward pass (running statistics, no dropout): logits `[N, classes]`
    /// or `[N, classes, H, W]`.
    func predict(_ inputs: Tensor, workers: Int) throws -> Tensor
}

/// A source of training or validation samples the trainer draws minibatches from.
public protocol SampleSource: Sendable {
    /// Number of samples.
    var count: Int { get }
    /// Assembles the samples at `indices` (in that order) into one batch, normalized.
    func batch(indices: [Int]) throws -> TrainingBatch
}

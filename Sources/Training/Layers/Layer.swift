import CNN

/// Per-micro-batch context of a forward pass.
struct ForwardContext {
    /// Training mode (batch statistics, dropout) or inference mode.
    let training: Bool
    /// Scratch memory of this micro-batch.
    let scratch: ScratchSpace
    /// The dropout stream of this node in this micro-batch (training only).
    var generator: SeededGenerator
}

/// What a layer's forward pass keeps for its backward pass and for the running-statistics
/// update (BatchNormalization mean/variance, dropout masks, normalized inputs).
final class SavedState {
    var buffers: [FloatBuffer] = []
    /// BatchNormalization: per-channel batch mean and unbiased variance, and the element count.
    var statistics: (mean: [Double], variance: [Double], count: Int)?
}

/// Buffers of one backward call. Every gradient buffer is accumulated into (`+=`); nil means
/// that gradient is not needed (graph input, frozen parameter, value independent of any
/// trainable parameter).
struct BackwardBuffers {
    let inputs: [FloatBuffer]
    let inputShapes: [[Int]]
    let output: FloatBuffer
    let outputShape: [Int]
    let outputGradient: FloatBuffer
    let inputGradients: [FloatBuffer?]
    /// Per data input: true when its gradient buffer was just created for this call and holds
    /// unspecified values, so the layer must write (not add to) every element. Only layers whose
    /// `writesFreshInputGradients` is true ever see true; the others get zeroed buffers.
    let freshInputGradients: [Bool]
    /// One entry per initializer input of the node (nil when frozen or not trainable).
    let parameterGradients: [FloatBuffer?]
    let saved: SavedState
    let scratch: ScratchSpace
}

/// The executable form of one ``NetworkNode``: shape inference, forward and backward.
///
/// Layers read their parameters' current values in `prepare(training:)`, called once per
/// forward/backward call before any micro-batch runs; after that they are only read, so one layer
/// object serves every worker thread.
protocol Layer: AnyObject, Sendable {
    /// The node this layer executes.
    var node: NetworkNode { get }
    /// Output shape for these data-input shapes; throws when they do not fit the node.
    func outputShape(_ inputShapes: [[Int]]) throws -> [Int]
    /// Snapshots parameter values for one pass over `batch` samples whose micro-batches give
    /// this node an output of `outputShape` (dimension 0 is the micro-batch size).
    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws
    /// Computes `output` (already allocated with the inferred shape, contents unspecified).
    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext)
    /// Accumulates input and parameter gradients.
    func backward(_ buffers: BackwardBuffers)
    /// True when `backward` honours `freshInputGradients` (writes fresh buffers completely), which
    /// saves zeroing them and reading them back.
    var writesFreshInputGradients: Bool { get }
}

extension Layer {
    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws {}
    var writesFreshInputGradients: Bool { false }

    /// An error about this node.
    func invalid(_ detail: String) -> NetworkError {
        .invalidNode(node: node.name, operatorType: node.operation.onnxType, detail: detail)
    }
}

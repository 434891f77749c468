/// One operator application of a trainable ``Network``, mirroring an ONNX `NodeProto`.
///
/// `inputs` lists value names in ONNX input order: the data inputs first (the graph input or
/// earlier nodes' outputs), then the names of the node's initializers, which are the network's
/// ``Parameter``s (weights, biases, BatchNormalization scale and shift) or running statistics
/// (BatchNormalization mean and variance). For example a convolution with bias is
/// `NetworkNode(name: "conv1", operation: .conv(...), inputs: ["input", "conv1.weight", "conv1.bias"], output: "conv1")`.
/// Tensors are NCHW Float32.
public struct NetworkNode: Sendable, Equatable {
    /// Node name (the ONNX node name, and the layer name used by ``Network/freeze(layers:)``).
    public var name: String
    /// The operator and its attributes.
    public var operation: NetworkOperator
    /// Data input value names, then initializer names, in ONNX input order.
    public var inputs: [String]
    /// Output value name.
    public var output: String

    /// Creates a node.
    public init(name: String, operation: NetworkOperator, inputs: [String], output: String) {
        self.name = name
        self.operation = operation
        self.inputs = inputs
        self.output = output
    }

    /// The data inputs (values computed from the graph input): the first
    /// ``NetworkOperator/dataInputCount`` entries of `inputs`, or all of them for `Add`/`Concat`.
    public var dataInputs: [String] { Array(inputs.prefix(operation.dataInputCount ?? inputs.count)) }
    /// The initializer inputs (parameters and running statistics).
    public var initializerInputs: [String] { Array(inputs.dropFirst(operation.dataInputCount ?? inputs.count)) }
}

/// The geometry of a 2-D convolution or transposed convolution (ONNX `Conv`/`ConvTranspose`
/// attributes). Weights are `[outputChannels, inputChannels / groups, kH, kW]` for `Conv` and
/// `[inputChannels, outputChannels / groups, kH, kW]` for `ConvTranspose`.
public struct ConvolutionAttributes: Sendable, Equatable {
    /// `[kH, kW]`.
    public var kernelShape: [Int]
    /// `[strideH, strideW]`.
    public var strides: [Int]
    /// `[top, left, bottom, right]`, as ONNX `pads`.
    public var pads: [Int]
    /// `[dilationH, dilationW]`.
    public var dilations: [Int]
    /// Channel groups (`group`).
    public var groups: Int
    /// `ConvTranspose` only: extra rows/columns added at the bottom/right of the output.
    public var outputPadding: [Int]

    /// Creates convolution attributes; defaults are the ONNX defaults.
    public init(kernelShape: [Int], strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0],
                dilations: [Int] = [1, 1], groups: Int = 1, outputPadding: [Int] = [0, 0]) {
        self.kernelShape = kernelShape
        self.strides = strides
        self.pads = pads
        self.dilations = dilations
        self.groups = groups
        self.outputPadding = outputPadding
    }
}

/// ONNX `MaxPool`/`AveragePool` attributes (2-D).
public struct PoolAttributes: Sendable, Equatable {
    /// `[kH, kW]`.
    public var kernelShape: [Int]
    /// `[strideH, strideW]`.
    public var strides: [Int]
    /// `[top, left, bottom, right]`.
    public var pads: [Int]
    /// `[dilationH, dilationW]` (MaxPool only; AveragePool must use 1).
    public var dilations: [Int]
    /// Round the output size up (`ceil_mode`).
    public var ceilMode: Bool
    /// AveragePool: count padded cells in the divisor (`count_include_pad`).
    public var countIncludePad: Bool

    /// Creates pooling attributes; `strides` default to 1 as in ONNX.
    public init(kernelShape: [Int], strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0], dilations: [Int] = [1, 1],
                ceilMode: Bool = false, countIncludePad: Bool = false) {
        self.kernelShape = kernelShape
        self.strides = strides
        self.pads = pads
        self.dilations = dilations
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }
}

/// ONNX `Resize` (opset 13+) attributes for upsampling the last two axes of NCHW by constant
/// scales. PyTorch exports `Upsample(scale_factor=2, mode="nearest")` as
/// `nearest`/`asymmetric`/`floor` and `mode="bilinear"` (align_corners=False) as
/// `linear`/`pytorch_half_pixel` (or `half_pixel`).
public struct ResizeAttributes: Sendable, Equatable {
    /// Interpolation mode.
    public enum Mode: String, Sendable, Equatable {
        /// Nearest neighbour (`nearest`).
        case nearest
        /// Bilinear interpolation of the last two axes (`linear`).
        case linear
    }
    /// Interpolation mode (`mode`).
    public var mode: Mode
    /// `coordinate_transformation_mode`: `half_pixel`, `pytorch_half_pixel`, `asymmetric` or `align_corners`.
    public var coordinateTransformation: String
    /// `nearest_mode`: `floor`, `ceil`, `round_prefer_floor` or `round_prefer_ceil` (nearest only).
    public var nearestMode: String
    /// Scale of the height axis (output = floor(input * scale)).
    public var scaleHeight: Float
    /// Scale of the width axis.
    public var scaleWidth: Float

    /// The coordinate transformation modes this layer implements.
    public static let supportedCoordinateTransformations = ["half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners"]
    /// The nearest modes this layer implements.
    public static let supportedNearestModes = ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"]

    /// Creates resize attributes. The defaults are what PyTorch emits for
    /// `Upsample(scale_factor=2, mode="nearest")`.
    public init(mode: Mode = .nearest, coordinateTransformation: String = "asymmetric", nearestMode: String = "floor",
                scaleHeight: Float = 2, scaleWidth: Float = 2) {
        self.mode = mode
        self.coordinateTransformation = coordinateTransformation
        self.nearestMode = nearestMode
        self.scaleHeight = scaleHeight
        self.scaleWidth = scaleWidth
    }
}

/// The operators of a trainable network, each with a forward and a backward pass, named and
/// parameterized like the ONNX operators they export to. Tensors are NCHW Float32.
public enum NetworkOperator: Sendable, Equatable {
    /// `Conv` (2-D): inputs `X [N, C, H, W]`, `W [M, C/groups, kH, kW]`, optional `B [M]`.
    case conv(ConvolutionAttributes)
    /// `ConvTranspose` (2-D): inputs `X [N, C, H, W]`, `W [C, M/groups, kH, kW]`, optional `B [M]`;
    /// output size `(H - 1) * stride - padBegin - padEnd + dilation * (k - 1) + 1 + outputPadding`.
    case convTranspose(ConvolutionAttributes)
    /// `Resize` of the last two axes by constant scales.
    case resize(ResizeAttributes)
    /// `BatchNormalization`: inputs `X [N, C, ...]`, `scale [C]`, `B [C]`, `input_mean [C]`,
    /// `input_var [C]` (running statistics). Training: batch statistics (biased variance) and
    /// `running = momentum * running + (1 - momentum) * batch` (unbiased variance; ONNX momentum,
    /// i.e. PyTorch momentum 0.1 is 0.9 here). Inference: running statistics.
    case batchNormalization(epsilon: Float, momentum: Float)
    /// `Relu`: max(0, x).
    case relu
    /// `LeakyRelu`: x if x >= 0, else alpha * x.
    case leakyRelu(alpha: Float)
    /// `Clip` with constant bounds (ReLU6 is `clip(min: 0, max: 6)`); the gradient passes where
    /// `min < x < max`.
    case clip(min: Float, max: Float)
    /// `Sigmoid`: 1 / (1 + exp(-x)).
    case sigmoid
    /// `MaxPool` (2-D); the gradient goes to the first maximal tap in row-major window order.
    case maxPool(PoolAttributes)
    /// `AveragePool` (2-D).
    case averagePool(PoolAttributes)
    /// `GlobalAveragePool`: `[N, C, H, W]` to `[N, C, 1, 1]`.
    case globalAveragePool
    /// `Gemm`: `Y = alpha * A * op(B) + beta * C` with `A [N, K]`, `B [M, K]` (`transB`) or
    /// `[K, M]`, optional `C [M]`.
    case gemm(alpha: Float, beta: Float, transB: Bool)
    /// `MatMul` of `A [N, K]` by a parameter `B [K, M]`.
    case matMul
    /// `Add` of two values of equal shape (residual connections).
    case add
    /// `Concat` of several values along `axis` (1 = channels).
    case concat(axis: Int)
    /// `Dropout` with drop probability `ratio`: in training, a seeded mask zeroes elements and
    /// scales the others by `1 / (1 - ratio)`; in inference and export it is the identity.
    case dropout(ratio: Float)
    /// `Flatten`: `[d0, ..., dn]` to `[d0 * ... * d(axis-1), d(axis) * ... * dn]`.
    case flatten(axis: Int)

    /// The ONNX `op_type` this operator exports to.
    public var onnxType: String {
        switch self {
        case .conv: return "Conv"
        case .convTranspose: return "ConvTranspose"
        case .resize: return "Resize"
        case .batchNormalization: return "BatchNormalization"
        case .relu: return "Relu"
        case .leakyRelu: return "LeakyRelu"
        case .clip: return "Clip"
        case .sigmoid: return "Sigmoid"
        case .maxPool: return "MaxPool"
        case .averagePool: return "AveragePool"
        case .globalAveragePool: return "GlobalAveragePool"
        case .gemm: return "Gemm"
        case .matMul: return "MatMul"
        case .add: return "Add"
        case .concat: return "Concat"
        case .dropout: return "Dropout"
        case .flatten: return "Flatten"
        }
    }

    /// How many leading inputs are data (not initializers); nil for variadic operators
    /// (`Add`, `Concat`) whose inputs are all data.
    public var dataInputCount: Int? {
        switch self {
        case .add, .concat: return nil
        default: return 1
        }
    }
}

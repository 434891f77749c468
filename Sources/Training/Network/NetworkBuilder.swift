import CNN

/// Builds a ``Network`` node by node, creating seeded, He-initialized parameters.
///
/// Each method appends one node named `name` whose output value is also called `name`, creates
/// its initializers as `<name>.weight`, `<name>.bias` (BatchNormalization: `<name>.weight`,
/// `<name>.bias`, `<name>.running_mean`, `<name>.running_var`, as PyTorch's state dict), checks
/// shapes against a nominal input of `[1, inputChannels, inputHeight, inputWidth]` and returns
/// the output value name. Tensors are NCHW Float32.
///
/// Initialization: convolution and Gemm weights are He (Kaiming) normal, `N(0, 2 / fanIn)`
/// with `fanIn = inputChannels / groups * kH * kW` (Gemm: input features; ConvTranspose:
/// `outputChannels / groups * kH * kW`, as PyTorch computes it); biases are zero;
/// BatchNormalization scale 1, shift 0, running mean 0, running variance 1.
///
/// ```swift
/// let b = NetworkBuilder(inputChannels: 13, inputHeight: 64, inputWidth: 64, seed: 1)
/// var x = try b.conv(b.input, name: "conv1", outputChannels: 32, kernel: 3, padding: 1)
/// x = try b.relu(x, name: "relu1")
/// x = try b.flatten(try b.globalAveragePool(x, name: "gap"), name: "flatten")
/// _ = try b.gemm(x, name: "fc", outputFeatures: 10)
/// let network = try b.build()
/// ```
public final class NetworkBuilder {
    /// Name of the graph input value.
    public let input: String
    /// Input channels.
    public let inputChannels: Int
    /// The nodes so far.
    public private(set) var nodes: [NetworkNode] = []
    /// The parameters so far.
    public private(set) var parameters: [Parameter] = []
    /// The running statistics so far.
    public private(set) var runningStatistics: [Parameter] = []
    /// The initialization stream.
    public var generator: SeededGenerator
    private let seed: UInt64
    /// Per-sample shape of every value for the nominal input.
    private var shapes: [String: [Int]]

    /// Creates a builder for inputs `[N, inputChannels, inputHeight, inputWidth]`.
    public init(inputName: String = "input", inputChannels: Int, inputHeight: Int = 64, inputWidth: Int = 64, seed: UInt64) {
        self.input = inputName
        self.inputChannels = inputChannels
        self.generator = SeededGenerator(seed: seed)
        self.seed = seed
        self.shapes = [inputName: [1, inputChannels, inputHeight, inputWidth]]
    }

    /// The shape of `value` for the nominal input (batch 1).
    public func shape(of value: String) -> [Int]? { shapes[value] }

    /// Channels (dimension 1) of `value`.
    public func channels(of value: String) throws -> Int {
        guard let shape = shapes[value], shape.count >= 2 else { throw NetworkError.missingValue(name: value, node: "(builder)") }
        return shape[1]
    }

    /// He-normal values.
    public func heNormal(count: Int, fanIn: Int) -> [Float] {
        let std = (2 / Float(max(fanIn, 1))).squareRoot()
        return (0..<count).map { _ in generator.nextGaussian() * std }
    }

    /// Appends a node after checking it against the nominal input; returns its output name.
    @discardableResult
    public func append(_ node: NetworkNode, parameters newParameters: [Parameter] = [], runningStatistics newStatistics: [Parameter] = []) throws -> String {
        let lookup = Dictionary(uniqueKeysWithValues: (parameters + runningStatistics + newParameters + newStatistics).map { ($0.name, $0) })
        var tensors = [Parameter]()
        for name in node.initializerInputs {
            guard let p = lookup[name] else { throw NetworkError.invalidParameter(name: name, detail: "is used by node \"\(node.name)\" but was not created") }
            tensors.append(p)
        }
        let layer = try CompiledNetwork.makeLayer(node: node, initializers: tensors)
        var inputShapes = [[Int]]()
        for name in node.dataInputs {
            guard let shape = shapes[name] else { throw NetworkError.missingValue(name: name, node: node.name) }
            inputShapes.append(shape)
        }
        guard shapes[node.output] == nil else {
            throw NetworkError.invalidGraph(detail: "value \"\(node.output)\" of node \"\(node.name)\" is defined twice")
        }
        shapes[node.output] = try layer.outputShape(inputShapes)
        nodes.append(node)
        parameters.append(contentsOf: newParameters)
        runningStatistics.append(contentsOf: newStatistics)
        return node.output
    }

    /// `Conv` with square kernel, stride, dilation and symmetric padding.
    public func conv(_ x: String, name: String, outputChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                     dilation: Int = 1, groups: Int = 1, bias: Bool = true) throws -> String {
        try conv(x, name: name, outputChannels: outputChannels,
                 attributes: ConvolutionAttributes(kernelShape: [kernel, kernel], strides: [stride, stride],
                                                   pads: [padding, padding, padding, padding],
                                                   dilations: [dilation, dilation], groups: groups), bias: bias)
    }

    /// `Conv` with explicit attributes.
    public func conv(_ x: String, name: String, outputChannels: Int, attributes: ConvolutionAttributes, bias: Bool = true) throws -> String {
        let inputChannels = try channels(of: x)
        let groups = max(attributes.groups, 1)
        guard attributes.kernelShape.count == 2, inputChannels % groups == 0, outputChannels > 0 else {
            throw NetworkError.invalidNode(node: name, operatorType: "Conv", detail: "group \(attributes.groups) must divide \(inputChannels) input channels; kernel_shape needs 2 entries")
        }
        let fanIn = inputChannels / groups * attributes.kernelShape[0] * attributes.kernelShape[1]
        let weight = Parameter(name: name + ".weight", shape: [outputChannels, inputChannels / groups] + attributes.kernelShape,
                               value: heNormal(count: outputChannels * fanIn, fanIn: fanIn))
        var created = [weight]
        if bias { created.append(Parameter(name: name + ".bias", shape: [outputChannels], value: [Float](repeating: 0, count: outputChannels), decays: false)) }
        return try append(NetworkNode(name: name, operation: .conv(attributes), inputs: [x] + created.map(\.name), output: name),
                          parameters: created)
    }

    /// `ConvTranspose` with square kernel and stride and symmetric padding (`kernel 2, stride 2`
    /// doubles the size).
    public func convTranspose(_ x: String, name: String, outputChannels: Int, kernel: Int, stride: Int, padding: Int = 0,
                              outputPadding: Int = 0, groups: Int = 1, bias: Bool = true) throws -> String {
        let inputChannels = try channels(of: x)
        guard groups >= 1, inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw NetworkError.invalidNode(node: name, operatorType: "ConvTranspose", detail: "group \(groups) must divide \(inputChannels) input and \(outputChannels) output channels")
        }
        let attributes = ConvolutionAttributes(kernelShape: [kernel, kernel], strides: [stride, stride],
                                               pads: [padding, padding, padding, padding], groups: groups,
                                               outputPadding: [outputPadding, outputPadding])
        let fanIn = outputChannels / groups * kernel * kernel
        let weight = Parameter(name: name + ".weight", shape: [inputChannels, outputChannels / groups, kernel, kernel],
                               value: heNormal(count: inputChannels * fanIn, fanIn: fanIn))
        var created = [weight]
        if bias { created.append(Parameter(name: name + ".bias", shape: [outputChannels], value: [Float](repeating: 0, count: outputChannels), decays: false)) }
        return try append(NetworkNode(name: name, operation: .convTranspose(attributes), inputs: [x] + created.map(\.name), output: name),
                          parameters: created)
    }

    /// `BatchNormalization` over the channels of `x` (ONNX momentum 0.9 = PyTorch 0.1).
    public func batchNormalization(_ x: String, name: String, epsilon: Float = 1e-5, momentum: Float = 0.9) throws -> String {
        let c = try channels(of: x)
        let scale = Parameter(name: name + ".weight", shape: [c], value: [Float](repeating: 1, count: c), decays: false)
        let shift = Parameter(name: name + ".bias", shape: [c], value: [Float](repeating: 0, count: c), decays: false)
        let mean = Parameter(name: name + ".running_mean", shape: [c], value: [Float](repeating: 0, count: c), isFrozen: true, decays: false)
        let variance = Parameter(name: name + ".running_var", shape: [c], value: [Float](repeating: 1, count: c), isFrozen: true, decays: false)
        return try append(NetworkNode(name: name, operation: .batchNormalization(epsilon: epsilon, momentum: momentum),
                                      inputs: [x, scale.name, shift.name, mean.name, variance.name], output: name),
                          parameters: [scale, shift], runningStatistics: [mean, variance])
    }

    /// An operator without initializers applied to `inputs`.
    public func apply(_ operation: NetworkOperator, _ inputs: [String], name: String) throws -> String {
        try append(NetworkNode(name: name, operation: operation, inputs: inputs, output: name))
    }

    /// `Relu`.
    public func relu(_ x: String, name: String) throws -> String { try apply(.relu, [x], name: name) }

    /// `MaxPool` with square window, stride and symmetric padding.
    public func maxPool(_ x: String, name: String, kernel: Int, stride: Int, padding: Int = 0) throws -> String {
        try apply(.maxPool(PoolAttributes(kernelShape: [kernel, kernel], strides: [stride, stride],
                                          pads: [padding, padding, padding, padding])), [x], name: name)
    }

    /// `GlobalAveragePool`.
    public func globalAveragePool(_ x: String, name: String) throws -> String { try apply(.globalAveragePool, [x], name: name) }

    /// `Flatten` (axis 1).
    public func flatten(_ x: String, name: String) throws -> String { try apply(.flatten(axis: 1), [x], name: name) }

    /// `Gemm` with `transB = 1` (a fully connected layer, PyTorch `Linear`): weight `[out, in]`, bias `[out]`.
    public func gemm(_ x: String, name: String, outputFeatures: Int, bias: Bool = true) throws -> String {
        guard let shape = shapes[x], shape.count == 2 else {
            throw NetworkError.invalidNode(node: name, operatorType: "Gemm", detail: "input \"\(x)\" must be [N, features]; add a Flatten before it")
        }
        let features = shape[1]
        let weight = Parameter(name: name + ".weight", shape: [outputFeatures, features],
                               value: heNormal(count: outputFeatures * features, fanIn: features))
        var created = [weight]
        if bias { created.append(Parameter(name: name + ".bias", shape: [outputFeatures], value: [Float](repeating: 0, count: outputFeatures), decays: false)) }
        return try append(NetworkNode(name: name, operation: .gemm(alpha: 1, beta: 1, transB: true), inputs: [x] + created.map(\.name), output: name),
                          parameters: created)
    }

    /// `Add` of two values of equal shape.
    public func add(_ a: String, _ b: String, name: String) throws -> String { try apply(.add, [a, b], name: name) }

    /// `Concat` along the channel axis.
    public func concat(_ values: [String], name: String) throws -> String { try apply(.concat(axis: 1), values, name: name) }

    /// `Dropout` with drop probability `ratio`.
    public func dropout(_ x: String, name: String, ratio: Float) throws -> String { try apply(.dropout(ratio: ratio), [x], name: name) }

    /// `Resize` (upsampling) of the last two axes.
    public func resize(_ x: String, name: String, attributes: ResizeAttributes) throws -> String {
        try apply(.resize(attributes), [x], name: name)
    }

    /// The network built so far (its dropout stream is seeded from the builder's seed).
    public func build() throws -> Network {
        try Network(inputName: input, inputChannels: inputChannels, nodes: nodes, parameters: parameters,
                    runningStatistics: runningStatistics, seed: seed ^ 0x5EED_D509)
    }
}

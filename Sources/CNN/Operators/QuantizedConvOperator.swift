import CKernels

/// The engine's internal int8 operators, created by ``GraphOptimizer/fuseQuantizedConvolutions()``
/// from QDQ chains (domain `landcover.internal`). "Packed" values hold u8 NHWC bytes
/// `[N][H][W][paddedChannels]` in the Float arena, declared with shape `[N, H, W, paddedChannels / 4]`
/// (4 bytes per Float slot); every other value is ordinary float NCHW.
///
/// - `QConv`: inputs `x` (packed), `w` (int8 OIHW constant), `w_scale` (per output channel),
///   `bias` (optional float constant), `residual` (optional, packed); attributes `in_scale`,
///   `in_zero`, `out_scale`, `out_zero`, `relu`, `res_scale`, `res_zero`, `sum_scale`, `sum_zero`,
///   `relu_after_add`, `output_float`, `max_pool` (a fused 2x2/2 max pool), and Conv's `strides`,
///   `pads`, `dilations`.
/// - `QuantizePack`: float NCHW -> packed (`scale`, `zero`).
/// - `QUnpack`: packed -> float NCHW, dequantized (`scale`, `zero`, `channels`).
/// - `QMaxPool`: MaxPool on packed values (`kernel_shape`, `strides`, `pads`).
/// Zero points are in the unsigned byte domain (ONNX INT8 zero point + 128).
enum QuantizedOperators {
    static let types: Set<String> = ["QConv", "QuantizePack", "QUnpack", "QMaxPool"]

    static func make(node: ONNXNode, constants: [String: PlanValue]) throws -> GraphOperator {
        let attributes = NodeAttributes(node)
        switch node.operatorType {
        case "QConv": return try QuantizedConvOperator(attributes: attributes, constants: constants)
        case "QuantizePack", "QUnpack":
            return QuantizePackOperator(attributes: attributes, unpack: node.operatorType == "QUnpack",
                                        parameters: try parameters(attributes, "scale", "zero"),
                                        channels: try attributes.int("channels", default: 0))
        default: return try QuantizedMaxPoolOperator(attributes: attributes)
        }
    }

    static func parameters(_ attributes: NodeAttributes, _ scale: String, _ zero: String) throws -> QuantizationParameters {
        let s = try attributes.float(scale, default: 1), z = try attributes.int(zero, default: 0)
        guard s.isFinite, s > 0, (0...255).contains(z) else {
            throw attributes.invalid("quantization scale \(s) must be positive and zero point \(z) within 0...255")
        }
        return QuantizationParameters(scale: s, zero: z)
    }

    /// The declared shape of a packed `[N, H, W, channels]` tensor.
    static func packedShape(batch: Int, height: Int, width: Int, channels: Int) -> [Int] {
        [batch, height, width, Int8ConvolutionKernel.paddedChannels(channels) / 4]
    }

    /// The C kernels index a chunk with 32-bit offsets: every packed tensor, image chunk and
    /// scratch area must stay below 2 GiB.
    static func checkSize(_ bytes: Int, _ attributes: NodeAttributes) throws {
        guard bytes >= 0, bytes < Int(Int32.max) else {
            throw ONNXError.tooLarge(node: attributes.label, detail: "an int8 buffer of \(bytes) bytes exceeds the kernels' 2 GiB limit; use smaller batches or tiles")
        }
    }

    static func bytes(_ pointer: UnsafePointer<Float>) -> UnsafePointer<UInt8> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self)
    }

    static func bytes(_ pointer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<UInt8> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt8.self)
    }
}

/// `QConv`: an int8 convolution with its requantizing epilogue (see ``Int8ConvolutionKernel``).
struct QuantizedConvOperator: GraphOperator {
    let attributes: NodeAttributes
    let kernel: Int8ConvolutionKernel
    let hasResidual: Bool

    init(attributes: NodeAttributes, constants: [String: PlanValue]) throws {
        self.attributes = attributes
        let node = attributes.node
        guard node.inputs.count >= 3, let w = constants[node.inputs[1]], let values = w.constantInts,
              let scales = constants[node.inputs[2]]?.constantFloats else {
            throw ONNXError.dataDependentValue(node: attributes.label, detail: "int8 weights and their scales must be initializers")
        }
        guard w.shape.count == 4, w.shape.allSatisfy({ $0 > 0 }), scales.count == 1 || scales.count == w.shape[0],
              scales.allSatisfy({ $0.isFinite && $0 > 0 }), values.allSatisfy({ (-128...127).contains($0) }) else {
            throw attributes.shapeError("int8 weights \(w.shape) with \(scales.count) scales are not a per-channel int8 OIHW tensor")
        }
        var bias: [Float]?
        if node.inputs.count > 3, !node.inputs[3].isEmpty {
            guard let b = constants[node.inputs[3]]?.constantFloats, b.count == w.shape[0] else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "the bias must be a constant with one value per output channel")
            }
            bias = b
        }
        hasResidual = node.inputs.count > 4 && !node.inputs[4].isEmpty
        let strides = try attributes.ints("strides") ?? [1, 1]
        let dilations = try attributes.ints("dilations") ?? [1, 1]
        let pads = try attributes.ints("pads") ?? [0, 0, 0, 0]
        guard strides.count == 2, dilations.count == 2, pads.count == 4, strides.allSatisfy({ (1...65536).contains($0) }),
              dilations.allSatisfy({ (1...65536).contains($0) }), pads.allSatisfy({ (0...65536).contains($0) }) else {
            throw attributes.invalid("strides \(strides), dilations \(dilations) and pads \(pads) must have 2, 2 and 4 valid entries")
        }
        let shape = Conv2DShape(inputChannels: w.shape[1], outputChannels: w.shape[0], kernelHeight: w.shape[2],
                                kernelWidth: w.shape[3], strideHeight: strides[0], strideWidth: strides[1],
                                dilationHeight: dilations[0], dilationWidth: dilations[1], padTop: pads[0],
                                padLeft: pads[1], padBottom: pads[2], padRight: pads[3], groups: 1)
        let input = try QuantizedOperators.parameters(attributes, "in_scale", "in_zero")
        let output = try QuantizedOperators.parameters(attributes, "out_scale", "out_zero")
        var residual: (input: QuantizationParameters, sum: QuantizationParameters, reluAfterAdd: Bool)?
        if hasResidual {
            residual = (try QuantizedOperators.parameters(attributes, "res_scale", "res_zero"),
                        try QuantizedOperators.parameters(attributes, "sum_scale", "sum_zero"),
                        try attributes.int("relu_after_add", default: 0) != 0)
        }
        kernel = Int8ConvolutionKernel(shape: shape, weights: values.map { Int8($0) }, weightScales: scales, bias: bias,
                                       input: input, output: output, relu: try attributes.int("relu", default: 0) != 0,
                                       residual: residual, outputFloat: try attributes.int("output_float", default: 0) != 0,
                                       maxPool: try attributes.int("max_pool", default: 0) != 0 && !hasResidual)
    }

    var constantInputsConsumedAtLoad: [Int] { [1, 2, 3] }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input X") }
        let s = kernel.shape
        guard x.shape.count == 4, x.shape[3] == Int8ConvolutionKernel.paddedChannels(s.inputChannels) / 4 else {
            throw attributes.shapeError("packed input \(x.shape) does not hold \(s.inputChannels) channels")
        }
        let batch = x.shape[0], height = x.shape[1], width = x.shape[2]
        let effectiveH = (s.kernelHeight - 1) * s.dilationHeight + 1, effectiveW = (s.kernelWidth - 1) * s.dilationWidth + 1
        guard height + s.padTop + s.padBottom >= effectiveH, width + s.padLeft + s.padRight >= effectiveW else {
            throw attributes.shapeError("input [\(height), \(width)] is smaller than the kernel after padding")
        }
        let (outHeight, outWidth) = kernel.outputSize(height: height, width: width)
        guard outHeight >= 1, outWidth >= 1 else {
            throw attributes.shapeError("the convolution output of input [\(height), \(width)] is smaller than the fused 2x2 max pool")
        }
        let packed = QuantizedOperators.packedShape(batch: batch, height: outHeight, width: outWidth, channels: s.outputChannels)
        let outputShape = kernel.outputFloat ? [batch, s.outputChannels, outHeight, outWidth] : packed
        if hasResidual {
            guard inputs.count > 4, let residual = inputs[4], residual.shape == packed else {
                throw attributes.shapeError("the packed residual does not match the output \(packed)")
            }
        }
        try QuantizedOperators.checkSize(x.count * 4, attributes)
        try QuantizedOperators.checkSize(batch * outHeight * outWidth * Int8ConvolutionKernel.paddedChannels(s.outputChannels), attributes)
        // The padded copy of one chunk (as many images as make 256 output pixels, at least one).
        let convPixels = s.outputSize(height: height, width: width).height * s.outputSize(height: height, width: width).width
        let chunkImages = min(batch, convPixels >= 256 ? 1 : (256 + convPixels - 1) / max(convPixels, 1))
        let paddedImage = (height + s.padTop + s.padBottom) * (width + s.padLeft + s.padRight)
            * Int8ConvolutionKernel.paddedChannels(s.inputChannels)
        try QuantizedOperators.checkSize(paddedImage * chunkImages, attributes)
        let scratchBytes = kernel.scratchBytes(batch: batch, height: height, width: width)
        try QuantizedOperators.checkSize(scratchBytes, attributes)
        let conv = kernel, residual = hasResidual
        let run: OperatorKernel = { inputs, outputs, scratch in
            conv.run(input: QuantizedOperators.bytes(inputs[0]), batch: batch, height: height, width: width,
                     output: UnsafeMutableRawPointer(outputs[0]),
                     residual: residual ? QuantizedOperators.bytes(inputs[4]) : nil, scratch: UnsafeMutableRawPointer(scratch))
        }
        let flops = 2 * batch * s.outputChannels * outHeight * outWidth * s.inputChannels * s.kernelHeight * s.kernelWidth
        return OperatorPlan(outputs: [.runtime(outputShape)], kernel: run, scratchCount: (scratchBytes + 3) / 4, flops: flops)
    }
}

/// `QuantizePack` (float NCHW -> packed) and `QUnpack` (packed -> float NCHW).
struct QuantizePackOperator: GraphOperator {
    let attributes: NodeAttributes
    let unpack: Bool
    let parameters: QuantizationParameters
    let channels: Int

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil, x.shape.count == 4 else {
            throw attributes.shapeError("needs a rank-4 input")
        }
        let p = parameters
        try QuantizedOperators.checkSize(x.count * 4, attributes)
        if unpack {
            let c = channels
            guard c > 0, x.shape[3] == Int8ConvolutionKernel.paddedChannels(c) / 4 else {
                throw attributes.shapeError("packed input \(x.shape) does not hold \(c) channels")
            }
            let batch = x.shape[0], plane = x.shape[1] * x.shape[2], padded = x.shape[3] * 4
            let run: OperatorKernel = { inputs, outputs, _ in
                lc_dequantize_unpack(QuantizedOperators.bytes(inputs[0]), Int32(batch), Int32(c), Int32(plane), Int32(padded),
                                     p.scale, Int32(p.zero), outputs[0])
            }
            return OperatorPlan(outputs: [.runtime([batch, c, x.shape[1], x.shape[2]])], kernel: run, flops: x.count * 4)
        }
        let batch = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        let padded = Int8ConvolutionKernel.paddedChannels(c)
        let run: OperatorKernel = { inputs, outputs, _ in
            lc_quantize_pack(inputs[0], Int32(batch), Int32(c), Int32(plane), Int32(padded), p.scale, Int32(p.zero),
                             QuantizedOperators.bytes(outputs[0]))
        }
        return OperatorPlan(outputs: [.runtime(QuantizedOperators.packedShape(batch: batch, height: x.shape[2], width: x.shape[3], channels: c))],
                            kernel: run, flops: x.count * 2)
    }
}

/// `QMaxPool`: 2-D max pooling on packed values (exact, quantization is monotonic).
struct QuantizedMaxPoolOperator: GraphOperator {
    let attributes: NodeAttributes
    let kernelShape: [Int]
    let strides: [Int]
    let pads: [Int]

    init(attributes: NodeAttributes) throws {
        self.attributes = attributes
        kernelShape = try attributes.ints("kernel_shape") ?? []
        strides = try attributes.ints("strides") ?? [1, 1]
        pads = try attributes.ints("pads") ?? [0, 0, 0, 0]
        guard kernelShape.count == 2, strides.count == 2, pads.count == 4, kernelShape.allSatisfy({ (1...65536).contains($0) }),
              strides.allSatisfy({ (1...65536).contains($0) }), pads.allSatisfy({ (0...65536).contains($0) }),
              pads[0] < kernelShape[0], pads[1] < kernelShape[1], pads[2] < kernelShape[0], pads[3] < kernelShape[1] else {
            throw attributes.invalid("kernel_shape \(kernelShape), strides \(strides) and pads \(pads) are not a valid 2-D pool")
        }
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil, x.shape.count == 4 else { throw attributes.shapeError("needs a packed rank-4 input") }
        try QuantizedOperators.checkSize(x.count * 4, attributes)
        let batch = x.shape[0], height = x.shape[1], width = x.shape[2], padded = x.shape[3] * 4
        let outHeight = (height + pads[0] + pads[2] - kernelShape[0]) / strides[0] + 1
        let outWidth = (width + pads[1] + pads[3] - kernelShape[1]) / strides[1] + 1
        guard height + pads[0] + pads[2] >= kernelShape[0], width + pads[1] + pads[3] >= kernelShape[1] else {
            throw attributes.shapeError("input [\(height), \(width)] is smaller than the pool window")
        }
        let k = kernelShape, s = strides, p = pads
        let run: OperatorKernel = { inputs, outputs, _ in
            lc_qmaxpool(QuantizedOperators.bytes(inputs[0]), Int32(batch), Int32(height), Int32(width), Int32(padded),
                        Int32(k[0]), Int32(k[1]), Int32(s[0]), Int32(s[1]), Int32(p[0]), Int32(p[1]),
                        Int32(outHeight), Int32(outWidth), QuantizedOperators.bytes(outputs[0]))
        }
        return OperatorPlan(outputs: [.runtime([batch, outHeight, outWidth, x.shape[3]])], kernel: run,
                            flops: batch * outHeight * outWidth * padded * k[0] * k[1])
    }
}

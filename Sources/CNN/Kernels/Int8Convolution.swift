import CKernels

/// Scale and zero point of a quantized tensor: a stored value `u` stands for `(u - zero) * scale`.
///
/// Packed tensors are always unsigned bytes: an ONNX INT8 tensor is stored shifted by +128, so
/// its zero point here is the ONNX zero point + 128 (see ``init(scale:onnxZero:signed:)``).
public struct QuantizationParameters: Sendable, Hashable {
    /// Real-valued step between adjacent integers (> 0).
    public var scale: Float
    /// The byte value (0...255) that stands for 0.
    public var zero: Int

    /// - Parameters:
    ///   - scale: the step, > 0.
    ///   - zero: the zero point in the unsigned byte domain, 0...255.
    public init(scale: Float, zero: Int) {
        self.scale = scale
        self.zero = zero
    }

    /// Parameters of an ONNX QuantizeLinear/DequantizeLinear pair: `onnxZero` in the ONNX element
    /// type's range (INT8 when `signed`, else UINT8), shifted to the unsigned byte domain.
    public init(scale: Float, onnxZero: Int, signed: Bool) {
        self.init(scale: scale, zero: onnxZero + (signed ? 128 : 0))
    }
}

/// Whether the CPU runs the AVX-512 VNNI int8 kernels (else the scalar path runs, same results).
public let cpuHasAVX512VNNI: Bool = lc_cpu_has_avx512_vnni() != 0

/// Immutable byte storage owned by a kernel (packed int8 weights), 64-byte aligned.
final class ByteBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }
}

/// An int8 2-D convolution (groups = 1) on packed u8 NHWC activations, with per-output-channel
/// weight scales, bias, optional ReLU and an optional quantized residual Add fused into the
/// requantizing epilogue (the Conv -> QuantizeLinear [-> DequantizeLinear -> Add ->
/// QuantizeLinear] chain of a QDQ model). Runs on AVX-512 VNNI (`vpdpbusd`) or, on other CPUs or
/// when asked, on a scalar path with identical results (integer accumulation is exact).
///
/// Layouts: input and residual `[batch][height][width][channelsPadded]` bytes, channels padded to
/// a multiple of 4 (``paddedChannels(_:)``); output the same with the output channels, or float
/// NCHW `[batch][outputChannels][outHeight][outWidth]` holding the dequantized values.
/// Weights are OIHW int8 with symmetric per-channel scales (weight zero points 0).
public final class Int8ConvolutionKernel: Sendable {
    /// The convolution geometry (``Conv2DShape/groups`` must be 1).
    public let shape: Conv2DShape
    /// Quantization of the packed input.
    public let input: QuantizationParameters
    /// Quantization of the convolution's own output (the QuantizeLinear after the Conv).
    public let output: QuantizationParameters
    /// Residual input and the quantization of the sum, when an Add is fused.
    public let residual: (input: QuantizationParameters, sum: QuantizationParameters, reluAfterAdd: Bool)?
    /// ReLU before the first requantization.
    public let relu: Bool
    /// Write dequantized float NCHW instead of packed bytes.
    public let outputFloat: Bool
    /// A 2x2, stride-2, floor-mode max pool follows the requantization (no residual).
    public let maxPool: Bool
    private let weights: ByteBuffer
    private let multiplier: AlignedBuffer
    private let offset: AlignedBuffer

    /// Channels rounded up to a multiple of 4, the packed layout's channel stride.
    public static func paddedChannels(_ channels: Int) -> Int { (channels + 3) / 4 * 4 }

    /// - Parameters:
    ///   - weights: OIHW int8 values, `outputChannels * inputChannels * kH * kW`.
    ///   - weightScales: one scale per output channel (or one for all).
    ///   - bias: one float per output channel, or nil.
    ///   - maxPool: pool 2x2 windows (stride 2, floor) of the requantized output; not with a residual.
    public init(shape: Conv2DShape, weights: [Int8], weightScales: [Float], bias: [Float]?,
                input: QuantizationParameters, output: QuantizationParameters, relu: Bool,
                residual: (input: QuantizationParameters, sum: QuantizationParameters, reluAfterAdd: Bool)?,
                outputFloat: Bool, maxPool: Bool = false) {
        precondition(shape.groups == 1, "int8 convolutions need groups = 1")
        precondition(!(maxPool && residual != nil), "a fused max pool excludes a residual")
        self.maxPool = maxPool
        self.shape = shape
        self.input = input
        self.output = output
        self.relu = relu
        self.residual = residual
        self.outputFloat = outputFloat
        let outputs = shape.outputChannels, channels = shape.inputChannels
        let taps = shape.kernelHeight * shape.kernelWidth
        let padded = Self.paddedChannels(channels)
        let blocks = (outputs + 15) / 16
        // Dense rows (as lc_qconv_dense_rows decides): a kernel row is kW * channels bytes, padded to 4.
        var probe = lc_qconv_params()
        probe.dilation_w = Int32(shape.dilationWidth); probe.in_c = Int32(channels); probe.in_c_padded = Int32(padded)
        let dense = lc_qconv_dense_rows(&probe) != 0
        let rowRun = (shape.kernelWidth * channels + 3) / 4 * 4
        let packed = ByteBuffer(count: dense ? blocks * shape.kernelHeight * rowRun * 16 : blocks * taps * padded * 16)
        let bytes = packed.pointer.assumingMemoryBound(to: Int8.self)
        var sums = [Int](repeating: 0, count: outputs)
        for o in 0..<outputs {
            for c in 0..<channels {
                for t in 0..<taps {
                    let value = weights[(o * channels + c) * taps + t]
                    sums[o] += Int(value)
                    let index: Int
                    if dense {
                        // [block][kernel row][k / 4][16][4], k = kernel column * channels + channel
                        let k = (t % shape.kernelWidth) * channels + c
                        index = (((o / 16) * shape.kernelHeight + t / shape.kernelWidth) * (rowRun / 4) + k / 4) * 64 + (o % 16) * 4 + k % 4
                    } else {
                        // [block][tap][c / 4][16][4]
                        index = (((o / 16) * taps + t) * (padded / 4) + c / 4) * 64 + (o % 16) * 4 + c % 4
                    }
                    bytes[index] = value
                }
            }
        }
        self.weights = packed
        multiplier = AlignedBuffer(count: blocks * 16)
        offset = AlignedBuffer(count: blocks * 16)
        // Requantization folded into one multiply-add in units of the output step (as
        // onnxruntime's QLinearConv): t = acc * m / output scale + (bias - zero * sum(w) * m) / output scale.
        for o in 0..<outputs {
            let m = Double(input.scale) * Double(weightScales.count == 1 ? weightScales[0] : weightScales[o])
            multiplier.pointer[o] = Float(m / Double(output.scale))
            offset.pointer[o] = Float((Double(bias?[o] ?? 0) - Double(input.zero * sums[o]) * m) / Double(output.scale))
        }
    }

    private func parameters(batch: Int, height: Int, width: Int, residual residualPointer: UnsafePointer<UInt8>?) -> lc_qconv_params {
        let s = shape
        var p = lc_qconv_params()
        p.batch = Int32(batch); p.in_h = Int32(height); p.in_w = Int32(width)
        p.in_c_padded = Int32(Self.paddedChannels(s.inputChannels))
        p.in_c = Int32(s.inputChannels)
        p.out_c = Int32(s.outputChannels); p.out_c_padded = Int32(Self.paddedChannels(s.outputChannels))
        p.kernel_h = Int32(s.kernelHeight); p.kernel_w = Int32(s.kernelWidth)
        p.stride_h = Int32(s.strideHeight); p.stride_w = Int32(s.strideWidth)
        p.dilation_h = Int32(s.dilationHeight); p.dilation_w = Int32(s.dilationWidth)
        p.pad_top = Int32(s.padTop); p.pad_left = Int32(s.padLeft); p.pad_bottom = Int32(s.padBottom); p.pad_right = Int32(s.padRight)
        p.input_zero = Int32(input.zero)
        p.weights = UnsafePointer(weights.pointer.assumingMemoryBound(to: Int8.self))
        p.multiplier = UnsafePointer(multiplier.pointer)
        p.offset = UnsafePointer(offset.pointer)
        p.relu = relu ? 1 : 0
        p.output_scale = output.scale
        p.output_zero = Int32(output.zero)
        if let residual, let residualPointer {
            p.residual = residualPointer
            p.residual_scale = residual.input.scale
            p.residual_zero = Int32(residual.input.zero)
            p.relu_after_add = residual.reluAfterAdd ? 1 : 0
            p.sum_scale = residual.sum.scale
            p.sum_zero = Int32(residual.sum.zero)
        }
        p.output_float = outputFloat ? 1 : 0
        p.max_pool = maxPool ? 1 : 0
        return p
    }

    /// Output height and width for an input of `height` x `width` (halved, floor, with ``maxPool``).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let size = shape.outputSize(height: height, width: width)
        return maxPool ? (size.height / 2, size.width / 2) : size
    }

    /// Scratch bytes ``run(input:batch:height:width:output:residual:scratch:useVNNI:)`` needs.
    public func scratchBytes(batch: Int, height: Int, width: Int) -> Int {
        var p = parameters(batch: batch, height: height, width: width, residual: nil)
        return lc_qconv_scratch_bytes(&p)
    }

    /// Runs the convolution.
    /// - Parameters:
    ///   - input: packed `[batch][height][width][paddedChannels(inputChannels)]` bytes.
    ///   - output: packed bytes, or float NCHW when ``outputFloat``.
    ///   - residual: packed like a packed output; required when ``residual`` is set.
    ///   - scratch: ``scratchBytes(batch:height:width:)`` bytes.
    ///   - useVNNI: false forces the scalar path (tests); true uses VNNI when the CPU has it.
    public func run(input inputPointer: UnsafePointer<UInt8>, batch: Int, height: Int, width: Int,
                    output outputPointer: UnsafeMutableRawPointer, residual residualPointer: UnsafePointer<UInt8>?,
                    scratch: UnsafeMutableRawPointer, useVNNI: Bool = true) {
        var p = parameters(batch: batch, height: height, width: width, residual: residualPointer)
        lc_qconv_run(&p, inputPointer, outputPointer, scratch, useVNNI ? 1 : 0)
    }
}

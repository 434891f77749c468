import CNN
import Foundation
import Testing

/// The int8 convolution kernel: the AVX-512 VNNI path and the scalar path give the same bytes,
/// and both agree with a double-precision reference of the QDQ arithmetic within one step.
@Suite("Int8 convolution kernel")
struct Int8KernelTests {
    struct Case: CustomStringConvertible {
        var shape: Conv2DShape
        var height: Int
        var width: Int
        var batch: Int
        var residual: Bool
        var outputFloat: Bool
        var relu: Bool
        var pool = false
        var description: String {
            "\(shape.inputChannels)->\(shape.outputChannels) \(shape.kernelHeight)x\(shape.kernelWidth)/\(shape.strideHeight) "
                + "@\(height)x\(width) batch \(batch) residual \(residual) float \(outputFloat) relu \(relu) pool \(pool)"
        }
    }

    static func conv(_ input: Int, _ output: Int, _ kernel: Int, stride: Int = 1, pad: Int, dilation: Int = 1) -> Conv2DShape {
        Conv2DShape(inputChannels: input, outputChannels: output, kernelHeight: kernel, kernelWidth: kernel,
                    strideHeight: stride, strideWidth: stride, dilationHeight: dilation, dilationWidth: dilation,
                    padTop: pad, padLeft: pad, padBottom: pad, padRight: pad)
    }

    static let cases: [Case] = [
        Case(shape: conv(13, 32, 3, pad: 1), height: 12, width: 10, batch: 2, residual: false, outputFloat: false, relu: false),
        Case(shape: conv(16, 64, 3, pad: 1), height: 8, width: 8, batch: 3, residual: true, outputFloat: false, relu: false),
        Case(shape: conv(13, 20, 7, stride: 2, pad: 3), height: 17, width: 15, batch: 2, residual: false, outputFloat: true, relu: true),
        Case(shape: conv(24, 48, 1, stride: 2, pad: 0), height: 9, width: 9, batch: 5, residual: false, outputFloat: false, relu: false),
        Case(shape: conv(8, 16, 3, pad: 2, dilation: 2), height: 7, width: 9, batch: 1, residual: true, outputFloat: true, relu: false),
        Case(shape: conv(64, 80, 3, pad: 1), height: 2, width: 2, batch: 70, residual: true, outputFloat: false, relu: false),
        Case(shape: conv(13, 32, 3, pad: 1), height: 9, width: 12, batch: 3, residual: false, outputFloat: false, relu: true, pool: true),
        Case(shape: conv(32, 72, 3, pad: 1), height: 6, width: 7, batch: 2, residual: false, outputFloat: true, relu: false, pool: true),
    ]

    @Test("VNNI and scalar paths give identical bytes and match the reference", arguments: cases)
    func pathsAgree(_ c: Case) throws {
        let s = c.shape
        var random = KernelTestRandom(seed: UInt64(s.inputChannels * 131 + s.outputChannels * 7 + s.kernelHeight))
        let weights = (0..<(s.outputChannels * s.inputChannels * s.kernelHeight * s.kernelWidth))
            .map { _ in Int8(truncatingIfNeeded: Int(random.next() % 255) - 127) }
        let weightScales = (0..<s.outputChannels).map { _ in Float(0.0005 + Double(random.next() % 1000) * 1e-6) }
        let bias = random.floats(s.outputChannels).map { $0 * 0.3 }
        let input = QuantizationParameters(scale: 0.03, zero: 37)
        let output = QuantizationParameters(scale: 0.02, zero: 120)
        let residualParameters = QuantizationParameters(scale: 0.025, zero: 100)
        let sum = QuantizationParameters(scale: 0.04, zero: 5)
        let kernel = Int8ConvolutionKernel(shape: s, weights: weights, weightScales: weightScales, bias: bias, input: input,
                                           output: output, relu: c.relu,
                                           residual: c.residual ? (residualParameters, sum, true) : nil, outputFloat: c.outputFloat,
                                           maxPool: c.pool)
        let inChannels = Int8ConvolutionKernel.paddedChannels(s.inputChannels)
        let outChannels = Int8ConvolutionKernel.paddedChannels(s.outputChannels)
        let (oh, ow) = kernel.outputSize(height: c.height, width: c.width)
        let (convHeight, convWidth) = s.outputSize(height: c.height, width: c.width)
        var packedInput = [UInt8](repeating: 0, count: c.batch * c.height * c.width * inChannels)
        for index in packedInput.indices {
            packedInput[index] = index % inChannels < s.inputChannels ? UInt8(random.next() % 256) : UInt8(input.zero)
        }
        let residualCount = c.batch * oh * ow * outChannels
        let residual = (0..<residualCount).map { _ in UInt8(random.next() % 256) }
        let outputBytes = c.outputFloat ? c.batch * s.outputChannels * oh * ow * 4 : c.batch * oh * ow * outChannels
        let scratchBytes = kernel.scratchBytes(batch: c.batch, height: c.height, width: c.width)
        func run(vnni: Bool) -> [UInt8] {
            var result = [UInt8](repeating: 0xA5, count: outputBytes)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
            defer { scratch.deallocate() }
            packedInput.withUnsafeBufferPointer { source in
                residual.withUnsafeBufferPointer { residualBuffer in
                    result.withUnsafeMutableBytes { target in
                        kernel.run(input: source.baseAddress!, batch: c.batch, height: c.height, width: c.width,
                                   output: target.baseAddress!, residual: c.residual ? residualBuffer.baseAddress! : nil,
                                   scratch: scratch, useVNNI: vnni)
                    }
                }
            }
            return result
        }
        let scalar = run(vnni: false)
        if cpuHasAVX512VNNI {
            #expect(run(vnni: true) == scalar, "VNNI and scalar outputs differ for \(c)")
        }
        // Reference: real-valued QDQ arithmetic in Double, then the same requantization.
        func quantize(_ value: Double, _ p: QuantizationParameters) -> Int {
            min(255, max(0, Int((value / Double(p.scale)).rounded(.toNearestOrEven)) + p.zero))
        }
        var worst = 0
        let window = c.pool ? 2 : 1
        for n in 0..<c.batch {
            for o in 0..<s.outputChannels {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var q = 0
                        var p = output
                        for cy in (y * window)..<(y * window + window) {
                        for cx in (x * window)..<(x * window + window) where cy < convHeight && cx < convWidth {
                        var total = 0
                        for ch in 0..<s.inputChannels {
                            for ky in 0..<s.kernelHeight {
                                for kx in 0..<s.kernelWidth {
                                    let iy = cy * s.strideHeight - s.padTop + ky * s.dilationHeight
                                    let ix = cx * s.strideWidth - s.padLeft + kx * s.dilationWidth
                                    let value = iy >= 0 && iy < c.height && ix >= 0 && ix < c.width
                                        ? Int(packedInput[((n * c.height + iy) * c.width + ix) * inChannels + ch]) : input.zero
                                    let w = Int(weights[((o * s.inputChannels + ch) * s.kernelHeight + ky) * s.kernelWidth + kx])
                                    total += w * (value - input.zero)
                                }
                            }
                        }
                        var real = Double(total) * Double(input.scale) * Double(weightScales[o]) + Double(bias[o])
                        if c.relu { real = max(real, 0) }
                        var value = quantize(real, output)
                        let pixel = (n * oh + y) * ow + x
                        if c.residual {
                            let r = Int(residual[pixel * outChannels + o])
                            let sumValue = Double(value - output.zero) * Double(output.scale)
                                + Double(r - residualParameters.zero) * Double(residualParameters.scale)
                            value = quantize(max(sumValue, 0), sum)
                            p = sum
                        }
                        q = cy == y * window && cx == x * window ? value : max(q, value)
                        }
                        }
                        let pixel = (n * oh + y) * ow + x
                        let got: Int
                        if c.outputFloat {
                            let offset = ((n * s.outputChannels + o) * oh * ow + y * ow + x) * 4
                            let bits = UInt32(scalar[offset]) | UInt32(scalar[offset + 1]) << 8
                                | UInt32(scalar[offset + 2]) << 16 | UInt32(scalar[offset + 3]) << 24
                            got = Int((Double(Float(bitPattern: bits)) / Double(p.scale)).rounded()) + p.zero
                        } else {
                            got = Int(scalar[pixel * outChannels + o])
                        }
                        worst = max(worst, abs(got - q))
                    }
                }
            }
        }
        #expect(worst <= 1, "\(c): an output is \(worst) steps from the reference")
    }

    @Test("the packed layout pads channels to a multiple of 4")
    func paddedChannels() {
        #expect(Int8ConvolutionKernel.paddedChannels(13) == 16)
        #expect(Int8ConvolutionKernel.paddedChannels(64) == 64)
        #expect(Int8ConvolutionKernel.paddedChannels(1) == 4)
    }
}

import Foundation
import CNN

/// Deterministic xorshift generator for test tensors.
struct KernelTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float {
        Float(next() >> 40) / Float(1 << 23) - 1
    }
    mutating func floats(_ count: Int) -> [Float] {
        (0..<count).map { _ in nextFloat() }
    }
}

/// Naive reference convolution in Double: NCHW input, OIHW weights.
func referenceConvolution(shape s: Conv2DShape, input: [Float], batch: Int, height: Int, width: Int,
                          weights: [Float], bias: [Float]?, residual: [Float]?,
                          activation: FusedActivation) -> [Float] {
    let (outputHeight, outputWidth) = s.outputSize(height: height, width: width)
    let inputPerGroup = s.inputChannels / s.groups
    let outputPerGroup = s.outputChannels / s.groups
    var output = [Float](repeating: 0, count: batch * s.outputChannels * outputHeight * outputWidth)
    for image in 0..<batch {
        for outputChannel in 0..<s.outputChannels {
            let group = outputChannel / outputPerGroup
            for outputRow in 0..<outputHeight {
                for outputColumn in 0..<outputWidth {
                    var sum = Double(bias?[outputChannel] ?? 0)
                    for channel in 0..<inputPerGroup {
                        let inputChannel = group * inputPerGroup + channel
                        for kernelRow in 0..<s.kernelHeight {
                            let row = outputRow * s.strideHeight - s.padTop + kernelRow * s.dilationHeight
                            guard row >= 0 && row < height else { continue }
                            for kernelColumn in 0..<s.kernelWidth {
                                let column = outputColumn * s.strideWidth - s.padLeft + kernelColumn * s.dilationWidth
                                guard column >= 0 && column < width else { continue }
                                let x = input[((image * s.inputChannels + inputChannel) * height + row) * width + column]
                                let w = weights[((outputChannel * inputPerGroup + channel) * s.kernelHeight + kernelRow)
                                                * s.kernelWidth + kernelColumn]
                                sum += Double(x) * Double(w)
                            }
                        }
                    }
                    let index = ((image * s.outputChannels + outputChannel) * outputHeight + outputRow) * outputWidth
                        + outputColumn
                    if let residual { sum += Double(residual[index]) }
                    output[index] = referenceActivation(activation, Float(sum))
                }
            }
        }
    }
    return output
}

/// The ONNX formula of each activation, written independently of the engine.
func referenceActivation(_ activation: FusedActivation, _ x: Float) -> Float {
    let v = Double(x)
    switch activation {
    case .identity: return x
    case .relu: return Float(max(0, v))
    case .leakyRelu(let alpha): return Float(v >= 0 ? v : Double(alpha) * v)
    case .clip(let low, let high): return Float(min(max(v, Double(low)), Double(high)))
    case .sigmoid: return Float(1 / (1 + exp(-v)))
    case .hardSigmoid(let alpha, let beta): return Float(max(0, min(1, Double(alpha) * v + Double(beta))))
    case .hardSwish: return Float(v * max(0, min(1, v / 6 + 0.5)))
    }
}

/// Largest |a - b| / (1 + |b|) over two equal-length arrays.
func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for index in a.indices {
        let error = abs(a[index] - b[index]) / (1 + abs(b[index]))
        if !(error <= worst) { worst = error.isNaN ? .infinity : error }
    }
    return worst
}

/// Runs `kernel` through its public API with freshly allocated output and scratch.
func runKernel(_ kernel: Conv2DKernel, input: [Float], batch: Int, height: Int, width: Int,
               residual: [Float]?) -> [Float] {
    let (outputHeight, outputWidth) = kernel.outputSize(height: height, width: width)
    var output = [Float](repeating: .nan, count: batch * kernel.shape.outputChannels * outputHeight * outputWidth)
    var scratch = [Float](repeating: .nan, count: max(1, kernel.scratchCount(height: height, width: width)))
    input.withUnsafeBufferPointer { inputBuffer in
        output.withUnsafeMutableBufferPointer { outputBuffer in
            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                if let residual {
                    residual.withUnsafeBufferPointer { residualBuffer in
                        kernel.run(input: inputBuffer.baseAddress!, batch: batch, height: height, width: width,
                                   output: outputBuffer.baseAddress!, residual: residualBuffer.baseAddress,
                                   scratch: scratchBuffer.baseAddress!)
                    }
                } else {
                    kernel.run(input: inputBuffer.baseAddress!, batch: batch, height: height, width: width,
                               output: outputBuffer.baseAddress!, residual: nil,
                               scratch: scratchBuffer.baseAddress!)
                }
            }
        }
    }
    return output
}

import CNN
import Dispatch
import Foundation

/// Benchmarks the convolution kernels alone on the convolution layers of the two reference
/// models (small CNN and ResNet-18, 13 input bands, 64 x 64 patches), single-threaded and split
/// over threads with `DispatchQueue.concurrentPerform` (each thread its own buffers).
enum KernelBenchmark {
    /// One convolution layer of a model at its input size.
    struct Layer {
        var name: String
        var shape: Conv2DShape
        var height: Int
        var width: Int
        var residual: Bool
    }

    static func conv(_ name: String, _ input: Int, _ output: Int, kernel: Int, stride: Int = 1, pad: Int,
                     size: Int, residual: Bool = false) -> Layer {
        Layer(name: name,
              shape: Conv2DShape(inputChannels: input, outputChannels: output, kernelHeight: kernel,
                                 kernelWidth: kernel, strideHeight: stride, strideWidth: stride,
                                 padTop: pad, padLeft: pad, padBottom: pad, padRight: pad),
              height: size, width: size, residual: residual)
    }

    static let smallCNN: [Layer] = [
        conv("conv1 13->32 3x3 @64", 13, 32, kernel: 3, pad: 1, size: 64),
        conv("conv2 32->64 3x3 @32", 32, 64, kernel: 3, pad: 1, size: 32),
        conv("conv3 64->128 3x3 @16", 64, 128, kernel: 3, pad: 1, size: 16),
    ]

    static let resNet18: [Layer] = {
        var layers = [conv("stem 13->64 7x7 s2 @64", 13, 64, kernel: 7, stride: 2, pad: 3, size: 64)]
        for index in 0..<4 {
            layers.append(conv("layer1 64->64 3x3 @16 #\(index)", 64, 64, kernel: 3, pad: 1, size: 16,
                               residual: index % 2 == 1))
        }
        var channels = 64
        var size = 16
        for stage in 2...4 {
            layers.append(conv("layer\(stage) \(channels)->\(channels * 2) 3x3 s2 @\(size)", channels, channels * 2,
                               kernel: 3, stride: 2, pad: 1, size: size))
            layers.append(conv("layer\(stage) downsample 1x1 s2 @\(size)", channels, channels * 2, kernel: 1,
                               stride: 2, pad: 0, size: size))
            channels *= 2
            size /= 2
            for index in 0..<3 {
                layers.append(conv("layer\(stage) \(channels)->\(channels) 3x3 @\(size) #\(index)", channels, channels,
                                   kernel: 3, pad: 1, size: size, residual: index % 2 == 0))
            }
        }
        return layers
    }()

    /// The int8 kernels (``Int8ConvolutionKernel``, packed u8 in and out, AVX-512 VNNI when the CPU
    /// has it) on the same layers: per-layer ms and GOP/s (multiply-adds count 2).
    static func runInt8(modelName: String, layers: [Layer], batch: Int, threads: Int, repeats: Int) {
        print("\(modelName) int8: batch \(batch), \(threads) thread(s), VNNI \(cpuHasAVX512VNNI)")
        var totalSeconds = 0.0
        var totalFlops = 0.0
        for layer in layers {
            var random = KernelBenchRandom()
            let s = layer.shape
            let weights = (0..<(s.outputChannels * s.inputChannels * s.kernelHeight * s.kernelWidth))
                .map { _ in Int8(truncatingIfNeeded: Int(random.next() % 255) - 127) }
            let parameters = QuantizationParameters(scale: 0.05, zero: 10)
            let kernel = Int8ConvolutionKernel(
                shape: s, weights: weights, weightScales: [Float](repeating: 0.001, count: s.outputChannels),
                bias: [Float](repeating: 0.01, count: s.outputChannels), input: parameters, output: parameters, relu: false,
                residual: layer.residual ? (parameters, parameters, true) : nil, outputFloat: false)
            let (outputHeight, outputWidth) = kernel.outputSize(height: layer.height, width: layer.width)
            let inputCount = Int8ConvolutionKernel.paddedChannels(s.inputChannels) * layer.height * layer.width
            let outputCount = Int8ConvolutionKernel.paddedChannels(s.outputChannels) * outputHeight * outputWidth
            let perThread = (batch + threads - 1) / threads
            let buffers = (0..<threads).map { _ in
                (input: UnsafeMutablePointer<UInt8>.allocate(capacity: perThread * inputCount),
                 output: UnsafeMutablePointer<UInt8>.allocate(capacity: perThread * outputCount),
                 residual: UnsafeMutablePointer<UInt8>.allocate(capacity: perThread * outputCount),
                 scratch: UnsafeMutableRawPointer.allocate(
                    byteCount: kernel.scratchBytes(batch: perThread, height: layer.height, width: layer.width), alignment: 64))
            }
            for buffer in buffers {
                for index in 0..<(perThread * inputCount) { buffer.input[index] = UInt8(index % 251) }
                buffer.residual.initialize(repeating: 20, count: perThread * outputCount)
            }
            let addresses = buffers.map { (Int(bitPattern: $0.input), Int(bitPattern: $0.output),
                                           Int(bitPattern: $0.residual), Int(bitPattern: $0.scratch)) }
            let best = bestSeconds(repeats: repeats, threads: threads) { thread in
                let count = min(perThread, batch - thread * perThread)
                guard count > 0, let input = UnsafePointer<UInt8>(bitPattern: addresses[thread].0),
                      let output = UnsafeMutableRawPointer(bitPattern: addresses[thread].1),
                      let residual = UnsafePointer<UInt8>(bitPattern: addresses[thread].2),
                      let scratch = UnsafeMutableRawPointer(bitPattern: addresses[thread].3) else { return }
                kernel.run(input: input, batch: count, height: layer.height, width: layer.width, output: output,
                           residual: layer.residual ? residual : nil, scratch: scratch)
            }
            for buffer in buffers {
                buffer.input.deallocate(); buffer.output.deallocate(); buffer.residual.deallocate(); buffer.scratch.deallocate()
            }
            let flops = Double(s.flops(height: layer.height, width: layer.width) * batch)
            totalSeconds += best
            totalFlops += flops
            print(String(format: "  %-36@ %8.3f ms %7.1f GOP/s", layer.name as NSString, best * 1e3, flops / best / 1e9))
        }
        print(String(format: "  %-36@ %8.3f ms %7.1f GOP/s  %8.0f patches/s (convolutions only)",
                     "total" as NSString, totalSeconds * 1e3, totalFlops / totalSeconds / 1e9, Double(batch) / totalSeconds))
    }

    /// Runs every layer of `layers` on `batch` images split over `threads` threads, `repeats`
    /// times, and prints per-layer and total figures.
    static func run(modelName: String, layers: [Layer], batch: Int, threads: Int, repeats: Int) {
        print("\(modelName): batch \(batch), \(threads) thread(s)")
        var totalSeconds = 0.0
        var totalFlops = 0.0
        for layer in layers {
            var random = KernelBenchRandom()
            let s = layer.shape
            let weights = (0..<(s.outputChannels * s.inputChannelsPerGroup * s.kernelHeight * s.kernelWidth))
                .map { _ in Float.random(in: -0.1...0.1, using: &random) }
            let kernel = Conv2DKernel(shape: s, weights: weights, bias: [Float](repeating: 0.01, count: s.outputChannels),
                                      activation: .relu)
            let (outputHeight, outputWidth) = kernel.outputSize(height: layer.height, width: layer.width)
            let inputCount = s.inputChannels * layer.height * layer.width
            let outputCount = s.outputChannels * outputHeight * outputWidth
            let perThread = (batch + threads - 1) / threads
            let buffers = (0..<threads).map { _ in
                (input: UnsafeMutablePointer<Float>.allocate(capacity: perThread * inputCount),
                 output: UnsafeMutablePointer<Float>.allocate(capacity: perThread * outputCount),
                 residual: UnsafeMutablePointer<Float>.allocate(capacity: perThread * outputCount),
                 scratch: UnsafeMutablePointer<Float>.allocate(capacity: kernel.scratchCount(height: layer.height,
                                                                                            width: layer.width)))
            }
            for buffer in buffers {
                for index in 0..<(perThread * inputCount) { buffer.input[index] = Float(index % 17) * 0.1 - 0.8 }
                buffer.residual.initialize(repeating: 0.5, count: perThread * outputCount)
            }
            let addresses = buffers.map { (Int(bitPattern: $0.input), Int(bitPattern: $0.output),
                                           Int(bitPattern: $0.residual), Int(bitPattern: $0.scratch)) }
            let best = bestSeconds(repeats: repeats, threads: threads) { thread in
                let count = min(perThread, batch - thread * perThread)
                guard count > 0, let input = UnsafePointer<Float>(bitPattern: addresses[thread].0),
                      let output = UnsafeMutablePointer<Float>(bitPattern: addresses[thread].1),
                      let residual = UnsafePointer<Float>(bitPattern: addresses[thread].2),
                      let scratch = UnsafeMutablePointer<Float>(bitPattern: addresses[thread].3) else { return }
                kernel.run(input: input, batch: count, height: layer.height, width: layer.width, output: output,
                           residual: layer.residual ? residual : nil, scratch: scratch)
            }
            for buffer in buffers {
                buffer.input.deallocate(); buffer.output.deallocate(); buffer.residual.deallocate()
                buffer.scratch.deallocate()
            }
            let flops = Double(s.flops(height: layer.height, width: layer.width) * batch)
            totalSeconds += best
            totalFlops += flops
            print(String(format: "  %-36@ %8.3f ms %7.1f GFLOP/s", layer.name as NSString, best * 1e3,
                         flops / best / 1e9))
        }
        print(String(format: "  %-36@ %8.3f ms %7.1f GFLOP/s  %8.0f patches/s (convolutions only)",
                     "total" as NSString, totalSeconds * 1e3, totalFlops / totalSeconds / 1e9,
                     Double(batch) / totalSeconds))
    }

    /// The best wall time in seconds of `repeats` runs of `body` on `threads` threads at once
    /// (`body` gets the thread index).
    static func bestSeconds(repeats: Int, threads: Int, _ body: @Sendable (Int) -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads, execute: body)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }
}

/// A cheap deterministic generator for benchmark weights.
struct KernelBenchRandom: RandomNumberGenerator {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

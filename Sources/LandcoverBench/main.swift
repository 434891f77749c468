// landcover-bench: measures the CNN engine's throughput.
//
//   landcover-bench model <file.onnx> [--batch 64] [--threads 1] [--repeats 10] [--size 64] [--precision fp32|int8]
//       Loads the model once, gives each thread its own session and a contiguous part of one
//       [batch, bands, size, size] batch (DispatchQueue.concurrentPerform), runs it `repeats`
//       times after one warm-up, and prints the median as `patches_per_second=<value>`. `--precision int8`
//       runs a QDQ model's convolutions on the int8 kernels.
//   landcover-bench kernels [--threads 1] [--batch 64] [--precision fp32|int8]
//       Times the convolution kernels alone on the convolution layers of the small CNN and
//       ResNet-18 (13 bands, 64 x 64) and prints GFLOP/s per layer (int8: the VNNI kernels on
//       packed u8 activations, GOP/s).
//   landcover-bench train [small|resnet] [--batch 64] [--repeats 10] [--size 64] [--threads N]
//       Training throughput (forward + backward) of the Training module's small CNN (with and
//       without BatchNormalization) and ResNet-18 at 1 and 2 workers (or only --threads N),
//       as a markdown table of patches/s.
//   landcover-bench gradients <small|small-bn|resnet> <folder> [--batch 64] [--size 64]
//       Writes the train command's seeded batch, one model's weights and its gradients on that
//       batch (2 workers) as .npy files for benchmarks/train.py's comparison with torch.
//
// benchmarks/engine.py runs it beside onnxruntime and prints the ratios; benchmarks/train.py runs
// train and gradients beside PyTorch.
import CNN
import Dispatch
import Foundation

/// Command-line options shared by the subcommands.
struct BenchOptions {
    var batch = 64
    var threads = 1
    var repeats = 10
    var size = 64
    var precision = InferencePrecision.fp32
    var positional: [String] = []

    init(arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() throws -> Int {
                guard let text = iterator.next(), let number = Int(text), number > 0 else {
                    throw BenchError.usage("\(argument) needs a positive integer")
                }
                return number
            }
            switch argument {
            case "--batch": batch = try value()
            case "--threads": threads = try value()
            case "--repeats": repeats = try value()
            case "--size": size = try value()
            case "--precision":
                guard let text = iterator.next(), let value = InferencePrecision(rawValue: text) else {
                    throw BenchError.usage("--precision needs one of \(InferencePrecision.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                precision = value
            default:
                if argument.hasPrefix("--") { throw BenchError.usage("unknown option \(argument)") }
                positional.append(argument)
            }
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    var description: String {
        switch self {
        case .usage(let message):
            return "landcover-bench: \(message)\nusage: landcover-bench model <file.onnx> [--batch N] [--threads N] "
                + "[--repeats N] [--size N] [--precision fp32|int8] | landcover-bench kernels [--threads N] [--batch N] "
                + "| landcover-bench train [small|resnet] [--batch N] [--repeats N] [--threads N] "
                + "| landcover-bench gradients <small|small-bn|resnet> <folder> [--batch N] [--size N]"
        }
    }
}

/// One session and one input part per thread. Each thread touches only its own slot; the
/// first error is recorded under a lock.
final class Workers: @unchecked Sendable {
    let sessions: [InferenceSession]
    let inputs: [Tensor]
    private let lock = NSLock()
    private var firstError: Error?

    init(sessions: [InferenceSession], inputs: [Tensor]) {
        self.sessions = sessions
        self.inputs = inputs
    }

    var failure: Error? {
        lock.lock(); defer { lock.unlock() }
        return firstError
    }

    func run(_ index: Int) {
        do { _ = try sessions[index].run(input: inputs[index]) } catch {
            lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
        }
    }
}

/// Median patches/s of `model` on a deterministic batch split over `threads` sessions.
func benchmarkModel(path: String, options: BenchOptions) throws {
    let model = try InferenceModel(contentsOf: URL(fileURLWithPath: path), precision: options.precision)
    guard let inputInfo = model.inputs.first else { throw BenchError.usage("\(path) has no input") }
    var bands = 13
    if let shape = inputInfo.shape, shape.count == 4, case .value(let channels) = shape[1], channels > 0 {
        bands = Int(channels)
    }
    let threads = max(1, min(options.threads, options.batch))
    // Contiguous parts, as InferenceModel.run(inputs:threads:) splits them.
    let parts = (0..<threads).map { index -> Range<Int> in
        let start = options.batch * index / threads
        return start..<(options.batch * (index + 1) / threads)
    }
    let plane = bands * options.size * options.size
    var inputs: [Tensor] = []  // one contiguous part per thread
    for part in parts {
        let scalars = (0..<(part.count * plane)).map { index in
            Float((index + part.lowerBound * plane) % 251) / 251 - 0.5
        }
        inputs.append(try Tensor(shape: [part.count, bands, options.size, options.size], scalars: scalars))
    }
    let workers = Workers(sessions: (0..<threads).map { _ in model.makeSession() }, inputs: inputs)
    func runOnce() {
        DispatchQueue.concurrentPerform(iterations: threads) { index in workers.run(index) }
    }
    runOnce()  // warm-up: plans and arenas
    if let failure = workers.failure { throw failure }
    var seconds: [Double] = []
    for _ in 0..<options.repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        runOnce()
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    if let failure = workers.failure { throw failure }
    seconds.sort()
    let median = seconds[seconds.count / 2]
    print(String(format: "patches_per_second=%.1f best=%.1f batch=%d threads=%d", Double(options.batch) / median,
                 Double(options.batch) / (seconds.first ?? median), options.batch, threads))
}

do {
    let arguments = CommandLine.arguments.dropFirst()
    guard let command = arguments.first else { throw BenchError.usage("no command") }
    let options = try BenchOptions(arguments: arguments.dropFirst())
    switch command {
    case "model":
        guard let path = options.positional.first else { throw BenchError.usage("model needs a file") }
        try benchmarkModel(path: path, options: options)
    case "kernels" where options.precision == .int8:
        KernelBenchmark.runInt8(modelName: "small CNN", layers: KernelBenchmark.smallCNN, batch: options.batch,
                                threads: options.threads, repeats: options.repeats)
        KernelBenchmark.runInt8(modelName: "ResNet-18", layers: KernelBenchmark.resNet18, batch: options.batch,
                                threads: options.threads, repeats: max(1, options.repeats / 2))
    case "kernels":
        KernelBenchmark.run(modelName: "small CNN", layers: KernelBenchmark.smallCNN, batch: options.batch,
                            threads: options.threads, repeats: options.repeats)
        KernelBenchmark.run(modelName: "ResNet-18", layers: KernelBenchmark.resNet18, batch: options.batch,
                            threads: options.threads, repeats: max(1, options.repeats / 2))
    case "train":
        let explicitThreads = arguments.contains("--threads")
        try TrainingBenchmark.run(options: options, workerCounts: explicitThreads ? [options.threads] : [1, 2])
    case "gradients":
        try GradientDump.run(options: options)
    default:
        throw BenchError.usage("unknown command \(command)")
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}

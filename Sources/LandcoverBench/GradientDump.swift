import CNN
import Foundation
import Training

/// `landcover-bench gradients <small|small-bn|resnet> <folder>`: one training step's gradients
/// for benchmarks/train.py, which copies the weights into its torch models and compares torch's
/// gradients with these. Writes, as .npy files, the seeded batch of ``TrainingBenchmark``
/// (`input.npy` `[batch, 13, size, size]`, `targets.npy` int64) and per parameter `p<index>.value.npy`
/// and `p<index>.grad.npy` (the gradient of the batch's mean cross-entropy, 2 workers), and
/// `parameters.txt` (one line per parameter: index, name, shape), `loss.txt` (mean loss).
enum GradientDump {
    static func run(options: BenchOptions) throws {
        guard options.positional.count == 2 else { throw BenchError.usage("gradients needs a model (small, small-bn, resnet) and a folder") }
        let model = options.positional[0], folder = URL(fileURLWithPath: options.positional[1])
        let batch = try TrainingBenchmark.batch(options: options)
        let network: Network
        switch model {
        case "small": network = try TrainingBenchmark.models[0].make()
        case "small-bn": network = try TrainingBenchmark.models[1].make()
        case "resnet": network = try TrainingBenchmark.models[2].make()
        default: throw BenchError.usage("unknown model \(model) (small, small-bn, resnet)")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let outcome = try network.accumulateGradients(for: batch, loss: CrossEntropyOptions(), workers: 2)
        try NumpyFile.write(.float32(batch.inputs), to: folder.appendingPathComponent("input.npy"))
        try NumpyFile.write(.int64(try Int64Tensor(shape: [batch.targets.count], values: batch.targets.map { Int64($0) })),
                            to: folder.appendingPathComponent("targets.npy"))
        var listing = ""
        for (index, parameter) in network.parameters.enumerated() {
            try NumpyFile.write(.float32(try Tensor(shape: parameter.shape, scalars: parameter.value)),
                                to: folder.appendingPathComponent("p\(index).value.npy"))
            try NumpyFile.write(.float32(try Tensor(shape: parameter.shape, scalars: parameter.gradient)),
                                to: folder.appendingPathComponent("p\(index).grad.npy"))
            listing += "\(index) \(parameter.name) \(parameter.shape.map(String.init).joined(separator: ","))\n"
        }
        try Data(listing.utf8).write(to: folder.appendingPathComponent("parameters.txt"), options: .atomic)
        try Data(String(format: "%.9g\n", outcome.lossSum / outcome.weightSum).utf8)
            .write(to: folder.appendingPathComponent("loss.txt"), options: .atomic)
    }
}

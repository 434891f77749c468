import CBLAS
import CNN
import Dispatch
import Training

/// `landcover-bench train`: training throughput (forward + loss + backward, no optimizer step)
/// of the trainable ``Network`` on a seeded batch of `[batch, 13, size, size]` patches, for the
/// small CNN and ResNet-18 (10 classes) at 1 and 2 workers. Prints a markdown table of the
/// median patches/s over `repeats` steps after one warm-up step.
enum TrainingBenchmark {
    static func run(options: BenchOptions, workerCounts: [Int]) throws {
        let bands = 13, classes = 10
        var generator = SeededGenerator(seed: 42)
        let count = options.batch * bands * options.size * options.size
        let inputs = try Tensor(shape: [options.batch, bands, options.size, options.size],
                                scalars: (0..<count).map { _ in generator.nextGaussian() })
        let targets = (0..<options.batch).map { _ in Int32(generator.next() % UInt64(classes)) }
        let batch = TrainingBatch(inputs: inputs, targets: targets)
        let models: [(String, () throws -> Network)] = [
            ("small CNN", { try ModelZoo.smallCNN(inputChannels: bands, classes: classes, seed: 1) }),
            ("small CNN + BN", { try ModelZoo.smallCNN(inputChannels: bands, classes: classes, batchNormalization: true, seed: 1) }),
            ("ResNet-18", { try ModelZoo.resnet18(inputChannels: bands, classes: classes, seed: 1) }),
        ]
        let filter = options.positional.first.map { $0.lowercased() }
        // Weight gradients run partly on OpenBLAS, whose speed depends on the kernels it picked.
        print("batch \(options.batch) x \(bands) x \(options.size) x \(options.size), micro-batches of \(Network.microBatchSize), "
              + "OpenBLAS core \(String(cString: openblas_get_corename())), median of \(options.repeats) steps, patches/s")
        print("")
        print("| model | " + workerCounts.map { "\($0) worker\($0 == 1 ? "" : "s")" }.joined(separator: " | ") + " |")
        print("|---|" + workerCounts.map { _ in "---|" }.joined())
        for (name, make) in models where filter.map({ name.lowercased().contains($0) }) ?? true {
            let network = try make()
            var cells = [String]()
            for workers in workerCounts {
                func step() throws -> Double {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try network.accumulateGradients(for: batch, loss: CrossEntropyOptions(), workers: workers)
                    for parameter in network.parameters { parameter.zeroGradient() }
                    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }
                _ = try step()  // warm-up
                var seconds = try (0..<options.repeats).map { _ in try step() }
                seconds.sort()
                let median = seconds[seconds.count / 2]
                cells.append(String(format: "%.0f", Double(options.batch) / median))
            }
            print("| \(name) | " + cells.joined(separator: " | ") + " |")
        }
    }
}

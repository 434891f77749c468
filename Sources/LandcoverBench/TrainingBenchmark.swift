import CBLAS
import CNN
import Dispatch
import Foundation
import Training

/// `landcover-bench train`: training throughput (forward + loss + backward, no optimizer step)
/// of the trainable ``Network`` on a seeded batch of `[batch, 13, size, size]` patches, for the
/// small CNN and ResNet-18 (10 classes) at 1 and 2 workers. Prints a markdown table of the
/// median patches/s over `repeats` steps after one warm-up step, and beside it patches per
/// CPU-second of the process (which a shared, busy machine does not distort: with perfect
/// scaling it is the same at 1 and 2 workers).
enum TrainingBenchmark {
    static let bands = 13, classes = 10

    /// The benchmark's models (seed 1), by the names the table prints.
    static let models: [(name: String, make: @Sendable () throws -> Network)] = [
        ("small CNN", { try ModelZoo.smallCNN(inputChannels: bands, classes: classes, seed: 1) }),
        ("small CNN + BN", { try ModelZoo.smallCNN(inputChannels: bands, classes: classes, batchNormalization: true, seed: 1) }),
        ("ResNet-18", { try ModelZoo.resnet18(inputChannels: bands, classes: classes, seed: 1) }),
    ]

    /// The seeded batch: `[batch, 13, size, size]` standard normal inputs and uniform targets.
    static func batch(options: BenchOptions) throws -> TrainingBatch {
        var generator = SeededGenerator(seed: 42)
        let count = options.batch * bands * options.size * options.size
        let inputs = try Tensor(shape: [options.batch, bands, options.size, options.size],
                                scalars: (0..<count).map { _ in generator.nextGaussian() })
        let targets = (0..<options.batch).map { _ in Int32(generator.next() % UInt64(classes)) }
        return TrainingBatch(inputs: inputs, targets: targets)
    }

    static func run(options: BenchOptions, workerCounts: [Int]) throws {
        let batch = try batch(options: options)
        // A model named exactly, else every model whose name contains the filter.
        let filter = options.positional.first.map { $0.lowercased() }
        let exact = models.contains { $0.name.lowercased() == filter }
        // Weight gradients run partly on OpenBLAS, whose speed depends on the kernels it picked.
        print("batch \(options.batch) x \(bands) x \(options.size) x \(options.size), micro-batches of \(Network.microBatchSize), "
              + "OpenBLAS core \(String(cString: openblas_get_corename())), median of \(options.repeats) steps, patches/s")
        print("")
        print("| model | " + workerCounts.map { "\($0) worker\($0 == 1 ? "" : "s")" }.joined(separator: " | ") + " | "
              + workerCounts.map { "per CPU-second, \($0) worker\($0 == 1 ? "" : "s")" }.joined(separator: " | ") + " |")
        print("|---|" + workerCounts.map { _ in "---|---|" }.joined())
        for (name, make) in models where filter.map({ exact ? name.lowercased() == $0 : name.lowercased().contains($0) }) ?? true {
            let network = try make()
            var cells = [String](), cpuCells = [String]()
            for workers in workerCounts {
                func step() throws -> (wall: Double, cpu: Double) {
                    let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
                    _ = try network.accumulateGradients(for: batch, loss: CrossEntropyOptions(), workers: workers)
                    for parameter in network.parameters { parameter.zeroGradient() }
                    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, processCPUSeconds() - cpuStart)
                }
                _ = try step()  // warm-up
                let steps = try (0..<options.repeats).map { _ in try step() }
                let wall = steps.map(\.wall).sorted(), cpu = steps.map(\.cpu).sorted()
                cells.append(String(format: "%.0f", Double(options.batch) / wall[wall.count / 2]))
                cpuCells.append(String(format: "%.0f", Double(options.batch) / cpu[cpu.count / 2]))
            }
            print("| \(name) | " + cells.joined(separator: " | ") + " | " + cpuCells.joined(separator: " | ") + " |")
        }
    }
}

/// CPU time (user + system) of the whole process so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

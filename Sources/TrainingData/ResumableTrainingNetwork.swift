import CNN
import Training

/// A ``Training/Network`` seen as a ``Training/ResumableNetwork``, so that the trainer state
/// carries its BatchNormalization running statistics and dropout stream and a resumed run
/// continues bit-identically.
///
/// Buffers are the network's `runningStatistics`; the random state is the dropout generator's
/// four words followed by the network's `trainingCalls` counter. The counter cannot be set from
/// outside the network, so a state whose counter differs from the network's is accepted only
/// when the network has no Dropout node (the counter then has no effect on training).
final class ResumableTrainingNetwork: ResumableNetwork {
    let network: Network

    init(_ network: Network) {
        self.network = network
    }

    var parameters: [Parameter] { network.parameters }

    func accumulateGradients(for batch: TrainingBatch, loss: CrossEntropyOptions, workers: Int) throws -> BatchOutcome {
        try network.accumulateGradients(for: batch, loss: loss, workers: workers)
    }

    func predict(_ inputs: Tensor, workers: Int) throws -> Tensor {
        try network.predict(inputs, workers: workers)
    }

    var trainingBuffers: [Parameter] { network.runningStatistics }

    var trainingRandomState: [UInt64] { network.dropoutGenerator.state + [network.trainingCalls] }

    /// True when the network has a Dropout node.
    var hasDropout: Bool {
        network.nodes.contains { if case .dropout = $0.operation { return true } else { return false } }
    }

    func restoreTrainingRandomState(_ words: [UInt64]) throws {
        guard words.count == 5, let generator = SeededGenerator(state: Array(words.prefix(4))) else {
            throw TrainingDataError.invalidOption(option: "trainer state", value: "\(words.count) random-state words",
                                                  reason: "expected 5 (dropout generator and call counter); the state was written by another network")
        }
        if words[4] != network.trainingCalls, hasDropout {
            throw TrainingDataError.invalidOption(option: "trainer state", value: "dropout call counter \(words[4])",
                                                  reason: "cannot be restored into this network (Network.trainingCalls is not settable); a model with Dropout cannot resume bit-identically, train it again without --resume")
        }
        network.dropoutGenerator = generator
    }
}

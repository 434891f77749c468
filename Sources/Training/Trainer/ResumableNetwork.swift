/// A network with training state outside ``TrainableNetwork/parameters``: tensors training
/// changes without an optimizer (BatchNormalization running statistics) and its own random
/// streams (dropout). The trainer saves and restores both in the ``TrainerState`` so that a
/// resumed run continues bit-identically, and restore-best early stopping puts the best epoch's
/// buffers back together with its parameters.
///
/// Networks without such state need not conform: the trainer then saves parameters only.
public protocol ResumableNetwork: TrainableNetwork {
    /// Non-trainable tensors that training updates, in a stable order (for example every
    /// `running_mean` and `running_var`).
    var trainingBuffers: [Parameter] { get }
    /// The network's own random state (dropout generators, call counters) as words.
    var trainingRandomState: [UInt64] { get }
    /// Restores words saved from ``trainingRandomState``.
    /// - Throws: when the words do not describe a valid state (the trainer reports the file).
    func restoreTrainingRandomState(_ words: [UInt64]) throws
}

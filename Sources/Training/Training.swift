import CNN

/// Training for landcover CNNs: backward passes, losses, optimizers and metrics on top of the
/// CNN engine's tensors and kernels. Inference never depends on this module.
public enum TrainingModule {}

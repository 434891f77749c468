/// The landcover CNN engine: NCHW Float32 tensors, Swift SIMD kernels, ONNX load/save and
/// inference. This module never imports GDAL; rasters reach it only through the Pipeline module.
public enum CNNEngine {
    /// Version of the engine's ONNX model contract (see README, "Model contract").
    public static let contractVersion = 1
}

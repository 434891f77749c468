/// The landcover CNN engine: NCHW Float32 tensors, Swift SIMD kernels, ONNX load/save and
/// inference. This module never imports GDAL; rasters reach it only through the Classification module (the one raster <-> tensor conversion).
///
/// ## Overview
/// - Load: ``InferenceModel`` reads a `.onnx` file (``ONNXModel`` is the decoded protobuf),
///   validates the ``ModelContract`` in its `landcover.*` metadata, folds constants and
///   BatchNormalization, fuses residual Adds and activations into the convolution kernels and
///   drops dead nodes. A loaded model is immutable and `Sendable`.
/// - Run: each worker thread owns an ``InferenceSession`` (arena and scratch memory, one static
///   memory plan per input shape). ``InferenceSession/run(input:)`` takes an NCHW batch
///   `[N, bands, H, W]`; ``InferenceModel/run(inputs:threads:)`` splits a batch across threads.
///   A sample's output bits do not depend on the batch size or the thread split.
/// - Save: build an ``ONNXModel`` (``ONNXGraph``, ``ONNXNode``, ``ONNXTensor``, contract entries
///   from ``ModelContract/metadataEntries``) and call ``ONNXModel/serializedData()``.
/// - Arrays: ``NumpyFile`` reads and writes `.npy` files.
/// - Errors: ``ONNXError`` (file, graph, operator, shape), ``ModelContractError`` (metadata keys),
///   ``NumpyError``, ``TensorError``; each names what failed and how to fix it.
public enum CNNEngine {
    /// Version of the engine's ONNX model contract (see README, "Model contract").
    public static let contractVersion = 1
}

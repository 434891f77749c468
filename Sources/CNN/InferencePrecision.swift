/// The arithmetic an ``InferenceModel`` runs its convolutions in (the pipeline's
/// `runtime.precision`).
///
/// - `fp32`: float32 everywhere. A QDQ model (QuantizeLinear/DequantizeLinear pairs, as written
///   by onnxruntime's `quantize_static` or `landcover model quantize`) runs with the reference
///   ONNX semantics: quantize, dequantize and float convolutions.
/// - `int8`: a QDQ model's DequantizeLinear -> Conv -> QuantizeLinear chains run on the int8
///   kernels (AVX-512 VNNI where the CPU has it, else a scalar path with the same results), with
///   activations kept as packed u8 between fused layers; the rest of the graph runs in float32.
///   Needs a quantized model.
public enum InferencePrecision: String, Sendable, CaseIterable, Hashable {
    case fp32
    case int8
}

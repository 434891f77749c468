import Foundation

/// The sample model quantized by onnxruntime (`quantize_static`, QDQ, per-channel int8 weights,
/// calibrated on the sample Sentinel-2 crop) with its reference outputs, written by
/// scripts/onnx_fixtures/quantize_sample.py into Tests/Fixtures/generated/int8-sample (not
/// committed: generated once per clone, about 30 s, and reused).
public enum QuantizedSample {
    /// The fixture folder: `model_qdq.onnx` (the landcover contract kept), `patches.npy`,
    /// `ort_fp32.npy`, `ort_int8.npy`, `summary.json`.
    public static let directory = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/generated/int8-sample")

    /// The quantized model.
    public static var model: URL { directory.appendingPathComponent("model_qdq.onnx") }

    /// Why the fixtures could not be made, with the generator's output.
    public struct FixtureError: Error, CustomStringConvertible {
        public let description: String
    }

    private static let lock = NSLock()

    /// Generates the fixtures unless they exist (one generator at a time) and returns the folder.
    @discardableResult
    public static func ensure() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        let summary = directory.appendingPathComponent("summary.json")
        if FileManager.default.fileExists(atPath: summary.path) { return directory }
        let result = try CommandLineTool.outcome("python3", ["scripts/onnx_fixtures/quantize_sample.py", "--out", directory.path],
                                                 directory: TestPaths.packageRoot)
        guard result.status == 0, FileManager.default.fileExists(atPath: summary.path) else {
            throw FixtureError(description: "quantize_sample.py failed (status \(result.status)): \((result.stdout + result.stderr).suffix(2000))")
        }
        return directory
    }
}

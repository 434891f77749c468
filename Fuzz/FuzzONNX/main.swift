// libFuzzer target: the ONNX protobuf reader, graph compilation and planning.
// Built only by scripts/fuzz.sh (LANDCOVER_FUZZ=1, -sanitize=fuzzer,address); see scripts/README.md.
import CNN
import Foundation

/// Decodes the input as an ONNX ModelProto, compiles it (constant folding, fusion), plans it
/// for its declared input shapes (``InferenceModel/summary()``, FLOPs) and, when that plan is
/// cheap, runs it once on zeros with a 64 MiB working-memory limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let proto = try? ONNXModel(bytes: bytes), let model = try? InferenceModel(model: proto) else { return 0 }
    let summary = model.summary()
    _ = try? model.requireContract()
    guard let flops = summary.flopsPerSample, flops <= 50_000_000, let shapes = summary.flopsInputShape else { return 0 }
    var inputs = [String: AnyTensor]()
    for (name, shape) in shapes {
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard dim >= 0, !overflow, product <= 1 << 20 else { return 0 }
            count = product
        }
        guard let tensor = try? Tensor(shape: shape, scalars: [Float](repeating: 0, count: count)) else { return 0 }
        inputs[name] = .float32(tensor)
    }
    _ = try? model.run(values: inputs, threads: 1, memoryLimit: 64 << 20)
    return 0
}

/// The executable's entry point: SwiftPM links executables with `main` defined as
/// `FuzzONNX_main`, so libFuzzer's own `main` is not used and its driver is called here.
@_cdecl("FuzzONNX_main")
public func FuzzONNXMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzONNX(data, size)
    }
}

/// libFuzzer's driver (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*)(const uint8_t *, size_t))`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

// libFuzzer target: the pipeline-file YAML and schema layer.
// Built only by scripts/fuzz.sh (LANDCOVER_FUZZ=1, -sanitize=fuzzer,address); see scripts/README.md.
import Foundation
import Config

/// Parses the input as a pipeline file (YAML, strict keys, types and bounds of every key) and,
/// when it parses, describes it (`description` of the result touches every value).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipelineYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let file = try PipelineFile.parse(text, baseFolder: "/nonexistent/fuzz", source: "fuzz.yaml")
        _ = String(describing: file)
        _ = file.resolve(file.model)
    } catch {
        _ = String(describing: error)
    }
    return 0
}

/// The executable's entry point: SwiftPM links executables with `main` defined as
/// `FuzzPipelineYAML_main`, so libFuzzer's own `main` is not used and its driver is called here.
@_cdecl("FuzzPipelineYAML_main")
public func FuzzPipelineYAMLMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzPipelineYAML(data, size)
    }
}

/// libFuzzer's driver (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*)(const uint8_t *, size_t))`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

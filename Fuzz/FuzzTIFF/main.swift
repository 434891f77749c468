// libFuzzer target: GeoTIFF headers, the TIFF directory check and the direct tile reader.
// Built only by scripts/fuzz.sh (LANDCOVER_FUZZ=1, -sanitize=fuzzer,address); see scripts/README.md.
import Foundation
import RasterIO

/// Where each input is written: GDAL opens files, not memory, on the direct-tile path.
private let inputPath: String = {
    let folder = ProcessInfo.processInfo.environment["LANDCOVER_FUZZ_TMP"] ?? NSTemporaryDirectory()
    return (folder as NSString).appendingPathComponent("landcover-fuzz-\(getpid()).tif")
}()

/// Opens the input as a raster (GDAL, then landcover's check of the strip and tile tables) and
/// reads two windows of up to 64 x 64 pixels of up to 16 bands, as Float32 and as UInt16
/// samples (the direct tile reader decodes plain tiled GeoTIFFs; the rest goes through GDAL):
/// one at the origin and one straddling the bottom-right edge (boundless).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTIFF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: inputPath, contents: Data(bytes: data, count: size)) else { return 0 }
    defer { unlink(inputPath) }
    guard let dataset = try? RasterDataset(path: inputPath), dataset.width > 0, dataset.height > 0, !dataset.bands.isEmpty else {
        return 0
    }
    let width = min(dataset.width, 64), height = min(dataset.height, 64)
    let bands = Array(1...min(dataset.bands.count, 16))
    let windows = [RasterWindow(column: 0, row: 0, width: width, height: height),
                   RasterWindow(column: dataset.width - width / 2, row: dataset.height - height / 2, width: width, height: height)]
    let values = UnsafeMutablePointer<Float>.allocate(capacity: width * height * bands.count)
    let samples = UnsafeMutablePointer<UInt16>.allocate(capacity: width * height * bands.count)
    let validity = UnsafeMutablePointer<UInt8>.allocate(capacity: width * height)
    defer { values.deallocate(); samples.deallocate(); validity.deallocate() }
    for window in windows {
        try? dataset.read(window: window, bands: bands, values: values, validity: validity)
        if dataset.canReadSamples(bands: bands) {
            try? dataset.read(window: window, bands: bands, samples: samples, validity: validity)
        }
    }
    return 0
}

/// The executable's entry point: SwiftPM links executables with `main` defined as
/// `FuzzTIFF_main`, so libFuzzer's own `main` is not used and its driver is called here.
@_cdecl("FuzzTIFF_main")
public func FuzzTIFFMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzTIFF(data, size)
    }
}

/// libFuzzer's driver (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*)(const uint8_t *, size_t))`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

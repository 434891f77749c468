// swift-tools-version: 6.1
//
// landcover: Sentinel-2 scenes -> georeferenced land-cover maps with a CNN.
//
// Module graph (arrows: "depends on"); keep it one-way:
//
//   LandcoverCLI -> Pipeline -> RasterIO -> CGDAL, CDeflate
//        |             |
//        |             +------> CNN
//        +-> Training -> CNN, CBLAS
//
//   TrainingData -> Pipeline, RasterIO, Training, CNN, Yams   (training files, samples from scenes + labels or class
//                   folders, training runs, evaluation; LandcoverCLI's train and evaluate use it)
//   SceneSynthesis -> RasterIO   (deterministic synthetic Sentinel-2 scenes with labels; LandcoverCLI uses it)
//
// RasterIO is the only module that imports CGDAL; CNN never sees GDAL; inference never
// depends on Training. Set LANDCOVER_PORTABLE=1 when building to get a binary that runs on
// any x86-64 CPU instead of one tuned for the build machine.
import PackageDescription
import Foundation

let portable = ProcessInfo.processInfo.environment["LANDCOVER_PORTABLE"].map { !$0.isEmpty && $0 != "0" } ?? false
/// Performance-critical Swift SIMD code is compiled for the host CPU (AVX-512 on the build
/// machines). Without it the Swift compiler emits SSE2 and the kernels run ~100x slower.
let hostCPU: [SwiftSetting] = portable ? [] : [.unsafeFlags(["-target-cpu", "native"])]

let package = Package(
    name: "landcover",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "landcover", targets: ["LandcoverCLI"]),
        .library(name: "RasterIO", targets: ["RasterIO"]),
        .library(name: "CNN", targets: ["CNN"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The run history (SQLite, through the system's libsqlite3; Pipeline only).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(name: "CGDAL", pkgConfig: "gdal", providers: [.apt(["libgdal-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // glibc's malloc.h (mallopt), for the CLI's allocator settings.
        .systemLibrary(name: "CMalloc"),
        // libdeflate: RasterIO inflates DEFLATE GeoTIFF tiles with it directly (the library libtiff uses).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        .target(name: "RasterIO", dependencies: ["CGDAL", "CDeflate"]),
        // The engine's only C kernels: int8 convolutions on AVX-512 VNNI, with a scalar fallback chosen
        // at run time (Sources/CKernels/include/CKernels.h).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CNN", dependencies: ["CKernels"], swiftSettings: hostCPU),
        // OpenBLAS: Training's convolution weight gradients (single-threaded sgemm per worker).
        .target(name: "Training", dependencies: ["CNN", "CBLAS"], swiftSettings: hostCPU),
        .target(
            name: "Pipeline",
            dependencies: ["RasterIO", "CNN", .product(name: "Yams", package: "Yams"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: hostCPU),
        .target(name: "TrainingData", dependencies: ["RasterIO", "Pipeline", "CNN", "Training", .product(name: "Yams", package: "Yams")],
                swiftSettings: hostCPU),
        .target(name: "SceneSynthesis", dependencies: ["RasterIO"]),
        .executableTarget(
            name: "LandcoverCLI",
            dependencies: ["RasterIO", "CNN", "Training", "Pipeline", "TrainingData", "SceneSynthesis", "CMalloc",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]),

        // Engine benchmark: landcover's CNN engine on ONNX files, patches/s at 1 and 2 threads
        // (benchmarks/engine.py runs it beside onnxruntime and prints the ratios), and training
        // throughput of the Training module's networks (`landcover-bench train`).
        .executableTarget(name: "LandcoverBench", dependencies: ["CNN", "Training", "CBLAS"], swiftSettings: hostCPU),

        // Test helpers shared by the test targets (running gdalinfo, ogr2ogr, ...).
        .target(name: "TestTools", path: "Tests/TestTools"),
        .testTarget(name: "RasterIOTests", dependencies: ["RasterIO", "TestTools"]),
        .testTarget(name: "CNNTests", dependencies: ["CNN"], swiftSettings: hostCPU),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "CNN"], exclude: ["Fixtures"], swiftSettings: hostCPU),
        .testTarget(name: "TrainingDataTests", dependencies: ["TrainingData", "RasterIO", "Pipeline", "CNN", "Training", "TestTools"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "RasterIO", "CNN", "TestTools"]),
        .testTarget(name: "SceneSynthesisTests", dependencies: ["SceneSynthesis", "RasterIO"]),
        .testTarget(name: "LandcoverCLITests", dependencies: ["RasterIO", "CNN", "TestTools"]),
    ]
)

// Fuzz targets (libFuzzer), declared only when LANDCOVER_FUZZ=1: `scripts/fuzz.sh` builds them
// with `-sanitize=fuzzer,address` into `.build-fuzz` (see scripts/README.md). The normal build
// and test commands never see them.
if ProcessInfo.processInfo.environment["LANDCOVER_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(name: "FuzzTIFF", dependencies: ["RasterIO"], path: "Fuzz/FuzzTIFF"),
        .executableTarget(name: "FuzzONNX", dependencies: ["CNN"], path: "Fuzz/FuzzONNX", swiftSettings: hostCPU),
        .executableTarget(name: "FuzzPipelineYAML", dependencies: ["Pipeline"], path: "Fuzz/FuzzPipelineYAML"),
    ]
}

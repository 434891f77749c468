// swift-tools-version: 6.1
//
// landcover: Sentinel-2 scenes -> georeferenced land-cover maps with a CNN.
//
// Module graph (arrows: "may import"); keep it one-way. Tests/ArchitectureTests checks every
// source file's imports and these target declarations against the same table:
//
//   LandcoverCLI -> BatchRun -> Products -> Classification -> Config -> RasterIO -> CGDAL, CDeflate
//        |            |                          +---------------------> CNN
//        |            +-> GRDB, Crypto, Logging
//        +-> TrainingData -> Training -> CNN, CBLAS
//                 +-> Classification, Config, RasterIO
//   CNN -> CKernels   (the one C target: int8 VNNI convolution kernels Swift cannot reach)
//   SceneSynthesis -> RasterIO   (deterministic synthetic Sentinel-2 scenes; LandcoverCLI uses it)
//
// RasterIO is the only module that imports CGDAL; CNN and Training never see GDAL; inference
// (Classification, Products, BatchRun) never depends on Training. Set LANDCOVER_PORTABLE=1 when
// building to get a binary that runs on any x86-64 CPU instead of one tuned for the build machine.
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
        .library(name: "Config", targets: ["Config"]),
        .library(name: "Classification", targets: ["Classification"]),
        .library(name: "Products", targets: ["Products"]),
        .library(name: "BatchRun", targets: ["BatchRun"]),
        .library(name: "TrainingData", targets: ["TrainingData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The run history (SQLite, through the system's libsqlite3; BatchRun only).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // SHA-256 of inputs, models, settings and outputs (BatchRun only).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
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
        // Pipeline files: the strict YAML reader, the typed pipeline settings and their defaults.
        .target(name: "Config", dependencies: ["RasterIO", .product(name: "Yams", package: "Yams")]),
        // Scene plans, the raster <-> tensor conversion, the classification stages and map assembly.
        .target(name: "Classification", dependencies: ["Config", "RasterIO", "CNN"], swiftSettings: hostCPU),
        // What a classified scene becomes beside its map: preview, STAC item, model description.
        .target(name: "Products", dependencies: ["Classification", "Config", "RasterIO", "CNN"]),
        // Batches: the runner, run history (SQLite through GRDB), locks, shards, fingerprints, reports.
        .target(name: "BatchRun",
                dependencies: ["Products", "Classification", "Config", "RasterIO", "CNN",
                               .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
                               .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "TrainingData", dependencies: ["Config", "Classification", "RasterIO", "CNN", "Training", .product(name: "Yams", package: "Yams")],
                swiftSettings: hostCPU),
        .target(name: "SceneSynthesis", dependencies: ["RasterIO"]),
        .executableTarget(
            name: "LandcoverCLI",
            dependencies: ["RasterIO", "CNN", "Training", "Config", "Classification", "Products", "BatchRun", "TrainingData",
                           "SceneSynthesis", "CMalloc",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]),

        // Engine benchmark: landcover's CNN engine on ONNX files, patches/s at 1 and 2 threads
        // (benchmarks/engine.py runs it beside onnxruntime and prints the ratios), and training
        // throughput of the Training module's networks (`landcover-bench train`).
        .executableTarget(name: "LandcoverBench", dependencies: ["CNN", "Training", "CBLAS"], swiftSettings: hostCPU),

        // Test helpers shared by every test target: one temporary-folder helper, one package root,
        // one process runner (for landcover and for gdalinfo, ogrinfo, QGIS ...), scene and model fixtures.
        .target(name: "TestSupport", dependencies: ["RasterIO", "CNN"], path: "Tests/TestSupport"),
        .testTarget(name: "RasterIOTests", dependencies: ["RasterIO", "TestSupport"]),
        .testTarget(name: "CNNTests", dependencies: ["CNN", "TestSupport"], swiftSettings: hostCPU),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "CNN", "TestSupport"], exclude: ["Fixtures"], swiftSettings: hostCPU),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "RasterIO", "TestSupport"]),
        .testTarget(name: "ClassificationTests", dependencies: ["Classification", "Config", "RasterIO", "CNN", "TestSupport"]),
        .testTarget(name: "ProductsTests", dependencies: ["Products", "Classification", "Config", "RasterIO", "CNN", "TestSupport"]),
        .testTarget(name: "BatchRunTests", dependencies: ["BatchRun", "Products", "Classification", "Config", "RasterIO", "CNN", "TestSupport",
                                                         .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TrainingDataTests", dependencies: ["TrainingData", "Config", "RasterIO", "CNN", "Training", "TestSupport"]),
        .testTarget(name: "SceneSynthesisTests", dependencies: ["SceneSynthesis", "RasterIO", "TestSupport"]),
        .testTarget(name: "LandcoverCLITests", dependencies: ["RasterIO", "CNN", "TestSupport"]),
        // Checks the module rules above against every source file's imports.
        .testTarget(name: "ArchitectureTests", dependencies: ["TestSupport"]),
    ]
)

// Fuzz targets (libFuzzer), declared only when LANDCOVER_FUZZ=1: `scripts/fuzz.sh` builds them
// with `-sanitize=fuzzer,address` into `.build-fuzz` (see scripts/README.md). The normal build
// and test commands never see them.
if ProcessInfo.processInfo.environment["LANDCOVER_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(name: "FuzzTIFF", dependencies: ["RasterIO"], path: "Fuzz/FuzzTIFF"),
        .executableTarget(name: "FuzzONNX", dependencies: ["CNN"], path: "Fuzz/FuzzONNX", swiftSettings: hostCPU),
        .executableTarget(name: "FuzzPipelineYAML", dependencies: ["Config"], path: "Fuzz/FuzzPipelineYAML"),
    ]
}

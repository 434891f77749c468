import CNN
import BatchRun
import Classification
import Config
import Foundation
import Logging
import RasterIO
import TestSupport
import Testing

/// Runs pipelines end to end on generated scenes and checks coverage, nodata and determinism.
@Suite("landcover run: coverage, nodata, determinism")
struct SceneRunTests {
    static func run(folder: URL, scene: String, model: String, extra: String = "", threads: Int = 2,
                    output: String = "{folder: out, stac: false, preview: false}") throws -> RunReport {
        let yaml = """
        inputs: [\(scene)]
        model: \(model)
        output: \(output)
        runtime:
          threads: \(threads)
          batch_size: 8
        \(extra)
        """
        let path = try PipelineFixtures.writePipeline(in: folder, yaml)
        let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: path), pipelinePath: path)
        return try PipelineRunner(plan: plan, toolVersion: "test", logger: Logger(label: "test")).run()
    }

    /// Every valid pixel gets a class, every nodata pixel stays nodata, in each mode.
    @Test(arguments: [
        (1001, 777, "patch", 32), (1001, 777, "dense", 32), (40, 40, "patch", 64), (40, 40, "dense", 64),
        (301, 211, "segmentation", 32),
    ])
    func coversEveryValidPixel(width: Int, height: Int, mode: String, patch: Int) throws {
        let folder = try TestPaths.temporaryFolder("cover\(width)\(mode)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = folder.appendingPathComponent("scene.tif").path
        try PipelineFixtures.writeScene(scene, width: width, height: height)
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: patch, segmentation: mode == "segmentation")
        let stride = mode == "patch" ? "" : "\ntiling: {stride: \(patch / 2)}"
        let report = try Self.run(folder: folder, scene: "scene.tif", model: "model.onnx", extra: "mode: \(mode)" + stride)
        #expect(report.failed == 0, "\(report.scenes.first?.error ?? "")")
        let output = try #require(report.scenes.first?.output)
        let map = try PipelineFixtures.readBand(output)
        #expect(map.width == width && map.height == height)
        #expect(map.values.allSatisfy { (0..<4).contains($0) }, "every pixel classified")
        if width > 2 * patch { #expect(Set(map.values).count >= 2, "the map is not constant") }
        let info = try RasterDataset(path: output)
        #expect(info.geoTransform == GeoTransform(originX: 399_960, pixelWidth: 10, rowRotation: 0, originY: 5_300_040, columnRotation: 0, pixelHeight: -10))
        #expect(info.spatialReference?.epsg == 32633)
    }

    @Test func nodataBordersStayNodataAndValidPixelsAreClassified() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = folder.appendingPathComponent("scene.tif").path
        // A slanted swath edge (as on real tiles) plus a nodata block inside the scene.
        let isNodata: (Int, Int) -> Bool = { x, y in x + y / 2 < 150 || (x >= 300 && x < 340 && y >= 100 && y < 117) }
        try PipelineFixtures.writeScene(scene, width: 420, height: 333, isNodata: isNodata)
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 32)
        for mode in ["patch", "dense"] {
            let report = try Self.run(folder: folder, scene: "scene.tif", model: "model.onnx",
                                      extra: "mode: \(mode)", output: "{folder: out-\(mode), stac: false, preview: false}")
            let scene = try #require(report.scenes.first)
            #expect(scene.status == .done, "\(scene.error ?? "")")
            let map = try PipelineFixtures.readBand(try #require(scene.output))
            var wrong = 0
            for y in 0..<map.height {
                for x in 0..<map.width {
                    let value = map.values[y * map.width + x]
                    if isNodata(x, y) ? value != 255 : !(0..<4).contains(value) { wrong += 1 }
                }
            }
            #expect(wrong == 0, "\(mode): \(wrong) pixels wrong")
            let nodataCount = (0..<map.height).reduce(0) { sum, y in sum + (0..<map.width).filter { isNodata($0, y) }.count }
            #expect(scene.nodataPixels == nodataCount)
        }
    }

    @Test func oneAndTwoWorkersWriteIdenticalBytes() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try PipelineFixtures.writeScene(folder.appendingPathComponent("scene.tif").path, width: 333, height: 250)
        try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 32)
        try PipelineFixtures.writeModel(folder.appendingPathComponent("segmenter.onnx").path, patchSize: 32, segmentation: true)
        for (mode, model) in [("patch", "model.onnx"), ("dense", "model.onnx"), ("segmentation", "segmenter.onnx")] {
            let path = try PipelineFixtures.writePipeline(in: folder, """
            inputs: [scene.tif]
            model: \(model)
            mode: \(mode)
            tiling: {stride: 16}
            output: {folder: out-\(mode), stac: false, preview: false, probabilities: true}
            runtime: {batch_size: 8}
            """)
            let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: path), pipelinePath: path)
            var outputs: [[Data]] = []
            for workers in [1, 2] {
                let report = try PipelineRunner(plan: plan, toolVersion: "test", logger: Logger(label: "test"), workers: workers).run()
                let scene = try #require(report.scenes.first)
                let files = [try #require(scene.output), scene.output.map { ($0 as NSString).deletingPathExtension + "_probabilities.tif" } ?? ""]
                outputs.append(try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) })
            }
            #expect(outputs[0] == outputs[1], "\(mode): 1 and 2 workers differ")
        }
    }
}

/// Patch mode against a brute-force reference: every patch classified on its own, every valid
/// pixel given the class of the nearest patch covering it (accepted patches first, ties to the
/// earlier row, then column), with overlapping strides, shifted edges and nodata holes.
@Suite("patch mode: nearest patch")
struct PatchModeReferenceTests {
    @Test(arguments: [(150, 110, 32, 24), (97, 71, 32, 32), (200, 64, 16, 10)])
    func mapMatchesBruteForceNearestPatch(width: Int, height: Int, patch: Int, stride: Int) throws {
        let folder = try TestPaths.temporaryFolder("nearest\(width)x\(height)s\(stride)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenePath = folder.appendingPathComponent("scene.tif").path
        let isNodata: (Int, Int) -> Bool = { x, y in x + y < 40 || (x >= 60 && x < 80 && y >= 30 && y < 52) }
        try PipelineFixtures.writeScene(scenePath, width: width, height: height, isNodata: isNodata)
        let modelPath = folder.appendingPathComponent("model.onnx").path
        try PipelineFixtures.writeModel(modelPath, patchSize: patch)
        let minimum = 0.6
        let report = try SceneRunTests.run(folder: folder, scene: "scene.tif", model: "model.onnx",
                                           extra: "mode: patch\ntiling: {stride: \(stride)}\nnodata: {min_valid_fraction: \(minimum)}")
        let output = try #require(report.scenes.first?.output, "\(report.scenes.first?.error ?? "")")
        let map = try PipelineFixtures.readBand(output)

        // The reference: classify each patch alone.
        let model = try InferenceModel(contentsOf: URL(fileURLWithPath: modelPath))
        let contract = try #require(model.contract)
        let converter = PatchTensorConverter(contract: contract)
        let tiler = try Tiler(width: width, height: height, patchSize: patch, stride: stride)
        let rows = tiler.rowStarts, columns = tiler.columnStarts
        let reader = try SceneReader(scene: try Scene.assemble(inputs: [scenePath]))
        let session = model.makeSession()
        var classes = [[Int]](repeating: [Int](repeating: -1, count: columns.count), count: rows.count)
        var accepted = classes.map { $0.map { _ in false } }
        for (r, top) in rows.enumerated() {
            for (c, left) in columns.enumerated() {
                let window = RasterWindow(column: left, row: top, width: patch, height: patch)
                let buffer = try reader.read(window: window)
                var input = [Float](repeating: 0, count: converter.patchElementCount)
                let fraction = input.withUnsafeMutableBufferPointer { storage in
                    storage.baseAddress.map { converter.fill(batch: $0, index: 0, from: buffer, bufferOrigin: (left, top), patch: window) } ?? 0
                }
                guard fraction > 0 else { continue }
                let logits = try session.run(input: try Tensor(shape: [1, converter.scale.count, patch, patch], scalars: input)).scalars
                classes[r][c] = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) } ?? -1
                accepted[r][c] = fraction >= minimum
            }
        }
        var wrong = 0, fallbacks = 0
        for y in 0..<height {
            for x in 0..<width {
                var expected = 255
                if !isNodata(x, y) {
                    var best: (Int, Int, Int, Int)? = nil
                    for (r, top) in rows.enumerated() where top <= y && y < top + patch {
                        for (c, left) in columns.enumerated() where left <= x && x < left + patch && classes[r][c] >= 0 {
                            let dx = 2 * x + 1 - (2 * left + patch), dy = 2 * y + 1 - (2 * top + patch)
                            let key = (accepted[r][c] ? 0 : 1, dx * dx + dy * dy, r, c)
                            if best.map({ key < $0 }) ?? true { best = key }
                        }
                    }
                    if let best {
                        expected = classes[best.2][best.3]
                        if best.0 == 1 { fallbacks += 1 }
                    }
                }
                if map.values[y * width + x] != expected { wrong += 1 }
            }
        }
        #expect(wrong == 0, "\(wrong) pixels differ from the nearest-patch reference")
        if width == 150 { #expect(fallbacks > 0, "the fixture should exercise patches below the minimum") }
    }
}

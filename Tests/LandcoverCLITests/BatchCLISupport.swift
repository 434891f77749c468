import CNN
import Foundation
import RasterIO
import TestSupport

/// Small generated batches for end-to-end `landcover run` tests: 4-band UInt16 scenes named like
/// Sentinel-2 products, a patch-16 ONNX model with a landcover contract, and a pipeline file.
enum BatchFixture {
    static let bands = ["B02", "B03", "B04", "B08"]
    static let classNames = ["water", "forest", "cropland", "built-up"]

    /// Writes `count` scenes into `folder/scenes` (sizes vary a little; scene `i` is
    /// `S2X_T33UU<i>_202401<dd>.tif`) and returns their paths.
    @discardableResult
    static func writeScenes(in folder: URL, count: Int, size: Int = 48, first: Int = 0) throws -> [String] {
        let scenes = folder.appendingPathComponent("scenes")
        try FileManager.default.createDirectory(at: scenes, withIntermediateDirectories: true)
        return try (first..<first + count).map { index in
            let path = scenes.appendingPathComponent(String(format: "S2X_T33UU%d_202401%02d.tif", index, index % 28 + 1)).path
            try writeScene(path, width: size + 8 * (index % 3), height: size, seed: index)
            return path
        }
    }

    static func writeScene(_ path: String, width: Int, height: Int, seed: Int, compressed: Bool = true) throws {
        let grid = SceneGrid(width: width, height: height,
                             geoTransform: GeoTransform(originX: 399_960 + Double(seed) * 10_000, pixelWidth: 10, rowRotation: 0,
                                                        originY: 5_300_040, columnRotation: 0, pixelHeight: -10),
                             spatialReference: try SpatialReference("EPSG:32633"))
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: grid, bandCount: bands.count, dataType: .uint16,
                                                                         nodata: 0, bandDescriptions: bands,
                                                                         compression: compressed ? .deflate : .none))
        for b in bands.indices {
            var values = [UInt16](repeating: 0, count: width * height)
            for y in 0..<height {
                for x in 0..<width {
                    let u = sin(Double(x + seed * 7) / 9 + Double(b)) * cos(Double(y) / 7 - Double(b) * 0.5)
                    values[y * width + x] = UInt16(max(1, 1500 + 900 * u + Double((x * 7 + y * 13 + b + seed) % 11) * 10))
                }
            }
            try writer.write(band: b + 1, window: RasterWindow(width: width, height: height), values: values)
        }
        try writer.commit()
    }

    /// A patch classifier (3x3 conv, ReLU, global average pool, dense) with a landcover
    /// contract (unless `contract` is false); `variant` changes the weights (a different model
    /// file, different predictions); `batch` is the input's batch dimension (dynamic by default).
    static func writeModel(_ path: String, variant: UInt64 = 0, batch: ONNXValueInfo.Dimension = .parameter("N"),
                           contract withContract: Bool = true) throws {
        let k = classNames.count, c = bands.count, hidden = 6, patch = 16
        func weights(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
            var state = (seed &+ variant &* 977) &* 0x9E37_79B9_7F4A_7C15 | 1
            return (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        let w1 = ONNXTensor(name: "conv.weight", dimensions: [hidden, c, 3, 3], floats: weights(hidden * c * 9, seed: 1, scale: 0.2))
        let b1 = ONNXTensor(name: "conv.bias", dimensions: [hidden], floats: weights(hidden, seed: 2, scale: 0.1))
        let w2 = ONNXTensor(name: "fc.weight", dimensions: [k, hidden], floats: weights(k * hidden, seed: 3, scale: 2))
        let b2 = ONNXTensor(name: "fc.bias", dimensions: [k], floats: weights(k, seed: 4, scale: 0.2))
        let nodes = [
            ONNXNode(operatorType: "Conv", inputs: ["input", w1.name, b1.name], outputs: ["c"], name: "conv",
                     attributes: [ONNXAttribute(name: "kernel_shape", value: .ints([3, 3])),
                                  ONNXAttribute(name: "pads", value: .ints([1, 1, 1, 1]))]),
            ONNXNode(operatorType: "Relu", inputs: ["c"], outputs: ["r"]),
            ONNXNode(operatorType: "GlobalAveragePool", inputs: ["r"], outputs: ["g"]),
            ONNXNode(operatorType: "Flatten", inputs: ["g"], outputs: ["f"]),
            ONNXNode(operatorType: "Gemm", inputs: ["f", w2.name, b2.name], outputs: ["logits"],
                     attributes: [ONNXAttribute(name: "transB", value: .int(1))]),
        ]
        let graph = ONNXGraph(name: "batch-test", nodes: nodes, initializers: [w1, b1, w2, b2],
                              inputs: [ONNXValueInfo(name: "input", shape: [batch, .value(Int64(c)), .value(Int64(patch)), .value(Int64(patch))])],
                              outputs: [ONNXValueInfo(name: "logits", shape: [batch, .value(Int64(k))])])
        let contract = ModelContract(task: .patchClassification, bands: bands,
                                     normalization: .meanStd(mean: [Float](repeating: 1500, count: c), std: [Float](repeating: 700, count: c)),
                                     patchSize: patch, classNames: classNames,
                                     classColors: [.init(red: 0, green: 100, blue: 200), .init(red: 0, green: 100, blue: 0),
                                                   .init(red: 240, green: 150, blue: 255), .init(red: 250, green: 0, blue: 0)])
        try ONNXModel(graph: graph, metadataProps: withContract ? contract.metadataEntries : []).write(to: URL(fileURLWithPath: path))
    }

    /// Writes `folder/pipeline.yaml` over `scenes/*.tif` with `model.onnx` into `out`.
    @discardableResult
    static func writePipeline(in folder: URL, output: String = "{folder: out, probabilities: true}",
                              extra: String = "") throws -> String {
        let path = folder.appendingPathComponent("pipeline.yaml").path
        try """
        inputs: [scenes/*.tif]
        model: model.onnx
        output: \(output)
        runtime: {threads: 1, batch_size: 8}
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A batch folder with scenes, model and pipeline.
    static func make(_ label: String = #function, scenes: Int, size: Int = 48, output: String = "{folder: out, probabilities: true}",
                     extra: String = "") throws -> (folder: URL, pipeline: String) {
        let folder = try TestPaths.temporaryFolder(label)
        try writeScenes(in: folder, count: scenes, size: size)
        try writeModel(folder.appendingPathComponent("model.onnx").path)
        return (folder, try writePipeline(in: folder, output: output, extra: extra))
    }
}

/// Runs `landcover` for batch tests with the scheduler variables of the test's own environment
/// removed (a CI job running under Slurm or Kubernetes must not shard the tests' runs).
enum BatchCLI {
    static let schedulerVariables = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                                     "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "AWS_BATCH_JOB_ARRAY_INDEX", "LANDCOVER_SHARD_COUNT"]

    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in schedulerVariables { environment[name] = nil }
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// A started `landcover` process whose stdout and stderr go to files.
    final class Running {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String

        init(_ arguments: [String], environment extra: [String: String] = [:], logs: URL, tag: String) throws {
            stdoutPath = logs.appendingPathComponent("\(tag).out").path
            stderrPath = logs.appendingPathComponent("\(tag).err").path
            guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
                  FileManager.default.createFile(atPath: stderrPath, contents: nil) else {
                throw CLIFailure(message: "cannot create \(stdoutPath) and \(stderrPath)")
            }
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = arguments
            process.environment = BatchCLI.environment(extra)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        /// Waits for the exit and returns the status and output.
        func finish() -> CLI.Result {
            process.waitUntilExit()
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            return CLI.Result(status: process.terminationStatus, stdout: out, stderr: err)
        }
    }

    /// Runs to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:], logs: URL, tag: String = "run") throws -> CLI.Result {
        try Running(arguments, environment: environment, logs: logs, tag: tag).finish()
    }

    /// `landcover history ... --json` as a dictionary.
    static func history(_ arguments: [String], logs: URL) throws -> [String: Any] {
        let result = try run(["history"] + arguments + ["--json"], logs: logs, tag: "history")
        guard result.status == 0 else { throw CLIFailure(message: "history \(arguments) exited \(result.status): \(result.stderr)") }
        return try CLI.json(result.stdout)
    }

    /// Every scene attempt in the pipeline's history, oldest run first.
    static func sceneAttempts(pipeline: String, logs: URL) throws -> [[String: Any]] {
        let runs = (try history([pipeline, "--limit", "1000"], logs: logs)["runs"] as? [[String: Any]]) ?? []
        var attempts: [[String: Any]] = []
        for run in runs.reversed() {
            guard let id = run["id"] as? Int else { continue }
            attempts += (try history([pipeline, "--run", "\(id)"], logs: logs)["scenes"] as? [[String: Any]]) ?? []
        }
        return attempts
    }

    /// `key=value` lines of stderr with `event=scene`, as dictionaries (quotes removed).
    static func sceneLines(_ stderr: String) -> [[String: String]] {
        stderr.split(separator: "\n").compactMap { line -> [String: String]? in
            let fields = logfmt(String(line))
            return fields["event"] == "scene" ? fields : nil
        }
    }

    /// Parses one logfmt line.
    static func logfmt(_ line: String) -> [String: String] {
        var fields: [String: String] = [:]
        var index = line.startIndex
        while index < line.endIndex {
            while index < line.endIndex, line[index] == " " { index = line.index(after: index) }
            guard let equals = line[index...].firstIndex(of: "=") else { break }
            let key = String(line[index..<equals])
            var cursor = line.index(after: equals)
            var value = ""
            if cursor < line.endIndex, line[cursor] == "\"" {
                cursor = line.index(after: cursor)
                while cursor < line.endIndex, line[cursor] != "\"" {
                    if line[cursor] == "\\", line.index(after: cursor) < line.endIndex { cursor = line.index(after: cursor) }
                    value.append(line[cursor])
                    cursor = line.index(after: cursor)
                }
                if cursor < line.endIndex { cursor = line.index(after: cursor) }
            } else {
                while cursor < line.endIndex, line[cursor] != " " {
                    value.append(line[cursor])
                    cursor = line.index(after: cursor)
                }
            }
            fields[key] = value
            index = cursor
        }
        return fields
    }

    struct CLIFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

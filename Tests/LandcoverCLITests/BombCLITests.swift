import CNN
import Foundation
import RasterIO
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs `landcover` as a child process and measures its exit status and peak resident set size.
/// The peak comes from `/usr/bin/time -f %M` (its `wait4` of landcover, `ru_maxrss`): a child
/// spawned straight from the test process (posix_spawn shares the parent's memory until exec)
/// would inherit the test runner's high-water mark, which Linux keeps across exec. The child
/// is killed after 60 s (a hang fails the test).
enum MeasuredRun {
    struct Result {
        var status: Int32
        /// Terminating signal, nil when the process exited.
        var signal: Int32?
        var stdout: String
        var stderr: String
        /// Peak resident set size of the child, in KiB.
        var peakKiB: Int
        var hung: Bool

        /// Lines of standard error without the `key=value` log lines of `run`.
        var messageLines: [Substring] { stderr.split(separator: "\n").filter { !$0.hasPrefix("ts=") } }
    }

    static func run(_ arguments: [String], logs: URL) throws -> Result {
        let tag = UUID().uuidString.prefix(8)
        let outPath = logs.appendingPathComponent("measured-\(tag).out").path
        let errPath = logs.appendingPathComponent("measured-\(tag).err").path
        let peakPath = logs.appendingPathComponent("measured-\(tag).peak").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let time = "/usr/bin/time"
        let argv: [UnsafeMutablePointer<CChar>?] = ([time, "-f", "%M", "-o", peakPath, CLI.binary] + arguments).map { strdup($0) } + [nil]
        let environment = BatchCLI.environment([:]).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in environment { free(pointer) }
        }
        // Its own process group, so that a hang kills time and landcover together.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, time, &actions, &attributes, argv, environment)
        guard spawned == 0 else { throw BatchCLI.CLIFailure(message: "posix_spawn \(time) failed: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        let deadline = Date().addingTimeInterval(60)
        var hung = false
        while true {
            let waited = wait4(pid, &status, WNOHANG, &usage)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { throw BatchCLI.CLIFailure(message: "wait4 failed: \(String(cString: strerror(errno)))") }
            if Date() > deadline {
                hung = true
                kill(-pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                break
            }
            usleep(5_000)
        }
        let signal = status & 0x7F
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        // time writes "Command exited with non-zero status N" / "Command terminated by signal N"
        // before the figure when landcover fails: the peak is the last line.
        let peakLines = read(peakPath).split(separator: "\n")
        guard let peak = peakLines.last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw BatchCLI.CLIFailure(message: "no peak RSS from /usr/bin/time: \(read(peakPath)) \(read(errPath))")
        }
        let killed = peakLines.first { $0.hasPrefix("Command terminated by signal") }.flatMap { Int32($0.split(separator: " ").last ?? "") }
        let exited = signal == 0 ? (status >> 8) & 0xFF : -1
        return Result(status: killed == nil ? exited : -1, signal: killed ?? (signal == 0 ? nil : signal),
                      stdout: read(outPath), stderr: read(errPath), peakKiB: peak, hung: hung)
    }
}

/// Hostile files whose headers declare huge sizes: a few hundred bytes that claim gigabytes.
enum BombFixture {
    /// A little-endian, georeferenced (EPSG:32633), tiled UInt16 GeoTIFF of `side` x `side`
    /// pixels in 16 x 16 DEFLATE tiles whose tile tables claim one entry per tile (16.7 million
    /// for 65536) but are not in the file: about 300 bytes.
    static func tiffHeaderBomb(side: Int) -> Data {
        let tiles = UInt32((side / 16) * (side / 16))
        var tail = Data()
        // Out-of-line values after the directory: pixel scale (3 doubles), tie point (6 doubles),
        // GeoKey directory (16 shorts: projected, pixel-is-area, EPSG:32633).
        let entryCount = 15
        let tailOffset = UInt32(8 + 2 + entryCount * 12 + 4)
        func doubles(_ values: [Double]) -> Data {
            var data = Data()
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            return data
        }
        let scaleOffset = tailOffset
        tail.append(doubles([10, 10, 0]))
        let tiePointOffset = tailOffset + UInt32(tail.count)
        tail.append(doubles([0, 0, 0, 399_960, 5_300_040, 0]))
        let geoKeysOffset = tailOffset + UInt32(tail.count)
        for value: UInt16 in [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633] {
            withUnsafeBytes(of: value.littleEndian) { tail.append(contentsOf: $0) }
        }
        // (tag, type, count, value or offset); SHORT values sit in the low half of the field.
        let entries: [(UInt16, UInt16, UInt32, UInt32)] = [
            (256, 4, 1, UInt32(side)), (257, 4, 1, UInt32(side)), (258, 3, 1, 16), (259, 3, 1, 8), (262, 3, 1, 1),
            (277, 3, 1, 1), (284, 3, 1, 1), (322, 3, 1, 16), (323, 3, 1, 16),
            (324, 4, tiles, 8), (325, 4, tiles, 8), (339, 3, 1, 1),
            (33550, 12, 3, scaleOffset), (33922, 12, 6, tiePointOffset), (34735, 3, 16, geoKeysOffset),
        ]
        var data = Data([0x49, 0x49, 42, 0, 8, 0, 0, 0])
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        append(UInt16(entries.count))
        for (tag, type, count, value) in entries {
            append(tag); append(type); append(count); append(value)
        }
        append(UInt32(0))
        data.append(tail)
        return data
    }

    /// A patch-16, 4-band model with a landcover contract whose graph computes `bomb` (nodes
    /// from the input or from constants) beside a small classifier head.
    static func model(bomb nodes: [ONNXNode], initializers: [ONNXTensor] = [], feedsHead: String = "input") -> ONNXModel {
        let k = BatchFixture.classNames.count, c = BatchFixture.bands.count
        let w = ONNXTensor(name: "fc.weight", dimensions: [k, c], floats: (0..<(k * c)).map { Float($0 % 5) * 0.1 })
        let head = [
            ONNXNode(operatorType: "GlobalAveragePool", inputs: [feedsHead], outputs: ["g"]),
            ONNXNode(operatorType: "Flatten", inputs: ["g"], outputs: ["f"]),
            ONNXNode(operatorType: "Gemm", inputs: ["f", w.name], outputs: ["logits"],
                     attributes: [ONNXAttribute(name: "transB", value: .int(1))]),
        ]
        let graph = ONNXGraph(name: "bomb", nodes: nodes + head, initializers: initializers + [w],
                              inputs: [ONNXValueInfo(name: "input", shape: [.parameter("N"), .value(Int64(c)), .value(16), .value(16)])],
                              outputs: [ONNXValueInfo(name: "logits", shape: [.parameter("N"), .value(Int64(k))])])
        let contract = ModelContract(task: .patchClassification, bands: BatchFixture.bands,
                                     normalization: .meanStd(mean: [Float](repeating: 1500, count: c), std: [Float](repeating: 700, count: c)),
                                     patchSize: 16, classNames: BatchFixture.classNames,
                                     classColors: [.init(red: 0, green: 100, blue: 200), .init(red: 0, green: 100, blue: 0),
                                                   .init(red: 240, green: 150, blue: 255), .init(red: 250, green: 0, blue: 0)])
        return ONNXModel(graph: graph, metadataProps: contract.metadataEntries)
    }

    /// Named ONNX bombs, each a file of a few hundred bytes.
    static var onnxBombs: [(name: String, model: ONNXModel)] {
        let shape = { (name: String, dims: [Int64]) in ONNXTensor(name: name, dimensions: [dims.count], int64s: dims) }
        return [
            // ConstantOfShape [2^28]: 1 GiB of Float32 at load.
            ("constant-of-shape", model(bomb: [ONNXNode(operatorType: "ConstantOfShape", inputs: ["dims"], outputs: ["zeros"])],
                                        initializers: [shape("dims", [1 << 28])])),
            // Expand of a constant to 2^28 elements at load (Int64: 2 GiB).
            ("expand-constant", model(bomb: [ONNXNode(operatorType: "Expand", inputs: ["one", "dims"], outputs: ["many"])],
                                      initializers: [shape("one", [1]), shape("dims", [1 << 28])])),
            // Expand of the input to [2^19, 4, 16, 16] (2 GiB) at run time: the plan's arena.
            ("expand-input", model(bomb: [ONNXNode(operatorType: "Expand", inputs: ["input", "dims"], outputs: ["wide"])],
                                   initializers: [shape("dims", [1 << 19, 4, 16, 16])], feedsHead: "wide")),
            // Pad of the input by 2^13 rows and columns at run time (4 GiB).
            ("pad-input", model(bomb: [ONNXNode(operatorType: "Pad", inputs: ["input", "pads"], outputs: ["padded"])],
                                initializers: [shape("pads", [0, 0, 1 << 14, 1 << 14, 0, 0, 0, 0])], feedsHead: "padded")),
            // An initializer whose dims claim 2^28 floats over 4 bytes of data.
            ("initializer-dims", model(bomb: [ONNXNode(operatorType: "Identity", inputs: ["big"], outputs: ["bigger"])],
                                       initializers: [ONNXTensor(name: "big", dimensions: [1 << 28], floats: [1])])),
        ]
    }
}

@Suite("Header and model bombs") struct BombCLITests {
    static let peakLimitKiB = 300 * 1024

    /// A 4-band scene, the normal test model and a pipeline over `inputs` with `memory_mb: 64`.
    private func batch(_ folder: URL, inputs: String, model: String = "model.onnx") throws -> String {
        try BatchFixture.writeScene(folder.appendingPathComponent("scene.tif").path, width: 48, height: 48, seed: 1)
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path)
        let pipeline = folder.appendingPathComponent("pipeline-\(UUID().uuidString.prefix(6)).yaml").path
        try """
        inputs: \(inputs)
        model: \(model)
        output: {folder: out, preview: false, stac: false}
        runtime: {threads: 1, batch_size: 8, memory_mb: 64}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        return pipeline
    }

    private func expectClean(_ result: MeasuredRun.Result, status: Int32, mentions: [String], _ what: String) {
        #expect(!result.hung, "\(what): hung")
        #expect(result.signal == nil, "\(what): killed by signal \(result.signal ?? 0)")
        #expect(result.status == status, "\(what): exit \(result.status), stderr: \(result.stderr)")
        #expect(result.messageLines.count == 1, "\(what): \(result.stderr)")
        let line = result.messageLines.first.map(String.init) ?? ""
        #expect(line.hasPrefix("landcover: "), "\(what): \(line)")
        for word in mentions { #expect(line.contains(word), "\(what): '\(word)' not in \(line)") }
        #expect(!line.contains("Error("), "\(what): Swift type name in \(line)")
        #expect(result.peakKiB < Self.peakLimitKiB, "\(what): peak RSS \(result.peakKiB / 1024) MiB")
    }

    @Test("a 300-byte GeoTIFF claiming 65536² or 131072² pixels: info, validate and run refuse it in a few MiB",
          arguments: [65536, 131072])
    func tiffHeaderBomb(side: Int) throws {
        let folder = try TestPaths.temporaryFolder("tiffbomb\(side)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let bomb = folder.appendingPathComponent("bomb.tif")
        let bytes = BombFixture.tiffHeaderBomb(side: side)
        #expect(bytes.count < 350)
        try bytes.write(to: bomb)
        // GDAL itself opens it and believes the header: that is what makes it a bomb.
        let gdal = try CommandLineTool.run("gdalinfo", [bomb.path])
        #expect(gdal.contains("Size is \(side), \(side)"), "\(gdal)")

        let info = try MeasuredRun.run(["info", bomb.path], logs: folder)
        expectClean(info, status: 2, mentions: ["bomb.tif", "tile offsets", "\(bytes.count) bytes"], "info")
        let json = try MeasuredRun.run(["info", bomb.path, "--json"], logs: folder)
        expectClean(json, status: 2, mentions: ["bomb.tif"], "info --json")

        let pipeline = try batch(folder, inputs: "[bomb.tif]")
        let validate = try MeasuredRun.run(["validate", pipeline], logs: folder)
        #expect(validate.status == 2, "\(validate.stdout) \(validate.stderr)")
        #expect((validate.stdout + validate.stderr).contains("tile offsets"), "\(validate.stdout) \(validate.stderr)")
        #expect(validate.peakKiB < Self.peakLimitKiB, "validate: peak RSS \(validate.peakKiB / 1024) MiB")
        #expect(validate.signal == nil && !validate.hung)

        // `run` reports the scene failed (exit 1: the other scenes of a batch still run) in one
        // error line naming the file, and writes nothing under a final name.
        let run = try MeasuredRun.run(["run", pipeline], logs: folder)
        #expect(run.signal == nil && !run.hung, "\(run.stderr)")
        #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.contains("level=error") }
        #expect(errors.count == 1 && errors.first?.contains("tile offsets") == true, "\(run.stderr)")
        #expect(run.peakKiB < Self.peakLimitKiB, "run: peak RSS \(run.peakKiB / 1024) MiB")
        let written = (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out").path)) ?? []
        #expect(!written.contains { $0.hasSuffix(".tif") }, "\(written)")
    }

    @Test("a plain tiled GeoTIFF still opens and reads after the table check (16x16 tiles, DEFLATE, predictor 2)")
    func realTiledFileStillReads() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let tiled = folder.appendingPathComponent("tiled.tif").path
        try CommandLineTool.run("gdal_translate", ["-q", "-co", "TILED=YES", "-co", "BLOCKXSIZE=16", "-co", "BLOCKYSIZE=16",
                                                         "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2", "-co", "INTERLEAVE=BAND",
                                                         TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/eurosat_ms/Highway/Highway_8.tif").path, tiled])
        let result = try MeasuredRun.run(["info", tiled, "--band-order", "eurosat"], logs: folder)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("16x16") || result.stdout.contains("16 x 16"), "\(result.stdout)")
    }

    @Test("ONNX bombs: model info, model predict and run refuse them in one line, under 300 MiB",
          arguments: BombFixture.onnxBombs.map(\.name))
    func onnxBomb(name: String) throws {
        let folder = try TestPaths.temporaryFolder("onnxbomb\(name)")
        defer { try? FileManager.default.removeItem(at: folder) }
        guard let bomb = BombFixture.onnxBombs.first(where: { $0.name == name })?.model else { throw BatchCLI.CLIFailure(message: "no bomb \(name)") }
        let path = folder.appendingPathComponent("\(name).onnx")
        try bomb.write(to: path)
        let size = try FileManager.default.attributesOfItem(atPath: path.path)[.size] as? Int ?? 0
        #expect(size < 1024, "\(name): \(size) bytes")
        let runtimeOnly = name.hasSuffix("-input")

        let info = try MeasuredRun.run(["model", "info", path.path], logs: folder)
        if runtimeOnly {
            // Nothing is allocated from the shapes at load: info reports the model; its FLOPs are
            // unknown because planning one patch is refused.
            #expect(info.status == 0, "\(info.stderr)")
            #expect(info.stdout.contains("FLOPs per patch: unknown (one sample cannot be planned"), "\(info.stdout)")
            #expect(info.peakKiB < Self.peakLimitKiB, "info: peak RSS \(info.peakKiB / 1024) MiB")
        } else {
            expectClean(info, status: 2, mentions: [], "\(name): model info")
        }

        let input = folder.appendingPathComponent("input.npy")
        try NumpyFile.write(.float32(try Tensor(shape: [1, 4, 16, 16], scalars: [Float](repeating: 0.5, count: 1024))), to: input)
        let predict = try MeasuredRun.run(["model", "predict", path.path, "--input", input.path,
                                           "--output-dir", folder.appendingPathComponent("predicted").path], logs: folder)
        expectClean(predict, status: 2, mentions: runtimeOnly ? ["too large"] : [], "\(name): model predict")

        let pipeline = try batch(folder, inputs: "[scene.tif]", model: "\(name).onnx")
        let run = try MeasuredRun.run(["run", pipeline], logs: folder)
        expectClean(run, status: 2, mentions: ["\(name).onnx"], "\(name): run")
        let validate = try MeasuredRun.run(["validate", pipeline], logs: folder)
        expectClean(validate, status: 2, mentions: ["\(name).onnx"], "\(name): validate")
    }
}

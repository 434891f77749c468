import CNN
import Foundation
import TestSupport
import Testing

/// Hostile pipeline files, inputs and output folders (issue 13, items 3, 4, 7, 8, 9 and 11),
/// driven through the `landcover` binary: each case exits with its documented code (2 for input
/// problems, found before any scene starts) and one line `landcover: <file>: <problem>; <fix>`,
/// never crashes or hangs (60 s bound), leaves no temporary file, writes nothing outside the
/// output folder and modifies no input.
@Suite("landcover: hostile pipeline files and inputs", .serialized)
struct HostilePipelineTests {
    /// One hostile case: the pipeline file's text, what to prepare, the commands to run (`$P` is
    /// the pipeline file, `$F` the case folder) with the exit code each must give, and words the
    /// error line must contain.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var pipeline: String
        var commands: [([String], Int32)]
        var words: [String]
        var prepare: @Sendable (URL) throws -> Void = { _ in }

        var testDescription: String { name }
    }

    static let scene0 = "scenes/S2X_T33UU0_20240101.tif"
    static let runAndValidate: [([String], Int32)] = [(["validate", "$P"], 2), (["run", "$P"], 2)]

    /// A pipeline over the two fixture scenes; `lines` replace the default keys they name.
    static func pipeline(_ lines: String...) -> String {
        let defaults = ["inputs: [scenes/*.tif]", "model: model.onnx", "output: {folder: out}", "runtime: {threads: 1, batch_size: 8}"]
        let keys = Set(lines.map { String($0.prefix { $0 != ":" }) })
        return (defaults.filter { !keys.contains(String($0.prefix { $0 != ":" })) } + lines).joined(separator: "\n") + "\n"
    }

    /// A YAML alias bomb inside a value: 9 levels of 9 references, 9^9 (387 million) strings.
    static var aliasBomb: String {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1...8 {
            let refs = Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
            lines.append("a\(level): &a\(level) [\(refs)]")
        }
        lines.append("B02: *a8")
        return lines.map { "  " + $0 }.joined(separator: "\n")
    }

    static let cases: [Case] = [
        // Item 3: outputs outside the output folder, over inputs, or shared by two scenes.
        Case(name: "output name climbs out of the folder", pipeline: pipeline(#"output: {folder: out, name: "../../x/{scene}.tif"}"#),
             commands: runAndValidate, words: ["output.name", "contains '/'"]),
        Case(name: "absolute output name", pipeline: pipeline(#"output: {folder: out, name: "/tmp/landcover-hostile-{scene}.tif"}"#),
             commands: runAndValidate, words: ["output.name", "not a path"]),
        Case(name: "control character in output name", pipeline: pipeline(#"output: {folder: out, name: "{scene}\tx.tif"}"#),
             commands: runAndValidate, words: ["output.name", "control character"]),
        Case(name: "scene name climbs out of the folder", pipeline: pipeline(#"inputs: [{path: \#(scene0), name: "../../x"}]"#),
             commands: runAndValidate, words: ["inputs[0].name", "contains '/'"]),
        Case(name: "output replaces its own input", pipeline: pipeline(#"inputs: [\#(scene0)]"#, #"output: {folder: scenes, name: "{scene}.tif", stac: false, preview: false}"#),
             commands: runAndValidate, words: ["output.name", "which is an input of scene"]),
        Case(name: "outputs land where the input glob matches", pipeline: pipeline("output: {folder: scenes}"),
             commands: runAndValidate, words: ["output.name", "input pattern", "next run"]),
        Case(name: "output inside a folder input", pipeline: pipeline("inputs: [bands]", "output: {folder: bands}"),
             commands: runAndValidate, words: ["output.folder", "inside the input folder"],
             prepare: { folder in
                 let bands = folder.appendingPathComponent("bands")
                 try FileManager.default.createDirectory(at: bands, withIntermediateDirectories: true)
                 try FileManager.default.copyItem(at: folder.appendingPathComponent(scene0), to: bands.appendingPathComponent("T33UUU_20240101_stack.tif"))
             }),
        Case(name: "two scenes share one output", pipeline: pipeline("inputs: [a/S2X_T33UU0_20240101.tif, b/S2X_T33UU0_20240101.tif]"),
             commands: runAndValidate, words: ["output.name", "a/S2X_T33UU0_20240101.tif", "b/S2X_T33UU0_20240101.tif", "same output", "{scene}"],
             prepare: { folder in
                 for sub in ["a", "b"] {
                     try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
                     try FileManager.default.copyItem(at: folder.appendingPathComponent(scene0), to: folder.appendingPathComponent("\(sub)/S2X_T33UU0_20240101.tif"))
                 }
             }),
        // Item 4: numbers that parse but are out of bounds.
        Case(name: "patch size 100000", pipeline: pipeline("tiling: {patch_size: 100000}"), commands: runAndValidate,
             words: ["tiling.patch_size", "'100000'", "from 1 to 2048"]),
        Case(name: "patch size Int32.max", pipeline: pipeline("tiling: {patch_size: 2147483647}"), commands: runAndValidate,
             words: ["tiling.patch_size", "from 1 to 2048"]),
        Case(name: "batch size 1e9", pipeline: pipeline("runtime: {batch_size: 1e9}"), commands: runAndValidate,
             words: ["runtime.batch_size", "'1e9'", "from 1 to 1024"]),
        Case(name: "batch size 10^9", pipeline: pipeline("runtime: {batch_size: 1000000000}"), commands: runAndValidate,
             words: ["runtime.batch_size", "from 1 to 1024"]),
        Case(name: "threads near Int.max", pipeline: pipeline("runtime: {threads: 9223372036854775807}"), commands: runAndValidate,
             words: ["runtime.threads", "from 1 to 256"]),
        Case(name: "--threads 2147483647", pipeline: pipeline(), commands: [(["run", "$P", "--threads", "2147483647"], 2)],
             words: ["--threads", "'2147483647'", "from 1 to 256"]),
        Case(name: "memory_mb 1", pipeline: pipeline("runtime: {memory_mb: 1}"), commands: runAndValidate,
             words: ["runtime.memory_mb", "from 32 to 1048576"]),
        Case(name: "model plan larger than the memory budget",
             pipeline: pipeline("runtime: {threads: 256, batch_size: 1024, memory_mb: 32}"), commands: runAndValidate,
             words: ["runtime.memory_mb", "256 worker(s)", "batches of 1024", "MiB of activations"]),
        Case(name: "resolution 1e-300", pipeline: pipeline("resolution: 1e-300"), commands: runAndValidate,
             words: ["resolution", "from 1e-07 to"]),
        Case(name: "stride larger than the patch", pipeline: pipeline("tiling: {stride: 80}"), commands: runAndValidate,
             words: ["tiling.stride", "'80'", "patch size (16)"]),
        Case(name: "patch size the model cannot take", pipeline: pipeline("tiling: {patch_size: 32}"), commands: runAndValidate,
             words: ["tiling.patch_size", "'32'", "model's patch size 16"]),
        Case(name: "mode the model cannot run", pipeline: pipeline("mode: segmentation"), commands: runAndValidate,
             words: ["mode", "needs a segmentation model"]),
        // Item 7: a YAML alias bomb of a few hundred bytes inside a value.
        Case(name: "YAML alias bomb", pipeline: pipeline("bands:\n" + aliasBomb), commands: runAndValidate,
             words: ["expands to more than 100000 values"]),
        Case(name: "deeply nested flow lists", pipeline: pipeline("bands: " + String(repeating: "[", count: 100_000)), commands: runAndValidate,
             words: ["nests lists or mappings", "deep"]),
        Case(name: "long value quoted in an error", pipeline: pipeline("mode: " + String(repeating: "z", count: 100_000)), commands: runAndValidate,
             words: ["mode", "more characters)"]),
        // Item 8: inputs that are not regular files.
        Case(name: "FIFO as a scene input", pipeline: pipeline(), commands: runAndValidate + [(["info", "$F/scenes/S2X_T33UUF_20240109.tif"], 2)],
             words: ["S2X_T33UUF_20240109.tif", "FIFO"],
             prepare: { folder in try makeFIFO(folder.appendingPathComponent("scenes/S2X_T33UUF_20240109.tif")) }),
        Case(name: "FIFO as the model", pipeline: pipeline("model: pipe.onnx"), commands: runAndValidate + [(["model", "info", "$F/pipe.onnx"], 2)],
             words: ["pipe.onnx", "FIFO"],
             prepare: { folder in try makeFIFO(folder.appendingPathComponent("pipe.onnx")) }),
        Case(name: "FIFO as the pipeline file", pipeline: pipeline(), commands: [(["validate", "$F/pipe.yaml"], 2), (["run", "$F/pipe.yaml"], 2)],
             words: ["pipe.yaml", "FIFO"],
             prepare: { folder in try makeFIFO(folder.appendingPathComponent("pipe.yaml")) }),
        Case(name: "FIFO as the label file of evaluate", pipeline: pipeline(),
             commands: [(["evaluate", "$F/model.onnx", "--scene", "$F/\(scene0)", "--labels", "$F/labels.gpkg"], 2)],
             words: ["labels.gpkg", "FIFO"],
             prepare: { folder in try makeFIFO(folder.appendingPathComponent("labels.gpkg")) }),
        Case(name: "generate with threads near Int.max", pipeline: pipeline(),
             commands: [(["generate", "$F/generated", "--size", "64", "--threads", "2147483647"], 2)],
             words: ["--threads", "2147483647", "1 to 256"]),
        // Item 9: files created at fixed names are not opened through links.
        Case(name: "symbolic link at the lock's path", pipeline: pipeline(), commands: [(["run", "$P"], 2)],
             words: ["lock", "symbolic link", "remove it"],
             prepare: { folder in try plantAtLockPath(folder) { lock in
                 try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: folder.appendingPathComponent("victim.txt").path)
             } }),
        Case(name: "hard link at the lock's path", pipeline: pipeline(), commands: [(["run", "$P"], 2)],
             words: ["lock", "hard links", "remove it"],
             prepare: { folder in try plantAtLockPath(folder) { lock in
                 try FileManager.default.linkItem(atPath: folder.appendingPathComponent("victim.txt").path, toPath: lock)
             } }),
        Case(name: "symbolic link at the history's path", pipeline: pipeline(), commands: [(["run", "$P"], 6)],
             words: ["landcover-history.sqlite", "symbolic link", "--history"],
             prepare: { folder in
                 try FileManager.default.createDirectory(at: folder.appendingPathComponent("out"), withIntermediateDirectories: true)
                 try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("out/landcover-history.sqlite").path,
                                                            withDestinationPath: folder.appendingPathComponent("victim.txt").path)
             }),
        // Item 11: messages name the file, never a Swift type; one exit code per class.
        Case(name: "model without a contract", pipeline: pipeline("model: bare.onnx"), commands: runAndValidate,
             words: ["bare.onnx", "no landcover contract", "metadata_props"],
             prepare: { folder in try BatchFixture.writeModel(folder.appendingPathComponent("bare.onnx").path, contract: false) }),
        Case(name: "truncated model", pipeline: pipeline("model: cut.onnx"),
             commands: runAndValidate + [(["model", "info", "$F/cut.onnx"], 2),
                                         (["model", "predict", "$F/cut.onnx", "--input", "$F/x.npy", "--output-dir", "$F/out"], 2)],
             words: ["cut.onnx", "truncated"],
             prepare: { folder in
                 let path = folder.appendingPathComponent("cut.onnx")
                 try BatchFixture.writeModel(path.path)
                 let whole = try Data(contentsOf: path)
                 try whole.prefix(whole.count / 2).write(to: path)
             }),
        Case(name: "key error names the pipeline file", pipeline: pipeline("tiling: {stride: eight}"), commands: runAndValidate,
             words: ["hostile.yaml: tiling.stride", "'eight'", "whole number"]),
        Case(name: "malformed run history", pipeline: pipeline(), commands: [(["run", "$P"], 6), (["history", "$P"], 6)],
             words: ["landcover-history.sqlite", "not a landcover run history"],
             prepare: { folder in
                 try FileManager.default.createDirectory(at: folder.appendingPathComponent("out"), withIntermediateDirectories: true)
                 try Data(String(repeating: "not a database\n", count: 400).utf8).write(to: folder.appendingPathComponent("out/landcover-history.sqlite"))
             }),
    ]

    /// Creates a FIFO (named pipe) at `url`.
    static func makeFIFO(_ url: URL) throws {
        guard mkfifo(url.path, 0o644) == 0 else { throw BatchCLI.CLIFailure(message: "mkfifo \(url.path): \(String(cString: strerror(errno)))") }
    }

    /// Runs the pipeline once (creating the lock file), then replaces the lock file with what
    /// `plant` puts at its path; `victim.txt` beside the pipeline is what a link points at.
    static func plantAtLockPath(_ folder: URL, _ plant: (String) throws -> Void) throws {
        let logs = folder.appendingPathComponent("setup-logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let first = try BatchCLI.run(["run", folder.appendingPathComponent("hostile.yaml").path], logs: logs)
        guard first.status == 0 else { throw BatchCLI.CLIFailure(message: "setup run exited \(first.status): \(first.stderr)") }
        let out = folder.appendingPathComponent("out")
        guard let lock = try FileManager.default.contentsOfDirectory(atPath: out.path).first(where: { $0.hasPrefix(".landcover-") && $0.hasSuffix(".lock") }) else {
            throw BatchCLI.CLIFailure(message: "no lock file in \(out.path)")
        }
        try FileManager.default.removeItem(at: out.appendingPathComponent(lock))
        try plant(out.appendingPathComponent(lock).path)
    }

    /// Every file and folder under `root` except the output folder and `skip`: its type, size,
    /// modification time and (for files) content, to show that nothing else changed.
    static func snapshot(_ root: URL, skip: Set<String>) -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let relative = enumerator?.nextObject() as? String {
            if skip.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) { continue }
            let path = root.appendingPathComponent(relative).path
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            var entry = "\(info.st_mode) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
            if (info.st_mode & S_IFMT) == S_IFREG, let data = FileManager.default.contents(atPath: path) { entry += " \(data.hashValue)" }
            result[relative] = entry
        }
        return result
    }

    /// Names of temporary files anywhere under `root`.
    static func temporaries(_ root: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var found: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            if relative.contains("landcover-tmp") { found.append(relative) }
        }
        return found
    }

    /// Runs landcover with a 60 s bound; a process still running then is killed and recorded.
    static func boundedRun(_ arguments: [String], logs: URL, tag: String) throws -> (result: CLI.Result, exited: Bool) {
        let running = try BatchCLI.Running(arguments, logs: logs, tag: tag)
        let deadline = Date().addingTimeInterval(60)
        while running.process.isRunning && Date() < deadline { usleep(20_000) }
        if running.process.isRunning {
            kill(running.pid, SIGKILL)
            Issue.record("\(arguments) still running after 60 s")
        }
        let result = running.finish()
        return (result, running.process.terminationReason == .exit)
    }

    @Test(arguments: cases)
    func hostileCaseExitsWithOneLineAndTouchesNothing(_ hostile: Case) throws {
        let base = try TestPaths.temporaryFolder("hostile")
        defer { try? FileManager.default.removeItem(at: base) }
        // The batch sits two folders down so that an escape like ../../x stays inside `base`.
        let folder = base.appendingPathComponent("site/batch")
        try BatchFixture.writeScenes(in: folder, count: 2)
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path)
        try Data("precious\n".utf8).write(to: folder.appendingPathComponent("victim.txt"))
        let pipelinePath = folder.appendingPathComponent("hostile.yaml").path
        try hostile.pipeline.write(toFile: pipelinePath, atomically: true, encoding: .utf8)
        try Data([0x93, 0x4E, 0x55]).write(to: folder.appendingPathComponent("x.npy"))
        try hostile.prepare(folder)
        let logs = base.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let before = Self.snapshot(base, skip: ["logs", "site/batch/out"])
        let outBefore = Self.snapshot(folder.appendingPathComponent("out"), skip: [])

        for (index, (template, expected)) in hostile.commands.enumerated() {
            let arguments = template.map { $0.replacingOccurrences(of: "$P", with: pipelinePath).replacingOccurrences(of: "$F", with: folder.path) }
            let (result, exited) = try Self.boundedRun(arguments, logs: logs, tag: "c\(index)")
            let label = "\(hostile.name): \(arguments.prefix(2).joined(separator: " "))"
            #expect(exited, "\(label): killed by a signal (\(result.status)): \(result.stderr)")
            #expect(result.status == expected, "\(label): exit \(result.status), expected \(expected): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").map(String.init)
            #expect(lines.count == 1, "\(label): one line expected: \(result.stderr)")
            let line = lines.first ?? ""
            #expect(line.hasPrefix("landcover: "), "\(label): \(line)")
            for word in hostile.words where !(word.hasPrefix("hostile.yaml") && !arguments.contains(pipelinePath)) {
                #expect(line.contains(word), "\(label): '\(word)' missing from \(line)")
            }
            // No Swift rendering of an enum case or type (`truncated(context:`, `missingContract(keys:`).
            #expect(line.range(of: #"[A-Za-z]\([a-z]+:"#, options: .regularExpression) == nil, "\(label): Swift text in \(line)")
            #expect(line.count < 1200, "\(label): message of \(line.count) characters")
        }
        #expect(Self.temporaries(base).isEmpty, "\(hostile.name): temporary files left: \(Self.temporaries(base))")
        #expect(Self.snapshot(base, skip: ["logs", "site/batch/out"]) == before, "\(hostile.name): something outside the output folder changed")
        let outAfter = Self.snapshot(folder.appendingPathComponent("out"), skip: [])
        let classified = outAfter.keys.filter { $0.hasSuffix(".tif") && outBefore[$0] == nil }
        #expect(classified.isEmpty, "\(hostile.name): a map was written: \(classified)")
        #expect((try? String(contentsOf: folder.appendingPathComponent("victim.txt"), encoding: .utf8)) == "precious\n")
    }

    /// `resolution: 0.0001` parses but makes a grid of millions of pixels a side for a
    /// 10 m scene: `validate` reports each scene's problem (exit 2) and `run` fails each scene
    /// with one line and exits 2 (the pipeline must change) without allocating the grid,
    /// crashing or leaving files.
    @Test func gridTooLargeForTheBudgetIsRefusedPerScene() throws {
        let base = try TestPaths.temporaryFolder("hugegrid")
        defer { try? FileManager.default.removeItem(at: base) }
        try BatchFixture.writeScenes(in: base, count: 1)
        try BatchFixture.writeModel(base.appendingPathComponent("model.onnx").path)
        let path = base.appendingPathComponent("huge.yaml").path
        for (resolution, words) in [("0.0001", ["more than 1048576 pixels a side", "coarser resolution"]),
                                    ("0.005", ["runtime.memory_mb", "coarser resolution"])] {
            try Self.pipeline("resolution: \(resolution)", "runtime: {threads: 1, memory_mb: 32}").write(toFile: path, atomically: true, encoding: .utf8)
            let logs = base.appendingPathComponent("logs-\(resolution)")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let (validate, validateExited) = try Self.boundedRun(["validate", path], logs: logs, tag: "validate")
            #expect(validateExited && validate.status == 2, "\(resolution): validate exit \(validate.status): \(validate.stderr)")
            let problem = validate.stdout.split(separator: "\n").filter { $0.contains("PROBLEM") }
            #expect(problem.count == 1 && words.allSatisfy { problem[0].contains($0) }, "\(resolution): \(validate.stdout)")
            let (run, runExited) = try Self.boundedRun(["run", path], logs: logs, tag: "run")
            #expect(runExited && run.status == 2, "\(resolution): run exit \(run.status): \(run.stderr)")
            let errors = run.stderr.split(separator: "\n").filter { $0.contains("level=error") }
            #expect(errors.count == 1 && words.allSatisfy { errors[0].contains($0) }, "\(resolution): \(run.stderr)")
            #expect(Self.temporaries(base).isEmpty, "\(Self.temporaries(base))")
            let maps = (try? FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent("out").path)) ?? []
            #expect(!maps.contains { $0.hasSuffix(".tif") }, "\(maps)")
        }
    }

    /// What the output checks must not refuse: a scene listed twice (it runs once), and
    /// outputs in a folder beside the inputs.
    @Test func legitimatePipelinesPassTheOutputChecks() throws {
        let folder = try TestPaths.temporaryFolder("legit")
        defer { try? FileManager.default.removeItem(at: folder) }
        try BatchFixture.writeScenes(in: folder, count: 2)
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path)
        let path = folder.appendingPathComponent("twice.yaml").path
        try Self.pipeline("inputs: [scenes/*.tif, \(Self.scene0)]", "output: {folder: scenes/../out, name: \"{date}_{scene}_{model}.tif\"}")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let validate = try BatchCLI.run(["validate", path], logs: folder, tag: "validate")
        #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
        let run = try BatchCLI.run(["run", path, folder.appendingPathComponent(Self.scene0).path], logs: folder, tag: "run")
        #expect(run.status == 0 && run.stdout.contains("2 scene(s): 2 done"), "\(run.stdout) \(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/2024-01-01_S2X_T33UU0_20240101_model.tif").path))
    }

    /// Models whose input takes batches of exactly 1 or 4 patches run, with the default batch
    /// (the model's) and with `runtime.batch_size: 8` (the engine splits and pads), and their
    /// maps equal the map of the same weights with a dynamic batch.
    @Test func modelWithFixedBatchOfOneRuns() throws {
        let folder = try TestPaths.temporaryFolder("fixedbatch")
        defer { try? FileManager.default.removeItem(at: folder) }
        try BatchFixture.writeScenes(in: folder, count: 1)
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path)
        try BatchFixture.writeModel(folder.appendingPathComponent("fixed1.onnx").path, batch: .value(1))
        try BatchFixture.writeModel(folder.appendingPathComponent("fixed4.onnx").path, batch: .value(4))
        let runs = [("model.onnx", "dynamic", ""), ("fixed1.onnx", "fixed", ""), ("fixed4.onnx", "fixed4", ""),
                    ("fixed4.onnx", "fixed4b8", ", batch_size: 8")]
        for (model, out, batch) in runs {
            let path = folder.appendingPathComponent("\(out).yaml").path
            try "inputs: [scenes/*.tif]\nmodel: \(model)\noutput: {folder: \(out), stac: false, preview: false}\nruntime: {threads: 2\(batch)}\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            let validate = try BatchCLI.run(["validate", path], logs: folder, tag: "validate-\(out)")
            #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
            if out == "fixed" { #expect(validate.stdout.contains("batch: 1 (the model takes batches of exactly 1"), "\(validate.stdout)") }
            if out == "fixed4b8" { #expect(validate.stdout.contains("batch: 8 (the model takes batches of exactly 4"), "\(validate.stdout)") }
            let run = try BatchCLI.run(["run", path], logs: folder, tag: "run-\(out)")
            #expect(run.status == 0, "\(run.stderr)")
        }
        let name = "S2X_T33UU0_20240101_landcover.tif"
        let dynamic = try Data(contentsOf: folder.appendingPathComponent("dynamic/\(name)"))
        let fixed = try Data(contentsOf: folder.appendingPathComponent("fixed/\(name)"))
        // The provenance names the model file and its hash: compare the pixels.
        let a = try CLI.run(["-checksum", folder.appendingPathComponent("dynamic/\(name)").path], executable: "gdalinfo").stdout
        func checksums(_ text: String) -> [String] { text.split(separator: "\n").filter { $0.contains("Checksum=") }.map(String.init) }
        #expect(!dynamic.isEmpty && !fixed.isEmpty && !checksums(a).isEmpty)
        for out in ["fixed", "fixed4", "fixed4b8"] {
            let b = try CLI.run(["-checksum", folder.appendingPathComponent("\(out)/\(name)").path], executable: "gdalinfo").stdout
            #expect(checksums(a) == checksums(b), "\(out): \(checksums(a)) vs \(checksums(b))")
        }
    }
}

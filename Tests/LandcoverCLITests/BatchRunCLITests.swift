import Foundation
import Testing

/// `landcover run` as cron, systemd or a batch scheduler drives it: exit codes, idempotent
/// reruns, `kill -9` at random moments, the lock, shards and `landcover history`.
@Suite("landcover run: cron-grade batches", .serialized)
struct BatchRunCLITests {
    static func countStatuses(_ lines: [[String: String]]) -> [String: Int] {
        lines.reduce(into: [:]) { $0[$1["status"] ?? "", default: 0] += 1 }
    }

    @Test func corruptSceneExitsOneRerunDoesNothingNewModelRedoesAll() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 6)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("not a raster".utf8).write(to: folder.appendingPathComponent("scenes/S2X_T33UU9_20240130.tif"))

        let first = try BatchCLI.run(["run", pipeline], logs: folder)
        #expect(first.status == 1, "\(first.stderr)")
        let lines = BatchCLI.sceneLines(first.stderr)
        #expect(Self.countStatuses(lines) == ["done": 6, "failed": 1], "\(first.stderr)")
        #expect(first.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("ts=") }, "machine-readable lines only: \(first.stderr)")
        let failed = try #require(lines.first { $0["status"] == "failed" })
        #expect(failed["error"]?.contains("S2X_T33UU9_20240130.tif") == true)
        #expect(first.stdout.contains("7 scene(s): 6 done, 0 skipped (unchanged), 1 failed"), "\(first.stdout)")

        let runs = try #require(try BatchCLI.history([pipeline], logs: folder)["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        #expect(runs.first?["status"] as? String == "failed")
        #expect(runs.first?["done"] as? Int == 6 && runs.first?["failed"] as? Int == 1 && runs.first?["scenes"] as? Int == 7)
        let failures = try #require(try BatchCLI.history([pipeline, "--failures"], logs: folder)["failures"] as? [[String: Any]])
        #expect(failures.count == 1 && (failures.first?["error"] as? String)?.contains("S2X_T33UU9") == true)
        let attempts = try BatchCLI.sceneAttempts(pipeline: pipeline, logs: folder)
        #expect(attempts.count == 7)
        for attempt in attempts where attempt["status"] as? String == "done" {
            let outputs = (attempt["outputs"] as? [[String: Any]]) ?? []
            #expect(Set(outputs.compactMap { $0["role"] as? String }).isSuperset(of: ["map", "probabilities", "preview", "stac"]))
            #expect(outputs.allSatisfy { ($0["sha256"] as? String)?.count == 64 })
            #expect(attempt["seconds"] as? Double ?? 0 > 0)
        }

        // The same batch again: nothing is redone (the corrupt scene is retried and fails again).
        let second = try BatchCLI.run(["run", pipeline], logs: folder)
        #expect(second.status == 1)
        #expect(Self.countStatuses(BatchCLI.sceneLines(second.stderr)) == ["skipped": 6, "failed": 1], "\(second.stderr)")
        #expect(second.stdout.contains("0 done, 6 skipped (unchanged), 1 failed"), "\(second.stdout)")

        // Without the corrupt scene: exit 0 and it says there is nothing to do.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("scenes/S2X_T33UU9_20240130.tif"))
        let third = try BatchCLI.run(["run", pipeline], logs: folder)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("6 scene(s): all unchanged since their last run, nothing to do"), "\(third.stdout)")

        // A new model redoes every scene.
        try BatchFixture.writeModel(folder.appendingPathComponent("model.onnx").path, variant: 1)
        let fourth = try BatchCLI.run(["run", pipeline], logs: folder)
        #expect(fourth.status == 0)
        let redone = BatchCLI.sceneLines(fourth.stderr)
        #expect(redone.count == 6 && redone.allSatisfy { $0["status"] == "done" && $0["reason"] == "model changed" }, "\(fourth.stderr)")

        // One report per run plus the latest.
        let reports = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out/reports").path)
        #expect(reports.filter { $0.hasPrefix("run-") && $0.hasSuffix(".json") }.count == 4, "\(reports)")
        let latest = try CLI.json(String(contentsOf: folder.appendingPathComponent("out/landcover-report.json"), encoding: .utf8))
        #expect((latest["scenes"] as? [[String: Any]])?.count == 6)
        #expect(latest["run_id"] as? Int == 4)
    }

    /// Files under final names in an output folder (no hidden files), with their bytes.
    static func finalFiles(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  !name.hasPrefix("landcover-") else { continue }
            files[name] = try Data(contentsOf: url)
        }
        return files
    }

    /// Checks every final-named file against the uninterrupted run: rasters and previews byte
    /// for byte, STAC items parse and describe the same asset.
    static func compare(_ files: [String: Data], to reference: [String: Data], requireAll: Bool, context: String) {
        if requireAll {
            #expect(Set(files.keys) == Set(reference.keys), "\(context): \(files.keys.sorted()) vs \(reference.keys.sorted())")
        }
        for (name, data) in files {
            guard let expected = reference[name] else {
                Issue.record("\(context): unexpected file \(name)")
                continue
            }
            if name.hasSuffix(".stac.json") {
                let item = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
                let want = (try? JSONSerialization.jsonObject(with: expected)) as? [String: Any]
                #expect(item != nil, "\(context): \(name) does not parse")
                #expect(item?["id"] as? String == want?["id"] as? String, "\(context): \(name)")
                #expect((item?["bbox"] as? [Double]) == (want?["bbox"] as? [Double]), "\(context): \(name)")
            } else {
                #expect(data == expected, "\(context): \(name) differs from the uninterrupted run (\(data.count) vs \(expected.count) bytes)")
            }
        }
    }

    @Test func killNineAtRandomMomentsThenRerunCompletesIdentically() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 6, size: 64, output: "{folder: out, probabilities: true}",
                                                       extra: "mode: dense\ntiling: {stride: 8}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out")
        let clock = ContinuousClock()
        var reference: [String: Data] = [:]
        let elapsed = try clock.measure {
            let result = try BatchCLI.run(["run", pipeline], logs: folder)
            try #require(result.status == 0, "\(result.stderr)")
        }
        reference = try Self.finalFiles(out)
        #expect(reference.keys.filter { $0.hasSuffix(".tif") }.count == 18, "6 maps, 6 confidence and 6 probability files: \(reference.keys.sorted())")
        #expect(reference.keys.filter { $0.hasSuffix(".qml") }.count == 6, "a QGIS style beside each map")
        #expect(reference.keys.contains { $0.hasSuffix(".tif.aux.xml") })
        // A second, warm run (forced: it redoes everything) times a run better than the first.
        let warm = try clock.measure {
            let result = try BatchCLI.run(["run", pipeline, "--force"], logs: folder)
            try #require(result.status == 0, "\(result.stderr)")
        }
        Self.compare(try Self.finalFiles(out), to: reference, requireAll: true, context: "forced rerun")
        let duration = min(elapsed, warm)
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18

        var generator = SplitMix(seed: 20_241_124)
        var killedAlive = 0
        for trial in 0..<10 {
            // Even trials start from nothing; odd ones force a redo over complete outputs.
            let forced = trial % 2 == 1
            if !forced { try FileManager.default.removeItem(at: out) }
            let delay = generator.unit() * seconds
            let running = try BatchCLI.Running(["run", pipeline] + (forced ? ["--force"] : []), logs: folder, tag: "kill\(trial)")
            usleep(UInt32(delay * 1e6))
            if running.process.isRunning {
                kill(running.pid, SIGKILL)
                killedAlive += 1
            }
            running.process.waitUntilExit()
            let context = "trial \(trial) (killed after \(String(format: "%.3f", delay)) s\(forced ? ", --force" : ""))"
            // Whatever was killed, nothing under a final name is partial.
            if FileManager.default.fileExists(atPath: out.path) {
                Self.compare(try Self.finalFiles(out), to: reference, requireAll: false, context: context + " after the kill")
            }
            let rerun = try BatchCLI.run(["run", pipeline], logs: folder, tag: "rerun\(trial)")
            #expect(rerun.status == 0, "\(context): \(rerun.stderr)")
            Self.compare(try Self.finalFiles(out), to: reference, requireAll: true, context: context + " after the rerun")
            let leftovers = try (FileManager.default.contentsOfDirectory(atPath: out.path)
                + FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("reports").path)).filter { $0.contains(".landcover-tmp-") }
            #expect(leftovers.isEmpty, "\(context): temporary files left: \(leftovers)")
            let runs = (try BatchCLI.history([pipeline, "--limit", "1000"], logs: folder)["runs"] as? [[String: Any]]) ?? []
            #expect(!runs.contains { $0["status"] as? String == "running" }, "\(context): a run is still recorded as running")
        }
        print("kill -9 test: reference run \(String(format: "%.2f", seconds)) s; \(killedAlive) of 10 kills hit a running process")
        #expect(killedAlive >= 5, "only \(killedAlive) of 10 kills hit a running process (reference run: \(seconds) s)")
    }

    @Test func twoRunsStartedTogetherShareNothing() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 6, size: 96, output: "{folder: out, preview: false, stac: false}",
                                                       extra: "mode: dense\ntiling: {stride: 4}")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Started together, one gets the lock and the other exits with 3. On a busy machine the
        // second may start only after the first finished (then it finds nothing to do): try again.
        var contested = false
        for attempt in 0..<3 where !contested {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("out"))
            let a = try BatchCLI.Running(["run", pipeline], logs: folder, tag: "a\(attempt)")
            let b = try BatchCLI.Running(["run", pipeline], logs: folder, tag: "b\(attempt)")
            let results = [a.finish(), b.finish()]
            let statuses = results.map(\.status).sorted()
            #expect(statuses == [0, 3] || statuses == [0, 0], "\(results.map(\.stderr))")
            if let loser = results.firstIndex(where: { $0.status == 3 }) {
                contested = true
                let winnerPid = [a, b][1 - loser].pid
                let message = results[loser].stderr
                #expect(message.split(separator: "\n").count == 1, "one line: \(message)")
                #expect(message.contains("holds the lock") && message.contains("pid \(winnerPid)"), "\(message)")
            }
            let done = try BatchCLI.sceneAttempts(pipeline: pipeline, logs: folder).filter { $0["status"] as? String == "done" }
            #expect(done.count == 6 && Set(done.compactMap { $0["scene_key"] as? String }).count == 6, "nothing processed twice")
        }
        #expect(contested, "in 3 attempts the two runs never overlapped")

        // With --wait the second queues behind the first and finds nothing left to do.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("out"))
        let c = try BatchCLI.Running(["run", pipeline, "--wait"], logs: folder, tag: "c")
        let d = try BatchCLI.Running(["run", pipeline, "--wait"], logs: folder, tag: "d")
        let waited = [c.finish(), d.finish()]
        #expect(waited.allSatisfy { $0.status == 0 }, "\(waited.map(\.stderr))")
        let attempts = try BatchCLI.sceneAttempts(pipeline: pipeline, logs: folder)
        let done = attempts.filter { $0["status"] as? String == "done" }
        #expect(done.count == 6 && Set(done.compactMap { $0["scene_key"] as? String }).count == 6, "nothing processed twice")
        #expect(attempts.filter { $0["status"] as? String == "skipped" }.count == 6)
    }

    @Test func shardsFromFlagKubernetesAndSlurmProcessEverySceneOnce() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 9, output: "{folder: out, preview: false, stac: false}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let variants: [(String, (Int) -> ([String], [String: String]))] = [
            ("--shard", { (["--shard", "\($0)/3"], [:]) }),
            ("Kubernetes", { ([], ["JOB_COMPLETION_INDEX": "\($0)", "LANDCOVER_SHARD_COUNT": "3"]) }),
            ("Slurm", { ([], ["SLURM_ARRAY_TASK_ID": "\($0 + 1)", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "3"]) }),
        ]
        var assignments: [[String: String]] = []
        for (name, arguments) in variants {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("out"))
            // The three shards run at the same time, sharing the output folder and the history.
            let running = try (0..<3).map { index in
                let (extra, environment) = arguments(index)
                return try BatchCLI.Running(["run", pipeline] + extra, environment: environment, logs: folder, tag: "\(name)\(index)")
            }
            var owner: [String: String] = [:]
            for (index, process) in running.enumerated() {
                let result = process.finish()
                #expect(result.status == 0, "\(name) shard \(index): \(result.stderr)")
                #expect(result.stdout.contains("(shard \(index)/3 of a batch of 9)"), "\(name): \(result.stdout)")
                for line in BatchCLI.sceneLines(result.stderr) {
                    #expect(line["status"] == "done")
                    if let scene = line["scene"] {
                        #expect(owner[scene] == nil, "\(name): \(scene) processed by shards \(owner[scene] ?? "") and \(index)")
                        owner[scene] = "\(index)"
                    }
                }
            }
            #expect(owner.count == 9, "\(name): \(owner.count) of 9 scenes processed")
            let done = try BatchCLI.sceneAttempts(pipeline: pipeline, logs: folder).filter { $0["status"] as? String == "done" }
            #expect(done.count == 9 && Set(done.compactMap { $0["scene_key"] as? String }).count == 9, "\(name)")
            let runs = (try BatchCLI.history([pipeline], logs: folder)["runs"] as? [[String: Any]]) ?? []
            #expect(Set(runs.compactMap { $0["shard"] as? String }) == ["0/3", "1/3", "2/3"], "\(name)")
            assignments.append(owner)
        }
        #expect(assignments.allSatisfy { $0 == assignments[0] }, "every way of naming shard K gives the same scenes")
        // Shard reports do not overwrite each other.
        let reports = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out").path)
        #expect(reports.filter { $0.hasPrefix("landcover-report-shard-") }.count == 3, "\(reports)")
    }

    @Test func argumentsAndSceneListsOnTheCommandLine() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 2, output: "{folder: out, preview: false, stac: false}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let extra = folder.appendingPathComponent("extra")
        try FileManager.default.createDirectory(at: extra, withIntermediateDirectories: true)
        try BatchFixture.writeScene(extra.appendingPathComponent("S2X_T34VVV_20240301.tif").path, width: 40, height: 40, seed: 5)
        try BatchFixture.writeScene(extra.appendingPathComponent("S2X_T34WWW_20240302.tif").path, width: 40, height: 40, seed: 6)
        let result = try BatchCLI.run(["run", pipeline, extra.appendingPathComponent("*.tif").path], logs: folder)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Set(BatchCLI.sceneLines(result.stderr).compactMap { $0["scene"] }) ==
                ["S2X_T33UU0_20240101", "S2X_T33UU1_20240102", "S2X_T34VVV_20240301", "S2X_T34WWW_20240302"], "\(result.stderr)")

        let missing = try BatchCLI.run(["run", pipeline, "nowhere.tif"], logs: folder)
        #expect(missing.status == 2 && missing.stderr.contains("nowhere.tif"), "\(missing.stderr)")
        let badShard = try BatchCLI.run(["run", pipeline, "--shard", "3/3"], logs: folder)
        #expect(badShard.status == 2 && badShard.stderr.contains("--shard"), "\(badShard.stderr)")
        let noCount = try BatchCLI.run(["run", pipeline], environment: ["JOB_COMPLETION_INDEX": "1"], logs: folder)
        #expect(noCount.status == 2 && noCount.stderr.contains("LANDCOVER_SHARD_COUNT"), "\(noCount.stderr)")
        let noArguments = try BatchCLI.run(["history"], logs: folder)
        #expect(noArguments.status == 2 && noArguments.stderr.contains("--history"), "\(noArguments.stderr)")
        let badCount = try BatchCLI.run(["run", pipeline, "--shard-count", "0"], logs: folder)
        #expect(badCount.status == 2, "\(badCount.stderr)")
        let noHistory = try BatchCLI.run(["history", "--history", folder.appendingPathComponent("none.sqlite").path], logs: folder)
        // A history that cannot be opened is its own class of failure (README, "Exit codes").
        #expect(noHistory.status == 6 && noHistory.stderr.contains("none.sqlite"), "\(noHistory.stderr)")

        let text = try BatchCLI.run(["history", pipeline], logs: folder)
        #expect(text.status == 0 && text.stdout.contains("run") && text.stdout.contains("done"), "\(text.stdout)")
        let scenes = try BatchCLI.run(["history", pipeline, "--run", "1"], logs: folder)
        #expect(scenes.status == 0 && scenes.stdout.contains("S2X_T34VVV_20240301"), "\(scenes.stdout)")
    }
}

/// A small seeded generator (SplitMix64) for reproducible kill delays.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

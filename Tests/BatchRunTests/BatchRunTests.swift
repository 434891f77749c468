import BatchRun
import CNN
import Classification
import Config
import Foundation
import Logging
import RasterIO
import TestSupport
import Testing

/// Batch runs through the library: failure isolation, the run history, idempotence (what makes
/// a scene unchanged, what redoes it), fingerprints, sharding rules and the run lock.
@Suite("batch runs: history, idempotence, shards, lock")
struct BatchRunTests {
    /// A folder with `count` generated 48x40 scenes (`scenes/S2X_T33UU<n>_2024010<n>.tif`), a
    /// patch-16 model and a pipeline over `scenes/*.tif`; plus a corrupt scene when asked.
    struct Batch {
        let folder: URL
        let pipelinePath: String
        var history: String { folder.appendingPathComponent("out/landcover-history.sqlite").path }

        init(_ label: String, count: Int, corrupt: Bool = false, output: String = "{folder: out, probabilities: true}",
             extra: String = "") throws {
            folder = try TestPaths.temporaryFolder(label)
            let scenes = folder.appendingPathComponent("scenes")
            try FileManager.default.createDirectory(at: scenes, withIntermediateDirectories: true)
            for index in 0..<count {
                try PipelineFixtures.writeScene(scenes.appendingPathComponent("S2X_T33UU\(index)_2024010\(index + 1).tif").path,
                                                width: 48 + 8 * (index % 3), height: 40)
            }
            if corrupt {
                try Data("this is not a GeoTIFF".utf8).write(to: scenes.appendingPathComponent("S2X_T33UUZ_20240109.tif"))
            }
            try PipelineFixtures.writeModel(folder.appendingPathComponent("model.onnx").path, patchSize: 16)
            pipelinePath = try PipelineFixtures.writePipeline(in: folder, """
            inputs: [scenes/*.tif]
            model: model.onnx
            output: \(output)
            runtime: {threads: 1, batch_size: 8}
            \(extra)
            """)
        }

        func run(force: Bool = false, shard: Shard? = nil, history: Bool = true) throws -> RunReport {
            let plan = try PipelinePlan(pipeline: try PipelineFile.load(path: pipelinePath), pipelinePath: pipelinePath)
            let database = history ? try RunHistory(path: self.history) : nil
            return try PipelineRunner(plan: plan, toolVersion: "test", logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
                .run(options: BatchOptions(force: force, shard: shard, history: database))
        }

        func rewritePipeline(_ text: String) throws {
            _ = try PipelineFixtures.writePipeline(in: folder, text)
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    static func statuses(_ report: RunReport) -> [String: SceneReport.Status] {
        Dictionary(report.scenes.map { ($0.name, $0.status) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func corruptSceneIsIsolatedRerunSkipsAndNewModelRedoes() throws {
        let batch = try Batch("corrupt", count: 6, corrupt: true)
        defer { batch.remove() }
        let first = try batch.run()
        #expect(first.scenes.count == 7)
        #expect(first.succeeded == 6 && first.failed == 1 && first.skipped == 0)
        let failure = try #require(first.scenes.first { $0.status == .failed })
        #expect(failure.error?.contains("S2X_T33UUZ_20240109.tif") == true, "\(failure.error ?? "")")
        let history = try RunHistory(path: batch.history, readOnly: true)
        let runID = try #require(first.runID)
        let run = try #require(try history.run(id: runID))
        #expect(run.status == .failed && run.done == 6 && run.failed == 1 && run.scenes == 7 && run.finished != nil)
        let attempts = try history.scenes(runID: run.id)
        #expect(attempts.count == 7)
        #expect(attempts.filter { $0.status == .done }.count == 6)
        for attempt in attempts where attempt.status == .done {
            #expect(Set(attempt.outputs.map(\.role)).isSuperset(of: [OutputRole.map, .probabilities, .preview, .stac]))
            for output in attempt.outputs {
                #expect(output.sha256 == (try SHA256Hex.hex(ofFile: output.path)))
            }
            #expect(attempt.times != nil && attempt.patches ?? 0 > 0)
        }
        #expect(attempts.first { $0.status == .failed }?.error?.contains("S2X_T33UUZ") == true)
        let maps = first.scenes.compactMap(\.output)
        let stamps = try maps.map { try FileStamp(path: $0) }

        let second = try batch.run()
        #expect(second.succeeded == 0 && second.skipped == 6 && second.failed == 1)
        #expect(second.scenes.filter { $0.status == .skipped }.allSatisfy { $0.reason == "unchanged since run \(run.id)" })
        #expect(try maps.map { try FileStamp(path: $0) } == stamps, "a skipped scene's files are not rewritten")

        // A different model file (same predictions, softmax inside): every scene is redone.
        try PipelineFixtures.writeModel(batch.folder.appendingPathComponent("model.onnx").path, patchSize: 16, output: .probabilities)
        let third = try batch.run()
        #expect(third.succeeded == 6 && third.failed == 1)
        #expect(third.scenes.filter { $0.status == .done }.allSatisfy { $0.reason == "model changed" })
        let runs = try RunHistory(path: batch.history, readOnly: true).runs(limit: 10)
        #expect(runs.map(\.skipped) == [0, 6, 0])
    }

    /// The map's `.qml` style and its confidence file are recorded outputs like the others.
    @Test func aMissingStyleOrConfidenceFileRedoesItsScene() throws {
        let batch = try Batch("style", count: 3)
        defer { batch.remove() }
        let first = try batch.run()
        #expect(first.succeeded == 3)
        let byName = Dictionary(uniqueKeysWithValues: first.scenes.map { ($0.name, $0) })
        let names = byName.keys.sorted()
        let stem = { (name: String) throws -> String in ((try #require(byName[name]?.output)) as NSString).deletingPathExtension }
        try FileManager.default.removeItem(atPath: try stem(names[0]) + ".qml")
        try FileManager.default.removeItem(atPath: try stem(names[1]) + "_confidence.tif")
        let roles = Set((byName[names[2]]?.outputs ?? []).map(\.role))
        #expect(roles.isSuperset(of: [OutputRole.map, .style, .confidence]), "\(roles)")
        let second = try batch.run()
        let reasons = Dictionary(uniqueKeysWithValues: second.scenes.map { ($0.name, $0.reason ?? "") })
        #expect(reasons[names[0]] == "style output missing")
        #expect(reasons[names[1]] == "confidence output missing")
        #expect(second.skipped == 1)
        #expect(FileManager.default.fileExists(atPath: try stem(names[0]) + ".qml"))
    }

    @Test func missingOrReplacedOutputsAndChangedInputsRedoOnlyThoseScenes() throws {
        let batch = try Batch("incomplete", count: 4)
        defer { batch.remove() }
        let first = try batch.run()
        #expect(first.succeeded == 4)
        let byName = Dictionary(uniqueKeysWithValues: first.scenes.map { ($0.name, $0) })
        let names = byName.keys.sorted()
        // Scene 0 loses its STAC item, scene 1 its preview, scene 2's map is rewritten in place,
        // scene 3's input is touched.
        try FileManager.default.removeItem(atPath: try #require(byName[names[0]]?.stac))
        try FileManager.default.removeItem(atPath: try #require(byName[names[1]]?.preview))
        let map2 = try #require(byName[names[2]]?.output)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: map2)
        let input3 = try #require(byName[names[3]]?.inputs.first)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: input3)

        let second = try batch.run()
        let reasons = Dictionary(uniqueKeysWithValues: second.scenes.map { ($0.name, $0.reason ?? "") })
        #expect(second.succeeded == 4)
        #expect(reasons[names[0]] == "stac output missing")
        #expect(reasons[names[1]] == "preview output missing")
        #expect(reasons[names[2]] == "map output changed since run 1")
        #expect(reasons[names[3]] == "inputs changed")
        #expect(try batch.run().skipped == 4)

        // Threads do not change outputs; compression does.
        try batch.rewritePipeline("""
        inputs: [scenes/*.tif]
        model: model.onnx
        output: {folder: out, probabilities: true}
        runtime: {threads: 2, batch_size: 8, memory_mb: 256}
        """)
        #expect(try batch.run().skipped == 4)
        // The output folder is not a setting (no output byte depends on it), but outputs recorded
        // in another folder are not this folder's: redone there, then skipped.
        try batch.rewritePipeline("""
        inputs: [scenes/*.tif]
        model: model.onnx
        output: {folder: out2, probabilities: true}
        runtime: {threads: 2, batch_size: 8}
        """)
        let moved = try batch.run()
        #expect(moved.succeeded == 4 && moved.scenes.allSatisfy { $0.reason == "output folder changed" }, "\(moved.scenes.map { $0.reason ?? "" })")
        #expect(moved.scenes.allSatisfy { $0.output?.contains("/out2/") == true })
        #expect(moved.settingsSHA256 == (try RunHistory(path: batch.history, readOnly: true).runs(limit: 2).last?.settingsSHA256))
        #expect(try batch.run().skipped == 4)
        try batch.rewritePipeline("""
        inputs: [scenes/*.tif]
        model: model.onnx
        output: {folder: out, probabilities: true, compression: lzw}
        runtime: {threads: 1, batch_size: 8}
        """)
        let changed = try batch.run()
        #expect(changed.succeeded == 4 && changed.scenes.allSatisfy { $0.reason == "pipeline settings changed" })
        let forced = try batch.run(force: true)
        #expect(forced.succeeded == 4 && forced.scenes.allSatisfy { $0.reason == "--force" })

        // Without its history a run cannot vouch for outputs and redoes them.
        try FileManager.default.removeItem(atPath: batch.history)
        let fresh = try batch.run()
        #expect(fresh.succeeded == 4 && fresh.scenes.allSatisfy { $0.reason == "new" })
    }

    @Test func outputsRecordFingerprintsAndProvenance() throws {
        let batch = try Batch("provenance", count: 1)
        defer { batch.remove() }
        let report = try batch.run()
        let scene = try #require(report.scenes.first)
        let metadata = try RasterDataset(path: try #require(scene.output)).metadata()
        #expect(metadata["LANDCOVER_INPUTS_FINGERPRINT"] == scene.inputsFingerprint)
        #expect(metadata["LANDCOVER_SETTINGS_SHA256"] == report.settingsSHA256)
        #expect(metadata["LANDCOVER_MODEL_SHA256"] == report.modelSHA256)
        let probabilities = try RasterDataset(path: try #require(scene.probabilities)).metadata()
        #expect(probabilities["LANDCOVER_INPUTS_FINGERPRINT"] == scene.inputsFingerprint)
        let stac = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try #require(scene.stac)))) as? [String: Any]
        let properties = stac?["properties"] as? [String: Any]
        #expect(properties?["landcover:inputs_fingerprint"] as? String == scene.inputsFingerprint)
        #expect(properties?["landcover:settings_sha256"] as? String == report.settingsSHA256)
    }

    /// `runtime.tta` is a setting that shapes the maps: turning it on redoes the scenes, and
    /// the map's metadata and STAC item say which augmentation made them (maps made without
    /// augmentation carry no such key).
    @Test func augmentationRedoesScenesAndIsRecorded() throws {
        let batch = try Batch("tta", count: 2)
        defer { batch.remove() }
        let plain = try batch.run()
        let plainScene = try #require(plain.scenes.first)
        #expect(try RasterDataset(path: try #require(plainScene.output)).metadata()["LANDCOVER_TTA"] == nil)
        try batch.rewritePipeline("inputs: [scenes/*.tif]\nmodel: model.onnx\noutput: {folder: out, probabilities: true}\nruntime: {threads: 1, batch_size: 8, tta: flips}\n")
        let augmented = try batch.run()
        #expect(augmented.succeeded == 2 && augmented.settingsSHA256 != plain.settingsSHA256, "a new augmentation redoes every scene")
        let scene = try #require(augmented.scenes.first)
        #expect(try RasterDataset(path: try #require(scene.output)).metadata()["LANDCOVER_TTA"] == "flips")
        let stac = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try #require(scene.stac)))) as? [String: Any]
        #expect((stac?["properties"] as? [String: Any])?["landcover:tta"] as? String == "flips")
        #expect(try batch.run().skipped == 2, "unchanged settings skip")
    }

    @Test func settingsFingerprintIgnoresInputsThreadsAndKeyOrder() throws {
        func fingerprint(_ yaml: String) throws -> String {
            BatchFingerprint.settings(try PipelineFile.parse(yaml, baseFolder: "/data/project"))
        }
        let base = try fingerprint("""
        inputs: [a.tif]
        model: m.onnx
        bands: {B02: B2, B03: B3, B04: B4}
        resampling: {B05: cubic, B06: bilinear}
        runtime: {threads: 1}
        """)
        let same = try fingerprint("""
        inputs: [a.tif, b/*.SAFE]
        runtime: {threads: 8, memory_mb: 2048}
        resampling: {B06: bilinear, B05: cubic}
        bands: {B04: B4, B02: B2, B03: B3}
        model: ./m.onnx
        """)
        #expect(base == same)
        #expect(try fingerprint("inputs: [a.tif]\nmodel: m.onnx\nbands: {B02: B2, B03: B3, B04: B4}\nresampling: {B05: cubic, B06: bilinear}\ntiling: {stride: 8}") != base)
        #expect(try fingerprint("inputs: [a.tif]\nmodel: other.onnx\nbands: {B02: B2, B03: B3, B04: B4}\nresampling: {B05: cubic, B06: bilinear}") != base)
        #expect(try fingerprint("inputs: [a.tif]\nmodel: m.onnx\nbands: {B02: B2, B03: B3, B04: B4}\nresampling: {B05: cubic, B06: bilinear}\nruntime: {batch_size: 4}") != base)
        // Where outputs go changes no output byte: a local folder and an object store give one fingerprint.
        let elsewhere = "inputs: [a.tif]\nmodel: m.onnx\nbands: {B02: B2, B03: B3, B04: B4}\nresampling: {B05: cubic, B06: bilinear}\n"
        #expect(try fingerprint(elsewhere + "output: {folder: /maps/other}") == base)
        #expect(try fingerprint(elsewhere + "output: {folder: s3://bucket/maps, scratch_folder: /scratch, state_folder: /state}") == base)
        #expect(try fingerprint(elsewhere + "output: {folder: s3://bucket/maps, format: cog}") != base)
    }

    @Test func inputsFingerprintFollowsSizesTimesAndFolders() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let safe = folder.appendingPathComponent("S2B_MSIL1C_X.SAFE/GRANULE/IMG_DATA")
        try FileManager.default.createDirectory(at: safe, withIntermediateDirectories: true)
        try Data("band".utf8).write(to: safe.appendingPathComponent("T33UUU_B02.jp2"))
        let mtd = folder.appendingPathComponent("S2B_MSIL1C_X.SAFE/MTD_MSIL1C.xml")
        try Data("<xml/>".utf8).write(to: mtd)
        let byFolder = try BatchFingerprint.inputs(SceneInput(paths: [folder.appendingPathComponent("S2B_MSIL1C_X.SAFE").path]))
        let byMetadata = try BatchFingerprint.inputs(SceneInput(paths: [mtd.path]))
        #expect(byFolder == byMetadata, "an MTD file stands for its product folder")
        try Data("band, longer".utf8).write(to: safe.appendingPathComponent("T33UUU_B02.jp2"))
        #expect(try BatchFingerprint.inputs(SceneInput(paths: [mtd.path])) != byMetadata)
        #expect(throws: PipelineError.self) {
            try BatchFingerprint.inputs(SceneInput(paths: [folder.appendingPathComponent("missing.tif").path]))
        }
        #expect(SceneInput(paths: ["/data/project/scenes/a.tif"]).key(baseFolder: "/data/project") == "scenes/a.tif")
        #expect(SceneInput(paths: ["/other/a.tif"], name: "a").key(baseFolder: "/data/project") == "name=a\n/other/a.tif")
    }

    @Test func shardsPartitionEveryKeyExactlyOnce() throws {
        let keys = (0..<1200).map { "scenes/S2A_MSIL2A_\($0).SAFE" }
        for count in [1, 3, 7] {
            let shards = try (0..<count).map { try Shard(index: $0, count: count) }
            var sizes = [Int](repeating: 0, count: count)
            for key in keys {
                let owners = shards.filter { $0.contains(sceneKey: key) }
                #expect(owners.count == 1)
                if let owner = owners.first { sizes[owner.index] += 1 }
            }
            let expected = Double(keys.count) / Double(count)
            #expect(sizes.allSatisfy { abs(Double($0) - expected) < 0.2 * expected + 10 }, "\(sizes)")
        }
        #expect(Shard.bucket(of: "scenes/a.tif", count: 5) == Shard.bucket(of: "scenes/a.tif", count: 5))
    }

    @Test func shardsComeFromOptionsAndSchedulerEnvironments() throws {
        func detect(_ environment: [String: String] = [:], explicit: String? = nil, count: Int? = nil) throws -> String? {
            try Shard.detect(explicit: explicit, count: count, environment: environment)?.shard.description
        }
        #expect(try detect() == nil)
        #expect(try detect(explicit: "1/3") == "1/3")
        #expect(try detect(["JOB_COMPLETION_INDEX": "1"], explicit: "0/2") == "0/2", "the option wins over the environment")
        #expect(try detect(["JOB_COMPLETION_INDEX": "2"], count: 3) == "2/3")
        #expect(try detect(["JOB_COMPLETION_INDEX": "2", "LANDCOVER_SHARD_COUNT": "4"]) == "2/4")
        #expect(try detect(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"]) == "2/3")
        #expect(try detect(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"]) == "0/2")
        #expect(try detect(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "3"]) == "2/3")
        #expect(try detect(["AWS_BATCH_JOB_ARRAY_INDEX": "0", "LANDCOVER_SHARD_COUNT": "2"]) == "0/2")
        for (explicit, count, environment) in [
            ("3/3", nil, [:]), ("a/b", nil, [:]), ("1/0", nil, [:]),
            (nil, nil, ["JOB_COMPLETION_INDEX": "1"]), (nil, nil, ["AWS_BATCH_JOB_ARRAY_INDEX": "0"]),
            (nil, 3, [:]), (nil, nil, ["JOB_COMPLETION_INDEX": "3", "LANDCOVER_SHARD_COUNT": "3"]),
            (nil, nil, ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "3"]),
            (nil, nil, ["SLURM_ARRAY_TASK_ID": "x"]),
        ] as [(String?, Int?, [String: String])] {
            #expect(throws: PipelineError.self, "\(explicit ?? "-") \(count ?? 0) \(environment)") {
                try Shard.detect(explicit: explicit, count: count, environment: environment)
            }
        }
    }

    @Test func shardedRunsTogetherCoverTheBatchOnce() throws {
        let batch = try Batch("shards", count: 9, output: "{folder: out, preview: false, stac: false}")
        defer { batch.remove() }
        var done: [String] = []
        for index in 0..<3 {
            let report = try batch.run(shard: try Shard(index: index, count: 3))
            #expect(report.failed == 0 && report.shard == "\(index)/3" && report.batchScenes == 9)
            done += report.scenes.filter { $0.status == .done }.map(\.name)
        }
        #expect(done.count == 9 && Set(done).count == 9)
        // Unsharded afterwards: everything is already done, whichever shard did it.
        #expect(try batch.run().skipped == 9)
    }

    @Test func lockIsExclusiveAndNamesItsHolder() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = RunLock.path(pipelinePath: "/data/p/pipeline.yaml", outputFolder: folder.path, shard: nil)
        #expect(path != RunLock.path(pipelinePath: "/data/q/pipeline.yaml", outputFolder: folder.path, shard: nil))
        #expect(path != RunLock.path(pipelinePath: "/data/p/pipeline.yaml", outputFolder: folder.path, shard: try Shard(index: 0, count: 2)))
        let lock = try RunLock.acquire(path: path, wait: false)
        do {
            _ = try RunLock.acquire(path: path, wait: false)
            Issue.record("a second lock was granted")
        } catch RunLockError.held(_, let holder) {
            #expect(holder.pid == getpid())
            #expect(RunLockError.held(path: path, holder: holder).description.contains("pid \(getpid())"))
        }
        // A waiter gets the lock once the holder releases it.
        nonisolated(unsafe) var waited: RunLockHolder?
        nonisolated(unsafe) var acquired = false
        let waiter = Thread {
            if let lock = try? RunLock.acquire(path: path, wait: true, onWait: { waited = $0 }) {
                acquired = true
                lock.release()
            }
        }
        waiter.start()
        usleep(200_000)
        #expect(!acquired)
        lock.release()
        while !waiter.isFinished { usleep(10_000) }
        #expect(acquired && waited?.pid == getpid())
    }

    @Test func killedRunsAreMarkedInterruptedAndTheirTemporariesRemoved() throws {
        let batch = try Batch("interrupted", count: 2, output: "{folder: out, preview: false, stac: false}")
        defer { batch.remove() }
        let first = try batch.run()
        let map = try #require(first.scenes.first?.output)
        let out = (map as NSString).deletingLastPathComponent
        // What a killed run leaves: a `running` run and scene, and temporary files.
        let history = try RunHistory(path: batch.history)
        let killed = try history.startRun(RunStart(pipelinePath: batch.pipelinePath, pipelineSHA256: nil, settingsSHA256: "x",
                                                   modelPath: "m", modelSHA256: "m", version: "test", shard: nil, forced: true, scenes: 2))
        _ = try history.startScene(runID: killed, RunHistory.SceneStart(sceneKey: "k", name: "n", inputs: [], inputsFingerprint: nil,
                                                                        modelSHA256: "m", settingsSHA256: "x"), reason: "--force")
        let mapName = (map as NSString).lastPathComponent
        let deadPid = "2147483000"
        let ownStale = "\(out)/.\(mapName).landcover-tmp-\(deadPid)-3.tif"
        let otherStale = "\(out)/.unrelated.tif.landcover-tmp-\(deadPid)-1.tif"
        let otherLive = "\(out)/.unrelated.tif.landcover-tmp-\(getppid())-1.tif"
        for path in [ownStale, otherStale, otherLive] { try Data("partial".utf8).write(to: URL(fileURLWithPath: path)) }

        // A sharded run removes only its own scenes' temporaries (other shards share the folder).
        let owner = try (0..<2).map { try Shard(index: $0, count: 2) }.first { shard in
            try batch.run(shard: shard, history: false).scenes.contains { $0.output == map }
        }
        #expect(owner != nil)
        #expect(!FileManager.default.fileExists(atPath: ownStale))
        #expect(FileManager.default.fileExists(atPath: otherStale))
        // An unsharded run sweeps temporaries of processes that are gone, keeps live ones.
        _ = try batch.run()
        #expect(!FileManager.default.fileExists(atPath: otherStale))
        #expect(FileManager.default.fileExists(atPath: otherLive))
        let record = try #require(try RunHistory(path: batch.history, readOnly: true).run(id: killed))
        #expect(record.status == .interrupted)
        #expect(try RunHistory(path: batch.history, readOnly: true).scenes(runID: killed).first?.status == .interrupted)
    }

    @Test func historyRejectsForeignDatabases() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("other.sqlite").path
        try CommandLineTool.run("sqlite3", [path, "CREATE TABLE t (x INTEGER);"])  // installed by scripts/setup.sh
        #expect(throws: RunHistoryError.self) { try RunHistory(path: path) }
        #expect(throws: RunHistoryError.self) { try RunHistory(path: folder.appendingPathComponent("none.sqlite").path, readOnly: true) }
    }
}

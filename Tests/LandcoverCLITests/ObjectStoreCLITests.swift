import Foundation
import Testing
import TestSupport

/// `landcover run` with `output.folder` in an object store (a real S3 API: moto's server on
/// loopback, through GDAL's `/vsis3/`): objects equal a local run's files, reruns skip, shards
/// share no folder, a `kill -9` mid-upload leaves no half-published scene.
@Suite("landcover run: object-store outputs", .serialized)
struct ObjectStoreCLITests {
    /// Local settings every S3 run gets: the server, and a state and scratch folder of its own
    /// (what a pod without volumes has).
    static func environment(_ server: S3TestServer, local: URL, extra: [String: String] = [:]) throws -> [String: String] {
        let state = local.appendingPathComponent("state"), scratch = local.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        return server.environment.merging(["XDG_STATE_HOME": state.path, "TMPDIR": scratch.path]) { $1 }.merging(extra) { $1 }
    }

    /// The bytes of every file under `folder`, by path relative to it.
    static func files(_ folder: URL) throws -> [String: Data] {
        var found: [String: Data] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else { return found }
        while let entry = enumerator.nextObject() as? String {
            let url = folder.appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                found[entry] = try Data(contentsOf: url)
            }
        }
        return found
    }

    /// The scene outputs of a download or a local output folder: everything but reports and the
    /// history/lock files.
    static func sceneFiles(_ all: [String: Data]) -> [String: Data] {
        all.filter { !$0.key.hasPrefix("reports/") && !$0.key.hasPrefix("landcover-") && !$0.key.hasPrefix(".") }
    }

    /// Each STAC item's assets (key -> [file:size, file:checksum]) of the items among `files`.
    static func assetChecksums(_ files: [String: Data]) throws -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for (name, data) in files where name.hasSuffix(".stac.json") {
            let item = try CLI.json(String(decoding: data, as: UTF8.self))
            let assets = (item["assets"] as? [String: [String: Any]]) ?? [:]
            result[name] = assets.filter { ($0.value["href"] as? String)?.hasPrefix("./") == true }
                .mapValues { "\($0["file:size"] ?? "")/\($0["file:checksum"] ?? "")" }
        }
        return result
    }

    /// Every published scene (a STAC item in the store) has all its assets there with the sizes
    /// the item records; returns the number of published scenes.
    static func checkNoHalfPublishedScene(_ downloaded: [String: Data], comment: String) throws -> Int {
        var published = 0
        for (name, data) in downloaded where name.hasSuffix(".stac.json") {
            published += 1
            let item = try CLI.json(String(decoding: data, as: UTF8.self))
            for (key, value) in (item["assets"] as? [String: [String: Any]]) ?? [:] {
                guard let href = value["href"] as? String, href.hasPrefix("./") else { continue }
                let object = downloaded[String(href.dropFirst(2))]
                #expect(object != nil, "\(name): asset \(key) (\(href)) missing from the store (\(comment))")
                #expect(object.map { $0.count } == value["file:size"] as? Int, "\(name): asset \(key) size (\(comment))")
            }
        }
        return published
    }

    @Test func s3OutputsEqualLocalRunRerunSkipsAndMissingObjectRedoesOneScene() throws {
        let server = try S3TestServer.start()
        defer { server.stop() }
        try server.createBucket("maps")
        let (folder, pipeline) = try BatchFixture.make(scenes: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = try Self.environment(server, local: folder)

        let local = try BatchCLI.run(["run", pipeline, "--output-folder", folder.appendingPathComponent("local").path], logs: folder, tag: "local")
        #expect(local.status == 0, "\(local.stderr)")
        let first = try BatchCLI.run(["run", pipeline, "--output-folder", "s3://maps/run/a"], environment: environment, logs: folder, tag: "s3")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(BatchCLI.sceneLines(first.stderr).filter { $0["status"] == "done" }.count == 3, "\(first.stderr)")
        #expect(first.stdout.contains("report: s3://maps/run/a/reports/run-"), "\(first.stdout)")

        let download = folder.appendingPathComponent("download")
        try server.download(bucket: "maps", prefix: "run/a", to: download)
        let objects = try Self.files(download)
        let localFiles = try Self.files(folder.appendingPathComponent("local"))
        let scenes = Self.sceneFiles(objects), expected = Self.sceneFiles(localFiles)
        #expect(Set(scenes.keys) == Set(expected.keys), "objects \(scenes.keys.sorted()) vs files \(expected.keys.sorted())")
        #expect(scenes.keys.filter { $0.hasSuffix(".stac.json") }.count == 3)
        for (name, data) in expected where !name.hasSuffix(".stac.json") {
            #expect(scenes[name] == data, "\(name): the object differs from the local run's file")
        }
        // The items differ in their creation time and hrefs only: the same checksums.
        #expect(try Self.assetChecksums(scenes) == Self.assetChecksums(expected))
        #expect(objects["landcover-report.json"] != nil && objects.keys.contains { $0.hasPrefix("reports/run-") })
        // The scratch folder is gone; history and lock stay in the local state folder.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("tmp").path)
        #expect(leftovers.isEmpty, "scratch left behind: \(leftovers)")

        let second = try BatchCLI.run(["run", pipeline, "--output-folder", "s3://maps/run/a"], environment: environment, logs: folder, tag: "s3-again")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(BatchCLI.sceneLines(second.stderr).map { $0["status"] ?? "" } == ["skipped", "skipped", "skipped"], "\(second.stderr)")
        #expect(second.stdout.contains("all unchanged"), "\(second.stdout)")

        // An asset gone from the store: that scene only is redone, and republished.
        let preview = try #require(scenes.keys.sorted().first { $0.hasSuffix("_preview.png") })
        try server.delete(bucket: "maps", key: "run/a/" + preview)
        let third = try BatchCLI.run(["run", pipeline, "--output-folder", "s3://maps/run/a"], environment: environment, logs: folder, tag: "s3-third")
        #expect(third.status == 0, "\(third.stderr)")
        let lines = BatchCLI.sceneLines(third.stderr)
        #expect(lines.filter { $0["status"] == "skipped" }.count == 2, "\(third.stderr)")
        #expect(lines.filter { $0["status"] == "done" }.map { $0["reason"] ?? "" } == ["preview output missing"], "\(third.stderr)")
        #expect(try server.objects(bucket: "maps", prefix: "run/a/" + preview).count == 1)

        // The reports published beside the outputs, read back from the store.
        let history = try BatchCLI.run(["history", "--from", "s3://maps/run/a", "--json"], environment: environment, logs: folder, tag: "history")
        #expect(history.status == 0, "\(history.stderr)")
        let runs = (try CLI.json(history.stdout)["runs"] as? [[String: Any]]) ?? []
        #expect(runs.count == 3, "\(history.stdout)")
        let counts = runs.compactMap { ($0["run"] as? [String: Any])?["scenes"] as? [[String: Any]] }
            .map { $0.filter { $0["status"] as? String == "done" }.count }
        #expect(counts == [1, 0, 3], "newest first: \(counts)")
    }

    @Test func threeShardsAtOnceWithNoSharedFolderPublishEverySceneOnce() throws {
        let server = try S3TestServer.start()
        defer { server.stop() }
        try server.createBucket("maps")
        let (folder, _) = try BatchFixture.make(scenes: 9, size: 32)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The scenes are read from the store too: no shard sees another's files.
        try server.createBucket("scenes")
        let inputs = try Self.uploadScenes(folder, to: server, bucket: "scenes")
        let pipeline = try Self.writePipeline(in: folder, inputs: inputs)

        // Each shard has its own state and scratch folder, as pods without a volume.
        let shards = try (0..<3).map { index in
            try BatchCLI.Running(["run", pipeline, "--output-folder", "s3://maps/batch"],
                                 environment: Self.environment(server, local: folder.appendingPathComponent("pod\(index)"),
                                                               extra: ["JOB_COMPLETION_INDEX": "\(index)", "LANDCOVER_SHARD_COUNT": "3"]),
                                 logs: folder, tag: "shard\(index)")
        }
        var done: [String] = []
        for (index, shard) in shards.enumerated() {
            let result = shard.finish()
            #expect(result.status == 0, "shard \(index): \(result.stderr)")
            done += BatchCLI.sceneLines(result.stderr).filter { $0["status"] == "done" }.compactMap { $0["scene"] }
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("pod\(index)/state").path))
        }
        #expect(done.count == 9 && Set(done).count == 9, "each scene done once over the shards: \(done.sorted())")
        let download = folder.appendingPathComponent("download")
        try server.download(bucket: "maps", prefix: "batch", to: download)
        let objects = try Self.files(download)
        #expect(try Self.checkNoHalfPublishedScene(objects, comment: "three shards") == 9)
        #expect(Set(objects.keys.filter { $0.hasPrefix("landcover-report-shard-") }) ==
                ["landcover-report-shard-0-of-3.json", "landcover-report-shard-1-of-3.json", "landcover-report-shard-2-of-3.json"])

        let history = try BatchCLI.run(["history", "--from", "s3://maps/batch", "--json"], environment: server.environment, logs: folder, tag: "history")
        #expect(history.status == 0, "\(history.stderr)")
        let runs = ((try CLI.json(history.stdout)["runs"] as? [[String: Any]]) ?? []).compactMap { $0["run"] as? [String: Any] }
        #expect(Set(runs.compactMap { $0["shard"] as? String }) == ["0/3", "1/3", "2/3"], "\(history.stdout)")
    }

    /// Uploads the fixture's scenes to `bucket` (key `in/<name>`) and returns their `s3://` URLs.
    static func uploadScenes(_ folder: URL, to server: S3TestServer, bucket: String) throws -> [String] {
        let scenes = folder.appendingPathComponent("scenes")
        return try FileManager.default.contentsOfDirectory(atPath: scenes.path).filter { $0.hasSuffix(".tif") }.sorted().map { name in
            try server.upload(scenes.appendingPathComponent(name).path, bucket: bucket, key: "in/\(name)")
            return "s3://\(bucket)/in/\(name)"
        }
    }

    /// The fixture's pipeline with `inputs` (URLs) instead of the local scenes.
    static func writePipeline(in folder: URL, inputs: [String], output: String = "{folder: out, probabilities: true}") throws -> String {
        let path = folder.appendingPathComponent("pipeline-s3.yaml").path
        try """
        inputs: [\(inputs.joined(separator: ", "))]
        model: model.onnx
        output: \(output)
        runtime: {threads: 1, batch_size: 8}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Scenes read from S3 (`s3://` inputs through GDAL's /vsis3/) give the pixels of the same
    /// files read from disk; a rerun skips them (one HEAD per object), and re-uploading one
    /// object (a new ETag) redoes that scene only.
    @Test func s3InputsGiveTheLocalPixelsRerunSkipsAndANewObjectRedoesItsScene() throws {
        let server = try S3TestServer.start()
        defer { server.stop() }
        try server.createBucket("scenes")
        let (folder, localPipeline) = try BatchFixture.make(scenes: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputs = try Self.uploadScenes(folder, to: server, bucket: "scenes")
        let pipeline = try Self.writePipeline(in: folder, inputs: inputs, output: "{folder: remote-out, probabilities: true}")
        let local = try BatchCLI.run(["run", localPipeline, "--quiet"], logs: folder, tag: "local")
        #expect(local.status == 0, "\(local.stderr)")
        let first = try BatchCLI.run(["run", pipeline], environment: server.environment, logs: folder, tag: "s3-1")
        #expect(first.status == 0, "\(first.stderr)")
        var compared = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out").path)
            where name.hasSuffix("_landcover.tif") || name.hasSuffix("_probabilities.tif") {
            compared += 1
            let a = try PipelineFixtures.readBand(folder.appendingPathComponent("out/\(name)").path)
            let b = try PipelineFixtures.readBand(folder.appendingPathComponent("remote-out/\(name)").path)
            #expect(a.values == b.values, "\(name): pixels differ between local and S3 inputs")
        }
        #expect(compared == 4, "2 maps and 2 probability rasters compared, not \(compared)")
        let rerun = try BatchCLI.run(["run", pipeline], environment: server.environment, logs: folder, tag: "s3-2")
        #expect(BatchCLI.sceneLines(rerun.stderr).filter { $0["status"] == "skipped" }.count == 2, "\(rerun.stderr)")
        // A new upload of the first scene's object gets a new ETag (and time): that scene only is redone.
        let first0 = try #require(inputs.first)
        let name = URL(fileURLWithPath: first0).lastPathComponent
        try server.upload(folder.appendingPathComponent("scenes/\(name)").path, bucket: "scenes", key: "in/\(name)")
        let touched = try BatchCLI.run(["run", pipeline], environment: server.environment, logs: folder, tag: "s3-3")
        let lines = BatchCLI.sceneLines(touched.stderr)
        #expect(lines.filter { $0["status"] == "done" }.count == 1 && lines.filter { $0["status"] == "skipped" }.count == 1, "\(touched.stderr)")
    }

    @Test func killedMidUploadThenRerunLeavesNoHalfPublishedSceneAndEqualObjects() throws {
        let server = try S3TestServer.start()
        defer { server.stop() }
        try server.createBucket("maps")
        let (folder, pipeline) = try BatchFixture.make(scenes: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = try Self.environment(server, local: folder)

        let reference = try BatchCLI.run(["run", pipeline, "--output-folder", "s3://maps/reference"], environment: environment, logs: folder, tag: "reference")
        #expect(reference.status == 0, "\(reference.stderr)")

        // Paused after its 2nd upload (the first scene's map and its .aux.xml: no STAC item yet), then kill -9.
        let running = try BatchCLI.Running(["run", pipeline, "--output-folder", "s3://maps/killed"],
                                           environment: environment.merging(["LANDCOVER_TEST_PAUSE_AFTER_UPLOADS": "2"]) { $1 },
                                           logs: folder, tag: "killed")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOfFile: running.stderrPath, encoding: .utf8)) ?? "").contains("event=test_pause") {
            usleep(50_000)
        }
        kill(running.pid, SIGKILL)
        let killed = running.finish()
        #expect(killed.status == SIGKILL, "\(killed.stderr)")
        #expect(killed.stderr.contains("event=test_pause"), "\(killed.stderr)")
        let partial = try server.objects(bucket: "maps", prefix: "killed/")
        #expect(partial.count == 2 && !partial.contains { $0.key.hasSuffix(".stac.json") }, "assets without a STAC item: \(partial)")
        let midway = folder.appendingPathComponent("midway")
        try server.download(bucket: "maps", prefix: "killed", to: midway)
        #expect(try Self.checkNoHalfPublishedScene(Self.files(midway), comment: "after kill -9") == 0)

        let rerun = try BatchCLI.run(["run", pipeline, "--output-folder", "s3://maps/killed"], environment: environment, logs: folder, tag: "rerun")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(BatchCLI.sceneLines(rerun.stderr).compactMap { $0["reason"] }.contains("unpublished (assets without a STAC item)"), "\(rerun.stderr)")
        #expect(rerun.stderr.contains("removed a scratch folder left by an interrupted run"), "\(rerun.stderr)")

        let final = folder.appendingPathComponent("final"), expected = folder.appendingPathComponent("expected")
        try server.download(bucket: "maps", prefix: "killed", to: final)
        try server.download(bucket: "maps", prefix: "reference", to: expected)
        let finalScenes = Self.sceneFiles(try Self.files(final)), expectedScenes = Self.sceneFiles(try Self.files(expected))
        #expect(try Self.checkNoHalfPublishedScene(finalScenes, comment: "after the rerun") == 2)
        #expect(Set(finalScenes.keys) == Set(expectedScenes.keys))
        for (name, data) in expectedScenes where !name.hasSuffix(".stac.json") {
            #expect(finalScenes[name] == data, "\(name): differs from the uninterrupted run's object")
        }
        #expect(try Self.assetChecksums(finalScenes) == Self.assetChecksums(expectedScenes))
    }

    @Test func unreachableStoreFailsTheSceneWithOneLineNamingTheURL() throws {
        let server = try S3TestServer.start()
        defer { server.stop() }
        let (folder, pipeline) = try BatchFixture.make(scenes: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        // No bucket "missing": every upload is refused by the server.
        let result = try BatchCLI.run(["run", pipeline, "--output-folder", "s3://missing/maps"],
                                      environment: try Self.environment(server, local: folder, extra: ["GDAL_HTTP_MAX_RETRY": "1"]),
                                      logs: folder)
        #expect(result.status == 1, "\(result.stderr)")
        let failed = try #require(BatchCLI.sceneLines(result.stderr).first { $0["status"] == "failed" }, "\(result.stderr)")
        let error = failed["error"] ?? ""
        #expect(error.hasPrefix("s3://missing/maps/") && error.contains("upload failed") && !error.contains("\n"), "\(error)")
        #expect(error.contains("AWS_S3_ENDPOINT"), "\(error)")
    }
}

import Foundation
import RasterIO
import Testing
import TestSupport

/// Scenes read over HTTP through GDAL's `/vsicurl/`, from a real range-capable server on
/// loopback (`scripts/test_http_server.py`): the sample Sentinel-2 scene (13 JPEG2000 band files)
/// and a 13-band COG cut from it.
@Suite("landcover: remote inputs over HTTP", .serialized)
struct RemoteInputCLITests {
    static let sampleFolder = TestPaths.package("samples/s2l1c_33UUU_20170216_west")
    static let model = TestPaths.package("samples/model/landcover-33UUU.onnx")
    static let bandNames = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]

    /// `folder/served/west/*.jp2` (the sample's band files) and `folder/served/small.tif` (a
    /// 13-band COG of 160 x 128 pixels cut from the sample with `landcover stack` and gdal_translate).
    static func servedScenes(in folder: URL) throws -> URL {
        let served = folder.appendingPathComponent("served")
        let west = served.appendingPathComponent("west")
        try FileManager.default.createDirectory(at: west, withIntermediateDirectories: true)
        for band in bandNames {
            let name = "T33UUU_20170216T102101_\(band).jp2"
            try FileManager.default.copyItem(atPath: "\(sampleFolder)/\(name)", toPath: west.appendingPathComponent(name).path)
        }
        let stacked = folder.appendingPathComponent("stacked.tif").path
        try CommandLineTool.run(CLI.binary, ["stack", sampleFolder, "-o", stacked, "--resolution", "10"])
        try CommandLineTool.run("gdal_translate", ["-q", "-srcwin", "400", "300", "160", "128", "-of", "COG", stacked,
                                                   served.appendingPathComponent("small.tif").path])
        return served
    }

    /// A pipeline over two scenes, `west` (one file per band) and `small` (one COG), whose
    /// inputs are `base` + the file's path below `served/`.
    static func writePipeline(_ path: String, base: String, extraScenes: String = "") throws {
        let westFiles = bandNames.map { "\(base)/west/T33UUU_20170216T102101_\($0).jp2" }
        try """
        inputs:
          - paths: [\(westFiles.joined(separator: ", "))]
            name: west
          - path: \(base)/small.tif
            name: small
        \(extraScenes)
        model: \(model)
        resolution: 10
        tiling: {stride: 8}
        mode: segmentation
        output: {folder: out, format: cog, confidence: true, preview: false, stac: true}
        runtime: {memory_mb: 256}
        """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Every pixel of band 1 of a raster.
    static func pixels(_ path: String) throws -> BandBuffer {
        let dataset = try RasterDataset(path: path)
        return try dataset.read(window: RasterWindow(width: dataset.width, height: dataset.height), bands: [1])
    }

    static func metadata(_ path: String) throws -> [String: String] {
        (try TestRasters.gdalinfo(path)["metadata"] as? [String: Any])?[""] as? [String: String] ?? [:]
    }

    @Test func remoteScenesClassifyAsLocalOnesRerunSkipsTouchedObjectRedoesItsSceneOnly() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let served = try Self.servedScenes(in: folder)
        let server = try LoopbackServer.httpFiles(root: served)
        defer { server.stop() }

        let localFolder = folder.appendingPathComponent("local"), remoteFolder = folder.appendingPathComponent("remote")
        for sub in [localFolder, remoteFolder] { try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true) }
        let localPipeline = localFolder.appendingPathComponent("pipeline.yaml").path
        let remotePipeline = remoteFolder.appendingPathComponent("pipeline.yaml").path
        try Self.writePipeline(localPipeline, base: served.path)
        // The band files as GDAL paths, the COG as a plain URL (made /vsicurl/ by landcover).
        try Self.writePipeline(remotePipeline, base: "/vsicurl/\(server.baseURL)")
        try String(contentsOfFile: remotePipeline, encoding: .utf8)
            .replacingOccurrences(of: "path: /vsicurl/\(server.baseURL)/small.tif", with: "path: \(server.baseURL)/small.tif")
            .write(toFile: remotePipeline, atomically: true, encoding: .utf8)

        // validate shows how each band resolves from the URLs.
        let validate = try CLI.run(["validate", remotePipeline])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("\(server.baseURL)/west/T33UUU_20170216T102101_B8A.jp2"), "\(validate.stdout)")

        let local = try BatchCLI.run(["run", localPipeline], logs: localFolder)
        #expect(local.status == 0, "\(local.stderr)")
        let requestsBefore = server.log.count
        let remote = try BatchCLI.run(["run", remotePipeline], logs: remoteFolder)
        #expect(remote.status == 0, "\(remote.stderr)")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(remote.stderr)) == ["done": 2], "\(remote.stderr)")
        #expect(server.log.dropFirst(requestsBefore).contains { $0.hasPrefix("GET /small.tif bytes=") && $0.hasSuffix("-> 206") },
                "the COG is read with range requests: \(server.log.suffix(20))")

        // Same pixels in the map and the confidence raster; the provenance differs only where it
        // names the inputs (paths, fingerprint) and the pipeline (its output folder, its hash).
        for scene in ["west", "small"] {
            for suffix in ["_landcover.tif", "_landcover_confidence.tif"] {
                let name = scene + suffix
                let localMap = localFolder.appendingPathComponent("out/\(name)").path
                let remoteMap = remoteFolder.appendingPathComponent("out/\(name)").path
                #expect(try Self.pixels(localMap) == Self.pixels(remoteMap), "\(name) differs between the local and the HTTP run")
            }
            let localMetadata = try Self.metadata(localFolder.appendingPathComponent("out/\(scene)_landcover.tif").path)
            let remoteMetadata = try Self.metadata(remoteFolder.appendingPathComponent("out/\(scene)_landcover.tif").path)
            let differing = Set(localMetadata.keys).union(remoteMetadata.keys).filter { localMetadata[$0] != remoteMetadata[$0] }
            #expect(differing.isSubset(of: ["LANDCOVER_INPUTS", "LANDCOVER_INPUTS_FINGERPRINT", "LANDCOVER_SETTINGS_SHA256", "LANDCOVER_PIPELINE_SHA256"]),
                    "\(differing)")
            #expect(remoteMetadata["LANDCOVER_INPUTS"]?.contains("/vsicurl/\(server.baseURL)/") == true)
        }
        // The STAC item links the source objects by their URLs.
        let item = try CLI.json(String(contentsOfFile: remoteFolder.appendingPathComponent("out/small_landcover.stac.json").path, encoding: .utf8))
        let links = (item["links"] as? [[String: Any]]) ?? []
        #expect(links.contains { $0["rel"] as? String == "derived_from" && $0["href"] as? String == "\(server.baseURL)/small.tif" }, "\(links)")

        // A rerun asks the server for HEADs only and skips both scenes.
        let headsFrom = server.log.count
        let rerun = try BatchCLI.run(["run", remotePipeline], logs: remoteFolder, tag: "rerun")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(rerun.stderr)) == ["skipped": 2], "\(rerun.stderr)")
        let rerunRequests = server.log.dropFirst(headsFrom)
        #expect(!rerunRequests.isEmpty && rerunRequests.allSatisfy { $0.hasPrefix("HEAD ") }, "\(Array(rerunRequests))")

        // Touching one object (new Last-Modified and ETag) redoes its scene only.
        let small = served.appendingPathComponent("small.tif").path
        let touched = try #require(try FileManager.default.attributesOfItem(atPath: small)[.modificationDate] as? Date).addingTimeInterval(60)
        try FileManager.default.setAttributes([.modificationDate: touched], ofItemAtPath: small)
        let third = try BatchCLI.run(["run", remotePipeline], logs: remoteFolder, tag: "touched")
        #expect(third.status == 0, "\(third.stderr)")
        let lines = BatchCLI.sceneLines(third.stderr)
        #expect(lines.first { $0["scene"] == "small" }?["status"] == "done", "\(third.stderr)")
        #expect(lines.first { $0["scene"] == "small" }?["reason"] == "inputs changed", "\(third.stderr)")
        #expect(lines.first { $0["scene"] == "west" }?["status"] == "skipped", "\(third.stderr)")
    }

    @Test func trainAndEvaluateReadScenesOverHTTPAsFromDisk() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let served = folder.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        try TrainEvaluateTests.writeHalves(served)
        let server = try LoopbackServer.httpFiles(root: served)
        defer { server.stop() }
        var epochs: [String: [String]] = [:], accuracy: [String: String] = [:]
        for (label, scene) in [("local", served.appendingPathComponent("scene.tif").path), ("http", "\(server.baseURL)/scene.tif")] {
            let run = folder.appendingPathComponent(label)
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: served.appendingPathComponent("labels.tif"), to: run.appendingPathComponent("labels.tif"))
            try TinyScene.trainingFile(folder: run, epochs: 2).replacingOccurrences(of: "input: scene.tif", with: "input: \"\(scene)\"")
                .write(to: run.appendingPathComponent("train.yaml"), atomically: true, encoding: .utf8)
            let trained = try CLI.run(["train", run.appendingPathComponent("train.yaml").path])
            #expect(trained.status == 0, "\(label): \(trained.stderr)")
            epochs[label] = trained.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.map { $0.components(separatedBy: " lr ").first ?? "" }
            let evaluated = try CLI.run(["evaluate", run.appendingPathComponent("out/model.onnx").path, "--scene", scene,
                                         "--labels", run.appendingPathComponent("labels.tif").path, "--mode", "patch", "--stride", "16", "--json"])
            #expect(evaluated.status == 0, "\(label): \(evaluated.stderr)")
            let measures = try CLI.json(evaluated.stdout)["accuracy"] as? [String: Any] ?? [:]
            accuracy[label] = String(decoding: try JSONSerialization.data(withJSONObject: measures, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(epochs["local"]?.count == 2 && epochs["local"] == epochs["http"], "\(epochs)")
        #expect(accuracy["local"]?.isEmpty == false && accuracy["local"] == accuracy["http"], "\(accuracy)")
        #expect(server.log.contains { $0.hasPrefix("GET /scene.tif bytes=") }, "the scene was read over HTTP")
    }

    @Test func failingServersFailTheirSceneWithOneLineTheOthersAreDone() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let served = try Self.servedScenes(in: folder)
        let server = try LoopbackServer.httpFiles(root: served)
        defer { server.stop() }
        let pipeline = folder.appendingPathComponent("pipeline.yaml").path
        let url = server.baseURL
        try """
        inputs:
          - \(url)/small.tif
          - {path: "\(url)/fault/503/S2B_T33UUU_20240601.tif", name: unavailable}
          - {path: "\(url)/fault/429/S2B_T33UUU_20240602.tif", name: throttled}
          - {path: "\(url)/fault/stall/S2B_T33UUU_20240603.tif", name: stalled}
        model: \(Self.model)
        resolution: 10
        mode: segmentation
        output: {folder: out, preview: false}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        // Short network settings so that the stalled server costs seconds.
        let network = ["GDAL_HTTP_TIMEOUT": "2", "GDAL_HTTP_MAX_RETRY": "1", "GDAL_HTTP_RETRY_DELAY": "0.1"]
        let started = Date()
        let run = try BatchCLI.run(["run", pipeline], environment: network, logs: folder)
        #expect(Date().timeIntervalSince(started) < 60, "a stalled server must not hang the run")
        #expect(run.status == 1, "exit 1: some scenes failed, \(run.stderr)")
        let lines = BatchCLI.sceneLines(run.stderr)
        #expect(BatchRunCLITests.countStatuses(lines) == ["done": 1, "failed": 3], "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("ts=") }, "one line per event: \(run.stderr)")
        let errors = Dictionary(uniqueKeysWithValues: lines.filter { $0["status"] == "failed" }.map { ($0["scene"] ?? "", $0["error"] ?? "") })
        #expect(errors["unavailable"]?.hasPrefix("\(url)/fault/503/S2B_T33UUU_20240601.tif: HTTP 503 (server error)") == true, "\(errors)")
        #expect(errors["throttled"]?.hasPrefix("\(url)/fault/429/S2B_T33UUU_20240602.tif: HTTP 429 (too many requests)") == true, "\(errors)")
        #expect(errors["stalled"]?.hasPrefix("\(url)/fault/stall/S2B_T33UUU_20240603.tif: no HTTP response") == true, "\(errors)")
        // GDAL retried the 503 once (GDAL_HTTP_MAX_RETRY=1): two HEADs.
        #expect(server.log.filter { $0.hasPrefix("HEAD /fault/503/") }.count == 2, "\(server.log.filter { $0.contains("/fault/") })")
        let report = try CLI.json(String(contentsOf: folder.appendingPathComponent("out/landcover-report.json"), encoding: .utf8))
        let statuses = ((report["scenes"] as? [[String: Any]]) ?? []).compactMap { $0["status"] as? String }
        #expect(statuses.sorted() == ["done", "failed", "failed", "failed"], "\(report)")

        // URLs given after the pipeline file are scenes too (here one whose server fails).
        let extra = folder.appendingPathComponent("extra.yaml").path
        try String(contentsOfFile: pipeline, encoding: .utf8).split(separator: "\n")
            .filter { !$0.contains("/fault/") }.joined(separator: "\n")
            .replacingOccurrences(of: "folder: out,", with: "folder: out-extra,")
            .write(toFile: extra, atomically: true, encoding: .utf8)
        let withArgument = try BatchCLI.run(["run", extra, "\(url)/fault/500/S2B_T33UUU_20240604.tif"], environment: network, logs: folder, tag: "extra")
        #expect(withArgument.status == 1, "\(withArgument.stderr)")
        let extraLines = BatchCLI.sceneLines(withArgument.stderr)
        #expect(BatchRunCLITests.countStatuses(extraLines) == ["done": 1, "failed": 1], "\(withArgument.stderr)")
        #expect(extraLines.first { $0["status"] == "failed" }?["error"]?.hasPrefix("\(url)/fault/500/S2B_T33UUU_20240604.tif: HTTP 500") == true, "\(extraLines)")

        // Single-scene commands: one line naming the URL and the status; exit 4 (may work on a
        // retry) for 5xx, 2 for a missing object.
        let info = try CLI.run(["info", "\(url)/fault/503/x.tif"], environment: network)
        #expect(info.status == 4, "\(info.stderr)")
        #expect(info.stderr == "landcover: \(url)/fault/503/x.tif: HTTP 503 (server error) after GDAL_HTTP_MAX_RETRY retries; run again later (the scene is retried), or raise GDAL_HTTP_MAX_RETRY and GDAL_HTTP_RETRY_DELAY\n", "\(info.stderr)")
        let missing = try CLI.run(["info", "\(url)/nothing-here.tif"], environment: network)
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.hasPrefix("landcover: \(url)/nothing-here.tif: HTTP 404 (not found)"), "\(missing.stderr)")
        // A URL that works: info reads it over HTTP (the plain URL is made /vsicurl/).
        let good = try CLI.run(["info", "\(url)/small.tif", "--json"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("B8A"), "\(good.stdout)")
    }
}

import Foundation
import RasterIO
import Testing
import TestSupport

/// Whether the STAC API stack of ``STACSearchCLITests`` can start here.
enum STACAPIStack {
    static var installed: Bool {
        FileManager.default.fileExists(atPath: "/usr/lib/postgresql/15/bin/initdb")
            && FileManager.default.fileExists(atPath: "/usr/share/postgresql/15/extension/postgis.control")
            && (try? CommandLineTool.run("python3", ["-c", "import pypgstac, stac_fastapi.pgstac, uvicorn"])) != nil
    }
}

/// `stac_search` inputs against a real STAC API: stac-fastapi-pgstac over a throw-away
/// PostgreSQL 15 + PostGIS cluster (`scripts/stac_api_server.sh`), holding five items of the
/// sample Sentinel-2 crop (one COG per band, served over HTTP by `scripts/test_http_server.py`)
/// whose `eo:cloud_cover` is 5, 10, 15, 35 and 60.
@Suite("landcover: STAC API search as input", .serialized,
       .enabled(if: STACAPIStack.installed, "needs PostgreSQL 15 + PostGIS (scripts/install-clients.sh) and pypgstac, stac-fastapi.pgstac, uvicorn (scripts/setup.sh --python)"))
struct STACSearchCLITests {

    static let cloudCover: [(id: String, cover: Int)] = [
        ("S2B_clear05", 5), ("S2B_clear10", 10), ("S2B_clear15", 15), ("S2B_cloudy35", 35), ("S2B_cloudy60", 60),
    ]

    /// Starts the STAC API with the five items, whose band assets are at `assets` + key + `.tif`.
    /// Asks the STAC API script to stop (its stop file: SIGTERM may be blocked in the test
    /// runner's children), then stops the process.
    static func stopAPI(_ api: LoopbackServer, in folder: URL) {
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("pg/stop").path, contents: Data())
        let deadline = Date().addingTimeInterval(20)
        while api.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        api.stop()
    }

    static func startAPI(in folder: URL, assets: String) throws -> LoopbackServer {
        let collection: [String: Any] = [
            "type": "Collection", "stac_version": "1.0.0", "id": "s2-test", "description": "Sentinel-2 crops for landcover's tests",
            "license": "proprietary", "links": [],
            "extent": ["spatial": ["bbox": [[14.0, 47.0, 16.0, 49.0]]], "temporal": ["interval": [["2017-01-01T00:00:00Z", NSNull()]]]],
        ]
        try STACInputCLITests.writeJSON(collection, to: folder.appendingPathComponent("collection.json"))
        var lines: [String] = []
        for (index, entry) in cloudCover.enumerated() {
            var item = STACInputCLITests.item(id: entry.id, base: assets)
            item["collection"] = "s2-test"
            item["stac_version"] = "1.0.0"
            item["geometry"] = ["type": "Polygon", "coordinates": [[[14.9, 47.8], [15.0, 47.8], [15.0, 47.9], [14.9, 47.9], [14.9, 47.8]]]]
            item["bbox"] = [14.9, 47.8, 15.0, 47.9]
            item["properties"] = ["datetime": "2017-02-1\(index)T10:21:01Z", "platform": "sentinel-2b", "eo:cloud_cover": entry.cover]
            let data = try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("items.ndjson"), atomically: true, encoding: .utf8)
        return try LoopbackServer("bash", [TestPaths.package("scripts/stac_api_server.sh"), folder.appendingPathComponent("pg").path,
                                           folder.appendingPathComponent("collection.json").path, folder.appendingPathComponent("items.ndjson").path],
                                  timeout: 180) { line in
            guard line.hasPrefix("listening on http://127.0.0.1:") else { return nil }
            return Int(line.split(separator: ":").last ?? "")
        }
    }

    static func writePipeline(_ path: String, search: String) throws {
        try STACInputCLITests.writePipeline(path, inputsBlock: "  - stac_search:\n" + search.split(separator: "\n").map { "      \($0)" }.joined(separator: "\n"))
    }

    @Test func aCloudCoverQueryClassifiesExactlyTheMatchingItemsOverSeveralPages() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let served = try RemoteInputCLITests.servedScenes(in: folder)
        let small = served.appendingPathComponent("small.tif").path
        try STACInputCLITests.writeBandFiles(from: small, into: served.appendingPathComponent("item"))
        let files = try LoopbackServer.httpFiles(root: served)
        defer { files.stop() }
        let api = try Self.startAPI(in: folder, assets: "\(files.baseURL)/item/")
        defer { Self.stopAPI(api, in: folder) }

        // The reference: the 13-band file the band COGs were cut from.
        let reference = folder.appendingPathComponent("reference")
        try FileManager.default.createDirectory(at: reference, withIntermediateDirectories: true)
        try STACInputCLITests.writePipeline(reference.appendingPathComponent("pipeline.yaml").path, inputs: [small])
        let local = try BatchCLI.run(["run", reference.appendingPathComponent("pipeline.yaml").path], logs: reference)
        #expect(local.status == 0, "\(local.stderr)")
        let expectedPixels = try RemoteInputCLITests.pixels(reference.appendingPathComponent("out/small_undated.tif").path)

        // limit 2: the three matching items come in two pages, through the API's `next` link.
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let pipeline = run.appendingPathComponent("pipeline.yaml").path
        try Self.writePipeline(pipeline, search: """
            url: \(api.baseURL)
            collections: [s2-test]
            bbox: [14.5, 47.5, 15.5, 48.5]
            datetime: 2017-01-01T00:00:00Z/2017-12-31T23:59:59Z
            query: {"eo:cloud_cover": {lt: 20}}
            limit: 2
            """)
        let matching = ["S2B_clear05", "S2B_clear10", "S2B_clear15"]

        let validate = try CLI.run(["validate", pipeline])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("3 item(s) in 2 page(s)"), "\(validate.stdout)")
        for (id, cover) in Self.cloudCover {
            let listed = validate.stdout.contains("item \(id): ")
            #expect(listed == matching.contains(id), "\(id): \(validate.stdout)")
            if listed { #expect(validate.stdout.contains("cloud cover \(cover) %"), "\(validate.stdout)") }
        }
        let json = try CLI.json(try CLI.run(["validate", "--json", pipeline]).stdout)
        let searched = try #require((json["searches"] as? [[String: Any]])?.first)
        let items = searched["items"] as? [[String: Any]] ?? []
        #expect(Set(items.compactMap { $0["id"] as? String }) == Set(matching), "\(items)")
        #expect(items.allSatisfy { ($0["cloud_cover"] as? Double ?? 100) < 20 && ($0["datetime"] as? String)?.hasPrefix("2017-02-1") == true }, "\(items)")

        let result = try BatchCLI.run(["run", pipeline], logs: run)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(result.stderr)) == ["done": 3], "\(result.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("out").path)
        #expect(written.filter { $0.hasSuffix(".tif") }.sorted() == matching.enumerated().map { "\($1)_2017-02-1\($0).tif" }.sorted(), "\(written)")
        for (index, id) in matching.enumerated() {
            let map = run.appendingPathComponent("out/\(id)_2017-02-1\(index).tif").path
            #expect(try RemoteInputCLITests.pixels(map) == expectedPixels, "\(id): the searched item's bands give the map of the 13-band file")
            let item = try CLI.json(String(contentsOfFile: run.appendingPathComponent("out/\(id)_2017-02-1\(index).stac.json").path, encoding: .utf8))
            let derived = ((item["links"] as? [[String: Any]]) ?? []).filter { $0["rel"] as? String == "derived_from" }.compactMap { $0["href"] as? String }
            #expect(derived.first == "\(api.baseURL)/collections/s2-test/items/\(id)", "the output links its source item: \(derived)")
            #expect(derived.contains("\(files.baseURL)/item/red.tif"), "\(derived)")
        }
        let report = try CLI.json(String(contentsOf: run.appendingPathComponent("out/landcover-report.json"), encoding: .utf8))
        let reported = try #require((report["searches"] as? [[String: Any]])?.first)
        #expect(Set(reported["items"] as? [String] ?? []) == Set(matching), "\(reported)")
        #expect(reported["pages"] as? Int == 2, "\(reported)")
        #expect((reported["search"] as? String)?.contains("eo:cloud_cover") == true, "\(reported)")

        // A rerun searches again and skips the three unchanged items.
        let rerun = try BatchCLI.run(["run", pipeline], logs: run, tag: "rerun")
        #expect(BatchRunCLITests.countStatuses(BatchCLI.sceneLines(rerun.stderr)) == ["skipped": 3], "\(rerun.stderr)")

        // The same selection as a CQL2 JSON filter, in one page.
        let filtered = folder.appendingPathComponent("filtered.yaml").path
        try Self.writePipeline(filtered, search: """
            url: \(api.baseURL)/
            collections: [s2-test]
            filter: {op: "<", args: [{property: "eo:cloud_cover"}, 20]}
            """)
        let filterValidate = try CLI.run(["validate", filtered])
        #expect(filterValidate.status == 0, "\(filterValidate.stderr)")
        #expect(filterValidate.stdout.contains("3 item(s) in 1 page(s)"), "\(filterValidate.stdout)")
        #expect(matching.allSatisfy { filterValidate.stdout.contains("item \($0): ") } && !filterValidate.stdout.contains("cloudy"), "\(filterValidate.stdout)")

        // max_items stops the search (and says so).
        let capped = folder.appendingPathComponent("capped.yaml").path
        try Self.writePipeline(capped, search: "url: \(api.baseURL)\ncollections: [s2-test]\nlimit: 2\nmax_items: 3")
        let cappedValidate = try CLI.run(["validate", capped])
        #expect(cappedValidate.stdout.contains("3 item(s) in 2 page(s), stopped at max_items"), "\(cappedValidate.stdout)")
    }

    @Test func anUnreachableAPIIsOneLineNamingTheURL() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let port = try LoopbackServer.freePort()
        let pipeline = folder.appendingPathComponent("pipeline.yaml").path
        try Self.writePipeline(pipeline, search: "url: http://127.0.0.1:\(port)\ncollections: [s2-test]")
        let result = try CLI.run(["validate", pipeline], environment: ["GDAL_HTTP_MAX_RETRY": "0", "GDAL_HTTP_TIMEOUT": "5"])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("landcover: http://127.0.0.1:\(port)/search: no HTTP response"), "\(result.stderr)")
    }

    @Test func searchKeysAreReadStrictly() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pipeline = folder.appendingPathComponent("pipeline.yaml").path
        for (search, expected) in [
            ("url: http://127.0.0.1:1\ncolections: [a]", "did you mean"),
            ("url: http://127.0.0.1:1\nlimit: 0", "limit"),
            ("url: http://127.0.0.1:1\nmax_items: 1000000", "max_items"),
            ("url: ftp://x", "http(s)"),
            ("url: http://127.0.0.1:1\nbbox: [1, 2, 3]", "bbox"),
        ] {
            try Self.writePipeline(pipeline, search: search)
            let result = try CLI.run(["validate", pipeline])
            #expect(result.status == 2, "\(search): \(result.stderr)")
            #expect(result.stderr.contains(expected) && result.stderr.split(separator: "\n").count == 1, "\(search): \(result.stderr)")
        }
    }
}

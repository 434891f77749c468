import Foundation
import RasterIO
import TestSupport
import Testing

/// The run page (`reports/run-*.html`) and the history page (`landcover history --html`) opened
/// in a real browser, Debian's headless Chromium (installed by scripts/install-clients.sh): no
/// console errors, every preview image decoded, a screenshot that is not blank, and a failed
/// scene's error on the page, escaped.
@Suite("run and history pages in headless Chromium", .serialized)
struct RunPageBrowserTests {
    /// Chromium's path, or nil (with the reason printed) when it could not be installed.
    static func chromium() -> String? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        print("SKIPPED: chromium is not installed; scripts/install-clients.sh could not install it")
        return nil
    }

    /// Runs headless Chromium on `page` with `arguments`, with its own profile folder and a hang
    /// bound of 60 s; returns its output.
    static func browse(_ browser: String, _ page: String, _ arguments: [String], scratch: URL) throws -> CLI.Result {
        let profile = try TestPaths.temporaryFolder("chromium-profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        return try CLI.run(["60", browser, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
                            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"] + arguments
                               + [URL(fileURLWithPath: page).absoluteString],
                           executable: "/usr/bin/timeout", environment: ["HOME": scratch.path])
    }

    /// Console messages of the page (errors, warnings, log lines) in Chromium's stderr.
    static func consoleMessages(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
    }

    /// Opens `page` three ways: a screenshot (decoded with GDAL: the pixels must vary), the DOM
    /// after load, and a copy with a probe script that counts the images that did not decode
    /// (`naturalWidth` 0). Returns the DOM and the number of images.
    static func check(page: String, browser: String, scratch: URL) throws -> (dom: String, images: Int) {
        let screenshot = scratch.appendingPathComponent(URL(fileURLWithPath: page).lastPathComponent + ".png").path
        let shot = try browse(browser, page, ["--screenshot=\(screenshot)", "--window-size=1200,1600", "--hide-scrollbars"], scratch: scratch)
        #expect(shot.status == 0, "\(shot.stderr)")
        #expect(consoleMessages(shot.stderr).isEmpty, "console: \(consoleMessages(shot.stderr))")
        let picture = try RasterDataset(path: screenshot)
        #expect(picture.width == 1200 && picture.height == 1600)
        let bands = Array(1...min(3, picture.bands.count))
        let values = try picture.read(window: RasterWindow(width: picture.width, height: picture.height), bands: bands).values
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        let distinct = Set(values.prefix(1_000_000).map { Int($0) }).count
        #expect(variance > 100 && distinct > 20, "screenshot looks blank: variance \(variance), \(distinct) distinct values")

        let dumped = try browse(browser, page, ["--dump-dom"], scratch: scratch)
        #expect(dumped.status == 0 && dumped.stdout.contains("</html>"), "\(dumped.stderr)")
        #expect(consoleMessages(dumped.stderr).isEmpty, "console: \(consoleMessages(dumped.stderr))")

        // The probe: a copy of the page beside it (same relative links) that marks, after load,
        // how many images there are and how many did not decode.
        let probe = (page as NSString).deletingLastPathComponent + "/probe-" + URL(fileURLWithPath: page).lastPathComponent
        defer { try? FileManager.default.removeItem(atPath: probe) }
        let script = """
        <script>window.addEventListener("load", () => { const images = Array.from(document.images);
        document.body.setAttribute("data-images", String(images.length));
        document.body.setAttribute("data-broken", String(images.filter(i => !i.complete || i.naturalWidth === 0).length)); });</script>
        """
        let html = try String(contentsOfFile: page, encoding: .utf8).replacingOccurrences(of: "</body>", with: script + "</body>")
        try html.write(toFile: probe, atomically: true, encoding: .utf8)
        let probed = try browse(browser, probe, ["--dump-dom"], scratch: scratch)
        #expect(consoleMessages(probed.stderr).isEmpty, "console: \(consoleMessages(probed.stderr))")
        func attribute(_ name: String) -> Int? {
            guard let range = probed.stdout.range(of: "\(name)=\"") else { return nil }
            return Int(probed.stdout[range.upperBound...].prefix { $0.isNumber })
        }
        let images = try #require(attribute("data-images"), "the probe did not run: \(probed.stdout.prefix(400))")
        #expect(attribute("data-broken") == 0, "images that did not decode: \(attribute("data-broken") ?? -1) of \(images)")
        return (dumped.stdout, images)
    }

    /// Two runs of a two-scene batch: a clean one, then one with a damaged scene whose name holds
    /// `<`, `>` and `&`; and the history page of both.
    struct Runs {
        let folder: URL
        /// The run pages, in run order.
        let pages: [String]
        /// The damaged scene's error, as logged.
        let error: String
        let historyPage: String

        init(_ label: String = #function) throws {
            let (folder, pipeline) = try BatchFixture.make(label, scenes: 2, output: "{folder: out, stac: false}")
            self.folder = folder
            let first = try BatchCLI.run(["run", pipeline], logs: folder)
            #expect(first.status == 0, "\(first.stderr)")
            let reports = folder.appendingPathComponent("out/reports")
            func pages() throws -> [String] {
                try FileManager.default.contentsOfDirectory(atPath: reports.path).filter { $0.hasSuffix(".html") }.sorted()
                    .map { reports.appendingPathComponent($0).path }
            }
            let firstPages = try pages()
            #expect(firstPages.count == 1)
            let json = try FileManager.default.contentsOfDirectory(atPath: reports.path).filter { $0.hasSuffix(".json") }
            #expect(json.map { ($0 as NSString).deletingPathExtension } == firstPages.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension },
                    "the page has the JSON report's base name")

            try Data("not a raster".utf8).write(to: folder.appendingPathComponent("scenes/S2X_T33UU7_20240107_<x>&y.tif"))
            let second = try BatchCLI.run(["run", pipeline], logs: folder)
            #expect(second.status == 1, "\(second.stderr)")
            let failedLine = try #require(BatchCLI.sceneLines(second.stderr).first { $0["status"] == "failed" })
            error = try #require(failedLine["error"])
            let secondPage = try #require(try pages().first { !firstPages.contains($0) })
            self.pages = firstPages + [secondPage]

            historyPage = folder.appendingPathComponent("history page/runs.html").path
            try FileManager.default.createDirectory(atPath: (historyPage as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let drawn = try BatchCLI.run(["history", pipeline, "--html", historyPage], logs: folder, tag: "history")
            #expect(drawn.status == 0 && drawn.stdout.contains("2 run(s)"), "\(drawn.stdout) \(drawn.stderr)")
        }
    }

    /// The clean run's page and the history page: no console errors, previews decoded, not blank;
    /// the page needs nothing but itself (no script, nothing fetched) and links outputs relatively.
    @Test func runPageAndHistoryPageOpenWithoutErrors() throws {
        let runs = try Runs()
        defer { try? FileManager.default.removeItem(at: runs.folder) }
        let source = try String(contentsOfFile: runs.pages[0], encoding: .utf8)
        #expect(!source.contains("<script") && !source.contains("src=\"http") && !source.contains("url("))
        #expect(source.contains("href=\"../S2X_T33UU0_20240101_landcover.tif\""), "links to the outputs are relative")
        #expect(source.contains("data:image/png;base64,"))

        guard let browser = Self.chromium() else { return }
        let scratch = try TestPaths.temporaryFolder("chromium-scratch")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let clean = try Self.check(page: runs.pages[0], browser: browser, scratch: scratch)
        #expect(clean.images == 2, "one preview per scene")
        #expect(clean.dom.contains("S2X_T33UU0_20240101") && clean.dom.contains("water"))

        let history = try Self.check(page: runs.historyPage, browser: browser, scratch: scratch)
        #expect(history.images == 0)
        #expect(history.dom.contains("<svg") && history.dom.contains("Failures over time"))
        #expect(history.dom.contains("href=\"../out/reports/"), "each run links its page")
    }

    /// The run with a damaged scene: its error text is on the page as text (escaped: the `<x>`
    /// of the scene's name is no element), and the skipped scenes keep their previews.
    @Test func failedSceneErrorIsOnThePage() throws {
        let runs = try Runs()
        defer { try? FileManager.default.removeItem(at: runs.folder) }
        guard let browser = Self.chromium() else { return }
        let scratch = try TestPaths.temporaryFolder("chromium-scratch")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let failed = try Self.check(page: runs.pages[1], browser: browser, scratch: scratch)
        #expect(failed.images == 2, "the two skipped scenes keep their previews")
        let escaped = runs.error.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        #expect(failed.dom.contains(escaped), "the error text is on the page: \(runs.error)")
        #expect(!failed.dom.contains("<x>"), "the scene name became an element")
    }
}

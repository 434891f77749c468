import Foundation
import Products
import Testing

/// The run page and history page as text: everything that comes from scenes, errors and paths is
/// escaped, links are relative, and the page needs nothing outside itself.
@Suite("run and history pages")
struct RunPageTests {
    static let hostile = "T33<script>alert(1)</script>&\"'"

    static func page() -> RunPage {
        let scene = RunPage.Scene(name: hostile, status: "failed", reason: "new", error: "landcover: /data/\(hostile).tif: not a raster; check it",
                                  inputs: ["/data/\(hostile).tif"])
        let done = RunPage.Scene(name: "T33UUU", status: "done", reason: "new", width: 64, height: 32, epsg: 32633, mode: "patch", patches: 8,
                                 stages: [RunPage.Stage(name: "read", seconds: 0.5), RunPage.Stage(name: "infer", seconds: 1.5)], wallSeconds: 2,
                                 classes: [RunPage.ClassShare(name: "water", color: "#0064c8", pixels: 30),
                                           RunPage.ClassShare(name: "forest\"><b>", color: "red;}", pixels: 10)],
                                 nodataPixels: 0, previewPNG: Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]),
                                 links: [RunPage.Link(label: "map", href: HTMLPage.relativeHref(from: "/out/reports", to: "/out/T33 UUU#1.tif"),
                                                      name: "T33 UUU#1.tif")])
        return RunPage(title: "night<ly>", status: "failed", started: "2026-12-07T22:00:00Z", finished: "2026-12-07T22:00:05Z", seconds: 5,
                       version: "1.0", pipelinePath: "/p/night.yaml", modelPath: "/m.onnx", modelSHA256: "ab", workers: 2, runID: 7,
                       shard: nil, forced: false, reportHref: "run-1.json", scenes: [done, scene])
    }

    @Test func everythingFromInputsIsEscaped() {
        let html = Self.page().html()
        #expect(!html.contains("<script"), "no script, escaped or ours")
        #expect(!html.contains(Self.hostile) && html.contains("T33&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"))
        #expect(!html.contains("<b>") && html.contains("forest&quot;&gt;&lt;b&gt;"))
        #expect(!html.contains("red;}") && html.contains("fill=\"#9e9e9e\""), "a colour that is not #rrggbb is replaced")
        #expect(html.contains("night&lt;ly&gt;"))
        #expect(html.contains("<pre class=\"error\">landcover: /data/T33&lt;script&gt;"))
        #expect(html.contains("src=\"data:image/png;base64,\(Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).base64EncodedString())\""))
        #expect(html.contains("href=\"../T33%20UUU%231.tif\""))
        #expect(html.contains("75.0 %") && html.contains("25.0 %"), "class shares")
    }

    @Test func relativeLinks() {
        #expect(HTMLPage.relativeHref(from: "/out/reports", to: "/out/a.tif") == "../a.tif")
        #expect(HTMLPage.relativeHref(from: "/out/reports", to: "/out/reports/run.json") == "run.json")
        #expect(HTMLPage.relativeHref(from: "/a/b/c", to: "/a/x/y.tif") == "../../x/y.tif")
        #expect(HTMLPage.relativeHref(from: "/out", to: "/out/é ?.tif") == "%C3%A9%20%3F.tif")
    }

    @Test func historyPageDrawsEveryRun() {
        var runs: [HistoryPage.Run] = []
        for id in (1...5).reversed() {
            let failed = id == 3
            let seconds = Double(id) * 10
            runs.append(HistoryPage.Run(id: Int64(id), started: "2026-12-0\(id)T06:00:00Z", status: failed ? "failed" : "done",
                                        error: failed ? "disk <full>" : nil, seconds: seconds, scenes: 4, done: failed ? 2 : 4, skipped: 0,
                                        failed: failed ? 2 : 0, shard: nil, forced: false, pipelinePath: "/p.yaml",
                                        pageHref: "../reports/run-\(id).html"))
        }
        let html = HistoryPage(historyPath: "/out/h.sqlite", pipelinePath: "/p.yaml", runs: runs, generated: "now").html()
        #expect(html.components(separatedBy: "<svg").count - 1 == 3)
        #expect(html.components(separatedBy: "<circle").count - 1 == 5, "one point per run on the failure line")
        #expect(html.contains("run 3 (2026-12-03T06:00:00Z): 2 failed"))
        #expect(html.contains("disk &lt;full&gt;") && !html.contains("<full>"))
        #expect(html.contains("<a href=\"../reports/run-1.html\">1</a>"))
        #expect(!html.contains("<script"))
        let empty = HistoryPage(historyPath: "/h", pipelinePath: nil, runs: [], generated: "now").html()
        #expect(empty.contains("No runs recorded."))
    }
}

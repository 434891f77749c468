import Foundation

/// The run page: one self-contained HTML file per `landcover run`, beside its JSON report
/// (`reports/run-<UTC start>-<run id>.html`). It shows the run (status, times, model, pipeline),
/// per scene its preview (the PNG embedded as a `data:` URI, legend included), its class shares
/// as an inline SVG bar chart in the map's colours, its seconds per stage, relative links to its
/// outputs, and, for skipped and failed scenes, the reason and the error (HTML-escaped). No
/// script, nothing fetched: it opens from a file.
public struct RunPage: Sendable, Equatable {
    /// Pixels of one class of a map.
    public struct ClassShare: Sendable, Equatable {
        public var name: String
        /// `#rrggbb`; nil draws grey.
        public var color: String?
        public var pixels: Int

        public init(name: String, color: String?, pixels: Int) {
            self.name = name
            self.color = color
            self.pixels = pixels
        }
    }

    /// A link to an output file.
    public struct Link: Sendable, Equatable {
        /// What the file is (`map`, `preview`, `STAC item`, ...).
        public var label: String
        /// The relative URL from the page's folder (see ``HTMLPage/relativeHref(from:to:)``).
        public var href: String
        /// The file name shown.
        public var name: String

        public init(label: String, href: String, name: String) {
            self.label = label
            self.href = href
            self.name = name
        }
    }

    /// Seconds of one stage of a scene.
    public struct Stage: Sendable, Equatable {
        public var name: String
        public var seconds: Double

        public init(name: String, seconds: Double) {
            self.name = name
            self.seconds = seconds
        }
    }

    /// One scene of the run.
    public struct Scene: Sendable, Equatable {
        public var name: String
        /// `done`, `skipped` or `failed`.
        public var status: String
        /// Why it ran or was skipped.
        public var reason: String?
        /// The error of a failed scene (one line, as logged).
        public var error: String?
        public var inputs: [String]
        /// Output grid, EPSG code, mode and patches, when known.
        public var width: Int?
        public var height: Int?
        public var epsg: Int?
        public var mode: String?
        public var patches: Int?
        /// Seconds per stage in order (`read`, `convert`, `infer`, `write`, `polygonize`; summed
        /// over threads) and the scene's wall seconds.
        public var stages: [Stage]
        public var wallSeconds: Double?
        /// The class histogram of the map and its nodata pixels.
        public var classes: [ClassShare]
        public var nodataPixels: Int?
        /// The preview PNG's bytes, embedded as a `data:` URI; nil when there is none.
        public var previewPNG: Data?
        /// Why a preview that exists is not embedded (too large, unreadable).
        public var previewNote: String?
        /// Relative links to the scene's outputs.
        public var links: [Link]

        public init(name: String, status: String, reason: String? = nil, error: String? = nil, inputs: [String] = [],
                    width: Int? = nil, height: Int? = nil, epsg: Int? = nil, mode: String? = nil, patches: Int? = nil,
                    stages: [Stage] = [], wallSeconds: Double? = nil, classes: [ClassShare] = [],
                    nodataPixels: Int? = nil, previewPNG: Data? = nil, previewNote: String? = nil, links: [Link] = []) {
            self.name = name
            self.status = status
            self.reason = reason
            self.error = error
            self.inputs = inputs
            self.width = width
            self.height = height
            self.epsg = epsg
            self.mode = mode
            self.patches = patches
            self.stages = stages
            self.wallSeconds = wallSeconds
            self.classes = classes
            self.nodataPixels = nodataPixels
            self.previewPNG = previewPNG
            self.previewNote = previewNote
            self.links = links
        }
    }

    /// The page's heading (the pipeline's name).
    public var title: String
    /// `done` or `failed`.
    public var status: String
    /// Start and end (ISO 8601, UTC) and wall seconds.
    public var started: String
    public var finished: String
    public var seconds: Double
    public var version: String
    public var pipelinePath: String?
    public var modelPath: String
    public var modelSHA256: String
    public var workers: Int
    public var runID: Int64?
    /// `K/N` for a shard.
    public var shard: String?
    public var forced: Bool
    /// Relative link to the JSON report beside the page.
    public var reportHref: String?
    public var scenes: [Scene]

    public init(title: String, status: String, started: String, finished: String, seconds: Double, version: String,
                pipelinePath: String?, modelPath: String, modelSHA256: String, workers: Int, runID: Int64?, shard: String?,
                forced: Bool, reportHref: String?, scenes: [Scene]) {
        self.title = title
        self.status = status
        self.started = started
        self.finished = finished
        self.seconds = seconds
        self.version = version
        self.pipelinePath = pipelinePath
        self.modelPath = modelPath
        self.modelSHA256 = modelSHA256
        self.workers = workers
        self.runID = runID
        self.shard = shard
        self.forced = forced
        self.reportHref = reportHref
        self.scenes = scenes
    }

    /// The page as UTF-8 HTML.
    public func html() -> String {
        let e = HTMLPage.escape
        let count = { (status: String) in scenes.filter { $0.status == status }.count }
        var body = "<h1>landcover run" + (runID.map { " \($0)" } ?? "") + ": \(e(title))</h1>\n"
        body += "<p>\(HTMLPage.statusBadge(status)) \(scenes.count) scene(s): \(count("done")) done, \(count("skipped")) skipped, "
            + "\(count("failed")) failed in \(e(HTMLPage.duration(seconds)))" + (forced ? " (forced)" : "") + "</p>\n"
        var rows: [(String, String)] = [("started", started), ("finished", finished), ("pipeline", pipelinePath ?? "-"),
                                        ("model", modelPath), ("model SHA-256", modelSHA256), ("workers", "\(workers)"),
                                        ("landcover", version)]
        if let shard { rows.append(("shard", shard)) }
        body += "<table>" + rows.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined() + "</table>\n"
        if let reportHref { body += "<p class=\"muted\">JSON report: <a href=\"\(e(reportHref))\">\(e(reportHref))</a></p>\n" }

        let problems = scenes.filter { $0.status != "done" }
        if !problems.isEmpty {
            body += "<h2 id=\"problems\">Skipped and failed scenes</h2>\n<table><tr><th>scene</th><th>status</th><th>reason / error</th></tr>"
            for scene in problems {
                let detail = scene.error.map { "<pre class=\"error\">\(e($0))</pre>" } ?? e(scene.reason ?? "")
                body += "<tr><td>\(e(scene.name))</td><td>\(HTMLPage.statusBadge(scene.status))</td><td>\(detail)</td></tr>"
            }
            body += "</table>\n"
        }

        let timed = scenes.filter { !$0.stages.isEmpty }
        if !timed.isEmpty {
            body += "<h2>Seconds per stage</h2>\n<p class=\"muted\">Summed over the threads of each stage; wall = the scene's elapsed time.</p>\n"
            let names = timed[0].stages.map(\.name)
            body += "<table><tr><th>scene</th>" + names.map { "<th>\(e($0))</th>" }.joined() + "<th>wall</th></tr>"
            for scene in timed {
                body += "<tr><td>\(e(scene.name))</td>"
                    + scene.stages.map { "<td class=\"num\">\(String(format: "%.2f", $0.seconds))</td>" }.joined()
                    + "<td class=\"num\">\(scene.wallSeconds.map { String(format: "%.2f", $0) } ?? "-")</td></tr>"
            }
            body += "</table>\n"
            let stageColors = ["#5c6bc0", "#26a69a", "#ef5350", "#ffa726", "#8d6e63", "#78909c"]
            for scene in timed {
                let bars = scene.stages.enumerated().map { index, stage in
                    (label: stage.name, value: stage.seconds, color: stageColors[index % stageColors.count], valueText: String(format: "%.2f s", stage.seconds))
                }
                body += "<div class=\"muted\">\(e(scene.name))</div>" + HTMLPage.horizontalBars(bars, title: "seconds per stage of \(scene.name)") + "\n"
            }
        }

        body += "<h2>Scenes</h2>\n"
        for scene in scenes { body += section(scene) }
        return HTMLPage.document(title: "landcover run \(runID.map { "\($0) " } ?? "")- \(title)", body: body)
    }

    private func section(_ scene: Scene) -> String {
        let e = HTMLPage.escape
        var html = "<div class=\"scene\"><h3>\(e(scene.name)) \(HTMLPage.statusBadge(scene.status))</h3>\n"
        var facts: [String] = []
        if let reason = scene.reason { facts.append(e(reason)) }
        if let width = scene.width, let height = scene.height { facts.append("\(width) x \(height) pixels") }
        if let epsg = scene.epsg { facts.append("EPSG:\(epsg)") }
        if let mode = scene.mode { facts.append("\(e(mode)) mode") }
        if let patches = scene.patches { facts.append("\(patches) patches") }
        if let wall = scene.wallSeconds { facts.append(e(HTMLPage.duration(wall))) }
        if !facts.isEmpty { html += "<p class=\"muted\">\(facts.joined(separator: " &middot; "))</p>\n" }
        if !scene.inputs.isEmpty { html += "<p class=\"muted\">inputs: \(scene.inputs.map(e).joined(separator: ", "))</p>\n" }
        if let error = scene.error { html += "<pre class=\"error\">\(e(error))</pre>\n" }
        if let png = scene.previewPNG {
            html += "<img class=\"preview\" alt=\"preview of \(e(scene.name)) with its legend\" src=\"data:image/png;base64,\(png.base64EncodedString())\">\n"
        } else if let note = scene.previewNote {
            html += "<p class=\"muted\">\(e(note))</p>\n"
        }
        let total = scene.classes.reduce(0) { $0 + $1.pixels }
        if total > 0 {
            let bars = scene.classes.map { share in
                (label: share.name, value: Double(share.pixels), color: HTMLPage.safeColor(share.color),
                 valueText: String(format: "%.1f %% (%d px)", Double(share.pixels) * 100 / Double(total), share.pixels))
            }
            html += "<div>Class shares" + (scene.nodataPixels.map { $0 > 0 ? " (\($0) nodata pixels left out)" : "" } ?? "") + "</div>"
            html += HTMLPage.horizontalBars(bars, title: "class shares of \(scene.name)") + "\n"
        }
        if !scene.links.isEmpty {
            html += "<ul class=\"links\">" + scene.links.map {
                "<li>\(e($0.label)): <a href=\"\(e($0.href))\">\(e($0.name))</a></li>"
            }.joined() + "</ul>\n"
        }
        return html + "</div>\n"
    }
}

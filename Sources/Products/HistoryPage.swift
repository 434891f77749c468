import Foundation

/// The history page (`landcover history --html OUT.html`): the recent runs of a run history as
/// one self-contained HTML file, with inline SVG charts of each run's duration (coloured by
/// status), its scenes (done, skipped, failed stacked) and the failed scenes over time, and a
/// table of the runs linking to their run pages. No script, nothing fetched.
public struct HistoryPage: Sendable, Equatable {
    /// One run of the history.
    public struct Run: Sendable, Equatable {
        public var id: Int64
        /// Start (ISO 8601, UTC).
        public var started: String
        /// `running`, `done`, `failed` or `interrupted`.
        public var status: String
        /// The run's own error, when it failed as a whole.
        public var error: String?
        public var seconds: Double?
        public var scenes: Int
        public var done: Int
        public var skipped: Int
        public var failed: Int
        public var shard: String?
        public var forced: Bool
        public var pipelinePath: String?
        /// Relative link to the run's page, when it exists.
        public var pageHref: String?

        public init(id: Int64, started: String, status: String, error: String?, seconds: Double?, scenes: Int, done: Int,
                    skipped: Int, failed: Int, shard: String?, forced: Bool, pipelinePath: String?, pageHref: String?) {
            self.id = id
            self.started = started
            self.status = status
            self.error = error
            self.seconds = seconds
            self.scenes = scenes
            self.done = done
            self.skipped = skipped
            self.failed = failed
            self.shard = shard
            self.forced = forced
            self.pipelinePath = pipelinePath
            self.pageHref = pageHref
        }
    }

    /// The history database's path.
    public var historyPath: String
    /// The pipeline the runs were selected for, if any.
    public var pipelinePath: String?
    /// The runs, newest first (as `landcover history` lists them).
    public var runs: [Run]
    /// When the page was made (ISO 8601, UTC).
    public var generated: String

    public init(historyPath: String, pipelinePath: String?, runs: [Run], generated: String) {
        self.historyPath = historyPath
        self.pipelinePath = pipelinePath
        self.runs = runs
        self.generated = generated
    }

    /// The page as UTF-8 HTML.
    public func html() -> String {
        let e = HTMLPage.escape
        let title = "landcover history" + (pipelinePath.map { ": " + URL(fileURLWithPath: $0).lastPathComponent } ?? "")
        var body = "<h1>\(e(title))</h1>\n<p class=\"muted\">\(runs.count) most recent run(s) of \(e(historyPath))"
            + (pipelinePath.map { " for \(e($0))" } ?? "") + "; made \(e(generated))</p>\n"
        guard !runs.isEmpty else {
            return HTMLPage.document(title: title, body: body + "<p>No runs recorded.</p>\n")
        }
        let chronological = Array(runs.reversed())
        let statuses = Dictionary(grouping: runs, by: \.status).map { "\($0.value.count) \($0.key)" }.sorted()
        body += "<p>" + statuses.map(e).joined(separator: ", ") + "; "
            + "\(runs.reduce(0) { $0 + $1.failed }) failed scene(s) in all</p>\n"

        body += "<h2>Duration per run</h2>\n" + columns(chronological, title: "wall seconds per run, coloured by status", unit: "s") { run in
            [(Double(run.seconds ?? 0), HTMLPage.statusColor(run.status), "\(run.status), \(HTMLPage.duration(run.seconds))")]
        } + legend([("done", HTMLPage.statusColor("done")), ("failed", HTMLPage.statusColor("failed")),
                    ("interrupted", HTMLPage.statusColor("interrupted")), ("running", HTMLPage.statusColor("running"))])
        body += "<h2>Scenes per run</h2>\n" + columns(chronological, title: "scenes per run: done, skipped, failed", unit: "") { run in
            [(Double(run.done), HTMLPage.statusColor("done"), "\(run.done) done"),
             (Double(run.skipped), HTMLPage.statusColor("skipped"), "\(run.skipped) skipped"),
             (Double(run.failed), HTMLPage.statusColor("failed"), "\(run.failed) failed")]
        } + legend([("done", HTMLPage.statusColor("done")), ("skipped", HTMLPage.statusColor("skipped")), ("failed", HTMLPage.statusColor("failed"))])
        body += "<h2>Failures over time</h2>\n" + failureLine(chronological)

        body += "<h2>Runs</h2>\n<table><tr><th>run</th><th>started</th><th>status</th><th>scenes</th><th>done</th><th>skipped</th>"
            + "<th>failed</th><th>duration</th><th>shard</th><th>pipeline</th></tr>"
        for run in runs {
            let id = run.pageHref.map { "<a href=\"\(e($0))\">\(run.id)</a>" } ?? "\(run.id)"
            let status = HTMLPage.statusBadge(run.status) + (run.forced ? " forced" : "")
                + (run.error.map { "<pre class=\"error\">\(e($0))</pre>" } ?? "")
            body += "<tr><td>\(id)</td><td>\(e(run.started))</td><td>\(status)</td><td class=\"num\">\(run.scenes)</td>"
                + "<td class=\"num\">\(run.done)</td><td class=\"num\">\(run.skipped)</td><td class=\"num\">\(run.failed)</td>"
                + "<td class=\"num\">\(e(HTMLPage.duration(run.seconds)))</td><td>\(e(run.shard ?? "-"))</td><td>\(e(run.pipelinePath ?? "-"))</td></tr>"
        }
        body += "</table>\n"
        return HTMLPage.document(title: title, body: body)
    }

    /// A column chart, oldest run on the left: per run a stack of `parts` (value, colour, tooltip).
    private func columns(_ runs: [Run], title: String, unit: String, parts: (Run) -> [(Double, String, String)]) -> String {
        let e = HTMLPage.escape
        let height = 160, top = 10, bottom = 36, left = 48
        let step = max(4, min(40, 720 / max(1, runs.count)))
        let width = max(420, left + step * runs.count + 16)
        let totals = runs.map { parts($0).reduce(0) { $0 + $1.0 } }
        let largest = max(totals.max() ?? 0, 1e-9)
        let plot = Double(height - top - bottom)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
            + "<title>\(e(title))</title>"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 8)\" y2=\"\(height - bottom)\" stroke=\"#555\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + 10)\" text-anchor=\"end\">\(e(Self.number(largest) + unit))</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(height - bottom)\" text-anchor=\"end\">0</text>"
        for (index, run) in runs.enumerated() {
            var y = Double(height - bottom)
            let x = left + index * step + 1
            for part in parts(run) where part.0 > 0 {
                let h = max(1, part.0 / largest * plot)
                y -= h
                svg += "<rect x=\"\(x)\" y=\"\(String(format: "%.1f", y))\" width=\"\(max(2, step - 3))\" height=\"\(String(format: "%.1f", h))\" "
                    + "fill=\"\(part.1)\"><title>run \(run.id): \(e(part.2))</title></rect>"
            }
        }
        svg += axisLabels(runs, left: left, step: step, y: height - bottom + 16)
        return svg + "</svg>\n"
    }

    /// Failed scenes per run as a line over the runs in time order, with a dot per run.
    private func failureLine(_ runs: [Run]) -> String {
        let e = HTMLPage.escape
        let height = 140, top = 10, bottom = 36, left = 48
        let step = max(4, min(40, 720 / max(1, runs.count)))
        let width = max(420, left + step * runs.count + 16)
        let largest = Double(max(1, runs.map(\.failed).max() ?? 0))
        let plot = Double(height - top - bottom)
        func point(_ index: Int) -> (Double, Double) {
            (Double(left + index * step + step / 2), Double(height - bottom) - Double(runs[index].failed) / largest * plot)
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
            + "<title>failed scenes per run over time</title>"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 8)\" y2=\"\(height - bottom)\" stroke=\"#555\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + 10)\" text-anchor=\"end\">\(Int(largest))</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(height - bottom)\" text-anchor=\"end\">0</text>"
        let points = runs.indices.map(point)
        svg += "<polyline fill=\"none\" stroke=\"\(HTMLPage.statusColor("failed"))\" stroke-width=\"2\" points=\""
            + points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ") + "\"/>"
        for (index, run) in runs.enumerated() {
            let p = points[index]
            svg += "<circle cx=\"\(String(format: "%.1f", p.0))\" cy=\"\(String(format: "%.1f", p.1))\" r=\"3\" "
                + "fill=\"\(run.failed > 0 ? HTMLPage.statusColor("failed") : "#fff")\" stroke=\"\(HTMLPage.statusColor("failed"))\">"
                + "<title>run \(run.id) (\(e(run.started))): \(run.failed) failed</title></circle>"
        }
        svg += axisLabels(runs, left: left, step: step, y: height - bottom + 16)
        return svg + "</svg>\n"
    }

    /// The first and last run's start date under a chart (and the run ids).
    private func axisLabels(_ runs: [Run], left: Int, step: Int, y: Int) -> String {
        guard let first = runs.first, let last = runs.last else { return "" }
        let e = HTMLPage.escape
        var svg = "<text x=\"\(left)\" y=\"\(y)\">run \(first.id)</text><text x=\"\(left)\" y=\"\(y + 14)\">\(e(String(first.started.prefix(16))))</text>"
        if runs.count > 1 {
            let x = max(left + step * runs.count, left + 300)
            svg += "<text x=\"\(x)\" y=\"\(y)\" text-anchor=\"end\">run \(last.id)</text>"
                + "<text x=\"\(x)\" y=\"\(y + 14)\" text-anchor=\"end\">\(e(String(last.started.prefix(16))))</text>"
        }
        return svg
    }

    private func legend(_ entries: [(String, String)]) -> String {
        "<p class=\"muted\">" + entries.map {
            "<span class=\"status\" style=\"background:\($0.1)\">\(HTMLPage.escape($0.0))</span>"
        }.joined(separator: " ") + "</p>\n"
    }

    private static func number(_ value: Double) -> String {
        value >= 100 || value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }
}

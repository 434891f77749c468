import Foundation

/// The pieces the run page and the history page share: escaping, the style sheet, the page frame
/// and an SVG bar chart. Pages are self-contained HTML5: inline CSS and SVG, images as `data:`
/// URIs, no script and nothing fetched, so they open from a file in any browser.
public enum HTMLPage {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references, safe inside
    /// element content and quoted attribute values.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// A relative link target from the folder `from` to the file `to` (both absolute paths),
    /// each path component percent-encoded (`../T33UUU%20map.tif`).
    public static func relativeHref(from folder: String, to path: String) -> String {
        let base = URL(fileURLWithPath: folder).standardizedFileURL.pathComponents
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        var common = 0
        while common < base.count, common < target.count, base[common] == target[common] { common += 1 }
        let parts = Array(repeating: "..", count: base.count - common) + target[common...]
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#[]@!$&'()*+,;=:")
        return parts.map { $0 == ".." ? $0 : ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) }.joined(separator: "/")
    }

    /// Colours of run and scene statuses (`done`, `skipped`, `failed`, `interrupted`, `running`).
    public static func statusColor(_ status: String) -> String {
        switch status {
        case "done": return "#2e7d32"
        case "skipped": return "#78909c"
        case "failed": return "#c62828"
        case "interrupted": return "#ef6c00"
        default: return "#1565c0"
        }
    }

    /// `12.3 s`, `4 min 05 s`, `1 h 02 min`.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let total = Int(seconds.rounded())
        if total < 3600 { return String(format: "%d min %02d s", total / 60, total % 60) }
        return String(format: "%d h %02d min", total / 3600, (total % 3600) / 60)
    }

    /// A whole HTML document: `title` escaped, `body` inserted as is.
    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="landcover">
        <title>\(escape(title))</title>
        <style>
        \(styleSheet)
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }

    static let styleSheet = """
    body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1d2327; background: #fafafa; }
    h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; margin: 0 0 0.5em; }
    table { border-collapse: collapse; margin: 0.5em 0; background: #fff; }
    th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 0.92em; }
    th { background: #eef1f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
    .status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 0.85em; }
    .scene { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
    .scene img { max-width: 100%; height: auto; border: 1px solid #d0d7de; image-rendering: pixelated; }
    pre.error { white-space: pre-wrap; word-break: break-word; background: #fdecea; border-left: 4px solid #c62828; padding: 8px; margin: 6px 0; }
    .muted { color: #57606a; font-size: 0.9em; } svg text { font-family: inherit; font-size: 12px; fill: #1d2327; }
    ul.links { padding-left: 1.2em; margin: 0.4em 0; }
    """

    /// A coloured status label.
    static func statusBadge(_ status: String) -> String {
        "<span class=\"status\" style=\"background:\(statusColor(status))\">\(escape(status))</span>"
    }

    /// A horizontal bar chart in inline SVG: one row per bar, label on the left, the value as
    /// text after the bar (`valueText`), bars scaled to the largest value.
    static func horizontalBars(_ bars: [(label: String, value: Double, color: String, valueText: String)], title: String) -> String {
        let labelWidth = 180, barWidth = 420, row = 22, width = labelWidth + barWidth + 200
        let largest = max(bars.map(\.value).max() ?? 0, 1e-12)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(width)\" height=\"\(row * bars.count + 8)\" "
            + "viewBox=\"0 0 \(width) \(row * bars.count + 8)\"><title>\(escape(title))</title>"
        for (index, bar) in bars.enumerated() {
            let y = 4 + index * row
            let length = bar.value > 0 ? max(1, Int((bar.value / largest * Double(barWidth)).rounded())) : 0
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 15)\" text-anchor=\"end\">\(escape(String(bar.label.prefix(28))))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(length)\" height=\"\(row - 6)\" fill=\"\(escape(bar.color))\" stroke=\"#555\" stroke-width=\"0.5\"/>"
            svg += "<text x=\"\(labelWidth + length + 6)\" y=\"\(y + 15)\">\(escape(bar.valueText))</text>"
        }
        return svg + "</svg>"
    }

    /// A colour `#rrggbb` as given, or grey when it is not one.
    static func safeColor(_ color: String?) -> String {
        guard let color, color.count == 7, color.hasPrefix("#"), color.dropFirst().allSatisfy(\.isHexDigit) else { return "#9e9e9e" }
        return color
    }
}

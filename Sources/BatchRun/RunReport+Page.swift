import Classification
import Foundation
import Products

extension RunReport {
    /// The largest preview PNG embedded in a run page; a larger one is linked instead.
    public static let largestEmbeddedPreview = 16 << 20

    /// The run page of this report (``Products/RunPage``) for a page written to `pagePath`: links
    /// relative to the page's folder, previews read from disk and embedded (a missing, unreadable
    /// or larger than ``largestEmbeddedPreview`` preview is named instead).
    public func page(pagePath: String, reportPath: String?) -> RunPage {
        let folder = (pagePath as NSString).deletingLastPathComponent
        let title = pipelinePath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? "pipeline"
        let scenes = scenes.map { scene -> RunPage.Scene in
            var page = RunPage.Scene(name: scene.name, status: scene.status.rawValue, reason: scene.reason, error: scene.error,
                                     inputs: scene.inputs, width: scene.width, height: scene.height, epsg: scene.epsg, mode: scene.mode,
                                     patches: scene.patches, wallSeconds: scene.times?.wall, nodataPixels: scene.nodataPixels)
            if let times = scene.times {
                page.stages = [("read", times.read), ("convert", times.convert), ("infer", times.infer), ("write", times.write)]
                    .map { RunPage.Stage(name: $0.0, seconds: $0.1) }
                if let polygonize = times.polygonize { page.stages.append(RunPage.Stage(name: "polygonize", seconds: polygonize)) }
            }
            page.classes = (scene.classes ?? []).map { RunPage.ClassShare(name: $0.name, color: $0.color, pixels: $0.pixels) }
            if let preview = scene.preview {
                (page.previewPNG, page.previewNote) = Self.embeddable(preview: preview)
            }
            var files: [(String, String)] = []
            if let outputs = scene.outputs, !outputs.isEmpty {
                files = outputs.map { (Self.label(of: $0.role), $0.path) }
            } else {
                files = [("map", scene.output), ("preview", scene.preview), ("STAC item", scene.stac),
                         ("probabilities", scene.probabilities), ("polygons", scene.polygons)]
                    .compactMap { label, path in path.map { (label, $0) } }
            }
            page.links = files.map { label, path in
                RunPage.Link(label: label, href: HTMLPage.relativeHref(from: folder, to: path), name: URL(fileURLWithPath: path).lastPathComponent)
            }
            return page
        }
        return RunPage(title: title, status: status.rawValue, started: started, finished: finished, seconds: seconds, version: version,
                       pipelinePath: pipelinePath, modelPath: modelPath, modelSHA256: modelSHA256, workers: workers, runID: runID,
                       shard: shard, forced: forced ?? false, reportHref: reportPath.map { HTMLPage.relativeHref(from: folder, to: $0) },
                       scenes: scenes)
    }

    /// The preview's bytes, or why they are not embedded.
    private static func embeddable(preview path: String) -> (Data?, String?) {
        let name = URL(fileURLWithPath: path).lastPathComponent
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            return (nil, "preview \(name) is missing")
        }
        guard size <= largestEmbeddedPreview else {
            return (nil, "preview \(name) is \(size) bytes, more than the \(largestEmbeddedPreview) embedded in a page; follow its link")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= largestEmbeddedPreview,
              data.starts(with: [0x89, 0x50, 0x4E, 0x47]) else {
            return (nil, "preview \(name) cannot be read as a PNG")
        }
        return (data, nil)
    }

    private static func label(of role: OutputRole) -> String {
        switch role {
        case .map: return "map"
        case .mapAux: return "map sidecar (.aux.xml)"
        case .style: return "QGIS style"
        case .confidence: return "confidence"
        case .confidenceAux: return "confidence sidecar (.aux.xml)"
        case .probabilities: return "probabilities"
        case .probabilitiesAux: return "probabilities sidecar (.aux.xml)"
        case .preview: return "preview"
        case .polygons: return "polygons"
        case .stac: return "STAC item"
        }
    }
}

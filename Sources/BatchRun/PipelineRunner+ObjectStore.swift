import Classification
import Config
import Foundation
import Logging
import Products
import RasterIO

/// Object-store outputs (`output.folder: s3://bucket/prefix`, see ``PipelineFile/objectStore``).
///
/// Each scene's files are finished in the process's local scratch folder exactly as for a local
/// folder, then published: the scene's STAC item in the store (its **commit marker**) is deleted
/// first, every other file is uploaded whole (its size checked, its ETag recorded), and the STAC
/// item, which carries every asset's size, SHA-256 (`file:checksum`), ETag (`landcover:etag`) and
/// the model, settings and inputs fingerprints, is uploaded last. A reader that sees a STAC item
/// therefore sees a complete scene; a scene with assets but no item is unpublished and is redone.
/// The local files are removed after each scene, so the scratch folder holds at most one scene.
///
/// Whether a scene is done is decided from the store, not from the local run history (a pod of
/// a Kubernetes Indexed Job starts with an empty disk): the scene is skipped when its STAC item
/// records the current fingerprints and every asset it lists is in the store with the recorded
/// size and ETag. That costs one GET of the item and one HEAD per asset, whatever the assets' size;
/// the SHA-256 in the item is for readers (the ETag changes whenever an object is rewritten).
extension PipelineRunner {
    /// Largest STAC item read back from the store (bounded before it is allocated).
    static let markerLimit: Int64 = 16 << 20

    /// The object names of a scene's outputs in the store: the local files' names.
    func publishedName(_ localPath: String) -> String { (localPath as NSString).lastPathComponent }

    /// The URL of the scene's STAC item in the store, from its output name (no scene is opened).
    func markerURL(for input: SceneInput, store: ObjectStoreFolder) -> String {
        let map = (plan.outputFolder as NSString).appendingPathComponent(plan.outputFileName(for: input).name)
        let files = plan.outputFiles(map: map)
        return store.object(publishedName(files.stac ?? (map as NSString).deletingPathExtension + ".stac.json"))
    }

    /// Whether the scene is published in the store as this run would publish it (see the
    /// extension's documentation).
    func decidePublished(input: SceneInput, key: String, fingerprint: String, context: RunContext,
                         store: ObjectStoreFolder) throws -> Decision {
        let markerURL = markerURL(for: input, store: store)
        guard let data = try ObjectStore.read(markerURL, maxBytes: Self.markerLimit) else {
            let map = store.object(plan.outputFileName(for: input).name)
            return .redo(try ObjectStore.stat(map) == nil ? "new" : "unpublished (assets without a STAC item)")
        }
        guard let item = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let properties = item["properties"] as? [String: Any], let assets = item["assets"] as? [String: Any] else {
            return .redo("STAC item unreadable")
        }
        if properties["landcover:model_sha256"] as? String != context.modelHash { return .redo("model changed") }
        if properties["landcover:settings_sha256"] as? String != context.settingsHash { return .redo("pipeline settings changed") }
        if properties["landcover:inputs_fingerprint"] as? String != fingerprint { return .redo("inputs changed") }
        var outputs: [OutputFileRecord] = []
        for (assetKey, value) in assets.sorted(by: { $0.key < $1.key }) {
            guard let asset = value as? [String: Any], let href = asset["href"] as? String, href.hasPrefix("./") else { continue }
            let role = OutputRole(rawValue: assetKey == "classification" ? "map" : assetKey == "classification_aux" ? "map_aux" : assetKey)
            guard let role, let bytes = (asset["file:size"] as? NSNumber)?.int64Value,
                  let checksum = asset["file:checksum"] as? String, checksum.hasPrefix("1220") else {
                return .redo("STAC item asset \(assetKey) incomplete")
            }
            let url = store.object(String(href.dropFirst(2)))
            guard let stat = try ObjectStore.stat(url) else { return .redo("\(role.rawValue) output missing") }
            let recorded = asset["landcover:etag"] as? String
            if stat.bytes != bytes || (recorded != nil && stat.etag != recorded) {
                return .redo("\(role.rawValue) output changed since it was published")
            }
            outputs.append(OutputFileRecord(role: role, path: ObjectStore.display(url), bytes: bytes, modifiedNanoseconds: 0,
                                            sha256: String(checksum.dropFirst(4)), etag: stat.etag))
        }
        let present = Set(outputs.map(\.role))
        if let missing = SceneOutputFiles.requiredRoles(output: plan.pipeline.output).first(where: { $0 != .stac && !present.contains($0) }) {
            return .redo("no \(missing.rawValue) output published")
        }
        let markerStat = try ObjectStore.stat(markerURL)
        outputs.append(OutputFileRecord(role: .stac, path: ObjectStore.display(markerURL), bytes: Int64(data.count), modifiedNanoseconds: 0,
                                        sha256: SHA256Hex.hex(of: Array(data)), etag: markerStat?.etag))
        let name = properties["landcover:scene"] as? String ?? input.name ?? input.label
        let record = SceneRecord(id: 0, runID: 0, sceneKey: key, name: name, inputs: input.paths, status: .done, reason: nil, error: nil,
                                 started: "", finished: nil, seconds: nil, times: nil, patches: nil, inputsFingerprint: fingerprint,
                                 modelSHA256: context.modelHash, settingsSHA256: context.settingsHash,
                                 output: outputs.first { $0.role == .map }?.path, outputs: outputs)
        return .skip(record, why: "unchanged since it was published (STAC item and assets match)")
    }

    /// Unpublishes the scene (deletes its STAC item in the store, so that no reader takes the
    /// assets about to be replaced for a complete scene) and uploads `outputs` (local files) whole;
    /// returns them with their ETags.
    func uploadAssets(_ outputs: [OutputFileRecord], marker: String, store: ObjectStoreFolder) throws -> [OutputFileRecord] {
        try ObjectStore.delete(store.object(publishedName(marker)))
        var uploaded = outputs
        for index in uploaded.indices {
            let stat = try ObjectStore.upload(file: uploaded[index].path, to: store.object(publishedName(uploaded[index].path)))
            uploaded[index].etag = stat.etag
            UploadTestHook.shared.uploaded(logger: logger)
        }
        return uploaded
    }

    /// Uploads the scene's STAC item (the commit marker) and returns the records as the report
    /// and history give them: the objects' URLs.
    func publishMarker(_ outputs: [OutputFileRecord], store: ObjectStoreFolder) throws -> [OutputFileRecord] {
        var published = outputs
        for index in published.indices {
            let url = store.object(publishedName(published[index].path))
            if published[index].role == .stac {
                published[index].etag = try ObjectStore.upload(file: published[index].path, to: url).etag
            }
            published[index].path = ObjectStore.display(url)
            published[index].modifiedNanoseconds = 0
        }
        return published
    }

    /// Removes scratch folders (`landcover-scratch-<pid>`) of processes that no longer run on
    /// this host (killed runs), in the scratch folder's parent; returns the removed paths.
    static func removeAbandonedScratch(root: String) -> [String] {
        var removed: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where entry.hasPrefix(PipelineFile.scratchPrefix) {
            guard let pid = Int32(entry.dropFirst(PipelineFile.scratchPrefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            let path = (root as NSString).appendingPathComponent(entry)
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(path) }
        }
        return removed
    }
}

/// A test-only pause: with `LANDCOVER_TEST_PAUSE_AFTER_UPLOADS=N` in the environment, the process
/// logs `event=test_pause` after its N-th object upload and sleeps up to 60 s, so that a test can
/// `kill -9` it at a known point of publishing a scene (assets uploaded, STAC item not yet).
final class UploadTestHook: @unchecked Sendable {
    static let shared = UploadTestHook(after: ProcessInfo.processInfo.environment["LANDCOVER_TEST_PAUSE_AFTER_UPLOADS"].flatMap { Int($0) })

    private let lock = NSLock()
    private let after: Int?
    private var count = 0

    init(after: Int?) { self.after = after }

    func uploaded(logger: Logger) {
        guard let after else { return }
        lock.lock()
        count += 1
        let reached = count == after
        lock.unlock()
        guard reached else { return }
        logger.notice("paused after an upload (LANDCOVER_TEST_PAUSE_AFTER_UPLOADS)", metadata: ["event": "test_pause", "uploads": "\(after)"])
        sleep(60)
    }
}

import Classification
import Config
import Foundation
import Products
import RasterIO

/// The fingerprints a batch run uses to decide whether a scene is unchanged since it was last
/// classified: the scene's identity, its input files, and the pipeline settings that shape outputs.
///
/// Inputs are fingerprinted by **path, size and modification time** (nanoseconds) of every file a
/// scene reads, not by content: hashing a 1 GB Sentinel-2 product takes seconds per scene on every
/// run, while `stat` takes microseconds. This is the rule `make` and `rsync` use; it misses only a
/// rewrite that keeps the size and the nanosecond timestamp, and `touch` forces a redo.
public enum BatchFingerprint {
    /// Fingerprint of the files a scene reads: SHA-256 over one line per file,
    /// `path<TAB>bytes<TAB>mtime-seconds.nanoseconds`, in input order. A folder (band files, a
    /// `.SAFE` product) contributes every regular file below it, sorted; a `MTD_*.xml` input
    /// stands for its whole product folder. `extraFiles` (e.g. a mask raster) are appended.
    /// A GDAL virtual path (`/vsicurl/https://...`, `/vsis3/...`) contributes
    /// `path<TAB>bytes<TAB>mtime-seconds<TAB>etag` from GDAL's VSI layer (``RemoteFileStamp``: a
    /// HEAD request, whose `ETag` changes when the object is rewritten; `-` without one). A STAC
    /// Item contributes its document and each band asset it names.
    /// Each local path is written relative to the folder holding its input (`S2A_X.SAFE/GRANULE/...`,
    /// `T33UUU_B02.jp2`; a STAC Item's assets relative to the item's folder), so the fingerprint,
    /// which a map carries in its provenance, does not depend on where the pipeline file lies, on
    /// the mount point, or on whether `run` or `classify` made the map (the scene's key,
    /// ``SceneInput/key(baseFolder:)``, says which scene it is).
    ///
    /// - Throws: ``PipelineError/unreadable(path:reason:)`` naming a local input that does not
    ///   exist or cannot be listed; ``RasterIOError/remoteUnavailable(url:status:detail:)`` naming
    ///   the URL and the HTTP status when a server fails.
    public static func inputs(_ input: SceneInput, extraFiles: [String] = []) throws -> String {
        var lines: [String] = []
        for path in input.paths + extraFiles {
            if STACSceneItem.isItemPath(path) {
                // A STAC Item: the item document and every band asset it names.
                let items = try STACSceneItem.items(at: path)
                if let item = items.first, items.count == 1, let content = item.content {
                    // An item a STAC API search returned: its JSON as returned stands in for a
                    // document's stamp (an API item URL need not answer HEAD requests).
                    lines.append("\(RemotePath.url(of: item.location))\tsha256:\(SHA256Hex.hex(of: Array(content.utf8)))")
                    for asset in item.assets { lines.append(try stampLine(asset.path, relativeTo: "")) }
                    continue
                }
                let document = path.firstIndex(of: "#").map { String(path[..<$0]) } ?? path
                let assets = items.flatMap { $0.assets.map(\.path) }
                let folder = document.hasPrefix("/vsi") ? "" : URL(fileURLWithPath: document).deletingLastPathComponent().path
                for file in [document] + assets { lines.append(try stampLine(file, relativeTo: folder)) }
                continue
            }
            if path.hasPrefix("/vsi") {
                lines.append(try stampLine(path, relativeTo: ""))
                continue
            }
            var root = path
            let name = URL(fileURLWithPath: path).lastPathComponent
            if name.hasPrefix("MTD_") && name.lowercased().hasSuffix(".xml") {
                root = URL(fileURLWithPath: path).deletingLastPathComponent().path
            }
            let parent = URL(fileURLWithPath: root).deletingLastPathComponent().path
            for file in try files(under: root) { lines.append(try stampLine(file, relativeTo: parent)) }
        }
        return SHA256Hex.hex(of: Array(lines.joined(separator: "\n").utf8))
    }

    /// The fingerprint line of one file: a GDAL virtual file (an URL, an object, a member of a
    /// zip) with what GDAL's VSI layer reports and the server's ETag where it gives one; a local
    /// file with its `stat`, its path written relative to `folder`.
    static func stampLine(_ path: String, relativeTo folder: String) throws -> String {
        if path.hasPrefix("/vsi") {
            let stamp = try RemoteFileStamp(path: path)
            return "\(path)\t\(stamp.bytes)\t\(stamp.modifiedSeconds)\t\(stamp.etag ?? "-")"
        }
        let stamp = try FileStamp(path: path)
        return "\(SceneInput.path(path, relativeTo: folder))\t\(stamp.bytes)\t\(stamp.modifiedSeconds).\(String(format: "%09lld", stamp.modifiedNanoseconds))"
    }

    /// Fingerprint of the pipeline settings that shape the outputs: every key of the pipeline
    /// file except `inputs` (adding a scene must not redo the others), `runtime.threads` /
    /// `runtime.memory_mb` (outputs are identical for any thread count and memory budget) and
    /// where outputs go (`output.folder`, `output.scratch_folder`, `output.state_folder`: the
    /// same scene written to a local folder, another folder or an object store is the same bytes;
    /// a run redoes a scene whose recorded outputs lie elsewhere, see ``PipelineRunner``), so that
    /// `classify` and `run` with the same settings write byte-identical maps.
    /// `runtime.batch_size` stays in. The model file's content is fingerprinted separately (its
    /// SHA-256); `model` here is its path.
    ///
    /// Built by reflection over ``PipelineFile`` (dictionaries sorted), so a key added to the
    /// schema later is covered without touching this function.
    public static func settings(_ pipeline: PipelineFile) -> String {
        var copy = pipeline
        copy.inputs = []
        copy.runtime.threads = nil
        copy.runtime.memoryMiB = 0
        copy.baseFolder = ""
        copy.model = pipeline.resolve(pipeline.model)
        copy.output.folder = ""
        copy.output.scratchFolder = nil
        copy.output.stateFolder = nil
        copy.nodata.maskPath = pipeline.nodata.maskPath.map(pipeline.resolve)
        return SHA256Hex.hex(of: Array(canonicalDescription(copy).utf8))
    }

    /// A deterministic text form of a value: struct fields in declaration order, dictionary and
    /// set entries sorted (their iteration order changes from process to process).
    static func canonicalDescription(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .struct?, .class?:
            let fields = mirror.children.map { "\($0.label ?? "_")=\(canonicalDescription($0.value))" }
            return "\(mirror.subjectType)(\(fields.joined(separator: ",")))"
        case .optional?:
            return mirror.children.first.map { canonicalDescription($0.value) } ?? "nil"
        case .collection?, .tuple?:
            return "[" + mirror.children.map { canonicalDescription($0.value) }.joined(separator: ",") + "]"
        case .dictionary?, .set?:
            return "{" + mirror.children.map { canonicalDescription($0.value) }.sorted().joined(separator: ",") + "}"
        case .enum?:
            // A case with a payload: its label and the payload (the payload's own description
            // could hold an unordered dictionary).
            if let payload = mirror.children.first {
                return "\(mirror.subjectType).\(payload.label ?? "_")(\(canonicalDescription(payload.value)))"
            }
            return "\(mirror.subjectType).\(value)"
        default:
            return "\(value)"
        }
    }

    /// The regular files at or below `path`, sorted (hidden entries below a folder are skipped).
    static func files(under path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PipelineError.unreadable(path: path, reason: "does not exist; check the scene's input paths")
        }
        guard isDirectory.boolValue else { return [path] }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw PipelineError.unreadable(path: path, reason: "cannot be listed; check its permissions")
        }
        var found: [String] = []
        while let entry = enumerator.nextObject() as? String {
            if URL(fileURLWithPath: entry).lastPathComponent.hasPrefix(".") {
                if (enumerator.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { enumerator.skipDescendants() }
                continue
            }
            let full = (path as NSString).appendingPathComponent(entry)
            var entryIsDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &entryIsDirectory), !entryIsDirectory.boolValue {
                found.append(full)
            }
        }
        return found.sorted()
    }
}

/// Size and modification time of a file, as `stat(2)` reports them (nanosecond precision).
public struct FileStamp: Equatable, Sendable {
    /// File size in bytes.
    public var bytes: Int64
    /// Modification time: whole seconds since 1970 and the nanoseconds within that second.
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64

    /// Creates a stamp from known values.
    public init(bytes: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64) {
        self.bytes = bytes
        self.modifiedSeconds = modifiedSeconds
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    /// Reads the stamp of `path` (following symbolic links).
    /// - Throws: ``PipelineError/unreadable(path:reason:)`` when the file does not exist.
    public init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PipelineError.unreadable(path: path, reason: "cannot be read (\(String(cString: strerror(errno)))); check that it exists")
        }
        bytes = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        #endif
    }

    /// Modification time as nanoseconds since 1970 (one integer for the history database).
    public var modifiedNanosecondsSince1970: Int64 { modifiedSeconds &* 1_000_000_000 &+ modifiedNanoseconds }
}

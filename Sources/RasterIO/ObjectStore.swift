import CGDAL
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A folder in an object store that GDAL's virtual file systems can write: `s3://bucket/prefix`
/// or `/vsis3/bucket/prefix` (Amazon S3 and S3-compatible stores), `gs://` / `/vsigs/` (Google
/// Cloud Storage), `az://` / `/vsiaz/` (Azure Blob Storage), `/vsiadls/`, `/vsioss/` (Alibaba
/// OSS) and `/vsiswift/` (OpenStack Swift). Objects are written whole (``ObjectStore/upload(file:to:)``);
/// GDAL 3.6 cannot create a GeoTIFF in place there.
public struct ObjectStoreFolder: Sendable, Equatable, CustomStringConvertible {
    /// The GDAL prefix (`/vsis3/`).
    public let prefix: String
    /// `bucket/prefix` without leading or trailing slashes.
    public let path: String
    /// How the user wrote it (`s3://...` or `/vsis3/...`), for messages.
    public let written: String

    /// URL schemes accepted for `output.folder` and their GDAL prefixes.
    static let schemes: [(scheme: String, prefix: String)] = [("s3://", "/vsis3/"), ("gs://", "/vsigs/"), ("az://", "/vsiaz/")]
    /// GDAL prefixes of writable object stores.
    static let prefixes = ["/vsis3/", "/vsigs/", "/vsiaz/", "/vsiadls/", "/vsioss/", "/vsiswift/"]

    /// Parses an object-store folder; nil when `text` is not one (a local path). A text that
    /// looks like a URL (`scheme://`) but names no supported store, or names no bucket, is
    /// refused with the reason.
    public static func parse(_ text: String) -> Result<ObjectStoreFolder, ObjectStoreError>? {
        var prefix: String?
        var rest = ""
        if let (scheme, vsi) = schemes.first(where: { text.lowercased().hasPrefix($0.scheme) }) {
            prefix = vsi
            rest = String(text.dropFirst(scheme.count))
        } else if let vsi = prefixes.first(where: { text.hasPrefix($0) }) {
            prefix = vsi
            rest = String(text.dropFirst(vsi.count))
        } else if text.contains("://") || text.hasPrefix("/vsi") {
            return .failure(.unsupported(url: text))
        }
        guard let prefix else { return nil }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: true)
        guard let bucket = parts.first, !bucket.isEmpty, !parts.contains(where: { $0 == "." || $0 == ".." }) else {
            return .failure(.noBucket(url: text))
        }
        return .success(ObjectStoreFolder(prefix: prefix, path: parts.joined(separator: "/"), written: text))
    }

    /// The folder as a GDAL path (`/vsis3/bucket/prefix`).
    public var vsiPath: String { prefix + path }

    /// The GDAL path of `name` in this folder (`name` may contain `/` for sub-folders).
    public func object(_ name: String) -> String { vsiPath + "/" + name }

    /// A sub-folder.
    public func folder(_ name: String) -> ObjectStoreFolder {
        ObjectStoreFolder(prefix: prefix, path: path + "/" + name, written: written.hasSuffix("/") ? written + name : written + "/" + name)
    }

    public var description: String { written }
}

/// What the store says about an object: its size and the ETag the server gave it (S3: the MD5
/// of a single-part upload, another opaque value for multipart; any change of content changes it).
public struct ObjectStat: Sendable, Equatable {
    /// Object size in bytes.
    public var bytes: Int64
    /// The ETag without quotes; nil when the server sent none.
    public var etag: String?

    /// Creates a stat from known values.
    public init(bytes: Int64, etag: String?) {
        self.bytes = bytes
        self.etag = etag
    }
}

/// Errors talking to an object store. Each names the object's URL and says what to check.
public enum ObjectStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `output.folder` looks like a URL but is not a supported store.
    case unsupported(url: String)
    /// The URL names no bucket (container).
    case noBucket(url: String)
    /// An upload (PUT, or a multipart upload's completion) failed.
    case uploadFailed(url: String, reason: String)
    /// A read failed for another reason than a missing object.
    case readFailed(url: String, reason: String)
    /// A delete failed.
    case deleteFailed(url: String, reason: String)
    /// An object larger than what landcover reads of that kind.
    case tooLarge(url: String, bytes: Int64, limit: Int64)

    static let hint = "check the bucket exists, the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the store's own) and the endpoint (AWS_S3_ENDPOINT); GDAL retries as GDAL_HTTP_MAX_RETRY and GDAL_HTTP_RETRY_DELAY say"

    /// The problem without the URL, for messages that name the setting instead.
    public var reason: String {
        switch self {
        case .unsupported: return "is not a supported object store; use s3://, gs://, az:// or a GDAL path (/vsis3/, /vsigs/, /vsiaz/, /vsiadls/, /vsioss/, /vsiswift/), or a local folder"
        case .noBucket: return "names no bucket, or has . or .. in its path; write it as s3://BUCKET/PREFIX"
        default: return description
        }
    }

    public var description: String {
        switch self {
        case .unsupported(let url):
            return "\(url): not a supported object store; use s3://, gs://, az:// or a GDAL path (/vsis3/, /vsigs/, /vsiaz/, /vsiadls/, /vsioss/, /vsiswift/), or a local folder"
        case .noBucket(let url):
            return "\(url): names no bucket, or has . or .. in its path; write it as s3://BUCKET/PREFIX"
        case .uploadFailed(let url, let reason):
            return "\(url): upload failed (\(reason)); \(Self.hint)"
        case .readFailed(let url, let reason):
            return "\(url): cannot read (\(reason)); \(Self.hint)"
        case .deleteFailed(let url, let reason):
            return "\(url): cannot delete (\(reason)); \(Self.hint)"
        case .tooLarge(let url, let bytes, let limit):
            return "\(url): is \(bytes) bytes, more than the \(limit) bytes landcover reads of such a file; remove it or write to another folder"
        }
    }
}

/// Object-store I/O through GDAL's virtual file systems (`/vsis3/` and the others of
/// ``ObjectStoreFolder``): whole-object uploads, HEAD-like stats with the ETag, small reads,
/// deletes and listings. GDAL's network settings (retries, timeouts, endpoints, credentials) come
/// from the environment as GDAL configuration options.
public enum ObjectStore {
    /// Upload chunk: the bytes read from the local file per write call.
    static let chunkBytes = 4 << 20

    /// A URL for messages: `/vsis3/b/k` as `s3://b/k`.
    public static func display(_ vsiPath: String) -> String {
        for (scheme, prefix) in ObjectStoreFolder.schemes where vsiPath.hasPrefix(prefix) {
            return scheme + vsiPath.dropFirst(prefix.count)
        }
        return vsiPath
    }

    /// Copies the local `file` to `url` (a GDAL object path) as one object, streaming it
    /// (`VSIFOpenL(url, "wb")`: a single PUT, or a multipart upload for large files, completed on
    /// close), then reads back the object's size and ETag; the size must be the file's.
    /// - Throws: ``ObjectStoreError/uploadFailed(url:reason:)`` naming the URL.
    @discardableResult
    public static func upload(file: String, to url: String) throws -> ObjectStat {
        GDALEnvironment.ensureInitialized()
        guard let input = fopen(file, "rb") else {
            throw ObjectStoreError.uploadFailed(url: display(url), reason: "cannot open \(file): \(String(cString: strerror(errno)))")
        }
        defer { fclose(input) }
        CPLErrorReset()
        guard let output = VSIFOpenL(url, "wb") else {
            throw ObjectStoreError.uploadFailed(url: display(url), reason: message("cannot open for writing"))
        }
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        var total: Int64 = 0
        var failure: String?
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, input) }
            if count == 0 {
                if ferror(input) != 0 { failure = "reading \(file) failed" }
                break
            }
            let written = buffer.withUnsafeBytes { VSIFWriteL($0.baseAddress, 1, count, output) }
            guard written == count else { failure = message("a write was refused"); break }
            total += Int64(count)
        }
        // The object exists only once close completes the upload; its status must be checked.
        let closed = VSIFCloseL(output)
        if let failure { throw ObjectStoreError.uploadFailed(url: display(url), reason: failure) }
        guard closed == 0 else { throw ObjectStoreError.uploadFailed(url: display(url), reason: message("the upload did not complete")) }
        guard let stat = try stat(url) else {
            throw ObjectStoreError.uploadFailed(url: display(url), reason: "the object is not there after the upload")
        }
        guard stat.bytes == total else {
            throw ObjectStoreError.uploadFailed(url: display(url), reason: "the store holds \(stat.bytes) bytes, \(total) were sent")
        }
        return stat
    }

    /// Size and ETag of the object at `url`, or nil when there is none (fresh from the server:
    /// GDAL's cached answers for the path are dropped first).
    public static func stat(_ url: String) throws -> ObjectStat? {
        GDALEnvironment.ensureInitialized()
        VSICurlPartialClearCache(url)
        // VSIStatBufL is glibc's `struct stat64`, which Swift imports only as an opaque pointer; on
        // 64-bit Linux it has the layout of `struct stat`.
        var info = Glibc.stat()
        CPLErrorReset()
        let found = withUnsafeMutablePointer(to: &info) { VSIStatExL(url, OpaquePointer($0), VSI_STAT_EXISTS_FLAG | VSI_STAT_SIZE_FLAG) }
        guard found == 0 else { return nil }
        var etag: String?
        if let headers = VSIGetFileMetadata(url, "HEADERS", nil) {
            defer { CSLDestroy(headers) }
            var cursor = headers
            while let entry = cursor.pointee {
                let text = String(cString: entry)
                if let equals = text.firstIndex(of: "="), text[..<equals].lowercased() == "etag" {
                    etag = String(text[text.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                }
                cursor += 1
            }
        }
        return ObjectStat(bytes: Int64(info.st_size), etag: etag)
    }

    /// The whole object at `url`, or nil when there is none.
    /// - Throws: ``ObjectStoreError/tooLarge(url:bytes:limit:)`` when it is larger than
    ///   `maxBytes` (checked before anything is allocated); ``ObjectStoreError/readFailed(url:reason:)``.
    public static func read(_ url: String, maxBytes: Int64) throws -> Data? {
        guard let stat = try stat(url) else { return nil }
        guard stat.bytes <= maxBytes else { throw ObjectStoreError.tooLarge(url: display(url), bytes: stat.bytes, limit: maxBytes) }
        CPLErrorReset()
        guard let handle = VSIFOpenL(url, "rb") else {
            throw ObjectStoreError.readFailed(url: display(url), reason: message("cannot open"))
        }
        defer { VSIFCloseL(handle) }
        var data = Data(count: Int(stat.bytes))
        let count = data.withUnsafeMutableBytes { VSIFReadL($0.baseAddress, 1, $0.count, handle) }
        guard count == Int(stat.bytes) else {
            throw ObjectStoreError.readFailed(url: display(url), reason: message("read \(count) of \(stat.bytes) bytes"))
        }
        return data
    }

    /// Writes `data` as the object at `url` (through a local temporary file in `scratch`).
    @discardableResult
    public static func write(_ data: Data, to url: String, scratch: String) throws -> ObjectStat {
        let temporary = (scratch as NSString).appendingPathComponent(".upload-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { unlink(temporary) }
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw ObjectStoreError.uploadFailed(url: display(url), reason: "cannot stage it in \(scratch): \(error.localizedDescription)")
        }
        return try upload(file: temporary, to: url)
    }

    /// Deletes the object at `url`; a missing object is not an error.
    public static func delete(_ url: String) throws {
        GDALEnvironment.ensureInitialized()
        guard try stat(url) != nil else { return }
        CPLErrorReset()
        guard VSIUnlink(url) == 0 else {
            throw ObjectStoreError.deleteFailed(url: display(url), reason: message("the store refused"))
        }
    }

    /// The names of the objects directly in `folder` (a GDAL path), sorted; empty when there are none.
    public static func list(_ folder: String) -> [String] {
        GDALEnvironment.ensureInitialized()
        VSICurlPartialClearCache(folder)
        guard let entries = VSIReadDir(folder) else { return [] }
        defer { CSLDestroy(entries) }
        var names: [String] = []
        var cursor = entries
        while let entry = cursor.pointee {
            names.append(String(cString: entry))
            cursor += 1
        }
        return names.sorted()
    }

    private static func message(_ what: String) -> String {
        // One line: servers' XML error bodies end up in GDAL's messages.
        let gdal = GDALCall.lastMessage().split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return gdal.isEmpty ? what : "\(what): \(gdal.prefix(300))"
    }
}

import CGDAL
import Foundation

/// Inputs on GDAL's network virtual file systems (`/vsicurl/`, `/vsis3/`, `/vsigs/`, `/vsiaz/`, ...)
/// and the URL forms users write for them (`https://...`, `s3://bucket/key`, ...).
///
/// GDAL reads such paths with HTTP range requests; the environment's GDAL network settings
/// (`GDAL_HTTP_MAX_RETRY`, `GDAL_HTTP_RETRY_DELAY`, `GDAL_HTTP_TIMEOUT`, `CPL_VSIL_CURL_*`,
/// `AWS_*`, `GS_*`, `AZURE_*` ...) apply as in `gdalinfo`; ``GDALEnvironment`` adds retry and
/// timeout defaults where the environment sets none.
public enum RemotePath {
    /// GDAL's virtual file systems that reach a server (their prefixes without slashes).
    public static let networkFileSystems: [String] = [
        "vsicurl", "vsicurl_streaming", "vsis3", "vsis3_streaming", "vsigs", "vsigs_streaming",
        "vsiaz", "vsiaz_streaming", "vsiadls", "vsioss", "vsioss_streaming", "vsiswift", "vsiswift_streaming",
        "vsiwebhdfs", "vsihdfs",
    ]

    /// URL schemes and the virtual file system each maps to (`https://h/p` keeps its scheme
    /// inside `/vsicurl/`; `s3://b/k` becomes `/vsis3/b/k`).
    static let schemes: [(scheme: String, prefix: String, keepsScheme: Bool)] = [
        ("http://", "/vsicurl/", true), ("https://", "/vsicurl/", true), ("ftp://", "/vsicurl/", true),
        ("s3://", "/vsis3/", false), ("gs://", "/vsigs/", false), ("az://", "/vsiaz/", false),
    ]

    /// Whether `path` is read over the network: it starts with, or chains (`/vsizip//vsicurl/...`),
    /// one of ``networkFileSystems``.
    public static func isRemote(_ path: String) -> Bool {
        guard path.hasPrefix("/vsi") else { return false }
        return networkFileSystems.contains { path.contains("/\($0)/") }
    }

    /// The GDAL path of a URL: `https://h/p` -> `/vsicurl/https://h/p`, `s3://b/k` -> `/vsis3/b/k`,
    /// `gs://` -> `/vsigs/`, `az://` -> `/vsiaz/`; nil for anything else (files, `/vsi...` paths).
    public static func gdalPath(ofURL text: String) -> String? {
        for (scheme, prefix, keepsScheme) in schemes where text.lowercased().hasPrefix(scheme) {
            return prefix + (keepsScheme ? text : String(text.dropFirst(scheme.count)))
        }
        return nil
    }

    /// `text` as GDAL opens it: a URL becomes its virtual file system path, anything else is unchanged.
    public static func normalized(_ text: String) -> String {
        gdalPath(ofURL: text) ?? text
    }

    /// The URL a network path stands for, for messages and STAC links: `/vsicurl/https://h/p` ->
    /// `https://h/p`, `/vsis3/b/k` -> `s3://b/k`, `/vsigs/` -> `gs://`, `/vsiaz/` -> `az://`;
    /// any other path unchanged.
    public static func url(of path: String) -> String {
        for (scheme, prefix, keepsScheme) in schemes where path.hasPrefix(prefix) {
            let rest = String(path.dropFirst(prefix.count))
            if keepsScheme { return rest }
            return scheme + rest
        }
        if path.hasPrefix("/vsicurl_streaming/") { return String(path.dropFirst("/vsicurl_streaming/".count)) }
        return path
    }
}

/// Size, modification time and entity tag of a file on a GDAL virtual file system, as GDAL's VSI
/// layer reports them (`VSIStatExL`; for HTTP servers and object stores the `Content-Length`,
/// `Last-Modified` and `ETag` of a HEAD request, read with `VSIGetFileMetadata` in the `HEADERS`
/// domain). Used where a local file would be `stat`ed: a remote object that is rewritten gets a new
/// ETag (or modification time), so the batch runner redoes its scene.
public struct RemoteFileStamp: Equatable, Sendable {
    /// The GDAL path as given.
    public var path: String
    /// Size in bytes.
    public var bytes: Int64
    /// Modification time in whole seconds since 1970 (HTTP `Last-Modified` has no finer unit); 0
    /// when the server gives none.
    public var modifiedSeconds: Int64
    /// The server's entity tag, quotes included; nil when it sends none (or the file system has none).
    public var etag: String?

    /// Creates a stamp from known values.
    public init(path: String, bytes: Int64, modifiedSeconds: Int64, etag: String?) {
        self.path = path
        self.bytes = bytes
        self.modifiedSeconds = modifiedSeconds
        self.etag = etag
    }

    /// Asks GDAL's VSI layer for the stamp of `path` (one HEAD request on HTTP file systems; GDAL
    /// caches the answer for the life of the process).
    /// - Throws: ``RasterIOError/remoteUnavailable(url:status:detail:)`` with the HTTP status when
    ///   the server answers with an error or not at all; ``RasterIOError/fileNotFound(path:)`` when
    ///   a non-HTTP virtual file is missing; ``RasterIOError/invalidArgument(_:)`` for a folder.
    public init(path: String) throws {
        GDALEnvironment.ensureInitialized()
        GDALCall.reset()
        VSIErrorReset()
        // VSIStatBufL is glibc's `struct stat64`, which Swift cannot name; on 64-bit Linux (and
        // macOS, where it is `struct stat`) it has the layout of `struct stat`.
        var info = stat()
        let flags = VSI_STAT_EXISTS_FLAG | VSI_STAT_NATURE_FLAG | VSI_STAT_SIZE_FLAG | VSI_STAT_SET_ERROR_FLAG
        let result = withUnsafeMutablePointer(to: &info) { VSIStatExL(path, OpaquePointer($0), flags) }
        guard result == 0 else { throw RemoteFileStamp.failure(path: path) }
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            throw RasterIOError.invalidArgument("\(RemotePath.url(of: path)): is a folder on the server; give the URL of each file (a STAC item, or `paths:` listing the band files)")
        }
        self.path = path
        bytes = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
        #else
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        #endif
        etag = RemoteFileStamp.header("ETag", of: path)
    }

    /// One response header of the HEAD request GDAL made for `path` (case-insensitive name), or nil.
    static func header(_ name: String, of path: String) -> String? {
        guard let list = VSIGetFileMetadata(path, "HEADERS", nil) else { return nil }
        defer { CSLDestroy(list) }
        var index = 0
        while let entry = list[index] {
            index += 1
            let line = String(cString: entry)
            guard let equals = line.firstIndex(of: "=") else { continue }
            if line[..<equals].caseInsensitiveCompare(name) == .orderedSame {
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }

    /// The typed error for a failed stat of `path`, from GDAL's last error on this thread.
    static func failure(path: String) -> RasterIOError {
        let message = GDALCall.lastMessage()
        let vsiMessage = VSIGetLastErrorMsg().map { String(cString: $0) } ?? ""
        let detail = message.isEmpty ? vsiMessage : message
        if let status = httpStatus(in: detail) {
            return .remoteUnavailable(url: RemotePath.url(of: path), status: status, detail: detail)
        }
        // GDAL's HTTP file systems report a 404 without an error message.
        if RemotePath.isRemote(path) {
            return .remoteUnavailable(url: RemotePath.url(of: path), status: 404, detail: detail)
        }
        return .fileNotFound(path: path)
    }

    /// The HTTP status in a GDAL message (`HTTP response code on URL: 503`, `HTTP error code: 503`,
    /// `HTTP response code: 404`; 0 means no response); a `CURL error` counts as status 0.
    public static func httpStatus(in message: String) -> Int? {
        if let match = message.firstMatch(of: #/HTTP (?:response|error) code(?: on \S+)?: (\d{1,3})/#), let status = Int(match.1) {
            return status
        }
        if message.contains("CURL error") || message.contains("Couldn't connect") || message.contains("timed out") { return 0 }
        return nil
    }
}

extension RasterIOError {
    /// The error for a GDAL open that failed on a network path, when GDAL's message names an HTTP
    /// status or a connection failure; nil otherwise.
    static func remote(path: String, gdalMessage: String) -> RasterIOError? {
        guard RemotePath.isRemote(path), let status = RemoteFileStamp.httpStatus(in: gdalMessage) else { return nil }
        return .remoteUnavailable(url: RemotePath.url(of: path), status: status, detail: gdalMessage)
    }
}

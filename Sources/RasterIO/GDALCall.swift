import CGDAL
import Foundation

/// Process-wide GDAL set-up: registers the drivers once and installs a quiet error handler, so GDAL
/// messages reach users only through ``RasterIOError`` (GDAL keeps the last message per thread).
public enum GDALEnvironment {
    private static let initialized: Bool = {
        GDALAllRegister()
        CPLSetErrorHandler(CPLQuietErrorHandler)
        // Overviews and aux files are written beside outputs only when asked.
        CPLSetConfigOption("GDAL_PAM_ENABLED", "YES")
        // Network reads: retries with backoff and a timeout, unless the environment sets them.
        for (key, value) in networkDefaults where CPLGetConfigOption(key, nil) == nil {
            CPLSetConfigOption(key, value)
        }
        return true
    }()

    /// GDAL network settings landcover uses when the environment sets none (GDAL's own defaults
    /// are no retry and no timeout, so one 503 would fail a scene and a stalled server would hang
    /// the run): 3 retries of 429/5xx answers, 1 s before the first and about twice as long before
    /// each next (GDAL's backoff), 60 s for one request, 15 s to connect. Any `GDAL_*`/`CPL_*`
    /// variable in the environment wins (pipelines/README.md, "Remote inputs").
    public static let networkDefaults: [(key: String, value: String)] = [
        ("GDAL_HTTP_MAX_RETRY", "3"), ("GDAL_HTTP_RETRY_DELAY", "1"),
        ("GDAL_HTTP_TIMEOUT", "60"), ("GDAL_HTTP_CONNECTTIMEOUT", "15"),
    ]

    /// Call before any GDAL use; cheap after the first call.
    public static func ensureInitialized() {
        _ = initialized
    }

    /// Sets GDAL's block-cache size in bytes (GDAL reads `GDAL_CACHEMAX` only once, so this is the
    /// way to bound the cache inside a memory budget).
    public static func setCacheMax(bytes: Int) {
        ensureInitialized()
        GDALSetCacheMax64(GIntBig(bytes))
    }
}

/// The one place GDAL failures turn into typed errors: every GDAL call that can fail goes
/// through one of these helpers, which read GDAL's thread-local last-error message.
enum GDALCall {
    /// GDAL's last error message on this thread, trimmed; empty when there is none.
    static func lastMessage() -> String {
        guard let cString = CPLGetLastErrorMsg() else { return "" }
        return String(cString: cString).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Clears GDAL's last error on this thread, so that a later message belongs to the next call.
    static func reset() {
        CPLErrorReset()
    }

    /// Throws ``RasterIOError/gdalFailure(operation:path:gdalMessage:)`` unless `result` is `CE_None`.
    static func check(_ result: CPLErr, _ operation: @autoclosure () -> String, path: String) throws {
        if result.rawValue > CE_Warning.rawValue {
            throw RasterIOError.gdalFailure(operation: operation(), path: path, gdalMessage: lastMessage())
        }
    }

    /// Runs a GDAL call that returns no status (`GDALFlushCache` and `GDALClose` return `void` in
    /// GDAL 3.6) and returns its failure, read from GDAL's last error on this thread: the message
    /// and the `errno` seen right after the call (for ``FileCommit/failure(path:reason:errno:)``),
    /// or nil when GDAL reported no failure.
    static func reportedFailure(_ body: () -> Void) -> (message: String, errno: Int32)? {
        CPLErrorReset()
        errno = 0
        body()
        let code = errno
        guard CPLGetLastErrorType().rawValue >= CE_Failure.rawValue else { return nil }
        let message = lastMessage()
        return (message.isEmpty ? "no message" : message, code)
    }

    /// Returns `handle` or throws ``RasterIOError/gdalFailure(operation:path:gdalMessage:)`` when it is nil.
    static func check<T>(_ handle: T?, _ operation: @autoclosure () -> String, path: String) throws -> T {
        guard let handle else {
            throw RasterIOError.gdalFailure(operation: operation(), path: path, gdalMessage: lastMessage())
        }
        return handle
    }

    /// Builds a NULL-terminated C string list (GDAL's `char **`) for the duration of `body`.
    static func withStringList<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws -> R) rethrows -> R {
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        for string in strings {
            list = CSLAddString(list, string)
        }
        defer { CSLDestroy(list) }
        return try body(list)
    }

    /// Reads a GDAL `char **` list into Swift strings.
    static func strings(from list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard let list else { return [] }
        var result: [String] = []
        var index = 0
        while let item = list[index] {
            result.append(String(cString: item))
            index += 1
        }
        return result
    }
}

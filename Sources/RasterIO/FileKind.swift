import Foundation

/// What kind of file system entry a path names, found with `stat(2)` without opening it: opening
/// a FIFO for reading blocks until a writer appears, and a device can be endless, so inputs that
/// are neither regular files nor folders are refused before anything opens them.
public enum FileKind {
    /// A description of a non-regular `st_mode` for messages: "a FIFO (named pipe)", "a socket", ...
    public static func describe(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }

    /// nil when `path` is a regular file or a folder (symbolic links followed) or does not exist;
    /// otherwise what it is ("a FIFO (named pipe)", "a character device", ...).
    public static func nonRegular(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let type = info.st_mode & S_IFMT
        return type == S_IFREG || type == S_IFDIR ? nil : describe(mode: info.st_mode)
    }

    /// Whether `path` is a GDAL virtual file system path (`/vsizip/...`, `/vsis3/...`) or a
    /// driver connection string (`SENTINEL2_L1C:...`) rather than a file.
    public static func isGDALConnection(_ path: String) -> Bool {
        path.hasPrefix("/vsi") || path.contains(":") && !FileManager.default.fileExists(atPath: path)
    }
}

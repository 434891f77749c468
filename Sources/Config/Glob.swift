import Foundation

/// Shell-style file name patterns.
public enum Glob {
    public static func hasPattern(_ path: String) -> Bool { path.contains { "*?[".contains($0) } }

    /// Sorted matches of `pattern` (files and folders).
    public static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        var matches: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { matches.append(String(cString: path)) }
        }
        return matches.sorted()
    }
}

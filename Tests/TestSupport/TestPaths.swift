import Foundation

/// Where tests find the package, the shared real data, and fresh scratch folders: the one copy
/// every test target uses.
public enum TestPaths {
    /// The package root (this file is Tests/TestSupport/TestPaths.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/data/real-sentinel2` beside the package (as on CI): real Sentinel-2 scenes,
    /// OSM labels, BigEarthNet and EuroSAT samples.
    public static let realData = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/real-sentinel2")

    /// A path below ``realData``.
    public static func real(_ relative: String) -> String {
        realData.appendingPathComponent(relative).path
    }

    /// A path below the package root.
    public static func package(_ relative: String) -> String {
        packageRoot.appendingPathComponent(relative).path
    }

    /// A fresh, empty folder under the system's temporary folder, named after `label` (the
    /// calling test's name by default) so that a failing test's files are easy to find.
    public static func temporaryFolder(_ label: String = #function) throws -> URL {
        let safe = label.filter { $0.isLetter || $0.isNumber }.prefix(60)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("landcover-test-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

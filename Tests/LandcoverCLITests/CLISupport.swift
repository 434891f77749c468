import Foundation
import TestSupport

/// Runs the built `landcover` binary and other tools for end-to-end tests.
enum CLI {
    /// The `landcover` executable built beside the test bundle.
    static var binary: String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products.appendingPathComponent("landcover").path,
                          products.deletingLastPathComponent().appendingPathComponent("landcover").path,
                          TestPaths.packageRoot.appendingPathComponent(".build/release/landcover").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[2]
    }

    typealias Result = CommandLineTool.Result

    /// Runs `executable` (default: landcover) with `arguments` and the test's environment plus
    /// `environment`; never throws on a non-zero exit.
    static func run(_ arguments: [String], executable: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try CommandLineTool.outcome(executable ?? binary, arguments, environment: CommandLineTool.environment(environment))
    }

    static func json(_ text: String) throws -> [String: Any] {
        (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }
}

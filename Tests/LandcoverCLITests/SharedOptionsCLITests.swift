import Foundation
import TestSupport
import Testing

/// Options several commands share are defined once: the same help, default and bound everywhere;
/// `validate` prints its text and its JSON from one report.
@Suite("shared options and reports")
struct SharedOptionsCLITests {
    static let threadCommands: [[String]] = [["run", "p.yaml"], ["evaluate", "m.onnx", "--folder", "f"], ["train", "t.yaml"],
                                             ["generate", "out"], ["model", "predict", "m.onnx", "--input", "x.npy", "--output-dir", "o"]]

    @Test func threadsHasOneHelpTextAndOneBound() throws {
        var helps = Set<String>()
        for command in Self.threadCommands {
            let help = try CLI.run(Array(command.prefix(command[0] == "model" ? 2 : 1)) + ["--help"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            // The help text of --threads (its last mention: the first is in the usage line), up to
            // the next option, wrapped lines joined.
            let text = help.stdout.components(separatedBy: "--threads <threads>").dropFirst().last?
                .components(separatedBy: "\n  -").first?.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text?.contains("else one per core") == true, "\(command): \(help.stdout)")
            if let text { helps.insert(text) }

            let refused = try CLI.run(command + ["--threads", "0"])
            #expect(refused.status == 2, "\(command): \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("--threads: '0' must be from 1 to 256"),
                    "\(command): \(refused.stderr)")
        }
        #expect(helps.count == 1, "different --threads help texts: \(helps)")
    }

    @Test func validateTextAndJSONSayTheSame() throws {
        let pipeline = TestPaths.package("pipelines/sample.yaml")
        let text = try CLI.run(["validate", pipeline])
        let json = try CLI.run(["validate", pipeline, "--json"])
        #expect(text.status == 0 && json.status == 0, "\(text.stderr) \(json.stderr)")
        let report = try CLI.json(json.stdout)
        let scenes = try #require(report["scenes"] as? [[String: Any]])
        #expect(!scenes.isEmpty && report["problems"] as? Int == 0)
        let model = try #require(report["model"] as? String)
        #expect(text.stdout.hasPrefix("model: \(model) ("), "\(text.stdout)")
        #expect(text.stdout.contains("workers: \(report["workers"] as? Int ?? -1), batch: \(report["batch_size"] as? Int ?? -1)"), "\(text.stdout)")
        for scene in scenes {
            let name = try #require(scene["name"] as? String)
            let patches = try #require(scene["patches"] as? Int), width = try #require(scene["width"] as? Int)
            let height = try #require(scene["height"] as? Int), output = try #require(scene["output"] as? String)
            #expect(scene["ok"] as? Bool == true)
            #expect(text.stdout.contains("scene \(name): \(width)x\(height) at "), "\(text.stdout)")
            #expect(text.stdout.contains("\(patches) patches of \(scene["patch_size"] as? Int ?? -1)"), "\(text.stdout)")
            #expect(text.stdout.contains("  output: \(output)\n"), "\(text.stdout)")
            for band in (scene["bands"] as? [String]) ?? [] { #expect(text.stdout.contains("  \(band)\n")) }
        }
        #expect(text.stdout.hasSuffix("ok: \(scenes.count) scene(s) ready\n"), "\(text.stdout)")
    }
}

import Foundation
import TestSupport
import Testing

/// Training you can watch: the progress bar and ETA on a terminal (a pseudo-terminal made by
/// `script`), plain lines without one, `metrics.csv` beside the report (kept across a resume),
/// and the lock on the checkpoint folder (a second concurrent `train` exits 3 naming the holder).
@Suite("landcover train: progress, metrics, lock", .serialized)
struct TrainProgressTests {
    /// A folder with the tiny two-class scene and a training file of `epochs` epochs.
    /// With `validation`, the scene is 64 x 96 pixels and its top quarter is the validation strip.
    static func setUp(epochs: Int, validation: Bool = false, _ label: String = #function) throws -> (folder: URL, file: String) {
        let folder = try TestPaths.temporaryFolder(label)
        var extra = ""
        if validation {
            try TinyScene.writeScene(folder.appendingPathComponent("scene.tif").path, width: 64, height: 96) { x, _ in x < 32 ? 0 : 1 }
            try TinyScene.writeLabels(folder.appendingPathComponent("labels.tif").path, width: 64, height: 96) { x, _ in x < 32 ? 0 : 1 }
            extra = "split:\n  validation: {axis: rows, start: 0.0, fraction: 0.25}\n  buffer: 4"
        } else {
            try TrainEvaluateTests.writeHalves(folder)
        }
        let file = folder.appendingPathComponent("train.yaml")
        try TinyScene.trainingFile(folder: folder, epochs: epochs, extra: extra).write(to: file, atomically: true, encoding: .utf8)
        return (folder, file.path)
    }

    /// Quotes `word` for `sh -c`.
    static func shellQuoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @Test func terminalShowsABarWithETA() throws {
        let (folder, file) = try Self.setUp(epochs: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let command = ([CLI.binary, "train", file]).map(Self.shellQuoted).joined(separator: " ")
        // `script` gives the command a pseudo-terminal and copies what it writes to stdout.
        let result = try CLI.run(["-qec", command, "/dev/null"], executable: "/usr/bin/script", environment: ["TERM": "xterm"])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        // The pseudo-terminal ends lines with CR LF (one Character in Swift: split on LF alone).
        let screen = result.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(screen.contains("\r["), "a bar redrawn in place: \(screen.debugDescription.prefix(600))")
        #expect(screen.contains("100%") && screen.contains("patches/s"))
        #expect(screen.contains("ETA epoch ") && screen.contains(", run "), "\(screen.debugDescription.prefix(600))")
        #expect(screen.contains("epoch 1/3 batch 1/") && screen.contains("epoch 3/3"))
        // The epoch lines still come, each on a clean line.
        #expect(screen.components(separatedBy: "\n").filter { $0.contains("epoch ") && $0.contains(" acc ") }.count == 3)
        #expect(!screen.contains("landcover train: "), "no plain log lines on a terminal")
    }

    @Test func withoutATerminalPlainLinesAndMetrics() throws {
        let (folder, file) = try Self.setUp(epochs: 3, validation: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try CLI.run(["train", file, "--epochs", "2", "--progress-interval", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("\r") && !result.stderr.contains("\u{1B}"), "no terminal control characters")
        let progress = result.stderr.split(separator: "\n").filter { $0.contains(" patches/s") }
        #expect(progress.count >= 2 && progress.allSatisfy { $0.hasPrefix("landcover train: ") && $0.contains("ETA epoch ") })
        #expect(progress.contains { $0.contains("epoch 2/2") })
        #expect(result.stdout.contains("metrics: ") && result.stdout.contains("report.metrics.csv"))

        // One row per epoch beside the report; a resume keeps the earlier rows.
        let metrics = folder.appendingPathComponent("out/report.metrics.csv")
        func rows() throws -> [[String]] {
            try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        var table = try rows()
        #expect(table.first == ["epoch", "training_loss", "training_accuracy", "validation_loss", "validation_accuracy",
                                "validation_kappa", "validation_macro_f1", "learning_rate", "seconds", "best"])
        #expect(table.dropFirst().map { $0.first } == ["1", "2"])
        #expect(table.dropFirst().allSatisfy { row in
            row.count == 10 && Double(row[1]) != nil && Double(row[3]) != nil && Double(row[4]) != nil && Double(row[5]) != nil && Double(row[6]) != nil
                && (Double(row[8]) ?? 0) > 0 && ["0", "1"].contains(row[9])
        }, "\(table)")
        let resumed = try CLI.run(["train", file, "--resume", "--quiet"])
        #expect(resumed.status == 0 && resumed.stdout.isEmpty && resumed.stderr.isEmpty, "\(resumed.stderr)")
        let before = table
        table = try rows()
        #expect(table.dropFirst().map { $0.first } == ["1", "2", "3"])
        #expect(Array(table.prefix(3)) == Array(before.prefix(3)), "the rows of the epochs before the resume are kept")
        // The JSON report's epochs agree with the rows.
        let report = try CLI.json(String(decoding: try Data(contentsOf: folder.appendingPathComponent("out/report.json")), as: UTF8.self))
        let last = try #require((report["epochs"] as? [[String: Any]])?.last)
        #expect(String(format: "%.6f", (last["trainingLoss"] as? Double) ?? -1) == table[3][1])
    }

    @Test func secondConcurrentTrainExitsThree() throws {
        let (folder, file) = try Self.setUp(epochs: 100_000)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try BatchCLI.Running(["train", file, "--quiet"], logs: folder, tag: "first")
        defer {
            // SIGKILL: the test runner's threads block SIGTERM, and children inherit the mask.
            if first.process.isRunning { kill(first.pid, SIGKILL) }
            first.process.waitUntilExit()
        }
        // The lock line appears once the first run holds the lock (60 s hang bound).
        let lock = folder.appendingPathComponent("out/checkpoints/.landcover-train.lock").path
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOfFile: lock, encoding: .utf8))?.hasPrefix("pid=\(first.pid) ") ?? false) {
            usleep(20_000)
        }
        #expect(first.process.isRunning)
        for arguments in [["train", file], ["train", file, "--resume"]] {
            let second = try CLI.run(arguments)
            #expect(second.status == 3, "\(second.stderr)")
            #expect(second.stderr.hasPrefix("landcover: \(file): another training run holds the lock ")
                        && second.stderr.contains("(pid \(first.pid) on ") && second.stderr.split(separator: "\n").count == 1, "\(second.stderr)")
        }
        #expect(first.process.isRunning, "the first run goes on")
    }
}

import Foundation
import Testing
import TestSupport

/// Issue 13 through the `landcover` binary: a full disk (a real small tmpfs) and SIGTERM/SIGINT
/// at random moments must never leave a partial file under a final name, a temporary file, or a
/// scene recorded done that is not complete on disk.
@Suite(.serialized) struct WriteSafetyCLITests {
    /// Mounts a tmpfs of `bytes` at `folder` (we run as root in CI); nil with the reason when the
    /// system refuses.
    static func mountTmpfs(_ folder: URL, bytes: Int) -> String? {
        do {
            try CommandLineTool.run("mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder.path])
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func resizeTmpfs(_ folder: URL, bytes: Int) throws {
        try CommandLineTool.run("mount", ["-o", "remount,size=\(bytes)", folder.path])
    }

    /// Bytes still free on the file system holding `folder`.
    static func freeBytes(_ folder: URL) -> Int {
        var info = statvfs()
        guard statvfs(folder.path, &info) == 0 else { return 0 }
        return Int(info.f_bfree) * Int(info.f_frsize)
    }

    /// Every entry of `folder` and its `reports` subfolder that is a landcover temporary file.
    static func temporaries(_ folder: URL) -> [String] {
        let fm = FileManager.default
        let entries = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? [])
            + ((try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent("reports").path)) ?? [])
        return entries.filter { $0.contains(".landcover-tmp-") }
    }

    /// `landcover history` as JSON for a history at `database`.
    static func history(_ pipeline: String, database: String, _ arguments: [String], logs: URL) throws -> [String: Any] {
        let result = try BatchCLI.run(["history", pipeline, "--history", database, "--json"] + arguments, logs: logs, tag: "history")
        guard result.status == 0 else { throw BatchCLI.CLIFailure(message: "history exited \(result.status): \(result.stderr)") }
        return try CLI.json(result.stdout)
    }

    /// The runs in a history (newest first) and the scene attempts of one run.
    static func runs(_ pipeline: String, database: String, logs: URL) throws -> [[String: Any]] {
        (try history(pipeline, database: database, ["--limit", "1000"], logs: logs)["runs"] as? [[String: Any]]) ?? []
    }

    static func scenes(_ pipeline: String, database: String, run: Int, logs: URL) throws -> [[String: Any]] {
        (try history(pipeline, database: database, ["--run", "\(run)"], logs: logs)["scenes"] as? [[String: Any]]) ?? []
    }

    @Test func diskFullFirstRunAndForcedRerunLeaveNothingPartialAndRecordNothingDone() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 2, size: 600, output: "{folder: out, probabilities: true}")
        defer { try? FileManager.default.removeItem(at: folder) }
        // 600 rows: writers flush a row of 512-pixel blocks mid-scene, then the rest at commit.
        // The uninterrupted reference, on the ordinary disk, into the same output folder (the
        // folder is part of the settings fingerprint recorded in the maps) with its own history.
        let out = folder.appendingPathComponent("out")
        let good = try BatchCLI.run(["run", pipeline, "--history", folder.appendingPathComponent("reference.sqlite").path],
                                    logs: folder, tag: "reference")
        try #require(good.status == 0, "\(good.stderr)")
        let expected = try BatchRunCLITests.finalFiles(out)
        let outputBytes = expected.values.reduce(0) { $0 + $1.count }
        // Per scene: the map, its confidence file and its probabilities.
        #expect(expected.keys.filter { $0.hasSuffix(".tif") }.count == 6, "\(expected.keys.sorted())")
        try FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        // The output folder becomes a tmpfs too small for the first scene's outputs; the history
        // lives on the ordinary disk (--history), so what fills up is the outputs' file system.
        let small = max(16 << 10, outputBytes / 4 / 4096 * 4096)
        if let refused = Self.mountTmpfs(out, bytes: small) {
            print("disk-full test skipped: cannot mount a tmpfs (\(refused))")
            return
        }
        defer { _ = try? CommandLineTool.run("umount", [out.path]) }
        let database = folder.appendingPathComponent("history.sqlite").path
        let arguments = ["run", pipeline, "--history", database]

        // 1. First run on a disk that cannot hold the outputs.
        let first = try BatchCLI.run(arguments, logs: folder, tag: "full-first")
        #expect(first.status == 5, "first run on a full disk: exit \(first.status): \(first.stderr)")
        let message = first.stderr.split(separator: "\n").filter { $0.hasPrefix("landcover: ") }
        #expect(message.count == 1 && message.first?.contains("no space left on \(out.path)") == true, "\(first.stderr)")
        print("disk-full test: a \(small / 1024) KiB tmpfs for \(outputBytes / 1024) KiB of outputs: \(message.first ?? "")")
        BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: expected, requireAll: false, context: "first run, disk full")
        #expect(Self.temporaries(out).isEmpty, "temporary files left: \(Self.temporaries(out))")
        var runs = try Self.runs(pipeline, database: database, logs: folder)
        #expect(runs.first?["status"] as? String == "failed", "\(runs)")
        if let id = runs.first?["id"] as? Int {
            let attempts = try Self.scenes(pipeline, database: database, run: id, logs: folder)
            #expect(!attempts.contains { $0["status"] as? String == "done" }, "a scene recorded done on a full disk: \(attempts)")
        }

        // 2. Space freed (the tmpfs grown): the next run completes and equals the reference.
        try Self.resizeTmpfs(out, bytes: 4 * outputBytes + (1 << 20))
        let second = try BatchCLI.run(arguments, logs: folder, tag: "after-free")
        #expect(second.status == 0, "\(second.stderr)")
        BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: expected, requireAll: true, context: "after space was freed")

        // 3. A forced rerun with the disk refilled: it fails, the complete outputs stay, no
        //    attempt of it is recorded done.
        let filler = out.appendingPathComponent(".filler")
        let fill = max(0, Self.freeBytes(out) - outputBytes / 6)
        try #require(FileManager.default.createFile(atPath: filler.path, contents: Data(count: fill)))
        let forced = try BatchCLI.run(arguments + ["--force"], logs: folder, tag: "full-force")
        #expect(forced.status == 5, "forced rerun on a full disk: exit \(forced.status): \(forced.stderr)")
        #expect(forced.stderr.contains("no space left on \(out.path)"), "\(forced.stderr)")
        BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: expected, requireAll: false, context: "forced rerun, disk full")
        #expect(Self.temporaries(out).isEmpty, "temporary files left: \(Self.temporaries(out))")
        runs = try Self.runs(pipeline, database: database, logs: folder)
        #expect(runs.first?["status"] as? String == "failed", "\(runs)")
        if let id = runs.first?["id"] as? Int {
            let attempts = try Self.scenes(pipeline, database: database, run: id, logs: folder)
            #expect(!attempts.isEmpty && !attempts.contains { $0["status"] as? String == "done" }, "forced rerun on a full disk: \(attempts)")
        }

        // 4. Space freed again: the next run completes (redoing what the failed rerun touched)
        //    and every output equals the reference.
        try FileManager.default.removeItem(at: filler)
        let last = try BatchCLI.run(arguments, logs: folder, tag: "after-refill")
        #expect(last.status == 0, "\(last.stderr)")
        BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: expected, requireAll: true, context: "after the filler was removed")
        let again = try BatchCLI.run(arguments + ["--force"], logs: folder, tag: "forced-after-refill")
        #expect(again.status == 0, "\(again.stderr)")
        BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: expected, requireAll: true, context: "forced run after the filler was removed")
    }

    @Test func sigtermAtRandomMomentsExits143LeavesNoTemporaryFilesAndRerunCompletesIdentically() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 6, size: 64, output: "{folder: out, probabilities: true}",
                                                       extra: "mode: dense\ntiling: {stride: 8}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out")
        let database = out.appendingPathComponent("landcover-history.sqlite").path
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let result = try BatchCLI.run(["run", pipeline], logs: folder)
            try #require(result.status == 0, "\(result.stderr)")
        }
        let reference = try BatchRunCLITests.finalFiles(out)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        var generator = SplitMix(seed: 20_261_207)
        var stopped = 0
        var slowest = Duration.zero
        // The handler is installed before the pipeline is read: 0.3 s is past process start-up.
        let earliest = 0.3
        for trial in 0..<10 {
            let forced = trial % 2 == 1
            if !forced { try FileManager.default.removeItem(at: out) }
            let signal = trial == 9 ? SIGINT : SIGTERM
            let delay = earliest + generator.unit() * max(0.1, seconds - earliest)
            let running = try BatchCLI.Running(["run", pipeline] + (forced ? ["--force"] : []), logs: folder, tag: "term\(trial)")
            usleep(UInt32(delay * 1e6))
            let context = "trial \(trial) (signal \(signal) after \(String(format: "%.3f", delay)) s\(forced ? ", --force" : ""))"
            guard running.process.isRunning else {
                let result = running.finish()
                #expect(result.status == 0, "\(context): \(result.stderr)")
                continue
            }
            let sent = clock.now
            kill(running.pid, signal)
            let result = running.finish()
            let took = clock.now - sent
            slowest = max(slowest, took)
            #expect(took < .seconds(5), "\(context): exit took \(took)")
            let runs = (try Self.runs(pipeline, database: database, logs: folder))
            let own = runs.first { ($0["pid"] as? Int).map(Int32.init) == running.pid }
            if result.status == 0 {
                // The signal came after the last scene: the run is complete.
                #expect(own?["status"] as? String == "done", "\(context): exit 0 but \(String(describing: own))")
            } else {
                stopped += 1
                #expect(running.process.terminationReason == .exit && result.status == 128 + signal,
                        "\(context): exit \(result.status) (\(running.process.terminationReason == .exit ? "exit" : "signal")): \(result.stderr)")
                if let own {
                    #expect(own["status"] as? String == "interrupted", "\(context): \(own)")
                } else {
                    // Under load the signal can come before the run started (nothing recorded).
                    #expect(result.stderr.contains("nothing was written"), "\(context): no run recorded: \(result.stderr)")
                }
            }
            #expect(!runs.contains { $0["status"] as? String == "running" }, "\(context): a run is still recorded as running")
            #expect(Self.temporaries(out).isEmpty, "\(context): temporary files left: \(Self.temporaries(out))")
            BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: reference, requireAll: false, context: context + " after the signal")
            let rerun = try BatchCLI.run(["run", pipeline], logs: folder, tag: "rerun\(trial)")
            #expect(rerun.status == 0, "\(context): \(rerun.stderr)")
            BatchRunCLITests.compare(try BatchRunCLITests.finalFiles(out), to: reference, requireAll: true, context: context + " after the rerun")
        }
        print("SIGTERM test: reference run \(String(format: "%.2f", seconds)) s; \(stopped) of 10 signals stopped a running scene batch; slowest exit \(slowest)")
        #expect(stopped >= 5, "only \(stopped) of 10 signals hit a running process (reference run: \(seconds) s)")
    }

    @Test func sigtermWhileWaitingForTheLockExitsAtOnceAndLeavesTheHolderAlone() throws {
        let (folder, pipeline) = try BatchFixture.make(scenes: 12, size: 96, output: "{folder: out, probabilities: true}",
                                                       extra: "mode: dense\ntiling: {stride: 8}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out")
        let database = out.appendingPathComponent("landcover-history.sqlite").path
        let holder = try BatchCLI.Running(["run", pipeline], logs: folder, tag: "holder")
        // Wait until the holder has the lock (it writes its pid into the lock file), then queue
        // a second run behind it.
        let deadline = Date().addingTimeInterval(30)
        func locked() -> Bool {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
            return entries.contains { entry in
                entry.hasSuffix(".lock") && ((try? String(contentsOfFile: out.appendingPathComponent(entry).path, encoding: .utf8))?.contains("\(holder.pid)") ?? false)
            }
        }
        while holder.process.isRunning, Date() < deadline, !locked() { usleep(10_000) }
        try #require(holder.process.isRunning, "the first run finished before the second could queue behind it")
        let waiting = try BatchCLI.Running(["run", pipeline, "--wait"], logs: folder, tag: "waiting")
        while waiting.process.isRunning, Date() < deadline,
              !((try? String(contentsOfFile: waiting.stderrPath, encoding: .utf8))?.contains("waiting for the lock") ?? false) {
            usleep(10_000)
        }
        try #require(waiting.process.isRunning && holder.process.isRunning, "the second run did not wait: \(waiting.finish().stderr)")
        let clock = ContinuousClock()
        let sent = clock.now
        kill(waiting.pid, SIGTERM)
        let stopped = waiting.finish()
        #expect(clock.now - sent < .seconds(5))
        #expect(waiting.process.terminationReason == .exit && stopped.status == 143, "\(stopped.status): \(stopped.stderr)")
        #expect(stopped.stderr.contains("waiting for the lock"), "\(stopped.stderr)")
        let finished = holder.finish()
        #expect(finished.status == 0, "\(finished.stderr)")
        let runs = try Self.runs(pipeline, database: database, logs: folder)
        #expect(runs.count == 1 && runs.first?["status"] as? String == "done", "\(runs)")
    }
}

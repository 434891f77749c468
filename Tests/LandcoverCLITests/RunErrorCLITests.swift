import Foundation
import Testing

/// `landcover run` on bad input: a non-zero exit code, one error line that names the key or the
/// file, and nothing partial left behind.
@Suite("landcover run: bad input", .serialized)
struct RunErrorCLITests {
    /// Every file under `folder`, relative to it.
    static func files(in folder: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        var found: [String] = []
        while let next = enumerator?.nextObject() as? String {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(next).path, isDirectory: &isFolder), !isFolder.boolValue {
                found.append(next)
            }
        }
        return found.sorted()
    }

    /// What a run that classified nothing may leave: its report, the history and the lock.
    static func onlyBookkeeping(_ files: [String]) -> Bool {
        files.allSatisfy { name in
            name == "landcover-report.json" || name.hasPrefix("reports/run-") || name.hasPrefix("landcover-history.sqlite")
                || (name.hasPrefix(".landcover-") && name.hasSuffix(".lock"))
        }
    }

    /// Error lines: `landcover: ...` (pipeline errors) or logfmt lines at level error.
    static func errorLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("landcover: ") || $0.contains("level=error") }
    }

    /// A pipeline file error stops before anything is created: exit 2, one line naming the key or file.
    @Test(arguments: [
        ("tilling: {stride: 8}", ["unknown key 'tilling'", "did you mean 'tiling'"]),
        ("tiling: {stride: eight}", ["tiling.stride", "'eight'", "whole number"]),
        ("output: {folder: out, format: jpeg}", ["output.format", "'jpeg'"]),
        ("runtime: {threads: [2]}", ["runtime.threads"]),
        ("model: missing.onnx", ["model", "missing.onnx", "does not exist"]),
        ("model: scenes/S2X_T33UU0_20240101.tif", ["S2X_T33UU0_20240101.tif"]),
    ])
    func pipelineErrorsExitTwoWithOneLineAndNoOutput(line: String, expected: [String]) throws {
        let (folder, _) = try BatchFixture.make(scenes: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = String(line.prefix { $0 != ":" })
        let body = ["inputs: [scenes/*.tif]", "model: model.onnx", "output: {folder: out}"]
            .filter { !$0.hasPrefix(key + ":") } + [line]
        let pipeline = folder.appendingPathComponent("bad.yaml").path
        try body.joined(separator: "\n").write(toFile: pipeline, atomically: true, encoding: .utf8)

        let result = try BatchCLI.run(["run", pipeline], logs: folder)
        #expect(result.status == 2, "\(line): exit \(result.status), \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(line): one line expected: \(result.stderr)")
        for fragment in expected {
            #expect(result.stderr.contains(fragment), "\(line): '\(fragment)' missing from \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path), "\(line): nothing may be written")
    }

    /// A scene that lacks a band the model needs, an unreadable file, a truncated file and a file
    /// that does not exist each fail with one error line naming the file (and the band); the good
    /// scene in the same batch is done; the failed ones leave no output, not even a temporary one.
    /// Usage errors (unknown option, missing argument, a value a subcommand rejects) are input
    /// errors like the others: exit 2 and one line; help still works where validation would fail.
    @Test func usageErrorsExitTwoWithOneLine() throws {
        for (arguments, words) in [(["run", "p.yaml", "--bogus"], ["Unknown option '--bogus'"]), (["run"], ["Missing expected argument '<pipeline>'"]),
                                   (["run", "p.yaml", "--threads", "0"], ["--threads", "'0'", "from 1 to 256"]),
                                   (["history"], ["no history named"]), (["nosuch"], ["Unexpected argument 'nosuch'"])] {
            let result = try CLI.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.status)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("landcover: ") && words.allSatisfy { lines[0].contains($0) }, "\(arguments): \(result.stderr)")
        }
        let help = try CLI.run(["history", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: landcover history"), "\(help.stderr)")
    }

    @Test func badScenesFailAloneWithOneLineEachAndNoPartialOutput() throws {
        let (folder, _) = try BatchFixture.make(scenes: 1, size: 48)
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenes = folder.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: scenes, withIntermediateDirectories: true)

        // Three of the model's four bands, one file per band.
        let partial = scenes.appendingPathComponent("T33UUU_20240105_partial")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        for band in ["B02", "B03", "B04"] {
            try BatchFixture.writeSingleBand(partial.appendingPathComponent("T33UUU_20240105_\(band).tif").path, band: band, width: 40, height: 40)
        }
        // Not a raster.
        let garbage = scenes.appendingPathComponent("S2X_T33UUG_20240106.tif")
        try Data("not a raster, just text".utf8).write(to: garbage)
        // A real GeoTIFF cut short: its header opens, its pixels end early.
        let truncated = scenes.appendingPathComponent("S2X_T33UUT_20240107.tif")
        try BatchFixture.writeScene(truncated.path, width: 600, height: 600, seed: 3, compressed: false)
        let whole = try Data(contentsOf: truncated)
        try whole.prefix(whole.count * 2 / 5).write(to: truncated)

        let pipeline = folder.appendingPathComponent("mixed.yaml").path
        try """
        inputs:
          - scenes/*.tif
          - bad/T33UUU_20240105_partial
          - bad/S2X_T33UUG_20240106.tif
          - bad/S2X_T33UUT_20240107.tif
          - bad/S2X_T33UUM_20240108.tif
        model: model.onnx
        output: {folder: out, probabilities: true}
        runtime: {threads: 2, batch_size: 8}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)

        let result = try BatchCLI.run(["run", pipeline], logs: folder)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("5 scene(s): 1 done, 0 skipped (unchanged), 4 failed"), "\(result.stdout)")
        let errors = Self.errorLines(result.stderr)
        #expect(errors.count == 4, "one error line per bad scene: \(result.stderr)")
        func line(naming file: String) -> String? { errors.first { $0.contains("error=\"") && $0.contains(file) } }
        let missingBand = line(naming: "T33UUU_20240105_partial")
        #expect(missingBand?.contains("B08") == true, "the missing band is named: \(missingBand ?? result.stderr)")
        #expect(line(naming: "S2X_T33UUG_20240106.tif")?.contains("not a readable raster") == true, "\(result.stderr)")
        let cut = line(naming: "S2X_T33UUT_20240107.tif")
        #expect(cut?.contains("truncated") == true || cut?.contains("complete") == true, "says how to fix it: \(cut ?? result.stderr)")
        #expect(line(naming: "S2X_T33UUM_20240108.tif")?.contains("does not exist") == true, "\(result.stderr)")

        let out = folder.appendingPathComponent("out")
        let written = Self.files(in: out)
        let good = written.filter { $0.hasPrefix("S2X_T33UU0_20240101") }
        #expect(good.count >= 4, "the good scene's map, probabilities, preview and STAC: \(written)")
        #expect(Self.onlyBookkeeping(written.filter { !$0.hasPrefix("S2X_T33UU0_20240101") }),
                "failed scenes leave nothing behind: \(written)")
    }
}

extension BatchFixture {
    /// One band of a 4-band fixture scene as its own file (as in a folder of per-band files).
    static func writeSingleBand(_ path: String, band: String, width: Int, height: Int) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let whole = folder.appendingPathComponent(".whole-\(band).tif").path
        try writeScene(whole, width: width, height: height, seed: 0)
        defer { try? FileManager.default.removeItem(atPath: whole) }
        let index = (bands.firstIndex(of: band) ?? 0) + 1
        let result = try CLI.run(["-q", "-b", "\(index)", whole, path], executable: "gdal_translate")
        #expect(result.status == 0, "gdal_translate: \(result.stderr)")
    }
}

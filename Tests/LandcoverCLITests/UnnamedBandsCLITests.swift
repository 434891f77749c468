import Foundation
import RasterIO
import TestSupport
import Testing

/// Band stacks made by GDAL's own tools (`gdalbuildvrt -separate`, `gdal_merge.py -separate`)
/// carry no band names: every command says so in one line with the ways out, and
/// `--band-order` makes them usable. `--resampling` takes one method for all bands; `info` and
/// `stack` take `-q` and `-v`.
@Suite("unnamed band stacks, resampling, info and stack verbosity", .serialized)
struct UnnamedBandsCLITests {
    static let bands = ["B02", "B03", "B04", "B08"]
    static func band(_ name: String) -> String {
        TestPaths.package("samples/s2l1c_33UUU_20170216_west/T33UUU_20170216T102101_\(name).jp2")
    }

    /// The 10 m bands of the sample scene stacked by gdalbuildvrt and by gdal_merge.py.
    static func stacks(in folder: URL) throws -> [String] {
        let vrt = folder.appendingPathComponent("separate.vrt").path
        try CommandLineTool.run("gdalbuildvrt", ["-q", "-separate", vrt] + bands.map(band))
        let merged = folder.appendingPathComponent("merged.tif").path
        try CommandLineTool.run("gdal_merge.py", ["-q", "-separate", "-o", merged] + bands.map(band))
        return [vrt, merged]
    }

    static func expectUnnamedMessage(_ result: CLI.Result, file: String, _ context: String) {
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(context): \(result.stderr)")
        let line = String(lines.last ?? "")
        for words in ["landcover: \(file): its 4 bands carry no names", "--band-order", "sentinel2-l2a", "a list of 4 band names", "a VRT whose bands have descriptions"] {
            #expect(line.contains(words), "\(context): '\(words)' not in \(line)")
        }
        #expect(!line.contains("any named band"), "\(context): \(line)")
    }

    @Test func everyCommandNamesTheProblemAndTheWaysOut() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("m.onnx").path
        try PipelineFixtures.writeModel(model, patchSize: 16)
        for stack in try Self.stacks(in: folder) {
            let info = try CLI.run(["info", stack])
            #expect(info.status == 2 && info.stdout.contains("(no name)"), "info \(stack): \(info.status)")
            Self.expectUnnamedMessage(info, file: stack, "info")

            let stacked = try CLI.run(["stack", stack, "-o", folder.appendingPathComponent("out.tif").path])
            #expect(stacked.status == 2, "stack: \(stacked.status)")
            Self.expectUnnamedMessage(stacked, file: stack, "stack")

            let pipeline = try PipelineFixtures.writePipeline(in: folder, """
            inputs: [\(stack)]
            model: m.onnx
            output: {folder: out-\(URL(fileURLWithPath: stack).lastPathComponent)}
            """)
            let validate = try CLI.run(["validate", pipeline])
            #expect(validate.status == 2 && validate.stdout.contains("its 4 bands carry no names") && validate.stdout.contains("--band-order"),
                    "validate: \(validate.stdout) \(validate.stderr)")
            let run = try CLI.run(["run", pipeline])
            #expect(run.status == 1 && run.stderr.contains("its 4 bands carry no names") && run.stderr.contains("--band-order"), "run: \(run.stderr)")

            // Declared, the bands are named and stack.
            let named = try CLI.run(["info", stack, "--band-order", Self.bands.joined(separator: ","), "-q"])
            #expect(named.status == 0, "\(named.stderr)")
            #expect(named.stdout.hasPrefix("stack\n") && named.stdout.contains("4 bands") && named.stdout.contains("B08"), "\(named.stdout)")
        }
    }

    @Test func resamplingTakesOneMethodForAllBandsAndInfoAndStackTakeQuietAndVerbose() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputs = ["B02", "B05", "B11"].map(Self.band)
        let out = folder.appendingPathComponent("stack.tif").path
        let verbose = try CLI.run(["stack"] + inputs + ["-o", out, "--resampling", "cubic,B11=near", "-v"])
        #expect(verbose.status == 0, "\(verbose.stderr)")
        #expect(verbose.stdout.contains("B02  from T33UUU_20170216T102101_B02.jp2 band 1 at 10: direct"), "\(verbose.stdout)")
        #expect(verbose.stdout.contains("B05  from T33UUU_20170216T102101_B05.jp2 band 1 at 20: cubic"), "\(verbose.stdout)")
        #expect(verbose.stdout.contains("B11  from T33UUU_20170216T102101_B11.jp2 band 1 at 20: near"), "\(verbose.stdout)")
        #expect(verbose.stdout.hasSuffix("wrote \(out): 1008 x 768, bands B02,B05,B11\n"), "\(verbose.stdout)")
        let quiet = try CLI.run(["stack"] + inputs + ["-o", out, "--resampling", "lanczos", "-q"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.stdout) \(quiet.stderr)")
        let info = try TestRasters.gdalinfo(out)
        #expect((info["bands"] as? [[String: Any]])?.compactMap { $0["description"] as? String } == ["B02", "B05", "B11"])

        let plain = try CLI.run(["info"] + inputs + ["--resampling", "cubic"])
        let short = try CLI.run(["info"] + inputs + ["--resampling", "cubic", "-q"])
        let long = try CLI.run(["info"] + inputs + ["--resampling", "cubic", "-v"])
        #expect(plain.status == 0 && short.status == 0 && long.status == 0)
        #expect(plain.stdout.contains("B05  from T33UUU_20170216T102101_B05.jp2 band 1 at 20: cubic"), "\(plain.stdout)")
        #expect(plain.stdout.hasSuffix(short.stdout) && short.stdout.hasPrefix("stack\n") && !short.stdout.contains("driver"), "\(short.stdout)")
        #expect(long.stdout.contains("  WKT PROJCS[\"WGS 84 / UTM zone 33N\"") && !plain.stdout.contains("  WKT "), "\(long.stdout)")
        let refused = try CLI.run(["info"] + inputs + ["--resampling", "sharp"])
        #expect(refused.status == 2 && refused.stderr.contains("--resampling: 'sharp' must be METHOD (every band)"), "\(refused.stderr)")
    }
}

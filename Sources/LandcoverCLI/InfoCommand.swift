import ArgumentParser
import Foundation
import RasterIO

/// `landcover info PATH...`: a concise summary of rasters and how they would be stacked.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarize rasters (size, CRS, bounds, band names) and how their bands would be stacked.",
        discussion: """
        PATH may be a GeoTIFF/COG/VRT/JPEG2000 file, a folder of band files, or a Sentinel-2 SAFE product (folder, MTD_MSI*.xml or .zip). All PATHs together are treated as one scene. \
        Exit codes: 0 the PATHs stack into one scene, 2 a PATH cannot be read or the PATHs cannot be stacked (the reason is the last line, on standard error).
        """)

    @Argument(help: "Raster files, folders or SAFE products.")
    var paths: [String]

    @OptionGroup var stacking: StackingOptions

    @OptionGroup var format: JSONOutputOption

    @Flag(name: .shortAndLong, help: "Print only how the PATHs stack (the scene's grid and bands), not each file.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print each file's CRS as WKT.")
    var verbose = false

    func run() throws {
        try CLIErrors.guarded {
            let summary = try RasterSummary.make(inputs: paths, options: try stacking.sceneOptions())
            if format.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(summary)
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(summary.text(files: !quiet, wkt: verbose))
            }
            // PATHs that cannot form one scene (unnamed bands, mixed CRS, ...) are an input error
            // like in stack, validate and run: the details above, the one-line reason and exit 2.
            if let problem = summary.stack.problem {
                CLIErrors.fail(problem, code: ExitCodes.invalidInput)
            }
        }
    }
}

import ArgumentParser
import Foundation
import RasterIO

/// `landcover info PATH...`: a concise summary of rasters and how they would be stacked.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarize rasters (size, CRS, bounds, band names) and how their bands would be stacked.",
        discussion: """
        PATH may be a GeoTIFF/COG/VRT/JPEG2000 file, a folder of band files, or a Sentinel-2 SAFE
        product (folder, MTD_MSI*.xml or .zip). All PATHs together are treated as one scene.
        """)

    @Argument(help: "Raster files, folders or SAFE products.")
    var paths: [String]

    @OptionGroup var stacking: StackingOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        try CLIErrors.guarded {
            let summary = try RasterSummary.make(inputs: paths, options: try stacking.sceneOptions())
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(summary)
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(summary.text())
            }
        }
    }
}

/// Options shared by commands that stack scenes.
struct StackingOptions: ParsableArguments {
    @Option(name: .customLong("bands"), help: "Bands to stack, in order (e.g. B02,B03,B04,B08). Default: all named bands.")
    var bands: String?

    @Option(name: .customLong("band-order"), help: "Names of the bands of multi-band files that carry none: 'eurosat', 'sentinel2', or a comma list.")
    var bandOrder: String?

    @Option(name: .customLong("resolution"), help: "Pixel size of the stacked grid in map units (default: the finest band's).")
    var resolution: Double?

    @Option(name: .customLong("resampling"), help: "Per-band resampling, e.g. B05=cubic,B11=nearest (default: bilinear up, average down).")
    var resampling: String?

    func sceneOptions() throws -> SceneOptions {
        var options = SceneOptions()
        options.bands = bands.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        if let bandOrder {
            if let named = SentinelBand.namedOrder(bandOrder) {
                options.bandOrder = named
            } else {
                options.bandOrder = bandOrder.split(separator: ",").map { SentinelBand.canonicalName(String($0)) }
            }
        }
        options.referenceResolution = resolution
        if let resampling {
            for item in resampling.split(separator: ",") {
                let parts = item.split(separator: "=").map { String($0).trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let method = Resampling(name: parts[1]) else {
                    throw ValidationError("--resampling: '\(item)' is not BAND=METHOD with METHOD one of \(Resampling.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                options.resampling[SentinelBand.canonicalName(parts[0])] = method
            }
        }
        return options
    }
}

import ArgumentParser
import Foundation
import RasterIO

/// `landcover stack INPUT... --output FILE`: writes a scene's bands, stacked onto one grid, as one
/// multi-band GeoTIFF (band descriptions = band names).
struct StackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack",
        abstract: "Stack bands from several files or a SAFE product onto one grid and write them as one GeoTIFF.")

    @Argument(help: "Raster files, folders or SAFE products forming one scene.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output GeoTIFF path.")
    var output: String

    @OptionGroup var stacking: StackingOptions

    @Flag(help: "Write a cloud-optimized GeoTIFF.")
    var cog = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print how each band is stacked (source file, band, resolution, resampling) before writing.")
    var verbose = false

    func run() throws {
        try CLIErrors.guarded {
            let options = try stacking.sceneOptions()
            let scene = try Scene.assemble(inputs: inputs, options: options)
            if verbose && !quiet {
                print(RasterSummary(files: [], stack: RasterSummary.Stack(scene: scene)).text(files: false))
            }
            let reader = try SceneReader(scene: scene)
            let dataType: RasterDataType = scene.bands.allSatisfy { $0.dataType == .uint16 || $0.dataType == .byte } ? .uint16 : .float32
            let nodata = scene.bands.compactMap(\.nodata).first
            let spec = RasterWriteSpec(grid: scene.grid, bandCount: scene.bands.count, dataType: dataType,
                                       nodata: nodata, bandDescriptions: scene.bandNames,
                                       format: cog ? .cog : .gtiff, compression: .deflate,
                                       metadata: ["LANDCOVER_VERSION": LandcoverVersion.string,
                                                  "LANDCOVER_SOURCE_SCENE": scene.inputs.joined(separator: ",")])
            let writer = try RasterWriter(path: output, spec: spec)
            for window in scene.grid.fullWindow.subdivided(blockWidth: scene.grid.width, blockHeight: 512) {
                let buffer = try reader.read(window: window)
                try buffer.values.withUnsafeBufferPointer { values in
                    guard let base = values.baseAddress else { return }
                    for band in 0..<buffer.bandCount {
                        try writer.write(band: band + 1, window: window, values: base + band * window.pixelCount)
                    }
                }
            }
            try writer.commit()
            if !quiet { print("wrote \(output): \(scene.grid.width) x \(scene.grid.height), bands \(scene.bandNames.joined(separator: ","))") }
        }
    }
}

import ArgumentParser
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO
import SceneSynthesis

/// `landcover generate OUT_FOLDER --size N --seed S`: writes a deterministic synthetic
/// Sentinel-2-like scene (13 UInt16 bands and a UInt8 label raster) for tests, examples and
/// benchmarks.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic synthetic Sentinel-2-like scene with a label raster.",
        discussion: """
        The bands are UInt16 L2A-style DN (reflectance * 10000 + --offset, 0 = nodata) on a 10 m UTM grid; the labels are UInt8 with a colour table, class names and nodata 255. Class spectra come from typical Sentinel-2 profiles (water, tree cover, cropland, grassland, built-up, bare, wetland, shrubland; ESA WorldCover colours); clouds get their own label, `cloud`.

        The same seed and options give the same pixels whatever --threads, and byte-identical files with the same GDAL version and GDAL_CACHEMAX. Unless set in the environment, GDAL_CACHEMAX is 32 (MB) and GDAL_NUM_THREADS (compression threads) is --threads, at most the number of cores. Writing (compression) takes most of the time: --compression none is about 5 times faster than deflate.
        """)

    @Argument(help: "Output folder (created when missing).")
    var outFolder: String

    @Option(help: "Width and height in 10 m pixels (a full tile is 10980).")
    var size: Int?

    @Option(help: "Width in pixels (overrides --size).")
    var width: Int?

    @Option(help: "Height in pixels (overrides --size).")
    var height: Int?

    @Option(help: "Seed; the same seed and options give the same files.")
    var seed: UInt64?

    @Option(help: "Number of classes, 1...8: the first N of water, tree cover, cropland, grassland, built-up, bare, wetland, shrubland.")
    var classes: Int = 8

    @Flag(help: "Add clouds (labelled `cloud`) and their shadows.")
    var clouds = false

    @Option(name: .customLong("cloud-cover"), help: "Cloud fraction with --clouds, in 0...0.95 (default 0.2); expected over large areas, a small scene may get more or none.")
    var cloudCover: Double?

    @Flag(name: .customLong("nodata-border"), help: "Add a slanted swath edge: DN 0 in every band and label nodata beyond it.")
    var nodataBorder = false

    @Flag(name: .customLong("per-band-files"), help: "Write one file per band at its native resolution (10/20/60 m) instead of one 13-band file.")
    var perBandFiles = false

    @Option(help: "EPSG code of a projected CRS in metres (32633: WGS 84 / UTM 33N); the upper-left corner is 300000, 5900040.")
    var epsg: Int = 32633

    @Option(help: "DN offset added to reflectance * 10000: 1000 (processing baseline >= 04.00) or 0 (older).")
    var offset: Int = 1000

    @Option(help: "Compression: deflate, zstd, lzw or none (fastest).")
    var compression: String = "deflate"

    @OptionGroup var threadsOption: ThreadsOption

    @Option(help: "File name stem (default synthetic_seed<S>_<W>x<H>).")
    var name: String?

    func run() throws {
        try CLIErrors.guarded {
            // GDAL reads these once, at its first use: set them before touching RasterIO.
            setenv("GDAL_CACHEMAX", "32", 0)
            let threads = threadsOption.count
            setenv("GDAL_NUM_THREADS", "\(max(1, min(threads, ProcessInfo.processInfo.activeProcessorCount)))", 0)
            let spec = try makeSpec()
            guard let method = RasterCompression.allCases.first(where: { $0.rawValue.lowercased() == compression.lowercased() }) else {
                throw SynthesisError.invalidOption(option: "compression", reason: "'\(compression)' is not one of deflate, zstd, lzw, none")
            }
            let scene = try SyntheticScene(spec: spec)
            let options = SceneWriteOptions(layout: perBandFiles ? .perBandFiles : .multiBand, name: name,
                                            compression: method, threads: threads)
            let result = try scene.write(to: outFolder, options: options)
            print(Self.report(result, spec: spec))
        }
    }

    /// The generator spec from the options; errors name the option.
    func makeSpec() throws -> SyntheticSceneSpec {
        guard let seed else {
            throw SynthesisError.invalidOption(option: "seed", reason: "missing; give --seed S (0...\(UInt64.max)), the same seed gives the same files")
        }
        guard let w = width ?? size, let h = height ?? size else {
            throw SynthesisError.invalidOption(option: "size", reason: "missing; give --size N or both --width W and --height H (pixels of 10 m)")
        }
        for (value, option) in [(w, width == nil ? "size" : "width"), (h, height == nil ? "size" : "height")]
        where !(1...SyntheticSceneSpec.maximumSide).contains(value) {
            throw SynthesisError.invalidOption(option: option, reason: "\(value) pixels is outside 1...\(SyntheticSceneSpec.maximumSide) (a full Sentinel-2 tile is 10980)")
        }
        if cloudCover != nil && !clouds {
            throw SynthesisError.invalidOption(option: "cloud-cover", reason: "given without --clouds; add --clouds")
        }
        let cover = clouds ? (cloudCover ?? 0.2) : 0
        guard !clouds || (cover > 0 && cover <= 0.95) else {
            throw SynthesisError.invalidOption(option: "cloud-cover", reason: "\(cover) is outside 0...0.95 (a fraction of the scene)")
        }
        return SyntheticSceneSpec(width: w, height: h, seed: seed, classes: try SyntheticClass.defaults(count: classes),
                                  cloudCover: cover, nodataBorder: nodataBorder, epsg: epsg, radiometricOffset: offset)
    }

    /// What was written: files, grid, encoding, class fractions, time.
    static func report(_ result: GeneratedScene, spec: SyntheticSceneSpec) -> String {
        var lines: [String] = []
        let grid = result.labelFile.grid
        let crs = grid.spatialReference?.description ?? "no CRS"
        for file in result.bandFiles {
            let bands = file.bands.count == 1 ? "band \(file.bands[0])" : "\(file.bands.count) bands \(file.bands.joined(separator: ","))"
            lines.append("wrote \(file.path): \(file.grid.width) x \(file.grid.height) at \(Self.metres(file.grid.resolution)), \(bands), UInt16")
        }
        lines.append("wrote \(result.labelFile.path): \(grid.width) x \(grid.height) at \(Self.metres(grid.resolution)), UInt8 labels, nodata 255")
        lines.append("grid: \(crs), upper-left (\(Self.number(grid.geoTransform.originX)), \(Self.number(grid.geoTransform.originY)))")
        lines.append("DN = reflectance * 10000 + \(spec.radiometricOffset), 0 = nodata")
        let total = Double(grid.width * grid.height)
        var fractions: [String] = []
        for (value, name) in result.legend.names.enumerated() where value < result.labelCounts.count {
            fractions.append("\(value) \(name) \(percent(result.labelCounts[value], of: total))")
        }
        if result.labelCounts.count > 255, result.labelCounts[255] > 0 {
            fractions.append("255 nodata \(percent(result.labelCounts[255], of: total))")
        }
        lines.append("labels: " + fractions.joined(separator: ", "))
        lines.append(String(format: "took %.2f s", result.seconds))
        return lines.joined(separator: "\n")
    }

    private static func percent(_ count: Int, of total: Double) -> String {
        String(format: "%.1f%%", 100 * Double(count) / total)
    }

    private static func metres(_ value: Double) -> String { "\(number(value)) m" }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

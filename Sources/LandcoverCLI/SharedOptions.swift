import ArgumentParser
import Foundation
import Config
import RasterIO

// Argument groups that several subcommands declare alike (same names, help texts and defaults);
// each subcommand includes them with `@OptionGroup` and declares only the options of its own.

/// `--json`, for commands that print either text or JSON.
struct JSONOutputOption: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}

/// The pipeline file argument of `run` and `validate`.
struct PipelineArgument: ParsableArguments {
    @Argument(help: "The pipeline file (YAML; schema in pipelines/README.md).")
    var pipeline: String
}

/// The ONNX model argument of `model info` and `model predict`.
struct ModelFileArgument: ParsableArguments {
    @Argument(help: "ONNX model file.")
    var model: String
}

/// Options shared by commands that stack scenes.
struct StackingOptions: ParsableArguments {
    @Option(name: .customLong("bands"), help: "Bands to stack, in order (e.g. B02,B03,B04,B08). Default: all named bands.")
    var bands: String?

    @Option(name: .customLong("band-order"), help: ArgumentHelp(Self.bandOrderHelp, valueName: "ORDER"))
    var bandOrder: String?

    @Option(name: .customLong("resolution"), help: "Pixel size of the stacked grid in map units (default: the finest band's).")
    var resolution: Double?

    @Option(name: .customLong("resampling"), help: ArgumentHelp(Self.resamplingHelp, valueName: "METHOD|BAND=METHOD,..."))
    var resampling: String?

    /// `--band-order`'s help: the named orders listed from ``SentinelBand/namedOrders``.
    static var bandOrderHelp: String {
        "Names of the bands of multi-band files that carry none (gdalbuildvrt -separate, gdal_merge.py -separate): \(SentinelBand.namedOrders.joined(separator: ", ")), or a comma list of band names in file order."
    }

    /// `--resampling`'s help: the methods listed from ``Resampling``.
    static var resamplingHelp: String {
        "One method for every band (cubic), per-band methods (B05=cubic,B11=near) or both (cubic,SCL=mode); methods: \(Resampling.allCases.map(\.rawValue).joined(separator: ", ")). Default: bilinear up, average down; class-code bands nearest up, mode down."
    }

    func sceneOptions() throws -> SceneOptions {
        var options = SceneOptions()
        options.bands = bands.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        options.bandOrder = bandOrder.map(Self.bandNames(order:))
        options.referenceResolution = resolution
        if let resampling {
            guard let choice = ResamplingChoice(text: resampling) else {
                throw ValidationError("--resampling: '\(resampling)' must be \(ResamplingChoice.syntax)")
            }
            options.resampling = choice.perBand
            options.allBandsResampling = choice.allBands
        }
        return options
    }

    /// A `--band-order` value as band names: a named order (``SentinelBand/namedOrders``) or a comma list of names.
    static func bandNames(order: String) -> [String] {
        SentinelBand.namedOrder(order) ?? order.split(separator: ",").map { SentinelBand.canonicalName(String($0)) }
    }
}

/// `--threads` of `run`, `evaluate`, `train`, `generate` and `model predict`: one definition, one
/// default (one per core, unless the input file sets its own: `runtime.threads`,
/// `training.workers`), one bound (`PipelineFile.Limits.threads`). No output depends on it.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Worker threads, 1 to 256 (default: runtime.threads or training.workers when the input file sets it, else one per core); outputs do not depend on it.")
    var threads: Int?

    /// `--threads`, else one per core.
    var count: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        let range = PipelineFile.Limits.threads
        if let threads, !range.contains(threads) {
            throw ValidationError("--threads: '\(threads)' must be from \(range.lowerBound) to \(range.upperBound)")
        }
    }
}

/// `--tta none|flips|d4` (`landcover evaluate`), the values of the pipeline's `runtime.tta`.
extension PipelineFile.TestTimeAugmentation: ExpressibleByArgument {}

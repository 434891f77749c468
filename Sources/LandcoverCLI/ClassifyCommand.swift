import ArgumentParser
import Foundation
import Logging
import BatchRun
import Classification
import Config
import RasterIO

/// `landcover classify MODEL SCENE... -o OUT`: the one-line form of `run`. The flags become a
/// pipeline file (``PipelineFile``, read by the same parser: one set of defaults, checks and
/// error messages, with flag names in place of keys), run by the same ``PipelineRunner``
/// without a run history, lock or report; `--print-pipeline` writes that file instead.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify scenes with a model in one command, without a pipeline file.",
        discussion: """
        The same engine, outputs, defaults and errors as `landcover run` on a pipeline file with the same settings (the maps are byte-identical), but no run history, no lock and no report: every scene is classified and its outputs replaced. \
        With -o OUT.tif (one scene) the map is OUT.tif and the other outputs go beside it (OUT_confidence.tif, OUT_preview.png, OUT.stac.json, ...); with -o FOLDER (any number of scenes) each scene's map is FOLDER/{scene}_landcover.tif, or --name.

        --print-pipeline FILE writes the equivalent pipeline file (absolute paths) instead of classifying, for `landcover run FILE` from cron or a scheduler; `-` prints it.

        Exit codes as for run: 0 every scene done, 1 some scenes failed, 2 invalid arguments, model or inputs (nothing started), 4 unexpected failure, 5 an output could not be written, 130/143 stopped by SIGINT/SIGTERM.
        """)

    @Argument(help: "ONNX model with a landcover contract.")
    var model: String

    @Argument(help: "Scenes: a folder of band files, a SAFE product (folder, MTD_MSI*.xml or .zip) or a raster file; each argument is one scene, a quoted glob one scene per match.")
    var scenes: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The map file (one scene, ending in .tif) or the output folder (created if missing).", valueName: "OUT"))
    var output: String

    @Option(help: ArgumentHelp("Map file name template for -o FOLDER; {scene}, {date} and {model} are replaced (pipeline default: \(PipelineFile.Output().name)).", valueName: "TEMPLATE"))
    var name: String?

    // Stacking.
    @Option(name: .customLong("band-map"), help: ArgumentHelp("Model band -> scene band, when names differ (e.g. B8A=B08).", valueName: "BAND=BAND,..."))
    var bandMap: String?

    @Option(name: .customLong("band-order"), help: ArgumentHelp(StackingOptions.bandOrderHelp, valueName: "ORDER"))
    var bandOrder: String?

    @Option(help: ArgumentHelp("Grid pixel size in map units (default: the finest band's).", valueName: "METRES"))
    var resolution: String?

    @Option(help: ArgumentHelp(StackingOptions.resamplingHelp, valueName: "METHOD|BAND=METHOD,..."))
    var resampling: String?

    @Option(help: ArgumentHelp("Bands holding class codes, resampled with nearest (up) and mode (down).", valueName: "BAND,..."))
    var categorical: String?

    // Tiling and mode.
    @Option(help: ArgumentHelp("How predictions become a map: \(PipelineFile.Mode.allCases.map(\.rawValue).joined(separator: ", ")) (pipeline default: \(PipelineFile.Mode.auto.rawValue)).", valueName: "MODE"))
    var mode: String?

    @Option(name: .customLong("patch-size"), help: ArgumentHelp("Patch edge in pixels (default: the model's).", valueName: "PIXELS"))
    var patchSize: String?

    @Option(help: ArgumentHelp("Distance between patch origins, 1 to the patch size (default: the patch size).", valueName: "PIXELS"))
    var stride: String?

    @Option(help: ArgumentHelp("How the last patches meet the scene's edge: \(EdgePolicy.allCases.map(\.rawValue).joined(separator: ", ")) (pipeline default: \(PipelineFile.Tiling().edge.rawValue)).", valueName: "POLICY"))
    var edge: String?

    // Nodata and masks.
    @Option(help: ArgumentHelp("DN treated as nodata in every band (default: the files' nodata).", valueName: "VALUE"))
    var nodata: String?

    @Option(name: .customLong("min-valid-fraction"), help: ArgumentHelp("Minimum valid share of a patch, 0 to 1 (pipeline default: \(PipelineFile.Nodata().minValidFraction)).", valueName: "FRACTION"))
    var minValidFraction: String?

    @Option(name: .customLong("mask-band"), help: ArgumentHelp("A band of the scene whose values mark nodata (e.g. SCL).", valueName: "BAND"))
    var maskBand: String?

    @Option(help: ArgumentHelp("A mask raster (band 1) on any grid of the scene's CRS; not with --mask-band.", valueName: "FILE"))
    var mask: String?

    @Option(name: .customLong("mask-invalid"), help: ArgumentHelp("Mask values that make a pixel nodata (default with a mask: \(PipelineFile.Nodata.sclInvalidClasses.map(String.init).joined(separator: ","))).", valueName: "VALUE,..."))
    var maskInvalid: String?

    // Outputs.
    @Flag(help: "Write cloud-optimized GeoTIFFs (COG) instead of tiled GeoTIFFs.")
    var cog = false

    @Option(help: ArgumentHelp("Raster compression: \(RasterCompression.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")) (pipeline default: \(PipelineFile.Output().compression.rawValue.lowercased())).", valueName: "METHOD"))
    var compression: String?

    @Option(name: .customLong("co"), help: ArgumentHelp("A GDAL creation option for the raster outputs, as gdal_translate -co (repeatable; output.creation_options in a pipeline file).", valueName: "KEY=VALUE"))
    var creationOptions: [String] = []

    @Flag(inversion: .prefixedNo, help: "Write NAME_confidence.tif, the top-1 probability (pipeline default: on).")
    var confidence: Bool?

    @Flag(inversion: .prefixedNo, help: "Write NAME_probabilities.tif, one band per class (pipeline default: off).")
    var probabilities: Bool?

    @Flag(inversion: .prefixedNo, help: "Write NAME_preview.png with a legend (pipeline default: on).")
    var preview: Bool?

    @Flag(inversion: .prefixedNo, help: "Write the STAC item NAME.stac.json (pipeline default: on).")
    var stac: Bool?

    @Flag(name: .customLong("patch-resolution"), help: "Patch mode: one output pixel per patch.")
    var patchResolution = false

    @Option(help: ArgumentHelp("Class polygons beside the map: none, \(PolygonFormat.allCases.map(\.rawValue).joined(separator: ", ")) (pipeline default: none).", valueName: "FORMAT"))
    var polygons: String?

    @Option(name: .customLong("polygon-connectivity"), help: ArgumentHelp("4 or 8: whether pixels touching at a corner join a polygon and a sieve region (pipeline default: \(PipelineFile.Output().polygonConnectivity)).", valueName: "N"))
    var polygonConnectivity: String?

    @Option(name: .customLong("geojson-crs"), help: ArgumentHelp("GeoJSON polygons in \(PipelineFile.GeoJSONCRS.allCases.map(\.rawValue).joined(separator: " or ")) coordinates (pipeline default: \(PipelineFile.Output().geojsonCRS.rawValue)).", valueName: "CRS"))
    var geojsonCRS: String?

    @Option(name: .customLong("min-mapping-unit"), help: ArgumentHelp("Sieve away regions smaller than this: pixels (12) or an area (\"5000 m2\", \"0.5 ha\").", valueName: "UNIT"))
    var minMappingUnit: String?

    // Runtime.
    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .customLong("memory-mb"), help: ArgumentHelp("Memory budget in MiB (pipeline default: \(PipelineFile.Runtime().memoryMiB)).", valueName: "MIB"))
    var memoryMB: String?

    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Patches per inference batch (default: from the model).", valueName: "N"))
    var batchSize: String?

    @Option(help: ArgumentHelp("Test-time augmentation: none, flips (2 passes: as is and mirrored) or d4 (8 rotated and mirrored passes).", valueName: "MODE"))
    var tta: String?

    @Option(help: ArgumentHelp("Arithmetic of the model's convolutions: fp32, or int8 for a quantized (QDQ) model.", valueName: "PRECISION"))
    var precision: String?

    @Flag(name: .shortAndLong, help: "Only errors on stderr: no progress bar, no per-scene lines.")
    var quiet = false

    @Option(name: .customLong("print-pipeline"), help: ArgumentHelp("Write the equivalent pipeline file to FILE (or - for standard output) instead of classifying.", valueName: "FILE"))
    var printPipeline: String?

    /// Flags whose values become pipeline keys, with the key each one sets: error messages name
    /// the flag where the parser names the key.
    static let flagOfKey: [String: String] = [
        "bands": "--band-map", "band_order": "--band-order", "resolution": "--resolution", "resampling": "--resampling",
        "categorical": "--categorical", "mode": "--mode", "tiling.patch_size": "--patch-size", "tiling.stride": "--stride",
        "tiling.edge": "--edge", "nodata.value": "--nodata", "nodata.min_valid_fraction": "--min-valid-fraction",
        "nodata.mask.band": "--mask-band", "nodata.mask.path": "--mask", "nodata.mask.invalid": "--mask-invalid",
        "output.name": "--name", "output.folder": "-o", "output.compression": "--compression", "output.creation_options": "--co",
        "output.polygons": "--polygons", "output.polygon_connectivity": "--polygon-connectivity",
        "output.geojson_crs": "--geojson-crs", "output.min_mapping_unit": "--min-mapping-unit",
        "runtime.memory_mb": "--memory-mb", "runtime.batch_size": "--batch-size", "runtime.threads": "--threads",
        "runtime.tta": "--tta", "runtime.precision": "--precision", "model": "MODEL",
    ]

    /// Whether -o names the map file rather than a folder.
    var outputIsFile: Bool {
        let lower = output.lowercased()
        return lower.hasSuffix(".tif") || lower.hasSuffix(".tiff")
    }

    func validate() throws {
        if outputIsFile, name != nil {
            throw ValidationError("--name: -o \(output) already names the map file; give -o a folder to use a name template")
        }
        if outputIsFile, output.hasSuffix("/") || URL(fileURLWithPath: output).lastPathComponent.hasPrefix(".") {
            throw ValidationError("-o: '\(output)' is not a map file name; give OUT.tif or a folder")
        }
    }

    func run() throws {
        ProcessMemory.configureForLongRuns()
        try CLIErrors.guarded {
            let file = try pipeline()
            if let printPipeline {
                try write(pipeline: file, to: printPipeline)
                return
            }
            try classify(file)
        }
    }

    /// The pipeline the flags describe, read by ``PipelineFile/parse(_:baseFolder:source:)``
    /// (relative paths against the current folder).
    func pipeline() throws -> PipelineFile {
        let cwd = FileManager.default.currentDirectoryPath
        // Scene arguments are checked and resolved as `run`'s extra scenes are.
        let inputs = try Self.rewritingKeys { try PipelineFile(inputs: [], model: model, baseFolder: cwd).addingScenes(scenes, workingDirectory: cwd).inputs }
        var root: [(String, PipelineYAMLValue)] = [("version", .int(1))]
        root.append(("inputs", .list(inputs.map { .string($0.paths[0]) })))
        root.append(("model", .string(model)))
        func list(_ text: String) -> PipelineYAMLValue {
            .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        }
        if let bandMap {
            var pairs: [(String, PipelineYAMLValue)] = []
            for item in bandMap.split(separator: ",") {
                let parts = item.split(separator: "=", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ValidationError("--band-map: '\(item)' is not MODEL_BAND=SCENE_BAND (e.g. B8A=B08)")
                }
                pairs.append((parts[0], .string(parts[1])))
            }
            root.append(("bands", .map(pairs)))
        }
        if let bandOrder {
            root.append(("band_order", bandOrder.contains(",") ? list(bandOrder) : .string(bandOrder)))
        }
        if let resolution { root.append(("resolution", .string(resolution))) }
        if let resampling { root.append(("resampling", .string(resampling))) }
        if let categorical { root.append(("categorical", list(categorical))) }
        var tiling: [(String, PipelineYAMLValue)] = []
        if let patchSize { tiling.append(("patch_size", .string(patchSize))) }
        if let stride { tiling.append(("stride", .string(stride))) }
        if let edge { tiling.append(("edge", .string(edge))) }
        if !tiling.isEmpty { root.append(("tiling", .map(tiling))) }
        if let mode { root.append(("mode", .string(mode))) }
        var nodataKeys: [(String, PipelineYAMLValue)] = []
        if let nodata { nodataKeys.append(("value", .string(nodata))) }
        if let minValidFraction { nodataKeys.append(("min_valid_fraction", .string(minValidFraction))) }
        var maskKeys: [(String, PipelineYAMLValue)] = []
        if let maskBand { maskKeys.append(("band", .string(maskBand))) }
        if let mask { maskKeys.append(("path", .string(mask))) }
        if let maskInvalid {
            guard maskBand != nil || mask != nil else { throw ValidationError("--mask-invalid: give --mask-band or --mask with it") }
            maskKeys.append(("invalid", list(maskInvalid)))
        }
        if !maskKeys.isEmpty { nodataKeys.append(("mask", .map(maskKeys))) }
        if !nodataKeys.isEmpty { root.append(("nodata", .map(nodataKeys))) }

        var out: [(String, PipelineYAMLValue)] = []
        if outputIsFile {
            let url = URL(fileURLWithPath: output)
            out.append(("folder", .string(url.deletingLastPathComponent().path)))
            out.append(("name", .string(url.lastPathComponent)))
        } else {
            out.append(("folder", .string(output)))
            if let name { out.append(("name", .string(name))) }
        }
        if cog { out.append(("format", .string("cog"))) }
        if let compression { out.append(("compression", .string(compression))) }
        let flags: [(String, Bool?)] = [("confidence", confidence), ("probabilities", probabilities), ("preview", preview), ("stac", stac)]
        for (key, value) in flags { if let value { out.append((key, .bool(value))) } }
        if patchResolution { out.append(("patch_resolution", .bool(true))) }
        if let polygons { out.append(("polygons", .string(polygons))) }
        if let polygonConnectivity { out.append(("polygon_connectivity", .string(polygonConnectivity))) }
        if let geojsonCRS { out.append(("geojson_crs", .string(geojsonCRS))) }
        if let minMappingUnit { out.append(("min_mapping_unit", .string(minMappingUnit))) }
        if !creationOptions.isEmpty {
            var pairs: [(String, PipelineYAMLValue)] = []
            for item in creationOptions {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw ValidationError("--co: '\(item)' is not KEY=VALUE (e.g. BLOCKSIZE=256)")
                }
                pairs.append((parts[0], .string(parts[1])))
            }
            out.append(("creation_options", .map(pairs)))
        }
        root.append(("output", .map(out)))
        var runtime: [(String, PipelineYAMLValue)] = []
        if let threads = threadsOption.threads { runtime.append(("threads", .int(threads))) }
        if let memoryMB { runtime.append(("memory_mb", .string(memoryMB))) }
        if let batchSize { runtime.append(("batch_size", .string(batchSize))) }
        if let tta { runtime.append(("tta", .string(tta))) }
        if let precision { runtime.append(("precision", .string(precision))) }
        if !runtime.isEmpty { root.append(("runtime", .map(runtime))) }

        let text = PipelineYAMLValue.document(root)
        return try Self.rewritingKeys { try PipelineFile.parse(text, baseFolder: cwd, source: "classify") }
    }

    /// Runs `body`; a pipeline error about a key becomes a usage error naming the flag that set it.
    static func rewritingKeys<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PipelineError {
            switch error {
            case .invalidValue(let key, let value, let reason):
                let flag = flagOfKey[key] ?? (key == "scene argument" ? "SCENE" : key)
                // Paths on the command line are relative to the current folder, not to a file.
                let fixed = reason.replacingOccurrences(of: ", relative to the pipeline file", with: "")
                throw ValidationError(PipelineError.invalidValue(key: flag, value: value, reason: fixed).description)
            case .unknownKey, .missingKey:
                throw ValidationError(error.description)
            default:
                throw error
            }
        }
    }

    /// Writes the pipeline file (atomically), or prints it for `-`.
    func write(pipeline file: PipelineFile, to destination: String) throws {
        let text = file.yamlText(header: ["Written by `landcover classify --print-pipeline`; run it with `landcover run FILE`.",
                                         "Keys and defaults: pipelines/README.md. Paths are absolute."])
        if destination == "-" {
            print(text, terminator: "")
            return
        }
        try AtomicFile.write(Data(text.utf8), to: destination)
        if !quiet { FileHandle.standardError.write(Data("wrote \(destination); run it with: landcover run \(destination)\n".utf8)) }
    }

    /// Classifies every scene as `run` does, without history, lock or report.
    func classify(_ file: PipelineFile) throws {
        let cancellation = RunCancellation()
        let stopSignals = StopSignals(cancellation: cancellation)
        let plan = try Self.rewritingKeys { try PipelinePlan(pipeline: file) }
        if outputIsFile, plan.scenes.count > 1 {
            throw ValidationError("-o: '\(output)' names one map file but the arguments are \(plan.scenes.count) scenes; give -o a folder")
        }
        let isTerminal = isatty(STDERR_FILENO) != 0
        var logger = CLILogging.logger(label: "landcover.classify", terminal: isTerminal)
        if quiet { logger.logLevel = .error }
        let runner = PipelineRunner(plan: plan, toolVersion: LandcoverVersion.string, logger: logger)
        try plan.preflight(workers: runner.workers)
        let bar = isTerminal && !quiet ? RunProgressBar() : nil
        let result: RunReport
        do {
            result = try runner.run(options: BatchOptions(cancellation: cancellation)) { progress in
                bar?.update(progress)
            }
        } catch let stopped as RunInterrupted {
            bar?.finish()
            CLIErrors.fail("classify: \(stopped.description)", code: ExitCodes.interrupted(by: stopped.signal))
        } catch let stopped as RunCannotWrite {
            bar?.finish()
            CLIErrors.fail(stopped.error.description, code: ExitCodes.cannotWrite)
        }
        bar?.finish()
        withExtendedLifetime(stopSignals) {}
        if !quiet {
            for scene in result.scenes where scene.status == .done {
                print(scene.output ?? scene.name)
            }
        }
        if result.scenes.contains(where: { $0.settingKey != nil }) { throw ExitCode(ExitCodes.invalidInput) }
        if result.failed > 0 { throw ExitCode(ExitCodes.someFailed) }
    }
}

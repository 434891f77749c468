import ArgumentParser
import CNN
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO
import Training
import TrainingData

/// `landcover evaluate MODEL`: accuracy of a model against labelled scenes (per pixel) or class
/// folders (per patch).
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy of a model: confusion matrix, OA, kappa, per-class accuracies, F1, IoU.",
        discussion: """
        Reference data, one of:
        - --training-file T.yaml: the scenes and labels of a training file, restricted to its held-out split (--split; default test, else validation).
        - --scene PATH... --labels FILE: a scene with a label raster (values = class indices, or --classes VALUE=CLASS,...) or vector labels (--attribute; attribute values = class names, or --classes).
        - --folder DIR: EuroSAT-style class folders (one patch = one sample).

        Scenes are classified as `landcover run` would (dense blending for patch classifiers, segmentation for segmentation models) and compared per pixel; unlabelled pixels, nodata and pixels outside --region are not counted. Exit codes: 0 done, 2 invalid input.
        """)

    @Argument(help: "The ONNX model (with a landcover contract).")
    var model: String

    @Option(name: .customLong("training-file"), help: "Evaluate on the data of this training file.")
    var trainingFile: String?

    @Option(help: "With --training-file: train, validation, test or all (default: test when the split has one, else validation).")
    var split: String?

    @Option(parsing: .upToNextOption, help: "Scene files (a band folder, SAFE, multi-band file, or band files).")
    var scene: [String] = []

    @Option(help: "Labels of --scene: a label raster or a vector file.")
    var labels: String?

    @Option(help: "Vector labels: the class attribute.")
    var attribute: String?

    @Option(help: "Vector labels: the layer (default: the first).")
    var layer: String?

    @Option(help: "Label raster band.")
    var band: Int = 1

    @Option(help: "Label value -> model class, e.g. farm=cropland,meadow=grassland or 10=forest,20=water.")
    var classes: String?

    @Option(help: "EuroSAT-style folder of class sub-folders (named after the model's classes).")
    var folder: String?

    @Option(name: .customLong("band-order"), help: ArgumentHelp(StackingOptions.bandOrderHelp, valueName: "ORDER"))
    var bandOrder: String?

    @Option(help: "Only count pixels in columns x0..<x1 and rows y0..<y1 (scene pixels): x0,y0,x1,y1.")
    var region: String?

    @Option(help: "dense, patch or segmentation (default: dense for patch classifiers, segmentation for segmentation models).")
    var mode: String?

    @Option(help: "Distance between patch origins in pixels (default: half the patch size).")
    var stride: Int?

    @Option(help: "Test-time augmentation of scene classifications, as the pipeline's runtime.tta (flips: 2 passes, as is and mirrored; d4: 8 rotated and mirrored passes).")
    var tta: PipelineFile.TestTimeAugmentation = .none

    @Option(help: "Arithmetic of the model's convolutions, as the pipeline's runtime.precision (int8 needs a quantized QDQ model).")
    var precision: InferencePrecision = .fp32

    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .customLong("save-map"), help: "Keep the class map of the (first) scene here.")
    var saveMap: String?

    @Option(help: "Also write the JSON report to this file.")
    var output: String?

    @Flag(help: "Print the report as JSON instead of text.")
    var json = false

    func validate() throws {
        let sources = [trainingFile != nil, !scene.isEmpty, folder != nil].filter { $0 }.count
        if sources != 1 { throw ValidationError("give one of --training-file, --scene with --labels, or --folder") }
        if !scene.isEmpty, labels == nil { throw ValidationError("--scene needs --labels (a label raster or vector file)") }
        if let stride, !PipelineFile.Limits.patchSize.contains(stride) { throw ValidationError("--stride: '\(stride)' must be from 1 to \(PipelineFile.Limits.patchSize.upperBound)") }
        if let mode, !["dense", "patch", "segmentation"].contains(mode) { throw ValidationError("--mode must be dense, patch or segmentation") }
        if split != nil, trainingFile == nil { throw ValidationError("--split needs --training-file") }
        if let split, DatasetSplit(rawValue: split) == nil, split != "all" { throw ValidationError("--split must be train, validation, test or all") }
    }

    /// `x0,y0,x1,y1` as a window.
    func parsedRegion() throws -> RasterWindow? {
        guard let region else { return nil }
        let parts = region.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let x0 = parts[0], let y0 = parts[1], let x1 = parts[2], let y1 = parts[3],
              x0 >= 0, y0 >= 0, x1 > x0, y1 > y0 else {
            throw ValidationError("--region must be x0,y0,x1,y1 in scene pixels with x0 < x1 and y0 < y1, e.g. 0,576,1008,768")
        }
        return RasterWindow(column: x0, row: y0, width: x1 - x0, height: y1 - y0)
    }

    /// `--classes` as value -> class name pairs.
    func classMapping() throws -> [EvaluationRequest.ClassMapping]? {
        guard let classes else { return nil }
        return try classes.split(separator: ",").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--classes must be VALUE=CLASS pairs separated by commas, e.g. farm=cropland,forest=forest")
            }
            return EvaluationRequest.ClassMapping(value: parts[0], name: parts[1])
        }
    }

    /// The request the options describe.
    func makeRequest() throws -> EvaluationRequest {
        let reference: EvaluationRequest.Reference
        if let trainingFile {
            let selection: ModelEvaluation.Selection
            if split == "all" { selection = .all } else if let part = split.flatMap(DatasetSplit.init(rawValue:)) { selection = .part(part) } else { selection = .heldOut }
            reference = .trainingFile(path: trainingFile, selection: selection)
        } else if let folder {
            reference = .folder(path: folder, classes: try classMapping())
        } else {
            reference = .scene(inputs: scene, labels: labels ?? "", attribute: attribute, layer: layer, band: band, classes: try classMapping())
        }
        return EvaluationRequest(model: model, reference: reference, bandOrder: bandOrder.map(StackingOptions.bandNames(order:)),
                                 region: try parsedRegion(), mode: mode.flatMap(PipelineFile.Mode.init(rawValue:)), stride: stride,
                                 tta: tta, precision: precision, workers: threadsOption.count, mapPath: saveMap)
    }

    func run() throws {
        let request = try makeRequest()
        try CLIErrors.guarded {
            let report = try ModelEvaluation.evaluate(request)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(report)
            if let output { try AtomicFile.write(data, to: output) }
            print(json ? String(decoding: data, as: UTF8.self) : report.text, terminator: json ? "\n" : "")
        }
    }
}

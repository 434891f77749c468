import ArgumentParser
import CNN
import Foundation
import BatchRun
import Classification
import Config
import Products
import RasterIO

/// `landcover model info|predict`: inspect an ONNX model and run it on NumPy arrays.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect an ONNX model or run it on .npy arrays.",
        subcommands: [Info.self, Predict.self])

    /// Runs `body` on the model file `model`, turning errors into one line on stderr that names
    /// the model file (`landcover: model.onnx: The ONNX file is truncated ...`) and the exit code
    /// of their class (2 for a missing, unreadable or invalid model). A path that is not a
    /// regular file (a FIFO, a device, a folder) is refused without opening it.
    static func guarded(model: String, _ body: () throws -> Void) throws {
        do {
            var info = stat()
            guard stat(model, &info) == 0 else {
                throw ONNXError.fileError(path: model, detail: "no such file; check the path")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw ValidationError("\(model): is \(FileKind.describe(mode: info.st_mode)), not an ONNX file; give the path of a .onnx file")
            }
            try body()
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            let message = error.message
            CLIErrors.fail(message.hasPrefix("/") || message.hasPrefix(model + ":") ? message : "\(model): \(message)", code: ExitCodes.invalidInput)
        } catch {
            let message = CLIErrors.message(for: error, file: nil)
            // Errors about the model itself do not name a file: put the model's path in front.
            let namesFile = message.hasPrefix(model + ":") || error is NumpyError
                || { if case .fileError = error as? ONNXError { return true } else { return false } }()
            CLIErrors.fail(namesFile ? message : "\(model): \(message)", code: CLIErrors.code(for: error) == ExitCodes.failure ? ExitCodes.failure : ExitCodes.invalidInput)
        }
    }

    /// `landcover model info MODEL [--json | --stac]`.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Show a model's inputs, outputs, operators, parameters, FLOPs per patch and contract.",
            discussion: """
                --stac prints a STAC Item (JSON) describing the model with the Machine Learning Model \
                extension (mlm v1.5.2): name, architecture, tasks, input bands and value scaling, output \
                classes, and the model file as an asset with its SHA-256. The asset href is the MODEL path \
                as given (relative to the current folder when given relative).
                """)

        @OptionGroup var modelArgument: ModelFileArgument

        @OptionGroup var format: JSONOutputOption

        @Flag(help: "Print the model's STAC MLM description (a STAC Item) instead.")
        var stac = false

        func validate() throws {
            if stac && format.json { throw ValidationError("Give --json or --stac, not both.") }
        }

        func run() throws {
            try ModelCommand.guarded(model: modelArgument.model) {
                let loaded = try InferenceModel(contentsOf: URL(fileURLWithPath: modelArgument.model))
                if stac {
                    print(try Self.stacItem(loaded, path: modelArgument.model))
                    return
                }
                let summary = loaded.summary()
                print(format.json ? try Self.json(summary, loaded.contract) : Self.text(summary, loaded.contract))
            }
        }

        /// The model's MLM STAC Item as pretty-printed JSON with sorted keys.
        static func stacItem(_ model: InferenceModel, path: String) throws -> String {
            let stamp = try FileStamp(path: path)
            let description = try STACModelDescription(model: model, path: path, sha256: try SHA256Hex.hex(ofFile: path),
                                                       bytes: Int(stamp.bytes))
            let modified = Date(timeIntervalSince1970: TimeInterval(stamp.modifiedSeconds))
            let item = description.item(href: path, modified: modified)
            let data = try JSONSerialization.data(withJSONObject: item, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }

        static func text(_ summary: ModelSummary, _ contract: ModelContract?) -> String {
            var lines = [String]()
            func shape(_ value: ModelSummary.Value) -> String {
                "\(value.name): \(value.elementType) [\(value.shape?.joined(separator: ", ") ?? "unknown rank")]"
            }
            lines.append("Opset: \(summary.opsetVersion)" + (summary.producer.isEmpty ? "" : " (producer \(summary.producer))"))
            lines.append("Inputs:")
            lines += summary.inputs.map { "  " + shape($0) }
            lines.append("Outputs:")
            lines += summary.outputs.map { "  " + shape($0) }
            lines.append("Operators (\(summary.operatorCounts.values.reduce(0, +)) nodes, \(summary.optimizedStepCount) runtime steps after fusion):")
            for (name, count) in summary.operatorCounts.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                lines.append("  \(name): \(count)")
            }
            if let batch = summary.fixedBatchSize {
                lines.append("Batch: fixed at \(batch) (landcover runs any number of patches in batches of \(batch), the last one padded)")
            } else {
                lines.append("Batch: dynamic")
            }
            if summary.inputLayout == ModelContract.InputLayout.nhwc.rawValue {
                lines.append("Input layout: NHWC (landcover.input_layout; landcover feeds NCHW patches and transposes them)")
            }
            lines.append("Parameters: \(summary.parameterCount)")
            if let flops = summary.flopsPerSample, let shapes = summary.flopsInputShape {
                let inputText = shapes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                lines.append(String(format: "FLOPs per patch: %d (%.2f MFLOP, input %@)", flops, Double(flops) / 1e6, inputText))
            } else if summary.flopsInputShape != nil {
                lines.append("FLOPs per patch: unknown (one sample cannot be planned within 256 MiB of working memory)")
            } else {
                lines.append("FLOPs per patch: unknown (input dims are not fixed and the model has no contract)")
            }
            if let contract {
                lines.append("Contract (landcover.contract_version 1):")
                lines.append("  task: \(contract.task.rawValue), output: \(contract.output.rawValue)")
                lines.append("  bands: \(contract.bands.joined(separator: ","))")
                lines.append("  patch size: \(contract.patchSize)")
                lines.append("  classes: " + zip(contract.classNames, contract.classColors).map { "\($0) \($1)" }.joined(separator: ", "))
                switch contract.normalization {
                case .meanStd(let mean, let std): lines.append("  normalization: mean_std mean=\(mean) std=\(std)")
                case .scaleOffset(let scale, let offset): lines.append("  normalization: scale_offset scale=\(scale) offset=\(offset)")
                }
                if let nodata = contract.nodataClass { lines.append("  nodata class: \(nodata)") }
            } else {
                lines.append("Contract: none (add landcover.* metadata_props to use this model in a pipeline)")
            }
            return lines.joined(separator: "\n")
        }

        static func json(_ summary: ModelSummary, _ contract: ModelContract?) throws -> String {
            func value(_ v: ModelSummary.Value) -> [String: Any] {
                ["name": v.name, "element_type": v.elementType, "shape": v.shape.map { $0.map { Int($0).map { $0 as Any } ?? $0 } } ?? NSNull()]
            }
            var object: [String: Any] = [
                "opset": summary.opsetVersion,
                "producer": summary.producer,
                "inputs": summary.inputs.map(value),
                "outputs": summary.outputs.map(value),
                "operator_counts": summary.operatorCounts,
                "parameter_count": summary.parameterCount,
                "runtime_steps": summary.optimizedStepCount,
                "flops_per_patch": summary.flopsPerSample.map { $0 as Any } ?? NSNull(),
                "fixed_batch": summary.fixedBatchSize.map { $0 as Any } ?? NSNull(),
                "input_layout": summary.inputLayout.map { $0 as Any } ?? NSNull(),
            ]
            if let contract {
                var entries = [String: String]()
                for entry in contract.metadataEntries { entries[entry.key] = entry.value }
                object["contract"] = entries
            } else {
                object["contract"] = NSNull()
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// `landcover model predict MODEL --input [NAME=]FILE.npy ... --output-dir DIR [--threads N] [--batch-size N]`.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "predict",
            abstract: "Run a model on .npy inputs and write one <output name>.npy per graph output.",
            discussion: """
                Inputs may be float32, float64, float16 or integer .npy arrays. A model with one fed \
                input whose batch dimension is dynamic or fixed runs the file --batch-size samples at a \
                time (read, run and written batch by batch, so memory does not grow with the file); other \
                models run the whole input at once. A model with landcover.input_layout NHWC takes NCHW \
                input like every landcover command.
                """)

        @OptionGroup var modelArgument: ModelFileArgument

        @Option(name: .long, help: "Input as NAME=FILE.npy, or FILE.npy for a single-input model. Repeat for several inputs.")
        var input: [String] = []

        @Option(name: .long, help: "Directory for the output .npy files (created if missing).")
        var outputDir: String

        /// The batch is split across the threads.
        @OptionGroup var threadsOption: ThreadsOption

        @Option(name: .long, help: "Samples read, run and written at a time (models with one fed input).")
        var batchSize: Int = 64

        @Option(name: .customLong("memory-mb"), help: "Working memory per worker in MiB (intermediate values of one run); a model that needs more is refused before running.")
        var memoryMiB: Int = InferenceSession.defaultMemoryLimit >> 20

        @Option(name: .long, help: "Arithmetic of the convolutions: fp32, or int8 for a quantized (QDQ) model.")
        var precision: InferencePrecision = .fp32

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("Give at least one --input [NAME=]FILE.npy.") }
            guard (1...65_536).contains(batchSize) else { throw ValidationError("--batch-size: '\(batchSize)' must be from 1 to 65536") }
            guard memoryMiB >= 1, memoryMiB <= 1 << 30 else { throw ValidationError("--memory-mb: '\(memoryMiB)' must be from 1 to 1073741824") }
        }

        func run() throws {
            try ModelCommand.guarded(model: modelArgument.model) {
                let proto = try ONNXModel(contentsOf: URL(fileURLWithPath: modelArgument.model))
                let initializerNames = Set(proto.graph.initializers.map(\.name))
                let graphInputNames = proto.graph.inputs.map(\.name)
                let fedNames = graphInputNames.filter { !initializerNames.contains($0) }
                var files = [String: String]()
                var replacements = [String: AnyTensor]()
                for argument in input {
                    var name: String
                    var path: String
                    if let equals = argument.firstIndex(of: "="), !FileManager.default.fileExists(atPath: argument) {
                        name = String(argument[..<equals]); path = String(argument[argument.index(after: equals)...])
                    } else {
                        guard fedNames.count == 1, let only = fedNames.first else {
                            throw ValidationError("The model has inputs \(fedNames.joined(separator: ", ")); name each one: --input NAME=FILE.npy.")
                        }
                        name = only; path = argument
                    }
                    if let kind = FileKind.nonRegular(path) {
                        throw NumpyError.unreadable(path: path, detail: "is \(kind), not a .npy file; give the path of a file")
                    }
                    if initializerNames.contains(name) {
                        guard graphInputNames.contains(name) else {
                            throw ValidationError("\"\(name)\" is an initializer but not a graph input, so it cannot be fed.")
                        }
                        replacements[name] = try NumpyFile.read(contentsOf: URL(fileURLWithPath: path))
                    } else {
                        guard graphInputNames.contains(name) else {
                            throw ValidationError("The model has no input \"\(name)\"; its inputs are: \(fedNames.joined(separator: ", ")).")
                        }
                        files[name] = path
                    }
                }
                let loaded = try InferenceModel(model: proto, replacingInitializers: replacements, precision: precision)
                let directory = URL(fileURLWithPath: outputDir)
                do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                    throw ValidationError("Cannot create the output directory \(outputDir): \(error.localizedDescription)")
                }
                let sessions = (0..<threadsOption.count).map { _ -> InferenceSession in
                    let session = loaded.makeSession()
                    session.memoryLimit = memoryMiB << 20
                    return session
                }
                func destination(_ name: String) -> URL {
                    directory.appendingPathComponent(name.map { "/\\:".contains($0) ? "_" : String($0) }.joined() + ".npy")
                }
                // One fed floating-point input of a model that batches per sample: stream it.
                if files.count == 1, let (name, path) = files.first, loaded.hasSplittableBatch || loaded.fixedBatchSize != nil {
                    let reader = try NumpyReader(contentsOf: URL(fileURLWithPath: path))
                    if reader.header.isFloatingPoint, !reader.header.shape.isEmpty {
                        try Self.stream(reader, name: name, model: loaded, sessions: sessions, batchSize: batchSize, destination: destination)
                        return
                    }
                }
                var values = [String: AnyTensor]()
                for (name, path) in files { values[name] = try NumpyFile.read(contentsOf: URL(fileURLWithPath: path)) }
                let outputs = try loaded.run(values: values, sessions: sessions)
                for output in loaded.outputs {
                    guard let tensor = outputs[output.name] else { continue }
                    try NumpyFile.write(tensor, to: destination(output.name))
                    print("\(output.name): \(tensor.shape) -> \(destination(output.name).path)")
                }
            }
        }

        /// Runs `reader`'s samples `batchSize` at a time and appends each batch's outputs to their
        /// files, which are renamed into place only when every sample is written.
        static func stream(_ reader: NumpyReader, name: String, model: InferenceModel, sessions: [InferenceSession],
                           batchSize: Int, destination: (String) -> URL) throws {
            let samples = reader.sampleCount
            var writers = [String: NumpyWriter]()
            var start = 0
            repeat {
                let count = min(batchSize, samples - start)
                let outputs = try model.run(values: [name: try reader.read(start: start, count: count)], sessions: sessions)
                for output in model.outputs {
                    guard let tensor = outputs[output.name] else { continue }
                    guard tensor.shape.first == count else {
                        throw ONNXError.inconsistentShapes(node: "graph output \"\(output.name)\"", detail: "a batch of \(count) samples gave shape \(tensor.shape), which is not one row per sample; run it with --batch-size \(max(samples, 1))")
                    }
                    if writers[output.name] == nil {
                        let isInteger: Bool
                        if case .int64 = tensor { isInteger = true } else { isInteger = false }
                        writers[output.name] = try NumpyWriter(url: destination(output.name), shape: [samples] + tensor.shape.dropFirst(),
                                                               isInteger: isInteger)
                    }
                    try writers[output.name]?.append(tensor)
                }
                start += count
            } while start < samples
            for output in model.outputs {
                guard let writer = writers[output.name] else { continue }
                try writer.finish()
                print("\(output.name): \(writer.shape) -> \(writer.url.path)")
            }
        }
    }
}

extension InferencePrecision: ExpressibleByArgument {}

import ArgumentParser
import CNN
import Foundation

/// `landcover model info|predict`: inspect an ONNX model and run it on NumPy arrays.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect an ONNX model or run it on .npy arrays.",
        subcommands: [Info.self, Predict.self])

    /// Runs `body`, turning engine errors into one line on stderr and exit status 2.
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ExitCode {
            throw error
        } catch {
            CLIErrors.printError((error as? LocalizedError)?.errorDescription ?? (error as? ValidationError)?.message ?? "\(error)")
            throw ExitCode(2)
        }
    }

    /// `landcover model info MODEL [--json]`.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Show a model's inputs, outputs, operators, parameters, FLOPs per patch and contract.")

        @OptionGroup var modelArgument: ModelFileArgument

        @OptionGroup var format: JSONOutputOption

        func run() throws {
            try ModelCommand.guarded {
                let loaded = try InferenceModel(contentsOf: URL(fileURLWithPath: modelArgument.model))
                let summary = loaded.summary()
                print(format.json ? try Self.json(summary, loaded.contract) : Self.text(summary, loaded.contract))
            }
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

    /// `landcover model predict MODEL --input [NAME=]FILE.npy ... --output-dir DIR [--threads N]`.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "predict",
            abstract: "Run a model on .npy inputs and write one <output name>.npy per graph output.")

        @OptionGroup var modelArgument: ModelFileArgument

        @Option(name: .long, help: "Input as NAME=FILE.npy, or FILE.npy for a single-input model. Repeat for several inputs.")
        var input: [String] = []

        @Option(name: .long, help: "Directory for the output .npy files (created if missing).")
        var outputDir: String

        @Option(name: .long, help: "Worker threads; the batch is split across them.")
        var threads: Int = 1

        @Option(name: .customLong("memory-mb"), help: "Working memory per worker in MiB (intermediate values of one run); a model that needs more is refused before running.")
        var memoryMiB: Int = InferenceSession.defaultMemoryLimit >> 20

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("Give at least one --input [NAME=]FILE.npy.") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1.") }
            guard memoryMiB >= 1, memoryMiB <= 1 << 30 else { throw ValidationError("--memory-mb must be 1 to 1073741824.") }
        }

        func run() throws {
            try ModelCommand.guarded {
                let proto = try ONNXModel(serializedData: try Self.readModel(modelArgument.model))
                let initializerNames = Set(proto.graph.initializers.map(\.name))
                let graphInputNames = proto.graph.inputs.map(\.name)
                let fedNames = graphInputNames.filter { !initializerNames.contains($0) }
                var values = [String: AnyTensor]()
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
                    let tensor = try NumpyFile.read(contentsOf: URL(fileURLWithPath: path))
                    if initializerNames.contains(name) {
                        guard graphInputNames.contains(name) else {
                            throw ValidationError("\"\(name)\" is an initializer but not a graph input, so it cannot be fed.")
                        }
                        replacements[name] = tensor
                    } else {
                        guard graphInputNames.contains(name) else {
                            throw ValidationError("The model has no input \"\(name)\"; its inputs are: \(fedNames.joined(separator: ", ")).")
                        }
                        values[name] = tensor
                    }
                }
                let loaded = try InferenceModel(model: proto, replacingInitializers: replacements)
                let outputs = try loaded.run(values: values, threads: threads, memoryLimit: memoryMiB << 20)
                let directory = URL(fileURLWithPath: outputDir)
                do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                    throw ValidationError("Cannot create the output directory \(outputDir): \(error.localizedDescription)")
                }
                for output in loaded.outputs {
                    guard let tensor = outputs[output.name] else { continue }
                    let fileName = output.name.map { "/\\:".contains($0) ? "_" : String($0) }.joined() + ".npy"
                    try NumpyFile.write(tensor, to: directory.appendingPathComponent(fileName))
                    print("\(output.name): \(tensor.shape) -> \(directory.appendingPathComponent(fileName).path)")
                }
            }
        }

        static func readModel(_ path: String) throws -> Data {
            do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw ONNXError.fileError(path: path, detail: "cannot read the model file (\(error.localizedDescription))")
            }
        }
    }
}

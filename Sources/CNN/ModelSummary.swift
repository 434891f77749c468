import Foundation

/// A description of a loaded model for `landcover model info`: interface, size and cost.
public struct ModelSummary: Sendable, Equatable {
    /// A graph input or output with its declared element type and shape (`N` for a symbolic dim).
    public struct Value: Sendable, Equatable {
        /// The graph value name.
        public let name: String
        /// ONNX element type name, e.g. "float32" or "int64".
        public let elementType: String
        /// Declared dimensions as text: numbers or symbolic names; nil when the rank is unknown.
        public let shape: [String]?
    }

    /// Fed graph inputs (initializers excluded).
    public let inputs: [Value]
    /// Graph outputs.
    public let outputs: [Value]
    /// Node count per `op_type` in the file as stored (before optimization).
    public let operatorCounts: [String: Int]
    /// Number of Float elements in the initializers (weights and biases).
    public let parameterCount: Int
    /// Runtime steps after folding and fusion.
    public let optimizedStepCount: Int
    /// Floating-point operations for one sample (multiply-adds count 2), planned with batch 1
    /// and the declared (or contract patch size) spatial dims; nil when a dim is unknown or the
    /// plan of one sample needs more than 256 MiB of working memory.
    public let flopsPerSample: Int?
    /// The input shape used for ``flopsPerSample``.
    public let flopsInputShape: [String: [Int]]?
    /// Default-domain opset the model was exported with.
    public let opsetVersion: Int
    /// `producer_name` of the file.
    public let producer: String
    /// The batch size the graph takes when its input declares a fixed one
    /// (``InferenceModel/fixedBatchSize``): landcover runs any number of samples in batches of
    /// that size. nil for a dynamic batch.
    public let fixedBatchSize: Int?
    /// `landcover.input_layout` of the contract (`NHWC` models are still fed NCHW), or nil
    /// without a contract.
    public let inputLayout: String?
}

extension InferenceModel {
    /// Summarizes the model. FLOPs are computed by planning a batch of one.
    public func summary() -> ModelSummary {
        func typeName(_ code: Int32) -> String {
            switch ONNXTensor.DataType(rawValue: code) {
            case .float: return "float32"
            case .int64: return "int64"
            case .int32: return "int32"
            case .double: return "float64"
            case .float16: return "float16"
            case .uint8: return "uint8"
            case .bool: return "bool"
            default: return "type\(code)"
            }
        }
        func describe(_ info: ONNXValueInfo) -> ModelSummary.Value {
            ModelSummary.Value(name: info.name, elementType: typeName(info.elementType), shape: info.shape?.map(\.description))
        }
        var counts = [String: Int]()
        for node in proto.graph.nodes { counts[node.operatorType, default: 0] += 1 }
        let parameters = parameterCount
        var shapes: [String: [Int]]? = [:]
        for info in inputs {
            guard let declared = info.shape else { shapes = nil; break }
            var shape = [Int]()
            for (axis, dim) in declared.enumerated() {
                // A fixed batch is planned as one sample (the session pads it to the batch size).
                if axis == 0, fixedBatchSize != nil { shape.append(1); continue }
                if case .value(let size) = dim, size > 0 { shape.append(Int(size)); continue }
                if axis == 0 { shape.append(1) } else if axis >= 2, let patch = contract?.patchSize { shape.append(patch) } else { shapes = nil; break }
            }
            if shapes == nil { break }
            shapes?[info.name] = shape
        }
        var flops: Int?
        if let shapes {
            // One sample's plan, within 256 MiB of working memory (a model whose shapes explode
            // gets unknown FLOPs instead of a table of gigabytes).
            let session = makeSession()
            session.memoryLimit = 256 << 20
            flops = try? session.flops(inputShapes: shapes)
            // A fixed batch's plan computes the whole padded batch: per sample is a share of it.
            if let batch = fixedBatchSize, let total = flops { flops = total / batch }
        }
        return ModelSummary(inputs: inputs.map(describe), outputs: outputs.map(describe), operatorCounts: counts,
                            parameterCount: parameters, optimizedStepCount: graph.steps.count, flopsPerSample: flops,
                            flopsInputShape: shapes, opsetVersion: graph.opset, producer: proto.producerName,
                            fixedBatchSize: fixedBatchSize, inputLayout: contract?.inputLayout.rawValue)
    }
}

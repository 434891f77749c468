import Foundation

/// An ONNX `ModelProto`: the top-level message of a `.onnx` file, decoded field by field.
///
/// This is a faithful, lossless-enough in-memory form of the file for reading and writing: the
/// runtime compiles it into an ``InferenceModel``; the training module builds one and calls
/// ``serializedData()`` to save. Fields the engine does not use (training info, functions) are
/// skipped when reading and not written.
///
/// ### See Also
/// - ``ONNXGraph``, ``InferenceModel``, ``ModelContract``
public struct ONNXModel: Sendable, Equatable {
    /// `ir_version` (field 1). Use 8 or later for opsets up to 21 (onnx 1.23 writes 10/11).
    public var irVersion: Int64
    /// `opset_import` (field 8): operator set versions per domain ("" is the default ONNX domain).
    public var opsetImports: [ONNXOperatorSetID]
    /// `producer_name` (field 2).
    public var producerName: String
    /// `producer_version` (field 3).
    public var producerVersion: String
    /// `domain` (field 4).
    public var domain: String
    /// `model_version` (field 5).
    public var modelVersion: Int64
    /// `doc_string` (field 6).
    public var docString: String
    /// `graph` (field 7).
    public var graph: ONNXGraph
    /// `metadata_props` (field 14) in file order; the landcover contract lives here.
    public var metadataProps: [ONNXMetadataEntry]

    /// Creates a model. Defaults: IR version 8, opset 17 of the default domain.
    public init(graph: ONNXGraph, irVersion: Int64 = 8,
                opsetImports: [ONNXOperatorSetID] = [ONNXOperatorSetID(domain: "", version: 17)],
                producerName: String = "landcover", producerVersion: String = "",
                domain: String = "", modelVersion: Int64 = 0, docString: String = "",
                metadataProps: [ONNXMetadataEntry] = []) {
        self.irVersion = irVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.domain = domain
        self.modelVersion = modelVersion
        self.docString = docString
        self.graph = graph
        self.metadataProps = metadataProps
    }

    /// The opset version imported for the default ONNX domain ("" or "ai.onnx"), if any.
    public var defaultOpsetVersion: Int? {
        opsetImports.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) }
    }

    /// The metadata value stored under `key` (the last one wins if a key repeats).
    public func metadataValue(forKey key: String) -> String? {
        metadataProps.last { $0.key == key }?.value
    }
}

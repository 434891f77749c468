import Foundation

/// An `OperatorSetIdProto`: a domain and the operator set version the model was exported with.
public struct ONNXOperatorSetID: Sendable, Equatable {
    /// `domain` (field 1); "" means the default ONNX domain.
    public var domain: String
    /// `version` (field 2).
    public var version: Int64
    /// Creates an operator set import.
    public init(domain: String, version: Int64) {
        self.domain = domain
        self.version = version
    }
}

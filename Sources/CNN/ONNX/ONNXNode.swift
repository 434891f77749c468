import Foundation

/// An ONNX `NodeProto`: one operator application.
public struct ONNXNode: Sendable, Equatable {
    /// `input` (field 1): value names; "" marks an omitted optional input.
    public var inputs: [String]
    /// `output` (field 2): value names; "" marks an omitted optional output.
    public var outputs: [String]
    /// `name` (field 3).
    public var name: String
    /// `op_type` (field 4), for example "Conv".
    public var operatorType: String
    /// `domain` (field 7); "" is the default ONNX domain.
    public var domain: String
    /// `attribute` (field 5).
    public var attributes: [ONNXAttribute]

    /// Creates a node.
    public init(operatorType: String, inputs: [String], outputs: [String], name: String = "",
                domain: String = "", attributes: [ONNXAttribute] = []) {
        self.operatorType = operatorType
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self.domain = domain
        self.attributes = attributes
    }

    /// The attribute called `name`, if present.
    public func attribute(_ name: String) -> ONNXAttribute? {
        attributes.first { $0.name == name }
    }

    /// A short description for error messages: `Conv node "conv1"` or `Conv node #3 (output "y")`.
    var displayName: String {
        if !name.isEmpty { return "\(operatorType) node \"\(name)\"" }
        return "\(operatorType) node producing \"\(outputs.first ?? "?")\""
    }
}

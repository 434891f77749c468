/// Typed access to a node's attributes with errors that name the node: the one place ONNX
/// attribute values are interpreted (the engine's operators, and Training's ONNX import for
/// fine-tuning). Errors are ``ONNXError/invalidAttribute(node:detail:)``.
public struct NodeAttributes: Sendable {
    /// The node whose attributes are read.
    public let node: ONNXNode
    /// `Conv node "conv1"`-style label used in every error about this node.
    public let label: String

    /// Reads the attributes of `node`.
    public init(_ node: ONNXNode) {
        self.node = node
        self.label = node.displayName
    }

    /// Whether the attribute is present.
    public func has(_ name: String) -> Bool { node.attribute(name) != nil }

    /// An integer attribute (a float is converted), or `value` when absent.
    public func int(_ name: String, default value: Int) throws -> Int {
        guard let attribute = node.attribute(name) else { return value }
        switch attribute.value {
        case .int(let int): return Int(int)
        case .float(let float): return Int(saturating: float)
        default: throw invalid("attribute \(name) must be an integer")
        }
    }

    /// A float attribute (an integer is converted), or `value` when absent.
    public func float(_ name: String, default value: Float) throws -> Float {
        guard let attribute = node.attribute(name) else { return value }
        switch attribute.value {
        case .float(let float): return float
        case .int(let int): return Float(int)
        default: throw invalid("attribute \(name) must be a float")
        }
    }

    /// A list of integers (a single integer is a list of one), or nil when absent.
    public func ints(_ name: String) throws -> [Int]? {
        guard let attribute = node.attribute(name) else { return nil }
        switch attribute.value {
        case .ints(let ints): return ints.map { Int($0) }
        case .int(let int): return [Int(int)]
        default: throw invalid("attribute \(name) must be a list of integers")
        }
    }

    /// A list of floats (a single float is a list of one), or nil when absent.
    public func floats(_ name: String) throws -> [Float]? {
        guard let attribute = node.attribute(name) else { return nil }
        switch attribute.value {
        case .floats(let floats): return floats
        case .float(let float): return [float]
        default: throw invalid("attribute \(name) must be a list of floats")
        }
    }

    /// A string attribute, or `value` when absent.
    public func string(_ name: String, default value: String) throws -> String {
        guard let attribute = node.attribute(name) else { return value }
        guard case .string(let string) = attribute.value else { throw invalid("attribute \(name) must be a string") }
        return string
    }

    /// A tensor attribute, or nil when absent.
    public func tensor(_ name: String) throws -> ONNXTensor? {
        guard let attribute = node.attribute(name) else { return nil }
        guard case .tensor(let tensor) = attribute.value else { throw invalid("attribute \(name) must be a tensor") }
        return tensor
    }

    /// The convolution weight initializer (input 1) of Conv and ConvTranspose: its values and a
    /// rank-3 (1-D) or rank-4 (2-D) shape with positive dimensions.
    /// - Throws: ``ONNXError`` naming the node when the weights are not an initializer or misshapen.
    func convolutionWeights(_ constants: [String: PlanValue]) throws -> (values: [Float], shape: [Int]) {
        guard node.inputs.count >= 2, let w = constants[node.inputs[1]], let values = w.constantFloats else {
            throw ONNXError.dataDependentValue(node: label, detail: "the weight input must be an initializer")
        }
        guard w.shape.count == 3 || w.shape.count == 4, w.shape.allSatisfy({ $0 > 0 }) else {
            throw shapeError("weights \(w.shape) must be rank 3 (1-D) or rank 4 (2-D) with positive dimensions")
        }
        return (values, w.shape)
    }

    func invalid(_ detail: String) -> ONNXError {
        .invalidAttribute(node: label, detail: detail)
    }

    func shapeError(_ detail: String) -> ONNXError {
        .inconsistentShapes(node: label, detail: detail)
    }
}

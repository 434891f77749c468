/// Typed access to a node's attributes with errors that name the node.
struct NodeAttributes {
    let node: ONNXNode
    /// `Conv node "conv1"`-style label used in every error about this node.
    let label: String

    init(_ node: ONNXNode) {
        self.node = node
        self.label = node.displayName
    }

    func has(_ name: String) -> Bool { node.attribute(name) != nil }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let attribute = node.attribute(name) else { return value }
        switch attribute.value {
        case .int(let int): return Int(int)
        case .float(let float): return Int(saturating: float)
        default: throw invalid("attribute \(name) must be an integer")
        }
    }

    func float(_ name: String, default value: Float) throws -> Float {
        guard let attribute = node.attribute(name) else { return value }
        switch attribute.value {
        case .float(let float): return float
        case .int(let int): return Float(int)
        default: throw invalid("attribute \(name) must be a float")
        }
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let attribute = node.attribute(name) else { return nil }
        switch attribute.value {
        case .ints(let ints): return ints.map { Int($0) }
        case .int(let int): return [Int(int)]
        default: throw invalid("attribute \(name) must be a list of integers")
        }
    }

    func floats(_ name: String) throws -> [Float]? {
        guard let attribute = node.attribute(name) else { return nil }
        switch attribute.value {
        case .floats(let floats): return floats
        case .float(let float): return [float]
        default: throw invalid("attribute \(name) must be a list of floats")
        }
    }

    func string(_ name: String, default value: String) throws -> String {
        guard let attribute = node.attribute(name) else { return value }
        guard case .string(let string) = attribute.value else { throw invalid("attribute \(name) must be a string") }
        return string
    }

    func tensor(_ name: String) throws -> ONNXTensor? {
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

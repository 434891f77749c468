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

    func invalid(_ detail: String) -> ONNXError {
        .invalidAttribute(node: label, detail: detail)
    }

    func shapeError(_ detail: String) -> ONNXError {
        .inconsistentShapes(node: label, detail: detail)
    }
}

/// Helpers shared by operators.
enum ShapeMath {
    /// Normalizes a possibly negative axis; nil when out of range.
    static func axis(_ axis: Int, rank: Int) -> Int? {
        let normalized = axis < 0 ? axis + rank : axis
        return (0..<max(rank, 1)).contains(normalized) || (rank == 0 && normalized == 0) ? normalized : nil
    }

    /// Largest element count the engine accepts for one value (1 Gi elements, 4 GiB of Float32).
    static let maximumElementCount = 1 << 30

    /// Element count of a shape, or nil when a dimension is negative or the count overflows
    /// or exceeds ``maximumElementCount`` (guards against malicious shapes).
    static func checkedCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= maximumElementCount else { return nil }
            count = product
        }
        return count
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for index in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[index] = running
            running *= shape[index]
        }
        return strides
    }

    /// Numpy broadcast of two shapes, or nil if incompatible.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for index in 0..<rank {
            let da = index < rank - a.count ? 1 : a[index - (rank - a.count)]
            let db = index < rank - b.count ? 1 : b[index - (rank - b.count)]
            if da == db || db == 1 { result[index] = da } else if da == 1 { result[index] = db } else { return nil }
        }
        return result
    }

    /// Strides to read `input` as if broadcast to `output` (0 on broadcast dimensions).
    static func broadcastStrides(input: [Int], output: [Int]) -> [Int] {
        let inputStrides = strides(input)
        let offset = output.count - input.count
        return (0..<output.count).map { index in
            guard index >= offset else { return 0 }
            let dim = input[index - offset]
            return dim == 1 && output[index] != 1 ? 0 : inputStrides[index - offset]
        }
    }
}

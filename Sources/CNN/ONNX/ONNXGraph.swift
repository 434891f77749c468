import Foundation

/// An ONNX `GraphProto`: nodes in topological order, initializers (weights) and the typed
/// graph inputs and outputs.
public struct ONNXGraph: Sendable, Equatable {
    /// `name` (field 2).
    public var name: String
    /// `node` (field 1), topologically sorted as the ONNX spec requires.
    public var nodes: [ONNXNode]
    /// `initializer` (field 5): constant tensors, usually weights.
    public var initializers: [ONNXTensor]
    /// `input` (field 11). May also list initializers (older exporters, conformance tests).
    public var inputs: [ONNXValueInfo]
    /// `output` (field 12).
    public var outputs: [ONNXValueInfo]
    /// `value_info` (field 13): optional shape annotations of intermediate values.
    public var valueInfo: [ONNXValueInfo]
    /// `doc_string` (field 10).
    public var docString: String

    /// Creates a graph.
    public init(name: String = "graph", nodes: [ONNXNode], initializers: [ONNXTensor] = [],
                inputs: [ONNXValueInfo], outputs: [ONNXValueInfo], valueInfo: [ONNXValueInfo] = [],
                docString: String = "") {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
        self.docString = docString
    }
}

extension ONNXGraph {
    /// The nodes in an order where every node comes after the nodes producing its inputs,
    /// keeping the stored order wherever it already is one. Some tools write graphs out of
    /// order (onnxruntime's float16 converter appends the input Casts at the end), which
    /// onnxruntime accepts. Nodes whose inputs nothing produces (a broken graph, a cycle) keep
    /// their relative order at the end, so that compiling them reports the missing value.
    public func topologicallySortedNodes() -> [ONNXNode] {
        var available = Set(inputs.map(\.name)).union(initializers.map(\.name))
        available.insert("")
        var producers = [String: Int]()
        for (index, node) in nodes.enumerated() { for output in node.outputs where !output.isEmpty { producers[output] = producers[output] ?? index } }
        // Fast path: already sorted.
        var sorted = true
        var seen = available
        for node in nodes {
            if node.inputs.contains(where: { !seen.contains($0) && producers[$0] != nil }) { sorted = false; break }
            seen.formUnion(node.outputs)
        }
        if sorted { return nodes }
        // Kahn's algorithm, taking the lowest stored index among the ready nodes each time.
        var waiting = [Int](repeating: 0, count: nodes.count)
        var consumers = [String: [Int]]()
        for (index, node) in nodes.enumerated() {
            for input in Set(node.inputs) where !available.contains(input) && producers[input] != nil {
                waiting[index] += 1
                consumers[input, default: []].append(index)
            }
        }
        var ready = MinHeap()
        for index in nodes.indices where waiting[index] == 0 { ready.push(index) }
        var order = [Int]()
        order.reserveCapacity(nodes.count)
        var done = Set<String>()
        while let next = ready.pop() {
            order.append(next)
            for output in nodes[next].outputs where !output.isEmpty && !done.contains(output) {
                done.insert(output)
                for consumer in consumers[output] ?? [] {
                    waiting[consumer] -= 1
                    if waiting[consumer] == 0 { ready.push(consumer) }
                }
            }
        }
        let placed = Set(order)
        return order.map { nodes[$0] } + nodes.indices.filter { !placed.contains($0) }.map { nodes[$0] }
    }
}

/// A binary min-heap of node indices (the topological sort takes the earliest ready node).
private struct MinHeap {
    private var items = [Int]()

    mutating func push(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}

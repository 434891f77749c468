import CNN
import Foundation

/// `Relu`, `LeakyRelu`, `Clip` and `Sigmoid`: element-wise, any shape; forward on the engine's
/// ``ActivationKernel``.
final class ActivationLayer: Layer, @unchecked Sendable {
    let node: NetworkNode

    init(node: NetworkNode) throws {
        self.node = node
        if case .clip(let low, let high) = node.operation, !(low <= high) {
            throw invalid("min \(low) must not exceed max \(high)")
        }
        if case .leakyRelu(let alpha) = node.operation, !alpha.isFinite { throw invalid("alpha must be finite") }
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first else { throw invalid("missing input") }
        return x
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        ActivationKernel.apply(activation, input: inputs[0].pointer, output: output.pointer, count: output.count)
    }

    /// The engine's activation of this node (the forward pass runs the inference engine's loop).
    private var activation: FusedActivation {
        switch node.operation {
        case .relu: return .relu
        case .leakyRelu(let alpha): return .leakyRelu(alpha: alpha)
        case .clip(let low, let high): return .clip(min: low, max: high)
        case .sigmoid: return .sigmoid
        default: return .identity
        }
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        guard let dx = b.inputGradients[0]?.pointer else { return }
        let x = b.inputs[0].pointer, y = b.output.pointer, dy = b.outputGradient.pointer, count = b.output.count
        if b.freshInputGradients[0], case .relu = node.operation {
            for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : 0 }
            return
        }
        if b.freshInputGradients[0] { dx.update(repeating: 0, count: count) }
        switch node.operation {
        case .relu: for i in 0..<count where x[i] > 0 { dx[i] += dy[i] }
        case .leakyRelu(let alpha): for i in 0..<count { dx[i] += x[i] >= 0 ? dy[i] : alpha * dy[i] }
        case .clip(let low, let high): for i in 0..<count where x[i] > low && x[i] < high { dx[i] += dy[i] }
        case .sigmoid: for i in 0..<count { dx[i] += dy[i] * y[i] * (1 - y[i]) }
        default: break
        }
    }
}

/// `Add` of two values of identical shape (forward on the engine's ``ElementwiseKernel``).
final class AddLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    init(node: NetworkNode) throws {
        self.node = node
        guard node.inputs.count == 2 else { throw invalid("needs exactly two inputs, got \(node.inputs.count)") }
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard inputShapes.count == 2, inputShapes[0] == inputShapes[1] else {
            throw invalid("operands must have equal shapes (no broadcasting), got \(inputShapes)")
        }
        return inputShapes[0]
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        ElementwiseKernel.add(inputs[0].pointer, inputs[1].pointer, output: output.pointer, count: output.count)
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        let dy = b.outputGradient.pointer
        for (position, gradient) in b.inputGradients.enumerated() {
            guard let dx = gradient?.pointer else { continue }
            if b.freshInputGradients[position] {
                dx.update(from: dy, count: b.output.count)
            } else {
                ElementwiseKernel.add(dx, dy, output: dx, count: b.output.count)
            }
        }
    }
}

/// `Concat` along one axis (forward on the engine's ``ElementwiseKernel``).
final class ConcatLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let axis: Int
    init(node: NetworkNode, axis: Int) throws {
        self.node = node
        self.axis = axis
        guard !node.inputs.isEmpty else { throw invalid("needs at least one input") }
    }

    private func normalizedAxis(_ rank: Int) -> Int { axis < 0 ? axis + rank : axis }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let first = inputShapes.first else { throw invalid("needs at least one input") }
        let a = normalizedAxis(first.count)
        guard a >= 0, a < first.count else { throw invalid("axis \(axis) is out of range for rank \(first.count)") }
        var shape = first
        shape[a] = 0
        for s in inputShapes {
            guard s.count == first.count, s.indices.allSatisfy({ $0 == a || s[$0] == first[$0] }) else {
                throw invalid("inputs \(inputShapes) must agree on every axis except \(axis)")
            }
            shape[a] += s[a]
        }
        return shape
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let a = normalizedAxis(outputShape.count)
        let outer = outputShape[..<a].reduce(1, *), inner = outputShape[(a + 1)...].reduce(1, *)
        ElementwiseKernel.concatenate(inputs.map { UnsafePointer($0.pointer) }, sizes: inputShapes.map { $0[a] * inner },
                                      outer: outer, output: output.pointer)
    }

    func backward(_ b: BackwardBuffers) {
        let a = normalizedAxis(b.outputShape.count)
        let outer = b.outputShape[..<a].reduce(1, *), inner = b.outputShape[(a + 1)...].reduce(1, *)
        let total = b.outputShape[a] * inner
        var offset = 0
        for (k, gradient) in b.inputGradients.enumerated() {
            let block = b.inputShapes[k][a] * inner
            if let dx = gradient?.pointer {
                for o in 0..<outer {
                    let source = b.outputGradient.pointer + o * total + offset, target = dx + o * block
                    for i in 0..<block { target[i] += source[i] }
                }
            }
            offset += block
        }
    }
}

/// `Dropout`: a seeded Bernoulli mask in training, the identity in inference.
final class DropoutLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let ratio: Float
    private var training = false

    init(node: NetworkNode, ratio: Float) throws {
        self.node = node
        self.ratio = ratio
        guard ratio >= 0, ratio < 1 else { throw invalid("ratio \(ratio) must be in [0, 1)") }
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first else { throw invalid("missing input") }
        return x
    }

    func prepare(training: Bool, batch: Int, outputShape: [Int]) throws { self.training = training }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        let x = inputs[0].pointer, y = output.pointer, count = output.count
        guard training, ratio > 0 else {
            y.update(from: x, count: count)
            return
        }
        let mask = FloatBuffer(count: count)
        let keep = 1 / (1 - ratio)
        for i in 0..<count {
            let value: Float = context.generator.nextUnitFloat() < ratio ? 0 : keep
            mask.pointer[i] = value
            y[i] = x[i] * value
        }
        saved.buffers = [mask]
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        guard let dx = b.inputGradients[0]?.pointer else { return }
        let dy = b.outputGradient.pointer
        if b.freshInputGradients[0] { dx.update(repeating: 0, count: b.output.count) }
        if let mask = b.saved.buffers.first?.pointer {
            for i in 0..<b.output.count { dx[i] += dy[i] * mask[i] }
        } else {
            for i in 0..<b.output.count { dx[i] += dy[i] }
        }
    }
}

/// `Flatten` at `axis`.
final class FlattenLayer: Layer, @unchecked Sendable {
    let node: NetworkNode
    let axis: Int
    init(node: NetworkNode, axis: Int) {
        self.node = node
        self.axis = axis
    }

    func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        guard let x = inputShapes.first else { throw invalid("missing input") }
        let a = axis < 0 ? axis + x.count : axis
        guard a >= 0, a <= x.count else { throw invalid("axis \(axis) is out of range for rank \(x.count)") }
        return [x[..<a].reduce(1, *), x[a...].reduce(1, *)]
    }

    func forward(inputs: [FloatBuffer], inputShapes: [[Int]], output: FloatBuffer, outputShape: [Int],
                 saved: SavedState, context: inout ForwardContext) {
        output.pointer.update(from: inputs[0].pointer, count: output.count)
    }

    var writesFreshInputGradients: Bool { true }

    func backward(_ b: BackwardBuffers) {
        guard let dx = b.inputGradients[0]?.pointer else { return }
        let dy = b.outputGradient.pointer
        if b.freshInputGradients[0] {
            dx.update(from: dy, count: b.output.count)
            return
        }
        for i in 0..<b.output.count { dx[i] += dy[i] }
    }
}

import CNN
import Dispatch
import Foundation

/// What one micro-batch's training pass produced, reduced in micro-batch order by ``Network``.
final class MicroBatchResult: @unchecked Sendable {
    var outcome = BatchOutcome(lossSum: 0, weightSum: 0, predictions: [])
    /// Per parameter (index into `CompiledNetwork.parameters`); nil when frozen.
    var parameterGradients: [FloatBuffer?] = []
    /// Per node index: BatchNormalization batch statistics.
    var statistics: [Int: (mean: [Double], variance: [Double], count: Int)] = [:]
}

/// Hands out 0, 1, 2, ... to concurrent workers.
final class TicketCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

/// Adds micro-batch parameter gradients to the parameters' `gradient` in micro-batch index
/// order: a finished micro-batch waits until every earlier one has been added, then it and any
/// waiting successors are added (under a lock, by the thread that completed the sequence). Each
/// element therefore gets `gradient + g0 + g1 + ...` in the same order for any worker count, and
/// only a few micro-batches' gradients are alive at a time.
final class OrderedReducer: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Int: [FloatBuffer?]] = [:]
    private var next = 0
    private let parameters: [Parameter]
    private let pool: BufferPool

    init(parameters: [Parameter], pool: BufferPool) {
        self.parameters = parameters
        self.pool = pool
    }

    /// Submits micro-batch `index`'s gradients (one entry per parameter, nil when frozen).
    func submit(_ index: Int, gradients: [FloatBuffer?]) {
        lock.lock()
        defer { lock.unlock() }
        pending[index] = gradients
        while let ready = pending.removeValue(forKey: next) {
            for (parameter, source) in zip(parameters, ready) {
                guard let source = source?.pointer else { continue }
                parameter.gradient.withUnsafeMutableBufferPointer { target in
                    guard let base = target.baseAddress else { return }
                    for i in 0..<target.count { base[i] += source[i] }
                }
            }
            pool.recycle(ready.compactMap { $0 })
            next += 1
        }
    }
}

/// Write-once result slots filled concurrently, each index by exactly one worker: a fixed
/// allocation (no array copy-on-write machinery shared between threads), read after the workers
/// have finished.
final class Slots<Element>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Element?>
    private let count: Int

    init(count: Int) {
        self.count = count
        storage = UnsafeMutablePointer<Element?>.allocate(capacity: max(count, 1))
        storage.initialize(repeating: nil, count: count)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    subscript(index: Int) -> Element? {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    var all: [Element?] { Array(UnsafeBufferPointer(start: storage, count: count)) }
}

/// Shapes of every value for each micro-batch size of one call.
struct MicroBatchPlan {
    let batch: Int
    let microBatchSize: Int
    /// Value shapes keyed by micro-batch sample count (the full size and the remainder).
    let shapes: [Int: [[Int]]]

    var microBatchCount: Int { (batch + microBatchSize - 1) / microBatchSize }
    func range(_ index: Int) -> Range<Int> { (index * microBatchSize)..<min(batch, (index + 1) * microBatchSize) }
    func outputShape(batch: Int) -> [Int] {
        var shape = shapes.values.first?.last ?? []
        if !shape.isEmpty { shape[0] = batch }
        return shape
    }
}

/// The executable form of a ``Network``: one layer per node, value indices, and the
/// micro-batch forward/backward loops.
final class CompiledNetwork: @unchecked Sendable {
    enum Initializer { case parameter(Int), statistic(Int) }

    let layers: [any Layer]
    /// Data input value indices per node (0 is the graph input, node `i` writes value `i + 1`).
    let inputIDs: [[Int]]
    /// Initializers per node.
    let initializers: [[Initializer]]
    let parameters: [Parameter]
    let runningStatistics: [Parameter]
    /// Set by `prepare(training:plan:workers:)`: which values need a gradient.
    private var needsGradient: [Bool] = []
    /// Activation and gradient buffers reused across micro-batches and calls.
    let pool = BufferPool()

    init(inputName: String, nodes: [NetworkNode], parameters: [Parameter], runningStatistics: [Parameter]) throws {
        guard !nodes.isEmpty else { throw NetworkError.invalidGraph(detail: "the network has no nodes") }
        var parameterIndex = [String: Int](), statisticIndex = [String: Int]()
        for (i, p) in parameters.enumerated() {
            guard parameterIndex.updateValue(i, forKey: p.name) == nil else {
                throw NetworkError.invalidParameter(name: p.name, detail: "is defined twice; parameter names must be unique")
            }
        }
        for (i, p) in runningStatistics.enumerated() {
            guard statisticIndex.updateValue(i, forKey: p.name) == nil, parameterIndex[p.name] == nil else {
                throw NetworkError.invalidParameter(name: p.name, detail: "is defined twice; initializer names must be unique")
            }
        }
        var valueIndex = [inputName: 0]
        var layers = [any Layer](), inputIDs = [[Int]](), initializers = [[Initializer]]()
        var used = Set<String>()
        for node in nodes {
            var ids = [Int]()
            for name in node.dataInputs {
                guard let id = valueIndex[name] else { throw NetworkError.missingValue(name: name, node: node.name) }
                ids.append(id)
            }
            guard !ids.isEmpty else { throw NetworkError.invalidNode(node: node.name, operatorType: node.operation.onnxType, detail: "has no data input") }
            var refs = [Initializer](), tensors = [Parameter]()
            for (position, name) in node.initializerInputs.enumerated() {
                let isStatistic: Bool
                if case .batchNormalization = node.operation { isStatistic = position >= 2 } else { isStatistic = false }
                if isStatistic {
                    guard let i = statisticIndex[name] else {
                        throw NetworkError.invalidParameter(name: name, detail: "is used as a running statistic by node \"\(node.name)\" but is not in runningStatistics")
                    }
                    refs.append(.statistic(i)); tensors.append(runningStatistics[i])
                } else {
                    guard let i = parameterIndex[name] else {
                        throw NetworkError.invalidParameter(name: name, detail: "is used by node \"\(node.name)\" but is not in parameters")
                    }
                    refs.append(.parameter(i)); tensors.append(parameters[i])
                }
                used.insert(name)
            }
            guard valueIndex[node.output] == nil, parameterIndex[node.output] == nil, statisticIndex[node.output] == nil else {
                throw NetworkError.invalidGraph(detail: "value \"\(node.output)\" of node \"\(node.name)\" is defined twice")
            }
            valueIndex[node.output] = layers.count + 1
            layers.append(try Self.makeLayer(node: node, initializers: tensors))
            inputIDs.append(ids)
            initializers.append(refs)
        }
        if let unused = (parameters + runningStatistics).first(where: { !used.contains($0.name) }) {
            throw NetworkError.invalidParameter(name: unused.name, detail: "is not used by any node; remove it")
        }
        self.layers = layers
        self.inputIDs = inputIDs
        self.initializers = initializers
        self.parameters = parameters
        self.runningStatistics = runningStatistics
    }

    static func makeLayer(node: NetworkNode, initializers: [Parameter]) throws -> any Layer {
        let noInitializers = { (layer: any Layer) throws -> any Layer in
            guard initializers.isEmpty else { throw layer.invalid("takes no initializers, got \(initializers.map(\.name))") }
            return layer
        }
        switch node.operation {
        case .conv(let a): return try ConvolutionLayer(node: node, attributes: a, initializers: initializers)
        case .convTranspose(let a): return try ConvTransposeLayer(node: node, attributes: a, initializers: initializers)
        case .resize(let a): return try noInitializers(try ResizeLayer(node: node, attributes: a))
        case .batchNormalization(let epsilon, _): return try BatchNormalizationLayer(node: node, epsilon: epsilon, initializers: initializers)
        case .relu, .leakyRelu, .clip, .sigmoid: return try noInitializers(try ActivationLayer(node: node))
        case .maxPool(let a): return try noInitializers(try PoolLayer(node: node, attributes: a, isMax: true))
        case .averagePool(let a): return try noInitializers(try PoolLayer(node: node, attributes: a, isMax: false))
        case .globalAveragePool: return try noInitializers(GlobalAveragePoolLayer(node: node))
        case .gemm(let alpha, let beta, let transB):
            return try GemmLayer(node: node, alpha: alpha, beta: beta, transB: transB, initializers: initializers)
        case .matMul: return try GemmLayer(node: node, alpha: 1, beta: 0, transB: false, initializers: initializers)
        case .add: return try noInitializers(try AddLayer(node: node))
        case .concat(let axis): return try noInitializers(try ConcatLayer(node: node, axis: axis))
        case .dropout(let ratio): return try noInitializers(try DropoutLayer(node: node, ratio: ratio))
        case .flatten(let axis): return try noInitializers(FlattenLayer(node: node, axis: axis))
        }
    }

    // MARK: - Shapes

    func inferShapes(inputShape: [Int]) throws -> [[Int]] {
        var shapes = [inputShape]
        for (index, layer) in layers.enumerated() {
            let shape = try layer.outputShape(inputIDs[index].map { shapes[$0] })
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: max(dimension, 0))
                count = overflow ? Int.max : product
            }
            guard shape.allSatisfy({ $0 >= 0 }), count <= Int(Int32.max) else {
                throw layer.invalid("output shape \(shape) is too large")
            }
            shapes.append(shape)
        }
        return shapes
    }

    func makePlan(inputShape: [Int], inputChannels: Int, inputName: String) throws -> MicroBatchPlan {
        guard inputShape.count >= 2, inputShape[1] == inputChannels, inputShape.allSatisfy({ $0 >= 0 }) else {
            throw NetworkError.invalidInput(detail: "\"\(inputName)\" must be [N, \(inputChannels), ...] (NCHW), got \(inputShape)")
        }
        let batch = inputShape[0]
        let size = Network.microBatchSize
        var shapes = [Int: [[Int]]]()
        for count in Set([min(batch, size), batch % size].filter { $0 > 0 }) {
            var shape = inputShape
            shape[0] = count
            shapes[count] = try inferShapes(inputShape: shape)
        }
        if shapes.isEmpty {
            var shape = inputShape
            shape[0] = 1
            shapes[1] = try inferShapes(inputShape: shape)
        }
        return MicroBatchPlan(batch: batch, microBatchSize: size, shapes: shapes)
    }

    // MARK: - Passes

    /// Prepares every layer (kernel packing, weight snapshots), spread over `workers` threads:
    /// layers are independent, and each one's preparation is the same on any thread.
    func prepare(training: Bool, plan: MicroBatchPlan, workers: Int) throws {
        let shapes = plan.shapes[min(plan.batch, plan.microBatchSize)] ?? plan.shapes.values.first ?? []
        let errors = Slots<Error>(count: layers.count)
        distribute(count: layers.count, workers: workers) { index in
            guard index + 1 < shapes.count else { return }
            do {
                try self.layers[index].prepare(training: training, batch: plan.batch, outputShape: shapes[index + 1])
            } catch {
                errors[index] = error
            }
        }
        if let error = errors.all.compactMap({ $0 }).first { throw error }
        var needs = [false]
        for (index, refs) in initializers.enumerated() {
            let trainable = refs.contains { ref in
                if case .parameter(let i) = ref { return !parameters[i].isFrozen }
                return false
            }
            needs.append(trainable || inputIDs[index].contains { needs[$0] })
        }
        needsGradient = needs
    }

    /// Runs the forward pass of one micro-batch; returns every value and the saved states.
    private func forward(input: FloatBuffer, shapes: [[Int]], training: Bool, scratch: ScratchSpace,
                         generator: SeededGenerator) -> (values: [FloatBuffer], saved: [SavedState]) {
        var values = [input]
        var saved = [SavedState]()
        values.reserveCapacity(layers.count + 1)
        for (index, layer) in layers.enumerated() {
            // Every layer writes its whole output.
            let output = pool.take(shapes[index + 1].reduce(1, *), zeroed: false)
            let state = SavedState()
            var context = ForwardContext(training: training, scratch: scratch,
                                         generator: generator.derived(stream: UInt64(index)))
            layer.forward(inputs: inputIDs[index].map { values[$0] }, inputShapes: inputIDs[index].map { shapes[$0] },
                          output: output, outputShape: shapes[index + 1], saved: state, context: &context)
            values.append(output)
            saved.append(state)
        }
        return (values, saved)
    }

    /// Copies samples `range` of `inputs` into a buffer.
    private func slice(_ inputs: Tensor, _ range: Range<Int>) -> FloatBuffer {
        let stride = inputs.shape.dropFirst().reduce(1, *)
        let buffer = pool.take(range.count * stride, zeroed: false)
        inputs.scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { buffer.pointer.update(from: base + range.lowerBound * stride, count: range.count * stride) }
        }
        return buffer
    }

    /// Runs `body(index)` for every index in `0 ..< count` on `workers` threads; each worker
    /// takes the next unclaimed index, so indices start in increasing order. Results must not
    /// depend on which thread runs an index (they never do here).
    func distribute(count: Int, workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let threads = max(1, min(workers, count))
        if threads == 1 {
            for index in 0..<count { body(index) }
            return
        }
        let counter = TicketCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while case let index = counter.next(), index < count { body(index) }
        }
    }

    /// Training-mode forward pass, loss and (with `backward`) backward pass of every micro-batch.
    /// With `backward`, every micro-batch's parameter gradients are added to the parameters'
    /// `gradient` in micro-batch order as soon as all earlier ones have been (see
    /// ``OrderedReducer``); the returned results then hold no gradient buffers.
    func train(plan: MicroBatchPlan, batch: TrainingBatch, loss: CrossEntropyOptions, gradientScale: Double,
               workers: Int, generator: SeededGenerator, backward: Bool = true) -> [MicroBatchResult] {
        let count = plan.microBatchCount
        let slots = Slots<MicroBatchResult>(count: count)
        let targetsPerSample = batch.count > 0 ? batch.targets.count / batch.count : 0
        let reducer = OrderedReducer(parameters: parameters, pool: pool)
        distribute(count: count, workers: workers) { index in
            let range = plan.range(index)
            let shapes = plan.shapes[range.count] ?? []
            let targets = Array(batch.targets[(range.lowerBound * targetsPerSample)..<(range.upperBound * targetsPerSample)])
            let result = self.trainMicroBatch(input: self.slice(batch.inputs, range), shapes: shapes, targets: targets, loss: loss,
                                              gradientScale: gradientScale, generator: generator.derived(stream: UInt64(index)),
                                              backward: backward)
            if backward {
                reducer.submit(index, gradients: result.parameterGradients)
                result.parameterGradients = []
            }
            slots[index] = result
        }
        return slots.all.compactMap { $0 }
    }

    private func trainMicroBatch(input: FloatBuffer, shapes: [[Int]], targets: [Int32], loss: CrossEntropyOptions,
                                 gradientScale: Double, generator: SeededGenerator, backward: Bool) -> MicroBatchResult {
        let scratch = pool.takeScratch()
        defer { pool.recycle(scratch) }
        let (values, saved) = forward(input: input, shapes: shapes, training: true, scratch: scratch, generator: generator)
        let result = MicroBatchResult()
        let outputShape = shapes[layers.count]
        let outputGradient = pool.take(outputShape.reduce(1, *), zeroed: false)
        defer { pool.recycle(values); pool.recycle([outputGradient]) }
        // Shapes and targets were validated for the whole batch before the workers started.
        let layout = SoftmaxCrossEntropy.Layout(unchecked: outputShape)
        result.outcome = SoftmaxCrossEntropy.compute(logits: values[layers.count].pointer, layout: layout, targets: targets,
                                                     options: loss, gradientScale: gradientScale, gradient: outputGradient.pointer)
        guard backward else { return result }
        result.parameterGradients = parameters.map { $0.isFrozen ? nil : pool.take($0.count, zeroed: true) }
        for (index, state) in saved.enumerated() where state.statistics != nil { result.statistics[index] = state.statistics }
        guard needsGradient[layers.count] else { return result }
        var gradients = [FloatBuffer?](repeating: nil, count: layers.count + 1)
        var created = [FloatBuffer]()
        defer { pool.recycle(created) }
        gradients[layers.count] = outputGradient
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            guard let outputGradient = gradients[index + 1] else { continue }
            let ids = inputIDs[index]
            // A fresh buffer may be written instead of accumulated into, when the layer supports
            // it and the value appears once among this node's inputs.
            var fresh = [Bool](repeating: false, count: ids.count)
            let inputGradients: [FloatBuffer?] = ids.enumerated().map { position, id in
                guard needsGradient[id] else { return nil }
                if let existing = gradients[id] { return existing }
                let overwrite = layers[index].writesFreshInputGradients && ids.filter({ $0 == id }).count == 1
                let buffer = pool.take(shapes[id].reduce(1, *), zeroed: !overwrite)
                fresh[position] = overwrite
                gradients[id] = buffer
                created.append(buffer)
                return buffer
            }
            let parameterGradients: [FloatBuffer?] = initializers[index].map { ref in
                if case .parameter(let i) = ref { return result.parameterGradients[i] }
                return nil
            }
            layers[index].backward(BackwardBuffers(
                inputs: inputIDs[index].map { values[$0] }, inputShapes: inputIDs[index].map { shapes[$0] },
                output: values[index + 1], outputShape: shapes[index + 1], outputGradient: outputGradient,
                inputGradients: inputGradients, freshInputGradients: fresh, parameterGradients: parameterGradients,
                saved: saved[index], scratch: scratch))
            gradients[index + 1] = nil
        }
        return result
    }

    func infer(plan: MicroBatchPlan, inputs: Tensor, workers: Int) throws -> Tensor {
        let count = plan.microBatchCount
        let slots = Slots<[Float]>(count: count)
        distribute(count: count, workers: workers) { index in
            let range = plan.range(index)
            let shapes = plan.shapes[range.count] ?? []
            let scratch = self.pool.takeScratch()
            let (values, _) = self.forward(input: self.slice(inputs, range), shapes: shapes, training: false,
                                           scratch: scratch, generator: SeededGenerator(seed: 0))
            slots[index] = values[self.layers.count].array
            self.pool.recycle(values)
            self.pool.recycle(scratch)
        }
        var scalars = [Float]()
        for part in slots.all { scalars.append(contentsOf: part ?? []) }
        return try Tensor(shape: plan.outputShape(batch: plan.batch), scalars: scalars)
    }

    /// Folds the micro-batches' BatchNormalization statistics into the running statistics.
    func updateRunningStatistics(results: [MicroBatchResult]) {
        for (index, layer) in layers.enumerated() {
            guard let bn = layer as? BatchNormalizationLayer, case .batchNormalization(_, let momentum) = bn.node.operation else { continue }
            let parts = results.compactMap { $0.statistics[index] }
            guard !parts.isEmpty else { continue }
            let total = Double(parts.reduce(0) { $0 + $1.count })
            guard total > 0 else { continue }
            let channels = bn.runningMean.count
            for c in 0..<channels {
                var mean = 0.0, variance = 0.0
                for part in parts {
                    mean += Double(part.count) * part.mean[c]
                    variance += Double(part.count) * part.variance[c]
                }
                let m = Double(momentum)
                bn.runningMean.value[c] = Float(m * Double(bn.runningMean.value[c]) + (1 - m) * mean / total)
                bn.runningVariance.value[c] = Float(m * Double(bn.runningVariance.value[c]) + (1 - m) * variance / total)
            }
        }
    }
}

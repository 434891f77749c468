import Foundation

/// A per-worker execution context of an ``InferenceModel``: owns the arena and scratch memory
/// and caches one execution plan per input signature (shapes, plus contents of Int64 inputs).
///
/// A session is not thread-safe: use it from one thread at a time (one per worker). It is
/// `Sendable` so it can be created up front and handed to a worker thread. Results do not
/// depend on which session or thread runs a sample, nor on the batch size.
public final class InferenceSession: @unchecked Sendable {
    /// The model this session runs.
    public let model: InferenceModel
    private var plans: [String: ExecutionPlan] = [:]
    private var arena: UnsafeMutablePointer<Float>
    private var arenaCapacity = 0
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCapacity = 0
    private let sink = UnsafeMutablePointer<Float>.allocate(capacity: 16)
    /// Bytes of working memory one run may need (the arena holding every intermediate value of
    /// the batch, plus scratch; the model's weights are not counted): a plan that needs more is
    /// refused with ``ONNXError/tooLarge(node:detail:)`` before anything is allocated, so a
    /// model whose shapes explode (an Expand to 2^29 elements) fails cleanly. Default
    /// ``defaultMemoryLimit``; the pipeline sets `runtime.memory_mb`.
    public var memoryLimit: Int = InferenceSession.defaultMemoryLimit
    /// 1 GiB.
    public static let defaultMemoryLimit = 1 << 30

    init(model: InferenceModel) {
        self.model = model
        arena = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    }

    deinit {
        arena.deallocate()
        scratch.deallocate()
        sink.deallocate()
    }

    /// Runs a single-input model on an NCHW batch `[N, C, H, W]` and returns its first output
    /// (`[N, classes]` or `[N, classes, H, W]`).
    /// - Throws: ``ONNXError/missingInput(name:available:)`` when the model has more than one
    ///   input, shape errors naming the node that rejects the input.
    public func run(input: Tensor) throws -> Tensor {
        guard model.inputs.count == 1, let name = model.inputs.first?.name, let outputName = model.outputs.first?.name else {
            throw ONNXError.missingInput(name: "(single input)", available: model.inputs.map(\.name))
        }
        let outputs = try run(values: [name: .float32(input)])
        guard let output = outputs[outputName] else { throw ONNXError.missingValue(name: outputName, node: "graph output") }
        return output.floatTensor
    }

    /// Runs the model on named Float32 inputs; returns every graph output (Int64 outputs are
    /// converted to Float).
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try run(values: inputs.mapValues { AnyTensor.float32($0) }).mapValues(\.floatTensor)
    }

    /// Number of floating-point operations (multiply-adds count 2) one run with these input
    /// shapes performs. Int64 inputs must be given as values in `values`.
    /// For a model with a fixed batch size (``InferenceModel/fixedBatchSize``) and another
    /// sample count, the flops of the batches it is split into.
    public func flops(inputShapes: [String: [Int]]) throws -> Int {
        let (shapes, batches) = fixedBatchShapes(inputShapes)
        let (total, overflow) = try plan(for: shapes.mapValues { PlanValue.runtime($0) }).flops.multipliedReportingOverflow(by: batches)
        return overflow ? Int.max : total
    }

    /// The shapes a plan is made for: for a fixed-batch model fed another sample count, the same
    /// shapes with the fixed batch size, and the number of such batches a run makes.
    private func fixedBatchShapes(_ inputShapes: [String: [Int]]) -> (shapes: [String: [Int]], batches: Int) {
        guard let batch = model.fixedBatchSize, inputShapes.count == 1, let (name, shape) = inputShapes.first,
              let samples = shape.first, samples != batch, samples >= 0 else { return (inputShapes, 1) }
        return ([name: [batch] + shape.dropFirst()], max(1, (samples + batch - 1) / batch))
    }

    /// Bytes of working memory (activation arena and kernel scratch) one run with these input
    /// shapes needs, from its execution plan (which is cached); nothing of that size is allocated.
    /// For a fixed-batch model fed another sample count: one batch's plan plus the buffer the
    /// last, padded batch is copied into.
    public func workingBytes(inputShapes: [String: [Int]]) throws -> Int {
        let (shapes, batches) = fixedBatchShapes(inputShapes)
        let plan = try plan(for: shapes.mapValues { PlanValue.runtime($0) })
        let padding = batches > 1 || shapes != inputShapes ? shapes.values.first.map { ShapeMath.checkedCount($0) ?? Int.max } ?? 0 : 0
        let (arena, arenaOverflow) = plan.arenaCount.addingReportingOverflow(padding)
        let (elements, sumOverflow) = arena.addingReportingOverflow(plan.scratchCount)
        let overflow = arenaOverflow || sumOverflow
        let (bytes, tooLarge) = elements.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        return overflow || tooLarge ? Int.max : bytes
    }

    /// Runs the model on named inputs of either element type; returns every graph output.
    public func run(values fed: [String: AnyTensor]) throws -> [String: AnyTensor] {
        let known = Set(model.graph.inputs.map(\.name))
        // A one-element tensor fed for a declared scalar (`[1]` for `[]`) is taken as that scalar.
        var values = fed
        for input in model.graph.inputs where input.info.shape == [] {
            switch values[input.name] {
            case .float32(let tensor)? where tensor.shape != [] && tensor.scalars.count == 1:
                values[input.name] = .float32(try tensor.reshaped(to: []))
            case .int64(let tensor)? where tensor.shape != [] && tensor.values.count == 1:
                values[input.name] = .int64(try Int64Tensor(shape: [], values: tensor.values))
            default: break
            }
        }
        for name in values.keys where !known.contains(name) {
            throw ONNXError.missingInput(name: name, available: model.graph.inputs.map(\.name))
        }
        var planInputs = [String: PlanValue]()
        for input in model.graph.inputs {
            guard let value = values[input.name] else {
                throw ONNXError.missingInput(name: input.name, available: model.graph.inputs.map(\.name))
            }
            if let batch = model.fixedBatchSize, model.graph.inputs.count == 1, case .float32(let tensor) = value,
               let samples = tensor.shape.first, samples != batch {
                try Self.check(shape: tensor.shape, isInteger: false, against: input.info, ignoringBatch: true)
                return try tensor.scalars.withUnsafeBufferPointer { buffer in
                    let pointer = buffer.baseAddress ?? UnsafePointer(ExecutionPlan.emptyInput.pointer)
                    return try runInFixedBatches(name: input.name, input: pointer, shape: tensor.shape, batch: batch)
                }
            }
            try Self.check(value, against: input.info)
            switch value {
            case .float32(let tensor) where model.parameterInputNames.contains(input.name):
                planInputs[input.name] = .constant(tensor.shape, floats: tensor.scalars)
            case .float32(let tensor): planInputs[input.name] = .runtime(tensor.shape)
            case .int64(let tensor): planInputs[input.name] = .constant(tensor.shape, ints: tensor.values)
            }
        }
        let plan = try self.plan(for: planInputs)
        let tensors = plan.inputNames.map { name -> Tensor in
            if case .float32(let tensor)? = values[name] { return tensor }
            return Tensor(zeros: [0])
        }
        return try Self.withPointers(to: tensors[...]) { pointers in try execute(plan, externals: pointers) }
    }

    /// Runs a single-input model on an NCHW batch in caller-owned memory without copying it.
    ///
    /// - Parameters:
    ///   - input: `shape.reduce(1, *)` Float32 values, row-major `[N, C, H, W]`; only read, and
    ///     only during the call.
    ///   - shape: the batch shape, e.g. `[64, 13, 64, 64]`.
    /// - Returns: the model's first output (`[N, classes]` or `[N, classes, H, W]`).
    public func run(input: UnsafePointer<Float>, shape: [Int]) throws -> Tensor {
        guard model.inputs.count == 1, let info = model.inputs.first, let outputName = model.outputs.first?.name else {
            throw ONNXError.missingInput(name: "(single input)", available: model.inputs.map(\.name))
        }
        guard shape.allSatisfy({ $0 >= 0 }), Tensor.elementCount(shape) != nil else {
            throw ONNXError.invalidInput(name: info.name, detail: "invalid shape \(shape)")
        }
        let outputs: [String: AnyTensor]
        if let batch = model.fixedBatchSize, let samples = shape.first, samples != batch {
            try Self.check(shape: shape, isInteger: false, against: info, ignoringBatch: true)
            outputs = try runInFixedBatches(name: info.name, input: input, shape: shape, batch: batch)
        } else {
            try Self.check(shape: shape, isInteger: false, against: info)
            let plan = try self.plan(for: [info.name: .runtime(shape)])
            outputs = try execute(plan, externals: [input])
        }
        guard let output = outputs[outputName] else { throw ONNXError.missingValue(name: outputName, node: "graph output") }
        return output.floatTensor
    }

    /// Runs a model that takes batches of exactly `batch` samples on `shape[0]` samples (any
    /// number, 0 included): full batches are read in place, the last partial one is copied into a
    /// zero-padded buffer, and the padding rows are dropped from every output. Each sample's
    /// result is the one it gets in any batch (the engine's kernels do not mix samples).
    /// - Throws: ``ONNXError/inconsistentShapes(node:detail:)`` when an output's dimension 0 is
    ///   not the batch (the outputs cannot be split per sample).
    private func runInFixedBatches(name: String, input: UnsafePointer<Float>, shape: [Int], batch: Int) throws -> [String: AnyTensor] {
        let samples = shape[0]
        let sampleShape = Array(shape.dropFirst())
        guard let perSample = ShapeMath.checkedCount(sampleShape), let batchCount = ShapeMath.checkedCount([batch] + sampleShape) else {
            throw ONNXError.invalidInput(name: name, detail: "invalid shape \(shape)")
        }
        let plan = try self.plan(for: [name: .runtime([batch] + sampleShape)])
        var padded: UnsafeMutablePointer<Float>?
        defer { padded?.deallocate() }
        var collected = [String: (shape: [Int], floats: [Float], ints: [Int64], isInteger: Bool)]()
        var start = 0
        repeat {
            let count = min(batch, samples - start)
            let pointer: UnsafePointer<Float>
            if count == batch {
                pointer = input + start * perSample
            } else {
                let buffer = padded ?? UnsafeMutablePointer<Float>.allocate(capacity: max(batchCount, 1))
                padded = buffer
                buffer.initialize(repeating: 0, count: max(batchCount, 1))
                if count > 0 { buffer.update(from: input + start * perSample, count: count * perSample) }
                pointer = UnsafePointer(buffer)
            }
            let outputs = try execute(plan, externals: [pointer])
            for output in plan.outputs {
                guard let value = outputs[output.name] else { continue }
                guard value.shape.first == batch else {
                    throw ONNXError.inconsistentShapes(node: "graph output \"\(output.name)\"", detail: "the model takes batches of exactly \(batch) samples but this output has shape \(value.shape), so it cannot be split per sample to run \(samples) samples; re-export the model with a dynamic batch dimension")
                }
                let rowSize = value.shape.dropFirst().reduce(1, *)
                var entry = collected[output.name] ?? ([samples] + value.shape.dropFirst(), [], [], false)
                switch value {
                case .float32(let tensor): entry.floats += tensor.scalars[0..<(count * rowSize)]
                case .int64(let tensor): entry.ints += tensor.values[0..<(count * rowSize)]; entry.isInteger = true
                }
                collected[output.name] = entry
            }
            start += batch
        } while start < samples
        var results = [String: AnyTensor]()
        for output in plan.outputs {
            guard let entry = collected[output.name] else { continue }
            results[output.name] = entry.isInteger
                ? .int64(try Int64Tensor(shape: entry.shape, values: entry.ints))
                : .float32(try Tensor(shape: entry.shape, scalars: entry.floats))
        }
        return results
    }

    /// Calls `body` with stable pointers to the scalars of every tensor, in order.
    private static func withPointers<R>(to tensors: ArraySlice<Tensor>, collected: [UnsafePointer<Float>] = [],
                                        _ body: ([UnsafePointer<Float>]) throws -> R) throws -> R {
        guard let first = tensors.first else { return try body(collected) }
        return try first.scalars.withUnsafeBufferPointer { buffer in
            // An empty tensor has no base address; nothing reads it, so any valid pointer will do.
            let pointer = buffer.baseAddress ?? UnsafePointer(ExecutionPlan.emptyInput.pointer)
            return try withPointers(to: tensors.dropFirst(), collected: collected + [pointer], body)
        }
    }

    /// Executes a plan with the given external input buffers and copies out every output.
    private func execute(_ plan: ExecutionPlan, externals: [UnsafePointer<Float>]) throws -> [String: AnyTensor] {
        ensureCapacity(arena: plan.arenaCount, scratch: plan.scratchCount)
        for step in plan.steps {
            var inputs = [UnsafePointer<Float>]()
            inputs.reserveCapacity(step.inputs.count)
            for slot in step.inputs { inputs.append(UnsafePointer(resolve(slot, externals))) }
            var outputs = [UnsafeMutablePointer<Float>]()
            outputs.reserveCapacity(step.outputs.count)
            for slot in step.outputs { outputs.append(resolve(slot, externals)) }
            step.kernel(inputs, outputs, scratch)
        }
        var results = [String: AnyTensor]()
        for output in plan.outputs {
            if let constant = output.constant {
                if let ints = constant.ints { results[output.name] = .int64(try Int64Tensor(shape: constant.shape, values: ints)) }
                else { results[output.name] = .float32(try Tensor(shape: constant.shape, scalars: constant.floats ?? [])) }
                continue
            }
            let count = output.shape.reduce(1, *)
            let source = UnsafeBufferPointer(start: resolve(output.slot, externals), count: count)
            if output.type == .int64 {
                results[output.name] = .int64(try Int64Tensor(shape: output.shape, values: source.map { Int64(saturating: $0) }))
            } else {
                results[output.name] = .float32(Tensor(uncheckedShape: output.shape, scalars: Array(source)))
            }
        }
        return results
    }

    private func resolve(_ slot: ExecutionPlan.Slot, _ externals: [UnsafePointer<Float>]) -> UnsafeMutablePointer<Float> {
        switch slot {
        case .arena(let offset): return arena + offset
        case .constant(let constant): return UnsafeMutablePointer(mutating: constant)
        case .external(let index): return UnsafeMutablePointer(mutating: externals[index])
        case .absent: return sink
        }
    }

    private func plan(for inputs: [String: PlanValue]) throws -> ExecutionPlan {
        let key = inputs.keys.sorted().map { name -> String in
            let value = inputs[name]
            let floats = value?.floats.map { values in values.map { String($0.bitPattern, radix: 16) }.joined(separator: ",") } ?? ""
            return "\(name):\(value?.shape ?? []):\(value?.ints.map { "\($0)" } ?? ""):\(floats)"
        }.joined(separator: "|")
        if let cached = plans[key] { return cached }
        let plan = try ShapeMath.$elementLimit.withValue(max(1, memoryLimit / 4)) {
            try ExecutionPlan(graph: model.graph, inputs: inputs)
        }
        let (elements, overflow) = plan.arenaCount.addingReportingOverflow(plan.scratchCount)
        if overflow || elements > memoryLimit / 4 {
            let shapes = inputs.keys.sorted().map { "\($0) \(inputs[$0]?.shape ?? [])" }.joined(separator: ", ")
            let needed = overflow ? "more than 2^63 bytes" : "\(elements / (1 << 18)) MiB"
            throw ONNXError.tooLarge(node: "the plan for input \(shapes)", detail: "one run needs \(needed) of working memory (intermediate values and scratch), more than the \(memoryLimit >> 20) MiB allowed")
        }
        if plans.count >= 8 { plans.removeAll() }
        plans[key] = plan
        return plan
    }

    private func ensureCapacity(arena arenaCount: Int, scratch scratchCount: Int) {
        if arenaCount > arenaCapacity {
            arena.deallocate()
            arena = UnsafeMutablePointer<Float>.allocate(capacity: arenaCount)
            arena.initialize(repeating: 0, count: arenaCount)
            arenaCapacity = arenaCount
        }
        if scratchCount > scratchCapacity {
            scratch.deallocate()
            scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            scratch.initialize(repeating: 0, count: scratchCount)
            scratchCapacity = scratchCount
        }
    }

    /// Checks a fed tensor against the declared element type and static dimensions.
    static func check(_ value: AnyTensor, against info: ONNXValueInfo) throws {
        if case .int64 = value { try check(shape: value.shape, isInteger: true, against: info) }
        else { try check(shape: value.shape, isInteger: false, against: info) }
    }

    /// Checks an input's element kind and shape against the declared type and static dims.
    static func check(shape: [Int], isInteger: Bool, against info: ONNXValueInfo, ignoringBatch: Bool = false) throws {
        // Every integer type and bool is fed as Int64.
        let isInt = [2, 3, 4, 5, 6, 7, 9, 12, 13].contains(info.elementType)
        if !isInteger && isInt { throw ONNXError.invalidInput(name: info.name, detail: "expected an integer tensor, got Float32") }
        if isInteger && !isInt && info.elementType != 0 { throw ONNXError.invalidInput(name: info.name, detail: "expected a Float32 tensor, got Int64") }
        guard let declared = info.shape else { return }
        guard declared.count == shape.count else {
            throw ONNXError.invalidInput(name: info.name, detail: "expected rank \(declared.count) (\(declared.map(\.description).joined(separator: "x"))), got shape \(shape)")
        }
        for (axis, dim) in declared.enumerated() where !(ignoringBatch && axis == 0) {
            if case .value(let size) = dim, size > 0, Int(size) != shape[axis] {
                throw ONNXError.invalidInput(name: info.name, detail: "dimension \(axis) must be \(size) (declared \(declared.map(\.description).joined(separator: "x"))), got shape \(shape)")
            }
        }
    }
}

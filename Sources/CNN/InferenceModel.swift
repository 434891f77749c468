import Foundation

/// A loaded, optimized ONNX model: immutable, `Sendable`, shared by every worker.
///
/// Load once with ``init(contentsOf:)`` or ``init(data:)``, then give each worker thread its
/// own ``InferenceSession`` (``makeSession()``), which owns the scratch memory. Inputs are NCHW
/// Float32 `[batch, bands, height, width]`; outputs are whatever the graph produces, for
/// landcover models `[batch, classes]` (patch classification) or `[batch, classes, height,
/// width]` (segmentation) logits or probabilities.
///
/// Loading folds constants and BatchNormalization into convolutions, fuses residual Adds and
/// activations into the convolution kernels and drops dead nodes. Shapes are planned per
/// input size when a session first sees it.
///
/// ```swift
/// let model = try InferenceModel(contentsOf: url)
/// let contract = try model.requireContract()          // for the pipeline
/// let session = model.makeSession()                   // one per worker
/// let logits = try session.run(input: batch)          // [N, classes]
/// ```
///
/// ### See Also
/// - ``InferenceSession``, ``ModelContract``, ``ONNXModel``
public final class InferenceModel: Sendable {
    /// The decoded ONNX file (metadata, graph as stored) without the initializers' values: their
    /// names, shapes and types are kept, their payloads live on only in compiled form (a
    /// ResNet-18 would otherwise hold its 45 MB of weights twice). Decode the file again with
    /// ``ONNXModel/init(serializedData:)`` for the values.
    public let proto: ONNXModel
    /// The landcover contract from `metadata_props`, or nil if the model has none.
    public let contract: ModelContract?
    /// Graph inputs the caller feeds (initializers excluded), in graph order.
    public let inputs: [ONNXValueInfo]
    /// Graph outputs, in graph order.
    public let outputs: [ONNXValueInfo]
    let graph: CompiledGraph
    /// The arithmetic the model was compiled for.
    public let precision: InferencePrecision

    /// Loads a model from a `.onnx` file, with the external data files it refers to (paths
    /// relative to the file's folder; see ``ONNXModel/loadExternalData(directory:)``).
    /// - Parameter precision: the arithmetic of the convolutions (see ``InferencePrecision``).
    /// - Throws: ``ONNXError`` (unreadable file, malformed or unsupported model) or
    ///   ``ModelContractError`` when `landcover.*` metadata is present but malformed.
    public convenience init(contentsOf url: URL, precision: InferencePrecision = .fp32) throws {
        // Decode in a scope of its own so that the file's bytes are freed before compiling.
        // External data files (weights kept beside the .onnx file) are read into the initializers.
        var model = try ONNXModel(contentsOf: url)
        try self.init(taking: &model, replacingInitializers: [:], precision: precision)
    }

    /// Loads a model from the bytes of a `.onnx` file. See ``init(contentsOf:precision:)``.
    public convenience init(data: Data, precision: InferencePrecision = .fp32) throws {
        var model = try ONNXModel(serializedData: data)
        try self.init(taking: &model, replacingInitializers: [:], precision: precision)
    }

    /// Compiles a decoded model.
    /// - Parameter replacingInitializers: values for initializers that are fed at run time
    ///   (ONNX allows a graph input to also be an initializer, which then acts as its default).
    public convenience init(model: ONNXModel, replacingInitializers replacements: [String: AnyTensor] = [:],
                            precision: InferencePrecision = .fp32) throws {
        var copy = model
        try self.init(taking: &copy, replacingInitializers: replacements, precision: precision)
    }

    /// Compiles `model`, moving its initializers' payloads out as they are converted, so that
    /// a model loaded from a file never holds its weights in both forms at once.
    private init(taking model: inout ONNXModel, replacingInitializers replacements: [String: AnyTensor],
                 precision: InferencePrecision) throws {
        let contract = try ModelContract(model: model)
        // A channels-last model is fed NCHW like every other: a Transpose to its own layout is
        // compiled in front of its first node (the stored graph is left as it was).
        let storedNodes = model.graph.nodes, storedInputs = model.graph.inputs
        model.graph.nodes = model.graph.topologicallySortedNodes()
        if contract?.inputLayout == .nhwc { Self.insertLayoutTranspose(into: &model.graph) }
        self.graph = try CompiledGraph(model: &model, replacements: replacements, precision: precision)
        self.precision = precision
        model.graph.nodes = storedNodes
        model.graph.inputs = storedInputs
        self.proto = model
        self.inputs = graph.inputs.map(\.info)
        self.outputs = graph.outputs.map(\.info)
        self.contract = contract
        let fed = Set(graph.inputs.map(\.name))
        var parameters = Set<String>()
        for node in model.graph.nodes {
            for position in OperatorFactory.parameterPositions(of: node) where position < node.inputs.count && fed.contains(node.inputs[position]) {
                parameters.insert(node.inputs[position])
            }
        }
        self.parameterInputNames = parameters
        self.fixedBatchSize = Self.fixedBatch(inputs: graph.inputs.map(\.info), outputs: graph.outputs.map(\.info))
    }

    /// The batch size the model's graph takes, when its one fed input declares a fixed dimension
    /// 0 (`[1, 13, 64, 64]`, as the TorchScript exporter writes without `dynamic_axes`) and every
    /// declared output has that dimension 0 too; nil for a dynamic batch. Sessions run any number
    /// of samples on such a model by splitting them into batches of this size (the last one
    /// padded with zeros, its padding rows dropped from the outputs).
    public let fixedBatchSize: Int?

    /// Fed inputs whose values an operator needs to be planned (Conv weights, Clip bounds, Pad
    /// pads, BatchNormalization statistics, Resize scales and sizes given as graph inputs):
    /// sessions make one plan per distinct value of these, with what depends only on them folded
    /// into it, and compute the rest per batch.
    public let parameterInputNames: Set<String>

    static func fixedBatch(inputs: [ONNXValueInfo], outputs: [ONNXValueInfo]) -> Int? {
        guard inputs.count == 1, let input = inputs.first, case .value(let size)? = input.shape?.first, size >= 1,
              size <= Int64(ShapeMath.maximumElementCount) else { return nil }
        let integer = input.elementType == ONNXTensor.DataType.int64.rawValue || input.elementType == ONNXTensor.DataType.int32.rawValue
        guard !integer else { return nil }
        for output in outputs {
            guard let shape = output.shape else { continue }
            guard case .value(let dim)? = shape.first, dim == size else { return nil }
        }
        return Int(size)
    }

    /// Rewrites a graph whose one input is channels-last `[N, H, W, C]` so that it is fed
    /// `[N, C, H, W]`: the input keeps its name with permuted declared dims, and a Transpose
    /// (perm 0, 2, 3, 1) produces the channels-last value its consumers read.
    static func insertLayoutTranspose(into graph: inout ONNXGraph) {
        let initializers = Set(graph.initializers.map(\.name))
        guard let index = graph.inputs.firstIndex(where: { !initializers.contains($0.name) }) else { return }
        let name = graph.inputs[index].name
        var internalName = name + "/landcover_nhwc"
        let used = Set(graph.nodes.flatMap { $0.inputs + $0.outputs })
        while used.contains(internalName) { internalName += "_" }
        for node in graph.nodes.indices {
            graph.nodes[node].inputs = graph.nodes[node].inputs.map { $0 == name ? internalName : $0 }
        }
        if let shape = graph.inputs[index].shape, shape.count == 4 {
            graph.inputs[index].shape = [shape[0], shape[3], shape[1], shape[2]]
        }
        let transpose = ONNXNode(operatorType: "Transpose", inputs: [name], outputs: [internalName],
                                 name: "landcover input layout NCHW -> NHWC",
                                 attributes: [ONNXAttribute(name: "perm", value: .ints([0, 2, 3, 1]))])
        graph.nodes.insert(transpose, at: 0)
    }

    /// The ONNX operators (default domain) the engine implements, sorted; README's "Supported
    /// operators" section lists the same names with their types and limits.
    public static var supportedOperators: [String] { OperatorFactory.supportedOperators.sorted() }

    /// Number of floating-point parameters (elements of the non-integer initializers).
    public var parameterCount: Int {
        proto.graph.initializers.filter { !$0.isInteger }.reduce(0) { $0 + $1.elementCount }
    }

    /// Names of graph inputs that are also initializers: feeding one requires
    /// ``init(model:replacingInitializers:)``.
    public var overridableInitializerNames: Set<String> {
        let initializers = Set(proto.graph.initializers.map(\.name))
        return Set(proto.graph.inputs.map(\.name)).intersection(initializers)
    }

    /// The contract, or a ``ModelContractError/missingContract(keys:)`` listing the keys to add.
    public func requireContract() throws -> ModelContract {
        guard let contract else { throw ModelContractError.missingContract(keys: ModelContract.requiredKeys) }
        return contract
    }

    /// Creates a session for one worker thread. Sessions are cheap; plans are cached inside.
    public func makeSession() -> InferenceSession {
        InferenceSession(model: self)
    }

    /// Runs a batch, splitting it along dimension 0 into `threads` contiguous parts that run
    /// concurrently, each in its own session (created per call: for repeated calls, keep one
    /// ``InferenceSession`` per worker instead). The batch is split only when every input and
    /// output declares the same symbolic dimension 0 (e.g. `N`); otherwise one session runs it. Every sample's output bits are identical for
    /// any `threads` value and any batch size.
    /// - Parameters:
    ///   - inputs: one NCHW tensor per graph input name; all must share the batch size.
    ///   - threads: worker count (clamped to 1...batch).
    /// - Returns: every graph output by name, concatenated back along dimension 0.
    public func run(inputs: [String: Tensor], threads: Int) throws -> [String: Tensor] {
        let any = try run(values: inputs.mapValues { AnyTensor.float32($0) }, threads: threads, memoryLimit: InferenceSession.defaultMemoryLimit)
        return any.mapValues(\.floatTensor)
    }

    /// True when every fed input and every output declares the same symbolic dimension 0 (the
    /// batch), so a batch can be split across workers and the outputs concatenated.
    public var hasSplittableBatch: Bool {
        guard case .parameter(let name)? = inputs.first?.shape?.first else { return false }
        let declared = inputs.map { $0.shape?.first } + outputs.map { $0.shape?.first }
        return declared.allSatisfy { $0 == .parameter(name) }
    }

    /// ``run(inputs:threads:)`` for inputs and outputs of either element type. Int64 inputs
    /// (shape data) are passed whole to every part. `memoryLimit` bounds each part's working
    /// memory in bytes (see ``InferenceSession/memoryLimit``).
    public func run(values: [String: AnyTensor], threads: Int, memoryLimit: Int = InferenceSession.defaultMemoryLimit) throws -> [String: AnyTensor] {
        let sessions = (0..<max(1, threads)).map { _ -> InferenceSession in
            let session = makeSession()
            session.memoryLimit = memoryLimit
            return session
        }
        return try run(values: values, sessions: sessions)
    }

    /// ``run(values:threads:memoryLimit:)`` with caller-owned sessions (one per worker, at least
    /// one), so that repeated calls (a large input run batch by batch) keep their plans.
    public func run(values: [String: AnyTensor], sessions: [InferenceSession]) throws -> [String: AnyTensor] {
        guard let first = sessions.first else { throw ONNXError.invalidModel(detail: "no session to run the model in") }
        let batched = values.compactMap { name, value -> (String, Tensor)? in
            if case .float32(let tensor) = value, !tensor.shape.isEmpty { return (name, tensor) }
            return nil
        }
        let batch = batched.first?.1.shape[0] ?? 1
        let workers = max(1, min(sessions.count, batch))
        // A fixed-batch model splits too: each worker's session runs its part in batches of that
        // size. Exactly one batch of that size runs whole: its dimension 0 need not be samples
        // (a Softmax over axis 0 of a [3, 4, 5] input must see all three rows).
        if workers == 1 || batched.contains(where: { $0.1.shape[0] != batch }) || !(hasSplittableBatch || fixedBatchSize != nil)
            || fixedBatchSize == batch {
            return try first.run(values: values)
        }
        let parts = WorkerResults(count: workers)
        let slices: [[String: AnyTensor]] = try (0..<workers).map { worker in
            let start = worker * batch / workers, end = (worker + 1) * batch / workers
            var slice = values
            for (name, tensor) in batched { slice[name] = .float32(try tensor.batchSlice(start: start, count: end - start)) }
            return slice
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let result = Result { try sessions[worker].run(values: slices[worker]) }
            parts.store(result, at: worker)
        }
        let results = try parts.values().map { try $0.get() }
        var merged = [String: AnyTensor]()
        for output in outputs {
            let pieces = results.compactMap { $0[output.name] }
            if case .int64 = pieces.first {
                var shape = [0], values = [Int64]()
                for piece in pieces { if case .int64(let t) = piece { shape = [shape[0] + (t.shape.first ?? 0)] + t.shape.dropFirst(); values += t.values } }
                merged[output.name] = .int64(try Int64Tensor(shape: shape, values: values))
            } else {
                merged[output.name] = .float32(try Tensor.concatenatingBatches(pieces.map(\.floatTensor)))
            }
        }
        return merged
    }
}

/// Results of concurrently running workers, one slot per worker, guarded by a lock.
private final class WorkerResults: @unchecked Sendable {
    private var results: [Result<[String: AnyTensor], Error>]
    private let lock = NSLock()

    init(count: Int) {
        results = Array(repeating: .failure(ONNXError.invalidModel(detail: "a worker did not run")), count: count)
    }

    func store(_ result: Result<[String: AnyTensor], Error>, at index: Int) {
        lock.lock(); defer { lock.unlock() }
        results[index] = result
    }

    func values() -> [Result<[String: AnyTensor], Error>] {
        lock.lock(); defer { lock.unlock() }
        return results
    }
}

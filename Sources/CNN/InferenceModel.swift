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

    /// Loads a model from a `.onnx` file.
    /// - Parameter precision: the arithmetic of the convolutions (see ``InferencePrecision``).
    /// - Throws: ``ONNXError`` (unreadable file, malformed or unsupported model) or
    ///   ``ModelContractError`` when `landcover.*` metadata is present but malformed.
    public convenience init(contentsOf url: URL, precision: InferencePrecision = .fp32) throws {
        // Decode in a scope of its own so that the file's bytes are freed before compiling.
        var model: ONNXModel = try {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw ONNXError.fileError(path: url.path, detail: "cannot read the model file (\(error.localizedDescription))")
            }
            return try ONNXModel(serializedData: data)
        }()
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
        self.graph = try CompiledGraph(model: &model, replacements: replacements, precision: precision)
        self.precision = precision
        self.proto = model
        self.inputs = graph.inputs.map(\.info)
        self.outputs = graph.outputs.map(\.info)
        self.contract = try ModelContract(model: model)
    }

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
        @Sendable func session() -> InferenceSession {
            let session = makeSession()
            session.memoryLimit = memoryLimit
            return session
        }
        let batched = values.compactMap { name, value -> (String, Tensor)? in
            if case .float32(let tensor) = value, !tensor.shape.isEmpty { return (name, tensor) }
            return nil
        }
        let batch = batched.first?.1.shape[0] ?? 1
        let workers = max(1, min(threads, batch))
        if workers == 1 || batched.contains(where: { $0.1.shape[0] != batch }) || !hasSplittableBatch {
            return try session().run(values: values)
        }
        let parts = WorkerResults(count: workers)
        let slices: [[String: AnyTensor]] = try (0..<workers).map { worker in
            let start = worker * batch / workers, end = (worker + 1) * batch / workers
            var slice = values
            for (name, tensor) in batched { slice[name] = .float32(try tensor.batchSlice(start: start, count: end - start)) }
            return slice
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let result = Result { try session().run(values: slices[worker]) }
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

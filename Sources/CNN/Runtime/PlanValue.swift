extension Int64 {
    /// Converts a Float, clamping to the Int64 range (NaN becomes 0): never traps.
    init(saturating value: Float) {
        if value.isNaN { self = 0 } else if value >= 9.2e18 { self = .max } else if value <= -9.2e18 { self = .min } else { self = Int64(value) }
    }
}

extension Int {
    /// Converts a Float, clamping to the Int range (NaN becomes 0): never traps.
    init(saturating value: Float) { self = Int(Int64(saturating: value)) }
}

/// Element type of a value flowing through a compiled graph.
enum ValueType: Sendable, Equatable {
    case float32
    case int64
}

/// What the planner knows about one graph value for a given set of input shapes: its shape,
/// element type and, when it is known before running (weights, folded shape arithmetic), its
/// contents. Runtime Int64 values (ArgMax indices) are stored as Float in the arena.
struct PlanValue: Sendable {
    var shape: [Int]
    var type: ValueType
    var floats: [Float]?
    var ints: [Int64]?

    var count: Int { shape.reduce(1, *) }
    var isConstant: Bool { floats != nil || ints != nil }

    static func runtime(_ shape: [Int], _ type: ValueType = .float32) -> PlanValue {
        PlanValue(shape: shape, type: type, floats: nil, ints: nil)
    }

    static func constant(_ shape: [Int], floats: [Float]) -> PlanValue {
        PlanValue(shape: shape, type: .float32, floats: floats, ints: nil)
    }

    static func constant(_ shape: [Int], ints: [Int64]) -> PlanValue {
        PlanValue(shape: shape, type: .int64, floats: nil, ints: ints)
    }

    /// The constant contents as Float (Int64 converted), if known.
    var constantFloats: [Float]? {
        if let floats { return floats }
        return ints.map { $0.map { Float($0) } }
    }

    /// The constant contents as Int64 (Float truncated), if known.
    var constantInts: [Int64]? {
        if let ints { return ints }
        return floats.map { $0.map { Int64(saturating: $0) } }
    }
}

/// A compiled operator's kernel: reads its inputs, writes its outputs, may use scratch.
/// Pointers of omitted optional inputs point to a dummy element.
typealias OperatorKernel = @Sendable (
    _ inputs: [UnsafePointer<Float>], _ outputs: [UnsafeMutablePointer<Float>],
    _ scratch: UnsafeMutablePointer<Float>) -> Void

/// The result of planning one operator for concrete input shapes.
struct OperatorPlan: Sendable {
    /// Output shapes/types, with contents when computed at plan time.
    var outputs: [PlanValue]
    /// Runtime work; nil when every output is a plan-time constant.
    var kernel: OperatorKernel?
    /// Floats of scratch the kernel needs.
    var scratchCount: Int = 0
    /// Floating-point operations of one kernel call (multiply-adds count as 2).
    var flops: Int = 0
    /// Output `index` may share the buffer of input 0 (pure reshapes).
    var aliasesInput: Bool = false
}

/// A node compiled for execution. `plan` is called once per distinct set of input shapes.
protocol GraphOperator: Sendable {
    /// Computes output shapes (and constants) and the runtime kernel for these inputs.
    /// `inputs[i]` is nil for an omitted optional input.
    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan
    /// Positions of constant inputs whose contents the operator copied into its own form when it
    /// was built (packed weights) and never reads again: the compiled graph then keeps only
    /// their shapes.
    var constantInputsConsumedAtLoad: [Int] { get }
}

extension GraphOperator {
    var constantInputsConsumedAtLoad: [Int] { [] }
}

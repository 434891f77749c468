/// A static execution plan of a ``CompiledGraph`` for one set of input shapes: every runtime
/// value gets a fixed offset in one Float arena (offsets are reused once a value is dead),
/// shape arithmetic is folded into constants, and the scratch size is the largest any step
/// needs. Plans are built by ``InferenceSession`` and cached per input signature.
final class ExecutionPlan: @unchecked Sendable {
    enum Slot {
        case arena(Int)
        case constant(UnsafePointer<Float>)
        /// The caller's buffer of runtime input number `index` (see ``inputNames``); read only.
        case external(Int)
        case absent
    }

    struct Step {
        let kernel: OperatorKernel
        let inputs: [Slot]
        let outputs: [Slot]
    }

    struct Output {
        let name: String
        let shape: [Int]
        let type: ValueType
        let slot: Slot
        /// Set when the output is a plan-time constant.
        let constant: PlanValue?
    }

    let steps: [Step]
    let arenaCount: Int
    let scratchCount: Int
    /// Arena offset and element count of each fed input.
    /// Names of the Float inputs read straight from the caller's buffers, in slot order.
    let inputNames: [String]
    let outputs: [Output]
    /// Floating-point operations of one run of this plan.
    let flops: Int
    /// Plan-local constant storage kept alive for the steps.
    private let ownedConstants: [ConstantBuffer]
    private static let dummy = ConstantBuffer([0])
    /// A valid pointer for empty caller tensors (never read).
    static let emptyInput = ConstantBuffer([0])

    /// - Parameter inputs: shape/type (and contents for Int64 inputs) of every fed input.
    init(graph: CompiledGraph, inputs: [String: PlanValue]) throws {
        var values = [PlanValue?](repeating: nil, count: graph.valueNames.count)
        for (id, value) in graph.constants { values[id] = value }
        var runtimeInputs = [(id: Int, name: String)]()
        for input in graph.inputs {
            guard let value = inputs[input.name] else {
                throw ONNXError.missingInput(name: input.name, available: graph.inputs.map(\.name))
            }
            guard ShapeMath.checkedCount(value.shape) != nil else {
                throw ONNXError.invalidInput(name: input.name, detail: "shape \(value.shape) is invalid or too large")
            }
            values[input.id] = value
            if !value.isConstant { runtimeInputs.append((input.id, input.name)) }
        }
        // 1. Shape inference and plan-time folding.
        var planned = [(step: CompiledStep, plan: OperatorPlan)]()
        var totalFlops = 0
        for step in graph.steps {
            let stepInputs = step.inputs.map { $0 >= 0 ? values[$0] : nil }
            for (position, id) in step.inputs.enumerated() where id >= 0 && stepInputs[position] == nil {
                throw ONNXError.missingValue(name: graph.valueNames[id], node: step.label)
            }
            var plan = try step.op.plan(stepInputs)
            guard plan.outputs.count >= step.outputs.filter({ $0 >= 0 }).count || plan.outputs.count >= step.outputs.count else {
                throw ONNXError.invalidAttribute(node: step.label, detail: "declares \(step.outputs.count) outputs but the operator produces \(plan.outputs.count)")
            }
            let allConstant = stepInputs.allSatisfy { $0?.isConstant ?? true }
            if allConstant && plan.kernel != nil {
                plan = OperatorPlan(outputs: try ConstantFolding.evaluate(plan, inputs: stepInputs, node: step.label))
            }
            for (index, id) in step.outputs.enumerated() where id >= 0 && index < plan.outputs.count {
                let shape = plan.outputs[index].shape
                guard shape.allSatisfy({ $0 >= 0 }) else {
                    throw ONNXError.inconsistentShapes(node: step.label, detail: "output shape \(shape) is invalid")
                }
                guard ShapeMath.checkedCount(shape) != nil else {
                    throw ONNXError.tooLarge(node: step.label, detail: "its output shape \(shape) has more than \(min(ShapeMath.maximumElementCount, ShapeMath.elementLimit)) elements")
                }
                values[id] = plan.outputs[index]
            }
            guard plan.scratchCount >= 0, plan.scratchCount <= ShapeMath.maximumElementCount else {
                throw ONNXError.inconsistentShapes(node: step.label, detail: "needs \(plan.scratchCount) floats of scratch memory")
            }
            if plan.kernel != nil {
                totalFlops += plan.flops
                planned.append((step, plan))
            }
        }
        // 2. Lifetimes of runtime values (index of defining step, index of last use).
        var definedAt = [Int: Int]()
        var lastUse = [Int: Int]()
        for input in runtimeInputs { definedAt[input.id] = -1; lastUse[input.id] = -1 }
        for (index, entry) in planned.enumerated() {
            for id in entry.step.inputs where id >= 0 && definedAt[id] != nil { lastUse[id] = index }
            for id in entry.step.outputs where id >= 0 { definedAt[id] = index; lastUse[id] = max(lastUse[id] ?? index, index) }
        }
        let graphOutputIDs = Set(graph.outputs.map(\.id))
        for id in graphOutputIDs where definedAt[id] != nil { lastUse[id] = planned.count }
        // Pure reshapes/copies whose input dies at that step share the input's storage and
        // need no kernel: the output becomes an alias of the input's root value.
        var root = [Int: Int]()
        var skipped = Set<Int>()
        for (index, entry) in planned.enumerated() where entry.plan.aliasesInput {
            guard let input = entry.step.inputs.first, input >= 0, let output = entry.step.outputs.first, output >= 0,
                  definedAt[input] != nil || root[input] != nil, lastUse[input] == index, !graphOutputIDs.contains(input),
                  values[input]?.count == values[output]?.count else { continue }
            let base = root[input] ?? input
            root[output] = base
            lastUse[base] = max(lastUse[base] ?? index, lastUse[output] ?? index)
            definedAt[output] = nil
            skipped.insert(index)
        }
        // 3. First-fit offsets: a value may reuse memory of values dead before it is defined.
        struct Allocation { let offset: Int; let size: Int; let start: Int; let end: Int }
        var allocations = [Allocation]()
        var offsets = [Int: Int]()
        // Graph inputs stay in the caller's memory: they get no arena space.
        let inputIndex = Dictionary(uniqueKeysWithValues: runtimeInputs.enumerated().map { ($0.element.id, $0.offset) })
        let ordered = definedAt.filter { inputIndex[$0.key] == nil }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        var arenaSize = 0
        for (id, start) in ordered {
            let count = values[id]?.count ?? 0
            let size = (max(count, 1) + 15) / 16 * 16
            let end = lastUse[id] ?? start
            let live = allocations.filter { $0.end >= start && $0.start <= end }.sorted { $0.offset < $1.offset }
            var offset = 0
            for other in live {
                if offset + size <= other.offset { break }
                offset = max(offset, other.offset + other.size)
            }
            allocations.append(Allocation(offset: offset, size: size, start: start, end: end))
            offsets[id] = offset
            arenaSize = max(arenaSize, offset + size)
        }
        var externals = inputIndex
        for (alias, base) in root {
            if let index = inputIndex[base] { externals[alias] = index } else { offsets[alias] = offsets[base] }
        }
        // 4. Slots.
        var owned = [ConstantBuffer]()
        func slot(_ id: Int) -> Slot {
            guard id >= 0 else { return .constant(UnsafePointer(Self.dummy.pointer)) }
            if let offset = offsets[id] { return .arena(offset) }
            if let index = externals[id] { return .external(index) }
            if let buffer = graph.constantBuffers[id] { return .constant(UnsafePointer(buffer.pointer)) }
            let buffer = ConstantBuffer(values[id]?.constantFloats ?? [0])
            owned.append(buffer)
            return .constant(UnsafePointer(buffer.pointer))
        }
        var steps = [Step]()
        var scratch = 0
        for (index, (step, plan)) in planned.enumerated() where !skipped.contains(index) {
            guard let kernel = plan.kernel else { continue }
            let outputSlots = step.outputs.map { id -> Slot in
                if id >= 0, let offset = offsets[id] { return .arena(offset) }
                return .absent
            }
            steps.append(Step(kernel: kernel, inputs: step.inputs.map(slot), outputs: outputSlots))
            scratch = max(scratch, plan.scratchCount)
        }
        self.steps = steps
        self.arenaCount = arenaSize
        self.scratchCount = scratch
        self.inputNames = runtimeInputs.map(\.name)
        self.outputs = graph.outputs.map { output in
            let value = values[output.id] ?? .runtime([])
            if let offset = offsets[output.id] {
                return Output(name: output.name, shape: value.shape, type: value.type, slot: .arena(offset), constant: nil)
            }
            if let index = externals[output.id] {
                return Output(name: output.name, shape: value.shape, type: value.type, slot: .external(index), constant: nil)
            }
            return Output(name: output.name, shape: value.shape, type: value.type, slot: .absent, constant: value)
        }
        self.flops = totalFlops
        self.ownedConstants = owned
    }
}

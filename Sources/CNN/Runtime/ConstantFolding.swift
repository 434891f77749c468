/// Runs an operator kernel on plan-time constants (load-time constant folding and per-shape
/// folding of shape arithmetic).
enum ConstantFolding {
    /// Evaluates `plan.kernel` on the constant `inputs` and returns constant outputs.
    /// - Throws: ``ONNXError/tooLarge(node:detail:)`` before allocating anything when an output
    ///   or the scratch memory is over ``ShapeMath/computedCount(_:inputs:node:)``'s bound.
    static func evaluate(_ plan: OperatorPlan, inputs: [PlanValue?], node: String) throws -> [PlanValue] {
        guard let kernel = plan.kernel else { return plan.outputs }
        for output in plan.outputs { try ShapeMath.computedCount(output.shape, inputs: inputs, node: node) }
        try ShapeMath.computedCount([max(0, plan.scratchCount)], inputs: inputs, node: node)
        var owned = [UnsafeMutablePointer<Float>]()
        defer { for pointer in owned { pointer.deallocate() } }
        func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            owned.append(pointer)
            return pointer
        }
        let inputPointers: [UnsafePointer<Float>] = inputs.map { value in
            let floats = value?.constantFloats ?? []
            let pointer = allocate(floats.count)
            pointer.update(from: floats, count: floats.count)
            return UnsafePointer(pointer)
        }
        let outputPointers = plan.outputs.map { allocate($0.count) }
        let scratch = allocate(plan.scratchCount)
        kernel(inputPointers, outputPointers, scratch)
        return zip(plan.outputs, outputPointers).map { value, pointer in
            let floats = Array(UnsafeBufferPointer(start: pointer, count: value.count))
            if value.type == .int64 { return .constant(value.shape, ints: floats.map { Int64(saturating: $0) }) }
            return .constant(value.shape, floats: floats)
        }
    }
}

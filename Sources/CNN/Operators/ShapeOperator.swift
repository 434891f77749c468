/// Shape-manipulating operators as PyTorch exports use them: Shape, Reshape, Flatten,
/// Squeeze, Unsqueeze, Concat, Gather, Slice, Transpose, Cast, ConstantOfShape.
///
/// On Int64 shape data whose contents are known at plan time they compute constants (so
/// `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains fold away per input size); on
/// Float32 data they produce runtime kernels.
struct ShapeOperator: GraphOperator {
    enum Kind: Sendable { case shape, reshape, flatten, squeeze, unsqueeze, concat, gather, slice, transpose, cast, constantOfShape, expand }
    let kind: Kind
    let attributes: NodeAttributes
    let opset: Int

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input 0") }
        switch kind {
        case .shape:
            var start = try attributes.int("start", default: 0)
            var end = try attributes.int("end", default: x.shape.count)
            let rank = x.shape.count
            if start < 0 { start += rank }; if end < 0 { end += rank }
            start = min(max(start, 0), rank); end = min(max(end, start), rank)
            let dims = x.shape[start..<end].map { Int64($0) }
            return OperatorPlan(outputs: [.constant([dims.count], ints: dims)])
        case .reshape, .flatten, .squeeze, .unsqueeze:
            return relabel(x, to: try reshapedShape(x, inputs))
        case .cast:
            let to = try attributes.int("to", default: 1)
            let isInteger = [2, 3, 4, 5, 6, 7, 9, 12, 13].contains(to)
            if let values = x.constantFloats, isInteger {
                return OperatorPlan(outputs: [.constant(x.shape, ints: values.map { Int64(saturating: $0) })])
            }
            if let values = x.ints, !isInteger { return OperatorPlan(outputs: [.constant(x.shape, floats: values.map { Float($0) })]) }
            var plan = relabel(x, to: x.shape)
            plan.outputs[0].type = isInteger ? .int64 : .float32
            return plan
        case .constantOfShape:
            guard let dims = x.constantInts else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "the shape input must be known before running") }
            let shape = dims.map { Int(clamping: $0) }
            let count = try ShapeMath.computedCount(shape, inputs: [], node: attributes.label)
            let tensor = try attributes.tensor("value")
            if let tensor, tensor.isInteger {
                let value = try tensor.int64Values().first ?? 0
                return OperatorPlan(outputs: [.constant(shape, ints: [Int64](repeating: value, count: count))])
            }
            let value = try tensor?.floatValues().first ?? 0
            return OperatorPlan(outputs: [.constant(shape, floats: [Float](repeating: value, count: count))])
        case .transpose:
            let rank = x.shape.count
            let perm = try attributes.ints("perm") ?? Array((0..<rank).reversed())
            guard perm.count == rank, Set(perm) == Set(0..<rank) else {
                throw attributes.invalid("perm \(perm) is not a permutation of 0..<\(rank)")
            }
            let outputShape = perm.map { x.shape[$0] }
            let shape = x.shape
            if let ints = x.ints {
                let result = ints.withUnsafeBufferPointer { src in
                    [Int64](unsafeUninitializedCapacity: ints.count) { dst, count in
                        if let s = src.baseAddress, let d = dst.baseAddress { Self.transpose(s, d, shape, perm) }
                        count = ints.count
                    }
                }
                return OperatorPlan(outputs: [.constant(outputShape, ints: result)])
            }
            let kernel: OperatorKernel = { inputs, outputs, _ in Self.transpose(inputs[0], outputs[0], shape, perm) }
            return OperatorPlan(outputs: [.runtime(outputShape, x.type)], kernel: kernel)
        case .concat:
            return try planConcat(inputs)
        case .expand:
            guard inputs.count > 1, let target = inputs[1]?.constantInts else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "the shape input must be known before running")
            }
            guard let shape = ShapeMath.broadcast(x.shape, target.map { Int(clamping: $0) }), shape.allSatisfy({ $0 >= 0 }) else {
                throw attributes.shapeError("input \(x.shape) cannot be expanded to \(target)")
            }
            guard ShapeMath.checkedCount(shape) != nil else {
                throw ONNXError.tooLarge(node: attributes.label, detail: "the expanded shape \(shape) has more than \(min(ShapeMath.maximumElementCount, ShapeMath.elementLimit)) elements")
            }
            let loops = BroadcastLoops(a: shape, b: x.shape, output: shape)
            if let ints = x.ints {
                try ShapeMath.computedCount(shape, inputs: inputs, node: attributes.label)
                let strides = ShapeMath.broadcastStrides(input: x.shape, output: shape)
                var result = [Int64]()
                var index = [Int](repeating: 0, count: shape.count)
                for _ in 0..<shape.reduce(1, *) {
                    var offset = 0
                    for d in 0..<shape.count { offset += index[d] * strides[d] }
                    result.append(ints[offset])
                    var d = shape.count - 1
                    while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
                }
                return OperatorPlan(outputs: [.constant(shape, ints: result)])
            }
            let kernel: OperatorKernel = { inputs, outputs, _ in
                loops.run(UnsafePointer(outputs[0]), inputs[0], outputs[0]) { _, value in value }
            }
            return OperatorPlan(outputs: [.runtime(shape, x.type)], kernel: kernel)
        case .gather:
            return try planGather(x, inputs)
        case .slice:
            return try planSlice(x, inputs)
        }
    }

    /// A pure relabeling of the same elements: constants stay constants; runtime data is copied.
    private func relabel(_ x: PlanValue, to shape: [Int]) -> OperatorPlan {
        if let ints = x.ints { return OperatorPlan(outputs: [.constant(shape, ints: ints)]) }
        let count = x.count
        let kernel: OperatorKernel = { inputs, outputs, _ in
            if UnsafePointer(outputs[0]) != inputs[0] { outputs[0].update(from: inputs[0], count: count) }
        }
        return OperatorPlan(outputs: [.runtime(shape, x.type)], kernel: kernel, aliasesInput: true)
    }

    private func reshapedShape(_ x: PlanValue, _ inputs: [PlanValue?]) throws -> [Int] {
        let rank = x.shape.count
        switch kind {
        case .flatten:
            var axis = try attributes.int("axis", default: 1)
            if axis < 0 { axis += rank }
            guard axis >= 0, axis <= rank else { throw attributes.invalid("axis \(axis) is out of range for rank \(rank)") }
            return [x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)]
        case .reshape:
            guard inputs.count > 1, let shapeInput = inputs[1] else { throw attributes.invalid("missing shape input") }
            guard let requested = shapeInput.constantInts else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "the target shape must be known before running")
            }
            let allowZero = try attributes.int("allowzero", default: 0) != 0
            var shape = [Int]()
            var inferred: Int?
            for (index, value) in requested.enumerated() {
                if value == 0 && !allowZero {
                    guard index < rank else { throw attributes.shapeError("0 at position \(index) but the input \(x.shape) has rank \(rank)") }
                    shape.append(x.shape[index])
                } else if value == -1 {
                    guard inferred == nil else { throw attributes.shapeError("more than one -1 in \(requested)") }
                    inferred = index; shape.append(1)
                } else if value < 0 {
                    throw attributes.shapeError("invalid dimension \(value) in \(requested)")
                } else { shape.append(Int(value)) }
            }
            guard let known = ShapeMath.checkedCount(shape) else { throw attributes.shapeError("target shape \(requested) is too large") }
            if let inferred {
                guard known > 0, x.count % known == 0 else { throw attributes.shapeError("cannot reshape \(x.shape) to \(requested)") }
                shape[inferred] = x.count / known
            }
            guard shape.reduce(1, *) == x.count else { throw attributes.shapeError("cannot reshape \(x.shape) (\(x.count) elements) to \(requested)") }
            return shape
        case .squeeze:
            var axes: [Int]?
            if opset >= 13 {
                if inputs.count > 1, let axesInput = inputs[1] {
                    guard let values = axesInput.constantInts else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "axes must be constant") }
                    axes = values.map { Int($0) }
                }
            } else { axes = try attributes.ints("axes") }
            guard let axes else { return x.shape.filter { $0 != 1 } }
            let normalized = try axes.map { axis -> Int in
                guard let a = ShapeMath.axis(axis, rank: rank) else { throw attributes.invalid("axis \(axis) is out of range for rank \(rank)") }
                guard x.shape[a] == 1 else { throw attributes.shapeError("cannot squeeze axis \(axis) of size \(x.shape[a]) in \(x.shape)") }
                return a
            }
            return x.shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
        case .unsqueeze:
            var axes: [Int]
            if opset >= 13 {
                guard inputs.count > 1, let axesInput = inputs[1], let values = axesInput.constantInts else {
                    throw ONNXError.dataDependentValue(node: attributes.label, detail: "axes input must be constant")
                }
                axes = values.map { Int($0) }
            } else {
                guard let values = try attributes.ints("axes") else { throw attributes.invalid("missing axes attribute") }
                axes = values
            }
            let outputRank = rank + axes.count
            let normalized = try Set(axes.map { axis -> Int in
                let a = axis < 0 ? axis + outputRank : axis
                guard a >= 0, a < outputRank else { throw attributes.invalid("axis \(axis) is out of range for output rank \(outputRank)") }
                return a
            })
            guard normalized.count == axes.count else { throw attributes.invalid("duplicate axes \(axes)") }
            var shape = [Int]()
            var source = x.shape.makeIterator()
            for index in 0..<outputRank { shape.append(normalized.contains(index) ? 1 : (source.next() ?? 1)) }
            return shape
        default:
            return x.shape
        }
    }

    private func planConcat(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        let parts = inputs.compactMap { $0 }
        guard let first = parts.first else { throw attributes.invalid("no inputs") }
        let rank = first.shape.count
        guard let axis = ShapeMath.axis(try attributes.int("axis", default: 0), rank: rank) else {
            throw attributes.invalid("axis is out of range for rank \(rank)")
        }
        var outputShape = first.shape
        outputShape[axis] = 0
        for part in parts {
            var a = part.shape, b = first.shape
            guard a.count == rank else { throw attributes.shapeError("inputs have ranks \(parts.map { $0.shape.count })") }
            a[axis] = 0; b[axis] = 0
            guard a == b else { throw attributes.shapeError("inputs \(parts.map(\.shape)) differ outside axis \(axis)") }
            outputShape[axis] += part.shape[axis]
        }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let sizes = parts.map { $0.shape[axis] * inner }
        if parts.allSatisfy({ $0.type == .int64 && $0.ints != nil }) {
            try ShapeMath.computedCount(outputShape, inputs: inputs, node: attributes.label)
            var result = [Int64]()
            for o in 0..<outer { for (p, part) in parts.enumerated() { if let ints = part.ints { result += ints[(o * sizes[p])..<((o + 1) * sizes[p])] } } }
            return OperatorPlan(outputs: [.constant(outputShape, ints: result)])
        }
        // Omitted optional inputs are not allowed in Concat, so input i maps to pointer i.
        let kernel: OperatorKernel = { inputs, outputs, _ in
            ElementwiseKernel.concatenate(Array(inputs.prefix(sizes.count)), sizes: sizes, outer: outer, output: outputs[0])
        }
        return OperatorPlan(outputs: [.runtime(outputShape, first.type)], kernel: kernel)
    }

    private func planGather(_ x: PlanValue, _ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard inputs.count > 1, let indicesValue = inputs[1] else { throw attributes.invalid("missing indices") }
        guard let rawIndices = indicesValue.constantInts else {
            throw ONNXError.dataDependentValue(node: attributes.label, detail: "Gather indices must be known before running")
        }
        let rank = x.shape.count
        guard let axis = ShapeMath.axis(try attributes.int("axis", default: 0), rank: rank), rank > 0 else {
            throw attributes.invalid("axis is out of range for data of rank \(rank)")
        }
        let size = x.shape[axis]
        let indices = try rawIndices.map { value -> Int in
            let index = Int(value) < 0 ? Int(value) + size : Int(value)
            guard index >= 0, index < size else { throw attributes.shapeError("index \(value) is out of range for axis \(axis) of size \(size)") }
            return index
        }
        let outputShape = Array(x.shape[..<axis]) + indicesValue.shape + Array(x.shape[(axis + 1)...])
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        if let ints = x.ints {
            try ShapeMath.computedCount(outputShape, inputs: inputs, node: attributes.label)
            var result = [Int64]()
            for o in 0..<outer { for index in indices { result += ints[((o * size + index) * inner)..<((o * size + index + 1) * inner)] } }
            return OperatorPlan(outputs: [.constant(outputShape, ints: result)])
        }
        let kernel: OperatorKernel = { inputs, outputs, _ in
            var out = outputs[0]
            for o in 0..<outer {
                for index in indices {
                    out.update(from: inputs[0] + (o * size + index) * inner, count: inner)
                    out += inner
                }
            }
        }
        return OperatorPlan(outputs: [.runtime(outputShape, x.type)], kernel: kernel)
    }

    private func planSlice(_ x: PlanValue, _ inputs: [PlanValue?]) throws -> OperatorPlan {
        let rank = x.shape.count
        var starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?
        if opset < 10 {
            starts = (try attributes.ints("starts") ?? []).map { Int64($0) }
            ends = (try attributes.ints("ends") ?? []).map { Int64($0) }
            axes = try attributes.ints("axes").map { $0.map { Int64($0) } }
            steps = nil
        } else {
            func constant(_ index: Int) throws -> [Int64]? {
                guard inputs.count > index, let value = inputs[index] else { return nil }
                guard let ints = value.constantInts else {
                    throw ONNXError.dataDependentValue(node: attributes.label, detail: "Slice input \(index) must be known before running")
                }
                return ints
            }
            guard let s = try constant(1), let e = try constant(2) else { throw attributes.invalid("missing starts or ends") }
            starts = s; ends = e; axes = try constant(3); steps = try constant(4)
        }
        let axisList = axes ?? (0..<Int64(starts.count)).map { $0 }
        guard starts.count == ends.count, axisList.count == starts.count, (steps?.count ?? starts.count) == starts.count else {
            throw attributes.invalid("starts, ends, axes and steps have different lengths")
        }
        var begin = [Int](repeating: 0, count: rank)
        var step = [Int](repeating: 1, count: rank)
        var outputShape = x.shape
        for (i, rawAxis) in axisList.enumerated() {
            guard let axis = ShapeMath.axis(Int(rawAxis), rank: rank) else { throw attributes.invalid("axis \(rawAxis) is out of range for rank \(rank)") }
            let dim = Int64(x.shape[axis])
            let s = steps?[i] ?? 1
            guard s != 0, s > Int64.min else { throw attributes.invalid("step \(s) on axis \(rawAxis) is not allowed") }
            var start = starts[i], end = ends[i]
            if start < 0 { start += dim }; if end < 0 { end += dim }
            if s > 0 {
                start = min(max(start, 0), dim); end = min(max(end, 0), dim)
                // ceil((end - start) / s) without overflow for steps near Int64.max (fuzz finding).
                outputShape[axis] = end > start ? Int((end - start - 1) / s + 1) : 0
            } else {
                start = min(max(start, -1), dim - 1); end = min(max(end, -1), dim - 1)
                outputShape[axis] = start > end ? Int((start - end - 1) / (-s) + 1) : 0
            }
            begin[axis] = Int(start); step[axis] = Int(s)
        }
        let maps = (0..<rank).map { axis in (0..<outputShape[axis]).map { begin[axis] + $0 * step[axis] } }
        let mapping = try AxisIndexMap(inputShape: x.shape, outputShape: outputShape, maps: maps, node: attributes.label)
        let shape = outputShape
        if let ints = x.ints {
            return OperatorPlan(outputs: [.constant(shape, ints: mapping.gather(ints, fill: 0))])
        }
        let kernel: OperatorKernel = { inputs, outputs, _ in mapping.run(inputs[0], outputs[0], fill: 0) }
        return OperatorPlan(outputs: [.runtime(shape, x.type)], kernel: kernel)
    }

    /// Generic N-D transpose: `dst[perm-indexed] = src`.
    static func transpose<T>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, _ shape: [Int], _ perm: [Int]) {
        let rank = shape.count
        let count = shape.reduce(1, *)
        guard rank > 0 else { if count == 1 { dst.initialize(to: src.pointee) }; return }
        let inStrides = ShapeMath.strides(shape)
        let outShape = perm.map { shape[$0] }
        let readStrides = perm.map { inStrides[$0] }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        let innerCount = outShape[rank - 1], innerStride = readStrides[rank - 1]
        var flat = 0
        while flat < count {
            for i in 0..<innerCount { dst[flat + i] = src[offset + i * innerStride] }
            flat += innerCount
            var d = rank - 2
            while d >= 0 {
                index[d] += 1; offset += readStrides[d]
                if index[d] < outShape[d] { break }
                offset -= readStrides[d] * outShape[d]; index[d] = 0; d -= 1
            }
            if d < 0 { break }
        }
    }
}

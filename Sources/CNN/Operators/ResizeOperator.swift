import Foundation

/// Resize (opset 10+) and Upsample (opset 7-9) on NCHW-style tensors.
///
/// `nearest` works on any axes with the coordinate modes half_pixel, pytorch_half_pixel,
/// align_corners, asymmetric, tf_half_pixel_for_nn and half_pixel_symmetric and the nearest
/// modes round_prefer_floor/ceil, floor, ceil. `linear` on the last two axes runs the bilinear
/// loop; `cubic` (`cubic_coeff_a`, `exclude_outside`), `antialias`, `tf_crop_and_resize`
/// (`roi`, `extrapolation_value`) and linear resizes of other axes run one separable pass per
/// resized axis, innermost first (ONNX's reference order).
struct ResizeOperator: GraphOperator {
    let attributes: NodeAttributes
    let opset: Int
    let isUpsample: Bool

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input") }
        let rank = x.shape.count
        var scales: [Float]?
        var sizes: [Int]?
        func constantInput(_ index: Int) -> PlanValue? { inputs.count > index ? inputs[index] : nil }
        if isUpsample && opset < 9 {
            scales = try attributes.floats("scales")
        } else if isUpsample || opset == 10 {
            guard let s = constantInput(1) else { throw attributes.invalid("missing scales input") }
            guard let values = s.constantFloats else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "scales must be known before running") }
            scales = values
        } else {
            if let s = constantInput(2), s.count > 0 {
                guard let values = s.constantFloats else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "scales must be known before running") }
                scales = values
            }
            if let z = constantInput(3), z.count > 0 {
                guard let values = z.constantInts else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "sizes must be known before running") }
                sizes = values.map { Int($0) }
            }
        }
        var selectedAxes = Array(0..<rank)
        if let axes = try attributes.ints("axes") {
            // Opset 18+: scales/sizes list only these axes; the others keep their size.
            let normalized = try axes.map { axis -> Int in
                guard let a = ShapeMath.axis(axis, rank: rank) else { throw attributes.invalid("axis \(axis) is out of range for rank \(rank)") }
                return a
            }
            selectedAxes = normalized
            if let given = scales {
                guard given.count == normalized.count else { throw attributes.shapeError("scales \(given) need one entry per axis in \(axes)") }
                var full = [Float](repeating: 1, count: rank)
                for (i, axis) in normalized.enumerated() { full[axis] = given[i] }
                scales = full
            }
            if let given = sizes {
                guard given.count == normalized.count else { throw attributes.shapeError("sizes \(given) need one entry per axis in \(axes)") }
                var full = x.shape
                for (i, axis) in normalized.enumerated() { full[axis] = given[i] }
                sizes = full
            }
        }
        var outputShape = x.shape
        var axisScales = [Float](repeating: 1, count: rank)
        // Opset 18: sizes may keep the aspect ratio, one scale for every selected axis.
        let policy = opset >= 18 && sizes != nil ? try attributes.string("keep_aspect_ratio_policy", default: "stretch") : "stretch"
        guard ["stretch", "not_larger", "not_smaller"].contains(policy) else {
            throw attributes.invalid("keep_aspect_ratio_policy \(policy) is not defined; use stretch, not_larger or not_smaller")
        }
        if var given = sizes, policy != "stretch", given.count == rank, selectedAxes.allSatisfy({ x.shape[$0] > 0 }) {
            let ratios = selectedAxes.map { Float(given[$0]) / Float(x.shape[$0]) }
            let scale = (policy == "not_larger" ? ratios.min() : ratios.max()) ?? 1
            for axis in selectedAxes {
                given[axis] = Int(saturating: (scale * Float(x.shape[axis]) + 0.5).rounded(.down))
                axisScales[axis] = scale
            }
            guard ShapeMath.checkedCount(given) != nil else { throw attributes.shapeError("sizes \(given) are too large") }
            outputShape = given
        } else if let sizes {
            guard sizes.count == rank, ShapeMath.checkedCount(sizes) != nil else { throw attributes.shapeError("sizes \(sizes) need \(rank) non-negative entries of a reasonable size") }
            outputShape = sizes
            for axis in 0..<rank { axisScales[axis] = x.shape[axis] > 0 ? Float(sizes[axis]) / Float(x.shape[axis]) : 1 }
        } else if let scales {
            guard scales.count == rank, scales.allSatisfy({ $0 > 0 && $0 < 65536 }) else { throw attributes.shapeError("scales \(scales) need \(rank) positive entries below 65536") }
            axisScales = scales
            for axis in 0..<rank { outputShape[axis] = Int(saturating: (Float(x.shape[axis]) * scales[axis]).rounded(.down)) }
        } else {
            throw attributes.invalid("neither scales nor sizes is given")
        }
        guard ShapeMath.checkedCount(outputShape) != nil else {
            throw attributes.shapeError("output shape \(outputShape) is invalid or too large")
        }
        let mode = try attributes.string("mode", default: "nearest")
        let legacy = isUpsample || opset < 11
        let coordinateMode = legacy ? "asymmetric" : try attributes.string("coordinate_transformation_mode", default: "half_pixel")
        let nearestMode = legacy ? "simple" : try attributes.string("nearest_mode", default: "round_prefer_floor")
        guard ResizeKernel.coordinateTransformations.contains(coordinateMode) else { throw attributes.invalid("coordinate_transformation_mode \(coordinateMode) is not supported") }

        let count = outputShape.reduce(1, *)
        switch mode {
        case "nearest":
            let maps = (0..<rank).map { axis in
                ResizeKernel.nearestIndices(coordinateTransformation: coordinateMode, nearestMode: nearestMode, scale: axisScales[axis],
                                            inputSize: x.shape[axis], outputSize: outputShape[axis])
            }
            let mapping = try AxisIndexMap(inputShape: x.shape, outputShape: outputShape, maps: maps, node: attributes.label)
            let kernel: OperatorKernel = { inputs, outputs, _ in mapping.run(inputs[0], outputs[0], fill: 0) }
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel)
        case "linear", "bilinear", "cubic":
            let cubic = mode == "cubic"
            let antialias = try opset >= 18 && attributes.int("antialias", default: 0) != 0
            let excludeOutside = try !legacy && attributes.int("exclude_outside", default: 0) != 0
            let spatialAxes = rank >= 4 ? [rank - 2, rank - 1] : [max(0, rank - 1)]
            let otherAxesResized = (0..<rank).contains { !spatialAxes.contains($0) && outputShape[$0] != x.shape[$0] }
            if !cubic, !antialias, coordinateMode != "tf_crop_and_resize", !otherAxesResized, rank >= 2 {
                func table(_ axis: Int) -> [ResizeKernel.LinearTap] {
                    ResizeKernel.linearTaps(coordinateTransformation: coordinateMode, scale: axisScales[axis],
                                            inputSize: x.shape[axis], outputSize: outputShape[axis])
                }
                let hTable = spatialAxes.count == 2 ? table(rank - 2) : [ResizeKernel.LinearTap(low: 0, high: 0, weight: 0)]
                let wTable = table(rank - 1)
                let inH = spatialAxes.count == 2 ? x.shape[rank - 2] : 1, inW = x.shape[rank - 1]
                let planes = x.shape.dropLast(spatialAxes.count).reduce(1, *)
                let kernel: OperatorKernel = { inputs, outputs, _ in
                    ResizeKernel.bilinear(input: inputs[0], planes: planes, inputHeight: inH, inputWidth: inW,
                                          rows: hTable, columns: wTable, output: outputs[0])
                }
                return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, flops: 8 * count)
            }
            // tf_crop_and_resize: roi lists [starts..., ends...] over the selected axes.
            var regions = [(start: Float, end: Float)](repeating: (0, 1), count: rank)
            if coordinateMode == "tf_crop_and_resize" {
                guard let r = constantInput(1), r.count > 0 else { throw attributes.invalid("tf_crop_and_resize needs the roi input") }
                guard let roi = r.constantFloats else { throw ONNXError.dataDependentValue(node: attributes.label, detail: "roi must be known before running") }
                guard roi.count == 2 * selectedAxes.count else { throw attributes.shapeError("roi \(roi) needs a start and an end per axis") }
                for (i, axis) in selectedAxes.enumerated() { regions[axis] = (roi[i], roi[i + selectedAxes.count]) }
            }
            let a = try attributes.float("cubic_coeff_a", default: -0.75)
            let extrapolation = try attributes.float("extrapolation_value", default: 0)
            // One pass per axis that changes, innermost first; each pass reads the previous one's shape.
            var passes: [(axis: Int, outer: Int, inSize: Int, inner: Int, taps: ResizeKernel.ResampleTaps)] = []
            var shape = x.shape
            for axis in (0..<rank).reversed() {
                let cropped = coordinateMode == "tf_crop_and_resize" && (regions[axis].start != 0 || regions[axis].end != 1)
                guard outputShape[axis] != x.shape[axis] || axisScales[axis] != 1 || cropped else { continue }
                let taps = ResizeKernel.resampleTaps(cubic ? .cubic(a: a) : .linear, antialias: antialias, excludeOutside: excludeOutside,
                                                     coordinateTransformation: coordinateMode, scale: axisScales[axis],
                                                     inputSize: x.shape[axis], outputSize: outputShape[axis], region: regions[axis])
                passes.append((axis, shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *), taps))
                shape[axis] = outputShape[axis]
            }
            // Intermediate results alternate between two scratch halves; the last pass writes the output.
            var largest = 0
            var passShape = x.shape
            for pass in passes.dropLast() {
                passShape[pass.axis] = outputShape[pass.axis]
                largest = max(largest, ShapeMath.checkedCount(passShape) ?? Int.max)
            }
            guard largest < Int.max / 2 else { throw attributes.shapeError("intermediate shape is too large") }
            let total = x.shape.reduce(1, *)
            let plannedPasses = passes, half = largest
            let kernel: OperatorKernel = { inputs, outputs, scratch in
                guard !plannedPasses.isEmpty else {
                    outputs[0].update(from: inputs[0], count: total)
                    return
                }
                var source = inputs[0]
                for (index, pass) in plannedPasses.enumerated() {
                    let target = index == plannedPasses.count - 1 ? outputs[0] : scratch + (index % 2) * half
                    ResizeKernel.resample(input: source, outer: pass.outer, inputSize: pass.inSize, inner: pass.inner, taps: pass.taps,
                                          extrapolation: extrapolation, output: target)
                    source = UnsafePointer(target)
                }
            }
            let taps = passes.map(\.taps.count).reduce(0, +)
            return OperatorPlan(outputs: [.runtime(outputShape)], kernel: kernel, scratchCount: 2 * largest, flops: 2 * max(1, taps) * count)
        default:
            throw attributes.invalid("mode \(mode) is not defined (use nearest, linear or cubic)")
        }
    }
}

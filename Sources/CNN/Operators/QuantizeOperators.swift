import Foundation

/// The integer range a quantized value saturates to.
struct QuantizedRange: Sendable, Equatable {
    var low: Float
    var high: Float
    /// Whether the ONNX element type is signed (INT8, INT16).
    var signed: Bool

    static let uint8 = QuantizedRange(low: 0, high: 255, signed: false)
    static let int8 = QuantizedRange(low: -128, high: 127, signed: true)
    static let uint16 = QuantizedRange(low: 0, high: 65535, signed: false)
    static let int16 = QuantizedRange(low: -32768, high: 32767, signed: true)

    /// 8-bit types, the ones the int8 kernels take.
    var isEightBit: Bool { high - low == 255 }

    /// The range of an ONNX element type (UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5), nil for
    /// other types.
    static func of(dataType: Int32) -> QuantizedRange? {
        switch dataType {
        case ONNXTensor.DataType.uint8.rawValue: return .uint8
        case ONNXTensor.DataType.int8.rawValue: return .int8
        case ONNXTensor.DataType.uint16.rawValue: return .uint16
        case ONNXTensor.DataType.int16.rawValue: return .int16
        default: return nil
        }
    }

    /// Name of the attribute the optimizer writes on QuantizeLinear nodes: the ONNX element type
    /// of the output (taken from the zero point's initializer, or `output_dtype`).
    static let attributeName = "landcover_output_type"
}

/// Quantization on the float engine (the reference semantics of a QDQ graph): QuantizeLinear
/// (`y = saturate(round(x / scale) + zero)`, round half to even), DequantizeLinear
/// (`y = (x - zero) * scale`) and DynamicQuantizeLinear (uint8, scale and zero point from the
/// tensor's range, ONNX formula). Quantized values are held as Float numbers of the integers
/// (exact for 8- and 32-bit integers up to 2^24). Scales and zero points are scalars (per
/// tensor) or 1-D along `axis` (per channel, default axis 1); they must be constants.
struct QuantizeOperator: GraphOperator {
    enum Kind: Sendable { case quantize, dequantize }
    let kind: Kind
    let attributes: NodeAttributes
    let range: QuantizedRange

    init(kind: Kind, attributes: NodeAttributes) throws {
        self.kind = kind
        self.attributes = attributes
        if kind == .quantize {
            if try attributes.int("block_size", default: 0) != 0 {
                throw attributes.invalid("blocked quantization (block_size) is not supported")
            }
            let type = try attributes.int(QuantizedRange.attributeName,
                                          default: try attributes.int("output_dtype", default: Int(ONNXTensor.DataType.uint8.rawValue)))
            guard let range = QuantizedRange.of(dataType: Int32(clamping: type)) else {
                throw attributes.invalid("quantized element type \(type) is not supported (UINT8, INT8, UINT16 or INT16)")
            }
            self.range = range
        } else {
            self.range = .uint8
        }
    }

    /// Per-element scale and zero point, expanded along `axis`.
    static func parameters(_ inputs: [PlanValue?], shape: [Int], attributes: NodeAttributes) throws
        -> (scales: [Float], zeros: [Float], axis: Int, perChannel: Bool) {
        guard inputs.count > 1, let scale = inputs[1], let scales = scale.constantFloats, !scales.isEmpty else {
            throw ONNXError.dataDependentValue(node: attributes.label, detail: "the scale must be a constant")
        }
        var zeros = [Float](repeating: 0, count: scales.count)
        if inputs.count > 2, let zero = inputs[2] {
            guard let values = zero.constantFloats, values.count == scales.count else {
                throw ONNXError.dataDependentValue(node: attributes.label, detail: "the zero point must be a constant shaped like the scale")
            }
            zeros = values
        }
        if scales.count == 1 && scale.shape.count <= 1 { return (scales, zeros, 0, false) }
        var axis = try attributes.int("axis", default: 1)
        if axis < 0 { axis += shape.count }
        guard scale.shape.count == 1, axis >= 0, axis < shape.count, shape[axis] == scales.count else {
            throw attributes.shapeError("scale \(scale.shape) does not match axis \(axis) of input \(shape)")
        }
        return (scales, zeros, axis, true)
    }

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input x") }
        let (scales, zeros, axis, perChannel) = try Self.parameters(inputs, shape: x.shape, attributes: attributes)
        let validScales = kind == .quantize ? scales.allSatisfy { $0.isFinite && $0 > 0 } : scales.allSatisfy(\.isFinite)
        guard validScales else {
            throw attributes.invalid("scales must be finite and (to quantize) positive")
        }
        let inner = perChannel ? x.shape[(axis + 1)...].reduce(1, *) : x.count
        let channels = perChannel ? scales.count : 1
        let count = x.count
        let kind = self.kind, range = self.range
        let apply: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void = { input, output in
            var index = 0
            while index < count {
                let channel = (index / inner) % channels
                let scale = scales[channel], zero = zeros[channel]
                let end = Swift.min(count, index + inner)
                if kind == .quantize {
                    for i in index..<end { output[i] = QuantizeOperator.quantize(input[i], scale: scale, zero: zero, range: range) }
                } else {
                    for i in index..<end { output[i] = (input[i] - zero) * scale }
                }
                index = end
            }
        }
        if let values = x.constantFloats {
            // Load-time folding (weights stored as integers): evaluate now.
            var result = [Float](repeating: 0, count: count)
            values.withUnsafeBufferPointer { source in
                result.withUnsafeMutableBufferPointer { target in
                    if let input = source.baseAddress, let output = target.baseAddress { apply(input, output) }
                }
            }
            return OperatorPlan(outputs: [.constant(x.shape, floats: result)])
        }
        let kernel: OperatorKernel = { inputs, outputs, _ in apply(inputs[0], outputs[0]) }
        return OperatorPlan(outputs: [.runtime(x.shape)], kernel: kernel, flops: 2 * count)
    }

    /// saturate(round_half_even(x / scale) + zero); NaN quantizes to the zero point.
    @inline(__always)
    static func quantize(_ x: Float, scale: Float, zero: Float, range: QuantizedRange) -> Float {
        let q = (x / scale).rounded(.toNearestOrEven) + zero
        if q.isNaN { return Swift.min(Swift.max(zero, range.low), range.high) }
        return Swift.min(Swift.max(q, range.low), range.high)
    }
}

/// DynamicQuantizeLinear: uint8 quantization with scale = (max(0, max x) - min(0, min x)) / 255
/// and zero point = saturate(round(-min(0, min x) / scale)); outputs y, y_scale, y_zero_point.
struct DynamicQuantizeOperator: GraphOperator {
    let attributes: NodeAttributes

    func plan(_ inputs: [PlanValue?]) throws -> OperatorPlan {
        guard let x = inputs.first ?? nil else { throw attributes.invalid("missing input x") }
        let count = x.count
        let kernel: OperatorKernel = { inputs, outputs, _ in
            var low: Float = 0, high: Float = 0
            for i in 0..<count where !inputs[0][i].isNaN {
                low = Swift.min(low, inputs[0][i]); high = Swift.max(high, inputs[0][i])
            }
            var scale = (high - low) / 255
            if !(scale > 0) || !scale.isFinite { scale = 1 }
            let zero = Swift.min(Swift.max((-low / scale).rounded(.toNearestOrEven), 0), 255)
            for i in 0..<count {
                outputs[0][i] = QuantizeOperator.quantize(inputs[0][i], scale: scale, zero: zero, range: .uint8)
            }
            outputs[1][0] = scale
            outputs[2][0] = zero
        }
        return OperatorPlan(outputs: [.runtime(x.shape), .runtime([]), .runtime([])], kernel: kernel, flops: 3 * count)
    }
}

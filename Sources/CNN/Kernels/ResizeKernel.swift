/// The arithmetic of ONNX `Resize`: where an output coordinate samples the input (per
/// `coordinate_transformation_mode`), the nearest input index (per `nearest_mode`), the two taps
/// and weight of linear interpolation, and the bilinear and nearest loops over NCHW planes.
///
/// The engine's `Resize`/`Upsample` operator and Training's Resize layer (whose backward pass
/// scatters gradients with the same tables) both use it, so a trained model's forward pass is the
/// inference engine's. Coordinates are pixel indices along one axis; planes are row-major
/// `[height][width]` Float32.
public enum ResizeKernel {
    /// `coordinate_transformation_mode` values implemented.
    public static let coordinateTransformations = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                                   "tf_half_pixel_for_nn", "half_pixel_symmetric", "tf_crop_and_resize"]
    /// `nearest_mode` values implemented, and `simple` (Upsample and opset 10: floor when
    /// upsampling, ceil when downsampling).
    public static let nearestModes = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"]

    /// Input coordinate sampled by output index `index` along an axis of `inputSize` input and
    /// `outputSize` output elements with `scale` (output / input).
    public static func sourceCoordinate(_ index: Int, coordinateTransformation: String, scale: Float,
                                        inputSize: Int, outputSize: Int) -> Float {
        let inSize = Float(inputSize), outSize = Float(outputSize)
        let x = Float(index)
        switch coordinateTransformation {
        case "half_pixel": return (x + 0.5) / scale - 0.5
        case "pytorch_half_pixel": return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0
        case "align_corners":
            // The resized length is `scale * inputSize`, not rounded (as ONNX's reference does
            // when scales are given; with sizes it is the output size).
            let length = scale * inSize
            return length == 1 ? 0 : x * (inSize - 1) / (length - 1)
        case "tf_half_pixel_for_nn": return (x + 0.5) / scale
        case "half_pixel_symmetric":
            let adjustment = outSize / (scale * inSize)
            let center = inSize / 2
            return center * (1 - adjustment) + (x + 0.5) / scale - 0.5
        default: return x / scale
        }
    }

    /// The input index each of `outputSize` output indices copies (nearest mode), clamped to
    /// `0 ..< inputSize`.
    public static func nearestIndices(coordinateTransformation: String, nearestMode: String, scale: Float,
                                      inputSize: Int, outputSize: Int) -> [Int] {
        (0..<outputSize).map { o in
            // Clamped first so that extreme scales cannot overflow the conversion.
            let value = min(max(sourceCoordinate(o, coordinateTransformation: coordinateTransformation, scale: scale,
                                                 inputSize: inputSize, outputSize: outputSize), -2), Float(inputSize + 1))
            var index: Int
            switch nearestMode {
            case "round_prefer_ceil": index = Int(saturating: value.rounded(.toNearestOrAwayFromZero))
                if value < 0 && value == value.rounded(.down) + 0.5 { index = Int(saturating: value.rounded(.up)) }
            case "floor": index = Int(saturating: value.rounded(.down))
            case "ceil": index = Int(saturating: value.rounded(.up))
            case "simple": index = scale < 1 ? Int(saturating: value.rounded(.up)) : Int(saturating: value.rounded(.down))
            default:
                index = value == value.rounded(.down) + 0.5 ? Int(saturating: value.rounded(.down)) : Int(saturating: value.rounded(.toNearestOrAwayFromZero))
            }
            return min(max(index, 0), max(inputSize - 1, 0))
        }
    }

    /// One output index of linear interpolation: `(1 - weight) * input[low] + weight * input[high]`.
    public struct LinearTap: Sendable, Equatable {
        /// Lower input index.
        public var low: Int
        /// Upper input index (`low + 1`, or `low` at the last input index).
        public var high: Int
        /// Weight of `high`, in [0, 1).
        public var weight: Float
    }

    /// The taps of `outputSize` output indices (source coordinates clamped to the input).
    public static func linearTaps(coordinateTransformation: String, scale: Float, inputSize: Int, outputSize: Int) -> [LinearTap] {
        (0..<outputSize).map { o in
            let value = min(max(sourceCoordinate(o, coordinateTransformation: coordinateTransformation, scale: scale,
                                                 inputSize: inputSize, outputSize: outputSize), 0), Float(inputSize - 1))
            let low = min(Int(saturating: value), inputSize - 1)
            return LinearTap(low: low, high: min(low + 1, inputSize - 1), weight: value - Float(low))
        }
    }

    /// Bilinear interpolation of `planes` planes of `inputHeight x inputWidth` into
    /// `rows.count x columns.count` planes: rows first, then columns, per output element
    /// `top * (1 - wy) + bottom * wy` with `top`/`bottom` interpolated along the row.
    public static func bilinear(input: UnsafePointer<Float>, planes: Int, inputHeight: Int, inputWidth: Int,
                                rows: [LinearTap], columns: [LinearTap], output: UnsafeMutablePointer<Float>) {
        let outH = rows.count, outW = columns.count
        for plane in 0..<planes {
            let src = input + plane * inputHeight * inputWidth
            let dst = output + plane * outH * outW
            for oh in 0..<outH {
                let h0 = rows[oh].low, h1 = rows[oh].high, dy = rows[oh].weight
                for ow in 0..<outW {
                    let w0 = columns[ow].low, w1 = columns[ow].high, dx = columns[ow].weight
                    let top = src[h0 * inputWidth + w0] * (1 - dx) + src[h0 * inputWidth + w1] * dx
                    let bottom = src[h1 * inputWidth + w0] * (1 - dx) + src[h1 * inputWidth + w1] * dx
                    dst[oh * outW + ow] = top * (1 - dy) + bottom * dy
                }
            }
        }
    }

    /// Nearest resize of `planes` planes of `inputHeight x inputWidth`: output `(oh, ow)` copies
    /// input `(rows[oh], columns[ow])`.
    public static func nearest(input: UnsafePointer<Float>, planes: Int, inputHeight: Int, inputWidth: Int,
                               rows: [Int], columns: [Int], output: UnsafeMutablePointer<Float>) {
        // The caller's tensors are already allocated at these sizes: the row and column tables are
        // as long as the output's sides, so no size here comes from an unchecked header.
        let outputHeight = rows.count, outputWidth = columns.count
        for plane in 0..<planes {
            let source = input + plane * inputHeight * inputWidth
            let target = output + plane * outputHeight * outputWidth
            for (oh, row) in rows.enumerated() {
                let sourceRow = source + row * inputWidth, targetRow = target + oh * outputWidth
                for (ow, column) in columns.enumerated() { targetRow[ow] = sourceRow[column] }
            }
        }
    }

    /// The interpolation of a separable resample (``resampleTaps(_:antialias:excludeOutside:coordinateTransformation:scale:inputSize:outputSize:region:)``).
    public enum Interpolation: Sendable, Equatable {
        /// Linear (tent) weights.
        case linear
        /// Cubic convolution (Keys) with coefficient `a` (ONNX `cubic_coeff_a`, default -0.75).
        case cubic(a: Float)
    }

    /// The input samples of every output index along one axis: `count` taps per output index,
    /// input indices already clamped to the input (edge padding) and weights summing to 1; an
    /// output index in `outside` takes the extrapolation value instead (`tf_crop_and_resize`).
    public struct ResampleTaps: Sendable, Equatable {
        /// Taps per output index.
        public var count: Int
        /// `outputSize * count` input indices.
        public var indices: [Int]
        /// `outputSize * count` weights.
        public var weights: [Float]
        /// Output indices whose source coordinate lies outside the input.
        public var outside: [Bool]
    }

    /// The taps of ONNX Resize's `linear` and `cubic` modes along one axis, with `antialias`
    /// (when downsampling, the kernel is stretched by 1 / scale and renormalized) and
    /// `exclude_outside` (taps outside the input get weight 0 and the rest are renormalized).
    /// `region` is the normalized `[start, end]` of `tf_crop_and_resize` (its `roi`). The weights
    /// follow the ONNX reference: the source coordinate `x`, the input index `base = ceil(x) - 1`
    /// left of it and `ratio = x - base` in (0, 1], taps at `base + i` weighted by the kernel
    /// at `scale' * (i - ratio)` with `scale' = min(scale, 1)` under antialias, else 1.
    public static func resampleTaps(_ interpolation: Interpolation, antialias: Bool, excludeOutside: Bool,
                                    coordinateTransformation: String, scale: Float, inputSize: Int, outputSize: Int,
                                    region: (start: Float, end: Float)? = nil) -> ResampleTaps {
        let stretch: Float = antialias ? min(scale, 1) : 1
        let support: Float
        switch interpolation {
        case .linear: support = 1
        case .cubic: support = 2
        }
        // Taps i in start ..< start + count around base: the kernel's support, stretched.
        let start = Int((-support / stretch).rounded(.down)) + 1
        let count = 2 * (1 - start)
        func kernel(_ t: Float) -> Float {
            let x = abs(t)
            switch interpolation {
            case .linear: return max(0, 1 - x)
            case .cubic(let a):
                if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
                return 0
            }
        }
        let pad = (count + 1) / 2
        var taps = ResampleTaps(count: count, indices: [Int](repeating: 0, count: outputSize * count),
                                weights: [Float](repeating: 0, count: outputSize * count), outside: [Bool](repeating: false, count: outputSize))
        let inLength = Float(inputSize)
        for o in 0..<outputSize {
            var x: Float
            if coordinateTransformation == "tf_crop_and_resize", let region {
                x = outputSize > 1
                    ? region.start * (inLength - 1) + Float(o) * (region.end - region.start) * (inLength - 1) / Float(outputSize - 1)
                    : 0.5 * (region.start + region.end) * (inLength - 1)
                if x < 0 || x > inLength - 1 { taps.outside[o] = true; continue }
            } else {
                x = sourceCoordinate(o, coordinateTransformation: coordinateTransformation, scale: scale, inputSize: inputSize, outputSize: outputSize)
            }
            // Far outside the input every tap clamps to the edge anyway.
            x = min(max(x, -Float(pad) - 2), inLength + Float(pad) + 2)
            var base = Int(x.rounded(.up)) - 1
            let ratio = x - Float(base)
            // The reference picks the `count` indices nearest x among -pad ..< inputSize + pad.
            base = min(max(base, -pad - start), inputSize + pad - start - count)
            var sum: Float = 0
            for i in 0..<count {
                let index = base + start + i
                var weight = kernel(stretch * (Float(start + i) - ratio))
                if excludeOutside && (index < 0 || index >= inputSize) { weight = 0 }
                taps.indices[o * count + i] = min(max(index, 0), inputSize - 1)
                taps.weights[o * count + i] = weight
                sum += weight
            }
            if sum != 0 {
                for i in 0..<count { taps.weights[o * count + i] /= sum }
            }
        }
        return taps
    }

    /// Resamples the middle axis of `[outer, inputSize, inner]` into `[outer, taps.outside.count,
    /// inner]`: each output element is the weighted sum of its taps, or `extrapolation` for an
    /// output index outside the input.
    public static func resample(input: UnsafePointer<Float>, outer: Int, inputSize: Int, inner: Int, taps: ResampleTaps,
                                extrapolation: Float, output: UnsafeMutablePointer<Float>) {
        let outputSize = taps.outside.count, n = taps.count
        taps.indices.withUnsafeBufferPointer { indexBuffer in
            taps.weights.withUnsafeBufferPointer { weightBuffer in
                guard let indices = indexBuffer.baseAddress, let weights = weightBuffer.baseAddress else { return }
                for o in 0..<outer {
                    let source = input + o * inputSize * inner
                    for j in 0..<outputSize {
                        let target = output + (o * outputSize + j) * inner
                        if taps.outside[j] {
                            target.update(repeating: extrapolation, count: inner)
                            continue
                        }
                        target.update(repeating: 0, count: inner)
                        for t in 0..<n {
                            let weight = weights[j * n + t]
                            if weight == 0 { continue }
                            let row = source + indices[j * n + t] * inner
                            for i in 0..<inner { target[i] += weight * row[i] }
                        }
                    }
                }
            }
        }
    }
}


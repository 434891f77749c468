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
                                                   "tf_half_pixel_for_nn", "half_pixel_symmetric"]
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
        case "align_corners": return outSize == 1 ? 0 : x * (inSize - 1) / (outSize - 1)
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
}

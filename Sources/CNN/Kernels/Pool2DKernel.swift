/// Pooling kernels on NCHW Float32 planes: max, average and global average.
///
/// Every function works on `planes` independent `[height, width]` planes (`planes = N * C` of an
/// NCHW tensor) and writes `[planes, outputHeight, outputWidth]`. Output sizes are passed in, so
/// callers decide `ceil_mode`; windows are clipped to the input, padded cells never win a max
/// (NaN inputs do propagate) and count toward an average only with `countIncludePad`.
/// Each output row is reduced tap by tap, taps in row-major order, so results are deterministic
/// and independent of the number of planes. Single-threaded.
///
/// ### See Also
/// - ``Conv2DShape`` (the same geometry fields; `inputChannels`, `outputChannels` and `groups`
///   are ignored)
public enum Pool2DKernel {
    /// Max pooling.
    ///
    /// - Parameters:
    ///   - shape: window geometry (kernel, stride, dilation, pads); channel fields are ignored.
    ///   - input: `[planes, height, width]`.
    ///   - output: `[planes, outputHeight, outputWidth]`.
    public static func maxPool(shape: Conv2DShape, input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                               output: UnsafeMutablePointer<Float>, outputHeight: Int, outputWidth: Int) {
        for plane in 0..<planes {
            let source = input + plane * height * width
            let target = output + plane * outputHeight * outputWidth
            for outputRow in 0..<outputHeight {
                let row = target + outputRow * outputWidth
                row.update(repeating: -.infinity, count: outputWidth)
                forEachTap(shape: shape, outputRow: outputRow, height: height, width: width,
                           outputWidth: outputWidth) { inputRow, first, last, offset in
                    let line = source + inputRow * width + offset
                    if shape.strideWidth == 1 {
                        for column in first..<last {
                            let value = line[column]
                            let best = row[column]
                            row[column] = (value > best || value != value) ? value : best
                        }
                    } else {
                        let stride = shape.strideWidth
                        for column in first..<last {
                            let value = line[column * stride]
                            let best = row[column]
                            row[column] = (value > best || value != value) ? value : best
                        }
                    }
                }
            }
        }
    }

    /// Average pooling. The divisor is the number of window cells inside the input, or with
    /// `countIncludePad` inside the input plus its explicit pads.
    ///
    /// - Parameters:
    ///   - input: `[planes, height, width]`.
    ///   - output: `[planes, outputHeight, outputWidth]`.
    public static func averagePool(shape: Conv2DShape, countIncludePad: Bool, input: UnsafePointer<Float>,
                                   planes: Int, height: Int, width: Int,
                                   output: UnsafeMutablePointer<Float>, outputHeight: Int, outputWidth: Int) {
        let effectiveHeight = (shape.kernelHeight - 1) * shape.dilationHeight + 1
        let effectiveWidth = (shape.kernelWidth - 1) * shape.dilationWidth + 1
        for plane in 0..<planes {
            let source = input + plane * height * width
            let target = output + plane * outputHeight * outputWidth
            for outputRow in 0..<outputHeight {
                let row = target + outputRow * outputWidth
                row.update(repeating: 0, count: outputWidth)
                forEachTap(shape: shape, outputRow: outputRow, height: height, width: width,
                           outputWidth: outputWidth) { inputRow, first, last, offset in
                    let line = source + inputRow * width + offset
                    let stride = shape.strideWidth
                    for column in first..<last { row[column] += line[column * stride] }
                }
                let top = outputRow * shape.strideHeight - shape.padTop
                for column in 0..<outputWidth {
                    let left = column * shape.strideWidth - shape.padLeft
                    let divisor: Int
                    if countIncludePad {
                        let rowStart = max(top, -shape.padTop), rowEnd = min(top + effectiveHeight, height + shape.padBottom)
                        let columnStart = max(left, -shape.padLeft)
                        let columnEnd = min(left + effectiveWidth, width + shape.padRight)
                        divisor = ((rowEnd - rowStart + shape.dilationHeight - 1) / shape.dilationHeight)
                            * ((columnEnd - columnStart + shape.dilationWidth - 1) / shape.dilationWidth)
                    } else {
                        divisor = validTaps(start: top, size: height, kernel: shape.kernelHeight,
                                            dilation: shape.dilationHeight)
                            * validTaps(start: left, size: width, kernel: shape.kernelWidth,
                                        dilation: shape.dilationWidth)
                    }
                    row[column] = divisor > 0 ? row[column] / Float(divisor) : 0
                }
            }
        }
    }

    /// Global average pooling: `output[plane] = mean(input[plane, 0 ..< size])`, summed in
    /// 16 interleaved lanes (lane `i` takes elements `i, i + 16, ...`), then the lanes in order.
    public static func globalAveragePool(input: UnsafePointer<Float>, planes: Int, size: Int,
                                         output: UnsafeMutablePointer<Float>) {
        for plane in 0..<planes {
            let source = input + plane * size
            var lanes = SIMD16<Float>()
            var index = 0
            while index + 16 <= size {
                lanes += UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<Float>.self)
                index += 16
            }
            var sum: Float = 0
            for lane in 0..<16 { sum += lanes[lane] }
            while index < size {
                sum += source[index]
                index += 1
            }
            output[plane] = sum / Float(size)
        }
    }

    /// Number of taps `start + i * dilation` (i < kernel) inside `0 ..< size`.
    private static func validTaps(start: Int, size: Int, kernel: Int, dilation: Int) -> Int {
        var count = 0
        for tap in 0..<kernel where start + tap * dilation >= 0 && start + tap * dilation < size { count += 1 }
        return count
    }

    /// Calls `body(inputRow, firstColumn, lastColumn, columnOffset)` for every window tap of output
    /// row `outputRow` that lands in the input, taps in row-major order; output columns
    /// `firstColumn ..< lastColumn` read input column `column * strideWidth + columnOffset`.
    @inline(__always)
    private static func forEachTap(shape: Conv2DShape, outputRow: Int, height: Int, width: Int, outputWidth: Int,
                                   _ body: (Int, Int, Int, Int) -> Void) {
        for kernelRow in 0..<shape.kernelHeight {
            let inputRow = outputRow * shape.strideHeight - shape.padTop + kernelRow * shape.dilationHeight
            if inputRow < 0 || inputRow >= height { continue }
            for kernelColumn in 0..<shape.kernelWidth {
                let offset = kernelColumn * shape.dilationWidth - shape.padLeft
                let first = max(0, (-offset + shape.strideWidth - 1) / shape.strideWidth)
                let last = width - 1 - offset < 0 ? 0 : min(outputWidth, (width - 1 - offset) / shape.strideWidth + 1)
                if first < last { body(inputRow, first, last, offset) }
            }
        }
    }
}

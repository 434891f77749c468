/// im2col packing of NCHW input into the column panels the ``MicroKernel`` reads.
///
/// Pixels are numbered across the images of a chunk: `pixel = image * pixels + row * outputWidth
/// + column`. The reduction index is `k = (channel * kernelHeight + kernelRow) * kernelWidth +
/// kernelColumn`. The packed block is `[pixelPanel][depth][32]`: for each 32-pixel panel and each
/// reduction step of the block, 32 consecutive floats (zero where the tap falls in the padding or
/// past the last pixel).
struct PackGeometry {
    var height: Int
    var width: Int
    var outputWidth: Int
    /// Output pixels per image.
    var pixels: Int
    /// Floats between consecutive images of the input.
    var inputImageStride: Int
    /// Floats between consecutive channels of the input.
    var planeStride: Int
    var kernelHeight: Int
    var kernelWidth: Int
    var strideHeight: Int
    var strideWidth: Int
    var dilationHeight: Int
    var dilationWidth: Int
    var padTop: Int
    var padLeft: Int

    /// Packs reduction steps `kStart ..< kStart + depth` of pixels `pixelStart ..< pixelStart +
    /// pixelCount`; `input` points at the first channel (of the group) of the chunk's first image.
    func pack(input: UnsafePointer<Float>, kStart: Int, depth: Int, pixelStart: Int, pixelCount: Int,
              destination: UnsafeMutablePointer<Float>) {
        let columns = MicroKernel.columns
        let panelStride = depth * columns
        let taps = kernelHeight * kernelWidth
        for step in 0..<depth {
            let k = kStart + step
            let channel = k / taps
            let tap = k - channel * taps
            let kernelRow = tap / kernelWidth
            let kernelColumn = tap - kernelRow * kernelWidth
            let rowOffset = kernelRow * dilationHeight - padTop
            let columnOffset = kernelColumn * dilationWidth - padLeft
            let stepDestination = destination + step * columns
            var pixel = pixelStart
            var image = pixel / pixels
            let within = pixel - image * pixels
            var outputRow = within / outputWidth
            var outputColumn = within - outputRow * outputWidth
            let end = pixelStart + pixelCount
            while pixel < end {
                // One run: pixels of one output row that land in one panel.
                let local = pixel - pixelStart
                let lane = local % columns
                let count = min(outputWidth - outputColumn, end - pixel, columns - lane)
                let target = stepDestination + (local / columns) * panelStride + lane
                let inputRow = outputRow * strideHeight + rowOffset
                if inputRow < 0 || inputRow >= height {
                    target.update(repeating: 0, count: count)
                } else {
                    let source = input + image * inputImageStride + channel * planeStride + inputRow * width
                    let firstColumn = outputColumn * strideWidth + columnOffset
                    if strideWidth == 1 && firstColumn >= 0 && firstColumn + count <= width {
                        Self.copy(from: source + firstColumn, to: target, count: count)
                    } else {
                        for index in 0..<count {
                            let inputColumn = firstColumn + index * strideWidth
                            target[index] = inputColumn >= 0 && inputColumn < width ? source[inputColumn] : 0
                        }
                    }
                }
                pixel += count
                outputColumn += count
                if outputColumn == outputWidth {
                    outputColumn = 0
                    outputRow += 1
                    if outputRow * outputWidth == pixels {
                        outputRow = 0
                        image += 1
                    }
                }
            }
            // Zero the lanes past the last pixel of the last panel.
            let used = pixelCount % columns
            if used != 0 {
                (stepDestination + (pixelCount / columns) * panelStride + used).update(repeating: 0,
                                                                                     count: columns - used)
            }
        }
    }

    @inline(__always)
    static func copy(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var index = 0
        while index + 16 <= count {
            let value = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(target + index).storeBytes(of: value, as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            target[index] = source[index]
            index += 1
        }
    }
}

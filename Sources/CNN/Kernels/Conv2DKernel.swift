/// A 2-D convolution with a fused epilogue (bias, residual, activation), on NCHW Float32.
///
/// Strategy: the convolution is a GEMM `output[o, pixel] = sum_k weights[o, k] * column[k, pixel]`
/// with `k = (inputChannel, kernelRow, kernelColumn)`. Weights are packed at init into 8-row panels;
/// input columns are packed on the fly (im2col) into 32-pixel panels, one reduction block of at
/// most ``reductionBlock`` steps at a time, and the ``MicroKernel`` computes 8 x 32 tiles with the
/// epilogue fused into the last block's store. Images whose output has few pixels are packed
/// several to a GEMM (so the weights are read once per chunk, not once per image); their sums are
/// staged in scratch and finished per image. Depthwise convolutions use a direct kernel instead.
///
/// Each output element is reduced over `k` in increasing order in fixed blocks, so an image's output
/// bits never depend on the batch size, on how images are chunked, or on the other images.
/// The kernel is immutable after init: one instance is shared by every thread; `run` is
/// single-threaded and needs its own scratch per thread.
///
/// ### See Also
/// - ``Conv2DShape``
/// - ``FusedActivation``
public final class Conv2DKernel: Sendable {
    /// The convolution geometry.
    public let shape: Conv2DShape
    /// The activation applied after bias and residual.
    public let activation: FusedActivation

    /// Reduction steps per packed block (fixed per kernel: it fixes the summation order).
    static let reductionBlock = 256
    /// Pixels per packed block of input columns.
    static let pixelBlock = 512
    /// Images are chunked into one GEMM until a chunk has at least this many output pixels.
    static let chunkPixelTarget = 256

    /// Packed weights, GEMM path: `[group][panel][k][8]`, panel = 8 output channels of the group,
    /// `k = (channel * kernelHeight + kernelRow) * kernelWidth + kernelColumn`, zero-padded rows.
    /// Depthwise path: OIHW as given.
    private let packedWeightStorage: AlignedBuffer
    /// `[outputChannels]`, zeros when the model has no bias.
    private let biasStorage: AlignedBuffer
    private var packedWeights: UnsafeMutablePointer<Float> { packedWeightStorage.pointer }
    private var bias: UnsafeMutablePointer<Float> { biasStorage.pointer }
    private let isDepthwise: Bool

    /// Creates a kernel and packs its weights.
    ///
    /// - Parameters:
    ///   - shape: geometry; `groups` must divide both channel counts.
    ///   - weights: OIHW `[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]`.
    ///   - bias: `[outputChannels]`, or nil for zero bias.
    ///   - activation: applied after bias and residual.
    public init(shape: Conv2DShape, weights: [Float], bias: [Float]?, activation: FusedActivation) {
        precondition(shape.groups >= 1 && shape.inputChannels % shape.groups == 0
                     && shape.outputChannels % shape.groups == 0,
                     "Conv2DKernel: groups must divide input and output channels")
        precondition(shape.kernelHeight >= 1 && shape.kernelWidth >= 1 && shape.strideHeight >= 1
                     && shape.strideWidth >= 1 && shape.dilationHeight >= 1 && shape.dilationWidth >= 1,
                     "Conv2DKernel: kernel, stride and dilation must be positive")
        precondition(shape.padTop >= 0 && shape.padLeft >= 0 && shape.padBottom >= 0 && shape.padRight >= 0,
                     "Conv2DKernel: padding must not be negative")
        let reduction = shape.inputChannelsPerGroup * shape.kernelHeight * shape.kernelWidth
        precondition(weights.count == shape.outputChannels * reduction, "Conv2DKernel: weight count mismatch")
        precondition(bias == nil || bias?.count == shape.outputChannels, "Conv2DKernel: bias count mismatch")
        self.shape = shape
        self.activation = activation
        self.isDepthwise = shape.groups == shape.inputChannels && shape.groups == shape.outputChannels
            && shape.groups > 1

        let biasStorage = AlignedBuffer(count: shape.outputChannels)
        if let bias { biasStorage.pointer.update(from: bias, count: shape.outputChannels) }
        self.biasStorage = biasStorage

        if isDepthwise {
            packedWeightStorage = AlignedBuffer(count: weights.count)
            packedWeightStorage.pointer.update(from: weights, count: weights.count)
        } else {
            let rows = MicroKernel.rows
            let outputPerGroup = shape.outputChannelsPerGroup
            let panels = (outputPerGroup + rows - 1) / rows
            let storage = AlignedBuffer(count: shape.groups * panels * reduction * rows)
            let packedWeights = storage.pointer
            for group in 0..<shape.groups {
                for panel in 0..<panels {
                    let base = packedWeights + (group * panels + panel) * reduction * rows
                    for row in 0..<min(rows, outputPerGroup - panel * rows) {
                        let outputChannel = group * outputPerGroup + panel * rows + row
                        for k in 0..<reduction { base[k * rows + row] = weights[outputChannel * reduction + k] }
                    }
                }
            }
            packedWeightStorage = storage
        }
    }

    /// Output spatial size for an input of `height` x `width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        shape.outputSize(height: height, width: width)
    }

    /// Images per GEMM chunk at this output size.
    private func imagesPerChunk(outputPixels: Int) -> Int {
        outputPixels >= Self.chunkPixelTarget ? 1 : (Self.chunkPixelTarget + outputPixels - 1) / outputPixels
    }

    /// Floats of scratch memory one `run` call needs at this input size (per call, not per
    /// batch item).
    public func scratchCount(height: Int, width: Int) -> Int {
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        if isDepthwise { return outputWidth + 16 }
        let pixels = outputHeight * outputWidth
        let chunkPixels = min(Self.pixelBlock, imagesPerChunk(outputPixels: pixels) * pixels)
        let columns = MicroKernel.columns
        let blockPixels = (chunkPixels + columns - 1) / columns * columns
        let reduction = min(Self.reductionBlock,
                            shape.inputChannelsPerGroup * shape.kernelHeight * shape.kernelWidth)
        let packed = reduction * blockPixels
        let staging = shape.outputChannelsPerGroup * blockPixels
        return packed + staging + MicroKernel.rows * columns + 64
    }

    /// Runs the convolution.
    ///
    /// - Parameters:
    ///   - input: `[batch, inputChannels, height, width]`.
    ///   - output: `[batch, outputChannels, oh, ow]` with `(oh, ow) = outputSize(height:width:)`.
    ///   - residual: nil, or a tensor of the output's shape added after bias, before activation.
    ///     It may be the output buffer itself.
    ///   - scratch: at least `scratchCount(height:width:)` floats, not shared with other threads.
    public func run(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                    output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                    scratch: UnsafeMutablePointer<Float>) {
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        precondition(outputHeight >= 1 && outputWidth >= 1, "Conv2DKernel: input smaller than kernel")
        precondition(batch >= 0, "Conv2DKernel: negative batch")
        if batch == 0 { return }
        if isDepthwise {
            runDepthwise(input: input, batch: batch, height: height, width: width, output: output,
                         residual: residual, scratch: scratch)
        } else {
            runGemm(input: input, batch: batch, height: height, width: width, output: output,
                    residual: residual, scratch: scratch)
        }
    }

    // MARK: - GEMM path

    private func runGemm(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                         output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                         scratch: UnsafeMutablePointer<Float>) {
        let s = shape
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        let pixels = outputHeight * outputWidth
        let inputPerGroup = s.inputChannelsPerGroup
        let outputPerGroup = s.outputChannelsPerGroup
        let taps = s.kernelHeight * s.kernelWidth
        let reduction = inputPerGroup * taps
        let rows = MicroKernel.rows
        let columns = MicroKernel.columns
        let panels = (outputPerGroup + rows - 1) / rows
        let outputImageStride = s.outputChannels * pixels
        let inputImageStride = s.inputChannels * height * width
        let chunkSize = imagesPerChunk(outputPixels: pixels)

        // Scratch layout: packed columns, staging sums, one tile.
        let maxChunkPixels = min(Self.pixelBlock, chunkSize * pixels)
        let maxBlockPixels = (maxChunkPixels + columns - 1) / columns * columns
        let packed = scratch
        let staging = packed + min(Self.reductionBlock, reduction) * maxBlockPixels
        let tileBuffer = staging + outputPerGroup * maxBlockPixels

        // A residual that overlaps the output would be overwritten by partial sums when the
        // reduction has several blocks: stage those sums instead.
        let outputCount = batch * outputImageStride
        let residualOverlaps = residual.map { r in
            UnsafePointer(output) < r + outputCount && r < UnsafePointer(output + outputCount)
        } ?? false
        let blockCount = (reduction + Self.reductionBlock - 1) / Self.reductionBlock

        // A 1x1, stride-1, unpadded convolution reads each input plane as one row of pixels.
        let pointwise = taps == 1 && s.strideHeight == 1 && s.strideWidth == 1 && s.padTop == 0
            && s.padLeft == 0 && s.padBottom == 0 && s.padRight == 0
        let geometry = PackGeometry(
            height: pointwise ? 1 : height, width: pointwise ? height * width : width,
            outputWidth: pointwise ? pixels : outputWidth, pixels: pixels,
            inputImageStride: inputImageStride, planeStride: height * width,
            kernelHeight: s.kernelHeight, kernelWidth: s.kernelWidth,
            strideHeight: s.strideHeight, strideWidth: s.strideWidth,
            dilationHeight: s.dilationHeight, dilationWidth: s.dilationWidth,
            padTop: s.padTop, padLeft: s.padLeft)

        var chunkStart = 0
        while chunkStart < batch {
            let images = min(chunkSize, batch - chunkStart)
            let chunkPixels = images * pixels
            let direct = images == 1 && !(residualOverlaps && blockCount > 1)
            for group in 0..<s.groups {
                let groupInput = input + chunkStart * inputImageStride + group * inputPerGroup * height * width
                var blockStart = 0
                while blockStart < chunkPixels {
                    let blockPixels = min(Self.pixelBlock, chunkPixels - blockStart)
                    let pixelPanels = (blockPixels + columns - 1) / columns
                    var kStart = 0
                    while kStart < reduction {
                        let depth = min(Self.reductionBlock, reduction - kStart)
                        let isLast = kStart + depth == reduction
                        geometry.pack(input: groupInput, kStart: kStart, depth: depth, pixelStart: blockStart,
                                      pixelCount: blockPixels, destination: packed)
                        for panel in 0..<panels {
                            let rowCount = min(rows, outputPerGroup - panel * rows)
                            let weightPanel = packedWeights + ((group * panels + panel) * reduction + kStart) * rows
                            let firstChannel = group * outputPerGroup + panel * rows
                            for pixelPanel in 0..<pixelPanels {
                                let columnCount = min(columns, blockPixels - pixelPanel * columns)
                                let target: UnsafeMutablePointer<Float>
                                let ldc: Int
                                var epilogue: Epilogue? = nil
                                if direct {
                                    let offset = chunkStart * outputImageStride + firstChannel * pixels
                                        + blockStart + pixelPanel * columns
                                    target = output + offset
                                    ldc = pixels
                                    if isLast {
                                        epilogue = Epilogue(bias: bias + firstChannel,
                                                            residual: residual.map { $0 + offset },
                                                            activation: activation)
                                    }
                                } else {
                                    target = staging + panel * rows * blockPixels + pixelPanel * columns
                                    ldc = blockPixels
                                }
                                let bPanel = packed + pixelPanel * depth * columns
                                if rowCount == rows && columnCount == columns {
                                    MicroKernel.tile(depth: depth, a: weightPanel, b: bPanel, c: target, ldc: ldc,
                                                     accumulate: kStart > 0, epilogue: epilogue)
                                } else {
                                    MicroKernel.partialTile(depth: depth, a: weightPanel, b: bPanel, c: target,
                                                            ldc: ldc, rowCount: rowCount, columnCount: columnCount,
                                                            accumulate: kStart > 0, epilogue: epilogue,
                                                            tileBuffer: tileBuffer)
                                }
                            }
                        }
                        kStart += depth
                    }
                    if !direct {
                        finishStaged(staging: staging, stagingStride: blockPixels, blockStart: blockStart,
                                     blockPixels: blockPixels, pixels: pixels, chunkStart: chunkStart,
                                     firstChannel: group * outputPerGroup, channelCount: outputPerGroup,
                                     outputImageStride: outputImageStride, output: output, residual: residual)
                    }
                    blockStart += blockPixels
                }
            }
            chunkStart += images
        }
    }

    /// Applies the epilogue to staged raw sums `[channel][blockPixels]` and writes them to the
    /// NCHW output, image by image.
    private func finishStaged(staging: UnsafeMutablePointer<Float>, stagingStride: Int, blockStart: Int,
                              blockPixels: Int, pixels: Int, chunkStart: Int, firstChannel: Int, channelCount: Int,
                              outputImageStride: Int, output: UnsafeMutablePointer<Float>,
                              residual: UnsafePointer<Float>?) {
        var pixel = blockStart
        while pixel < blockStart + blockPixels {
            let image = pixel / pixels
            let within = pixel - image * pixels
            let count = min(pixels - within, blockStart + blockPixels - pixel)
            for channel in 0..<channelCount {
                let outputChannel = firstChannel + channel
                let offset = (chunkStart + image) * outputImageStride + outputChannel * pixels + within
                let epilogue = Epilogue(bias: bias + outputChannel, residual: residual, activation: activation)
                epilogue.finish(source: staging + channel * stagingStride + (pixel - blockStart),
                                destination: output + offset, count: count, row: 0,
                                residualRow: residual.map { $0 + offset })
            }
            pixel += count
        }
    }

    // MARK: - Depthwise path

    /// Direct depthwise convolution: each output row is accumulated tap by tap (taps in
    /// row-major order, out-of-image taps skipped) in a row buffer, then finished.
    private func runDepthwise(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                              output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                              scratch: UnsafeMutablePointer<Float>) {
        let s = shape
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        let channels = s.outputChannels
        let taps = s.kernelHeight * s.kernelWidth
        let rowBuffer = scratch
        for image in 0..<batch {
            for channel in 0..<channels {
                let plane = input + (image * channels + channel) * height * width
                let weights = packedWeights + channel * taps
                let epilogue = Epilogue(bias: bias + channel, residual: residual, activation: activation)
                for outputRow in 0..<outputHeight {
                    rowBuffer.update(repeating: 0, count: outputWidth)
                    for kernelRow in 0..<s.kernelHeight {
                        let inputRow = outputRow * s.strideHeight - s.padTop + kernelRow * s.dilationHeight
                        if inputRow < 0 || inputRow >= height { continue }
                        let source = plane + inputRow * width
                        for kernelColumn in 0..<s.kernelWidth {
                            let weight = weights[kernelRow * s.kernelWidth + kernelColumn]
                            let offset = kernelColumn * s.dilationWidth - s.padLeft
                            // Output columns whose input column is inside the image.
                            let first = max(0, (-offset + s.strideWidth - 1) / s.strideWidth)
                            let last = width - 1 - offset < 0 ? 0 : min(outputWidth, (width - 1 - offset) / s.strideWidth + 1)
                            if first >= last { continue }
                            if s.strideWidth == 1 {
                                let shifted = source + offset
                                for column in first..<last { rowBuffer[column] += weight * shifted[column] }
                            } else {
                                for column in first..<last {
                                    rowBuffer[column] += weight * source[column * s.strideWidth + offset]
                                }
                            }
                        }
                    }
                    let outputOffset = ((image * channels + channel) * outputHeight + outputRow) * outputWidth
                    epilogue.finish(source: rowBuffer, destination: output + outputOffset, count: outputWidth,
                                    row: 0, residualRow: residual.map { $0 + outputOffset })
                }
            }
        }
    }
}

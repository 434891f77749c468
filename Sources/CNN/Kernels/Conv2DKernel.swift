/// A 2-D convolution with a fused epilogue (bias, residual, activation), on NCHW Float32.
///
/// Strategy: a direct convolution without im2col. `output[o, pixel] = sum_k weights[o, k] *
/// input[tap k of pixel]` with `k = (inputChannel, kernelRow, kernelColumn)`. A chunk of images is
/// copied once, zero-padded, into scratch; `offsets[k]` is each tap's distance from a pixel's
/// top-left tap, so padding, stride and dilation cost nothing in the inner loops. Two register-
/// blocked SIMD16 micro-kernels, weights packed for both at init:
/// - ``RowVectorKernel`` (8 channels x 32 pixels, pixel vectors loaded straight from the padded
///   input) for stride-1 convolutions whose output width is a multiple of 16;
/// - ``PixelBroadcastKernel`` (8 pixels x 32 channels, input values broadcast) for all others.
/// Outputs with fewer than ``chunkPixelTarget`` pixels put several images in one pass, so the
/// weights are read once per chunk instead of once per image. Tiles are either finished in
/// registers and stored to the output, or staged as `[channel][pixel]` blocks and finished row by
/// row. 3x3 stride-1 undilated ungrouped layers run as Winograd F(2x2, 3x3) (2.25x fewer
/// multiplies, slightly different rounding): vectorised along tiles (``WinogradRowConvolution``)
/// when they have 8 to 64 input channels and an output width that is a multiple of 32 (even
/// height) or 16 (height a multiple of 4), else with at least 64 input channels vectorised along
/// channels (``WinogradConvolution``). Stride-2 layers on the row kernel read even/odd column
/// planes of the padded input (``PaddedLayout``).
/// Depthwise convolutions (`groups == inputChannels == outputChannels > 1`) use a direct row
/// kernel instead.
///
/// Each output element is computed by a fixed sequence of operations (one fused multiply-add
/// chain over `k` in increasing order, or fixed Winograd transforms around such chains), and the
/// epilogue is the same SIMD16 code for full and partial vectors, so an image's output bits never
/// depend on the batch size, on how images are chunked, or on the other images. The algorithm is a
/// function of the geometry only.
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

    /// Images are chunked into one pass until a chunk has at least this many output pixels.
    static let chunkPixelTarget = 256

    /// Packed weights for ``PixelBroadcastKernel``: `[group][panel][k][32]`, panel = 32 output
    /// channels of the group, `k = (channel * kernelHeight + kernelRow) * kernelWidth +
    /// kernelColumn`, zero-padded channels. Depthwise path: OIHW as given.
    private let packedWeightStorage: AlignedBuffer
    /// Stride-1 and -2 convolutions only: weights packed `[group][panel][k][8]` for ``RowVectorKernel``.
    private let rowWeightStorage: AlignedBuffer?
    /// Winograd F(2x2, 3x3) form of the weights, for the 3x3 stride-1 layers that use it.
    private let winograd: WinogradConvolution?
    /// Tile-vectorised Winograd F(2x2, 3x3) for 3x3 stride-1 layers with 8 ... 64 input channels,
    /// used at the input sizes it handles (the direct or channel-vectorised Winograd weights serve
    /// the others).
    private let winogradRows: WinogradRowConvolution?

    /// Whether a layer of this geometry builds ``WinogradConvolution`` (chosen by measurement; a
    /// function of the geometry only, so results never depend on the batch).
    static func usesWinograd(_ shape: Conv2DShape) -> Bool {
        WinogradConvolution.supports(shape) && shape.inputChannels >= 64 && shape.outputChannels >= 32
    }
    /// `[outputChannels]`, zeros when the model has no bias.
    private let biasStorage: AlignedBuffer
    private var packedWeights: UnsafeMutablePointer<Float> { packedWeightStorage.pointer }
    var bias: UnsafeMutablePointer<Float> { biasStorage.pointer }
    private let isDepthwise: Bool

    /// The same convolution with another activation, sharing this kernel's packed weights (no
    /// copy: kernels are immutable).
    public func withActivation(_ activation: FusedActivation) -> Conv2DKernel {
        Conv2DKernel(sharing: self, activation: activation)
    }

    private init(sharing other: Conv2DKernel, activation: FusedActivation) {
        shape = other.shape
        self.activation = activation
        packedWeightStorage = other.packedWeightStorage
        rowWeightStorage = other.rowWeightStorage
        winograd = other.winograd
        winogradRows = other.winogradRows
        biasStorage = other.biasStorage
        isDepthwise = other.isDepthwise
    }

    /// Creates a kernel and packs its weights.
    ///
    /// - Parameters:
    ///   - shape: geometry; `groups` must divide both channel counts.
    ///   - weights: OIHW `[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]`.
    ///   - bias: `[outputChannels]`, or nil for zero bias.
    ///   - activation: applied after bias and residual.
    ///   - allowsWinograd: false runs the direct kernels even where the geometry would use the
    ///     channel-vectorised Winograd F(2x2, 3x3), whose weight transform costs more than it saves
    ///     on small calls; training, which rebuilds its kernels every step, uses it (inference
    ///     always keeps the default, so a prediction never depends on the batch).
    public init(shape: Conv2DShape, weights: [Float], bias: [Float]?, activation: FusedActivation, allowsWinograd: Bool = true) {
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

        let biasStorage = AlignedBuffer(count: shape.outputChannels + PixelBroadcastKernel.channels)
        if let bias { biasStorage.pointer.update(from: bias, count: shape.outputChannels) }
        self.biasStorage = biasStorage
        self.winograd = allowsWinograd && Self.usesWinograd(shape) ? WinogradConvolution(shape: shape, weights: weights) : nil
        self.winogradRows = WinogradRowConvolution.supports(shape)
            ? WinogradRowConvolution(shape: shape, weights: weights) : nil

        if winograd != nil {
            // Winograd layers never take the direct path: no direct-kernel weight copies (for
            // ResNet-18 they would be 2 x 42 MB).
            packedWeightStorage = AlignedBuffer(count: 0)
            rowWeightStorage = nil
        } else if isDepthwise {
            packedWeightStorage = AlignedBuffer(count: weights.count)
            packedWeightStorage.pointer.update(from: weights, count: weights.count)
            rowWeightStorage = nil
        } else {
            let lanes = PixelBroadcastKernel.channels
            let outputPerGroup = shape.outputChannelsPerGroup
            let panels = (outputPerGroup + lanes - 1) / lanes
            let storage = AlignedBuffer(count: shape.groups * panels * reduction * lanes)
            let packedWeights = storage.pointer
            for group in 0..<shape.groups {
                for panel in 0..<panels {
                    let base = packedWeights + (group * panels + panel) * reduction * lanes
                    for lane in 0..<min(lanes, outputPerGroup - panel * lanes) {
                        let outputChannel = group * outputPerGroup + panel * lanes + lane
                        for k in 0..<reduction { base[k * lanes + lane] = weights[outputChannel * reduction + k] }
                    }
                }
            }
            packedWeightStorage = storage
            if shape.strideWidth <= 2 {
                let rows = RowVectorKernel.channels
                let rowPanels = (outputPerGroup + rows - 1) / rows
                let rowStorage = AlignedBuffer(count: shape.groups * rowPanels * reduction * rows)
                for group in 0..<shape.groups {
                    for panel in 0..<rowPanels {
                        let base = rowStorage.pointer + (group * rowPanels + panel) * reduction * rows
                        for row in 0..<min(rows, outputPerGroup - panel * rows) {
                            let outputChannel = group * outputPerGroup + panel * rows + row
                            for k in 0..<reduction { base[k * rows + row] = weights[outputChannel * reduction + k] }
                        }
                    }
                }
                rowWeightStorage = rowStorage
            } else {
                rowWeightStorage = nil
            }
        }
    }

    /// Output spatial size for an input of `height` x `width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        shape.outputSize(height: height, width: width)
    }

    /// Output pixels staged at a time: a whole chunk of small images, else 128 (16 tiles).
    static func pixelBlock(chunkPixels: Int) -> Int {
        chunkPixels <= 512 ? (chunkPixels + 7) / 8 * 8 : 128
    }

    /// Images per chunk at this output size.
    func imagesPerChunk(outputPixels: Int) -> Int {
        outputPixels >= Self.chunkPixelTarget ? 1 : (Self.chunkPixelTarget + outputPixels - 1) / outputPixels
    }

    /// Floats of scratch memory one `run` call needs at this input size (per call, not per
    /// batch item).
    public func scratchCount(height: Int, width: Int) -> Int {
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        if isDepthwise { return outputWidth + 16 }
        if let winogradRows, WinogradRowConvolution.handles(shape, height: height, width: width) {
            return winogradRows.plan(shape: shape, height: height, width: width).totalCount
        }
        if let winograd { return winograd.plan(kernel: self, height: height, width: width).totalCount }
        let pixels = outputHeight * outputWidth
        let chunkImages = imagesPerChunk(outputPixels: pixels)
        let paddedImage = shape.inputChannels * (height + shape.padTop + shape.padBottom)
            * (width + shape.padLeft + shape.padRight + 1)
        let reduction = shape.inputChannelsPerGroup * shape.kernelHeight * shape.kernelWidth
        let tilePixels = PixelBroadcastKernel.pixels
        // Pixel table slots: every tile may start anywhere in a block and read 48 slots ahead.
        let chunkTiles = chunkImages * pixels + max(tilePixels, RowVectorKernel.pixels)
        let staging = shape.outputChannelsPerGroup * Self.pixelBlock(chunkPixels: chunkImages * pixels)
        return chunkImages * paddedImage + 64 + shape.padLeft + reduction + 2 * chunkTiles
            + PixelBroadcastKernel.pixels * PixelBroadcastKernel.channels + staging + 64
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
        } else if let winogradRows, WinogradRowConvolution.handles(shape, height: height, width: width) {
            winogradRows.run(kernel: self, input: input, batch: batch, height: height, width: width, output: output,
                             residual: residual, maxPool: false, scratch: scratch)
        } else if let winograd {
            winograd.run(kernel: self, input: input, batch: batch, height: height, width: width, output: output,
                         residual: residual, scratch: scratch)
        } else {
            runDirect(input: input, batch: batch, height: height, width: width, output: output,
                    residual: residual, scratch: scratch)
        }
    }

    // MARK: - Fused 2x2 max pool

    /// Output size of ``runMaxPooled(input:batch:height:width:output:scratch:)``: the
    /// convolution's output size halved and rounded down (a 2x2, stride-2, unpadded max pool
    /// without ceil mode; an odd last row or column is dropped).
    public func pooledOutputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        return (outputHeight / 2, outputWidth / 2)
    }

    /// Whether the pooled run computes pooled tiles in the row kernel's registers (direct stride-1
    /// or -2 layers with whole 8-channel panels and pooled rows of whole 8-column tiles); else it
    /// runs the convolution into scratch and pools from there.
    private func poolsInRegisters(height: Int, width: Int) -> Bool {
        let pooled = pooledOutputSize(height: height, width: width)
        return winograd == nil && !isDepthwise && rowWeightStorage != nil && !usesWinogradRows(height: height, width: width)
            && shape.outputChannelsPerGroup % RowVectorKernel.channels == 0
            && pooled.height >= 1 && pooled.width >= 1 && pooled.width % 8 == 0
    }

    /// Whether this input size runs on ``WinogradRowConvolution``.
    private func usesWinogradRows(height: Int, width: Int) -> Bool {
        winogradRows != nil && WinogradRowConvolution.handles(shape, height: height, width: width)
    }

    /// Floats of scratch memory one ``runMaxPooled(input:batch:height:width:output:scratch:)``
    /// call needs at this input size.
    public func pooledScratchCount(height: Int, width: Int) -> Int {
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        if let winogradRows, usesWinogradRows(height: height, width: width) {
            return winogradRows.plan(shape: shape, height: height, width: width).totalCount
        }
        if poolsInRegisters(height: height, width: width) {
            let paddedImage = shape.inputChannels * (height + shape.padTop + shape.padBottom)
                * (width + shape.padLeft + shape.padRight + 1)
            return paddedImage + 64 + shape.padLeft + shape.inputChannelsPerGroup * shape.kernelHeight
                * shape.kernelWidth + 16
        }
        let pixels = outputHeight * outputWidth
        return imagesPerChunk(outputPixels: pixels) * shape.outputChannels * pixels
            + scratchCount(height: height, width: width)
    }

    /// Runs the convolution followed by a 2x2, stride-2, unpadded max pool (floor mode), without
    /// storing the convolution's output. The results are bit-identical to ``run(input:batch:height:width:output:residual:scratch:)``
    /// followed by a separate max pool computing `max(max(a, c), max(b, d))` for the window
    /// `[[a, b], [c, d]]` (vertical pairs first) with `max(x, y) = y >= x ? y : x`.
    ///
    /// - Parameters:
    ///   - input: `[batch, inputChannels, height, width]`.
    ///   - output: `[batch, outputChannels, ph, pw]` with `(ph, pw) = pooledOutputSize(height:width:)`;
    ///     both must be at least 1.
    ///   - scratch: at least `pooledScratchCount(height:width:)` floats, not shared with other threads.
    public func runMaxPooled(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                             output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        let (pooledHeight, pooledWidth) = (outputHeight / 2, outputWidth / 2)
        precondition(pooledHeight >= 1 && pooledWidth >= 1, "Conv2DKernel: output smaller than the 2x2 pool")
        precondition(batch >= 0, "Conv2DKernel: negative batch")
        if batch == 0 { return }
        let pooledImage = shape.outputChannels * pooledHeight * pooledWidth
        let inputImageStride = shape.inputChannels * height * width
        if let winogradRows, usesWinogradRows(height: height, width: width) {
            winogradRows.run(kernel: self, input: input, batch: batch, height: height, width: width, output: output,
                             residual: nil, maxPool: true, scratch: scratch)
            return
        }
        if poolsInRegisters(height: height, width: width) {
            runPooledRows(input: input, batch: batch, height: height, width: width, output: output, scratch: scratch)
            return
        }
        // Any other layer: the convolution into scratch, a chunk of images at a time, then the pool.
        let pixels = outputHeight * outputWidth
        let chunkSize = imagesPerChunk(outputPixels: pixels)
        let convolved = scratch
        let convolutionScratch = scratch + chunkSize * shape.outputChannels * pixels
        var chunkStart = 0
        while chunkStart < batch {
            let images = min(chunkSize, batch - chunkStart)
            run(input: input + chunkStart * inputImageStride, batch: images, height: height, width: width,
                output: convolved, residual: nil, scratch: convolutionScratch)
            for plane in 0..<(images * shape.outputChannels) {
                let source = convolved + plane * pixels
                let target = output + chunkStart * pooledImage + plane * pooledHeight * pooledWidth
                for row in 0..<pooledHeight {
                    let upper = source + 2 * row * outputWidth, lower = upper + outputWidth
                    let line = target + row * pooledWidth
                    for column in 0..<pooledWidth {
                        line[column] = Swift.max(Swift.max(upper[2 * column], lower[2 * column]),
                                                 Swift.max(upper[2 * column + 1], lower[2 * column + 1]))
                    }
                }
            }
            chunkStart += images
        }
    }

    /// The pooled run on ``RowVectorKernel``: one image at a time, each tile the same 16 columns
    /// of two output rows, pooled in registers (see ``RowVectorKernel/computePooled``).
    private func runPooledRows(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                               output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        guard let rowWeights = rowWeightStorage?.pointer else { return }
        let s = shape
        let (pooledHeight, pooledWidth) = pooledOutputSize(height: height, width: width)
        let pooledPlane = pooledHeight * pooledWidth
        let inputPerGroup = s.inputChannelsPerGroup
        let outputPerGroup = s.outputChannelsPerGroup
        let reduction = inputPerGroup * s.kernelHeight * s.kernelWidth
        let rows = RowVectorKernel.channels
        let rowPanels = outputPerGroup / rows
        let layout = PaddedLayout(shape: s, height: height, width: width, splitColumns: s.strideWidth == 2)
        let paddedWidth = layout.rowStride
        let paddedPlane = layout.plane
        let paddedImage = layout.image
        precondition(paddedImage < Int(Int32.max), "Conv2DKernel: tensor too large for 32-bit offsets")
        let padded = scratch
        let tables = padded + paddedImage + 64 + s.padLeft
        let inputImageStride = s.inputChannels * height * width
        // Stride 2 reads the even-column plane: output column x is half-plane column x.
        let columnStep = layout.splitColumns ? 1 : s.strideWidth
        tables.withMemoryRebound(to: Int32.self, capacity: reduction) { offsets in
            fillTapOffsets(offsets, layout: layout)
            for image in 0..<batch {
                copyPadded(input: input + image * inputImageStride, images: 1, height: height, width: width,
                           padded: padded, layout: layout)
                let imageOutput = output + image * s.outputChannels * pooledPlane
                for pooledRow in 0..<pooledHeight {
                    let rowOffset = 2 * pooledRow * s.strideHeight * paddedWidth
                    for group in 0..<s.groups {
                        let groupInput = UnsafePointer(padded + group * inputPerGroup * paddedPlane)
                        for panel in 0..<rowPanels {
                            let weightPanel = UnsafePointer(rowWeights + (group * rowPanels + panel) * reduction * rows)
                            let firstChannel = group * outputPerGroup + panel * rows
                            let target = imageOutput + firstChannel * pooledPlane + pooledRow * pooledWidth
                            var column = 0
                            while column < 2 * pooledWidth {
                                let upper = groupInput + rowOffset + column * columnStep
                                RowVectorKernel.computePooled(
                                    depth: reduction, weights: weightPanel, offsets: UnsafePointer(offsets),
                                    upper: upper, lower: upper + s.strideHeight * paddedWidth,
                                    target: target + column / 2, ldt: pooledPlane, bias: bias + firstChannel,
                                    activation: activation)
                                column += 16
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Direct path

    /// Direct convolution with ``PixelBroadcastKernel``: images are copied zero-padded into
    /// scratch, a chunk at a time; each tile of 8 output pixels x 32 output channels reduces over
    /// the whole `k` in one pass, then the epilogue writes it to the NCHW output.
    private func runDirect(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                           output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                           scratch: UnsafeMutablePointer<Float>) {
        let s = shape
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        let pixels = outputHeight * outputWidth
        let inputPerGroup = s.inputChannelsPerGroup
        let outputPerGroup = s.outputChannelsPerGroup
        let taps = s.kernelHeight * s.kernelWidth
        let reduction = inputPerGroup * taps
        let lanes = PixelBroadcastKernel.channels
        let tilePixels = PixelBroadcastKernel.pixels
        let panels = (outputPerGroup + lanes - 1) / lanes
        let outputImageStride = s.outputChannels * pixels
        let inputImageStride = s.inputChannels * height * width
        // Stride-2 layers on the row kernel get even/odd column planes (contiguous loads).
        let rowKernel = rowWeightStorage != nil && outputWidth % 16 == 0
        let layout = PaddedLayout(shape: s, height: height, width: width, splitColumns: rowKernel && s.strideWidth == 2)
        let paddedWidth = layout.rowStride
        let paddedPlane = layout.plane
        let paddedImage = layout.image
        let columnStep = layout.splitColumns ? 1 : s.strideWidth
        let chunkSize = imagesPerChunk(outputPixels: pixels)
        precondition(chunkSize * max(paddedImage, outputImageStride) < Int(Int32.max),
                     "Conv2DKernel: tensor too large for 32-bit offsets")
        let maxChunkTiles = chunkSize * pixels + max(tilePixels, RowVectorKernel.pixels)

        // Scratch layout: padded chunk (+ slack), offsets, pixel tables, one tile.
        let padded = scratch
        let tables = padded + chunkSize * paddedImage + 64 + s.padLeft
        let tile = tables + reduction + 2 * maxChunkTiles
        let blockCapacity = Self.pixelBlock(chunkPixels: chunkSize * pixels)
        let staging = tile + tilePixels * lanes
        tables.withMemoryRebound(to: Int32.self, capacity: reduction + 2 * maxChunkTiles) { table in
            let offsets = table
            let pixelInput = table + reduction
            let pixelOutput = pixelInput + maxChunkTiles
            fillTapOffsets(offsets, layout: layout)
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: tilePixels) { bases in
                guard let bases = bases.baseAddress else { return }
                var chunkStart = 0
                while chunkStart < batch {
                    let images = min(chunkSize, batch - chunkStart)
                    let chunkPixels = images * pixels
                    copyPadded(input: input + chunkStart * inputImageStride, images: images, height: height,
                               width: width, padded: padded, layout: layout)
                    // Per pixel: offset of its top-left tap in the padded chunk and of its output
                    // element (channel 0) relative to the chunk's output. Missing pixels of the last
                    // tile repeat the chunk's last pixel (computed, never stored).
                    var image = 0, outputRow = 0, outputColumn = 0
                    for slot in 0..<chunkPixels {
                        pixelInput[slot] = Int32(image * paddedImage + outputRow * s.strideHeight * paddedWidth
                                                 + outputColumn * columnStep)
                        pixelOutput[slot] = Int32(image * outputImageStride + outputRow * outputWidth + outputColumn)
                        outputColumn += 1
                        if outputColumn == outputWidth {
                            outputColumn = 0
                            outputRow += 1
                            if outputRow == outputHeight {
                                outputRow = 0
                                image += 1
                            }
                        }
                    }
                    for slot in chunkPixels..<maxChunkTiles {
                        pixelInput[slot] = pixelInput[chunkPixels - 1]
                        pixelOutput[slot] = pixelOutput[chunkPixels - 1]
                    }
                    let chunkOutput = output + chunkStart * outputImageStride
                    let chunkResidual = residual.map { $0 + chunkStart * outputImageStride }
                    let block = Self.pixelBlock(chunkPixels: chunkPixels)
                    precondition(block <= blockCapacity)
                    var blockStart = 0
                    while blockStart < chunkPixels {
                        let blockPixels = min(block, chunkPixels - blockStart)
                        for group in 0..<s.groups {
                            let groupInput = UnsafePointer(padded + group * inputPerGroup * paddedPlane)
                            var staged = true
                            if rowKernel, let rowWeights = rowWeightStorage?.pointer {
                                let rows = RowVectorKernel.channels
                                let rowPanels = (outputPerGroup + rows - 1) / rows
                                // One image, whole tiles only: finish in registers, store to the output.
                                let fused = images == 1 && outputPerGroup % rows == 0
                                    && blockPixels % RowVectorKernel.pixels == 0
                                staged = !fused
                                for panel in 0..<rowPanels {
                                    let weightPanel = UnsafePointer(rowWeights
                                                                    + (group * rowPanels + panel) * reduction * rows)
                                    let channelCount = min(rows, outputPerGroup - panel * rows)
                                    var firstSlot = blockStart
                                    while firstSlot < blockStart + blockPixels {
                                        let count = min(RowVectorKernel.pixels, blockStart + blockPixels - firstSlot)
                                        let first = groupInput + Int(pixelInput[firstSlot])
                                        let second = count > 16 ? groupInput + Int(pixelInput[firstSlot + 16]) : first
                                        let stagingTile = staging + panel * rows * block + (firstSlot - blockStart)
                                        if fused {
                                            let firstChannel = group * outputPerGroup + panel * rows
                                            let offset = firstChannel * pixels + firstSlot
                                            RowVectorKernel.compute(
                                                depth: reduction, weights: weightPanel, offsets: UnsafePointer(offsets),
                                                first: first, second: second, target: chunkOutput + offset, ldt: pixels,
                                                epilogue: Epilogue(bias: bias + firstChannel,
                                                                   residual: chunkResidual.map { $0 + offset },
                                                                   activation: activation))
                                        } else if channelCount == rows && count == RowVectorKernel.pixels {
                                            RowVectorKernel.compute(depth: reduction, weights: weightPanel,
                                                                    offsets: UnsafePointer(offsets), first: first,
                                                                    second: second, target: stagingTile, ldt: block)
                                        } else {
                                            RowVectorKernel.compute(depth: reduction, weights: weightPanel,
                                                                    offsets: UnsafePointer(offsets), first: first,
                                                                    second: second, target: tile,
                                                                    ldt: RowVectorKernel.pixels)
                                            for channel in 0..<channelCount {
                                                (stagingTile + channel * block).update(
                                                    from: tile + channel * RowVectorKernel.pixels, count: count)
                                            }
                                        }
                                        firstSlot += RowVectorKernel.pixels
                                    }
                                }
                            } else {
                                for panel in 0..<panels {
                                    let weightPanel = UnsafePointer(packedWeights
                                                                    + (group * panels + panel) * reduction * lanes)
                                    let channelCount = min(lanes, outputPerGroup - panel * lanes)
                                    var firstSlot = blockStart
                                    while firstSlot < blockStart + blockPixels {
                                        for lane in 0..<tilePixels {
                                            bases[lane] = groupInput + Int(pixelInput[firstSlot + lane])
                                        }
                                        PixelBroadcastKernel.compute(depth: reduction, weights: weightPanel,
                                                                     offsets: UnsafePointer(offsets),
                                                                     bases: UnsafePointer(bases), tile: tile)
                                        // Transpose the tile into the staging block [channel][pixel].
                                        let count = min(tilePixels, blockStart + blockPixels - firstSlot)
                                        let stagingTile = staging + panel * lanes * block + (firstSlot - blockStart)
                                        for channel in 0..<channelCount {
                                            for pixel in 0..<count {
                                                stagingTile[channel * block + pixel] = tile[pixel * lanes + channel]
                                            }
                                        }
                                        firstSlot += tilePixels
                                    }
                                }
                            }
                            if staged {
                                finishStaged(staging: staging, block: block, blockStart: blockStart,
                                             blockPixels: blockPixels, pixels: pixels,
                                             firstChannel: group * outputPerGroup, channelCount: outputPerGroup,
                                             outputImageStride: outputImageStride, output: chunkOutput,
                                             residual: chunkResidual)
                            }
                        }
                        blockStart += blockPixels
                    }
                    chunkStart += images
                }
            }
        }
    }

    /// Where the zero-padded copy of an image lives in scratch: `[image][channel][paddedRow][column]`
    /// with `rowStride` floats per padded row; with `splitColumns` each row holds the even padded
    /// columns, then the odd ones (`halfWidth` each), so stride-2 kernels load contiguous vectors.
    struct PaddedLayout {
        let splitColumns: Bool
        let paddedWidth: Int
        let halfWidth: Int
        let rowStride: Int
        let plane: Int
        let image: Int

        init(shape s: Conv2DShape, height: Int, width: Int, splitColumns: Bool) {
            self.splitColumns = splitColumns
            paddedWidth = width + s.padLeft + s.padRight
            halfWidth = (paddedWidth + 1) / 2
            rowStride = splitColumns ? 2 * halfWidth : paddedWidth
            plane = (height + s.padTop + s.padBottom) * rowStride
            image = s.inputChannels * plane
        }

        /// Position of padded column `column` within a row.
        func column(_ column: Int) -> Int {
            splitColumns ? (column & 1) * halfWidth + column >> 1 : column
        }
    }

    /// Copies `images` NCHW images into `padded` with the layer's zero padding, in `layout`.
    /// Writes up to `padLeft` floats past the last plane (slack the callers reserve).
    func copyPadded(input: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                    padded: UnsafeMutablePointer<Float>, layout: PaddedLayout) {
        let s = shape
        let paddedWidth = layout.paddedWidth
        let paddedPlane = layout.plane
        let inputImageStride = s.inputChannels * height * width
        if layout.splitColumns {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * layout.halfWidth) { buffer in
                guard let line = buffer.baseAddress else { return }
                line.initialize(repeating: 0, count: 2 * layout.halfWidth)
                for image in 0..<images {
                    for channel in 0..<s.inputChannels {
                        let source = input + image * inputImageStride + channel * height * width
                        let plane = padded + image * layout.image + channel * paddedPlane
                        for row in 0..<(height + s.padTop + s.padBottom) {
                            let target = plane + row * layout.rowStride
                            let inputRow = row - s.padTop
                            if inputRow < 0 || inputRow >= height {
                                target.update(repeating: 0, count: layout.rowStride)
                                continue
                            }
                            // The line's pads stay zero; the interior is overwritten.
                            FloatCopy.copy(from: source + inputRow * width, to: line + s.padLeft, count: width)
                            let odd = target + layout.halfWidth
                            for index in 0..<layout.halfWidth {
                                target[index] = line[2 &* index]
                                odd[index] = line[2 &* index &+ 1]
                            }
                        }
                    }
                }
            }
            return
        }
        // Only the border is zeroed; the interior is overwritten by the copy.
        for image in 0..<images {
            for channel in 0..<s.inputChannels {
                let source = input + image * inputImageStride + channel * height * width
                let plane = padded + image * layout.image + channel * paddedPlane
                plane.update(repeating: 0, count: s.padTop * paddedWidth + s.padLeft)
                for row in 0..<height {
                    let line = plane + (s.padTop + row) * paddedWidth
                    FloatCopy.copy(from: source + row * width, to: line + s.padLeft, count: width)
                    // Right pad of this row and left pad of the next row (for the last row
                    // without bottom pad: of the next plane, zeroed again later, or slack).
                    (line + s.padLeft + width).update(repeating: 0, count: s.padRight + s.padLeft)
                }
                let tail = (s.padTop + height) * paddedWidth + s.padLeft
                if tail < paddedPlane {
                    plane.advanced(by: tail).update(repeating: 0, count: paddedPlane - tail)
                }
            }
        }
    }

    /// `offsets[k]`: distance of tap `k = (channel, kernelRow, kernelColumn)` from a pixel's
    /// top-left tap in `layout`.
    func fillTapOffsets(_ offsets: UnsafeMutablePointer<Int32>, layout: PaddedLayout) {
        let s = shape
        let taps = s.kernelHeight * s.kernelWidth
        for k in 0..<(s.inputChannelsPerGroup * taps) {
            let channel = k / taps
            let tap = k - channel * taps
            let kernelRow = tap / s.kernelWidth
            let kernelColumn = tap - kernelRow * s.kernelWidth
            offsets[k] = Int32(channel * layout.plane + kernelRow * s.dilationHeight * layout.rowStride
                               + layout.column(kernelColumn * s.dilationWidth))
        }
    }

    /// Applies the epilogue to staged raw sums `[channel][block]` (pixels `blockStart ..<
    /// blockStart + blockPixels` of the chunk) and writes them to the NCHW output, one contiguous
    /// run per image and channel.
    func finishStaged(staging: UnsafeMutablePointer<Float>, block: Int, blockStart: Int, blockPixels: Int,
                              pixels: Int, firstChannel: Int, channelCount: Int, outputImageStride: Int,
                              output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
        var pixel = blockStart
        while pixel < blockStart + blockPixels {
            let image = pixel / pixels
            let within = pixel - image * pixels
            let count = min(pixels - within, blockStart + blockPixels - pixel)
            for channel in 0..<channelCount {
                let outputChannel = firstChannel + channel
                let offset = image * outputImageStride + outputChannel * pixels + within
                let epilogue = Epilogue(bias: bias + outputChannel, residual: residual, activation: activation)
                epilogue.finish(source: staging + channel * block + (pixel - blockStart),
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

/// Winograd F(2x2, 3x3) convolution for 3x3, stride-1, undilated, ungrouped layers.
///
/// Each 2x2 output tile is computed from its 4x4 input patch `d` as `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`,
/// which needs 16 multiplies per tile and channel pair instead of 36. Layout and steps, per chunk
/// of images and per block of whole tile rows:
/// 1. the chunk is copied zero-padded into an HWC buffer `[image][y][x][channel]` (channels
///    padded to a multiple of 16), so a tile's patch is 16 contiguous channel vectors;
/// 2. the input transform writes `V[ξ][tile][channel]` (ξ = 4 x 4 transform position);
/// 3. 16 GEMMs `M[tile][ξ][o] = Σ_c V[ξ][tile][c] U[ξ][c][o]` run on ``PixelBroadcastKernel``
///    (8 tiles x 32 output channels), `U` packed at init as `[ξ][panel][channel][32]`;
/// 4. the output transform writes raw sums to a `[channel][pixel]` staging block, which the
///    kernel's usual epilogue (bias, residual, activation) finishes row by row.
/// Every output element goes through the same fixed sequence of operations whatever the batch
/// size or block composition, so results are deterministic. Rounding differs from the direct
/// convolution (a few ulps more).
final class WinogradConvolution: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// Input channels rounded up to a multiple of 16 (the transform vectors).
    let channelStride: Int
    /// Output channels rounded up to a multiple of 32 (the GEMM panels).
    let outputStride: Int
    /// `U[ξ][panel][channel][32]`, zero for padded channels.
    private let transformedWeights: AlignedBuffer

    /// Whether a convolution of this geometry can use this algorithm.
    static func supports(_ s: Conv2DShape) -> Bool {
        s.kernelHeight == 3 && s.kernelWidth == 3 && s.strideHeight == 1 && s.strideWidth == 1
            && s.dilationHeight == 1 && s.dilationWidth == 1 && s.groups == 1
    }

    /// Transforms OIHW 3x3 weights: `U = G g Gᵀ` with `G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]`.
    init(shape: Conv2DShape, weights: [Float]) {
        inputChannels = shape.inputChannels
        outputChannels = shape.outputChannels
        channelStride = (inputChannels + 15) / 16 * 16
        outputStride = (outputChannels + 31) / 32 * 32
        let panels = outputStride / 32
        let storage = AlignedBuffer(count: 16 * panels * channelStride * 32)
        let channelStride = self.channelStride
        Self.forEachTransformedKernel(weights, outputs: outputChannels, inputs: inputChannels) { output, channel, u in
            for position in 0..<16 {
                let index = ((position * panels + output / 32) * channelStride + channel) * 32 + output % 32
                storage.pointer[index] = u[position]
            }
        }
        transformedWeights = storage
    }

    /// Calls `body(output, channel, u)` with `u = G g Gᵀ` (16 floats, see ``transformKernel(_:into:)``)
    /// for every 3x3 kernel `g` of OIHW `weights`, outputs outer, channels inner.
    static func forEachTransformedKernel(_ weights: [Float], outputs: Int, inputs: Int,
                                         _ body: (_ output: Int, _ channel: Int, _ u: UnsafePointer<Float>) -> Void) {
        weights.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { buffer in
                guard let u = buffer.baseAddress else { return }
                for output in 0..<outputs {
                    for channel in 0..<inputs {
                        transformKernel(base + (output * inputs + channel) * 9, into: u)
                        body(output, channel, UnsafePointer(u))
                    }
                }
            }
        }
    }

    /// `u[4 * row + column] = (G g Gᵀ)[row][column]` for one 3x3 kernel `g` (row-major, 9 floats),
    /// computed in Double: `temp = G g` (4 x 3), then `u = temp Gᵀ`, sums in increasing index order.
    static func transformKernel(_ g: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        // G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]; each entry is ((0 + G[i][0] x0) + G[i][1] x1) + G[i][2] x2.
        @inline(__always) func apply(_ x0: Double, _ x1: Double, _ x2: Double) -> (Double, Double, Double, Double) {
            ((0 + 1 * x0) + 0 * x1 + 0 * x2, (0 + 0.5 * x0) + 0.5 * x1 + 0.5 * x2,
             (0 + 0.5 * x0) + -0.5 * x1 + 0.5 * x2, (0 + 0 * x0) + 0 * x1 + 1 * x2)
        }
        @inline(__always) func store(_ row: Int, _ t: (Double, Double, Double)) {
            let transformed = apply(t.0, t.1, t.2)
            u[4 * row] = Float(transformed.0)
            u[4 * row + 1] = Float(transformed.1)
            u[4 * row + 2] = Float(transformed.2)
            u[4 * row + 3] = Float(transformed.3)
        }
        let column0 = apply(Double(g[0]), Double(g[3]), Double(g[6]))
        let column1 = apply(Double(g[1]), Double(g[4]), Double(g[7]))
        let column2 = apply(Double(g[2]), Double(g[5]), Double(g[8]))
        store(0, (column0.0, column1.0, column2.0))
        store(1, (column0.1, column1.1, column2.1))
        store(2, (column0.2, column1.2, column2.2))
        store(3, (column0.3, column1.3, column2.3))
    }

    /// Sizes of one `run` at an input size.
    struct Plan {
        var outputHeight: Int
        var outputWidth: Int
        var tilesY: Int
        var tilesX: Int
        var chunkImages: Int
        var hwcHeight: Int
        var hwcWidth: Int
        /// Tile rows per block and the tile capacity of a block (a multiple of 8).
        var rowsPerBlock: Int
        var blockTiles: Int
        /// Output pixels a block can cover.
        var blockPixels: Int
        var hwcCount: Int
        var transformedCount: Int
        var productCount: Int
        var stagingCount: Int
        var totalCount: Int { 16 + hwcCount + transformedCount + productCount + stagingCount + channelStrideTable + 64 }
        var channelStrideTable: Int
    }

    func plan(kernel: Conv2DKernel, height: Int, width: Int) -> Plan {
        let (outputHeight, outputWidth) = kernel.outputSize(height: height, width: width)
        let tilesY = (outputHeight + 1) / 2
        let tilesX = (outputWidth + 1) / 2
        let chunkImages = kernel.imagesPerChunk(outputPixels: outputHeight * outputWidth)
        let hwcHeight = 2 * tilesY + 2
        let hwcWidth = 2 * tilesX + 2
        // Keep V (16 x tiles x channels floats) around 512 KB.
        let targetTiles = max(8, 8192 / channelStride)
        let rowsPerBlock = max(1, targetTiles / tilesX)
        let blockTiles = (rowsPerBlock * tilesX + 7) / 8 * 8
        let blockPixels = rowsPerBlock * 2 * outputWidth
        return Plan(outputHeight: outputHeight, outputWidth: outputWidth, tilesY: tilesY, tilesX: tilesX,
                    chunkImages: chunkImages, hwcHeight: hwcHeight, hwcWidth: hwcWidth,
                    rowsPerBlock: rowsPerBlock, blockTiles: blockTiles, blockPixels: blockPixels,
                    hwcCount: chunkImages * hwcHeight * hwcWidth * channelStride,
                    transformedCount: 16 * blockTiles * channelStride,
                    productCount: blockTiles * 16 * outputStride,
                    stagingCount: outputChannels * blockPixels,
                    channelStrideTable: channelStride)
    }

    /// Runs the convolution; see ``Conv2DKernel/run(input:batch:height:width:output:residual:scratch:)``.
    func run(kernel: Conv2DKernel, input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
             output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
             scratch: UnsafeMutablePointer<Float>) {
        typealias V = SIMD16<Float>
        let s = kernel.shape
        let p = plan(kernel: kernel, height: height, width: width)
        let pixels = p.outputHeight * p.outputWidth
        let outputImageStride = outputChannels * pixels
        let inputImageStride = inputChannels * height * width
        let hwcImage = p.hwcHeight * p.hwcWidth * channelStride
        let panels = outputStride / 32
        let channelBlocks = channelStride / 16
        let outputBlocks = (outputChannels + 15) / 16

        let aligned = scratch + ((64 - Int(bitPattern: scratch) & 63) & 63) / MemoryLayout<Float>.stride
        let hwc = aligned
        let transformed = hwc + p.hwcCount
        let products = transformed + p.transformedCount
        let staging = products + p.productCount
        let table = staging + p.stagingCount
        table.withMemoryRebound(to: Int32.self, capacity: channelStride) { offsets in
            for channel in 0..<channelStride { offsets[channel] = Int32(channel) }
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 8) { basesBuffer in
                guard let bases = basesBuffer.baseAddress else { return }
                var chunkStart = 0
                while chunkStart < batch {
                    let images = min(p.chunkImages, batch - chunkStart)
                    // 1. Zero-padded HWC copy: hwc[image][y][x][c] = input[c][y - padTop][x - padLeft].
                    hwc.update(repeating: 0, count: images * hwcImage)
                    for image in 0..<images {
                        let source = input + (chunkStart + image) * inputImageStride
                        let target = hwc + image * hwcImage
                        for y in 0..<p.hwcHeight {
                            let inputRow = y - s.padTop
                            if inputRow < 0 || inputRow >= height { continue }
                            let firstX = max(0, s.padLeft)
                            let lastX = min(p.hwcWidth, width + s.padLeft)
                            if firstX >= lastX { continue }
                            // Channel-inner: contiguous stores, loads one plane apart (L1-resident lines).
                            let line = source + inputRow * width - s.padLeft
                            let planeStride = height * width
                            for x in firstX..<lastX {
                                let pixel = target + (y &* p.hwcWidth &+ x) &* channelStride
                                let column = line + x
                                for channel in 0..<inputChannels {
                                    pixel[channel] = column[channel &* planeStride]
                                }
                            }
                        }
                    }
                    let chunkOutput = output + chunkStart * outputImageStride
                    let chunkResidual = residual.map { $0 + chunkStart * outputImageStride }
                    let tileRows = images * p.tilesY
                    var firstRow = 0
                    while firstRow < tileRows {
                        let rows = min(p.rowsPerBlock, tileRows - firstRow)
                        let tiles = rows * p.tilesX
                        let groups = (tiles + 7) / 8
                        // 2. Input transform Bᵀ d B, 16 channels at a time.
                        for localTile in 0..<(groups * 8) {
                            let tile = min(localTile, tiles - 1)
                            let tileRow = firstRow + tile / p.tilesX
                            let image = tileRow / p.tilesY
                            let ty = tileRow - image * p.tilesY
                            let tx = tile % p.tilesX
                            let patch = hwc + image * hwcImage + (2 * ty * p.hwcWidth + 2 * tx) * channelStride
                            for block in 0..<channelBlocks {
                                @inline(__always) func d(_ i: Int, _ j: Int) -> V {
                                    UnsafeRawPointer(patch + (i * p.hwcWidth + j) * channelStride + block * 16)
                                        .loadUnaligned(as: V.self)
                                }
                                // Rows: e = Bᵀ d, Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]].
                                let d00 = d(0, 0), d01 = d(0, 1), d02 = d(0, 2), d03 = d(0, 3)
                                let d10 = d(1, 0), d11 = d(1, 1), d12 = d(1, 2), d13 = d(1, 3)
                                let d20 = d(2, 0), d21 = d(2, 1), d22 = d(2, 2), d23 = d(2, 3)
                                let d30 = d(3, 0), d31 = d(3, 1), d32 = d(3, 2), d33 = d(3, 3)
                                let e00 = d00 - d20, e01 = d01 - d21, e02 = d02 - d22, e03 = d03 - d23
                                let e10 = d10 + d20, e11 = d11 + d21, e12 = d12 + d22, e13 = d13 + d23
                                let e20 = d20 - d10, e21 = d21 - d11, e22 = d22 - d12, e23 = d23 - d13
                                let e30 = d10 - d30, e31 = d11 - d31, e32 = d12 - d32, e33 = d13 - d33
                                // Columns: v = e B.
                                let target = transformed + localTile * channelStride + block * 16
                                let step = p.blockTiles * channelStride
                                @inline(__always) func put(_ position: Int, _ value: V) {
                                    UnsafeMutableRawPointer(target + position * step).storeBytes(of: value, as: V.self)
                                }
                                put(0, e00 - e02); put(1, e01 + e02); put(2, e02 - e01); put(3, e01 - e03)
                                put(4, e10 - e12); put(5, e11 + e12); put(6, e12 - e11); put(7, e11 - e13)
                                put(8, e20 - e22); put(9, e21 + e22); put(10, e22 - e21); put(11, e21 - e23)
                                put(12, e30 - e32); put(13, e31 + e32); put(14, e32 - e31); put(15, e31 - e33)
                            }
                        }
                        // 3. 16 GEMMs: products[tile][ξ][o].
                        for position in 0..<16 {
                            let rowsOfV = transformed + position * p.blockTiles * channelStride
                            for panel in 0..<panels {
                                let weights = UnsafePointer(transformedWeights.pointer
                                                            + (position * panels + panel) * channelStride * 32)
                                for group in 0..<groups {
                                    for lane in 0..<8 {
                                        bases[lane] = UnsafePointer(rowsOfV + (group * 8 + lane) * channelStride)
                                    }
                                    PixelBroadcastKernel.compute(
                                        depth: channelStride, weights: weights, offsets: UnsafePointer(offsets),
                                        bases: UnsafePointer(bases),
                                        tile: products + ((group * 8) * 16 + position) * outputStride + panel * 32,
                                        tileStride: 16 * outputStride)
                                }
                            }
                        }
                        // 4. Output transform Aᵀ m A into staging[o][pixel - blockStart].
                        let firstImage = firstRow / p.tilesY
                        let blockStart = firstImage * pixels + 2 * (firstRow - firstImage * p.tilesY) * p.outputWidth
                        for tile in 0..<tiles {
                            let tileRow = firstRow + tile / p.tilesX
                            let image = tileRow / p.tilesY
                            let ty = tileRow - image * p.tilesY
                            let tx = tile % p.tilesX
                            let m = products + tile * 16 * outputStride
                            let base = image * pixels + 2 * ty * p.outputWidth + 2 * tx - blockStart
                            let hasRight = 2 * tx + 1 < p.outputWidth
                            let hasBelow = 2 * ty + 1 < p.outputHeight
                            for block in 0..<outputBlocks {
                                @inline(__always) func load(_ position: Int) -> V {
                                    UnsafeRawPointer(m + position * outputStride + block * 16).loadUnaligned(as: V.self)
                                }
                                // Rows: r = Aᵀ m, Aᵀ = [[1,1,1,0],[0,1,-1,-1]]; then y = r A.
                                let m00 = load(0), m01 = load(1), m02 = load(2), m03 = load(3)
                                let m10 = load(4), m11 = load(5), m12 = load(6), m13 = load(7)
                                let m20 = load(8), m21 = load(9), m22 = load(10), m23 = load(11)
                                let m30 = load(12), m31 = load(13), m32 = load(14), m33 = load(15)
                                let r00 = m00 + m10 + m20, r01 = m01 + m11 + m21
                                let r02 = m02 + m12 + m22, r03 = m03 + m13 + m23
                                let r10 = m10 - m20 - m30, r11 = m11 - m21 - m31
                                let r12 = m12 - m22 - m32, r13 = m13 - m23 - m33
                                let y00 = r00 + r01 + r02, y01 = r01 - r02 - r03
                                let y10 = r10 + r11 + r12, y11 = r11 - r12 - r13
                                let count = min(16, outputChannels - block * 16)
                                for lane in 0..<count {
                                    let row = staging + (block * 16 + lane) * p.blockPixels + base
                                    row[0] = y00[lane]
                                    if hasRight { row[1] = y01[lane] }
                                    if hasBelow {
                                        row[p.outputWidth] = y10[lane]
                                        if hasRight { row[p.outputWidth + 1] = y11[lane] }
                                    }
                                }
                            }
                        }
                        let lastTileRow = firstRow + rows - 1
                        let lastImage = lastTileRow / p.tilesY
                        let lastY = min(2 * (lastTileRow - lastImage * p.tilesY) + 2, p.outputHeight)
                        let blockEnd = lastImage * pixels + lastY * p.outputWidth
                        kernel.finishStaged(staging: staging, block: p.blockPixels, blockStart: blockStart,
                                            blockPixels: blockEnd - blockStart, pixels: pixels, firstChannel: 0,
                                            channelCount: outputChannels, outputImageStride: outputImageStride,
                                            output: chunkOutput, residual: chunkResidual)
                        firstRow += rows
                    }
                    chunkStart += images
                }
            }
        }
    }
}

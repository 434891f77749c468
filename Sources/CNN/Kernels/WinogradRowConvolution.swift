/// Winograd F(2x2, 3x3) vectorised along tiles, for 3x3, stride-1, undilated, ungrouped layers
/// with 8 to 64 input channels whose output width is a multiple of 32 and height even, or whose
/// output width is 16 and height a multiple of 4 (a vector then holds two tile rows of 8).
///
/// ``WinogradConvolution`` puts channels in its vectors, which needs an HWC copy and scatters its
/// output transform lane by lane; with 13 or 32 input channels that overhead ate the saved
/// multiplies.
/// Here the vectors hold 16 horizontally adjacent tiles of one channel, so every step is a
/// contiguous SIMD16 load or store:
/// 1. the image is copied zero-padded into even and odd column planes
///    `[parity][channel][paddedRow][paddedColumn / 2]`;
/// 2. the input transform `Bᵀ d B` reads a 4x4 patch of 16 adjacent tiles as 16 contiguous
///    vectors (columns 2t + j are plane `j % 2` at `t + j / 2`) and writes `V[ξ][channel][tile]`
///    (ξ = 4 x 4 position);
/// 3. 16 GEMMs `M[ξ][o][tile] = Σ_c U[ξ][o][c] V[ξ][c][tile]` on ``RowVectorKernel``
///    (8 output channels x 32 tiles, `U` packed at init as `[ξ][panel][channel][8]`);
/// 4. the output transform `Aᵀ m A` yields the four pixels of 16 tiles per channel; the epilogue
///    (bias, residual, activation) runs on them, then they are interleaved into two output rows,
///    or, with a fused 2x2 max pool, reduced to the 16 pooled pixels in registers.
/// Each output element goes through a fixed sequence of operations that depends on the geometry
/// only, so results are deterministic; rounding differs from the direct kernels by a few ulps.
final class WinogradRowConvolution: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// Output channels rounded up to a multiple of 8 (the GEMM panels).
    let outputStride: Int
    /// `U[ξ][panel][channel][8]`, zero for padded output channels.
    private let transformedWeights: AlignedBuffer

    /// Whether a layer of this geometry uses this algorithm at sizes it handles (chosen by
    /// measurement on the small CNN's layers and ResNet-18's layer1; wider layers and other sizes
    /// use ``WinogradConvolution``).
    static func supports(_ s: Conv2DShape) -> Bool {
        WinogradConvolution.supports(s) && s.inputChannels >= 8 && s.inputChannels <= 64 && s.outputChannels >= 32
    }

    /// Whether an input of this size is handled: output width a multiple of 32 and height even
    /// (a vector holds 16 tiles of one tile row), or width 16 and height a multiple of 4 (a vector
    /// holds the 8 tiles of two tile rows).
    static func handles(_ s: Conv2DShape, height: Int, width: Int) -> Bool {
        let (outputHeight, outputWidth) = s.outputSize(height: height, width: width)
        if outputWidth == 16 { return outputHeight >= 4 && outputHeight % 4 == 0 }
        return outputWidth >= 32 && outputWidth % 32 == 0 && outputHeight >= 2 && outputHeight % 2 == 0
    }

    /// Transforms OIHW 3x3 weights: `U = G g Gᵀ` with `G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]`.
    init(shape: Conv2DShape, weights: [Float]) {
        inputChannels = shape.inputChannels
        outputChannels = shape.outputChannels
        outputStride = (outputChannels + 7) / 8 * 8
        let panels = outputStride / 8
        let storage = AlignedBuffer(count: 16 * panels * inputChannels * 8)
        let inputChannels = self.inputChannels
        WinogradConvolution.forEachTransformedKernel(weights, outputs: outputChannels, inputs: inputChannels) { output, channel, u in
            for position in 0..<16 {
                let index = ((position * panels + output / 8) * inputChannels + channel) * 8 + output % 8
                storage.pointer[index] = u[position]
            }
        }
        transformedWeights = storage
    }

    /// Sizes of one `run` at an input size.
    struct Plan {
        var outputHeight: Int
        var outputWidth: Int
        var tilesY: Int
        var tilesX: Int
        var paddedWidth: Int
        var paddedHeight: Int
        /// Floats per row of an even/odd column plane, and per plane.
        var halfWidth: Int
        var halfPlane: Int
        /// Tile rows per block and the tile stride of the V and M rows (a multiple of 32).
        var rowsPerBlock: Int
        var tileStride: Int
        var paddedCount: Int
        /// Floats between the ξ planes of V, padded by 128 bytes so that the 16 vectors of one
        /// tile group do not all fall into the same L1 set (4 KB-multiple strides would).
        var transformedPositionStride: Int
        /// Floats between the output channels of M (`[o][ξ][tile]`), padded likewise.
        var productChannelStride: Int
        var transformedCount: Int
        var productCount: Int
        var totalCount: Int { 16 + paddedCount + transformedCount + productCount + 8 * max(tilesX, 16) + inputChannelsTable + 64 }
        var inputChannelsTable: Int
    }

    func plan(shape: Conv2DShape, height: Int, width: Int) -> Plan {
        let (outputHeight, outputWidth) = shape.outputSize(height: height, width: width)
        let tilesY = outputHeight / 2
        let tilesX = outputWidth / 2
        let paddedWidth = width + shape.padLeft + shape.padRight
        let paddedHeight = height + shape.padTop + shape.padBottom
        let halfWidth = (paddedWidth + 1) / 2
        // Keep V (16 x channels x tiles floats) around 128 KB; whole 16-tile groups.
        let rowsPerTileGroup = max(1, 16 / tilesX)
        let rowsPerBlock = min(tilesY, max(1, 2048 / inputChannels / tilesX / rowsPerTileGroup) * rowsPerTileGroup)
        let tileStride = (rowsPerBlock * tilesX + 31) / 32 * 32
        return Plan(outputHeight: outputHeight, outputWidth: outputWidth, tilesY: tilesY, tilesX: tilesX,
                    paddedWidth: paddedWidth, paddedHeight: paddedHeight, halfWidth: halfWidth,
                    halfPlane: paddedHeight * halfWidth, rowsPerBlock: rowsPerBlock, tileStride: tileStride,
                    paddedCount: 2 * inputChannels * paddedHeight * halfWidth + 2 * paddedWidth + 64,
                    transformedPositionStride: inputChannels * tileStride + 32,
                    productChannelStride: 16 * tileStride + 32,
                    transformedCount: 16 * (inputChannels * tileStride + 32),
                    productCount: outputStride * (16 * tileStride + 32),
                    inputChannelsTable: inputChannels)
    }

    /// Runs the convolution (see ``Conv2DKernel/run(input:batch:height:width:output:residual:scratch:)``);
    /// with `maxPool`, writes the 2x2/2 max pool of the finished output instead (`residual` must
    /// then be nil), with the arithmetic of ``Conv2DKernel/runMaxPooled(input:batch:height:width:output:scratch:)``.
    func run(kernel: Conv2DKernel, input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
             output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, maxPool: Bool,
             scratch: UnsafeMutablePointer<Float>) {
        typealias V = SIMD16<Float>
        let s = kernel.shape
        let p = plan(shape: s, height: height, width: width)
        let pixels = p.outputHeight * p.outputWidth
        let outputImageStride = outputChannels * (maxPool ? p.tilesY * p.tilesX : pixels)
        let inputImageStride = inputChannels * height * width
        let panels = outputStride / 8
        let bias = kernel.bias
        let activation = kernel.activation
        let isRelu = activation == .relu

        let aligned = scratch + ((64 - Int(bitPattern: scratch) & 63) & 63) / MemoryLayout<Float>.stride
        let padded = aligned
        let transformed = padded + p.paddedCount + ((16 - p.paddedCount % 16) % 16)
        let products = transformed + p.transformedCount
        let rowBuffers = products + p.productCount
        let unitTiles = max(p.tilesX, 16)
        let table = rowBuffers + 8 * unitTiles
        let positionStride = p.transformedPositionStride
        let productChannelStride = p.productChannelStride
        table.withMemoryRebound(to: Int32.self, capacity: inputChannels) { offsets in
            for channel in 0..<inputChannels { offsets[channel] = Int32(channel * p.tileStride) }
            let halves = padded
            let line = padded + 2 * inputChannels * p.halfPlane
            // The zero borders of the padded line never change.
            line.update(repeating: 0, count: 2 * p.halfWidth)
            let oddPlanes = halves + inputChannels * p.halfPlane
            for image in 0..<batch {
                // 1. Even and odd column planes of the zero-padded image.
                let source = input + image * inputImageStride
                for channel in 0..<inputChannels {
                    let even = halves + channel * p.halfPlane, odd = oddPlanes + channel * p.halfPlane
                    for row in 0..<p.paddedHeight {
                        let inputRow = row - s.padTop
                        if inputRow < 0 || inputRow >= height {
                            (even + row * p.halfWidth).update(repeating: 0, count: p.halfWidth)
                            (odd + row * p.halfWidth).update(repeating: 0, count: p.halfWidth)
                            continue
                        }
                        FloatCopy.copy(from: source + (channel * height + inputRow) * width, to: line + s.padLeft,
                                       count: width)
                        Self.deinterleave(line, even: even + row * p.halfWidth, odd: odd + row * p.halfWidth,
                                          count: p.halfWidth)
                    }
                }
                let imageOutput = output + image * outputImageStride
                let imageResidual = residual.map { $0 + image * outputImageStride }
                var firstRow = 0
                while firstRow < p.tilesY {
                    let rows = min(p.rowsPerBlock, p.tilesY - firstRow)
                    let tiles = rows * p.tilesX
                    // 2. Input transform, 16 tiles of one channel at a time.
                    for channel in 0..<inputChannels {
                        let even = UnsafeRawPointer(halves + channel * p.halfPlane)
                        let odd = UnsafeRawPointer(oddPlanes + channel * p.halfPlane)
                        var tile = 0
                        while tile < tiles {
                            let row = tile / p.tilesX, tileX = tile - row * p.tilesX
                            let patchTop = 2 * (firstRow + row) * p.halfWidth
                            @inline(__always) func d(_ i: Int, _ j: Int) -> V {
                                let plane = j % 2 == 0 ? even : odd
                                let offset = (patchTop + i * p.halfWidth + tileX + j / 2) * 4
                                if p.tilesX >= 16 { return plane.loadUnaligned(fromByteOffset: offset, as: V.self) }
                                // Two tile rows of 8: the second starts two padded rows lower.
                                return V(lowHalf: plane.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
                                         highHalf: plane.loadUnaligned(fromByteOffset: offset + 8 * p.halfWidth,
                                                                       as: SIMD8<Float>.self))
                            }
                            do {
                                let d00 = d(0, 0), d01 = d(0, 1), d02 = d(0, 2), d03 = d(0, 3)
                                let d10 = d(1, 0), d11 = d(1, 1), d12 = d(1, 2), d13 = d(1, 3)
                                let d20 = d(2, 0), d21 = d(2, 1), d22 = d(2, 2), d23 = d(2, 3)
                                let d30 = d(3, 0), d31 = d(3, 1), d32 = d(3, 2), d33 = d(3, 3)
                                // Rows: e = Bᵀ d, Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]].
                                let e00 = d00 - d20, e01 = d01 - d21, e02 = d02 - d22, e03 = d03 - d23
                                let e10 = d10 + d20, e11 = d11 + d21, e12 = d12 + d22, e13 = d13 + d23
                                let e20 = d20 - d10, e21 = d21 - d11, e22 = d22 - d12, e23 = d23 - d13
                                let e30 = d10 - d30, e31 = d11 - d31, e32 = d12 - d32, e33 = d13 - d33
                                // Columns: v = e B.
                                let target = UnsafeMutableRawPointer(transformed + channel * p.tileStride + tile)
                                @inline(__always) func put(_ position: Int, _ value: V) {
                                    target.storeBytes(of: value, toByteOffset: position * positionStride * 4, as: V.self)
                                }
                                put(0, e00 - e02); put(1, e01 + e02); put(2, e02 - e01); put(3, e01 - e03)
                                put(4, e10 - e12); put(5, e11 + e12); put(6, e12 - e11); put(7, e11 - e13)
                                put(8, e20 - e22); put(9, e21 + e22); put(10, e22 - e21); put(11, e21 - e23)
                                put(12, e30 - e32); put(13, e31 + e32); put(14, e32 - e31); put(15, e31 - e33)
                            }
                            tile += 16
                        }
                    }
                    // 3. 16 GEMMs: products[o][ξ][tile], 8 channels x 32 tiles per call (tiles past the
                    // block's last are computed from stale rows and never read).
                    for position in 0..<16 {
                        let rowsOfV = UnsafePointer(transformed + position * positionStride)
                        for panel in 0..<panels {
                            let weights = UnsafePointer(transformedWeights.pointer
                                                        + (position * panels + panel) * inputChannels * 8)
                            let target = products + panel * 8 * productChannelStride + position * p.tileStride
                            var tile = 0
                            while tile < tiles {
                                RowVectorKernel.computeRaw(depth: inputChannels, weights: weights,
                                                           offsets: UnsafePointer(offsets), first: rowsOfV + tile,
                                                           second: rowsOfV + tile + 16, target: target + tile,
                                                           ldt: productChannelStride)
                                tile += 32
                            }
                        }
                    }
                    // 4. Output transform Aᵀ m A and epilogue, 16 tiles of one channel at a time.
                    for outputChannel in 0..<outputChannels {
                        let m = UnsafeRawPointer(products + outputChannel * productChannelStride)
                        let biasVector = V(repeating: bias[outputChannel])
                        var tile = 0
                        while tile < tiles {
                            let row = tile / p.tilesX, tileX = tile - row * p.tilesX
                            let tileY = firstRow + row
                            do {
                                @inline(__always) func load(_ position: Int) -> V {
                                    m.loadUnaligned(fromByteOffset: (position * p.tileStride + tile) * 4, as: V.self)
                                }
                                let m00 = load(0), m01 = load(1), m02 = load(2), m03 = load(3)
                                let m10 = load(4), m11 = load(5), m12 = load(6), m13 = load(7)
                                let m20 = load(8), m21 = load(9), m22 = load(10), m23 = load(11)
                                let m30 = load(12), m31 = load(13), m32 = load(14), m33 = load(15)
                                // Rows: r = Aᵀ m, Aᵀ = [[1,1,1,0],[0,1,-1,-1]]; then y = r A.
                                let r00 = m00 + m10 + m20, r01 = m01 + m11 + m21
                                let r02 = m02 + m12 + m22, r03 = m03 + m13 + m23
                                let r10 = m10 - m20 - m30, r11 = m11 - m21 - m31
                                let r12 = m12 - m22 - m32, r13 = m13 - m23 - m33
                                let y00 = r00 + r01 + r02, y01 = r01 - r02 - r03
                                let y10 = r10 + r11 + r12, y11 = r11 - r12 - r13
                                if maxPool {
                                    @inline(__always) func maximum(_ x: V, _ y: V) -> V { x.replacing(with: y, where: y .>= x) }
                                    var f00 = y00 + biasVector, f01 = y01 + biasVector
                                    var f10 = y10 + biasVector, f11 = y11 + biasVector
                                    if isRelu {
                                        f00 = FusedActivation.relu(f00); f01 = FusedActivation.relu(f01)
                                        f10 = FusedActivation.relu(f10); f11 = FusedActivation.relu(f11)
                                    } else {
                                        f00 = activation.apply(simd: f00); f01 = activation.apply(simd: f01)
                                        f10 = activation.apply(simd: f10); f11 = activation.apply(simd: f11)
                                    }
                                    let pooled = maximum(maximum(f00, f10), maximum(f01, f11))
                                    let target = imageOutput + (outputChannel * p.tilesY + tileY) * p.tilesX + tileX
                                    UnsafeMutableRawPointer(target).storeBytes(of: pooled, as: V.self)
                                } else {
                                    // Finished values of the group's output rows go to even/odd column
                                    // buffers (`unitTiles` tiles: one tile row, or two of 8), interleaved
                                    // into the output once the unit is complete (a vectorised loop;
                                    // per-vector interleaves went through memory).
                                    let unit = tile % unitTiles
                                    if unit == 0, let imageResidual {
                                        for k in 0..<(unitTiles / p.tilesX) {
                                            let offset = outputChannel * pixels + 2 * (tileY + k) * p.outputWidth
                                            let buffers = rowBuffers + k * p.tilesX
                                            Self.deinterleave(imageResidual + offset, even: buffers + 4 * unitTiles,
                                                              odd: buffers + 5 * unitTiles, count: p.tilesX)
                                            Self.deinterleave(imageResidual + offset + p.outputWidth,
                                                              even: buffers + 6 * unitTiles, odd: buffers + 7 * unitTiles,
                                                              count: p.tilesX)
                                        }
                                    }
                                    @inline(__always) func buffer(_ index: Int) -> UnsafeMutableRawPointer {
                                        UnsafeMutableRawPointer(rowBuffers + index * unitTiles + unit)
                                    }
                                    // Same arithmetic as Epilogue.finish: (sum + bias) + residual, then the activation.
                                    var v00 = y00 + biasVector, v01 = y01 + biasVector
                                    var v10 = y10 + biasVector, v11 = y11 + biasVector
                                    if imageResidual != nil {
                                        v00 += buffer(4).load(as: V.self); v01 += buffer(5).load(as: V.self)
                                        v10 += buffer(6).load(as: V.self); v11 += buffer(7).load(as: V.self)
                                    }
                                    if isRelu {
                                        v00 = FusedActivation.relu(v00); v01 = FusedActivation.relu(v01)
                                        v10 = FusedActivation.relu(v10); v11 = FusedActivation.relu(v11)
                                    } else {
                                        v00 = activation.apply(simd: v00); v01 = activation.apply(simd: v01)
                                        v10 = activation.apply(simd: v10); v11 = activation.apply(simd: v11)
                                    }
                                    buffer(0).storeBytes(of: v00, as: V.self); buffer(1).storeBytes(of: v01, as: V.self)
                                    buffer(2).storeBytes(of: v10, as: V.self); buffer(3).storeBytes(of: v11, as: V.self)
                                    if unit + 16 == unitTiles {
                                        let firstTileY = tileY - unit / p.tilesX
                                        for k in 0..<(unitTiles / p.tilesX) {
                                            let offset = outputChannel * pixels + 2 * (firstTileY + k) * p.outputWidth
                                            let buffers = rowBuffers + k * p.tilesX
                                            Self.interleave(even: buffers, odd: buffers + unitTiles,
                                                            into: imageOutput + offset, count: p.tilesX)
                                            Self.interleave(even: buffers + 2 * unitTiles, odd: buffers + 3 * unitTiles,
                                                            into: imageOutput + offset + p.outputWidth, count: p.tilesX)
                                        }
                                    }
                                }
                            }
                            tile += 16
                        }
                    }
                    firstRow += rows
                }
            }
        }
    }

    /// `even[i] = line[2 i]`, `odd[i] = line[2 i + 1]` for `i < count`.
    @inline(__always)
    static func deinterleave(_ line: UnsafePointer<Float>, even: UnsafeMutablePointer<Float>,
                             odd: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count {
            even[index] = line[2 &* index]
            odd[index] = line[2 &* index &+ 1]
        }
    }

    /// `target[2 i] = even[i]`, `target[2 i + 1] = odd[i]` for `i < count`.
    @inline(__always)
    static func interleave(even: UnsafePointer<Float>, odd: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
                           count: Int) {
        for index in 0..<count {
            target[2 &* index] = even[index]
            target[2 &* index &+ 1] = odd[index]
        }
    }
}

import CBLAS
import CNN

/// im2col / col2im for NCHW images and the matrix products of the convolution backward passes.
///
/// Columns of a chunk of `samples` images are `[channels * kH * kW][samples * outH * outW]`
/// row-major: row `(c * kH + i) * kW + j`, column `s * outH * outW + y * outW + x` holds
/// `image[s, c, y * strideH - padTop + i * dilationH, x * strideW - padLeft + j * dilationW]`
/// (zero outside the image).
enum Im2Col {
    /// Geometry of one im2col: image size, kernel, strides, pads (top/left), dilations, grid size.
    struct Geometry {
        var height: Int, width: Int
        var kernelHeight: Int, kernelWidth: Int
        var strideHeight: Int, strideWidth: Int
        var padTop: Int, padLeft: Int
        var dilationHeight: Int, dilationWidth: Int
        var outputHeight: Int, outputWidth: Int

        /// Valid output columns `first ..< last` for kernel column `j` (input column in range).
        @inline(__always)
        func columnRange(_ j: Int) -> (first: Int, last: Int, offset: Int) {
            let offset = j * dilationWidth - padLeft
            let first = offset >= 0 ? 0 : min(outputWidth, (-offset + strideWidth - 1) / strideWidth)
            let last = width - 1 - offset < 0 ? 0 : min(outputWidth, (width - 1 - offset) / strideWidth + 1)
            return (first, max(first, last), offset)
        }
    }

    /// Writes the columns of `channels` channels of `samples` images. `image` points at channel 0
    /// of sample 0; `sampleStride` is the distance between samples (in floats).
    static func im2col(_ g: Geometry, image: UnsafePointer<Float>, channels: Int, samples: Int, sampleStride: Int,
                       columns: UnsafeMutablePointer<Float>) {
        let pixels = g.outputHeight * g.outputWidth
        let rowLength = samples * pixels
        if g.outputWidth < 16 {
            gatherSmall(g, image: image, channels: channels, samples: samples, sampleStride: sampleStride, columns: columns)
            return
        }
        for c in 0..<channels {
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let row = columns + ((c * g.kernelHeight + i) * g.kernelWidth + j) * rowLength
                    let (first, last, offset) = g.columnRange(j)
                    for s in 0..<samples {
                        let plane = image + s * sampleStride + c * g.height * g.width
                        for y in 0..<g.outputHeight {
                            let target = row + s * pixels + y * g.outputWidth
                            let inputRow = y * g.strideHeight - g.padTop + i * g.dilationHeight
                            if inputRow < 0 || inputRow >= g.height {
                                for x in 0..<g.outputWidth { target[x] = 0 }
                                continue
                            }
                            for x in 0..<first { target[x] = 0 }
                            let source = plane + inputRow * g.width + offset
                            switch g.strideWidth {
                            case 1: copy(source + first, to: target + first, count: last - first)
                            case 2: copyEven(source, to: target, from: first, to: last)
                            default: for x in first..<last { target[x] = source[x &* g.strideWidth] }
                            }
                            for x in last..<g.outputWidth { target[x] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// ``im2col(_:image:channels:samples:sampleStride:columns:)`` for small outputs (rows of a few
    /// pixels, where per-row work dominates): each tap's input offset of every output pixel (-1 in
    /// the padding) is computed once, then every (channel, tap, image) is one gather over the pixels.
    static func gatherSmall(_ g: Geometry, image: UnsafePointer<Float>, channels: Int, samples: Int, sampleStride: Int,
                            columns: UnsafeMutablePointer<Float>) {
        let pixels = g.outputHeight * g.outputWidth
        let rowLength = samples * pixels
        let taps = g.kernelHeight * g.kernelWidth
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: taps * pixels) { buffer in
            guard let offsets = buffer.baseAddress else { return }
            tapOffsets(g, into: offsets)
            let plane = g.height * g.width
            for c in 0..<channels {
                for k in 0..<taps {
                    let row = columns + (c * taps + k) * rowLength
                    let tap = offsets + k * pixels
                    for s in 0..<samples {
                        let source = image + s * sampleStride + c * plane, target = row + s * pixels
                        for p in 0..<pixels {
                            let offset = Int(tap[p])
                            target[p] = offset >= 0 ? source[offset] : 0
                        }
                    }
                }
            }
        }
    }

    /// Each tap's input offset (within a plane) of every output pixel, -1 in the padding:
    /// `offsets[(i * kernelWidth + j) * pixels + y * outputWidth + x]`.
    static func tapOffsets(_ g: Geometry, into offsets: UnsafeMutablePointer<Int32>) {
        let pixels = g.outputHeight * g.outputWidth
        for i in 0..<g.kernelHeight {
            for j in 0..<g.kernelWidth {
                for y in 0..<g.outputHeight {
                    let row = y * g.strideHeight - g.padTop + i * g.dilationHeight
                    for x in 0..<g.outputWidth {
                        let column = x * g.strideWidth - g.padLeft + j * g.dilationWidth
                        let inside = row >= 0 && row < g.height && column >= 0 && column < g.width
                        offsets[(i * g.kernelWidth + j) * pixels + y * g.outputWidth + x] = inside ? Int32(row * g.width + column) : -1
                    }
                }
            }
        }
    }

    /// Copies `count` floats in SIMD16 vectors (rows are short: no call into memmove).
    @inline(__always)
    static func copy(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var x = 0
        while x + 16 <= count {
            UnsafeMutableRawPointer(target + x).storeBytes(of: UnsafeRawPointer(source + x).loadUnaligned(as: SIMD16<Float>.self),
                                                           as: SIMD16<Float>.self)
            x += 16
        }
        // Rows of small layers (2 ... 8 pixels) are mostly tails.
        if x + 8 <= count {
            UnsafeMutableRawPointer(target + x).storeBytes(of: UnsafeRawPointer(source + x).loadUnaligned(as: SIMD8<Float>.self),
                                                           as: SIMD8<Float>.self)
            x += 8
        }
        if x + 4 <= count {
            UnsafeMutableRawPointer(target + x).storeBytes(of: UnsafeRawPointer(source + x).loadUnaligned(as: SIMD4<Float>.self),
                                                           as: SIMD4<Float>.self)
            x += 4
        }
        while x < count { target[x] = source[x]; x += 1 }
    }

    /// `target[x] = source[2 * x]` for `first <= x < last`, 16 at a time from 32 loaded values
    /// (never reading past `source[2 * (last - 1)]`).
    @inline(__always)
    static func copyEven(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, from first: Int, to last: Int) {
        var x = first
        while x + 16 < last {
            let pair = UnsafeRawPointer(source + 2 &* x).loadUnaligned(as: SIMD32<Float>.self)
            UnsafeMutableRawPointer(target + x).storeBytes(of: pair.evenHalf, as: SIMD16<Float>.self)
            x += 16
        }
        while x < last { target[x] = source[2 &* x]; x += 1 }
    }

    /// Adds columns back into `channels` channels of `samples` images (the adjoint of
    /// ``im2col(_:image:channels:samples:sampleStride:columns:)``).
    static func col2im(_ g: Geometry, columns: UnsafePointer<Float>, channels: Int, samples: Int, sampleStride: Int,
                       image: UnsafeMutablePointer<Float>) {
        let pixels = g.outputHeight * g.outputWidth
        let rowLength = samples * pixels
        if g.outputWidth < 16 {
            // Small outputs: one scatter per (channel, tap, image), in the same order as below.
            let taps = g.kernelHeight * g.kernelWidth, plane = g.height * g.width
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: taps * pixels) { buffer in
                guard let offsets = buffer.baseAddress else { return }
                tapOffsets(g, into: offsets)
                for c in 0..<channels {
                    for k in 0..<taps {
                        let row = columns + (c * taps + k) * rowLength
                        let tap = offsets + k * pixels
                        for s in 0..<samples {
                            let source = row + s * pixels, target = image + s * sampleStride + c * plane
                            for p in 0..<pixels where tap[p] >= 0 { target[Int(tap[p])] += source[p] }
                        }
                    }
                }
            }
            return
        }
        for c in 0..<channels {
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let row = columns + ((c * g.kernelHeight + i) * g.kernelWidth + j) * rowLength
                    let (first, last, offset) = g.columnRange(j)
                    if first >= last { continue }
                    for s in 0..<samples {
                        let plane = image + s * sampleStride + c * g.height * g.width
                        for y in 0..<g.outputHeight {
                            let inputRow = y * g.strideHeight - g.padTop + i * g.dilationHeight
                            if inputRow < 0 || inputRow >= g.height { continue }
                            let source = row + s * pixels + y * g.outputWidth
                            let target = plane + inputRow * g.width + offset
                            if g.strideWidth == 1 {
                                for x in first..<last { target[x] += source[x] }
                            } else {
                                for x in first..<last { target[x * g.strideWidth] += source[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Row-major single-precision matrix products, single-threaded and deterministic (a result
/// depends only on the operands and the shapes, never on the thread that computes it).
///
/// Two implementations, chosen by shape (measured on the build machine, Zen 5, single thread):
/// the engine's SIMD ``Gemm/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` reaches
/// 180-210 GFLOP/s when `op(B)` is wide (the `W^T * dY` products of the convolution backward
/// pass; since its packing reads a transposed `B` row by row it also runs the weight gradients of
/// short chunks, `dY * columns^T`), but only 35-55 when `op(B)` has fewer than ~100 columns;
/// OpenBLAS reaches 80-120 on those (the Gemm layers' backward products).
enum Matrix {
    /// Makes OpenBLAS single-threaded once per process: each worker calls it on its own thread.
    private static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// `C = alpha * op(A) * op(B) + beta * C`. `engine` forces the implementation (nil: by shape).
    static func multiply(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, engine: Bool? = nil) {
        if m == 0 || n == 0 { return }
        let engineIsFaster = engine ?? (!transB && n >= 512 && m >= 64 && k <= 1024)
        if engineIsFaster || k == 0 {
            Gemm.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc)
            return
        }
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

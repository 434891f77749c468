/// The pixel-vectorised direct-convolution micro-kernel: 8 output channels x 32 output pixels.
///
/// The 32 pixels are two runs of 16 consecutive pixels (stride-1 or -2 convolutions whose output
/// width is a multiple of 16), so each reduction step loads two unaligned vectors straight from
/// the zero-padded input at `offsets[k]` (for stride 2 from its even/odd column planes, see
/// ``Conv2DKernel/PaddedLayout``) and broadcasts 8 weights (packed `[k][8]`). Results are stored as rows of 32 contiguous floats. Each element is
/// one fused multiply-add chain over `k` in increasing order, independent of every other element.
enum RowVectorKernel {
    /// Output channels per tile.
    static let channels = 8
    /// Pixels per tile: two SIMD16 vectors.
    static let pixels = 32

    /// The 16 accumulators of one tile: `cR0` / `cR1` are the first / second 16 pixels of channel `R`.
    struct Accumulators {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
    }

    /// The raw sums of one tile (see ``compute(depth:weights:offsets:first:second:target:ldt:epilogue:)``).
    @inline(__always)
    static func accumulate(depth: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int32>,
                           first: UnsafePointer<Float>, second: UnsafePointer<Float>) -> Accumulators {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        let firstRaw = UnsafeRawPointer(first)
        let secondRaw = UnsafeRawPointer(second)
        var w = weights
        for step in 0..<depth {
            let offset = Int(offsets[step]) &* 4
            let b0 = firstRaw.loadUnaligned(fromByteOffset: offset, as: V.self)
            let b1 = secondRaw.loadUnaligned(fromByteOffset: offset, as: V.self)
            var a = V(repeating: w[0])
            c00 = c00.addingProduct(a, b0); c01 = c01.addingProduct(a, b1)
            a = V(repeating: w[1])
            c10 = c10.addingProduct(a, b0); c11 = c11.addingProduct(a, b1)
            a = V(repeating: w[2])
            c20 = c20.addingProduct(a, b0); c21 = c21.addingProduct(a, b1)
            a = V(repeating: w[3])
            c30 = c30.addingProduct(a, b0); c31 = c31.addingProduct(a, b1)
            a = V(repeating: w[4])
            c40 = c40.addingProduct(a, b0); c41 = c41.addingProduct(a, b1)
            a = V(repeating: w[5])
            c50 = c50.addingProduct(a, b0); c51 = c51.addingProduct(a, b1)
            a = V(repeating: w[6])
            c60 = c60.addingProduct(a, b0); c61 = c61.addingProduct(a, b1)
            a = V(repeating: w[7])
            c70 = c70.addingProduct(a, b0); c71 = c71.addingProduct(a, b1)
            w += 8
        }
        return Accumulators(c00: c00, c01: c01, c10: c10, c11: c11, c20: c20, c21: c21, c30: c30, c31: c31,
                            c40: c40, c41: c41, c50: c50, c51: c51, c60: c60, c61: c61, c70: c70, c71: c71)
    }

    /// Computes one tile; row `r` (output channel `r` of the panel) goes to `target + r * ldt`.
    /// With an epilogue, rows are finished before the store (`epilogue.bias` at the tile's first
    /// channel, `epilogue.residual` at the element matching `target`, same row stride).
    @inline(__always)
    static func compute(depth: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int32>,
                        first: UnsafePointer<Float>, second: UnsafePointer<Float>,
                        target: UnsafeMutablePointer<Float>, ldt: Int,
                        epilogue: Epilogue? = nil) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        let firstRaw = UnsafeRawPointer(first)
        let secondRaw = UnsafeRawPointer(second)
        var w = weights
        for step in 0..<depth {
            let offset = Int(offsets[step]) &* 4
            let b0 = firstRaw.loadUnaligned(fromByteOffset: offset, as: V.self)
            let b1 = secondRaw.loadUnaligned(fromByteOffset: offset, as: V.self)
            var a = V(repeating: w[0])
            c00 = c00.addingProduct(a, b0); c01 = c01.addingProduct(a, b1)
            a = V(repeating: w[1])
            c10 = c10.addingProduct(a, b0); c11 = c11.addingProduct(a, b1)
            a = V(repeating: w[2])
            c20 = c20.addingProduct(a, b0); c21 = c21.addingProduct(a, b1)
            a = V(repeating: w[3])
            c30 = c30.addingProduct(a, b0); c31 = c31.addingProduct(a, b1)
            a = V(repeating: w[4])
            c40 = c40.addingProduct(a, b0); c41 = c41.addingProduct(a, b1)
            a = V(repeating: w[5])
            c50 = c50.addingProduct(a, b0); c51 = c51.addingProduct(a, b1)
            a = V(repeating: w[6])
            c60 = c60.addingProduct(a, b0); c61 = c61.addingProduct(a, b1)
            a = V(repeating: w[7])
            c70 = c70.addingProduct(a, b0); c71 = c71.addingProduct(a, b1)
            w += 8
        }
        if let epilogue {
            // Same arithmetic as Epilogue.finish: (sum + bias) + residual, then the activation.
            let bias0 = V(repeating: epilogue.bias[0])
            let bias1 = V(repeating: epilogue.bias[1])
            let bias2 = V(repeating: epilogue.bias[2])
            let bias3 = V(repeating: epilogue.bias[3])
            let bias4 = V(repeating: epilogue.bias[4])
            let bias5 = V(repeating: epilogue.bias[5])
            let bias6 = V(repeating: epilogue.bias[6])
            let bias7 = V(repeating: epilogue.bias[7])
            c00 += bias0; c01 += bias0
            c10 += bias1; c11 += bias1
            c20 += bias2; c21 += bias2
            c30 += bias3; c31 += bias3
            c40 += bias4; c41 += bias4
            c50 += bias5; c51 += bias5
            c60 += bias6; c61 += bias6
            c70 += bias7; c71 += bias7
            if let residual = epilogue.residual {
                let source = UnsafeRawPointer(residual)
                let rowBytes = ldt &* 4
                c00 += source.loadUnaligned(fromByteOffset: 0 &* rowBytes, as: V.self)
                c01 += source.loadUnaligned(fromByteOffset: 0 &* rowBytes &+ 64, as: V.self)
                c10 += source.loadUnaligned(fromByteOffset: 1 &* rowBytes, as: V.self)
                c11 += source.loadUnaligned(fromByteOffset: 1 &* rowBytes &+ 64, as: V.self)
                c20 += source.loadUnaligned(fromByteOffset: 2 &* rowBytes, as: V.self)
                c21 += source.loadUnaligned(fromByteOffset: 2 &* rowBytes &+ 64, as: V.self)
                c30 += source.loadUnaligned(fromByteOffset: 3 &* rowBytes, as: V.self)
                c31 += source.loadUnaligned(fromByteOffset: 3 &* rowBytes &+ 64, as: V.self)
                c40 += source.loadUnaligned(fromByteOffset: 4 &* rowBytes, as: V.self)
                c41 += source.loadUnaligned(fromByteOffset: 4 &* rowBytes &+ 64, as: V.self)
                c50 += source.loadUnaligned(fromByteOffset: 5 &* rowBytes, as: V.self)
                c51 += source.loadUnaligned(fromByteOffset: 5 &* rowBytes &+ 64, as: V.self)
                c60 += source.loadUnaligned(fromByteOffset: 6 &* rowBytes, as: V.self)
                c61 += source.loadUnaligned(fromByteOffset: 6 &* rowBytes &+ 64, as: V.self)
                c70 += source.loadUnaligned(fromByteOffset: 7 &* rowBytes, as: V.self)
                c71 += source.loadUnaligned(fromByteOffset: 7 &* rowBytes &+ 64, as: V.self)
            }
            switch epilogue.activation {
            case .identity:
                break
            case .relu:
                c00 = FusedActivation.relu(c00); c01 = FusedActivation.relu(c01)
                c10 = FusedActivation.relu(c10); c11 = FusedActivation.relu(c11)
                c20 = FusedActivation.relu(c20); c21 = FusedActivation.relu(c21)
                c30 = FusedActivation.relu(c30); c31 = FusedActivation.relu(c31)
                c40 = FusedActivation.relu(c40); c41 = FusedActivation.relu(c41)
                c50 = FusedActivation.relu(c50); c51 = FusedActivation.relu(c51)
                c60 = FusedActivation.relu(c60); c61 = FusedActivation.relu(c61)
                c70 = FusedActivation.relu(c70); c71 = FusedActivation.relu(c71)
            default:
                let activation = epilogue.activation
                c00 = activation.apply(simd: c00); c01 = activation.apply(simd: c01)
                c10 = activation.apply(simd: c10); c11 = activation.apply(simd: c11)
                c20 = activation.apply(simd: c20); c21 = activation.apply(simd: c21)
                c30 = activation.apply(simd: c30); c31 = activation.apply(simd: c31)
                c40 = activation.apply(simd: c40); c41 = activation.apply(simd: c41)
                c50 = activation.apply(simd: c50); c51 = activation.apply(simd: c51)
                c60 = activation.apply(simd: c60); c61 = activation.apply(simd: c61)
                c70 = activation.apply(simd: c70); c71 = activation.apply(simd: c71)
            }
        }
        let destination = UnsafeMutableRawPointer(target)
        let rowBytes = ldt &* 4
        destination.storeBytes(of: c00, toByteOffset: 0 &* rowBytes, as: V.self)
        destination.storeBytes(of: c01, toByteOffset: 0 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c10, toByteOffset: 1 &* rowBytes, as: V.self)
        destination.storeBytes(of: c11, toByteOffset: 1 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c20, toByteOffset: 2 &* rowBytes, as: V.self)
        destination.storeBytes(of: c21, toByteOffset: 2 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c30, toByteOffset: 3 &* rowBytes, as: V.self)
        destination.storeBytes(of: c31, toByteOffset: 3 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c40, toByteOffset: 4 &* rowBytes, as: V.self)
        destination.storeBytes(of: c41, toByteOffset: 4 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c50, toByteOffset: 5 &* rowBytes, as: V.self)
        destination.storeBytes(of: c51, toByteOffset: 5 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c60, toByteOffset: 6 &* rowBytes, as: V.self)
        destination.storeBytes(of: c61, toByteOffset: 6 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c70, toByteOffset: 7 &* rowBytes, as: V.self)
        destination.storeBytes(of: c71, toByteOffset: 7 &* rowBytes &+ 64, as: V.self)
    }

    /// ``compute(depth:weights:offsets:first:second:target:ldt:epilogue:)`` for
    /// contiguous pixel runs without an epilogue (Winograd GEMMs); a separate function so that the
    /// stride-2 kernel's code generation does not depend on these call sites.
    @inline(__always)
    static func computeRaw(depth: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int32>,
                           first: UnsafePointer<Float>, second: UnsafePointer<Float>,
                           target: UnsafeMutablePointer<Float>, ldt: Int) {
        typealias V = SIMD16<Float>
        let c = accumulate(depth: depth, weights: weights, offsets: offsets, first: first, second: second)
        let destination = UnsafeMutableRawPointer(target)
        let rowBytes = ldt &* 4
        destination.storeBytes(of: c.c00, toByteOffset: 0 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c01, toByteOffset: 0 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c10, toByteOffset: 1 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c11, toByteOffset: 1 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c20, toByteOffset: 2 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c21, toByteOffset: 2 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c30, toByteOffset: 3 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c31, toByteOffset: 3 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c40, toByteOffset: 4 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c41, toByteOffset: 4 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c50, toByteOffset: 5 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c51, toByteOffset: 5 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c60, toByteOffset: 6 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c61, toByteOffset: 6 &* rowBytes &+ 64, as: V.self)
        destination.storeBytes(of: c.c70, toByteOffset: 7 &* rowBytes, as: V.self)
        destination.storeBytes(of: c.c71, toByteOffset: 7 &* rowBytes &+ 64, as: V.self)
    }

    /// Computes one tile whose two pixel runs are the same 16 columns of two consecutive output
    /// rows, finishes it (bias, activation; no residual) and stores its 2x2/2 max pool: 8 values
    /// per channel, channel `r` at `target + r * ldt`. The pool is the unfused graph's arithmetic,
    /// `max(max(a, b), max(c, d))` with `max(x, y) = y >= x ? y : x`, the vertical pair first,
    /// so the results are bit-identical to a separate MaxPool.
    @inline(__always)
    static func computePooled(depth: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int32>,
                              upper: UnsafePointer<Float>, lower: UnsafePointer<Float>,
                              target: UnsafeMutablePointer<Float>, ldt: Int,
                              bias: UnsafePointer<Float>, activation: FusedActivation) {
        typealias V = SIMD16<Float>
        let sums = accumulate(depth: depth, weights: weights, offsets: offsets, first: upper, second: lower)
        @inline(__always) func maximum(_ x: V, _ y: V) -> V { x.replacing(with: y, where: y .>= x) }
        let isRelu = activation == .relu
        // Same arithmetic as Epilogue.finish without residual: (sum + bias), then the activation.
        @inline(__always) func finish(_ sum: V, _ bias: V) -> V {
            isRelu ? FusedActivation.relu(sum + bias) : activation.apply(simd: sum + bias)
        }
        // Two channels at a time: their vertical maxima side by side, unzipped into the left and
        // right column of each pair.
        @inline(__always) func pair(_ a0: V, _ a1: V, _ b0: V, _ b1: V, _ row: Int) {
            let top = V(repeating: bias[row]), bottom = V(repeating: bias[row + 1])
            let a = maximum(finish(a0, top), finish(a1, top))
            let b = maximum(finish(b0, bottom), finish(b1, bottom))
            let both = SIMD32<Float>(lowHalf: a, highHalf: b)
            let pooled = maximum(both.evenHalf, both.oddHalf)
            let destination = UnsafeMutableRawPointer(target + row &* ldt)
            destination.storeBytes(of: pooled.lowHalf, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(target + (row &+ 1) &* ldt).storeBytes(of: pooled.highHalf, as: SIMD8<Float>.self)
        }
        pair(sums.c00, sums.c01, sums.c10, sums.c11, 0)
        pair(sums.c20, sums.c21, sums.c30, sums.c31, 2)
        pair(sums.c40, sums.c41, sums.c50, sums.c51, 4)
        pair(sums.c60, sums.c61, sums.c70, sums.c71, 6)
    }
}

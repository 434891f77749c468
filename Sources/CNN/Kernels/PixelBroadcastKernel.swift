/// The channel-vectorised direct-convolution micro-kernel: 8 output pixels x 32 output channels.
///
/// Weights are packed `[k][32]` (32 output channels per reduction step, `k = (channel, kernelRow,
/// kernelColumn)`), the input is a zero-padded NCHW copy, and `offsets[k]` is the distance in
/// floats from a pixel's top-left tap to its tap `k`. For each step the kernel loads two weight
/// vectors and broadcasts one input value per pixel, so strides, dilations and image boundaries
/// cost nothing and no im2col buffer is built. Each element is one fused multiply-add chain over
/// `k` in increasing order, independent of every other element.
enum PixelBroadcastKernel {
    /// Pixels per tile.
    static let pixels = 8
    /// Output channels per tile: two SIMD16 vectors.
    static let channels = 32

    /// Computes one tile and stores pixel `p`'s 32 channels at `tile + p * tileStride`.
    ///
    /// - Parameters:
    ///   - bases: 8 pointers, each at the top-left tap of one pixel in the padded input.
    @inline(__always)
    static func compute(depth: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int32>,
                        bases: UnsafePointer<UnsafePointer<Float>>, tile: UnsafeMutablePointer<Float>,
                        tileStride: Int = 32) {
        typealias V = SIMD16<Float>
        let p0 = bases[0], p1 = bases[1], p2 = bases[2], p3 = bases[3]
        let p4 = bases[4], p5 = bases[5], p6 = bases[6], p7 = bases[7]
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        var weightPointer = UnsafeRawPointer(weights)
        for step in 0..<depth {
            let offset = Int(offsets[step])
            let w0 = weightPointer.loadUnaligned(as: V.self)
            let w1 = weightPointer.loadUnaligned(fromByteOffset: 64, as: V.self)
            var x = V(repeating: p0[offset])
            c00 = c00.addingProduct(x, w0); c01 = c01.addingProduct(x, w1)
            x = V(repeating: p1[offset])
            c10 = c10.addingProduct(x, w0); c11 = c11.addingProduct(x, w1)
            x = V(repeating: p2[offset])
            c20 = c20.addingProduct(x, w0); c21 = c21.addingProduct(x, w1)
            x = V(repeating: p3[offset])
            c30 = c30.addingProduct(x, w0); c31 = c31.addingProduct(x, w1)
            x = V(repeating: p4[offset])
            c40 = c40.addingProduct(x, w0); c41 = c41.addingProduct(x, w1)
            x = V(repeating: p5[offset])
            c50 = c50.addingProduct(x, w0); c51 = c51.addingProduct(x, w1)
            x = V(repeating: p6[offset])
            c60 = c60.addingProduct(x, w0); c61 = c61.addingProduct(x, w1)
            x = V(repeating: p7[offset])
            c70 = c70.addingProduct(x, w0); c71 = c71.addingProduct(x, w1)
            weightPointer += 128
        }
        let out = UnsafeMutableRawPointer(tile)
        let rowBytes = tileStride &* 4
        out.storeBytes(of: c00, toByteOffset: 0 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c01, toByteOffset: 0 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c10, toByteOffset: 1 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c11, toByteOffset: 1 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c20, toByteOffset: 2 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c21, toByteOffset: 2 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c30, toByteOffset: 3 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c31, toByteOffset: 3 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c40, toByteOffset: 4 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c41, toByteOffset: 4 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c50, toByteOffset: 5 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c51, toByteOffset: 5 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c60, toByteOffset: 6 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c61, toByteOffset: 6 &* rowBytes &+ 64, as: V.self)
        out.storeBytes(of: c70, toByteOffset: 7 &* rowBytes &+ 0, as: V.self); out.storeBytes(of: c71, toByteOffset: 7 &* rowBytes &+ 64, as: V.self)
    }
}

import CNN
import Config
import RasterIO

/// The one place where rasters become tensors.
///
/// Rasters arrive as ``RasterIO/RasterBuffer``s: band-sequential raw digital numbers (DN) of a read
/// window, UInt16 samples or Float32 values, `values[(band * height + row) * width + column]`,
/// with a per-pixel validity mask.
/// Models take NCHW Float32: `input[((n * C + c) * P + y) * P + x]` for patch `n`, channel `c` (the
/// contract's band order), patch row `y` and column `x`, normalized with the contract's per-band
/// affine transform `dn * scale[c] + offset[c]`. Invalid pixels (nodata, masked, outside the scene)
/// become 0, the normalized band mean, so that they do not push predictions anywhere.
public struct PatchTensorConverter: Sendable {
    /// Per-band multiplier applied to raw DN.
    public let scale: [Float]
    /// Per-band offset added after scaling.
    public let offset: [Float]
    /// Patch edge in pixels.
    public let patchSize: Int

    /// Uses the contract's normalization and patch size.
    public init(contract: ModelContract) {
        let affine = contract.normalization.affine
        self.init(scale: affine.scale, offset: affine.offset, patchSize: contract.patchSize)
    }

    /// Creates a converter from explicit per-band parameters.
    public init(scale: [Float], offset: [Float], patchSize: Int) {
        precondition(scale.count == offset.count, "one scale and one offset per band")
        self.scale = scale
        self.offset = offset
        self.patchSize = patchSize
    }

    /// Floats one patch occupies in an NCHW batch.
    public var patchElementCount: Int { scale.count * patchSize * patchSize }

    /// Copies one patch out of a read buffer into slot `index` of an NCHW batch, normalizing.
    ///
    /// - Parameters:
    ///   - buffer: band-sequential DN of a window whose top-left pixel is `bufferOrigin` in scene
    ///     pixels; its first bands must be the contract's, in order (later bands, such as a mask
    ///     layer, are ignored).
    ///   - patch: the patch window in scene pixels; it must lie inside the buffer's window.
    ///   - batch: NCHW storage with room for slot `index`.
    /// - Returns: the fraction of the patch's pixels that are valid (0...1).
    @discardableResult
    public func fill<Sample: RasterSample>(batch: UnsafeMutablePointer<Float>, index: Int, from buffer: RasterBuffer<Sample>,
                     bufferOrigin: (column: Int, row: Int), patch: RasterWindow) -> Double {
        precondition(buffer.bandCount >= scale.count, "buffer has \(buffer.bandCount) bands, the model \(scale.count)")
        let dx = patch.column - bufferOrigin.column, dy = patch.row - bufferOrigin.row
        precondition(dx >= 0 && dy >= 0 && dx + patchSize <= buffer.width && dy + patchSize <= buffer.height,
                     "patch \(patch) lies outside the read window")
        let p = patchSize, plane = buffer.width * buffer.height
        let destination = batch + index * patchElementCount
        var validCount = 0
        buffer.values.withUnsafeBufferPointer { values in
            buffer.validity.withUnsafeBufferPointer { validity in
                guard let v = values.baseAddress, let m = validity.baseAddress else { return }
                for y in 0..<p {
                    let mask = m + (dy + y) * buffer.width + dx
                    for x in 0..<p { validCount &+= Int(mask[x] != 0 ? 1 : 0) }
                }
                for c in 0..<scale.count {
                    let s = scale[c], o = offset[c]
                    for y in 0..<p {
                        let source = v + c * plane + (dy + y) * buffer.width + dx
                        let mask = m + (dy + y) * buffer.width + dx
                        let row = destination + (c * p + y) * p
                        if Sample.self == UInt16.self {
                            Self.convert(UnsafeRawPointer(source).assumingMemoryBound(to: UInt16.self), mask: mask, into: row,
                                         count: p, scale: s, offset: o)
                            continue
                        }
                        var x = 0
                        while x < p {
                            row[x] = mask[x] != 0 ? source[x].floatValue * s + o : 0
                            x += 1
                        }
                    }
                }
            }
        }
        return Double(validCount) / Double(p * p)
    }

    /// One row of UInt16 DN: `dn * scale + offset` where valid, 0 elsewhere (the same arithmetic
    /// as the generic path, in a loop the compiler vectorizes).
    @inline(never)
    static func convert(_ source: UnsafePointer<UInt16>, mask: UnsafePointer<UInt8>, into row: UnsafeMutablePointer<Float>,
                        count: Int, scale: Float, offset: Float) {
        for x in 0..<count {
            let value = Float(source[x]) * scale + offset
            row[x] = mask[x] != 0 ? value : 0
        }
    }
}

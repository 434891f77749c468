/// Pixels of a window for several bands, band-sequential Float32, with a per-pixel validity mask.
///
/// Layout: `values[(band * height + row) * width + column]`, rows top to bottom, columns left to
/// right, bands in the order they were requested. `validity[row * width + column]` is 1 where every
/// band holds real data and 0 where any band is nodata, masked, NaN or outside the raster. Invalid
/// pixels hold the band's nodata value (0 when the band declares none).
public struct BandBuffer: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let bandCount: Int
    /// Pixel values, band-sequential (see the type's layout).
    public var values: [Float]
    /// 1 = valid, 0 = invalid, one entry per pixel.
    public var validity: [UInt8]

    /// A buffer of the given size filled with zeros and marked invalid.
    public init(width: Int, height: Int, bandCount: Int) {
        self.width = width
        self.height = height
        self.bandCount = bandCount
        self.values = [Float](repeating: 0, count: width * height * bandCount)
        self.validity = [UInt8](repeating: 0, count: width * height)
    }

    /// Allocates a buffer and lets `fill` write its values and validity through pointers (the
    /// layout of the type); used by the readers' convenience methods.
    static func filled(width: Int, height: Int, bandCount: Int,
                       _ fill: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<UInt8>) throws -> Void) throws -> BandBuffer {
        var buffer = BandBuffer(width: width, height: height, bandCount: bandCount)
        try buffer.values.withUnsafeMutableBufferPointer { values in
            try buffer.validity.withUnsafeMutableBufferPointer { validity in
                guard let v = values.baseAddress, let m = validity.baseAddress else { return }
                try fill(v, m)
            }
        }
        return buffer
    }

    /// Number of pixels per band.
    public var pixelCount: Int { width * height }

    /// The value of `band` (0-based, in request order) at (`column`, `row`).
    public subscript(band: Int, column: Int, row: Int) -> Float {
        values[(band * height + row) * width + column]
    }

    /// True when the pixel at (`column`, `row`) is valid in every band.
    public func isValid(column: Int, row: Int) -> Bool {
        validity[row * width + column] != 0
    }

    /// The fraction of valid pixels, 0...1.
    public var validFraction: Double {
        guard pixelCount > 0 else { return 0 }
        var count = 0
        for v in validity where v != 0 { count += 1 }
        return Double(count) / Double(pixelCount)
    }
}

/// A sample type a raster window can be read as: Float32 for any band, UInt16 for Byte and UInt16
/// bands (Sentinel-2 digital numbers) at half the memory and without conversion.
public protocol RasterSample: RasterScalar, Numeric, Sendable {
    /// The sample as Float32 (exact for UInt16).
    var floatValue: Float { get }
    /// A band's nodata value as a sample, nil when it is not representable (it then never matches).
    static func nodataSample(_ value: Double) -> Self?
    /// True for NaN (floating-point samples only).
    var isNotANumber: Bool { get }
}

extension Float: RasterSample {
    @inlinable public var floatValue: Float { self }
    public static func nodataSample(_ value: Double) -> Float? { Float(value) }
    @inlinable public var isNotANumber: Bool { isNaN }
}

extension UInt16: RasterSample {
    @inlinable public var floatValue: Float { Float(self) }
    public static func nodataSample(_ value: Double) -> UInt16? { UInt16(exactly: value) }
    @inlinable public var isNotANumber: Bool { false }
}

/// Pixels of a window for several bands, band-sequential, with a per-pixel validity mask.
///
/// Layout: `values[(band * height + row) * width + column]`, rows top to bottom, columns left to
/// right, bands in the order they were requested. `validity[row * width + column]` is 1 where every
/// band holds real data and 0 where any band is nodata, masked, NaN or outside the raster. Invalid
/// pixels hold the band's nodata value (0 when the band declares none or it does not fit `Sample`).
public struct RasterBuffer<Sample: RasterSample>: Sendable, Equatable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var bandCount: Int
    /// Pixel values, band-sequential (see the type's layout).
    public var values: [Sample]
    /// 1 = valid, 0 = invalid, one entry per pixel.
    public var validity: [UInt8]

    /// A buffer of the given size filled with zeros and marked invalid.
    public init(width: Int, height: Int, bandCount: Int) {
        self.width = width
        self.height = height
        self.bandCount = bandCount
        self.values = [Sample](repeating: .zero, count: width * height * bandCount)
        self.validity = [UInt8](repeating: 0, count: width * height)
    }

    /// A zero-filled, invalid buffer whose storage can later hold `capacityPixels` pixels per
    /// band without reallocating (see ``resize(width:height:bandCount:)``).
    public init(width: Int, height: Int, bandCount: Int, capacityPixels: Int) {
        // Allocated at full capacity and shrunk: no temporary array, storage kept.
        self.init(width: max(capacityPixels, width * height), height: 1, bandCount: bandCount)
        resize(width: width, height: height, bandCount: bandCount)
    }

    /// Changes the buffer's size in place, reusing its storage when it is large enough (a
    /// recycled buffer serving a smaller edge window). Values and validity are undefined after a
    /// size change: fill them with ``withUnsafeMutablePointers(_:)``.
    public mutating func resize(width: Int, height: Int, bandCount: Int) {
        Self.setCount(of: &values, to: width * height * bandCount)
        Self.setCount(of: &validity, to: width * height)
        self.width = width
        self.height = height
        self.bandCount = bandCount
    }

    /// Shrinks or zero-extends `array` to `count` elements, keeping its capacity.
    private static func setCount<Element: Numeric>(of array: inout [Element], to count: Int) {
        if array.count > count {
            array.removeLast(array.count - count)
        } else if array.count < count {
            array.append(contentsOf: [Element](repeating: .zero, count: count - array.count))
        }
    }

    /// Pixels per band the storage holds without reallocating.
    public var capacityPixels: Int { bandCount == 0 ? 0 : min(values.capacity / bandCount, validity.capacity) }

    /// Allocates a buffer and lets `fill` write its values and validity through pointers (the
    /// layout of the type); used by the readers' convenience methods.
    static func filled(width: Int, height: Int, bandCount: Int,
                       _ fill: (UnsafeMutablePointer<Sample>, UnsafeMutablePointer<UInt8>) throws -> Void) throws -> RasterBuffer {
        var buffer = RasterBuffer(width: width, height: height, bandCount: bandCount)
        try buffer.withUnsafeMutablePointers(fill)
        return buffer
    }

    /// Gives `body` the values and validity storage (the type's layout) to fill in place, e.g.
    /// when reusing a buffer for another window of the same size. Empty buffers are not passed on.
    public mutating func withUnsafeMutablePointers(
        _ body: (UnsafeMutablePointer<Sample>, UnsafeMutablePointer<UInt8>) throws -> Void) rethrows {
        try values.withUnsafeMutableBufferPointer { values in
            try validity.withUnsafeMutableBufferPointer { validity in
                guard let v = values.baseAddress, let m = validity.baseAddress else { return }
                try body(v, m)
            }
        }
    }

    /// Number of pixels per band.
    public var pixelCount: Int { width * height }

    /// The value of `band` (0-based, in request order) at (`column`, `row`).
    public subscript(band: Int, column: Int, row: Int) -> Sample {
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

/// Float32 pixels of a window (any band type); see ``RasterBuffer``.
public typealias BandBuffer = RasterBuffer<Float>

/// UInt16 samples of a window of Byte or UInt16 bands (raw digital numbers); see ``RasterBuffer``.
public typealias SampleBuffer = RasterBuffer<UInt16>

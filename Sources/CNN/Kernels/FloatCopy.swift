/// Contiguous Float copies with SIMD16 loads and stores (no call into memmove for short rows).
enum FloatCopy {
    /// Copies `count` floats from `source` to `target` (the ranges must not overlap).
    @inline(__always)
    static func copy(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var index = 0
        while index + 16 <= count {
            let value = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(target + index).storeBytes(of: value, as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            target[index] = source[index]
            index += 1
        }
    }
}

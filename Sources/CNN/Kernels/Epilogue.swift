/// What a kernel does to a finished accumulator row before storing it: add a per-row bias, add a
/// residual of the output's layout, apply an activation, in that order.
///
/// `bias` points at the bias of the tile's first row; `residual` at the residual element that
/// corresponds to the tile's first output element (same row stride as the output).
struct Epilogue {
    var bias: UnsafePointer<Float>
    var residual: UnsafePointer<Float>?
    var activation: FusedActivation

    /// The fused result for 16 lanes of row `row`; `residualValue` is the residual vector for
    /// those lanes (ignored when there is no residual).
    @inline(__always)
    func finish(_ sum: SIMD16<Float>, row: Int, residualValue: SIMD16<Float>) -> SIMD16<Float> {
        var value = sum + SIMD16(repeating: bias[row])
        if residual != nil { value += residualValue }
        return activation.apply(simd: value)
    }

    /// Applies the epilogue to `count` (any count, tails padded to 16 lanes) raw sums of row `row`
    /// read from `source`, reading the residual at `residualRow`, and writes `destination`.
    /// `destination` may alias `source` or `residualRow` (each vector is read before it is written).
    @inline(__always)
    func finish(source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>, count: Int, row: Int,
                residualRow: UnsafePointer<Float>?) {
        var column = 0
        while column + 16 <= count {
            let sum = UnsafeRawPointer(source + column).loadUnaligned(as: SIMD16<Float>.self)
            let extra = residualRow.map { UnsafeRawPointer($0 + column).loadUnaligned(as: SIMD16<Float>.self) }
                ?? SIMD16<Float>()
            UnsafeMutableRawPointer(destination + column).storeBytes(
                of: finish(sum, row: row, residualValue: extra), as: SIMD16<Float>.self)
            column += 16
        }
        if column < count {
            var sum = SIMD16<Float>()
            var extra = SIMD16<Float>()
            for lane in 0..<(count - column) {
                sum[lane] = source[column + lane]
                if let residualRow { extra[lane] = residualRow[column + lane] }
            }
            let result = finish(sum, row: row, residualValue: extra)
            for lane in 0..<(count - column) { destination[column + lane] = result[lane] }
        }
    }
}

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
        // Specialise the loop for the common activations (same arithmetic as `apply(simd:)`).
        switch activation {
        case .identity:
            finishLoop(source: source, destination: destination, count: count, row: row, residualRow: residualRow) {
                FusedActivation.identity.apply(simd: $0)
            }
        case .relu:
            finishLoop(source: source, destination: destination, count: count, row: row, residualRow: residualRow) {
                FusedActivation.relu.apply(simd: $0)
            }
        default:
            let activation = self.activation
            finishLoop(source: source, destination: destination, count: count, row: row, residualRow: residualRow) {
                activation.apply(simd: $0)
            }
        }
    }

    @inline(__always)
    private func finishLoop(source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>, count: Int,
                            row: Int, residualRow: UnsafePointer<Float>?,
                            _ activate: (SIMD16<Float>) -> SIMD16<Float>) {
        let biasVector = SIMD16<Float>(repeating: bias[row])
        var column = 0
        if let residualRow {
            while column + 16 <= count {
                let sum = UnsafeRawPointer(source + column).loadUnaligned(as: SIMD16<Float>.self)
                let extra = UnsafeRawPointer(residualRow + column).loadUnaligned(as: SIMD16<Float>.self)
                var value = sum + biasVector
                value += extra
                UnsafeMutableRawPointer(destination + column).storeBytes(of: activate(value), as: SIMD16<Float>.self)
                column += 16
            }
        } else {
            while column + 16 <= count {
                let sum = UnsafeRawPointer(source + column).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(destination + column).storeBytes(of: activate(sum + biasVector),
                                                                         as: SIMD16<Float>.self)
                column += 16
            }
        }
        if column < count {
            var sum = SIMD16<Float>()
            var extra = SIMD16<Float>()
            for lane in 0..<(count - column) {
                sum[lane] = source[column + lane]
                if let residualRow { extra[lane] = residualRow[column + lane] }
            }
            var value = sum + biasVector
            if residualRow != nil { value += extra }
            let result = activate(value)
            for lane in 0..<(count - column) { destination[column + lane] = result[lane] }
        }
    }
}

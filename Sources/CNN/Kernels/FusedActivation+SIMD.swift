import Foundation

extension FusedActivation {
    /// max(0, x) on 16 lanes (NaN becomes 0); the one ReLU expression every kernel uses.
    @inline(__always)
    static func relu(_ v: SIMD16<Float>) -> SIMD16<Float> {
        v.replacing(with: 0, where: .!(v .> 0))
    }

    /// Applies the activation to 16 lanes. Every kernel epilogue goes through this function, tails
    /// included (padded to 16 lanes), so a value's result never depends on its position in a tile.
    @inline(__always)
    func apply(simd v: SIMD16<Float>) -> SIMD16<Float> {
        switch self {
        case .identity:
            return v
        case .relu:
            return Self.relu(v)
        case .leakyRelu(let alpha):
            return v.replacing(with: v * alpha, where: v .< 0)
        case .clip(let low, let high):
            return v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
        case .sigmoid:
            var result = v
            for lane in 0..<16 { result[lane] = 1 / (1 + Foundation.exp(-v[lane])) }
            return result
        case .hardSigmoid(let alpha, let beta):
            let t = v * alpha + beta
            return t.replacing(with: 0, where: t .< 0).replacing(with: 1, where: t .> 1)
        case .hardSwish:
            let t = v * Float(1.0 / 6.0) + 0.5
            return v * t.replacing(with: 0, where: t .< 0).replacing(with: 1, where: t .> 1)
        }
    }
}

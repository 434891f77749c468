import Foundation

/// Errors of augmentation settings or of a batch that cannot be augmented.
public enum AugmentationError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// A setting is outside its valid range.
    case invalidSetting(name: String, value: Double, expected: String)
    /// The inputs are not a rank-4 NCHW tensor.
    case notNCHW(shape: [Int])
    /// The targets are neither one per sample nor one per pixel.
    case targetLayout(targets: Int, samples: Int, pixels: Int)
    /// Quarter-turn rotations need square patches.
    case notSquare(height: Int, width: Int)
    /// The number of per-sample seeds differs from the batch size.
    case seedCount(seeds: Int, samples: Int)

    /// What is wrong and how to fix it, in one sentence.
    public var errorDescription: String? {
        switch self {
        case .invalidSetting(let name, let value, let expected):
            return "Augmentation setting \(name) = \(value) is invalid; use \(expected)."
        case .notNCHW(let shape):
            return "Augmentation needs NCHW inputs [N, C, H, W], got \(shape)."
        case .targetLayout(let targets, let samples, let pixels):
            return "A batch of \(samples) samples has \(targets) targets; augmentation needs one per sample (\(samples)) "
                + "or one per pixel (\(samples * pixels))."
        case .notSquare(let height, let width):
            return "90-degree rotations need square patches, got \(height)x\(width); turn rotations off or use square patches."
        case .seedCount(let seeds, let samples):
            return "\(seeds) augmentation seeds for \(samples) samples; pass one seed per sample."
        }
    }

    /// The same text as ``errorDescription``.
    public var description: String { errorDescription ?? "augmentation error" }
}

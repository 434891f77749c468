import RasterIO

/// The three parts of a dataset.
public enum DatasetSplit: String, Sendable, Codable, CaseIterable, Comparable {
    /// Samples the model is fitted on.
    case train
    /// Samples for model selection during training (early stopping, schedules).
    case validation
    /// Samples held back for the final accuracy assessment.
    case test

    /// Orders the splits train < validation < test.
    public static func < (a: DatasetSplit, b: DatasetSplit) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// A spatially disjoint train/validation/test split of a scene.
///
/// Every scene pixel belongs to one region: the validation strip if it lies in it, else the test
/// strip, else (with ``blocks``) the split drawn for its block, else training. A patch belongs to a
/// region only when the patch **grown by `ceil(buffer / 2)` pixels on every side** (clipped to the
/// scene) lies entirely in that region; patches that straddle a boundary are dropped. Two patches
/// of different splits are therefore separated by at least `buffer` pixels: no pixel of a
/// training patch lies within `buffer` pixels (default: one patch) of a validation or test patch.
public struct SpatialSplit: Sendable, Equatable, Codable {
    /// Which way a strip runs.
    public enum Axis: String, Sendable, Codable {
        /// The strip is a range of columns (a vertical band over all rows).
        case columns
        /// The strip is a range of rows (a horizontal band over all columns).
        case rows
    }

    /// A band of the scene held out as one split.
    public struct Strip: Sendable, Equatable, Codable {
        /// Columns or rows.
        public var axis: Axis
        /// Where the strip starts, as a fraction (0...1) of the scene's width (columns) or height (rows).
        public var start: Double
        /// The strip's width as a fraction (0...1) of the scene's width or height.
        public var fraction: Double

        /// A strip of `fraction` of the scene starting at `start` (fractions of the width or height).
        public init(axis: Axis, start: Double, fraction: Double) {
            self.axis = axis
            self.start = start
            self.fraction = fraction
        }

        /// The strip's pixel range along its axis for a scene of `length` pixels.
        func range(length: Int) -> Range<Int> {
            let a = Int((start * Double(length)).rounded()), b = Int(((start + fraction) * Double(length)).rounded())
            return max(0, a)..<min(length, max(a, b))
        }
    }

    /// Square blocks of the scene, each drawn at random (seeded) into a split: a spatial block
    /// checkerboard.
    public struct Blocks: Sendable, Equatable, Codable {
        /// Block edge in pixels.
        public var size: Int
        /// Probability that a block is validation.
        public var validationFraction: Double
        /// Probability that a block is test.
        public var testFraction: Double
        /// Seed of the draw; the same seed gives the same blocks.
        public var seed: UInt64

        /// Blocks of `size` x `size` pixels (from the scene's top-left pixel), each validation with
        /// probability `validationFraction`, test with `testFraction`, else training.
        public init(size: Int, validationFraction: Double, testFraction: Double = 0, seed: UInt64 = 0) {
            self.size = size
            self.validationFraction = validationFraction
            self.testFraction = testFraction
            self.seed = seed
        }

        /// The split of block (`bx`, `by`): a SplitMix64 hash of the block and seed, as a uniform
        /// number in [0, 1), compared with the fractions.
        func split(blockColumn bx: Int, blockRow by: Int) -> DatasetSplit {
            var z = seed &+ UInt64(bitPattern: Int64(bx)) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: Int64(by)) &* 0xC2B2_AE3D_27D4_EB4F
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let u = Double(z >> 11) * (1.0 / 9_007_199_254_740_992.0)
            if u < validationFraction { return .validation }
            if u < validationFraction + testFraction { return .test }
            return .train
        }
    }

    /// The validation strip, if any.
    public var validation: Strip?
    /// The test strip, if any.
    public var test: Strip?
    /// The block checkerboard for pixels outside both strips, if any.
    public var blocks: Blocks?
    /// Minimum distance in pixels between patches of different splits; nil = the patch size.
    public var buffer: Int?

    /// Creates a split; with no strip and no blocks everything is training.
    public init(validation: Strip? = nil, test: Strip? = nil, blocks: Blocks? = nil, buffer: Int? = nil) {
        self.validation = validation
        self.test = test
        self.blocks = blocks
        self.buffer = buffer
    }

    /// Everything is training data.
    public static let none = SpatialSplit()

    /// A validation strip of the last `fraction` of the columns (the east of a north-up scene).
    public static func eastStrip(fraction: Double) -> SpatialSplit {
        SpatialSplit(validation: Strip(axis: .columns, start: 1 - fraction, fraction: fraction))
    }

    /// - Throws: ``TrainingDataError/invalidOption(option:value:reason:)`` naming the bad option.
    public func validate() throws {
        for (name, strip) in [("split.validation", validation), ("split.test", test)] {
            guard let strip else { continue }
            guard strip.start >= 0, strip.fraction > 0, strip.start + strip.fraction <= 1 + 1e-9 else {
                throw TrainingDataError.invalidOption(option: name, value: "start \(strip.start), fraction \(strip.fraction)",
                                                      reason: "the strip must lie within the scene: start >= 0, fraction > 0, start + fraction <= 1")
            }
        }
        if let blocks {
            guard blocks.size > 0 else {
                throw TrainingDataError.invalidOption(option: "split.blocks.size", value: "\(blocks.size)", reason: "must be a positive number of pixels")
            }
            guard blocks.validationFraction >= 0, blocks.testFraction >= 0, blocks.validationFraction + blocks.testFraction < 1 else {
                throw TrainingDataError.invalidOption(option: "split.blocks", value: "validation \(blocks.validationFraction), test \(blocks.testFraction)",
                                                      reason: "fractions must be >= 0 and sum to less than 1 (the rest is training)")
            }
        }
        if let buffer, buffer < 1 {
            throw TrainingDataError.invalidOption(option: "split.buffer", value: "\(buffer)", reason: "must be at least 1 pixel so that patches of different splits never touch")
        }
    }

    /// True when the split puts everything in training.
    public var isTrainingOnly: Bool { validation == nil && test == nil && blocks == nil }

    /// The region of scene pixel (`column`, `row`) in a `width` x `height` scene.
    public func region(column: Int, row: Int, width: Int, height: Int) -> DatasetSplit {
        func inside(_ strip: Strip) -> Bool {
            switch strip.axis {
            case .columns: return strip.range(length: width).contains(column)
            case .rows: return strip.range(length: height).contains(row)
            }
        }
        if let validation, inside(validation) { return .validation }
        if let test, inside(test) { return .test }
        if let blocks { return blocks.split(blockColumn: column / blocks.size, blockRow: row / blocks.size) }
        return .train
    }

    /// The split of a patch, or nil when the patch grown by `ceil(buffer / 2)` (clipped to the
    /// scene) touches more than one region.
    public func split(of patch: RasterWindow, width: Int, height: Int, patchSize: Int) -> DatasetSplit? {
        let margin = ((buffer ?? patchSize) + 1) / 2
        guard let area = patch.expanded(by: margin).intersection(RasterWindow(width: width, height: height)) else { return nil }
        // Regions are constant between strip and block boundaries: test one point per cell.
        var xs: Set<Int> = [area.column], ys: Set<Int> = [area.row]
        for strip in [validation, test].compactMap({ $0 }) {
            let r = strip.range(length: strip.axis == .columns ? width : height)
            for b in [r.lowerBound, r.upperBound] {
                if strip.axis == .columns, b > area.column, b < area.columnEnd { xs.insert(b) }
                if strip.axis == .rows, b > area.row, b < area.rowEnd { ys.insert(b) }
            }
        }
        if let blocks {
            var x = (area.column / blocks.size + 1) * blocks.size
            while x < area.columnEnd { xs.insert(x); x += blocks.size }
            var y = (area.row / blocks.size + 1) * blocks.size
            while y < area.rowEnd { ys.insert(y); y += blocks.size }
        }
        var found: DatasetSplit?
        for x in xs {
            for y in ys {
                let r = region(column: x, row: y, width: width, height: height)
                if let found, found != r { return nil }
                found = r
            }
        }
        return found
    }
}

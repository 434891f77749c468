import CNN

/// How a patch gets its single class label.
public enum PatchLabelRule: String, Sendable, Codable, CaseIterable {
    /// The most frequent class among the patch's labelled valid pixels; ties go to the lowest
    /// class index.
    case majority
    /// The class of the centre pixel: patch column `size / 2`, row `size / 2` (for an even size,
    /// the pixel right of and below the geometric centre). A patch whose centre pixel is
    /// unlabelled or invalid is rejected.
    case centre
}

/// Which patches of a scene become samples, and what they are labelled with.
///
/// Patches are `patchSize` x `patchSize` windows of the scene grid whose top-left pixels are at
/// scene pixel offsets (column, row) = (i * stride, j * stride) and lie entirely inside the scene
/// (no padding). A pixel is *valid* when every stacked band holds data there (the scene reader's
/// validity mask) and *labelled* when it is valid and carries a class.
public struct PatchSampling: Sendable, Equatable, Codable {
    /// Patch edge in pixels.
    public var patchSize: Int
    /// Distance in pixels between the top-left corners of neighbouring patches (may be smaller
    /// than, equal to or larger than the patch size).
    public var stride: Int
    /// How a patch's class is chosen.
    public var labelRule: PatchLabelRule
    /// Minimum fraction (0...1) of the patch's pixels that must be labelled.
    public var minLabelledFraction: Double
    /// Minimum fraction (0...1) of the patch's pixels that must be valid.
    public var minValidFraction: Double

    /// Creates sampling options; `stride` defaults to the patch size (adjacent patches).
    public init(patchSize: Int, stride: Int? = nil, labelRule: PatchLabelRule = .majority,
                minLabelledFraction: Double = 0.5, minValidFraction: Double = 1.0) {
        self.patchSize = patchSize
        self.stride = stride ?? patchSize
        self.labelRule = labelRule
        self.minLabelledFraction = minLabelledFraction
        self.minValidFraction = minValidFraction
    }

    /// - Throws: ``TrainingDataError/invalidOption(option:value:reason:)`` naming the bad option.
    public func validate() throws {
        guard patchSize > 0 else {
            throw TrainingDataError.invalidOption(option: "patch_size", value: "\(patchSize)", reason: "must be a positive number of pixels")
        }
        guard stride > 0 else {
            throw TrainingDataError.invalidOption(option: "stride", value: "\(stride)", reason: "must be a positive number of pixels")
        }
        guard (0...1).contains(minLabelledFraction) else {
            throw TrainingDataError.invalidOption(option: "min_labelled_fraction", value: "\(minLabelledFraction)", reason: "must be between 0 and 1")
        }
        guard (0...1).contains(minValidFraction) else {
            throw TrainingDataError.invalidOption(option: "min_valid_fraction", value: "\(minValidFraction)", reason: "must be between 0 and 1")
        }
    }

    /// Top-left offsets of the patches along an axis of `length` pixels.
    func starts(length: Int) -> [Int] {
        guard length >= patchSize else { return [] }
        return Array(Swift.stride(from: 0, through: length - patchSize, by: stride))
    }
}

/// Why candidate patches were not kept (counts per reason), for reports.
public struct RejectionCounts: Sendable, Equatable, Codable {
    /// Fewer valid pixels than ``PatchSampling/minValidFraction``.
    public var tooFewValid = 0
    /// Fewer labelled pixels than ``PatchSampling/minLabelledFraction`` (or none at all).
    public var tooFewLabelled = 0
    /// ``PatchLabelRule/centre``: the centre pixel is unlabelled or invalid.
    public var centreUnlabelled = 0
    /// The patch (grown by half the split buffer) crosses a split boundary.
    public var splitBuffer = 0

    /// No rejections.
    public init() {}

    /// All rejections.
    public var total: Int { tooFewValid + tooFewLabelled + centreUnlabelled + splitBuffer }

    var description: String {
        "\(tooFewValid) with too few valid pixels, \(tooFewLabelled) with too few labelled pixels, \(centreUnlabelled) with an unlabelled centre, \(splitBuffer) in split buffers"
    }
}

/// What a dataset's targets are.
public enum TargetKind: String, Sendable, Codable, CaseIterable {
    /// One class per patch: `TrainingBatch.targets` has `N` entries.
    case patchClass
    /// One class per pixel: `TrainingBatch.targets` has `N * size * size` entries, row-major per
    /// patch; unlabelled and invalid pixels are ``PatchDataset/ignoreIndex`` (-1).
    case pixelClasses

    /// The model task these targets train.
    public var task: ModelContract.Task {
        switch self {
        case .patchClass: return .patchClassification
        case .pixelClasses: return .segmentation
        }
    }
}

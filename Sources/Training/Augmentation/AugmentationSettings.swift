/// Which random augmentations training applies to each sample, and how strongly.
///
/// Geometric augmentations (flips, quarter turns) move pixels, and per-pixel segmentation
/// targets move with them; photometric ones (brightness, noise) change only the inputs. They act
/// on the normalized inputs a ``SampleSource`` delivers.
public struct AugmentationSettings: Codable, Sendable, Equatable {
    /// Mirror left-right with probability 1/2.
    public var horizontalFlip: Bool
    /// Mirror top-bottom with probability 1/2.
    public var verticalFlip: Bool
    /// Rotate by 0, 90, 180 or 270 degrees, each with probability 1/4 (square patches only).
    public var quarterTurns: Bool
    /// Multiplies each sample by a factor drawn uniformly from `[1 − brightness, 1 + brightness]`;
    /// 0 turns it off. In [0, 1).
    public var brightness: Float
    /// Standard deviation of zero-mean Gaussian noise added to every input value; 0 turns it
    /// off. At least 0.
    public var noiseStandardDeviation: Float

    /// Creates settings; everything is off by default.
    public init(horizontalFlip: Bool = false, verticalFlip: Bool = false, quarterTurns: Bool = false,
                brightness: Float = 0, noiseStandardDeviation: Float = 0) {
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
        self.quarterTurns = quarterTurns
        self.brightness = brightness
        self.noiseStandardDeviation = noiseStandardDeviation
    }

    /// No augmentation.
    public static let none = AugmentationSettings()

    private enum CodingKeys: String, CodingKey {
        case horizontalFlip, verticalFlip, quarterTurns, brightness, noiseStandardDeviation
    }

    /// Decodes settings; absent keys are off.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(horizontalFlip: try c.decodeIfPresent(Bool.self, forKey: .horizontalFlip) ?? false,
                  verticalFlip: try c.decodeIfPresent(Bool.self, forKey: .verticalFlip) ?? false,
                  quarterTurns: try c.decodeIfPresent(Bool.self, forKey: .quarterTurns) ?? false,
                  brightness: try c.decodeIfPresent(Float.self, forKey: .brightness) ?? 0,
                  noiseStandardDeviation: try c.decodeIfPresent(Float.self, forKey: .noiseStandardDeviation) ?? 0)
    }

    /// True when nothing is enabled.
    public var isIdentity: Bool {
        !horizontalFlip && !verticalFlip && !quarterTurns && brightness == 0 && noiseStandardDeviation == 0
    }

    /// Checks the ranges.
    /// - Throws: ``AugmentationError/invalidSetting(name:value:expected:)``.
    public func validate() throws {
        guard brightness.isFinite, brightness >= 0, brightness < 1 else {
            throw AugmentationError.invalidSetting(name: "brightness", value: Double(brightness), expected: "a value in [0, 1)")
        }
        guard noiseStandardDeviation.isFinite, noiseStandardDeviation >= 0 else {
            throw AugmentationError.invalidSetting(name: "noiseStandardDeviation", value: Double(noiseStandardDeviation),
                                                   expected: "a value >= 0")
        }
    }
}

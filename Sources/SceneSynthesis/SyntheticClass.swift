import RasterIO

/// One land-cover class of a synthetic scene: its label name and colour, its mean surface
/// reflectance in every Sentinel-2 band, how it is placed in the landscape and how much it varies.
///
/// Reflectances are unitless (0...1, L2A bottom-of-atmosphere, see ``ReferenceSpectra``), one per
/// band in ESA order (``SentinelBand/all``: B01...B08, B8A, B09, B10, B11, B12). The class mean
/// spectrum of a generated scene equals ``reflectance``: every variation applied around it
/// (patch brightness, per-band jitter, texture, sensor noise) has zero mean.
public struct SyntheticClass: Equatable, Sendable, Codable {
    /// How the class enters the landscape besides its share of patches.
    public enum Placement: String, Equatable, Sendable, Codable {
        /// Only as patches (fields, forest stands, towns) chosen by ``landscapeWeight`` and ``patchWeight``.
        case patches
        /// Also drawn as lakes and rivers (the first class with this placement gets them).
        case waterBodies
        /// Also drawn as a shore belt around lakes (the first class with this placement gets it).
        case lakeShores
    }

    /// Category name written into the label raster (e.g. `"tree cover"`).
    public var name: String
    /// Colour in the label raster's colour table.
    public var color: RGBColor
    /// Mean reflectance per band, 13 values in ESA order (``SentinelBand/all``).
    public var reflectance: [Float]
    /// Lakes and rivers, lake shores or patches only.
    public var placement: Placement
    /// Relative share of landscape regions (about 2.5 km across) dominated by this class; 0 = never
    /// dominant. Regions of one class cluster at scales of tens of kilometres.
    public var landscapeWeight: Double
    /// Relative weight when a patch (about 400 m across) departs from its region's dominant class.
    public var patchWeight: Double
    /// Probability (0...1) that a patch in a region dominated by this class has this class.
    public var coherence: Double
    /// Half-range of the per-patch brightness factor: each patch multiplies the spectrum by
    /// `1 + patchVariation * u` with `u` uniform in -1...1.
    public var patchVariation: Float
    /// Amplitude of the within-patch texture: the spectrum is multiplied by `1 + texture * t`
    /// with `t` a zero-mean value-noise field in -1...1 (wavelengths 40 m and 160 m).
    public var texture: Float

    /// - Throws: ``SynthesisError/invalidClass(name:reason:)`` when the spectrum does not have 13
    ///   finite values in -0.1...2, or a weight or variation is negative or not finite.
    public init(name: String, color: RGBColor, reflectance: [Float], placement: Placement = .patches,
                landscapeWeight: Double, patchWeight: Double, coherence: Double = 0.7,
                patchVariation: Float = 0.12, texture: Float = 0.1) throws {
        guard reflectance.count == SentinelBand.all.count else {
            throw SynthesisError.invalidClass(name: name, reason: "\(reflectance.count) reflectances given; give one per band in ESA order (\(SentinelBand.all.joined(separator: ",")))")
        }
        guard reflectance.allSatisfy({ $0.isFinite && $0 >= -0.1 && $0 <= 2 }) else {
            throw SynthesisError.invalidClass(name: name, reason: "reflectances must be finite and within -0.1...2 (unitless, not DN)")
        }
        guard landscapeWeight.isFinite, landscapeWeight >= 0, patchWeight.isFinite, patchWeight >= 0 else {
            throw SynthesisError.invalidClass(name: name, reason: "landscape and patch weights must be finite and >= 0")
        }
        guard coherence.isFinite, (0...1).contains(coherence) else {
            throw SynthesisError.invalidClass(name: name, reason: "coherence must lie in 0...1, not \(coherence)")
        }
        guard patchVariation.isFinite, (0..<1).contains(patchVariation), texture.isFinite, (0..<1).contains(texture) else {
            throw SynthesisError.invalidClass(name: name, reason: "patch variation and texture must lie in 0..<1 (relative amplitudes)")
        }
        self.name = name
        self.color = color
        self.reflectance = reflectance
        self.placement = placement
        self.landscapeWeight = landscapeWeight
        self.patchWeight = patchWeight
        self.coherence = coherence
        self.patchVariation = patchVariation
        self.texture = texture
    }

    /// Builds the built-in classes, whose arguments are known to be valid.
    fileprivate init(builtIn name: String, hex: String, reflectance: [Float], placement: Placement,
                     landscapeWeight: Double, patchWeight: Double, coherence: Double,
                     patchVariation: Float, texture: Float) {
        self.name = name
        self.color = RGBColor(hex: hex) ?? RGBColor(red: 0, green: 0, blue: 0)
        self.reflectance = reflectance
        self.placement = placement
        self.landscapeWeight = landscapeWeight
        self.patchWeight = patchWeight
        self.coherence = coherence
        self.patchVariation = patchVariation
        self.texture = texture
    }

    /// The eight default classes, in label order 0...7: water, tree cover, cropland, grassland,
    /// built-up, bare / sparse vegetation, herbaceous wetland, shrubland. Names and colours follow
    /// the ESA WorldCover legend (facts/sentinel2.md section 4.1); spectra are
    /// ``ReferenceSpectra`` (section 2.3, B10 from section 2.2).
    public static let defaults: [SyntheticClass] = [
        SyntheticClass(builtIn: "water", hex: "#0064c8", reflectance: ReferenceSpectra.water, placement: .waterBodies,
                       landscapeWeight: 0, patchWeight: 0.01, coherence: 0.9, patchVariation: 0.05, texture: 0.03),
        SyntheticClass(builtIn: "tree cover", hex: "#006400", reflectance: ReferenceSpectra.treeCover, placement: .patches,
                       landscapeWeight: 0.30, patchWeight: 0.25, coherence: 0.9, patchVariation: 0.10, texture: 0.12),
        SyntheticClass(builtIn: "cropland", hex: "#f096ff", reflectance: ReferenceSpectra.cropland, placement: .patches,
                       landscapeWeight: 0.32, patchWeight: 0.25, coherence: 0.75, patchVariation: 0.20, texture: 0.08),
        SyntheticClass(builtIn: "grassland", hex: "#ffff4c", reflectance: ReferenceSpectra.grassland, placement: .patches,
                       landscapeWeight: 0.15, patchWeight: 0.25, coherence: 0.6, patchVariation: 0.15, texture: 0.10),
        SyntheticClass(builtIn: "built-up", hex: "#fa0000", reflectance: ReferenceSpectra.builtUp, placement: .patches,
                       landscapeWeight: 0.08, patchWeight: 0.06, coherence: 0.8, patchVariation: 0.15, texture: 0.20),
        SyntheticClass(builtIn: "bare / sparse vegetation", hex: "#b4b4b4", reflectance: ReferenceSpectra.bare, placement: .patches,
                       landscapeWeight: 0.04, patchWeight: 0.05, coherence: 0.6, patchVariation: 0.15, texture: 0.10),
        SyntheticClass(builtIn: "herbaceous wetland", hex: "#0096a0", reflectance: ReferenceSpectra.wetland, placement: .lakeShores,
                       landscapeWeight: 0.03, patchWeight: 0.03, coherence: 0.6, patchVariation: 0.15, texture: 0.15),
        SyntheticClass(builtIn: "shrubland", hex: "#ffbb22", reflectance: ReferenceSpectra.shrubland, placement: .patches,
                       landscapeWeight: 0.08, patchWeight: 0.10, coherence: 0.6, patchVariation: 0.12, texture: 0.12),
    ]

    /// The first `count` default classes (1...8), in label order.
    /// - Throws: ``SynthesisError/invalidOption(option:reason:)`` for `classes` outside 1...8.
    public static func defaults(count: Int) throws -> [SyntheticClass] {
        guard (1...defaults.count).contains(count) else {
            throw SynthesisError.invalidOption(option: "classes", reason: "\(count) classes requested; the built-in legend has 1...\(defaults.count) (water, tree cover, cropland, grassland, built-up, bare, wetland, shrubland, in that order)")
        }
        return Array(defaults.prefix(count))
    }
}

/// Typical Sentinel-2 reflectance spectra the default classes are built from, 13 values in ESA
/// band order (B01...B08, B8A, B09, B10, B11, B12), unitless.
///
/// Source: /work/shared/facts/sentinel2.md, section 2.3 ("Typical L2A surface-reflectance
/// profiles", Esri Sentinel-2 Explorer, BOA reflectance): rows Trees, Healthy Vegetation, Dry
/// Vegetation, Paved Surface, Bare Soil, Turbid Water, Clear Water and Cloud, copied unchanged.
/// Those profiles carry no B10 (L2A products have none); the B10 (cirrus) values come from
/// section 2.2 (EuroSAT per-class mean L1C DN / 10000, the only per-class B10 figures there:
/// about 0.001 over every surface). Grassland and herbaceous wetland are not in section 2.3;
/// they are derived as equal mixtures (grassland = healthy + dry vegetation, wetland = turbid
/// water + healthy vegetation), following section 2.5's suggestions.
public enum ReferenceSpectra {
    /// Inserts a B10 value into a section 2.3 row (which lists B01...B09, B11, B12).
    private static func withB10(_ row: [Float], _ b10: Float) -> [Float] {
        Array(row[0..<10]) + [b10] + Array(row[10...])
    }

    private static func mix(_ a: [Float], _ b: [Float]) -> [Float] {
        zip(a, b).map { ($0 + $1) * 0.5 }
    }

    // Section 2.3 rows, order B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12.
    private static let trees: [Float] = [0.011, 0.017, 0.033, 0.021, 0.058, 0.166, 0.200, 0.215, 0.218, 0.212, 0.098, 0.050]
    private static let healthyVegetation: [Float] = [0.024, 0.029, 0.053, 0.030, 0.080, 0.320, 0.428, 0.438, 0.451, 0.448, 0.175, 0.080]
    private static let dryVegetation: [Float] = [0.047, 0.061, 0.089, 0.101, 0.147, 0.235, 0.267, 0.283, 0.293, 0.297, 0.292, 0.200]
    private static let pavedSurface: [Float] = [0.137, 0.173, 0.200, 0.219, 0.234, 0.230, 0.233, 0.228, 0.231, 0.226, 0.270, 0.272]
    private static let bareSoil: [Float] = [0.074, 0.096, 0.131, 0.181, 0.216, 0.237, 0.256, 0.267, 0.285, 0.287, 0.385, 0.293]
    private static let turbidWater: [Float] = [0.072, 0.090, 0.122, 0.140, 0.149, 0.104, 0.109, 0.096, 0.082, 0.033, 0.019, 0.017]
    private static let clearWater: [Float] = [0.018, 0.021, 0.022, 0.009, 0.008, 0.003, 0.004, 0.003, 0.003, -0.0004, 0.003, 0.003]
    private static let cloudRow: [Float] = [1.033, 1.050, 1.010, 1.012, 1.043, 1.013, 1.006, 1.043, 0.989, 1.131, 0.576, 0.471]

    /// Permanent water: section 2.3 Clear Water; B10 from EuroSAT SeaLake (7.6 DN).
    public static let water = withB10(clearWater, 0.00076)
    /// Tree cover: section 2.3 Trees; B10 from EuroSAT Forest (10.0 DN).
    public static let treeCover = withB10(trees, 0.0010)
    /// Cropland: section 2.3 Healthy Vegetation; B10 from EuroSAT AnnualCrop (13.5 DN).
    public static let cropland = withB10(healthyVegetation, 0.00135)
    /// Grassland: mean of Healthy and Dry Vegetation [derived]; B10 from EuroSAT Pasture (12.9 DN).
    public static let grassland = withB10(mix(healthyVegetation, dryVegetation), 0.00129)
    /// Built-up: section 2.3 Paved Surface; B10 from EuroSAT Industrial (12.7 DN).
    public static let builtUp = withB10(pavedSurface, 0.00127)
    /// Bare / sparse vegetation: section 2.3 Bare Soil; B10 = EuroSAT global mean (12.1 DN, section 2.1).
    public static let bare = withB10(bareSoil, 0.00121)
    /// Herbaceous wetland: mean of Turbid Water and Healthy Vegetation [derived]; B10 from EuroSAT River (10.8 DN).
    public static let wetland = withB10(mix(turbidWater, healthyVegetation), 0.00108)
    /// Shrubland: section 2.3 Dry Vegetation; B10 from EuroSAT HerbaceousVegetation (17.0 DN).
    public static let shrubland = withB10(dryVegetation, 0.0017)
    /// Thick cloud: section 2.3 Cloud. B10 = 0.1 [derived]: thick clouds reflect in the cirrus
    /// band well above Sen2Cor's cirrus thresholds (0.012 / 0.035, section 1.4).
    public static let cloud = withB10(cloudRow, 0.1)
}

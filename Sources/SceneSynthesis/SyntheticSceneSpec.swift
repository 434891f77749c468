import RasterIO

/// What to generate: size, seed, classes, clouds, nodata border, georeferencing and radiometry of
/// a synthetic Sentinel-2-like scene. Everything else follows deterministically from the seed.
///
/// The scene lives on a grid of `width` x `height` pixels of `pixelSize` metres (10 m, the finest
/// Sentinel-2 resolution); 20 m and 60 m bands written as separate files use pixels 2 and 6 times
/// larger over the same upper-left corner. Pixel `(column, row)` covers
/// `originX + column * pixelSize ... + pixelSize` easting and `originY - row * pixelSize` downwards
/// (north-up, GDAL's corner convention).
///
/// The landscape is an infinite plane: a scene of the same seed and a smaller size is the
/// top-left crop of the larger one (only the nodata border, placed relative to the scene size,
/// differs).
public struct SyntheticSceneSpec: Equatable, Sendable {
    /// Largest width or height accepted, in pixels (ten full 10980-pixel tiles side by side).
    public static let maximumSide = 109_800

    /// Width in pixels of the 10 m grid (1...``maximumSide``).
    public var width: Int
    /// Height in pixels of the 10 m grid (1...``maximumSide``).
    public var height: Int
    /// The seed; the same seed and spec give the same pixels (and byte-identical files, see
    /// ``SyntheticScene/write(to:options:)``).
    public var seed: UInt64
    /// Land-cover classes in label order (label value `i` = `classes[i]`); 1...254 classes.
    public var classes: [SyntheticClass]
    /// Expected fraction (0..<1) of pixels under thick cloud; 0 = no clouds. Clouds are labelled
    /// with their own class (value `classes.count`, named `cloud`); thinner cloud edges and cloud
    /// shadows keep the label of the surface underneath.
    public var cloudCover: Double
    /// Adds a slanted swath edge as on real tiles: beyond it every band is DN 0 and the label is
    /// nodata (255).
    public var nodataBorder: Bool
    /// EPSG code of a projected CRS in metres (default 32633, WGS 84 / UTM zone 33N).
    public var epsg: Int
    /// Easting of the upper-left corner in metres (default 300000, as tile T33UUU).
    public var originX: Double
    /// Northing of the upper-left corner in metres (default 5900040, as tile T33UUU).
    public var originY: Double
    /// Pixel size in metres of the finest grid (default 10).
    public var pixelSize: Double
    /// DN added to `reflectance * 10000` (default 1000: L2A/L1C processing baseline 04.00 and
    /// later, `BOA_ADD_OFFSET = -1000`; 0 gives the pre-2022 encoding). DN 0 stays nodata.
    public var radiometricOffset: Int
    /// Adds per-pixel sensor noise (on by default): Gaussian with a standard deviation of
    /// `0.001 + 0.008 * reflectance` in reflectance units, independent per pixel and band.
    public var sensorNoise: Bool

    /// A spec with the defaults above and the eight default classes.
    public init(width: Int, height: Int, seed: UInt64, classes: [SyntheticClass] = SyntheticClass.defaults,
                cloudCover: Double = 0, nodataBorder: Bool = false, epsg: Int = 32633,
                originX: Double = 300_000, originY: Double = 5_900_040, pixelSize: Double = 10,
                radiometricOffset: Int = 1000, sensorNoise: Bool = true) {
        self.width = width
        self.height = height
        self.seed = seed
        self.classes = classes
        self.cloudCover = cloudCover
        self.nodataBorder = nodataBorder
        self.epsg = epsg
        self.originX = originX
        self.originY = originY
        self.pixelSize = pixelSize
        self.radiometricOffset = radiometricOffset
        self.sensorNoise = sensorNoise
    }

    /// Checks every field; the error names the option (CLI spelling) and the valid range.
    public func validate() throws {
        for (option, value) in [("width", width), ("height", height)] where !(1...Self.maximumSide).contains(value) {
            throw SynthesisError.invalidOption(option: option, reason: "\(value) pixels is outside 1...\(Self.maximumSide)")
        }
        guard !classes.isEmpty, classes.count <= 254 else {
            throw SynthesisError.invalidOption(option: "classes", reason: "\(classes.count) classes; give 1...254 so labels and nodata fit in a byte")
        }
        guard cloudCover.isFinite, cloudCover >= 0, cloudCover < 1 else {
            throw SynthesisError.invalidOption(option: "cloud-cover", reason: "\(cloudCover) is not a fraction in 0..<1")
        }
        guard pixelSize.isFinite, pixelSize > 0 else {
            throw SynthesisError.invalidOption(option: "pixel-size", reason: "\(pixelSize) is not a positive number of metres")
        }
        guard originX.isFinite, originY.isFinite else {
            throw SynthesisError.invalidOption(option: "origin", reason: "the upper-left corner must be finite metres")
        }
        guard (0...30_000).contains(radiometricOffset) else {
            throw SynthesisError.invalidOption(option: "offset", reason: "\(radiometricOffset) DN is outside 0...30000 (Sentinel-2 uses 1000 since processing baseline 04.00, 0 before)")
        }
    }

    /// The label value of clouds, or nil when the scene has none.
    public var cloudLabel: Int? { cloudCover > 0 ? classes.count : nil }

    /// The label legend: the classes' names and colours, then `cloud` (white, as Sen2Cor's
    /// high-probability cloud class) when ``cloudCover`` > 0. Nodata is 255.
    public func legend() throws -> ClassLegend {
        var names = classes.map(\.name)
        var colors = classes.map(\.color)
        if cloudLabel != nil {
            names.append("cloud")
            colors.append(RGBColor(red: 255, green: 255, blue: 255))
        }
        return try ClassLegend(names: names, colors: colors)
    }
}

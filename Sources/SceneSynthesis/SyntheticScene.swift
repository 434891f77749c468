import Foundation
import RasterIO

/// A deterministic synthetic Sentinel-2-like scene: 13 bands of UInt16 DN and a UInt8 label
/// raster, every pixel a pure function of the ``SyntheticSceneSpec`` (seed included) and its
/// coordinates. Pixels can be rendered for any window (``render(window:bands:factor:)``) or
/// written to GeoTIFFs (``write(to:options:)``); any split into windows, threads or strips gives
/// the same values.
///
/// DN encoding (L2A, processing baseline 04.00 and later, facts/sentinel2.md section 1.3):
/// `DN = clamp(round(reflectance * 10000 + noise) + radiometricOffset, 1, 32767)`, DN 0 = nodata, so
/// `reflectance = (DN - radiometricOffset) / 10000` (`BOA_ADD_OFFSET = -radiometricOffset`,
/// `BOA_QUANTIFICATION_VALUE = 10000`, both written into the files' metadata). B10 is included
/// (L2A products have none) so scenes feed 13-band models.
public struct SyntheticScene: Sendable {
    /// What was asked for.
    public let spec: SyntheticSceneSpec
    /// The 10 m grid (size, north-up transform, CRS) of the bands and the label raster.
    public let grid: SceneGrid
    /// Label names and colours: the classes, then `cloud` when clouds are on; nodata is 255.
    public let legend: ClassLegend
    let model: SceneModel

    /// The label value of pixels beyond the swath edge.
    public static let labelNodata: UInt8 = 255
    /// The band value of pixels beyond the swath edge.
    public static let bandNodata: UInt16 = 0
    /// Grid coarsening factors of the Sentinel-2 resolutions relative to the finest grid:
    /// 1 (10 m: B02 B03 B04 B08), 2 (20 m: B05 B06 B07 B8A B11 B12), 6 (60 m: B01 B09 B10).
    public static let resolutionFactors = [1, 2, 6]

    /// Validates the spec and resolves its CRS.
    ///
    /// - Throws: ``SynthesisError`` naming the offending option; ``SynthesisError/unsuitableCRS(definition:reason:)``
    ///   when `epsg` is unknown, geographic or not in metres.
    public init(spec: SyntheticSceneSpec) throws {
        try spec.validate()
        if spec.cloudLabel != nil && spec.classes.count > 253 {
            throw SynthesisError.invalidOption(option: "classes", reason: "\(spec.classes.count) classes plus the cloud label do not fit in a byte beside nodata 255; use at most 253 with clouds")
        }
        let definition = "EPSG:\(spec.epsg)"
        let crs: SpatialReference
        do {
            crs = try SpatialReference(definition)
        } catch {
            throw SynthesisError.unsuitableCRS(definition: definition, reason: "is not a CRS GDAL knows")
        }
        guard crs.wkt.hasPrefix("PROJCS") || crs.wkt.hasPrefix("PROJCRS") else {
            throw SynthesisError.unsuitableCRS(definition: definition, reason: "(\(crs.name)) is not projected")
        }
        let lastUnit = crs.wkt.range(of: "UNIT[\"", options: .backwards).map { crs.wkt[$0.upperBound...].prefix(6).lowercased() } ?? ""
        guard lastUnit.hasPrefix("metre") || lastUnit.hasPrefix("meter") else {
            throw SynthesisError.unsuitableCRS(definition: definition, reason: "(\(crs.name)) is not in metres")
        }
        self.spec = spec
        self.grid = SceneGrid(width: spec.width, height: spec.height,
                              geoTransform: GeoTransform(originX: spec.originX, pixelWidth: spec.pixelSize,
                                                         originY: spec.originY, pixelHeight: -spec.pixelSize),
                              spatialReference: crs)
        self.legend = try spec.legend()
        self.model = SceneModel(spec: spec)
    }

    /// The grid of bands `factor` times coarser (2: 20 m, 6: 60 m): same upper-left corner and
    /// CRS, `ceil(width / factor) x ceil(height / factor)` pixels.
    public func grid(factor: Int) -> SceneGrid {
        let f = max(1, factor)
        return SceneGrid(width: (grid.width + f - 1) / f, height: (grid.height + f - 1) / f,
                         geoTransform: grid.geoTransform.coarsened(by: f), spatialReference: grid.spatialReference)
    }

    /// The native grid factor of a band (1, 2 or 6 for 10, 20 and 60 m).
    public static func nativeFactor(of band: String) -> Int {
        Int(((SentinelBand.nativeResolution[band] ?? 10) / 10).rounded())
    }

    /// Renders a window.
    ///
    /// - Parameters:
    ///   - window: pixels of the grid at `factor` (``grid(factor:)``); must lie inside it.
    ///   - bands: band names (``SentinelBand/all`` spellings), in output order; default all 13.
    ///   - factor: 1 renders 10 m pixels with labels; 2 or 6 render band values as a 20 m or 60 m
    ///     sensor sees them (mean reflectance of the covered 10 m pixels, own noise), no labels.
    /// - Throws: ``SynthesisError/invalidOption(option:reason:)`` for an unknown band, a factor other
    ///   than 1, 2 or 6, or a window outside the grid.
    public func render(window: RasterWindow, bands: [String] = SentinelBand.all, factor: Int = 1) throws -> RenderedWindow {
        guard Self.resolutionFactors.contains(factor) else {
            throw SynthesisError.invalidOption(option: "factor", reason: "\(factor) is not 1, 2 or 6 (10, 20 or 60 m)")
        }
        let target = grid(factor: factor)
        guard !window.isEmpty, target.fullWindow.contains(window) else {
            throw SynthesisError.invalidOption(option: "window", reason: "\(window) is not inside the \(target.width)x\(target.height) grid")
        }
        let indices = try bandIndices(bands)
        var labels: [UInt8] = []
        let planes = [UInt16](unsafeUninitializedCapacity: indices.count * window.pixelCount) { buffer, count in
            guard let base = buffer.baseAddress else { count = 0; return }
            if factor == 1 {
                labels = [UInt8](unsafeUninitializedCapacity: window.pixelCount) { labelBuffer, labelCount in
                    renderFine(window: window, bands: indices, planes: base, labels: labelBuffer.baseAddress)
                    labelCount = window.pixelCount
                }
            } else {
                renderCoarse(window: window, factor: factor, bands: indices, planes: base)
            }
            count = indices.count * window.pixelCount
        }
        return RenderedWindow(window: window, factor: factor, bandNames: indices.map { SentinelBand.all[$0] },
                              values: planes, labels: labels)
    }

    /// Indices (ESA order) of band names.
    func bandIndices(_ bands: [String]) throws -> [Int] {
        guard !bands.isEmpty else {
            throw SynthesisError.invalidOption(option: "bands", reason: "no bands requested; name some of \(SentinelBand.all.joined(separator: ","))")
        }
        return try bands.map { name in
            guard let index = SentinelBand.all.firstIndex(of: SentinelBand.canonicalName(name)) else {
                throw SynthesisError.invalidOption(option: "bands", reason: "'\(name)' is not a Sentinel-2 band; use \(SentinelBand.all.joined(separator: ","))")
            }
            return index
        }
    }

    func renderFine(window: RasterWindow, bands: [Int], planes: UnsafeMutablePointer<UInt16>, labels: UnsafeMutablePointer<UInt8>?) {
        let renderer = BlockRenderer(model: model, columns: window.column..<window.columnEnd, rows: window.row..<window.rowEnd)
        renderer.renderFine(window: window, bands: bands, planes: planes, labels: labels)
    }

    func renderCoarse(window: RasterWindow, factor: Int, bands: [Int], planes: UnsafeMutablePointer<UInt16>) {
        let renderer = BlockRenderer(model: model, columns: (window.column * factor)..<(window.columnEnd * factor),
                                     rows: (window.row * factor)..<(window.rowEnd * factor))
        renderer.renderCoarse(window: window, factor: factor, bands: bands, planes: planes)
    }
}

/// Pixels of one rendered window: band-sequential DN planes and (10 m only) labels.
public struct RenderedWindow: Equatable, Sendable {
    /// The window, in the grid of ``factor``.
    public let window: RasterWindow
    /// 1 for the 10 m grid, 2 or 6 for the 20 m and 60 m grids.
    public let factor: Int
    /// Band names of the planes, in order.
    public let bandNames: [String]
    /// `bandNames.count` planes of `window.pixelCount` DN each, row-major; 0 = nodata.
    public let values: [UInt16]
    /// `window.pixelCount` label values, row-major (255 = nodata); empty for factor 2 and 6.
    public let labels: [UInt8]

    /// The DN of a band (index into ``bandNames``) at a pixel of the window.
    public func value(band: Int, column: Int, row: Int) -> UInt16 {
        values[band * window.pixelCount + row * window.width + column]
    }

    /// One band's plane.
    public func plane(_ band: Int) -> ArraySlice<UInt16> {
        values[(band * window.pixelCount)..<((band + 1) * window.pixelCount)]
    }
}

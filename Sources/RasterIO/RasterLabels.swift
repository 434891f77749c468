import CGDAL
import Foundation

/// An existing label raster (one band of class values) read onto a scene grid.
///
/// When the raster lies on the grid (same CRS and pixel size, origin shifted by whole pixels) its
/// pixels are read directly; otherwise GDAL's warper puts it on the grid with **nearest-neighbour**
/// resampling (reprojecting when the CRS differs), so no class value is ever interpolated. A raster
/// without any georeferencing is accepted only when it has exactly the grid's size (it is then taken
/// to be aligned with the grid).
///
/// Raster values become class indices through ``classValues`` (when given: unlisted values are
/// unlabelled) or are taken as class indices directly (integers `0...254`; 255, other values,
/// nodata, masked pixels and pixels outside the raster are ``LabelValue/unlabelled``).
///
/// Not thread-safe (GDAL handles): use one instance per thread.
public final class RasterLabels: LabelSource {
    /// The label raster.
    public let path: String
    /// The 1-based band holding the labels.
    public let band: Int
    /// The grid labels are delivered on.
    public let grid: SceneGrid
    /// Raster value -> class index; nil when values are class indices.
    public let classValues: [Int: Int]?
    /// True when the raster is resampled to the grid (nearest neighbour), false when read directly.
    public let isWarped: Bool

    private let dataset: RasterDataset
    private let shift: (columns: Int, rows: Int)

    /// Opens a label raster for reading on `grid`.
    ///
    /// - Parameters:
    ///   - path: a raster GDAL reads (GeoTIFF, COG, VRT, ...).
    ///   - band: 1-based band index holding class values.
    ///   - grid: the grid labels are delivered on (normally ``Scene/grid``).
    ///   - classValues: raster value -> class index (`0...254`); nil = the values are class indices.
    /// - Throws: ``RasterIOError`` naming the file: missing or unreadable, band out of range, no
    ///   georeferencing while the size differs from the grid, or a failing warp.
    public init(path: String, band: Int = 1, grid: SceneGrid, classValues: [Int: Int]? = nil) throws {
        if let classValues {
            for (value, index) in classValues where !(0...LabelValue.maximumClass).contains(index) {
                throw RasterIOError.invalidArgument("\(path): raster value \(value) maps to class \(index); class indices must be 0...\(LabelValue.maximumClass)")
            }
        }
        let source = try RasterDataset(path: path)
        guard source.bands.indices.contains(band - 1) else {
            throw RasterIOError.bandNotFound(band: "#\(band)", path: path, available: source.bands.map { $0.name ?? "#\($0.index)" })
        }
        self.path = path
        self.band = band
        self.grid = grid
        self.classValues = classValues
        if source.geoTransform == nil {
            guard source.width == grid.width, source.height == grid.height else {
                throw RasterIOError.missingGeoreferencing(path: path)
            }
            dataset = source
            shift = (0, 0)
            isWarped = false
            return
        }
        let sourceGrid = SceneGrid(source)
        let sameCRS: Bool
        switch (grid.spatialReference, sourceGrid.spatialReference) {
        case (nil, nil): sameCRS = true
        case let (target?, crs?): sameCRS = crs.isSame(as: target)
        case (_?, nil): throw RasterIOError.missingGeoreferencing(path: path)
        case (nil, _?): sameCRS = true   // the grid has no CRS: take the raster's coordinates as the grid's
        }
        if sameCRS, let offset = grid.integerOffset(of: sourceGrid) {
            dataset = source
            shift = offset
            isWarped = false
        } else {
            dataset = try Self.warped(source, onto: grid, band: band, reproject: !sameCRS)
            shift = (0, 0)
            isWarped = true
        }
    }

    /// The file and band, for reports and error messages.
    public var sourceDescription: String { "\(path) (band \(band))" }

    /// A warped VRT of `source` on `grid`: nearest neighbour, the grid's extent and size, and an
    /// alpha band (or the source's nodata) marking pixels the source does not cover. Every band
    /// is warped (GDAL 3.6's warper has no band selection; the VRT is virtual, only read windows
    /// of the label band are computed), so band indices stay those of the source.
    private static func warped(_ source: RasterDataset, onto grid: SceneGrid, band: Int, reproject: Bool) throws -> RasterDataset {
        let bounds = grid.bounds
        func format(_ value: Double) -> String { String(format: "%.10f", value) }
        var args = ["-of", "VRT", "-r", "near",
                    "-te", format(bounds.minX), format(bounds.minY), format(bounds.maxX), format(bounds.maxY),
                    "-ts", String(grid.width), String(grid.height)]
        if reproject, let target = grid.spatialReference { args += ["-t_srs", target.wkt] }
        if source.bands[band - 1].nodata == nil { args.append("-dstalpha") }
        GDALCall.reset()
        let handle: GDALDatasetH = try GDALCall.withStringList(args) { list in
            guard let options = GDALWarpAppOptionsNew(list, nil) else {
                throw RasterIOError.gdalFailure(operation: "preparing the nearest-neighbour warp of the labels to the scene grid",
                                                path: source.path, gdalMessage: GDALCall.lastMessage())
            }
            defer { GDALWarpAppOptionsFree(options) }
            var sources: [GDALDatasetH?] = [source.handle]
            var usageError: Int32 = 0
            let result = GDALWarp("", nil, 1, &sources, options, &usageError)
            return try GDALCall.check(result, "warping the labels onto the scene grid (nearest neighbour)", path: source.path)
        }
        return try RasterDataset(handle: handle, path: source.path, keepAlive: source)
    }

    /// Reads the labels of a window of the grid.
    ///
    /// - Parameter window: pixels of ``grid``; parts outside the label raster are unlabelled.
    /// - Returns: `window.width * window.height` class indices, row-major, 255 = unlabelled.
    public func labels(window: RasterWindow) throws -> [UInt8] {
        let buffer = try dataset.read(window: window.offsetBy(columns: -shift.columns, rows: -shift.rows), bands: [band])
        var labels = [UInt8](repeating: LabelValue.unlabelled, count: window.pixelCount)
        for i in 0..<window.pixelCount where buffer.validity[i] != 0 {
            let value = buffer.values[i]
            guard value.isFinite, value == value.rounded(), abs(value) < 1e9 else { continue }
            let integer = Int(value)
            if let classValues {
                if let classIndex = classValues[integer] { labels[i] = UInt8(classIndex) }
            } else if (0...LabelValue.maximumClass).contains(integer) {
                labels[i] = UInt8(integer)
            }
        }
        return labels
    }
}

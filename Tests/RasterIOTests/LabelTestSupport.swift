import Foundation
import RasterIO
import TestSupport
import Testing

/// The 33UUU sample and its OpenStreetMap polygons, shared by the label tests.
enum LabelFixtures {
    static let sampleFolder = TestPaths.packageRoot.appendingPathComponent("samples/s2l1c_33UUU_20170216_west")
    static let gpkg = sampleFolder.appendingPathComponent("osm_landuse_water.gpkg").path
    static let layer = "osm_landuse_water"
    static func band(_ name: String) -> String {
        sampleFolder.appendingPathComponent("T33UUU_20170216T102101_\(name).jp2").path
    }

    /// Legend: cropland, forest, grassland, shrubland, built-up, water, wetland.
    static let classNames = ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"]
    /// OpenStreetMap `fclass` values of the sample -> class index.
    static let mapping: [String: Int] = ["farm": 0, "farmland": 0, "forest": 1, "meadow": 2, "grass": 2, "scrub": 3,
                                         "residential": 4, "water": 5, "wetland": 6]

    /// The 10 m grid of the sample (1008 x 768, EPSG:32633), from its B04 file.
    static func grid() throws -> SceneGrid {
        try Scene.assemble(inputs: [band("B04")]).grid
    }

    /// An SQL expression giving each feature its class index (`cls`), for gdal_rasterize.
    static var classSQL: String {
        let cases = mapping.sorted { $0.key < $1.key }.map { "WHEN '\($0.key)' THEN \($0.value)" }.joined(separator: " ")
        return "CASE fclass \(cases) END"
    }

    /// `gdal_rasterize` of the features selected by `where` (all mapped features by default), with
    /// their class as burn value, on `grid`; returns the raster's values row-major (255 = nothing).
    static func gdalRasterize(source: String = gpkg, layer: String = layer, where condition: String? = nil,
                              grid: SceneGrid, folder: URL, name: String) throws -> [UInt8] {
        let output = folder.appendingPathComponent(name).path
        let b = grid.bounds
        let filter = condition.map { " AND (\($0))" } ?? ""
        let names = mapping.keys.sorted().map { "'\($0)'" }.joined(separator: ",")
        let sql = "SELECT \(classSQL) AS cls, geom FROM \(layer) WHERE fclass IN (\(names))\(filter) ORDER BY fid"
        try CommandLineTool.run("gdal_rasterize", ["-q", "-sql", sql, "-a", "cls", "-te", "\(b.minX)", "\(b.minY)", "\(b.maxX)", "\(b.maxY)",
                                            "-tr", "\(grid.resolution)", "\(grid.resolution)", "-ot", "Byte", "-init", "255",
                                            "-a_nodata", "255", source, output])
        return try readBytes(output)
    }

    /// Every pixel of band 1 of a raster as bytes (row-major).
    static func readBytes(_ path: String) throws -> [UInt8] {
        let dataset = try RasterDataset(path: path)
        let buffer = try dataset.read(window: dataset.fullWindow, bands: [1])
        return buffer.values.map { UInt8(clamping: Int($0)) }
    }

    /// Rasterizes the whole grid strip by strip (`rows` rows per call).
    static func rasterizeInStrips(_ labels: LabelSource, rows: Int) throws -> [UInt8] {
        let grid = labels.grid
        var result: [UInt8] = []
        result.reserveCapacity(grid.width * grid.height)
        var row = 0
        while row < grid.height {
            let height = min(rows, grid.height - row)
            result += try labels.labels(window: RasterWindow(column: 0, row: row, width: grid.width, height: height))
            row += height
        }
        return result
    }

    /// Per-value pixel counts.
    static func histogram(_ labels: [UInt8]) -> [UInt8: Int] {
        var counts: [UInt8: Int] = [:]
        for v in labels { counts[v, default: 0] += 1 }
        return counts
    }
}

import Foundation
import TestSupport
import RasterIO
import TrainingData

/// Paths, reference computations and small helpers of the TrainingData tests.
enum DataFixtures {
    /// The 33UUU L1C crop with its OpenStreetMap polygons (in the repository).
    static let sample = TestPaths.packageRoot.appendingPathComponent("samples/s2l1c_33UUU_20170216_west")
    static let gpkg = sample.appendingPathComponent("osm_landuse_water.gpkg").path
    /// Three real EuroSAT-MS patches, one per class folder (in the repository).
    static let eurosat = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/eurosat_ms")

    static func band(_ name: String) -> String {
        sample.appendingPathComponent("T33UUU_20170216T102101_\(name).jp2").path
    }

    /// The legend of the tests: OSM `fclass` values of the sample -> classes.
    static let classNames = ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"]
    static let mapping: [String: Int] = ["farm": 0, "farmland": 0, "forest": 1, "meadow": 2, "grass": 2, "scrub": 3,
                                         "residential": 4, "water": 5, "wetland": 6]

    /// The sample scene with some bands (all 10 m by default).
    static func scene(bands: [String] = ["B02", "B03", "B04", "B08"]) throws -> Scene {
        try Scene.assemble(inputs: [sample.path], options: SceneOptions(bands: bands))
    }

    static func vectorLabels(_ overlap: LabelOverlapRule = .lastFeature) -> SceneLabels {
        .vector(path: gpkg, attribute: "fclass", classes: mapping, overlap: overlap)
    }


    /// Labels of the sample grid burnt by `gdal_rasterize` (features in FID order, later wins,
    /// 255 = none), written to `folder/reference_labels.tif`; returns the path and the values.
    static func gdalReferenceLabels(grid: SceneGrid, folder: URL) throws -> (path: String, values: [UInt8]) {
        let output = folder.appendingPathComponent("reference_labels.tif").path
        let cases = mapping.sorted { $0.key < $1.key }.map { "WHEN '\($0.key)' THEN \($0.value)" }.joined(separator: " ")
        let names = mapping.keys.sorted().map { "'\($0)'" }.joined(separator: ",")
        let sql = "SELECT CASE fclass \(cases) END AS cls, geom FROM osm_landuse_water WHERE fclass IN (\(names)) ORDER BY fid"
        let b = grid.bounds
        try CommandLineTool.run("gdal_rasterize", ["-q", "-sql", sql, "-a", "cls", "-te", "\(b.minX)", "\(b.minY)", "\(b.maxX)", "\(b.maxY)",
                                   "-tr", "\(grid.resolution)", "\(grid.resolution)", "-ot", "Byte", "-init", "255",
                                   "-a_nodata", "255", gpkg, output])
        let dataset = try RasterDataset(path: output)
        let buffer = try dataset.read(window: dataset.fullWindow, bands: [1])
        return (output, buffer.values.map { UInt8(clamping: Int($0)) })
    }

    /// The gap in pixels between two windows: the number of pixel rows or columns strictly
    /// between them along the axis that separates them most (negative when they overlap, 0 when
    /// they touch).
    static func gap(_ a: RasterWindow, _ b: RasterWindow) -> Int {
        max(b.column - a.columnEnd, a.column - b.columnEnd, b.row - a.rowEnd, a.row - b.rowEnd)
    }

    static func window(_ location: PatchLocation, _ size: Int) -> RasterWindow {
        RasterWindow(column: location.column, row: location.row, width: size, height: size)
    }
}

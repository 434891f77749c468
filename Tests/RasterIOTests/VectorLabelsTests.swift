import Foundation
import RasterIO
import TestSupport
import Testing

@Suite("Vector labels rasterized onto a scene grid (33UUU OpenStreetMap polygons)")
struct VectorLabelsTests {
    @Test func lastFeatureRuleMatchesGdalRasterizePixelForPixel() throws {
        let grid = try LabelFixtures.grid()
        #expect(grid.width == 1008 && grid.height == 768)
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try LabelFixtures.gdalRasterize(grid: grid, folder: folder, name: "ref.tif")
        let labels = try VectorLabels(path: LabelFixtures.gpkg, attribute: "fclass", classes: LabelFixtures.mapping,
                                      grid: grid, overlapRule: .lastFeature)
        #expect(labels.layerName == LabelFixtures.layer)
        // Strips of 100 rows (768 is not a multiple): strip edges must not show.
        let ours = try LabelFixtures.rasterizeInStrips(labels, rows: 100)
        #expect(ours.count == reference.count)
        let differing = zip(ours, reference).filter { $0 != $1 }.count
        #expect(differing == 0)
        let labelled = ours.filter { $0 != LabelValue.unlabelled }.count
        #expect(labelled > 200_000, "labels cover about 29% of the 774,144 pixels")
        // Every class of the legend is present.
        let histogram = LabelFixtures.histogram(ours)
        for c in 0..<7 { #expect((histogram[UInt8(c)] ?? 0) > 1000, "class \(LabelFixtures.classNames[c])") }
    }

    /// The per-class coverage from gdal_rasterize (one run per class) tells where classes overlap;
    /// the "unlabelled" rule must give the single covering class and 255 at ties, the priority rule
    /// the first covering class in its order.
    @Test func overlapRulesMatchGdalCoveragePerClass() throws {
        let grid = try LabelFixtures.grid()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var coverage: [[Bool]] = []
        for c in 0..<7 {
            let burnt = try LabelFixtures.gdalRasterize(where: "(\(LabelFixtures.classSQL)) = \(c)", grid: grid,
                                                        folder: folder, name: "class\(c).tif")
            coverage.append(burnt.map { $0 != 255 })
        }
        let unlabelledRule = try LabelFixtures.rasterizeInStrips(
            VectorLabels(path: LabelFixtures.gpkg, layer: LabelFixtures.layer, attribute: "fclass", classes: LabelFixtures.mapping,
                         grid: grid, overlapRule: .unlabelled), rows: 256)
        let priorityOrder = [5, 6, 4]   // water, wetland, built-up first; then the rest in index order
        let priorityRule = try LabelFixtures.rasterizeInStrips(
            VectorLabels(path: LabelFixtures.gpkg, attribute: "fclass", classes: LabelFixtures.mapping,
                         grid: grid, overlapRule: .classPriority(priorityOrder)), rows: 300)
        let fullOrder = priorityOrder + [0, 1, 2, 3]
        var ties = 0, mismatchesUnlabelled = 0, mismatchesPriority = 0
        for i in 0..<(grid.width * grid.height) {
            let covering = (0..<7).filter { coverage[$0][i] }
            if covering.count > 1 { ties += 1 }
            let expectedUnlabelled: UInt8 = covering.count == 1 ? UInt8(covering[0]) : 255
            if unlabelledRule[i] != expectedUnlabelled { mismatchesUnlabelled += 1 }
            let expectedPriority: UInt8 = fullOrder.first(where: { covering.contains($0) }).map { UInt8($0) } ?? 255
            if priorityRule[i] != expectedPriority { mismatchesPriority += 1 }
        }
        #expect(mismatchesUnlabelled == 0)
        #expect(mismatchesPriority == 0)
        // The sample's OSM polygons do overlap (e.g. water inside wetland or forest), so the rules
        // are exercised on real ties.
        #expect(ties > 0)
    }

    /// Geometries in WGS 84 longitude/latitude (GeoJSON) are reprojected to the UTM grid: the result
    /// equals gdal_rasterize burning the same file into the UTM grid, and nearly equals the labels
    /// from the UTM original (a swapped axis order would put every polygon off the grid).
    /// The same holds for a Shapefile in ETRS89-LAEA (EPSG:3035).
    @Test(arguments: [("GeoJSON", "labels.geojson", "EPSG:4326"), ("ESRI Shapefile", "labels.shp", "EPSG:3035")])
    func otherFormatsAndCRSsAreReprojectedWithTraditionalAxisOrder(driver: String, file: String, crs: String) throws {
        let grid = try LabelFixtures.grid()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let vector = folder.appendingPathComponent(file).path
        let names = LabelFixtures.mapping.keys.sorted().map { "'\($0)'" }.joined(separator: ",")
        try CommandLineTool.run("ogr2ogr", ["-f", driver, "-t_srs", crs, "-nln", "labels",
                                     "-sql", "SELECT fclass, \(LabelFixtures.classSQL) AS cls, geom FROM osm_landuse_water WHERE fclass IN (\(names)) ORDER BY fid",
                                     vector, LabelFixtures.gpkg])
        // gdal_rasterize into an existing UTM raster reprojects the features itself.
        let target = folder.appendingPathComponent("burnt.tif").path
        let b = grid.bounds
        try CommandLineTool.run("gdal_create", ["-of", "GTiff", "-outsize", "\(grid.width)", "\(grid.height)", "-bands", "1", "-ot", "Byte",
                                         "-burn", "255", "-a_srs", "EPSG:32633", "-a_ullr", "\(b.minX)", "\(b.maxY)", "\(b.maxX)", "\(b.minY)", target])
        try CommandLineTool.run("gdal_rasterize", ["-q", "-a", "cls", "-l", "labels", vector, target])
        let reference = try LabelFixtures.readBytes(target)

        let labels = try VectorLabels(path: vector, attribute: "fclass", classes: LabelFixtures.mapping, grid: grid,
                                      overlapRule: .lastFeature)
        let ours = try LabelFixtures.rasterizeInStrips(labels, rows: 128)
        #expect(zip(ours, reference).filter { $0 != $1 }.count == 0)

        let original = try LabelFixtures.rasterizeInStrips(
            VectorLabels(path: LabelFixtures.gpkg, attribute: "fclass", classes: LabelFixtures.mapping, grid: grid,
                         overlapRule: .lastFeature), rows: 768)
        let labelled = original.filter { $0 != 255 }.count
        let agreeing = zip(ours, original).filter { $0 == $1 && $1 != 255 }.count
        #expect(Double(agreeing) / Double(labelled) > 0.995)
    }

    @Test func summaryCountsFeaturesAndUnmappedValuesAreIgnored() throws {
        let grid = try LabelFixtures.grid()
        var mapping = LabelFixtures.mapping
        mapping["wetland"] = nil
        let labels = try VectorLabels(path: LabelFixtures.gpkg, attribute: "fclass", classes: mapping, grid: grid)
        // ogrinfo: farm 65, forest 67, meadow 79 + grass 8, scrub 60, residential 16, water 23, wetland 54.
        #expect(labels.summary.featureCounts == [65, 67, 87, 60, 16, 23])
        #expect(labels.summary.unmappedValues == ["wetland": 54])
        #expect(labels.classCount == 6)
        let all = try LabelFixtures.rasterizeInStrips(labels, rows: 768)
        #expect(!all.contains(6))
        let data = try JSONEncoder().encode(labels.summary)
        #expect(try JSONDecoder().decode(VectorLabelSummary.self, from: data) == labels.summary)
    }

    @Test func windowsOffTheGridAndEmptyAreasAreUnlabelled() throws {
        let grid = try LabelFixtures.grid()
        let labels = try VectorLabels(path: LabelFixtures.gpkg, attribute: "fclass", classes: LabelFixtures.mapping, grid: grid)
        let full = try LabelFixtures.rasterizeInStrips(labels, rows: 768)
        // A window straddling the top-left corner: inside pixels as in the full raster, outside none
        // (the polygons are clipped to the sample's extent).
        let window = RasterWindow(column: -20, row: -10, width: 60, height: 40)
        let part = try labels.labels(window: window)
        for row in 0..<window.height {
            for column in 0..<window.width {
                let x = window.column + column, y = window.row + row
                let expected: UInt8 = (x >= 0 && y >= 0) ? full[y * grid.width + x] : 255
                #expect(part[row * window.width + column] == expected)
            }
        }
        let far = try labels.labels(window: RasterWindow(column: 5000, row: 5000, width: 8, height: 8))
        #expect(far.allSatisfy { $0 == LabelValue.unlabelled })
    }

    @Test func errorsNameTheFileLayerAndAttribute() throws {
        let grid = try LabelFixtures.grid()
        let gpkg = LabelFixtures.gpkg
        #expect(throws: RasterIOError.layerNotFound(path: gpkg, layer: "roads", available: [LabelFixtures.layer])) {
            try VectorLabels(path: gpkg, layer: "roads", attribute: "fclass", classes: ["farm": 0], grid: grid)
        }
        do {
            _ = try VectorLabels(path: gpkg, attribute: "landuse", classes: ["farm": 0], grid: grid)
            Issue.record("a missing attribute must throw")
        } catch let error as RasterIOError {
            guard case .attributeNotFound(let path, let layer, let attribute, let available) = error else {
                Issue.record("unexpected \(error)"); return
            }
            #expect(path == gpkg && layer == LabelFixtures.layer && attribute == "landuse")
            #expect(available.contains("fclass"))
            #expect(error.description.contains("'landuse'") && error.description.contains("fclass"))
        }
        let raster = LabelFixtures.band("B04")
        do {
            _ = try VectorLabels(path: raster, attribute: "fclass", classes: ["farm": 0], grid: grid)
            Issue.record("a raster must not open as vector labels")
        } catch let error as RasterIOError {
            guard case .notAVectorDataset(let path, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == raster)
        }
        #expect(throws: RasterIOError.fileNotFound(path: "/nonexistent/labels.gpkg")) {
            try VectorLabels(path: "/nonexistent/labels.gpkg", attribute: "fclass", classes: ["farm": 0], grid: grid)
        }
        #expect(throws: RasterIOError.self) {
            try VectorLabels(path: gpkg, attribute: "fclass", classes: ["farm": 300], grid: grid)
        }
        #expect(throws: RasterIOError.self) {
            try VectorLabels(path: gpkg, attribute: "fclass", classes: [:], grid: grid)
        }
    }
}

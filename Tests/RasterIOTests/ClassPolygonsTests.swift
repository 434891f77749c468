import Foundation
import Testing
import RasterIO

/// Class maps polygonized into GeoPackage and GeoJSON, checked with GDAL's own `ogr2ogr` /
/// `ogrinfo`: one polygon per connected region of a class, areas in map units, class names,
/// the map's CRS, and no polygon over nodata.
@Suite("Class maps polygonized into GeoPackage and GeoJSON")
struct ClassPolygonsTests {
    static let legend: ClassLegend = {
        let names = ["cropland", "forest", "farmer's field", "shrubland", "built-up", "water"]
        let colors = ["#f096ff", "#006400", "#ffff4c", "#ffbb22", "#fa0000", "#0064c8"].compactMap(RGBColor.init(hex:))
        return (try? ClassLegend(names: names, colors: colors)) ?? { preconditionFailure("static legend") }()
    }()

    /// 60 x 40 pixels of 10 m: columns 0-9 nodata; columns 10-29 forest above row 20 and water
    /// below; columns 30-59 cropland with two class-2 pixels touching only at a corner.
    static func writeMap(_ path: String) throws {
        let grid = SceneGrid(width: 60, height: 40,
                             geoTransform: GeoTransform(originX: 330000, pixelWidth: 10, originY: 5822040, pixelHeight: -10),
                             spatialReference: try SpatialReference("EPSG:32633"))
        let writer = try ClassRasterWriter(path: path, sourceGrid: grid, legend: legend, format: .gtiff)
        var classes = [UInt16](repeating: 0, count: 60 * 40)
        for y in 0..<40 {
            for x in 0..<60 {
                classes[y * 60 + x] = x < 10 ? UInt16(legend.nodataValue) : x < 30 ? (y < 20 ? 1 : 5) : 0
            }
        }
        classes[10 * 60 + 40] = 2
        classes[11 * 60 + 41] = 2
        try classes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try writer.writeClasses(window: RasterWindow(width: 60, height: 40), values: base)
        }
        try writer.commit()
    }

    /// `class,name,area` rows (sorted) of a polygon file, through ogr2ogr's SQLite dialect.
    static func rows(_ path: String, geometry: String) throws -> [String] {
        let csv = try Fixtures.run("ogr2ogr", ["-f", "CSV", "/vsistdout/", path, "-dialect", "SQLITE",
                                               "-sql", "SELECT class, name, CAST(ST_Area(\(geometry)) AS INTEGER) AS area FROM landcover"])
        return csv.split(separator: "\n").dropFirst().map { $0.replacingOccurrences(of: "\"", with: "") }.sorted()
    }

    @Test("4-connected", arguments: PolygonFormat.allCases)
    func fourConnected(format: PolygonFormat) throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("map.tif").path
        try Self.writeMap(map)
        let output = folder.appendingPathComponent("map.\(format.fileExtension)").path
        let count = try ClassPolygons.write(mapPath: map, legend: Self.legend, to: output, format: format)
        #expect(count == 5)
        // Areas in m^2 (10 m pixels): cropland 30 x 40 - 2 pixels, forest and water 20 x 20 each.
        #expect(try Self.rows(output, geometry: format == .gpkg ? "geom" : "GEOMETRY") == [
            "0,cropland,119800", "1,forest,40000", "2,farmer's field,100", "2,farmer's field,100", "5,water,40000",
        ])
        let summary = try Fixtures.run("ogrinfo", ["-so", "-al", output])
        #expect(summary.contains("UTM zone 33N"), "\(summary)")
        // Only the finished file is left in the folder.
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix(".aux.xml") }.sorted()
        #expect(files == ["map.\(format.fileExtension)", "map.tif"].sorted())
    }

    @Test func eightConnectedJoinsCornerNeighboursAndReplacesAnOldFile() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("map.tif").path
        try Self.writeMap(map)
        let output = folder.appendingPathComponent("map.gpkg").path
        try Data("not a geopackage".utf8).write(to: URL(fileURLWithPath: output))
        #expect(try ClassPolygons.write(mapPath: map, legend: Self.legend, to: output, format: .gpkg, eightConnected: true) == 4)
        #expect(try Self.rows(output, geometry: "geom").contains("2,farmer's field,200"))
    }

    @Test func aMissingMapNamesIt() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("absent.tif").path
        #expect { try ClassPolygons.write(mapPath: map, legend: Self.legend, to: folder.appendingPathComponent("p.gpkg").path, format: .gpkg) } throws: {
            "\($0)".contains("absent.tif")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}

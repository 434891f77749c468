import Foundation
import RasterIO
import TestSupport
import Testing

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
    static func writeMap(_ path: String, sieve: (minimumPixels: Int, eightConnected: Bool)? = nil) throws {
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
        if let sieve { try writer.sieve(minimumPixels: sieve.minimumPixels, eightConnected: sieve.eightConnected) }
        try writer.commit()
    }

    /// `class,name,area` rows (sorted) of a polygon file, through ogr2ogr's SQLite dialect.
    static func rows(_ path: String, geometry: String) throws -> [String] {
        let csv = try CommandLineTool.run("ogr2ogr", ["-f", "CSV", "/vsistdout/", path, "-dialect", "SQLITE",
                                               "-sql", "SELECT class, name, CAST(ST_Area(\(geometry)) AS INTEGER) AS area FROM landcover"])
        return csv.split(separator: "\n").dropFirst().map { $0.replacingOccurrences(of: "\"", with: "") }.sorted()
    }

    @Test("4-connected", arguments: PolygonFormat.allCases)
    func fourConnected(format: PolygonFormat) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("map.tif").path
        try Self.writeMap(map)
        let output = folder.appendingPathComponent("map.\(format.fileExtension)").path
        let count = try ClassPolygons.write(mapPath: map, legend: Self.legend, to: output, format: format, geographic: false)
        #expect(count == 5)
        // Areas in m^2 (10 m pixels): cropland 30 x 40 - 2 pixels, forest and water 20 x 20 each.
        #expect(try Self.rows(output, geometry: format == .gpkg ? "geom" : "GEOMETRY") == [
            "0,cropland,119800", "1,forest,40000", "2,farmer's field,100", "2,farmer's field,100", "5,water,40000",
        ])
        let summary = try CommandLineTool.run("ogrinfo", ["-so", "-al", output])
        #expect(summary.contains("UTM zone 33N"), "\(summary)")
        // Only the finished file is left in the folder.
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix(".aux.xml") }.sorted()
        #expect(files == ["map.\(format.fileExtension)", "map.tif"].sorted())
    }

    /// GeoJSON by default follows RFC 7946: WGS 84 lon/lat, no `crs` member; the GeoPackage keeps
    /// the map's CRS and carries its class style in `layer_styles`.
    @Test func geoJSONIsRFC7946AndGeoPackageCarriesItsStyle() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("map.tif").path
        try Self.writeMap(map)
        let geojson = folder.appendingPathComponent("map.geojson").path
        #expect(try ClassPolygons.write(mapPath: map, legend: Self.legend, to: geojson, format: .geojson) == 5)
        let document = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: geojson))) as? [String: Any]
        #expect(document?["crs"] == nil)
        let features = (document?["features"] as? [[String: Any]]) ?? []
        let points = features.flatMap { (($0["geometry"] as? [String: Any])?["coordinates"] as? [[[Double]]] ?? []).joined() }
        // 330000..330600 E, 5821640..5822040 N in UTM 33N: about 12.49 E, 52.52 N.
        #expect(!points.isEmpty && points.allSatisfy { (12.4...12.6).contains($0[0]) && (52.5...52.6).contains($0[1]) }, "\(points.prefix(3))")

        let gpkg = folder.appendingPathComponent("map.gpkg").path
        try ClassPolygons.write(mapPath: map, legend: Self.legend, to: gpkg, format: .gpkg)
        let style = try CommandLineTool.run("ogrinfo", ["-ro", "-q", gpkg, "-sql", "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"])
        #expect(style.contains("f_table_name (String) = landcover") && style.contains("f_geometry_column (String) = geom"), "\(style)")
        #expect(style.contains("label=\"farmer&apos;s field\"") && style.contains("attr=\"class\""), "\(style)")
        let contents = try CommandLineTool.run("ogrinfo", ["-ro", "-q", gpkg, "-sql", "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"])
        #expect(contents.contains("data_type (String) = attributes"))
        // The raster's .qml lists exactly the classes.
        let qml = ClassStyle.rasterQML(legend: Self.legend)
        #expect(qml.components(separatedBy: "<paletteEntry ").count - 1 == Self.legend.names.count)
        #expect(qml.contains("<rasterrenderer type=\"paletted\" band=\"1\"") && qml.contains("value=\"5\" color=\"#0064c8\" alpha=\"255\" label=\"water\""))
    }

    /// A map without a CRS cannot give RFC 7946 lon/lat: the error names the output and the key to
    /// change; the native variant still works.
    @Test func geoJSONOfAMapWithoutCRSAsksForTheNativeVariant() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("plain.tif").path
        let grid = SceneGrid(width: 8, height: 8, geoTransform: GeoTransform(originX: 0, pixelWidth: 1, originY: 8, pixelHeight: -1),
                             spatialReference: nil)
        let writer = try ClassRasterWriter(path: map, sourceGrid: grid, legend: Self.legend, format: .gtiff)
        let classes = (0..<64).map { UInt16($0 % 8 < 4 ? 0 : 1) }
        try classes.withUnsafeBufferPointer { try writer.writeClasses(window: RasterWindow(width: 8, height: 8), values: $0.baseAddress!) }
        try writer.commit()
        let output = folder.appendingPathComponent("plain.geojson").path
        #expect { try ClassPolygons.write(mapPath: map, legend: Self.legend, to: output, format: .geojson) } throws: { error in
            "\(error)".contains("plain.geojson") && "\(error)".contains("set output.geojson_crs: native")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try ClassPolygons.write(mapPath: map, legend: Self.legend, to: output, format: .geojson, geographic: false) == 2)
    }

    /// The minimum mapping unit: regions below the threshold join their largest neighbour, with
    /// the sieve's connectivity; nodata stays nodata.
    @Test func sieveRemovesRegionsBelowTheMinimumMappingUnit() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let four = folder.appendingPathComponent("four.tif").path, eight = folder.appendingPathComponent("eight.tif").path
        try Self.writeMap(four, sieve: (2, false))
        try Self.writeMap(eight, sieve: (2, true))
        let fourValues = try RasterDataset(path: four).read(window: RasterWindow(width: 60, height: 40), bands: [1]).values
        let eightValues = try RasterDataset(path: eight).read(window: RasterWindow(width: 60, height: 40), bands: [1]).values
        // 4-connected, the two class-2 pixels are two 1-pixel regions: both become cropland.
        #expect(fourValues[10 * 60 + 40] == 0 && fourValues[11 * 60 + 41] == 0)
        // 8-connected they are one 2-pixel region and stay.
        #expect(eightValues[10 * 60 + 40] == 2 && eightValues[11 * 60 + 41] == 2)
        #expect(fourValues.filter { $0 == 255 }.count == 400 && eightValues.filter { $0 == 255 }.count == 400, "nodata unchanged")
        #expect(fourValues.filter { $0 == 1 }.count == 400 && fourValues.filter { $0 == 5 }.count == 400)
    }

    @Test func eightConnectedJoinsCornerNeighboursAndReplacesAnOldFile() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("map.tif").path
        try Self.writeMap(map)
        let output = folder.appendingPathComponent("map.gpkg").path
        try Data("not a geopackage".utf8).write(to: URL(fileURLWithPath: output))
        #expect(try ClassPolygons.write(mapPath: map, legend: Self.legend, to: output, format: .gpkg, eightConnected: true) == 4)
        #expect(try Self.rows(output, geometry: "geom").contains("2,farmer's field,200"))
    }

    @Test func aMissingMapNamesIt() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let map = folder.appendingPathComponent("absent.tif").path
        #expect { try ClassPolygons.write(mapPath: map, legend: Self.legend, to: folder.appendingPathComponent("p.gpkg").path, format: .gpkg) } throws: {
            "\($0)".contains("absent.tif")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}

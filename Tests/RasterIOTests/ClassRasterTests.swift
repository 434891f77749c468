import Foundation
import RasterIO
import TestSupport
import Testing

@Suite("Class rasters read back in gdalinfo with CRS, colours, names and nodata")
struct ClassRasterTests {
    static let legend: ClassLegend = {
        let names = ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"]
        let colors = ["#f096ff", "#006400", "#ffff4c", "#ffbb22", "#fa0000", "#0064c8", "#0096a0"].compactMap(RGBColor.init(hex:))
        return (try? ClassLegend(names: names, colors: colors)) ?? { preconditionFailure("static legend") }()
    }()

    static func write(_ path: String, grid: SceneGrid, factor: Int, format: RasterFormat) throws -> ClassRasterWriter {
        let writer = try ClassRasterWriter(path: path, sourceGrid: grid, factor: factor, legend: legend, extraBands: ["confidence"],
                                           format: format, provenance: ["version": "test", "model_sha256": "abc123"])
        let out = writer.grid
        var classes = [UInt16](repeating: 0, count: out.width * out.height)
        var confidence = [UInt16](repeating: 0, count: out.width * out.height)
        for y in 0..<out.height {
            for x in 0..<out.width {
                let i = y * out.width + x
                classes[i] = x < 3 ? UInt16(legend.nodataValue) : UInt16((x / 5 + y / 7) % 7)
                confidence[i] = x < 3 ? UInt16(legend.nodataValue) : UInt16((x + y) % 101)
            }
        }
        let window = RasterWindow(width: out.width, height: out.height)
        try classes.withUnsafeBufferPointer { try writer.writeClasses(window: window, values: $0.baseAddress!) }
        try confidence.withUnsafeBufferPointer { try writer.writeExtra(0, window: window, values: $0.baseAddress!) }
        return writer
    }

    static let grid = SceneGrid(width: 1008, height: 768,
                                geoTransform: GeoTransform(originX: 330000, pixelWidth: 10, originY: 5822040, pixelHeight: -10),
                                spatialReference: try? SpatialReference("EPSG:32633"))

    @Test("GTiff at source resolution and at 1/64 resolution", arguments: [1, 64])
    func geotiff(factor: Int) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("map.tif").path
        let writer = try Self.write(path, grid: Self.grid, factor: factor, format: .gtiff)
        #expect(!FileManager.default.fileExists(atPath: path))
        try writer.commit()
        let info = try TestRasters.gdalinfo(path)
        let size = info["size"] as? [Int]
        #expect(size == [(1008 + factor - 1) / factor, (768 + factor - 1) / factor])
        #expect((info["geoTransform"] as? [Double]) == [330000, 10.0 * Double(factor), 0, 5822040, 0, -10.0 * Double(factor)])
        let wkt = ((info["coordinateSystem"] as? [String: Any])?["wkt"] as? String) ?? ""
        #expect(wkt.contains("UTM zone 33N"))
        let bands = try #require(info["bands"] as? [[String: Any]])
        #expect(bands.count == 2)
        #expect(bands[0]["type"] as? String == "Byte")
        #expect(bands[0]["noDataValue"] as? Double == 255)
        #expect(bands[0]["description"] as? String == "class")
        #expect(bands[1]["description"] as? String == "confidence")
        #expect(bands[0]["colorInterpretation"] as? String == "Palette")
        let entries = (bands[0]["colorTable"] as? [String: Any])?["entries"] as? [[Int]]
        #expect(entries?[1] == [0, 100, 0, 255])
        #expect(entries?[5] == [0, 100, 200, 255])
        let categories = bands[0]["categories"] as? [String]
        #expect(Array(categories?.prefix(7) ?? []) == Self.legend.names)
        let metadata = (info["metadata"] as? [String: Any])?[""] as? [String: String]
        #expect(metadata?["LANDCOVER_MODEL_SHA256"] == "abc123")
        #expect(metadata?["LANDCOVER_CLASS_NAMES"] == Self.legend.names.joined(separator: ","))
        // Pixels read back.
        let ds = try RasterDataset(path: path)
        let back = try ds.read(window: RasterWindow(column: 0, row: 0, width: 10, height: 10), bands: [1])
        #expect(!back.isValid(column: 0, row: 0) && back.isValid(column: 5, row: 0))
        #expect(back[0, 5, 0] == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(RasterWriter.temporaryMarker) }
        #expect(leftovers.isEmpty)
    }

    @Test func cloudOptimizedGeoTIFF() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("map_cog.tif").path
        try Self.write(path, grid: Self.grid, factor: 1, format: .cog).commit()
        let info = try TestRasters.gdalinfo(path)
        let structure = (info["metadata"] as? [String: Any])?["IMAGE_STRUCTURE"] as? [String: String]
        #expect(structure?["LAYOUT"] == "COG")
        let bands = try #require(info["bands"] as? [[String: Any]])
        #expect(((bands[0]["overviews"] as? [Any])?.count ?? 0) >= 1)
        #expect(bands[0]["noDataValue"] as? Double == 255)
        #expect(((bands[0]["colorTable"] as? [String: Any])?["entries"] as? [[Int]])?[6] == [0, 150, 160, 255])
        #expect(Array((bands[0]["categories"] as? [String])?.prefix(7) ?? []) == Self.legend.names)
        #expect((info["geoTransform"] as? [Double]) == [330000, 10, 0, 5822040, 0, -10])
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(entries.allSatisfy { !$0.contains(RasterWriter.temporaryMarker) })
    }

    @Test func wideLegendsUseUInt16() throws {
        let names = (0..<300).map { "class\($0)" }
        let legend = try ClassLegend(names: names, colors: names.indices.map { RGBColor(red: UInt8($0 % 256), green: 0, blue: 0) })
        #expect(legend.dataType == .uint16 && legend.nodataValue == 65535)
        #expect(throws: RasterIOError.self) { try ClassLegend(names: ["a", "b"], colors: [RGBColor(red: 0, green: 0, blue: 0)]) }
    }
}

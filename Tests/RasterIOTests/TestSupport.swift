import Foundation
import TestTools
import RasterIO

/// Paths and fixtures shared by the RasterIO tests.
enum Fixtures {
    /// The package root (two levels above this file's folder).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// ../shared/data/real-sentinel2 beside the package (as on CI).
    static let realData = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/real-sentinel2")

    static func real(_ relative: String) -> String {
        realData.appendingPathComponent(relative).path
    }

    /// A fresh temporary folder.
    static func temporaryFolder(_ label: String = #function) throws -> URL {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("landcover-tests-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let utm33 = "EPSG:32633"

    /// Writes a north-up single- or multi-band raster whose value at band b, column x, row y is
    /// `value(b, x, y)`.
    static func writeRaster(_ path: String, width: Int, height: Int, bands: Int = 1, dataType: RasterDataType = .uint16,
                            originX: Double = 330000, originY: Double = 5822040, pixel: Double = 10,
                            crs: String = utm33, nodata: Double? = nil, descriptions: [String] = [],
                            value: (Int, Int, Int) -> Double) throws {
        let grid = SceneGrid(width: width, height: height,
                             geoTransform: GeoTransform(originX: originX, pixelWidth: pixel, originY: originY, pixelHeight: -pixel),
                             spatialReference: try SpatialReference(crs))
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: grid, bandCount: bands, dataType: dataType,
                                                                         nodata: nodata, bandDescriptions: descriptions))
        for b in 0..<bands {
            var values = [Double](repeating: 0, count: width * height)
            for y in 0..<height { for x in 0..<width { values[y * width + x] = value(b, x, y) } }
            try writer.write(band: b + 1, window: RasterWindow(width: width, height: height), values: values)
        }
        try writer.commit()
    }

    /// Runs a command-line tool and returns its standard output; throws on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        try CommandLineTool.run(tool, arguments)
    }

    /// `gdalinfo -json` of a path, parsed.
    static func gdalinfo(_ path: String, _ extra: [String] = []) throws -> [String: Any] {
        let text = try run("gdalinfo", ["-json"] + extra + [path])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }
}

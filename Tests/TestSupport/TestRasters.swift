import Foundation
import RasterIO

/// Small rasters written for tests, and GDAL's own view of a file: shared by every test target.
public enum TestRasters {
    /// UTM zone 33N, the CRS of the Sentinel-2 samples.
    public static let utm33 = "EPSG:32633"

    /// Writes a north-up single- or multi-band GeoTIFF whose value at band b, column x, row y is
    /// `value(b, x, y)` (origin at the top-left corner, `pixel` map units square).
    public static func writeRaster(_ path: String, width: Int, height: Int, bands: Int = 1, dataType: RasterDataType = .uint16,
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

    /// `gdalinfo -json` of a path, parsed.
    /// - Throws: ``CommandLineTool/Failure`` when gdalinfo fails.
    public static func gdalinfo(_ path: String, _ extra: [String] = []) throws -> [String: Any] {
        let text = try CommandLineTool.run("gdalinfo", ["-json"] + extra + [path])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }
}

import Foundation
import Products
import RasterIO
import TestSupport
import Testing

/// The preview PNG as other tools read it: GDAL opens it as 4-band RGBA of the rendered size.
@Suite struct PreviewFileTests {
    @Test func gdalReadsThePreviewAsRGBA() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let legend = try ClassLegend(names: ["water", "forest"], colors: [RGBColor(red: 0, green: 0, blue: 255), RGBColor(red: 0, green: 128, blue: 0)])
        let classes: [UInt16] = (0..<(40 * 30)).map { $0 % 40 < 20 ? 0 : ($0 / 40 < 3 ? 255 : 1) }
        let path = folder.appendingPathComponent("preview.png").path
        try PreviewRenderer.write(path: path, classes: classes, width: 40, height: 30, legend: legend,
                                  classPixels: [600, 540], title: "test")
        let picture = PreviewRenderer.render(classes: classes, width: 40, height: 30, legend: legend, classPixels: [600, 540], title: "test")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(CommandLineTool.run("gdalinfo", ["-json", path]).utf8)) as? [String: Any])
        #expect((info["size"] as? [Int]) == [picture.width, picture.height])
        let bands = (info["bands"] as? [[String: Any]]) ?? []
        #expect(bands.map { $0["colorInterpretation"] as? String } == ["Red", "Green", "Blue", "Alpha"])
    }
}

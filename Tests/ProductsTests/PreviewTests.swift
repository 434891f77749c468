import Classification
import Config
import Products
import RasterIO
import Testing

@Suite("Preview legend")
struct PreviewTests {
    /// The lowest row (picture y) holding legend-text pixels in the label line of the first
    /// class, and the bottom row of that class's swatch (the swatch is as tall as capitals).
    static func labelRows(name: String) throws -> (textBottom: Int, swatchBottom: Int) {
        let swatchColor = RGBColor(red: 200, green: 10, blue: 10)
        let legend = try ClassLegend(names: [name], colors: [swatchColor])
        let picture = PreviewRenderer.render(classes: [0, 0, 0, 0], width: 2, height: 2, legend: legend,
                                             classPixels: [4], title: "T")
        func rgba(_ x: Int, _ y: Int) -> [UInt8] { Array(picture.pixels[((y * picture.width) + x) * 4..<((y * picture.width) + x) * 4 + 4]) }
        let mapWidth = 512 // 2 px magnified to the ~512 px minimum
        var swatchTop = Int.max, swatchBottom = -1, swatchRight = -1
        for y in 0..<picture.height {
            for x in mapWidth..<picture.width where rgba(x, y) == [200, 10, 10, 255] {
                swatchTop = min(swatchTop, y); swatchBottom = max(swatchBottom, y); swatchRight = max(swatchRight, x)
            }
        }
        #expect(swatchBottom >= 0, "no swatch found")
        var textBottom = -1
        for y in swatchTop..<picture.height {
            for x in (swatchRight + 2)..<picture.width where rgba(x, y) == [20, 20, 20, 255] { textBottom = max(textBottom, y) }
        }
        return (textBottom, swatchBottom)
    }

    /// Descenders ("p", "g", "y", "q", "j") are drawn below the baseline (the swatch's bottom),
    /// whole; letters without descenders end on it.
    @Test func legendTextKeepsDescenders() throws {
        let plain = try Self.labelRows(name: "HILL")
        #expect(plain.textBottom >= 0)
        for name in ["cropland", "grassland", "jetty", "quay", "sapling"] {
            let rows = try Self.labelRows(name: name)
            // Two font rows of 2 px below the baseline: the glyph bitmap is not clipped.
            #expect(rows.textBottom - rows.swatchBottom == 4, "\(name): text ends \(rows.textBottom - rows.swatchBottom) px below the baseline")
        }
        // "HILL 100.0%" has no descender: it ends on the baseline.
        #expect(plain.textBottom == plain.swatchBottom, "HILL: text ends \(plain.textBottom - plain.swatchBottom) px below the baseline")
    }
}

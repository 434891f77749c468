import Classification
import Config
import Foundation
import RasterIO

/// Draws the preview PNG: the class map (nearest-neighbour downsampled, nodata transparent)
/// beside a legend with each class's colour, name and share of the classified area.
public enum PreviewRenderer {
    /// Renders an RGBA picture.
    ///
    /// - Parameters:
    ///   - classes: class values, row-major, `width` x `height`; values outside the legend are
    ///     drawn transparent (nodata).
    ///   - classPixels: pixels per class in the full map, for the percentages.
    /// - Returns: RGBA bytes (`((row * pictureWidth) + column) * 4`), and the picture size.
    public static func render(classes: [UInt16], width: Int, height: Int, legend: ClassLegend,
                              classPixels: [Int], title: String) -> (pixels: [UInt8], width: Int, height: Int) {
        // Small maps are magnified so the preview is at least ~512 px on its long side.
        let magnify = max(1, 512 / max(1, max(width, height)))
        let mapWidth = width * magnify, mapHeight = height * magnify
        // A legend line holds a whole glyph cell, descenders included; the swatch is as tall as capitals.
        let scale = 2, line = BitmapFont.glyphHeight * scale + 6, swatch = BitmapFont.bodyHeight * scale
        let total = max(1, classPixels.reduce(0, +))
        let labels = legend.names.enumerated().map { index, name in
            let share = index < classPixels.count ? Double(classPixels[index]) * 100 / Double(total) : 0
            return "\(name) \(String(format: "%.1f", share))%"
        }
        let textWidth = max(BitmapFont.width(of: title, scale: scale), labels.map { BitmapFont.width(of: $0, scale: scale) + swatch + 8 }.max() ?? 0)
        let legendWidth = textWidth + 32
        let legendHeight = 16 + line * (labels.count + 1) + 8
        let pictureWidth = mapWidth + legendWidth, pictureHeight = max(mapHeight, legendHeight)
        var pixels = [UInt8](repeating: 255, count: pictureWidth * pictureHeight * 4)
        // Map area: transparent where nodata or outside the map.
        for y in 0..<pictureHeight {
            for x in 0..<mapWidth {
                let o = (y * pictureWidth + x) * 4
                guard y < mapHeight else { pixels[o + 3] = 0; continue }
                let value = Int(classes[(y / magnify) * width + x / magnify])
                if value < legend.colors.count {
                    let c = legend.colors[value]
                    pixels[o] = c.red; pixels[o + 1] = c.green; pixels[o + 2] = c.blue; pixels[o + 3] = 255
                } else {
                    pixels[o + 3] = 0
                }
            }
        }
        func fill(x: Int, y: Int, w: Int, h: Int, color: RGBColor) {
            for yy in max(0, y)..<min(pictureHeight, y + h) {
                for xx in max(0, x)..<min(pictureWidth, x + w) {
                    let o = (yy * pictureWidth + xx) * 4
                    pixels[o] = color.red; pixels[o + 1] = color.green; pixels[o + 2] = color.blue; pixels[o + 3] = 255
                }
            }
        }
        func text(_ string: String, x: Int, y: Int) {
            var cursor = x
            for character in string {
                for gy in 0..<BitmapFont.glyphHeight {
                    for gx in 0..<BitmapFont.glyphWidth where BitmapFont.isSet(character, x: gx, y: gy) {
                        fill(x: cursor + gx * scale, y: y + gy * scale, w: scale, h: scale, color: RGBColor(red: 20, green: 20, blue: 20))
                    }
                }
                cursor += (BitmapFont.glyphWidth + 1) * scale
            }
        }
        let left = mapWidth + 16
        text(title, x: left, y: 12)
        for (index, label) in labels.enumerated() {
            let y = 16 + line * (index + 1)
            fill(x: left - 1, y: y - 1, w: swatch + 2, h: swatch + 2, color: RGBColor(red: 60, green: 60, blue: 60))
            fill(x: left, y: y, w: swatch, h: swatch, color: legend.colors[index])
            text(label, x: left + swatch + 8, y: y)
        }
        return (pixels, pictureWidth, pictureHeight)
    }

    /// Renders and writes the preview (temporary file renamed into place).
    public static func write(path: String, classes: [UInt16], width: Int, height: Int, legend: ClassLegend,
                             classPixels: [Int], title: String) throws {
        let picture = render(classes: classes, width: width, height: height, legend: legend, classPixels: classPixels, title: title)
        try ImageWriter.writePNG(path: path, pixels: picture.pixels, width: picture.width, height: picture.height, channels: 4)
    }
}

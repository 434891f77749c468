import CGDAL
import Foundation

/// An RGB colour (0-255 per channel).
public struct RGBColor: Equatable, Hashable, Sendable, Codable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Parses `#rrggbb` or `rrggbb`; nil when malformed.
    public init?(hex: String) {
        var text = hex.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("#") { text.removeFirst() }
        guard text.count == 6, let value = UInt32(text, radix: 16) else { return nil }
        self.init(red: UInt8((value >> 16) & 0xff), green: UInt8((value >> 8) & 0xff), blue: UInt8(value & 0xff))
    }

    /// `#rrggbb`.
    public var hex: String { String(format: "#%02x%02x%02x", red, green, blue) }
}

/// The legend of a classification: class `i` has pixel value `i`, name `names[i]`, colour `colors[i]`.
public struct ClassLegend: Equatable, Sendable, Codable {
    public var names: [String]
    public var colors: [RGBColor]

    /// - Throws: ``RasterIOError/invalidArgument(_:)`` when the lists differ in length or are empty.
    public init(names: [String], colors: [RGBColor]) throws {
        guard !names.isEmpty else { throw RasterIOError.invalidArgument("a class legend needs at least one class") }
        guard colors.count == names.count else {
            throw RasterIOError.invalidArgument("class legend has \(names.count) names but \(colors.count) colours; give one colour per class")
        }
        self.names = names
        self.colors = colors
    }

    /// Byte when the class values and nodata fit in 0...255, else UInt16.
    public var dataType: RasterDataType { names.count <= 254 ? .byte : .uint16 }

    /// The nodata value of class rasters: 255 for Byte, 65535 for UInt16.
    public var nodataValue: Int { dataType == .byte ? 255 : 65535 }
}

/// Writes georeferenced class maps: band 1 holds class values (nodata where there is no data) with
/// a colour table, category names and a raster attribute table (value, class, colour; see
/// ``ClassStyle``); optional extra bands follow with their descriptions and a neutral colour
/// interpretation (`Undefined`). Note that GDAL's COG and GeoTIFF copies tag the second band of a
/// paletted two-band file as alpha, so landcover's pipelines write confidence and probabilities to
/// files of their own and keep the map single-band. The grid is the source scene's grid, or a
/// grid coarser by an integer factor (patch-resolution outputs), with the source's CRS.
///
/// Output goes to a temporary file renamed at ``commit()`` (see ``RasterWriter``).
public final class ClassRasterWriter {
    public let legend: ClassLegend
    public let writer: RasterWriter

    /// - Parameters:
    ///   - path: final output path (`.tif`).
    ///   - sourceGrid: the scene grid; the output has its CRS and transform (scaled by `factor`).
    ///   - factor: output pixel = `factor` x `factor` source pixels (1 = same resolution).
    ///   - extraBands: descriptions of the bands after the class band (e.g. `["confidence"]`).
    ///   - provenance: metadata items recorded in the file (tool version, model and pipeline hashes,
    ///     source scene), written under the `LANDCOVER_` prefix.
    ///   - creationOptions: GDAL creation options over landcover's own (``RasterWriteSpec/creationOptions``).
    public init(path: String, sourceGrid: SceneGrid, factor: Int = 1, legend: ClassLegend,
                extraBands: [String] = [], format: RasterFormat = .gtiff,
                compression: RasterCompression = .deflate, provenance: [String: String] = [:],
                creationOptions: [String: String] = [:]) throws {
        guard factor >= 1 else { throw RasterIOError.invalidArgument("\(path): output scale factor must be >= 1, not \(factor)") }
        let grid = SceneGrid(width: (sourceGrid.width + factor - 1) / factor,
                             height: (sourceGrid.height + factor - 1) / factor,
                             geoTransform: sourceGrid.geoTransform.coarsened(by: factor),
                             spatialReference: sourceGrid.spatialReference)
        var metadata: [String: String] = [:]
        for (key, value) in provenance { metadata["LANDCOVER_\(key.uppercased())"] = value }
        metadata["LANDCOVER_CLASS_NAMES"] = legend.names.joined(separator: ",")
        metadata["LANDCOVER_CLASS_COLORS"] = legend.colors.map(\.hex).joined(separator: ",")
        var spec = RasterWriteSpec(grid: grid, bandCount: 1 + extraBands.count, dataType: legend.dataType,
                                   nodata: Double(legend.nodataValue), bandDescriptions: ["class"] + extraBands,
                                   format: format, compression: compression, overviewResampling: .mode,
                                   metadata: metadata)
        spec.creationOptions = creationOptions
        self.legend = legend
        self.writer = try RasterWriter(path: path, spec: spec)
        try writer.withBand(1) { band in
            try applyLegend(band)
            try ClassStyle.attachAttributeTable(legend: legend, to: band, path: path)
        }
        for index in extraBands.indices {
            try writer.withBand(2 + index) { band in
                try GDALCall.check(GDALSetRasterColorInterpretation(band, GCI_Undefined), "setting band \(2 + index)'s colour interpretation", path: path)
            }
        }
    }

    private func applyLegend(_ band: GDALRasterBandH) throws {
        guard let table = GDALCreateColorTable(GPI_RGB) else {
            throw RasterIOError.writeFailed(path: writer.path, reason: "cannot allocate a colour table")
        }
        defer { GDALDestroyColorTable(table) }
        let entries = legend.dataType == .byte ? 256 : legend.names.count
        for value in 0..<entries {
            var entry = GDALColorEntry(c1: 0, c2: 0, c3: 0, c4: 0)
            if value < legend.colors.count {
                let c = legend.colors[value]
                entry = GDALColorEntry(c1: Int16(c.red), c2: Int16(c.green), c3: Int16(c.blue), c4: 255)
            }
            GDALSetColorEntry(table, Int32(value), &entry)
        }
        try GDALCall.check(GDALSetRasterColorTable(band, table), "setting the colour table", path: writer.path)
        try GDALCall.check(GDALSetRasterColorInterpretation(band, GCI_PaletteIndex), "setting the palette interpretation", path: writer.path)
        var names = legend.names
        if legend.dataType == .byte {
            while names.count < legend.nodataValue { names.append("") }
            names.append("nodata")
        }
        try GDALCall.withStringList(names) { list in
            try GDALCall.check(GDALSetRasterCategoryNames(band, list), "setting category names", path: writer.path)
        }
        // GeoTIFF keeps category names only in GDAL's .aux.xml sidecar: a map without it lost them.
        writer.requiresSidecar = true
    }

    /// The output grid.
    public var grid: SceneGrid { writer.spec.grid }

    /// Writes class values (0..<classes, or the legend's nodata value) for a window of the output grid.
    public func writeClasses(window: RasterWindow, values: UnsafePointer<UInt16>) throws {
        try writer.write(band: 1, window: window, values: values)
    }

    /// Writes an extra band (`index` 0 = the first extra band) for a window of the output grid.
    public func writeExtra(_ index: Int, window: RasterWindow, values: UnsafePointer<UInt16>) throws {
        try writer.write(band: 2 + index, window: window, values: values)
    }

    /// Applies a minimum mapping unit to the written classes: every 4-connected (or, with
    /// `eightConnected`, 8-connected) region of one class smaller than `minimumPixels` pixels takes
    /// the class of its largest neighbouring region (GDAL's sieve filter, `GDALSieveFilter`, in
    /// place on band 1). Nodata pixels are neither changed nor used as neighbours, so the valid
    /// area and the nodata area keep their size; class areas shift between classes. A region
    /// whose neighbours are all smaller than the threshold stays. Call after the last
    /// ``writeClasses(window:values:)`` and before ``commit()``; works a row at a time (memory
    /// follows the map width and the number of regions).
    public func sieve(minimumPixels: Int, eightConnected: Bool) throws {
        guard minimumPixels > 1 else { return }
        try writer.flush()
        try writer.withBand(1) { band in
            GDALCall.reset()
            let mask = GDALGetMaskBand(band)
            let result = GDALSieveFilter(band, mask, band, Int32(clamping: minimumPixels), eightConnected ? 8 : 4, nil, nil, nil)
            try GDALCall.check(result, "applying the minimum mapping unit (sieve filter)", path: writer.path)
        }
    }

    /// Reads the written classes back, `rows` rows at a time from the top (after ``sieve(minimumPixels:eightConnected:)``,
    /// for statistics and previews of the final map). `body` gets the first row and the values,
    /// row-major, `grid.width` per row.
    public func forEachClassRows(_ rows: Int, _ body: (Int, UnsafeBufferPointer<UInt16>) throws -> Void) throws {
        try writer.flush()
        let width = grid.width, height = grid.height, step = max(1, rows)
        var buffer = [UInt16](repeating: 0, count: width * step)
        try writer.withBand(1) { band in
            var row = 0
            while row < height {
                let count = min(step, height - row)
                GDALCall.reset()
                let result = buffer.withUnsafeMutableBytes { raw in
                    GDALRasterIO(band, GF_Read, 0, Int32(row), Int32(width), Int32(count), raw.baseAddress,
                                 Int32(width), Int32(count), GDT_UInt16, 0, 0)
                }
                try GDALCall.check(result, "reading back rows \(row)-\(row + count - 1) of the class map", path: writer.path)
                try buffer.withUnsafeBufferPointer { all in
                    try body(row, UnsafeBufferPointer(rebasing: all[0..<(count * width)]))
                }
                row += count
            }
        }
    }

    /// Finishes the output and moves it into place (see ``RasterWriter/commit()``).
    /// - Returns: the committed files (map, then its `.aux.xml` sidecar) with their sizes.
    @discardableResult
    public func commit() throws -> [CommittedFile] {
        try writer.commit()
    }

    /// Discards the output.
    public func abort() {
        writer.abort()
    }
}

import Foundation
import RasterIO
import TestSupport
import Testing

/// Plain tiled GeoTIFFs (DEFLATE or uncompressed, 8- or 16-bit) are decoded without GDAL; every
/// read must equal GDAL's read of the same file (through a VRT wrapper, which GDAL reads itself).
@Suite("Direct tile reads")
struct DirectTileReadTests {
    /// One way of writing the test file with gdal_translate.
    struct Layout: CustomTestStringConvertible, Sendable {
        var dataType: RasterDataType
        var compress: String
        var predictor: Int
        var block: Int
        var interleave: String
        var bands: Int = 3
        var nodata: Double?

        var options: [String] {
            var o = ["-co", "TILED=YES", "-co", "COMPRESS=\(compress)", "-co", "BLOCKXSIZE=\(block)", "-co", "BLOCKYSIZE=\(block)",
                     "-co", "INTERLEAVE=\(interleave)"]
            if compress != "NONE" { o += ["-co", "PREDICTOR=\(predictor)"] }
            return o
        }

        var testDescription: String {
            "\(dataType.rawValue) \(compress) p\(predictor) \(block) \(interleave) \(bands)b nodata=\(nodata.map { "\($0)" } ?? "-")"
        }
    }

    static let layouts: [Layout] = [
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 2, block: 512, interleave: "BAND", nodata: 0),
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 2, block: 256, interleave: "BAND"),
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 1, block: 256, interleave: "BAND", nodata: 65535),
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 2, block: 256, interleave: "PIXEL", nodata: 0),
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 1, block: 512, interleave: "PIXEL"),
        Layout(dataType: .uint16, compress: "NONE", predictor: 1, block: 256, interleave: "BAND", nodata: 7),
        Layout(dataType: .uint16, compress: "NONE", predictor: 1, block: 512, interleave: "PIXEL"),
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 2, block: 16, interleave: "BAND", nodata: 0),
        Layout(dataType: .uint16, compress: "DEFLATE", predictor: 2, block: 256, interleave: "BAND", bands: 1, nodata: 0),
        Layout(dataType: .byte, compress: "DEFLATE", predictor: 2, block: 256, interleave: "BAND", nodata: 255),
        Layout(dataType: .byte, compress: "DEFLATE", predictor: 2, block: 512, interleave: "PIXEL"),
        Layout(dataType: .byte, compress: "DEFLATE", predictor: 1, block: 256, interleave: "PIXEL", nodata: 0),
        Layout(dataType: .byte, compress: "NONE", predictor: 1, block: 256, interleave: "BAND"),
        Layout(dataType: .byte, compress: "DEFLATE", predictor: 2, block: 32, interleave: "PIXEL", bands: 2, nodata: 0),
    ]

    /// Inside one tile, across tile boundaries, across the raster's edges, wholly outside, the
    /// whole raster and single pixels (width 700, height 530).
    static let windows: [RasterWindow] = [
        RasterWindow(column: 0, row: 0, width: 700, height: 530),
        RasterWindow(column: 10, row: 20, width: 64, height: 48),
        RasterWindow(column: 200, row: 230, width: 130, height: 70),
        RasterWindow(column: 255, row: 255, width: 2, height: 2),
        RasterWindow(column: 513, row: 255, width: 256, height: 300),
        RasterWindow(column: -5, row: -9, width: 40, height: 30),
        RasterWindow(column: 650, row: 500, width: 64, height: 64),
        RasterWindow(column: 699, row: 529, width: 1, height: 1),
        RasterWindow(column: 900, row: 900, width: 8, height: 8),
        RasterWindow(column: -20, row: 100, width: 760, height: 3),
    ]

    /// Values with structure and noise (so the predictor matters), some nodata pixels, and the
    /// top-left 256x256 block all nodata (0 without nodata), which SPARSE_OK leaves out of the file.
    static func value(_ layout: Layout, _ b: Int, _ x: Int, _ y: Int) -> Double {
        let empty = layout.nodata ?? 0
        if x < 256 && y < 256 { return empty }
        if let nodata = layout.nodata, (x * 3 + y * 5 + b) % 89 == 0 { return nodata }
        let maximum = layout.dataType == .byte ? 254 : 65534
        var h = UInt32(truncatingIfNeeded: x &* 73_856_093 ^ y &* 19_349_663 ^ b &* 83_492_791)
        h ^= h >> 13
        let smooth = (x * 37 + y * 11 + b * 1000) % (maximum / 2)
        let v = min(maximum, smooth + Int(h % 200) + 1)
        return Double(v == Int(layout.nodata ?? -1) ? v - 1 : v)
    }

    /// Writes the layout's file (and a plain source) into `folder`; returns the tiled file's path.
    static func write(_ layout: Layout, in folder: URL, sparse: Bool = false) throws -> String {
        let source = folder.appendingPathComponent("source.tif").path
        try TestRasters.writeRaster(source, width: 700, height: 530, bands: layout.bands, dataType: layout.dataType,
                                 nodata: layout.nodata) { b, x, y in value(layout, b, x, y) }
        let path = folder.appendingPathComponent(sparse ? "sparse.tif" : "tiled.tif").path
        try CommandLineTool.run("gdal_translate", ["-q"] + layout.options + (sparse ? ["-co", "SPARSE_OK=TRUE"] : []) + [source, path])
        return path
    }

    /// GDAL's own read of `path`: a VRT wrapper, which is never read directly.
    static func gdalReference(of path: String, in folder: URL) throws -> RasterDataset {
        let vrt = folder.appendingPathComponent(UUID().uuidString + ".vrt").path
        try CommandLineTool.run("gdal_translate", ["-q", "-of", "VRT", path, vrt])
        let dataset = try RasterDataset(path: vrt)
        #expect(!dataset.readsTilesDirectly)
        return dataset
    }

    static func samples(_ dataset: RasterDataset, _ window: RasterWindow, bands: [Int]) throws -> SampleBuffer {
        var buffer = SampleBuffer(width: window.width, height: window.height, bandCount: bands.count)
        try buffer.values.withUnsafeMutableBufferPointer { values in
            try buffer.validity.withUnsafeMutableBufferPointer { validity in
                guard let v = values.baseAddress, let m = validity.baseAddress else { return }
                try dataset.read(window: window, bands: bands, samples: v, validity: m)
            }
        }
        return buffer
    }

    /// Every window, as UInt16 samples and as Float32, equals GDAL's read.
    static func expectSameAsGDAL(_ path: String, _ layout: Layout, in folder: URL) throws -> RasterDataset {
        let direct = try RasterDataset(path: path)
        let reference = try gdalReference(of: path, in: folder)
        #expect(direct.readsTilesDirectly, "\(layout.testDescription) must take the direct path")
        let bandOrders = layout.bands == 1 ? [[1]] : [Array(1...layout.bands), Array((1...layout.bands).reversed()), [layout.bands, 1, layout.bands]]
        for window in windows {
            for bands in bandOrders {
                let mine = try samples(direct, window, bands: bands)
                let gdal = try samples(reference, window, bands: bands)
                #expect(Self.firstDifference(mine.values, gdal.values) == nil, "\(layout.testDescription) \(window) bands \(bands): samples differ")
                #expect(Self.firstDifference(mine.validity, gdal.validity) == nil, "\(layout.testDescription) \(window) bands \(bands): validity differs")
            }
            let mine = try direct.read(window: window)
            let gdal = try reference.read(window: window)
            #expect(Self.firstDifference(mine.values, gdal.values) == nil, "\(layout.testDescription) \(window): Float32 read differs")
            #expect(Self.firstDifference(mine.validity, gdal.validity) == nil, "\(layout.testDescription) \(window): Float32 validity differs")
        }
        #expect(reference.directTileReads == 0)
        return direct
    }

    /// The first index where two reads differ, with both values (nil when equal); keeps failure
    /// messages short.
    static func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> String? {
        guard a.count == b.count else { return "counts \(a.count) and \(b.count)" }
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return nil }
        return "index \(i): \(a[i]) vs GDAL's \(b[i])"
    }

    @Test("reads equal GDAL's", arguments: layouts)
    func readsEqualGDAL(layout: Layout) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try Self.write(layout, in: folder)
        let direct = try Self.expectSameAsGDAL(path, layout, in: folder)
        #expect(direct.directTileReads > 0, "the direct path was taken")
    }

    @Test("sparse files read like GDAL's", arguments: layouts.filter { $0.compress == "DEFLATE" && $0.block == 256 })
    func sparseFilesEqualGDAL(layout: Layout) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try Self.write(layout, in: folder, sparse: true)
        let direct = try Self.expectSameAsGDAL(path, layout, in: folder)
        // The empty top-left tile is not in the file: a whole read decodes fewer tiles than it covers.
        let fresh = try RasterDataset(path: path)
        _ = try fresh.read(window: fresh.fullWindow)
        let tiles = 3 * 3 * (layout.interleave == "BAND" ? layout.bands : 1)
        #expect(fresh.directTileReads == tiles - (layout.interleave == "BAND" ? layout.bands : 1), "sparse tile skipped")
        #expect(direct.directTileReads > 0)
    }

    @Test("other layouts keep GDAL's path")
    func otherLayoutsUseGDAL() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.tif").path
        try TestRasters.writeRaster(source, width: 300, height: 200, bands: 2, dataType: .uint16) { b, x, y in Double(x + y + b) }
        let variants: [(String, [String])] = [
            ("strips", ["-co", "TILED=NO", "-co", "COMPRESS=DEFLATE"]),
            ("lzw", ["-co", "TILED=YES", "-co", "COMPRESS=LZW"]),
            ("zstd", ["-co", "TILED=YES", "-co", "COMPRESS=ZSTD"]),
            ("int16", ["-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-ot", "Int16"]),
            ("float", ["-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-ot", "Float32"]),
            ("nbits", ["-co", "TILED=YES", "-co", "NBITS=12"]),
            ("bigendian", ["-co", "TILED=YES", "-co", "ENDIANNESS=BIG"]),
        ]
        for (name, options) in variants {
            let path = folder.appendingPathComponent("\(name).tif").path
            try CommandLineTool.run("gdal_translate", ["-q"] + options + [source, path])
            let dataset = try RasterDataset(path: path)
            #expect(!dataset.readsTilesDirectly, "\(name) must go through GDAL")
            let window = RasterWindow(column: 10, row: 10, width: 50, height: 40)
            if dataset.canReadSamples(bands: [1, 2]) {
                let read = try Self.samples(dataset, window, bands: [1, 2])
                #expect(read.values[0] == 20 && read.values[window.pixelCount] == 21, "\(name)")
            } else {
                #expect(try dataset.read(window: window)[1, 0, 0] == 21, "\(name)")
            }
            #expect(dataset.directTileReads == 0)
        }
    }

    @Test("damaged files give a typed error", arguments: ["DEFLATE", "NONE"])
    func damagedFilesThrow(compress: String) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = Layout(dataType: .uint16, compress: compress, predictor: compress == "NONE" ? 1 : 2, block: 256, interleave: "BAND")
        let path = try Self.write(layout, in: folder)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))

        let truncated = folder.appendingPathComponent("truncated.tif").path
        try whole.prefix(whole.count * 3 / 5).write(to: URL(fileURLWithPath: truncated))
        let cut = try RasterDataset(path: truncated)
        #expect(cut.readsTilesDirectly)
        do {
            _ = try Self.samples(cut, cut.fullWindow, bands: [1, 2, 3])
            Issue.record("a truncated file was read without error")
        } catch let error as RasterIOError {
            guard case .damagedFile(let errorPath, let detail) = error else { Issue.record("wrong error \(error)"); return }
            #expect(errorPath == truncated)
            #expect(detail.contains("tile ("), "names the tile: \(detail)")
            #expect(error.description.contains("damaged or truncated"))
        }

        // Garbage in the middle of the pixel data.
        guard compress == "DEFLATE" else { return }
        var garbled = whole
        let middle = whole.count / 2
        for i in middle..<(middle + 4096) { garbled[i] = UInt8(truncatingIfNeeded: i &* 151 &+ 7) }
        let corrupt = folder.appendingPathComponent("corrupt.tif").path
        try garbled.write(to: URL(fileURLWithPath: corrupt))
        let bad = try RasterDataset(path: corrupt)
        #expect(throws: RasterIOError.self) { _ = try Self.samples(bad, bad.fullWindow, bands: [1, 2, 3]) }
        #expect(throws: RasterIOError.self) { _ = try bad.read(window: bad.fullWindow) }
    }
}

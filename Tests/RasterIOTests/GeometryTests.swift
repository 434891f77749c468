import Testing
import RasterIO

@Suite("Geotransforms and windows")
struct GeometryTests {
    let transform = GeoTransform(originX: 330000, pixelWidth: 10, originY: 5822040, pixelHeight: -10)

    @Test("pixel to map and back", arguments: [(0.0, 0.0), (0.5, 0.5), (1007.0, 767.0), (-3.25, 12.5)])
    func pixelMapRoundTrip(column: Double, row: Double) throws {
        let map = transform.mapPoint(column: column, row: row)
        #expect(map.x == 330000 + column * 10)
        #expect(map.y == 5822040 - row * 10)
        let back = try #require(transform.pixelPoint(x: map.x, y: map.y))
        #expect(abs(back.column - column) < 1e-9)
        #expect(abs(back.row - row) < 1e-9)
    }

    @Test func rotatedTransformInverts() throws {
        let t = GeoTransform(originX: 100, pixelWidth: 2, rowRotation: 0.5, originY: 50, columnRotation: -0.25, pixelHeight: -3)
        let p = t.mapPoint(column: 7.5, row: 3.25)
        let back = try #require(t.pixelPoint(x: p.x, y: p.y))
        #expect(abs(back.column - 7.5) < 1e-9 && abs(back.row - 3.25) < 1e-9)
        #expect(GeoTransform(originX: 0, pixelWidth: 0, originY: 0, pixelHeight: 0).inverted() == nil)
    }

    @Test func windowTransformAndCoarsening() {
        let w = RasterWindow(column: 64, row: 128, width: 64, height: 64)
        let tw = transform.forWindow(w)
        #expect(tw.originX == 330640 && tw.originY == 5820760 && tw.pixelWidth == 10)
        let coarse = transform.coarsened(by: 64)
        #expect(coarse.pixelWidth == 640 && coarse.pixelHeight == -640 && coarse.originX == 330000)
        // Coarse pixel (1, 2) covers fine pixels 64..127 x 128..191.
        let fine = coarse.mapPoint(column: 1, row: 2)
        #expect(fine.x == transform.mapPoint(column: 64, row: 128).x && fine.y == transform.mapPoint(column: 64, row: 128).y)
        #expect(w.coarsened(by: 64) == RasterWindow(column: 1, row: 2, width: 1, height: 1))
        #expect(RasterWindow(column: -5, row: 3, width: 10, height: 70).coarsened(by: 64) == RasterWindow(column: -1, row: 0, width: 2, height: 2))
    }

    @Test("subdivision tiles the window exactly", arguments: [(1001, 777, 64, 64), (40, 40, 64, 64), (128, 64, 64, 64), (5, 3, 2, 2)])
    func subdivisionCoversExactly(width: Int, height: Int, bw: Int, bh: Int) {
        let whole = RasterWindow(column: 3, row: -2, width: width, height: height)
        let blocks = whole.subdivided(blockWidth: bw, blockHeight: bh)
        var covered = [Int](repeating: 0, count: width * height)
        for b in blocks {
            #expect(whole.contains(b))
            #expect(b.width <= bw && b.height <= bh && !b.isEmpty)
            for y in b.row..<b.rowEnd { for x in b.column..<b.columnEnd { covered[(y - whole.row) * width + (x - whole.column)] += 1 } }
        }
        #expect(covered.allSatisfy { $0 == 1 })
        #expect(blocks.count == ((width + bw - 1) / bw) * ((height + bh - 1) / bh))
    }

    @Test func intersectionAndEdges() {
        let raster = RasterWindow(width: 100, height: 50)
        #expect(RasterWindow(column: 90, row: 40, width: 20, height: 20).intersection(raster) == RasterWindow(column: 90, row: 40, width: 10, height: 10))
        #expect(RasterWindow(column: -10, row: -10, width: 5, height: 5).intersection(raster) == nil)
        #expect(RasterWindow(column: 100, row: 0, width: 1, height: 1).intersection(raster) == nil)
        #expect(RasterWindow(column: 10, row: 10, width: 4, height: 4).expanded(by: 2) == RasterWindow(column: 8, row: 8, width: 8, height: 8))
        let bounds = MapBounds(transform: transform, width: 1008, height: 768)
        #expect(bounds == MapBounds(minX: 330000, minY: 5814360, maxX: 340080, maxY: 5822040))
    }

    @Test("Sentinel-2 band names are canonicalized", arguments: [
        ("B4", "B04"), ("b04", "B04"), ("B08A", "B8A"), ("B8A", "B8A"), ("B12", "B12"), ("SCL", "SCL"), ("B13", "B13"),
    ])
    func canonicalNames(label: String, expected: String) {
        #expect(SentinelBand.canonicalName(label) == expected)
    }

    @Test func bandNamesFromFileNames() {
        #expect(SentinelBand.nameInFileName("/x/T33UUU_20170216T102101_B8A.jp2") == "B8A")
        #expect(SentinelBand.nameInFileName("S2A_MSIL2A_20170617T113321_36_85_B05.tif") == "B05")
        #expect(SentinelBand.nameInFileName("T33UUU_20170216T102101_B04_10m.jp2") == "B04")
        #expect(SentinelBand.nameInFileName("B11.tif") == "B11")
        #expect(SentinelBand.nameInFileName("scene.tif") == nil)
        #expect(SentinelBand.nameInFileName("SCL.tif") == "SCL")
        #expect(SentinelBand.nameInFileName("T33UUU_20170216T102101_SCL_20m.jp2") == "SCL")
    }
}

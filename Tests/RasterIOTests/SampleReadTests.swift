import Foundation
import RasterIO
import TestSupport
import Testing

/// UInt16 sample reads give the Float32 reads' values and validity, at half the memory.
@Suite("Reading UInt16 samples")
struct SampleReadTests {
    @Test("samples equal the Float32 read", arguments: [RasterDataType.uint16, .byte])
    func samplesMatchFloatRead(dataType: RasterDataType) throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("s.tif").path
        let nodata: Double = dataType == .byte ? 255 : 0
        try TestRasters.writeRaster(path, width: 700, height: 530, bands: 3, dataType: dataType, nodata: nodata) { b, x, y in
            if (x + 2 * y + b) % 97 == 0 { return nodata }
            return Double((x * 7 + y * 13 + b * 101) % (dataType == .byte ? 250 : 60000) + 1)
        }
        let dataset = try RasterDataset(path: path)
        #expect(dataset.canReadSamples(bands: [1, 2, 3]))
        // Inside, straddling the right and bottom edges, and wholly outside.
        for window in [RasterWindow(column: 0, row: 0, width: 700, height: 530),
                       RasterWindow(column: 513, row: 255, width: 256, height: 300),
                       RasterWindow(column: -5, row: -9, width: 40, height: 30),
                       RasterWindow(column: 900, row: 900, width: 8, height: 8)] {
            let floats = try dataset.read(window: window, bands: [3, 1])
            var samples = SampleBuffer(width: window.width, height: window.height, bandCount: 2)
            try samples.withUnsafeMutablePointers { v, m in
                try dataset.read(window: window, bands: [3, 1], samples: v, validity: m)
            }
            #expect(samples.validity == floats.validity, "\(window)")
            #expect(samples.values.map(\.floatValue) == floats.values, "\(window)")
        }
    }

    /// The pipeline recycles one buffer across windows of different sizes (full units and the
    /// smaller ones at the right and bottom edges): resizing keeps the storage and every read
    /// equals a read into a fresh buffer.
    @Test func oneBufferServesWindowsOfDifferentSizes() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("s.tif").path
        try TestRasters.writeRaster(path, width: 300, height: 200, bands: 2, dataType: .uint16, nodata: 0) { b, x, y in
            (x * y + b) % 31 == 0 ? 0 : Double(x + 300 * y + b)
        }
        let dataset = try RasterDataset(path: path)
        var recycled = SampleBuffer(width: 128, height: 128, bandCount: 2, capacityPixels: 128 * 128)
        #expect(recycled.capacityPixels >= 128 * 128 && recycled.values.count == 2 * 128 * 128)
        let capacity = recycled.capacityPixels
        for window in [RasterWindow(column: 256, row: 0, width: 44, height: 128), RasterWindow(column: 0, row: 0, width: 128, height: 128),
                       RasterWindow(column: 128, row: 128, width: 128, height: 72), RasterWindow(column: 256, row: 128, width: 44, height: 72),
                       RasterWindow(column: 0, row: 128, width: 128, height: 72)] {
            recycled.resize(width: window.width, height: window.height, bandCount: 2)
            try recycled.withUnsafeMutablePointers { v, m in try dataset.read(window: window, bands: [1, 2], samples: v, validity: m) }
            var fresh = SampleBuffer(width: window.width, height: window.height, bandCount: 2)
            try fresh.withUnsafeMutablePointers { v, m in try dataset.read(window: window, bands: [1, 2], samples: v, validity: m) }
            #expect(recycled == fresh, "\(window)")
            #expect(recycled.capacityPixels == capacity, "resizing to \(window) reallocated")
        }
    }

    @Test func sceneReaderReadsSamplesOnlyFromIntegerSources() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let integer = folder.appendingPathComponent("T33UUU_20240101_B02.tif").path
        try TestRasters.writeRaster(integer, width: 20, height: 10, nodata: 0) { _, x, y in Double(x == y ? 0 : 1000 + x + y) }
        let scene = try Scene.assemble(inputs: [integer])
        let reader = try SceneReader(scene: scene)
        #expect(reader.canReadSamples(bands: [0]))
        let samples = try reader.readSamples(window: RasterWindow(column: 15, row: 0, width: 10, height: 10))
        let floats = try reader.read(window: RasterWindow(column: 15, row: 0, width: 10, height: 10))
        #expect(samples.validity == floats.validity && samples.values.map(\.floatValue) == floats.values)
        #expect(samples.validFraction < 1)

        let real = folder.appendingPathComponent("T33UUU_20240101_B03.tif").path
        try TestRasters.writeRaster(real, width: 20, height: 10, dataType: .float32) { _, x, _ in Double(x) / 3 }
        let floatReader = try SceneReader(scene: try Scene.assemble(inputs: [real]))
        #expect(!floatReader.canReadSamples(bands: [0]))
        #expect(throws: RasterIOError.self) { try floatReader.readSamples(window: RasterWindow(width: 4, height: 4)) }
    }
}

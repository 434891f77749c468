import CNN
import Classification
import Config
import RasterIO
import Testing

@Suite("Band-sequential rasters to normalized NCHW patches")
struct PatchTensorConversionTests {
    @Test func layoutNormalizationAndValidity() throws {
        // A 6x5 window at scene (10, 20) with 2 bands; value = 1000*band + 10*row + column.
        var buffer = BandBuffer(width: 6, height: 5, bandCount: 2)
        for b in 0..<2 { for y in 0..<5 { for x in 0..<6 { buffer.values[(b * 5 + y) * 6 + x] = Float(1000 * b + 10 * y + x) } } }
        buffer.validity = [UInt8](repeating: 1, count: 30)
        buffer.validity[2 * 6 + 3] = 0   // scene pixel (13, 22)
        let contract = ModelContract(task: .patchClassification, bands: ["B04", "B08"],
                                     normalization: .meanStd(mean: [10, 1000], std: [2, 4]), patchSize: 3,
                                     classNames: ["a", "b"], classColors: [.init(red: 0, green: 0, blue: 0), .init(red: 1, green: 1, blue: 1)])
        let converter = PatchTensorConverter(contract: contract)
        var batch = [Float](repeating: -99, count: 2 * converter.patchElementCount)
        let fraction = batch.withUnsafeMutableBufferPointer { ptr in
            converter.fill(batch: ptr.baseAddress!, index: 1, from: buffer, bufferOrigin: (10, 20),
                           patch: RasterWindow(column: 12, row: 21, width: 3, height: 3))
        }
        #expect(abs(fraction - 8.0 / 9.0) < 1e-12)
        #expect(batch[0..<18].allSatisfy { $0 == -99 })   // slot 0 untouched
        // Slot 1, channel c, patch row y, column x  <-  window pixel (2 + x, 1 + y).
        for c in 0..<2 {
            for y in 0..<3 {
                for x in 0..<3 {
                    let got = batch[18 + (c * 3 + y) * 3 + x]
                    let dn = Float(1000 * c + 10 * (1 + y) + (2 + x))
                    let expected: Float = (x == 1 && y == 1) ? 0 : (dn - [10, 1000][c]) / [2, 4][c]
                    #expect(got == expected, "c \(c) y \(y) x \(x)")
                }
            }
        }
    }
}

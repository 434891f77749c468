import Classification
import Config
import RasterIO
import Testing

@Suite("Tiler covers every pixel")
struct TilerTests {
    @Test("every pixel is covered, patches stay inside (shift) or start inside (pad)", arguments: [
        (1001, 777, 64, 64), (1001, 777, 64, 48), (40, 40, 64, 64), (64, 64, 64, 64), (65, 130, 64, 32), (10980, 1, 64, 64),
    ])
    func coverage(width: Int, height: Int, patch: Int, stride: Int) throws {
        for edge in EdgePolicy.allCases {
            let tiler = try Tiler(width: width, height: height, patchSize: patch, stride: stride, edge: edge)
            var covered = [UInt8](repeating: 0, count: width * height)
            for p in tiler.allPatches {
                #expect(p.width == patch && p.height == patch)
                #expect(p.column >= 0 && p.row >= 0 && p.column < width && p.row < height)
                if edge == .shift && width >= patch && height >= patch {
                    #expect(p.columnEnd <= width && p.rowEnd <= height)
                }
                for y in p.row..<min(p.rowEnd, height) { for x in p.column..<min(p.columnEnd, width) { covered[y * width + x] = 1 } }
            }
            #expect(covered.allSatisfy { $0 == 1 }, "\(edge): uncovered pixels in \(width)x\(height)")
            #expect(tiler.patchCount == tiler.allPatches.count)
        }
    }

    @Test func patchCountsAndStarts() throws {
        let grid = try Tiler(width: 10980, height: 10980, patchSize: 64)
        #expect(grid.columnStarts.count == 172 && grid.columnStarts.last == 10980 - 64)
        let padded = try Tiler(width: 10980, height: 10980, patchSize: 64, edge: .pad)
        #expect(padded.columnStarts.count == 172 && padded.columnStarts.last == 171 * 64)
        #expect(try Tiler(width: 40, height: 40, patchSize: 64).allPatches == [RasterWindow(column: 0, row: 0, width: 64, height: 64)])
        #expect(try Tiler(width: 128, height: 64, patchSize: 64, stride: 32).columnStarts == [0, 32, 64])
    }

    @Test func invalidSettingsAreTypedErrors() {
        #expect(throws: PipelineError.self) { try Tiler(width: 10, height: 10, patchSize: 0) }
        #expect(throws: PipelineError.self) { try Tiler(width: 10, height: 10, patchSize: 8, stride: 9) }
        #expect(throws: PipelineError.self) { try Tiler(width: 0, height: 10, patchSize: 8) }
    }
}

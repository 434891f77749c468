import Foundation
import RasterIO
import SceneSynthesis
import TestSupport
import Testing

@Suite("Synthetic scenes are deterministic")
struct DeterminismTests {
    @Test("the same seed gives byte-identical files", arguments: SceneWriteOptions.Layout.allCases)
    func sameSeedSameBytes(layout: SceneWriteOptions.Layout) throws {
        let a = try TestPaths.temporaryFolder().path, b = try TestPaths.temporaryFolder().path
        defer { Support.remove(a); Support.remove(b) }
        let spec = Support.spec(700, 530, seed: 11, clouds: 0.25, border: true)
        try SyntheticScene(spec: spec).write(to: a, options: SceneWriteOptions(layout: layout, threads: 2))
        try SyntheticScene(spec: spec).write(to: b, options: SceneWriteOptions(layout: layout, threads: 2))
        #expect(try Support.files(in: a).count == (layout == .multiBand ? 3 : 15))
        #expect(try Support.foldersIdentical(a, b))
    }

    @Test("different seeds give different bands and labels")
    func differentSeedsDiffer() throws {
        let window = RasterWindow(width: 400, height: 300)
        let first = try SyntheticScene(spec: Support.spec(400, 300, seed: 1)).render(window: window)
        let second = try SyntheticScene(spec: Support.spec(400, 300, seed: 2)).render(window: window)
        let differingLabels = zip(first.labels, second.labels).filter { $0 != $1 }.count
        let differingValues = zip(first.values, second.values).filter { $0 != $1 }.count
        #expect(differingLabels > first.labels.count / 4)
        #expect(differingValues > first.values.count * 9 / 10)
        // Seeds differing only in their high 32 bits differ too.
        let high = try SyntheticScene(spec: Support.spec(400, 300, seed: 1 | (1 << 40))).render(window: window)
        #expect(zip(first.labels, high.labels).filter { $0 != $1 }.count > first.labels.count / 4)
    }

    @Test("files do not depend on the number of threads")
    func threadCountDoesNotMatter() throws {
        let spec = Support.spec(1100, 700, seed: 3, clouds: 0.2, border: true)
        var folders: [String] = []
        defer { folders.forEach(Support.remove) }
        for threads in [1, 2, 5] {
            let folder = try TestPaths.temporaryFolder("threads\(threads)").path
            folders.append(folder)
            try SyntheticScene(spec: spec).write(to: folder, options: SceneWriteOptions(layout: .perBandFiles, name: "scene", threads: threads))
        }
        #expect(try Support.foldersIdentical(folders[0], folders[1]))
        #expect(try Support.foldersIdentical(folders[0], folders[2]))
    }

    /// Rendering a grid in strips of any height, or in column blocks, gives the pixels of one
    /// whole-grid render, at 10, 20 and 60 m.
    @Test("pixels do not depend on the strip height or window", arguments: [1, 2, 6])
    func stripHeightDoesNotMatter(factor: Int) throws {
        let scene = try SyntheticScene(spec: Support.spec(612, 444, seed: 5, clouds: 0.3, border: true))
        let grid = scene.grid(factor: factor)
        let whole = try scene.render(window: grid.fullWindow, factor: factor)
        for (stripHeight, stripWidth) in [(1, grid.width), (7, grid.width), (61, 100), (grid.height, 33)] {
            var values = [UInt16](repeating: 0, count: whole.values.count)
            var labels = [UInt8](repeating: 0, count: whole.labels.count)
            for window in grid.fullWindow.subdivided(blockWidth: stripWidth, blockHeight: stripHeight) {
                let part = try scene.render(window: window, factor: factor)
                for band in 0..<part.bandNames.count {
                    for row in 0..<window.height {
                        for column in 0..<window.width {
                            let target = band * grid.width * grid.height + (window.row + row) * grid.width + window.column + column
                            values[target] = part.value(band: band, column: column, row: row)
                        }
                    }
                }
                for row in 0..<window.height where !part.labels.isEmpty {
                    for column in 0..<window.width {
                        labels[(window.row + row) * grid.width + window.column + column] = part.labels[row * window.width + column]
                    }
                }
            }
            #expect(Support.mismatches(values, whole.values) == 0, "strips of \(stripWidth)x\(stripHeight) at factor \(factor)")
            #expect(Support.mismatches(labels, whole.labels) == 0, "strips of \(stripWidth)x\(stripHeight) at factor \(factor)")
        }
    }

    /// The written file holds exactly what ``SyntheticScene/render(window:bands:factor:)`` gives.
    @Test("written tiles equal rendered pixels")
    func fileMatchesRender() throws {
        let folder = try TestPaths.temporaryFolder().path
        defer { Support.remove(folder) }
        let scene = try SyntheticScene(spec: Support.spec(530, 600, seed: 9, clouds: 0.2, border: true))
        let result = try scene.write(to: folder, options: SceneWriteOptions(threads: 3))
        let rendered = try scene.render(window: scene.grid.fullWindow)
        let bands = try Support.readAll(result.bandFiles[0].path)
        #expect(Support.mismatches(bands.values, rendered.values.map(Int.init)) == 0)
        let labels = try Support.readAll(result.labelFile.path)
        #expect(Support.mismatches(labels.values, rendered.labels.map(Int.init)) == 0)
        var counts = [Int](repeating: 0, count: 256)
        for label in rendered.labels { counts[Int(label)] += 1 }
        #expect(result.labelCounts == counts)
    }

    /// The landscape is a plane: a smaller scene of the same seed is the top-left crop of a larger one.
    @Test("smaller scenes are crops of larger ones")
    func cropsAreConsistent() throws {
        let small = try SyntheticScene(spec: Support.spec(300, 200, seed: 21, clouds: 0.2))
        let large = try SyntheticScene(spec: Support.spec(900, 700, seed: 21, clouds: 0.2))
        let window = RasterWindow(width: 300, height: 200)
        let a = try small.render(window: window), b = try large.render(window: window)
        #expect(Support.mismatches(a.values, b.values) == 0 && Support.mismatches(a.labels, b.labels) == 0)
        let coarse = RasterWindow(width: 50, height: 33)
        let c = try small.render(window: coarse, factor: 6), d = try large.render(window: coarse, factor: 6)
        #expect(Support.mismatches(c.values, d.values) == 0)
    }
}

import Foundation
import RasterIO
import SceneSynthesis
import Testing

/// Helpers shared by the generator tests.
enum Support {

    static func remove(_ folder: String) {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The file names in a folder, sorted.
    static func files(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    /// Every file of folder `a` has a byte-identical twin of the same name in `b`, and vice versa.
    static func foldersIdentical(_ a: String, _ b: String) throws -> Bool {
        let names = try files(in: a)
        guard names == (try files(in: b)), !names.isEmpty else { return false }
        for name in names {
            let x = try Data(contentsOf: URL(fileURLWithPath: (a as NSString).appendingPathComponent(name)))
            let y = try Data(contentsOf: URL(fileURLWithPath: (b as NSString).appendingPathComponent(name)))
            if x != y { return false }
        }
        return true
    }

    /// All bands of a raster file as integers, band-sequential.
    static func readAll(_ path: String) throws -> (dataset: RasterDataset, values: [Int]) {
        let dataset = try RasterDataset(path: path)
        let buffer = try dataset.read(window: dataset.fullWindow)
        return (dataset, buffer.values.map { Int($0) })
    }

    /// Positions where two arrays differ, plus the difference in length: 0 when equal. (Comparing
    /// counts keeps a failing expectation from printing millions of elements.)
    static func mismatches<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        zip(a, b).reduce(abs(a.count - b.count)) { $0 + ($1.0 == $1.1 ? 0 : 1) }
    }

    /// A scene spec with the default classes.
    static func spec(_ width: Int, _ height: Int, seed: UInt64 = 7, clouds: Double = 0, border: Bool = false) -> SyntheticSceneSpec {
        SyntheticSceneSpec(width: width, height: height, seed: seed, cloudCover: clouds, nodataBorder: border)
    }
}

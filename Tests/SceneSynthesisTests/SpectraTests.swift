import Foundation
import RasterIO
import SceneSynthesis
import Testing

@Suite("Synthetic spectra follow the reference table")
struct SpectraTests {
    /// 16 windows of 384 x 384 pixels spread over a full tile: many landscapes, cheap to render.
    static func sampleWindows(_ scene: SyntheticScene) -> [RasterWindow] {
        (0..<4).flatMap { j in
            (0..<4).map { i in RasterWindow(column: 300 + i * 2_700, row: 200 + j * 2_700, width: 384, height: 384) }
        }
    }

    @Test("per-class mean reflectance matches the table within 2 % + 0.0015")
    func classMeansMatchTable() throws {
        let scene = try SyntheticScene(spec: Support.spec(10_980, 10_980, seed: 4))
        let bands = SentinelBand.all.count
        let classes = SyntheticClass.defaults
        var sums = [Double](repeating: 0, count: classes.count * bands)
        var counts = [Int](repeating: 0, count: classes.count)
        var unexpectedLabels = 0
        for window in Self.sampleWindows(scene) {
            let rendered = try scene.render(window: window)
            let plane = window.pixelCount
            for pixel in 0..<plane {
                let label = Int(rendered.labels[pixel])
                guard label < classes.count else { unexpectedLabels += 1; continue }
                counts[label] += 1
                for band in 0..<bands {
                    sums[label * bands + band] += Double(Int(rendered.values[band * plane + pixel]) - 1000) / 10_000
                }
            }
        }
        #expect(unexpectedLabels == 0)
        let checked = classes.indices.filter { counts[$0] >= 5_000 }
        #expect(checked.count >= 6, "classes with enough pixels: \(checked.map { classes[$0].name }), counts \(counts)")
        for c in checked {
            for band in 0..<bands {
                let mean = sums[c * bands + band] / Double(counts[c])
                let reference = Double(classes[c].reflectance[band])
                #expect(abs(mean - reference) <= 0.02 * abs(reference) + 0.0015,
                        "\(classes[c].name) \(SentinelBand.all[band]): mean \(mean) vs table \(reference) over \(counts[c]) pixels")
            }
        }
    }

    @Test("the defaults are the cited table rows")
    func defaultsFollowTheTable() throws {
        let classes = SyntheticClass.defaults
        #expect(classes.map(\.name) == ["water", "tree cover", "cropland", "grassland", "built-up",
                                        "bare / sparse vegetation", "herbaceous wetland", "shrubland"])
        #expect(classes.map(\.color.hex) == ["#0064c8", "#006400", "#f096ff", "#ffff4c", "#fa0000", "#b4b4b4", "#0096a0", "#ffbb22"])
        #expect(classes.allSatisfy { $0.reflectance.count == 13 })
        // Spot checks against facts/sentinel2.md section 2.3 (B04, B08, B11) and 2.2 (B10).
        let index = { (band: String) in SentinelBand.all.firstIndex(of: band) ?? -1 }
        #expect(classes[1].reflectance[index("B08")] == 0.215 && classes[1].reflectance[index("B04")] == 0.021)
        #expect(classes[2].reflectance[index("B08")] == 0.438 && classes[2].reflectance[index("B11")] == 0.175)
        #expect(classes[0].reflectance[index("B09")] == -0.0004 && classes[0].reflectance[index("B10")] == 0.00076)
        #expect(abs(classes[3].reflectance[index("B04")] - 0.0655) < 1e-6)
        #expect(try SyntheticClass.defaults(count: 3).map(\.name) == ["water", "tree cover", "cropland"])
        #expect(throws: SynthesisError.self) { try SyntheticClass.defaults(count: 9) }
    }

    @Test("clouds are bright, white in the visible, darker in the SWIR, high in B10, and cover about the asked fraction")
    func cloudsArePlausible() throws {
        let scene = try SyntheticScene(spec: Support.spec(10_980, 10_980, seed: 8, clouds: 0.3))
        let cloud = try #require(scene.spec.cloudLabel)
        #expect(scene.legend.names.last == "cloud")
        var cloudPixels = 0, total = 0
        var sums = [Double](repeating: 0, count: 13)
        for window in SpectraTests.sampleWindows(scene) {
            let rendered = try scene.render(window: window)
            total += window.pixelCount
            for pixel in 0..<window.pixelCount where Int(rendered.labels[pixel]) == cloud {
                cloudPixels += 1
                for band in 0..<13 {
                    sums[band] += Double(Int(rendered.values[band * window.pixelCount + pixel]) - 1000) / 10_000
                }
            }
        }
        let fraction = Double(cloudPixels) / Double(total)
        #expect(fraction > 0.12 && fraction < 0.5, "cloud fraction \(fraction)")
        let mean = sums.map { $0 / Double(max(cloudPixels, 1)) }
        let b = { (band: String) in mean[SentinelBand.all.firstIndex(of: band) ?? 0] }
        #expect(b("B02") > 0.6 && b("B03") > 0.6 && b("B04") > 0.6, "visible \(b("B02")) \(b("B03")) \(b("B04"))")
        #expect(b("B11") < b("B02") && b("B12") < b("B11"))
        #expect(b("B10") > 0.05)
    }

    /// The offset shifts every valid DN by exactly itself (noise and rounding are the same).
    @Test("the radiometric offset adds exactly its DN")
    func offsetShiftsDN() throws {
        var spec = Support.spec(256, 256, seed: 2, clouds: 0.2)
        let withOffset = try SyntheticScene(spec: spec).render(window: RasterWindow(width: 256, height: 256))
        spec.radiometricOffset = 0
        let withoutOffset = try SyntheticScene(spec: spec).render(window: RasterWindow(width: 256, height: 256))
        var compared = 0, mismatches = 0
        for (a, b) in zip(withOffset.values, withoutOffset.values) where b > 1 && a < 32_767 {
            if Int(a) - Int(b) != 1000 { mismatches += 1 }
            compared += 1
        }
        #expect(mismatches == 0)
        #expect(compared > withOffset.values.count * 9 / 10)
        #expect(Support.mismatches(withOffset.labels, withoutOffset.labels) == 0)
    }

    @Test("sensor noise is zero-mean with the documented spread")
    func sensorNoise() throws {
        var spec = Support.spec(512, 512, seed: 6)
        let noisy = try SyntheticScene(spec: spec).render(window: RasterWindow(width: 512, height: 512), bands: ["B08"])
        spec.sensorNoise = false
        let clean = try SyntheticScene(spec: spec).render(window: RasterWindow(width: 512, height: 512), bands: ["B08"])
        var sum = 0.0, squares = 0.0, expected = 0.0
        for (a, b) in zip(noisy.values, clean.values) {
            let d = Double(Int(a) - Int(b))
            sum += d
            squares += d * d
            let reflectance = Double(Int(b) - 1000) / 10_000
            expected += (10 + 80 * reflectance) * (10 + 80 * reflectance)
        }
        let n = Double(noisy.values.count)
        #expect(abs(sum / n) < 0.5)
        let ratio = (squares / n).squareRoot() / (expected / n).squareRoot()
        #expect(ratio > 0.95 && ratio < 1.05, "noise std / documented std = \(ratio)")
    }
}

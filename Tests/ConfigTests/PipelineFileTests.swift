import Config
import Foundation
import RasterIO
import Testing

@Suite("Pipeline files")
struct PipelineFileTests {
    @Test func fullFileParses() throws {
        let text = """
        version: 1
        inputs:
          - path: scenes/a
          - paths: [b/B02.tif, b/B03.tif]
            name: b
          - c.tif
        model: models/m.onnx
        bands: {B8A: B08}
        band_order: eurosat
        resolution: 20
        resampling: {B05: cubic}
        tiling: {patch_size: 64, stride: 32, edge: pad}
        mode: dense
        nodata: {value: 0, min_valid_fraction: 0.25, mask: {band: SCL, invalid: [0, 3, 8, 9]}}
        output: {folder: out, name: "{scene}_{model}.tif", format: cog, compression: zstd, confidence: true, probabilities: true, preview: false, stac: true,
                 polygons: geojson, polygon_connectivity: 8, geojson_crs: native, min_mapping_unit: "0.5 ha"}
        categorical: [lulc]
        runtime: {threads: 2, memory_mb: 256, batch_size: 8, tta: d4, precision: int8}
        """
        let p = try PipelineFile.parse(text, baseFolder: "/data/pipes")
        #expect(p.inputs.count == 3 && p.inputs[1].paths == ["b/B02.tif", "b/B03.tif"] && p.inputs[1].name == "b" && p.inputs[2].paths == ["c.tif"])
        #expect(p.model == "models/m.onnx" && p.resolve(p.model) == "/data/pipes/models/m.onnx")
        #expect(p.bandMap == ["B8A": "B08"] && p.bandOrder == SentinelBand.eurosatOrder && p.resolution == 20)
        #expect(p.resampling == ["B05": .cubic])
        #expect(p.tiling.patchSize == 64 && p.tiling.stride == 32 && p.tiling.edge == .pad && p.mode == .dense)
        #expect(p.nodata.value == 0 && p.nodata.minValidFraction == 0.25 && p.nodata.maskBand == "SCL" && p.nodata.invalidValues == [0, 3, 8, 9])
        #expect(p.output.format == .cog && p.output.compression == .zstd && p.output.probabilities && !p.output.preview)
        #expect(p.output.polygons == .geojson && p.output.polygonConnectivity == 8)
        #expect(p.output.geojsonCRS == .native && p.output.minMappingUnit == .squareMetres(5000) && p.categorical == ["lulc"])
        #expect(p.runtime.threads == 2 && p.runtime.memoryMiB == 256 && p.runtime.batchSize == 8 && p.runtime.testTimeAugmentation == .d4)
        #expect(p.runtime.precision == .int8)
    }

    @Test func defaults() throws {
        let p = try PipelineFile.parse("inputs: [x.tif]\nmodel: m.onnx\n", baseFolder: "/p")
        #expect(p.mode == .auto && p.tiling.edge == .shift && p.tiling.patchSize == nil && p.output.format == .gtiff)
        #expect(p.output.confidence && p.output.preview && p.output.stac && p.runtime.memoryMiB == 512 && p.nodata.minValidFraction == 0.5)
        #expect(p.output.polygons == nil && p.output.polygonConnectivity == 4)
        #expect(p.output.geojsonCRS == .wgs84 && p.output.minMappingUnit == nil && p.categorical.isEmpty)
        #expect(p.runtime.testTimeAugmentation == .none && p.runtime.precision == .fp32)
    }

    @Test("minimum mapping units", arguments: [
        ("12", PipelineFile.MinimumMappingUnit.pixels(12)), ("12 px", .pixels(12)), ("5000 m2", .squareMetres(5000)),
        ("5000 m²", .squareMetres(5000)), ("0.5 ha", .squareMetres(5000)), ("0.12ha", .squareMetres(1200)),
    ])
    func minimumMappingUnit(text: String, unit: PipelineFile.MinimumMappingUnit) throws {
        let p = try PipelineFile.parse("inputs: [x.tif]\nmodel: m.onnx\noutput: {min_mapping_unit: \"\(text)\"}\n", baseFolder: "/p")
        #expect(p.output.minMappingUnit == unit)
        // 10 m pixels: an area rounds up to whole pixels.
        #expect(PipelineFile.MinimumMappingUnit.squareMetres(1200).pixels(pixelArea: 100) == 12)
        #expect(PipelineFile.MinimumMappingUnit.squareMetres(1201).pixels(pixelArea: 100) == 13)
    }

    @Test("bad minimum mapping units and GeoJSON CRSs name the key", arguments: ["0", "-3", "1.5", "12 acres", "ha", "[1]"])
    func badMinimumMappingUnit(text: String) throws {
        #expect(throws: PipelineError.self) {
            try PipelineFile.parse("inputs: [x.tif]\nmodel: m.onnx\noutput: {min_mapping_unit: \(text)}\n", baseFolder: "/p")
        }
        #expect(throws: PipelineError.invalidValue(key: "output.geojson_crs", value: "utm", reason: "must be wgs84 (RFC 7946) or native (the map's CRS)")) {
            try PipelineFile.parse("inputs: [x.tif]\nmodel: m.onnx\noutput: {geojson_crs: utm}\n", baseFolder: "/p")
        }
    }

    @Test("errors name the key", arguments: [
        ("inputs: [x]\nmodel: m\ntilling: {stride: 3}\n", PipelineError.unknownKey(key: "tilling", suggestion: "tiling")),
        ("inputs: [x]\nmodel: m\ntiling: {strid: 3}\n", PipelineError.unknownKey(key: "tiling.strid", suggestion: "tiling.stride")),
        ("inputs: [x]\nmodel: m\noutput: {format: png}\n", PipelineError.invalidValue(key: "output.format", value: "png", reason: "must be gtiff or cog")),
        ("inputs: [x]\nmodel: m\nruntime: {threads: two}\n", PipelineError.invalidValue(key: "runtime.threads", value: "two", reason: "must be a whole number from 1 to 256")),
        ("inputs: [x]\n", PipelineError.missingKey(key: "model")),
        ("model: m\n", PipelineError.missingKey(key: "inputs")),
        ("inputs: [x]\nmodel: m\nzzz: 1\n", PipelineError.unknownKey(key: "zzz", suggestion: nil)),
        ("inputs: [x]\nmodel: m\ntiling: [64, 32]\n",
         PipelineError.invalidValue(key: "tiling", value: "[64, 32]", reason: "must be a mapping of keys to values")),
        ("inputs: [x]\nmodel: m\noutput: {name: [a, {b: c}]}\n",
         PipelineError.invalidValue(key: "output.name", value: "[a, {b: c}]", reason: "must be a single value")),
        ("inputs: [x]\nmodel: m\nnodata: {mask: {invalid: [0, [3]]}}\n",
         PipelineError.invalidValue(key: "nodata.mask.invalid", value: "[3]", reason: "must be a list of strings")),
        ("inputs: [x]\nmodel: m\noutput: {polygons: shp}\n", PipelineError.invalidValue(key: "output.polygons", value: "shp", reason: "must be none, gpkg or geojson")),
        ("inputs: [x]\nmodel: m\noutput: {polygon_connectivity: 6}\n", PipelineError.invalidValue(key: "output.polygon_connectivity", value: "6", reason: "must be 4 or 8")),
    ])
    func errorsNameTheKey(text: String, expected: PipelineError) {
        #expect(throws: expected) { try PipelineFile.parse(text, baseFolder: "/p") }
    }

    @Test func commaSeparatedListsLeaveOutEmptyItems() throws {
        let p = try PipelineFile.parse("inputs: [{paths: 'a.tif, , b.tif,'}]\nmodel: m\nnodata: {mask: {invalid: '0,3,'}}\n", baseFolder: "/p")
        #expect(p.inputs[0].paths == ["a.tif", "b.tif"] && p.nodata.invalidValues == [0, 3])
    }

    @Test func malformedYAML() {
        do {
            _ = try PipelineFile.parse("inputs: [x\nmodel: :\n", baseFolder: "/p", source: "bad.yaml")
            Issue.record("malformed YAML parsed")
        } catch let error as PipelineError {
            #expect(error.description.hasPrefix("bad.yaml: not valid YAML"))
        } catch {
            Issue.record("untyped error \(error)")
        }
    }

    /// A YAML alias bomb (9 levels of 9 references: 9^9 strings from ~400 bytes) is refused
    /// after walking the value budget, and error messages quote at most 200 characters of a value
    /// however large it is or expands to.
    @Test func aliasBombsAndHugeValuesGiveShortErrors() throws {
        var bomb = "inputs: [x]\nmodel: m\nbands:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 { bomb += "  a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n" }
        let started = Date()
        #expect(throws: PipelineError.unreadable(path: "bomb.yaml", reason: "expands to more than 100000 values or 64 levels (aliases that repeat aliases?); write the values out instead of nesting aliases")) {
            try PipelineFile.parse(bomb, baseFolder: "/p", source: "bomb.yaml")
        }
        #expect(Date().timeIntervalSince(started) < 30)
        // An alias that expands to a large list, quoted in a type error.
        let wide = "inputs: [x]\nmodel: m\nx: &x [" + Array(repeating: "abcdefgh", count: 5000).joined(separator: ", ") + "]\nmode: *x\n"
        for text in [wide, "inputs: [x]\nmodel: m\nmode: " + String(repeating: "z", count: 100_000) + "\n",
                     "inputs: [x]\nmodel: m\n" + String(repeating: "k", count: 100_000) + ": 1\n"] {
            do {
                _ = try PipelineFile.parse(text, baseFolder: "/p")
                Issue.record("parsed")
            } catch let error as PipelineError {
                #expect(error.description.count < 400, "\(error.description.count) characters")
            }
        }
    }

    /// Numbers that parse but are out of their documented bounds are refused with the bounds.
    @Test(arguments: [
        ("tiling: {patch_size: 100000}", "tiling.patch_size", "must be a whole number from 1 to 2048"),
        ("tiling: {patch_size: 64, stride: 65}", "tiling.stride", "must be between 1 and the patch size (64), or patches would leave gaps"),
        ("runtime: {batch_size: 1e9}", "runtime.batch_size", "must be a whole number from 1 to 1024"),
        ("runtime: {threads: 9223372036854775807}", "runtime.threads", "must be a whole number from 1 to 256"),
        ("runtime: {memory_mb: 16}", "runtime.memory_mb", "must be a whole number from 32 to 1048576"),
        ("runtime: {tta: rotations}", "runtime.tta", "must be one of none, flips, d4"),
        ("runtime: {precision: fp64}", "runtime.precision", "must be one of fp32, int8"),
        ("resolution: 1e-300", "resolution", "must be a pixel size in map units from 1e-07 to 10000000.0"),
        ("nodata: {mask: {band: SCL, invalid: [3, 70000]}}", "nodata.mask.invalid", "must list mask values from 0 to 65535"),
        ("output: {name: ../x.tif}", "output.name", "contains '/'; it must be a file name, not a path (output.folder says where files go)"),
        ("inputs: [{path: a.tif, name: ..}]", "inputs[0].name", "is '..'; it must be a file name; a scene name becomes part of output file names"),
    ])
    func boundsAreStated(line: String, key: String, reason: String) {
        let text = (line.hasPrefix("inputs") ? "" : "inputs: [x]\n") + "model: m\n" + line + "\n"
        do {
            _ = try PipelineFile.parse(text, baseFolder: "/p")
            Issue.record("\(line) parsed")
        } catch let PipelineError.invalidValue(k, _, r) {
            #expect(k == key && r == reason, "\(k): \(r)")
        } catch {
            Issue.record("\(line): \(error)")
        }
    }
}

import Config
import Foundation
import RasterIO
import Testing

/// What `landcover classify --print-pipeline` writes reads back to the same pipeline; one
/// resampling method for all bands and GDAL creation options are pipeline keys like the others.
@Suite("Pipeline files written back")
struct PipelineYAMLTests {
    static let full = """
    version: 1
    inputs:
      - path: scenes/a
      - paths: [b/B02.tif, "b/B03 \\"x\\".tif"]
        name: b
    model: models/m.onnx
    bands: {B8A: B08}
    band_order: [B02, B03, B04, B08]
    resolution: 20
    resampling: "cubic,SCL=mode"
    categorical: [LULC]
    tiling: {patch_size: 64, stride: 32, edge: pad}
    mode: dense
    nodata: {value: 0, min_valid_fraction: 0.25, mask: {path: masks/clouds.tif, invalid: [0, 3]}}
    output: {folder: out, name: "{scene}_{model}.tif", format: cog, compression: zstd, confidence: false, probabilities: true, preview: false,
             stac: false, patch_resolution: true, polygons: geojson, polygon_connectivity: 8, geojson_crs: native, min_mapping_unit: "0.5 ha",
             creation_options: {BLOCKSIZE: 256, level: 9}}
    runtime: {threads: 2, memory_mb: 256, batch_size: 8}
    """

    /// `file` with every path made absolute, as the written file gives them.
    static func absolute(_ file: PipelineFile) -> PipelineFile {
        var copy = file
        copy.inputs = file.inputs.map { PipelineFile.Input(paths: $0.paths.map(file.resolve), name: $0.name) }
        copy.model = file.resolve(file.model)
        copy.output.folder = file.resolve(file.output.folder)
        copy.nodata.maskPath = file.nodata.maskPath.map(file.resolve)
        return copy
    }

    @Test func aWrittenPipelineReadsBackEqual() throws {
        let original = try PipelineFile.parse(Self.full, baseFolder: "/data/pipes")
        #expect(original.allBandsResampling == .cubic && original.resampling == ["SCL": .mode])
        #expect(original.output.creationOptions == ["BLOCKSIZE": "256", "LEVEL": "9"])
        let text = original.yamlText(header: ["a comment"])
        #expect(text.hasPrefix("# a comment\nversion: 1\n"), "\(text)")
        // Read from another folder: every path is absolute.
        let reread = try PipelineFile.parse(text, baseFolder: "/elsewhere")
        var expected = Self.absolute(original)
        expected.baseFolder = "/elsewhere"
        #expect(reread == expected, "\(text)")

        // A pipeline at its defaults writes only what it must.
        let minimal = try PipelineFile.parse("inputs: [a.tif]\nmodel: m.onnx", baseFolder: "/p")
        let minimalText = minimal.yamlText()
        #expect(minimalText == """
        version: 1
        inputs: ["/p/a.tif"]
        model: "/p/m.onnx"
        output:
          folder: "/p/out"
          name: "{scene}_landcover.tif"

        """, "\(minimalText)")
        var back = try PipelineFile.parse(minimalText, baseFolder: "/p")
        back.baseFolder = "/p"
        #expect(back == Self.absolute(minimal))
    }

    @Test func resamplingTakesOneMethodForAllBandsAndPerBandMethods() throws {
        func parse(_ value: String) throws -> PipelineFile {
            try PipelineFile.parse("inputs: [a.tif]\nmodel: m.onnx\nresampling: \(value)", baseFolder: "/p")
        }
        #expect(try parse("cubic").allBandsResampling == .cubic)
        #expect(try parse("cubic").resampling.isEmpty)
        #expect(try parse("\"B05=cubic,B11=near\"").resampling == ["B05": .cubic, "B11": .nearest])
        #expect(try parse("{B05: lanczos}").resampling == ["B05": .lanczos])
        #expect(try parse("{B05: lanczos}").allBandsResampling == nil)
        #expect(throws: PipelineError.self) { try parse("sharp") }
        #expect(throws: PipelineError.self) { try parse("\"cubic,near\"") }
        do {
            _ = try parse("\"B05=sharp\"")
        } catch let error as PipelineError {
            #expect(error.description.contains("resampling: 'B05=sharp' must be METHOD (every band)") && error.description.contains("lanczos"))
        }
        #expect(ResamplingChoice(text: "cubic, B05 = near")?.text == "cubic,B05=near")
        #expect(ResamplingChoice(text: "b8a=mode") == ResamplingChoice(perBand: ["B8A": .mode]))
    }

    @Test func creationOptionsAreCheckedAgainstTheDriver() throws {
        func parse(_ output: String) throws -> PipelineFile {
            try PipelineFile.parse("inputs: [a.tif]\nmodel: m.onnx\noutput: \(output)", baseFolder: "/p")
        }
        #expect(try parse("{creation_options: {BLOCKXSIZE: 256, BLOCKYSIZE: 256}}").output.creationOptions == ["BLOCKXSIZE": "256", "BLOCKYSIZE": "256"])
        #expect(try parse("{format: cog, creation_options: {BLOCKSIZE: 256}}").output.creationOptions == ["BLOCKSIZE": "256"])
        for (bad, words) in [("{creation_options: {COMPRESS: LZW}}", "output.compression"),
                             ("{creation_options: {NO_SUCH_OPTION: 1}}", "GTiff driver refuses"),
                             ("{format: cog, creation_options: {BLOCKXSIZE: 256}}", "COG driver refuses"),
                             ("{creation_options: {BLOCKXSIZE: many}}", "refuses")] {
            do {
                _ = try parse(bad)
                Issue.record("\(bad) was accepted")
            } catch let error as PipelineError {
                #expect(error.description.hasPrefix("output.creation_options: ") && error.description.contains(words), "\(error)")
            }
        }
    }
}

import Foundation
import RasterIO
import TestSupport
import Testing

/// The acquisition time of a scene, from metadata, file names and TIFF tags, on real Sentinel-2 files.
@Suite("acquisition time")
struct AcquisitionTimeTests {
    @Test func parsesTheFormatsMetadataCarry() {
        #expect(AcquisitionTime.parse("2017-02-16T10:21:01.026Z") == "2017-02-16T10:21:01.026Z")
        #expect(AcquisitionTime.parse("2017-02-16T10:21:01Z") == "2017-02-16T10:21:01Z")
        #expect(AcquisitionTime.parse("2017-02-16T10:21:01.0260001Z") == "2017-02-16T10:21:01.026000Z")
        #expect(AcquisitionTime.parse("2017:02:16 10:21:01") == "2017-02-16T10:21:01Z", "TIFF DateTime, no zone: UTC")
        #expect(AcquisitionTime.parse("2017-02-16 10:21:01") == "2017-02-16T10:21:01Z")
        #expect(AcquisitionTime.parse("2017-02-16T11:21:01+01:00") == "2017-02-16T10:21:01Z")
        #expect(AcquisitionTime.parse("2017-02-16T00:30:00-0100") == "2017-02-16T01:30:00Z")
        #expect(AcquisitionTime.parse("2017-02-16") == nil, "a date alone is no time")
        #expect(AcquisitionTime.parse("2017-02-30T10:21:01Z") == nil)
        #expect(AcquisitionTime.parse("2017-13-16T10:21:01Z") == nil)
        #expect(AcquisitionTime.parse("2017-02-16T25:21:01Z") == nil)
        #expect(AcquisitionTime.parse("2017-02-16T10:21:01Zjunk") == nil)
        #expect(AcquisitionTime.parse("") == nil)
    }

    @Test func readsSentinel2StampsInNames() {
        #expect(AcquisitionTime.stamp(inName: "T33UUU_20170216T102101_B02.jp2") == "2017-02-16T10:21:01Z")
        #expect(AcquisitionTime.stamp(inName: "S2A_MSIL1C_20170216T102101_N0204_R065_T33UUU_20170216T102204.SAFE") == "2017-02-16T10:21:01Z",
                "the first stamp is the sensing start; the second is the product discriminator")
        #expect(AcquisitionTime.stamp(inName: "s2l1c_33UUU_20170216_west") == nil, "a date alone")
        #expect(AcquisitionTime.stamp(inName: "120170216T102101") == nil, "part of a longer number")
        #expect(AcquisitionTime.stamp(inName: "x_20171316T102101") == nil, "month 13")
    }

    /// The sample's JPEG2000 band files carry no time in their metadata; their names do.
    @Test func sampleSceneTimeComesFromItsFileNames() throws {
        let scene = try Scene.assemble(inputs: [TestPaths.real("s2l1c_33UUU_20170216_west")])
        let time = try #require(AcquisitionTime.find(in: scene))
        #expect(time.text == "2017-02-16T10:21:01Z")
        #expect(time.source == "file name T33UUU_20170216T102101_B01.jp2")
    }

    /// A real band with acquisition metadata added the way producers write it (GDAL metadata
    /// items and the TIFF DateTime tag): metadata first, then names, the TIFF tag last.
    @Test func metadataItemsNamesAndTheTIFFTagInThatOrder() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = TestPaths.real("s2l2a_29RKH_20200219_riotilerpds/B02.tif")
        func copy(_ name: String, _ metadata: [String]) throws -> String {
            let path = folder.appendingPathComponent(name).path
            try CommandLineTool.run("gdal_translate", ["-q"] + metadata.flatMap { ["-mo", $0] } + [source, path])
            return path
        }
        func time(_ path: String) throws -> AcquisitionTime? {
            AcquisitionTime.find(in: try Scene.assemble(inputs: [path], options: SceneOptions(bands: ["B02"])))
        }
        let plain = try copy("B02.tif", [])
        #expect(try time(plain) == nil, "no metadata, no stamp in the name")

        let product = try copy("product_B02.tif", ["PRODUCT_START_TIME=2020-02-19T11:24:31.024Z", "TIFFTAG_DATETIME=2021:01:01 00:00:00"])
        #expect(try time(product) == AcquisitionTime(text: "2020-02-19T11:24:31.024Z", source: "PRODUCT_START_TIME metadata of product_B02.tif"))

        let acquisition = try copy("acq_B02.tif", ["ACQUISITIONDATETIME=2020-02-19 11:24:31"])
        #expect(try time(acquisition) == AcquisitionTime(text: "2020-02-19T11:24:31Z", source: "ACQUISITIONDATETIME metadata of acq_B02.tif"))

        let tagged = try copy("tagged_B02.tif", ["TIFFTAG_DATETIME=2020:02:19 11:24:31"])
        #expect(try time(tagged) == AcquisitionTime(text: "2020-02-19T11:24:31Z", source: "TIFFTAG_DATETIME of tagged_B02.tif"))

        let named = try copy("T29RKH_20200219T112431_B02.tif", ["TIFFTAG_DATETIME=2021:01:01 00:00:00"])
        #expect(try time(named) == AcquisitionTime(text: "2020-02-19T11:24:31Z", source: "file name T29RKH_20200219T112431_B02.tif"),
                "a Sentinel-2 stamp beats the TIFF tag, which may be the processing time")
    }
}

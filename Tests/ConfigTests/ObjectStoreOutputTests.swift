import Config
import Foundation
import RasterIO
import Testing

/// `output.folder` as an object-store URL: the forms accepted, the ones refused, and where a
/// process then writes locally.
@Suite struct ObjectStoreOutputTests {
    func parse(_ output: String) throws -> PipelineFile {
        try PipelineFile.parse("inputs: [a.tif]\nmodel: m.onnx\noutput: \(output)\n", baseFolder: "/p")
    }

    @Test func storeURLsAndGDALPathsAreObjectStores() throws {
        let s3 = try #require(try parse("{folder: \"s3://maps/landcover/2024/\"}").objectStore)
        #expect(s3.vsiPath == "/vsis3/maps/landcover/2024" && s3.description == "s3://maps/landcover/2024/")
        #expect(s3.object("x.tif") == "/vsis3/maps/landcover/2024/x.tif")
        #expect(try parse("{folder: /vsis3/maps/out}").objectStore?.vsiPath == "/vsis3/maps/out")
        #expect(try parse("{folder: \"gs://maps\"}").objectStore?.vsiPath == "/vsigs/maps")
        #expect(try parse("{folder: /vsiaz/container/out}").objectStore?.vsiPath == "/vsiaz/container/out")
        #expect(try parse("{folder: out}").objectStore == nil)
        #expect(try parse("{folder: /data/out}").localOutputFolder == "/data/out")
        #expect(ObjectStore.display("/vsis3/maps/a/b.tif") == "s3://maps/a/b.tif")
    }

    @Test func malformedStoresAndAStoreWithoutSTACAreRefusedNamingTheKey() throws {
        for (output, key, words) in [("{folder: \"ftp://host/maps\"}", "output.folder", "not a supported object store"),
                                     ("{folder: \"s3://\"}", "output.folder", "names no bucket"),
                                     ("{folder: /vsicurl/http://h/x}", "output.folder", "not a supported object store"),
                                     ("{folder: \"s3://b/../x\"}", "output.folder", "names no bucket"),
                                     ("{folder: \"s3://b/x\", stac: false}", "output.stac", "marks the scene complete"),
                                     ("{folder: \"s3://b/x\", scratch_folder: \"s3://b/tmp\"}", "output.scratch_folder", "local folder")] {
            do {
                _ = try parse(output)
                Issue.record("\(output) was accepted")
            } catch let error as PipelineError {
                let message = error.message(pipelineFile: "p.yaml")
                #expect(message.contains(key) && message.contains(words), "\(output): \(message)")
            }
        }
    }

    @Test func aStoreFolderIsFinishedInAPerProcessScratchFolderAndKeepsStateLocally() throws {
        let file = try parse("{folder: \"s3://maps/out\", scratch_folder: scratch, state_folder: /var/lib/lc}")
        #expect(file.localOutputFolder == "/p/scratch/landcover-scratch-\(getpid())")
        #expect(file.stateFolder.hasPrefix("/var/lib/lc/") && file.stateFolder.count == "/var/lib/lc/".count + 8)
        let other = try parse("{folder: \"s3://maps/other\", state_folder: /var/lib/lc}")
        #expect(other.stateFolder != file.stateFolder, "one state folder per store folder")
    }
}

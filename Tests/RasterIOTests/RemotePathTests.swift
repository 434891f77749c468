import Foundation
import RasterIO
import Testing
import TestSupport

/// URLs and GDAL network paths, the HTTP status in GDAL's messages, and STAC hrefs and band names.
@Suite("Remote paths and STAC items")
struct RemotePathTests {
    @Test func urlsBecomeGDALNetworkPathsAndBack() {
        #expect(RemotePath.gdalPath(ofURL: "https://h.example/a/b.tif") == "/vsicurl/https://h.example/a/b.tif")
        #expect(RemotePath.gdalPath(ofURL: "s3://bucket/key/x.tif") == "/vsis3/bucket/key/x.tif")
        #expect(RemotePath.gdalPath(ofURL: "gs://bucket/x.tif") == "/vsigs/bucket/x.tif")
        #expect(RemotePath.gdalPath(ofURL: "az://container/x.tif") == "/vsiaz/container/x.tif")
        #expect(RemotePath.gdalPath(ofURL: "/data/x.tif") == nil)
        #expect(RemotePath.gdalPath(ofURL: "scenes/x.tif") == nil)
        #expect(RemotePath.url(of: "/vsicurl/https://h.example/a.tif?sig=1") == "https://h.example/a.tif?sig=1")
        #expect(RemotePath.url(of: "/vsis3/bucket/key") == "s3://bucket/key")
        #expect(RemotePath.isRemote("/vsicurl/http://127.0.0.1:8000/x.tif"))
        #expect(RemotePath.isRemote("/vsizip//vsis3/bucket/x.zip/a.tif"))
        #expect(!RemotePath.isRemote("/vsizip//data/x.zip/a.tif"))
        #expect(!RemotePath.isRemote("/data/vsicurl/x.tif"))
    }

    @Test func httpStatusFromGDALMessages() {
        #expect(RemoteFileStamp.httpStatus(in: "HTTP response code on http://127.0.0.1:40545/fault/503/x.tif: 503") == 503)
        #expect(RemoteFileStamp.httpStatus(in: "HTTP response code: 404") == 404)
        #expect(RemoteFileStamp.httpStatus(in: "HTTP error code: 429 - http://h:1/x. Retrying again in 0.2 secs") == 429)
        #expect(RemoteFileStamp.httpStatus(in: "HTTP response code on http://127.0.0.1:1/x.tif: 0") == 0)
        #expect(RemoteFileStamp.httpStatus(in: "CURL error: Operation timed out after 2007 milliseconds with 0 bytes received") == 0)
        #expect(RemoteFileStamp.httpStatus(in: "not recognized as a supported file format") == nil)
    }

    @Test func errorsNameTheURLAndTheStatus() {
        let error = RasterIOError.remoteUnavailable(url: "https://h/x.tif", status: 503, detail: "HTTP response code on https://h/x.tif: 503")
        #expect(error.description.hasPrefix("https://h/x.tif: HTTP 503 (server error) after GDAL_HTTP_MAX_RETRY retries; "))
        #expect(RasterIOError.remoteUnavailable(url: "https://h/x.tif", status: 0, detail: "").description.hasPrefix("https://h/x.tif: no HTTP response"))
        #expect(RasterIOError.remoteUnavailable(url: "s3://b/x.tif", status: 403, detail: "").description.contains("access denied"))
    }

    @Test func stacHrefsResolveAgainstTheItem() {
        #expect(STACSceneItem.resolve(href: "./B04.tif", against: "/vsicurl/https://h/c/items/a/item.json") == "/vsicurl/https://h/c/items/a/B04.tif")
        #expect(STACSceneItem.resolve(href: "../b/B04.tif", against: "/vsicurl/https://h/c/items/a/item.json") == "/vsicurl/https://h/c/items/b/B04.tif")
        #expect(STACSceneItem.resolve(href: "/root/B04.tif", against: "/vsicurl/https://h/c/item.json") == "/vsicurl/https://h/root/B04.tif")
        #expect(STACSceneItem.resolve(href: "https://other/B04.tif", against: "/data/item.json") == "/vsicurl/https://other/B04.tif")
        #expect(STACSceneItem.resolve(href: "s3://b/k/B04.tif", against: "/data/item.json") == "/vsis3/b/k/B04.tif")
        #expect(STACSceneItem.resolve(href: "B04.tif", against: "/vsis3/bucket/items/item.json") == "/vsis3/bucket/items/B04.tif")
        #expect(STACSceneItem.resolve(href: "./bands/../B04.tif", against: "/data/items/item.json") == "/data/items/B04.tif")
        #expect(STACSceneItem.resolve(href: "/abs/B04.tif", against: "/data/items/item.json") == "/abs/B04.tif")
    }

    @Test func stacAssetsArePickedByBandNameCommonNameOrKey() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let item: [String: Any] = [
            "type": "Feature", "stac_version": "1.0.0", "id": "S2A_T1", "properties": ["datetime": "2024-06-01T10:00:00.5Z"],
            "assets": [
                "blue": ["href": "blue.tif", "type": "image/tiff; application=geotiff", "roles": ["data"], "eo:bands": [["name": "B02", "common_name": "blue"]]],
                "red": ["href": "red.tif", "type": "image/tiff; application=geotiff", "eo:bands": [["name": "red-band", "common_name": "red"]]],
                "red-jp2": ["href": "red.jp2", "type": "image/jp2", "eo:bands": [["name": "red-band", "common_name": "red"]]],
                "nir08": ["href": "nir08.tif", "type": "image/tiff"],
                "rededge": ["href": "re.tif", "type": "image/tiff", "bands": [["name": "x", "eo:common_name": "rededge"]]],
                "visual": ["href": "tci.tif", "type": "image/tiff", "roles": ["visual", "data"],
                           "eo:bands": [["common_name": "red"], ["common_name": "green"], ["common_name": "blue"]]],
                "thumbnail": ["href": "t.jpg", "type": "image/jpeg", "roles": ["thumbnail"]],
                "metadata": ["href": "m.xml", "type": "application/xml", "roles": ["metadata"]],
            ],
        ]
        let path = folder.appendingPathComponent("item.json")
        try JSONSerialization.data(withJSONObject: item).write(to: path)
        let parsed = try #require(try STACSceneItem.items(at: path.path).first)
        #expect(parsed.id == "S2A_T1")
        #expect(parsed.datetime == "2024-06-01T10:00:00.5Z")
        // The COG of red before its JPEG 2000 copy; the ambiguous red edge and the composite out.
        #expect(parsed.assets.map(\.key) == ["blue", "nir08", "red"])
        #expect(parsed.assets.map(\.bands) == [["B02"], ["B8A"], ["B04"]])
        #expect(parsed.assets.map(\.path) == ["blue.tif", "nir08.tif", "red.tif"].map { folder.appendingPathComponent($0).path })
    }
}

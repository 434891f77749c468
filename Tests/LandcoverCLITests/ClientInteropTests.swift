import Foundation
import RasterIO
import TestSupport
import Testing

/// The sample pipeline's outputs opened in the programs users open them with: real QGIS (Debian's
/// python3-qgis, offscreen), GDAL/OGR and rio-cogeo. Maps: the style QGIS picks by itself is the
/// paletted one from the `.qml` beside the map, its legend lists the classes and nothing else, and
/// pixels of known classes render in their class colours, opaque. Polygons: the GeoPackage's
/// `layer_styles` row, RFC 7946 GeoJSON, and class areas equal to the sieved map's.
@Suite("outputs in real clients", .serialized)
struct ClientInteropTests {
    static let classNames = ["cropland", "forest", "grassland", "shrubland", "built-up", "water", "wetland"]
    static let scene = "s2l1c_33UUU_20170216_west"
    static let pipelines = TestPaths.packageRoot.appendingPathComponent("pipelines")

    /// The class colours of the sample model, `#rrggbb`, from the map's own colour table.
    static func classColors(_ map: String) throws -> [String] {
        let info = try TestRasters.gdalinfo(map)
        let band = ((info["bands"] as? [[String: Any]]) ?? []).first ?? [:]
        let entries = (((band["colorTable"] as? [String: Any])?["entries"]) as? [[Int]]) ?? []
        return entries.prefix(classNames.count).map { String(format: "#%02x%02x%02x", $0[0], $0[1], $0[2]) }
    }

    /// A variant of the sample pipeline written into `folder` (paths made absolute).
    static func variant(in folder: URL, output: String) throws -> String {
        let text = """
        version: 1
        inputs:
          - \(TestPaths.packageRoot.appendingPathComponent("samples/\(scene)").path)
        model: \(TestPaths.packageRoot.appendingPathComponent("samples/model/landcover-33UUU.onnx").path)
        resolution: 10
        tiling:
          stride: 8
        mode: segmentation
        output:
          folder: \(folder.path)
        \(output.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        runtime:
          memory_mb: 256

        """
        let path = folder.appendingPathComponent("variant.yaml")
        try Data(text.utf8).write(to: path)
        return path.path
    }

    /// Runs the QGIS helper on `layers` (`MAP=RENDER.png` or `POLYGONS.gpkg`); nil (with the reason
    /// printed) when QGIS is not installed because apt refused it.
    static func qgis(_ layers: [String], folder: URL) throws -> [[String: Any]]? {
        guard FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/qgis/core/__init__.py") else {
            print("SKIPPED: QGIS (python3-qgis) is not installed; scripts/install-clients.sh could not install it")
            return nil
        }
        let runtime = folder.appendingPathComponent("xdg")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let report = folder.appendingPathComponent("qgis.json").path
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/clients/qgis_render.py").path
        let result = try CLI.run([script, report] + layers, executable: "/usr/bin/python3",
                                 environment: ["QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": runtime.path])
        #expect(result.status == 0, "QGIS helper: \(result.stderr)")
        let json = try CLI.json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: report)), as: UTF8.self))
        return json["layers"] as? [[String: Any]]
    }

    /// Checks one map as QGIS shows it: the paletted renderer it picks by itself, a legend of
    /// exactly the class names, and the rendered picture in class colours, opaque where the map
    /// has a class.
    static func checkInQGIS(_ layer: [String: Any], map: String, render: String) throws {
        #expect(layer["valid"] as? Bool == true, "\(layer)")
        #expect(layer["renderer"] as? String == "paletted", "QGIS picked \(layer["renderer"] ?? "nothing") for \(map)")
        #expect(layer["band_count"] as? Int == 1)
        #expect(layer["alpha_band"] as? Int == -1, "no band is taken as transparency")
        #expect(layer["legend"] as? [String] == classNames, "legend: \(layer["legend"] ?? "none")")
        let colors = try classColors(map)
        #expect(layer["legend_colors"] as? [String] == colors)

        let dataset = try RasterDataset(path: map)
        let classes = try dataset.read(window: dataset.fullWindow, bands: [1]).values.map { Int($0) }
        let image = try RasterDataset(path: render)
        #expect(image.width == dataset.width && image.height == dataset.height && image.bands.count == 4)
        let pixels = try image.read(window: image.fullWindow)
        let plane = image.width * image.height
        var checked = 0, matching = 0, opaque = 0
        var seen = Set<Int>()
        for y in stride(from: 2, to: dataset.height, by: 13) {
            for x in stride(from: 3, to: dataset.width, by: 17) {
                let i = y * dataset.width + x
                let value = classes[i]
                guard value < classNames.count else { continue }
                checked += 1
                seen.insert(value)
                let rgba = (0..<4).map { Int(pixels.values[$0 * plane + i]) }
                if String(format: "#%02x%02x%02x", rgba[0], rgba[1], rgba[2]) == colors[value] { matching += 1 }
                if rgba[3] == 255 { opaque += 1 }
            }
        }
        #expect(checked > 1000 && seen.count >= 5, "\(checked) pixels of classes \(seen.sorted())")
        #expect(matching == checked, "\(map): \(matching) of \(checked) pixels in their class colour")
        #expect(opaque == checked, "\(map): \(opaque) of \(checked) pixels opaque")
    }

    /// The sample pipeline as shipped (COG + GeoPackage): QGIS, GDAL's attribute table,
    /// `rio cogeo validate --strict`, and the polygons' `layer_styles` row in QGIS and ogrinfo.
    @Test func sampleCOGAndGeoPackageInQGISAndGDAL() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try CLI.run(["run", Self.pipelines.appendingPathComponent("sample.yaml").path, "--output-folder", folder.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let stem = folder.appendingPathComponent("\(Self.scene)_landcover").path
        let map = stem + ".tif", style = stem + ".qml", polygons = stem + ".gpkg", confidence = stem + "_confidence.tif"
        #expect(FileManager.default.fileExists(atPath: style), "the .qml beside the map")

        // GDAL: one paletted band with a raster attribute table; confidence in its own grey file.
        let info = try TestRasters.gdalinfo(map)
        let bands = (info["bands"] as? [[String: Any]]) ?? []
        #expect(bands.count == 1 && bands.first?["colorInterpretation"] as? String == "Palette")
        let rat = (info["rat"] as? [String: Any]) ?? [:]
        let rows = ((rat["row"] as? [[String: Any]]) ?? []).compactMap { $0["f"] as? [Any] }
        #expect(rows.map { "\($0[0])" } == (0..<Self.classNames.count).map { "\($0)" }, "RAT rows \(rows)")
        #expect(rows.map { "\($0[1])" } == Self.classNames)
        let confidenceBands = ((try TestRasters.gdalinfo(confidence))["bands"] as? [[String: Any]]) ?? []
        #expect(confidenceBands.count == 1 && confidenceBands.first?["colorInterpretation"] as? String == "Gray")
        #expect(confidenceBands.first?["description"] as? String == "confidence")

        let cogeo = try CLI.run(["cogeo", "validate", "--strict", map], executable: "rio")
        #expect(cogeo.status == 0 && cogeo.stdout.contains("is a valid cloud optimized GeoTIFF"), "\(cogeo.stdout) \(cogeo.stderr)")

        // ogrinfo sees the style row for the landcover layer, registered as an attributes table.
        let styles = try CLI.run(["-ro", "-q", polygons, "-sql", "SELECT f_table_name, f_geometry_column, styleName, useAsDefault FROM layer_styles"],
                                 executable: "ogrinfo")
        #expect(styles.status == 0, "\(styles.stderr)")
        #expect(styles.stdout.contains("f_table_name (String) = landcover") && styles.stdout.contains("f_geometry_column (String) = geom")
                && styles.stdout.contains("useAsDefault (Integer(Boolean)) = 1"), "\(styles.stdout)")
        let contents = try CLI.run(["-ro", "-q", polygons, "-sql", "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"],
                                   executable: "ogrinfo")
        #expect(contents.stdout.contains("data_type (String) = attributes"), "\(contents.stdout)")

        let render = folder.appendingPathComponent("cog.png").path
        guard let layers = try Self.qgis(["\(map)=\(render)", polygons], folder: folder) else { return }
        #expect(layers.count == 2)
        try Self.checkInQGIS(layers[0], map: map, render: render)
        #expect(layers[1]["renderer"] as? String == "categorizedSymbol", "\(layers[1])")
        #expect(layers[1]["legend"] as? [String] == Self.classNames, "\(layers[1])")
    }

    /// Plain GeoTIFF with a minimum mapping unit (`"0.12 ha"` = 12 pixels of 100 m²): QGIS shows it
    /// right; no 4-connected region smaller than 12 pixels is left; 1 and 2 workers give the same
    /// map; the GeoPackage's class areas equal the sieved map's pixels x 100 m²; the RFC 7946
    /// GeoJSON is in lon/lat within the scene's WGS 84 bounds, without a `crs` member, with
    /// counter-clockwise outer rings.
    @Test func plainGTiffWithMinimumMappingUnitGeoJSONAndGeoPackage() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = folder.appendingPathComponent("one"), two = folder.appendingPathComponent("two")
        for sub in [one, two] { try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true) }
        let geojsonPipeline = try Self.variant(in: one, output: "format: gtiff\npolygons: geojson\nmin_mapping_unit: \"0.12 ha\"\nstac: false")
        let gpkgPipeline = try Self.variant(in: two, output: "format: gtiff\npolygons: gpkg\nmin_mapping_unit: 12\nstac: false\npreview: false")
        let first = try CLI.run(["run", geojsonPipeline, "--quiet", "--threads", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try CLI.run(["run", gpkgPipeline, "--quiet", "--threads", "2"])
        #expect(second.status == 0, "\(second.stderr)")
        let mapOne = one.appendingPathComponent("\(Self.scene)_landcover.tif").path
        let mapTwo = two.appendingPathComponent("\(Self.scene)_landcover.tif").path

        let dataset = try RasterDataset(path: mapOne)
        let width = dataset.width, height = dataset.height
        let classes = try dataset.read(window: dataset.fullWindow, bands: [1]).values.map { Int($0) }
        let other = try RasterDataset(path: mapTwo)
        #expect(try other.read(window: other.fullWindow, bands: [1]).values.map { Int($0) } == classes,
                "1 and 2 workers, 12 px and 0.12 ha: the same sieved map")

        // No 4-connected region of one class below 12 pixels (the sieve's connectivity).
        var label = [Int](repeating: -1, count: classes.count)
        var small = 0, regions = 0
        for start in classes.indices where label[start] < 0 && classes[start] < Self.classNames.count {
            var stack = [start], size = 0
            label[start] = regions
            while let i = stack.popLast() {
                size += 1
                let x = i % width, y = i / width
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let j = ny * width + nx
                    if label[j] < 0 && classes[j] == classes[start] { label[j] = regions; stack.append(j) }
                }
            }
            regions += 1
            if size < 12 { small += 1 }
        }
        #expect(small == 0, "\(small) of \(regions) regions smaller than the minimum mapping unit")

        // GeoPackage (map CRS): per class, polygon area = pixels x 100 m^2, and one polygon per region.
        let polygons = two.appendingPathComponent("\(Self.scene)_landcover.gpkg").path
        let areas = try CLI.run(["-f", "CSV", "/vsistdout/", polygons, "-dialect", "SQLITE", "-sql",
                                 "SELECT class, CAST(SUM(ST_Area(geom)) AS INTEGER), COUNT(*) FROM landcover GROUP BY class ORDER BY class"],
                                executable: "ogr2ogr")
        #expect(areas.status == 0, "\(areas.stderr)")
        let counts = Dictionary(classes.filter { $0 < Self.classNames.count }.map { ($0, 1) }, uniquingKeysWith: +)
        let lines = areas.stdout.split(separator: "\n").dropFirst().map {
            $0.replacingOccurrences(of: "\"", with: "").split(separator: ",").map { Int($0) ?? -1 }
        }
        #expect(lines.map { [$0[0], $0[1]] } == counts.keys.sorted().map { [$0, counts[$0, default: 0] * 100] }, "\(areas.stdout)")
        #expect(lines.map { $0[2] }.reduce(0, +) == regions, "one polygon per 4-connected region")

        // GeoJSON: RFC 7946.
        let geojson = one.appendingPathComponent("\(Self.scene)_landcover.geojson")
        let document = try CLI.json(String(decoding: try Data(contentsOf: geojson), as: UTF8.self))
        #expect(document["crs"] == nil, "no crs member")
        let extent = ((try TestRasters.gdalinfo(mapOne))["wgs84Extent"] as? [String: Any])?["coordinates"] as? [[[Double]]]
        let corners = try #require(extent?.first)
        let lon = (corners.map { $0[0] }.min() ?? 0, corners.map { $0[0] }.max() ?? 0)
        let lat = (corners.map { $0[1] }.min() ?? 0, corners.map { $0[1] }.max() ?? 0)
        #expect(lon.0 > 12 && lon.1 < 13 && lat.0 > 52 && lat.1 < 53, "the crop lies near 12.6 E, 52.5 N: \(lon) \(lat)")
        let features = (document["features"] as? [[String: Any]]) ?? []
        #expect(features.count == regions)
        var outside = 0, clockwise = 0
        let tolerance = 1e-6
        for feature in features {
            let geometry = (feature["geometry"] as? [String: Any]) ?? [:]
            let rings = (geometry["coordinates"] as? [[[Double]]]) ?? []
            for point in rings.joined() where !(lon.0 - tolerance...lon.1 + tolerance).contains(point[0])
                || !(lat.0 - tolerance...lat.1 + tolerance).contains(point[1]) {
                outside += 1
            }
            if let outer = rings.first {
                let twiceArea = zip(outer, outer.dropFirst()).reduce(0.0) { $0 + $1.0[0] * $1.1[1] - $1.1[0] * $1.0[1] }
                if twiceArea <= 0 { clockwise += 1 }
            }
        }
        #expect(outside == 0, "\(outside) coordinates outside the scene's lon/lat bounds")
        #expect(clockwise == 0, "\(clockwise) outer rings not counter-clockwise")

        // QGIS on the plain GeoTIFF.
        let render = folder.appendingPathComponent("gtiff.png").path
        guard let layers = try Self.qgis(["\(mapOne)=\(render)"], folder: folder) else { return }
        try Self.checkInQGIS(try #require(layers.first), map: mapOne, render: render)
    }

    /// SCL is categorical: `stack` puts it on the 10 m grid with nearest, so it holds no class
    /// that `gdalwarp -r near` onto the same grid does not have (bilinear made 5,843 pixels of
    /// class 6 "water" out of neighbouring classes).
    @Test func stackedSCLHasOnlyNearestClasses() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stacked = folder.appendingPathComponent("stack.tif").path
        let result = try CLI.run(["stack", TestPaths.real("s2l2a_29RKH_20200219_riotilerpds"), "--bands", "B04,SCL", "-o", stacked])
        #expect(result.status == 0, "\(result.stderr)")
        let stack = try RasterDataset(path: stacked)
        let grid = try #require(stack.geoTransform)
        let reference = folder.appendingPathComponent("scl-near.tif").path
        let bounds = MapBounds(transform: grid, width: stack.width, height: stack.height)
        _ = try CLI.run(["-q", "-r", "near", "-tr", "\(grid.pixelWidth)", "\(abs(grid.pixelHeight))",
                         "-te", "\(bounds.minX)", "\(bounds.minY)", "\(bounds.maxX)", "\(bounds.maxY)",
                         TestPaths.real("s2l2a_29RKH_20200219_riotilerpds/SCL.tif"), reference], executable: "gdalwarp")
        let near = try RasterDataset(path: reference)
        #expect(near.width == stack.width && near.height == stack.height)
        let ours = try stack.read(window: stack.fullWindow, bands: [2]).values.map { Int($0) }
        let theirs = try near.read(window: near.fullWindow, bands: [1]).values.map { Int($0) }
        let extra = Set(ours).subtracting(Set(theirs))
        #expect(extra.isEmpty, "classes absent from the nearest reference: \(extra.sorted())")
        let differing = zip(ours, theirs).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(ours.count) pixels differ from gdalwarp -r near")
    }
}

import CGDAL
import Foundation

/// How ``VectorLabels`` resolves pixels covered by polygons of different classes.
///
/// Overlaps between features of the *same* class are never a conflict.
public enum LabelOverlapRule: Equatable, Sendable, Codable {
    /// The feature read last from the layer wins (layer order, normally FID order), exactly as
    /// `gdal_rasterize -a` burns; deterministic for a given file.
    case lastFeature
    /// Pixels covered by features of two or more different classes become unlabelled (255): the
    /// safe choice for training data, the labels of such pixels being ambiguous.
    case unlabelled
    /// The class listed first wins; classes not listed rank after the listed ones, in index order.
    case classPriority([Int])
}

/// What a ``VectorLabels`` source read from its layer (for dataset summaries).
public struct VectorLabelSummary: Equatable, Sendable, Codable {
    /// The vector file.
    public var path: String
    /// The layer read.
    public var layer: String
    /// The class attribute.
    public var attribute: String
    /// Attribute value -> class index, as given.
    public var classes: [String: Int]
    /// Number of features read per class index (index = class).
    public var featureCounts: [Int]
    /// Attribute values that the mapping does not list, with their feature counts (ignored).
    public var unmappedValues: [String: Int]
    /// Features skipped because their attribute was null or their geometry empty.
    public var skippedFeatures: Int
    /// How overlaps of different classes are resolved.
    public var overlapRule: LabelOverlapRule
}

/// Vector labels (GeoPackage, GeoJSON, Shapefile, anything OGR reads) rasterized onto a scene grid.
///
/// The features of one layer are read once: each feature's class attribute is looked up in a mapping
/// from attribute values to class indices (features whose value is not mapped, or null, are ignored),
/// its geometry is reprojected to the grid's CRS (both CRSs in the traditional GIS axis order:
/// x = easting/longitude, y = northing/latitude) and kept in memory. ``labels(window:)`` then burns
/// the geometries that reach a window into an in-memory raster of that window only, with GDAL's
/// rasterizer (`GDALRasterizeGeometries`) and its default **pixel-centre rule**: a pixel gets a class
/// when its centre lies inside the polygon (not "all touched"). Pixels covered by no mapped feature
/// are ``LabelValue/unlabelled`` (255); overlaps follow ``overlapRule``.
///
/// Large scenes are labelled strip by strip: memory is one window of bytes plus the geometries.
/// Not thread-safe (GDAL handles): use one instance per thread.
public final class VectorLabels: LabelSource {
    /// The vector file.
    public let path: String
    /// The layer read.
    public let layerName: String
    /// The class attribute.
    public let attribute: String
    /// The grid labels are delivered on; geometries are reprojected to its CRS.
    public let grid: SceneGrid
    /// How pixels covered by different classes are resolved.
    public let overlapRule: LabelOverlapRule
    /// Number of classes (largest mapped class index + 1).
    public let classCount: Int
    /// What was read from the layer.
    public let summary: VectorLabelSummary

    /// Geometries in the grid's CRS, in layer order, with their class and map envelope.
    private let features: [Feature]

    private typealias Feature = (geometry: OGRGeometryH, classIndex: Int, envelope: MapBounds)

    /// Reads the features of a layer.
    ///
    /// - Parameters:
    ///   - path: a GeoPackage, GeoJSON, Shapefile or other OGR dataset.
    ///   - layer: the layer name; nil = the first layer.
    ///   - attribute: the field holding each feature's class (e.g. OpenStreetMap `fclass`).
    ///   - classes: attribute value -> class index (`0...254`). Values are compared as text, after
    ///     trimming white space (an integer field value 3 is `"3"`). Several values may share a class
    ///     (`meadow` and `grass` -> grassland). Features with other values are ignored.
    ///   - grid: the grid labels are delivered on; its CRS is the target of the reprojection.
    ///   - overlapRule: how pixels covered by features of different classes are resolved.
    /// - Throws: ``RasterIOError`` naming the file, layer or attribute: the file is missing or not
    ///   a vector dataset, the layer or attribute does not exist, a class index is out of range,
    ///   the layer has no CRS while the grid has one, or a geometry cannot be reprojected.
    public init(path: String, layer: String? = nil, attribute: String, classes: [String: Int], grid: SceneGrid,
                overlapRule: LabelOverlapRule = .unlabelled) throws {
        GDALEnvironment.ensureInitialized()
        guard !classes.isEmpty else {
            throw RasterIOError.invalidArgument("\(path): the class mapping for attribute '\(attribute)' is empty; map at least one value to a class index")
        }
        for (value, index) in classes where !(0...LabelValue.maximumClass).contains(index) {
            throw RasterIOError.invalidArgument("\(path): attribute value '\(value)' maps to class \(index); class indices must be 0...\(LabelValue.maximumClass)")
        }
        if case .classPriority(let order) = overlapRule, let bad = order.first(where: { !(0...LabelValue.maximumClass).contains($0) }) {
            throw RasterIOError.invalidArgument("\(path): class priority lists class \(bad); class indices must be 0...\(LabelValue.maximumClass)")
        }
        guard FileManager.default.fileExists(atPath: path) || path.hasPrefix("/vsi") else {
            throw RasterIOError.fileNotFound(path: path)
        }
        // A FIFO or device would block or never end when GDAL opens it: refuse it unopened.
        if !path.hasPrefix("/vsi"), let kind = FileKind.nonRegular(path) {
            throw RasterIOError.invalidArgument("\(path): is \(kind), not a vector file; give a GeoPackage, GeoJSON or Shapefile")
        }
        GDALCall.reset()
        guard let dataset = GDALOpenEx(path, UInt32(GDAL_OF_VECTOR | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR), nil, nil, nil) else {
            throw RasterIOError.notAVectorDataset(path: path, gdalMessage: GDALCall.lastMessage())
        }
        defer { GDALClose(dataset) }
        let layerNames = (0..<Int(GDALDatasetGetLayerCount(dataset))).compactMap { index -> String? in
            GDALDatasetGetLayer(dataset, Int32(index)).flatMap { OGR_L_GetName($0) }.map { String(cString: $0) }
        }
        let layerHandle: OGRLayerH
        if let layer {
            guard let handle = GDALDatasetGetLayerByName(dataset, layer) else {
                throw RasterIOError.layerNotFound(path: path, layer: layer, available: layerNames)
            }
            layerHandle = handle
        } else {
            guard let handle = GDALDatasetGetLayer(dataset, 0) else {
                throw RasterIOError.layerNotFound(path: path, layer: "", available: layerNames)
            }
            layerHandle = handle
        }
        let name = OGR_L_GetName(layerHandle).map { String(cString: $0) } ?? (layer ?? "")
        let definition = try GDALCall.check(OGR_L_GetLayerDefn(layerHandle), "reading the definition of layer '\(name)'", path: path)
        let fieldIndex = OGR_FD_GetFieldIndex(definition, attribute)
        guard fieldIndex >= 0 else {
            let fields = (0..<Int(OGR_FD_GetFieldCount(definition))).compactMap { index -> String? in
                OGR_FD_GetFieldDefn(definition, Int32(index)).flatMap { OGR_Fld_GetNameRef($0) }.map { String(cString: $0) }
            }
            throw RasterIOError.attributeNotFound(path: path, layer: name, attribute: attribute, available: fields)
        }

        self.path = path
        self.layerName = name
        self.attribute = attribute
        self.grid = grid
        self.overlapRule = overlapRule
        self.classCount = (classes.values.max() ?? 0) + 1

        let transformation = try Self.transformation(layer: layerHandle, grid: grid, path: path, layerName: name)
        defer { if let transformation { OCTDestroyCoordinateTransformation(transformation) } }

        let lookup = Dictionary(uniqueKeysWithValues: classes.map { ($0.key.trimmingCharacters(in: .whitespaces), $0.value) })
        var featureCounts = [Int](repeating: 0, count: classCount)
        var unmapped: [String: Int] = [:]
        var skipped = 0
        var collected: [Feature] = []
        // Geometries are owned here until init succeeds (deinit does not run for a failed init).
        var succeeded = false
        defer { if !succeeded { for feature in collected { OGR_G_DestroyGeometry(feature.geometry) } } }
        OGR_L_ResetReading(layerHandle)
        GDALCall.reset()
        while let feature = OGR_L_GetNextFeature(layerHandle) {
            defer { OGR_F_Destroy(feature) }
            guard OGR_F_IsFieldSetAndNotNull(feature, fieldIndex) != 0 else { skipped += 1; continue }
            let value = OGR_F_GetFieldAsString(feature, fieldIndex).map { String(cString: $0) }?
                .trimmingCharacters(in: .whitespaces) ?? ""
            guard let classIndex = lookup[value] else { unmapped[value, default: 0] += 1; continue }
            guard let geometry = OGR_F_StealGeometry(feature) else { skipped += 1; continue }
            if OGR_G_IsEmpty(geometry) != 0 {
                OGR_G_DestroyGeometry(geometry)
                skipped += 1
                continue
            }
            if let transformation {
                GDALCall.reset()
                guard OGR_G_Transform(geometry, transformation) == OGRERR_NONE else {
                    OGR_G_DestroyGeometry(geometry)
                    let fid = OGR_F_GetFID(feature)
                    throw RasterIOError.gdalFailure(
                        operation: "reprojecting feature \(fid) of layer '\(name)' to \(grid.spatialReference?.description ?? "the grid's CRS") (check the layer's CRS with ogrinfo)",
                        path: path, gdalMessage: GDALCall.lastMessage())
                }
            }
            var envelope = OGREnvelope()
            OGR_G_GetEnvelope(geometry, &envelope)
            collected.append((geometry, classIndex, MapBounds(minX: envelope.MinX, minY: envelope.MinY, maxX: envelope.MaxX, maxY: envelope.MaxY)))
            featureCounts[classIndex] += 1
        }
        if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
            throw RasterIOError.gdalFailure(operation: "reading the features of layer '\(name)'", path: path, gdalMessage: GDALCall.lastMessage())
        }
        self.summary = VectorLabelSummary(path: path, layer: name, attribute: attribute, classes: classes,
                                          featureCounts: featureCounts, unmappedValues: unmapped,
                                          skippedFeatures: skipped, overlapRule: overlapRule)
        self.features = collected
        succeeded = true
    }

    deinit {
        for feature in features { OGR_G_DestroyGeometry(feature.geometry) }
    }

    /// The file, layer and attribute, for reports and error messages.
    public var sourceDescription: String { "\(path) (layer \(layerName), attribute \(attribute))" }

    /// The transformation from the layer's CRS to the grid's, nil when they are the same.
    private static func transformation(layer: OGRLayerH, grid: SceneGrid, path: String, layerName: String) throws -> OGRCoordinateTransformationH? {
        guard let target = grid.spatialReference else { return nil }
        guard let layerSRS = OGR_L_GetSpatialRef(layer) else {
            throw RasterIOError.missingGeoreferencing(path: "\(path) (layer \(layerName))")
        }
        guard let source = OSRClone(layerSRS) else {
            throw RasterIOError.invalidArgument("\(path): could not copy the CRS of layer '\(layerName)'")
        }
        defer { OSRDestroySpatialReference(source) }
        GDALCall.reset()
        guard let destination = OSRNewSpatialReference(target.wkt) else {
            throw RasterIOError.gdalFailure(operation: "parsing the grid's CRS \(target)", path: path, gdalMessage: GDALCall.lastMessage())
        }
        defer { OSRDestroySpatialReference(destination) }
        // Geometries come in the layer's data axis order (x = easting/longitude for GeoPackage,
        // GeoJSON and Shapefile); use the traditional GIS order on both sides.
        OSRSetAxisMappingStrategy(source, OAMS_TRADITIONAL_GIS_ORDER)
        OSRSetAxisMappingStrategy(destination, OAMS_TRADITIONAL_GIS_ORDER)
        if OSRIsSame(source, destination) != 0 { return nil }
        GDALCall.reset()
        return try GDALCall.check(OCTNewCoordinateTransformation(source, destination),
                                  "creating the transformation from the CRS of layer '\(layerName)' to \(target)", path: path)
    }

    /// Rasterizes the labels of a window of the grid.
    ///
    /// - Parameter window: pixels of ``grid``; it may extend past the grid (features there are
    ///   burnt too).
    /// - Returns: `window.width * window.height` class indices, row-major, 255 = unlabelled.
    /// - Throws: ``RasterIOError/gdalFailure(operation:path:gdalMessage:)`` naming the file and layer.
    public func labels(window: RasterWindow) throws -> [UInt8] {
        guard window.width > 0, window.height > 0 else {
            throw RasterIOError.invalidArgument("\(path): cannot rasterize labels into an empty \(window)")
        }
        var labels = [UInt8](repeating: LabelValue.unlabelled, count: window.pixelCount)
        let transform = grid.geoTransform.forWindow(window)
        let bounds = MapBounds(transform: transform, width: window.width, height: window.height)
        let selected = features.indices.filter { i in
            let e = features[i].envelope
            return e.maxX >= bounds.minX && e.minX <= bounds.maxX && e.maxY >= bounds.minY && e.minY <= bounds.maxY
        }
        guard !selected.isEmpty else { return labels }

        let memory = try MemoryBand(width: window.width, height: window.height, transform: transform, path: path)
        switch overlapRule {
        case .lastFeature:
            try memory.burn(geometries: selected.map { features[$0].geometry },
                            values: selected.map { Double(features[$0].classIndex) },
                            background: Double(LabelValue.unlabelled), into: &labels, layer: layerName)
        case .unlabelled, .classPriority:
            var order: [Int] = []
            if case .classPriority(let listed) = overlapRule {
                for c in listed where c < classCount && !order.contains(c) { order.append(c) }
            }
            for c in 0..<classCount where !order.contains(c) { order.append(c) }
            let unlabelledRule = overlapRule == .unlabelled
            var covered = [UInt8](repeating: 0, count: window.pixelCount)
            var conflict = [Bool](repeating: false, count: unlabelledRule ? window.pixelCount : 0)
            for classIndex in order {
                let geometries = selected.filter { features[$0].classIndex == classIndex }.map { features[$0].geometry }
                guard !geometries.isEmpty else { continue }
                try memory.burn(geometries: geometries, values: [Double](repeating: 1, count: geometries.count),
                                background: 0, into: &covered, layer: layerName)
                let value = UInt8(classIndex)
                for i in 0..<covered.count where covered[i] != 0 {
                    if labels[i] == LabelValue.unlabelled {
                        labels[i] = value
                    } else if unlabelledRule && labels[i] != value {
                        conflict[i] = true
                    }
                }
            }
            if unlabelledRule {
                for i in 0..<conflict.count where conflict[i] { labels[i] = LabelValue.unlabelled }
            }
        }
        return labels
    }
}

/// A one-band Byte raster in memory (GDAL's MEM driver) georeferenced on a window of a grid.
final class MemoryBand {
    private let dataset: GDALDatasetH
    private let band: GDALRasterBandH
    let width: Int
    let height: Int
    private let path: String

    init(width: Int, height: Int, transform: GeoTransform, path: String) throws {
        self.width = width
        self.height = height
        self.path = path
        GDALEnvironment.ensureInitialized()
        GDALCall.reset()
        let driver = try GDALCall.check(GDALGetDriverByName("MEM"), "finding GDAL's MEM driver", path: path)
        dataset = try GDALCall.check(GDALCreate(driver, "", Int32(width), Int32(height), 1, GDT_Byte, nil),
                                     "creating a \(width)x\(height) in-memory label raster", path: path)
        var coefficients = transform.coefficients
        GDALSetGeoTransform(dataset, &coefficients)
        guard let handle = GDALGetRasterBand(dataset, 1) else {
            GDALClose(dataset)
            throw RasterIOError.gdalFailure(operation: "opening band 1 of the in-memory label raster", path: path, gdalMessage: GDALCall.lastMessage())
        }
        band = handle
    }

    deinit {
        GDALClose(dataset)
    }

    /// Fills the band with `background`, burns `values[i]` into the pixels whose centre lies in
    /// `geometries[i]` (in order, later geometries overwrite earlier ones) and reads the band back.
    func burn(geometries: [OGRGeometryH], values: [Double], background: Double, into output: inout [UInt8], layer: String) throws {
        precondition(geometries.count == values.count && output.count == width * height)
        GDALCall.reset()
        try GDALCall.check(GDALFillRaster(band, background, 0), "clearing the in-memory label raster", path: path)
        var bandList: [Int32] = [1]
        let handles: [OGRGeometryH?] = geometries
        GDALCall.reset()
        let result = GDALCall.withStringList([]) { options in
            GDALRasterizeGeometries(dataset, 1, &bandList, Int32(handles.count), handles, nil, nil, values, options, nil, nil)
        }
        try GDALCall.check(result, "rasterizing \(geometries.count) features of layer '\(layer)'", path: path)
        GDALCall.reset()
        let read = output.withUnsafeMutableBytes { bytes in
            GDALRasterIO(band, GF_Read, 0, 0, Int32(width), Int32(height), bytes.baseAddress, Int32(width), Int32(height), GDT_Byte, 0, 0)
        }
        try GDALCall.check(read, "reading the rasterized labels of layer '\(layer)'", path: path)
    }
}

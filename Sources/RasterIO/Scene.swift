import Foundation

/// One band of a stacked scene: its name and where its pixels come from.
public struct StackedBand: Equatable, Sendable, Codable {
    /// Canonical band name (`B04`, `B8A`, `SCL`, ...).
    public var name: String
    /// GDAL path of the source (a file or a subdataset connection string).
    public var sourcePath: String
    /// 1-based band index in the source.
    public var sourceBand: Int
    /// The source's pixel size in map units.
    public var sourceResolution: Double
    /// Pixel type in the source.
    public var dataType: RasterDataType
    /// Nodata value of the source band, if declared.
    public var nodata: Double?
    /// How the band is put on the scene grid: nil when the source already is on it (read
    /// directly, shifted by whole pixels at most), otherwise the resampling method of GDAL's warper.
    public var resampling: Resampling?
}

/// What to stack and how, for ``Scene/assemble(inputs:options:)``.
public struct SceneOptions: Equatable, Sendable, Codable {
    /// Bands wanted, in output order (canonical names); nil = every Sentinel-2 spectral band found,
    /// in ESA order (auxiliary layers such as SCL only when named here).
    public var bands: [String]?
    /// Names for the bands of multi-band files that carry none (e.g. ``SentinelBand/eurosatOrder``).
    public var bandOrder: [String]?
    /// Pixel size of the grid in map units; nil = the finest of the stacked bands.
    public var referenceResolution: Double?
    /// Per-band resampling overrides (canonical band name -> method).
    public var resampling: [String: Resampling]
    /// The method for every measurement band without a per-band override (`--resampling cubic`);
    /// nil = bilinear up, average down. Categorical layers keep nearest/mode unless overridden.
    public var allBandsResampling: Resampling?
    /// Bands holding class codes (masks, label layers) besides ``SentinelBand/categoricalLayers``
    /// (SCL): without an override they are resampled with nearest (up) and mode (down).
    public var categorical: Set<String>

    public init(bands: [String]? = nil, bandOrder: [String]? = nil, referenceResolution: Double? = nil,
                resampling: [String: Resampling] = [:], categorical: Set<String> = [], allBandsResampling: Resampling? = nil) {
        self.bands = bands
        self.allBandsResampling = allBandsResampling
        self.bandOrder = bandOrder
        self.referenceResolution = referenceResolution
        self.resampling = resampling
        self.categorical = categorical
    }

    /// Whether `name` (canonical) is a categorical layer for these options.
    public func isCategorical(_ name: String) -> Bool {
        SentinelBand.categoricalLayers.contains(name) || categorical.contains(name)
    }
}

/// A scene: bands from one or more rasters, matched by name and put on one grid.
///
/// Inputs may be a multi-band file, a set of single-band files at different resolutions (one file per
/// band, names taken from the file names as in Sentinel-2 and BigEarthNet), a folder of such files, or
/// a Sentinel-2 SAFE product (folder, `MTD_MSI*.xml` or `.zip`) read through GDAL's SENTINEL2 driver.
/// Bands are matched by name, never by position. A `Scene` is a description (cheap, `Sendable`); pixels
/// are read through a ``SceneReader``, one per thread.
public struct Scene: Equatable, Sendable, Codable {
    /// A short identifier derived from the inputs (file or product name without extension).
    public var name: String
    /// The input paths as given.
    public var inputs: [String]
    /// The grid every band is stacked onto.
    public var grid: SceneGrid
    /// The stacked bands, in output order.
    public var bands: [StackedBand]

    /// Canonical names of the stacked bands, in order.
    public var bandNames: [String] { bands.map(\.name) }

    /// Resolves inputs into a stacked scene description (opens each input once to read its metadata).
    ///
    /// - Throws: ``RasterIOError`` naming the file: missing files, non-rasters, a wanted band that no
    ///   input provides, a band provided twice at the same resolution, or inputs whose CRS differ.
    public static func assemble(inputs: [String], options: SceneOptions = SceneOptions()) throws -> Scene {
        guard !inputs.isEmpty else {
            throw RasterIOError.invalidArgument("a scene needs at least one input raster")
        }
        var sources: [SourceDescription] = []
        for input in inputs {
            sources.append(contentsOf: try SourceDescription.discover(input, bandOrder: options.bandOrder))
        }
        // Candidates per band name: the finest resolution wins; equal resolutions are ambiguous.
        var chosen: [String: (source: SourceDescription, band: BandInfo)] = [:]
        var order: [String] = []
        for source in sources {
            for band in source.bands {
                guard let name = band.name else { continue }
                if let existing = chosen[name] {
                    let a = existing.source.grid.resolution, b = source.grid.resolution
                    if abs(a - b) <= 1e-9 * max(a, b) {
                        throw RasterIOError.duplicateBand(band: name, paths: [existing.source.displayPath, source.displayPath])
                    }
                    if b < a { chosen[name] = (source, band) }
                } else {
                    chosen[name] = (source, band)
                    order.append(name)
                }
            }
        }
        let wanted: [String]
        if let requested = options.bands {
            wanted = requested.map(SentinelBand.canonicalName)
            for name in wanted where chosen[name] == nil {
                // An unnamed band stack, or nothing named at all: say so rather than "not found".
                if let unnamed = unnamedSource(sources), unnamed.bands.count > 1 || order.isEmpty {
                    throw RasterIOError.unnamedBands(path: unnamed.displayPath, count: unnamed.bands.count)
                }
                let where_ = inputs.count == 1 ? inputs[0] : inputs.joined(separator: ", ")
                throw RasterIOError.bandNotFound(band: name, path: where_, available: order)
            }
        } else {
            // Spectral bands in ESA order; other layers (SCL, ...) only when nothing else is named.
            let esa = SentinelBand.all.filter { chosen[$0] != nil }
            wanted = esa.isEmpty ? order.sorted() : esa
            if wanted.isEmpty {
                if let unnamed = unnamedSource(sources) {
                    throw RasterIOError.unnamedBands(path: unnamed.displayPath, count: unnamed.bands.count)
                }
                throw RasterIOError.invalidArgument("\(inputs.joined(separator: ", ")): no band carries a band name; name the files after their bands (..._B04.tif) or declare the order with --band-order")
            }
        }
        let used = wanted.compactMap { chosen[$0] }
        let grid = try referenceGrid(used: used.map(\.source), resolution: options.referenceResolution)
        // Every source must share the grid's CRS.
        for (source, _) in used {
            if used.count > 1 && !source.hasGeoreferencing {
                throw RasterIOError.missingGeoreferencing(path: source.displayPath)
            }
            if let target = grid.spatialReference, let crs = source.grid.spatialReference, !crs.isSame(as: target) {
                throw RasterIOError.crsMismatch(path: source.displayPath, expected: target.description, actual: crs.description)
            }
            if (grid.spatialReference == nil) != (source.grid.spatialReference == nil) && used.count > 1 {
                throw RasterIOError.crsMismatch(path: source.displayPath, expected: grid.spatialReference?.description ?? "none",
                                                actual: source.grid.spatialReference?.description ?? "none")
            }
        }
        let bands = wanted.compactMap { name -> StackedBand? in
            guard let (source, band) = chosen[name] else { return nil }
            let direct = grid.integerOffset(of: source.grid) != nil
            let method = direct ? nil : (options.resampling[name]
                ?? (options.isCategorical(name) ? nil : options.allBandsResampling)
                ?? Resampling.defaultMethod(sourceResolution: source.grid.resolution, targetResolution: grid.resolution,
                                            categorical: options.isCategorical(name)))
            return StackedBand(name: name, sourcePath: source.path, sourceBand: band.index,
                               sourceResolution: source.grid.resolution, dataType: band.dataType,
                               nodata: band.nodata, resampling: method)
        }
        return Scene(name: sceneName(inputs), inputs: inputs, grid: grid, bands: bands)
    }

    /// The first source none of whose bands has a name (a band stack without descriptions),
    /// whose bands the scene therefore cannot use.
    static func unnamedSource(_ sources: [SourceDescription]) -> SourceDescription? {
        sources.first { !$0.bands.isEmpty && $0.bands.allSatisfy { $0.name == nil } }
    }

    /// Longest side, in pixels, of a grid made from a reference resolution (2^20: a Sentinel-2
    /// tile at 0.1 m); a finer resolution is refused before anything is sized from it.
    public static let maximumGridSide = 1 << 20

    /// The grid at `resolution` (default: the finest source's), taken from a source at that
    /// resolution when there is one, else the finest source's extent divided into pixels of that size.
    static func referenceGrid(used: [SourceDescription], resolution: Double?) throws -> SceneGrid {
        guard let finest = used.min(by: { $0.grid.resolution < $1.grid.resolution }) else {
            throw RasterIOError.invalidArgument("a scene needs at least one band")
        }
        guard let resolution else { return finest.grid }
        guard resolution > 0, resolution.isFinite else {
            throw RasterIOError.invalidArgument("reference resolution must be a positive number of map units, not \(resolution)")
        }
        if let match = used.first(where: { abs($0.grid.resolution - resolution) <= 1e-9 * resolution }) {
            return match.grid
        }
        let bounds = finest.grid.bounds
        let columns = (bounds.width / resolution).rounded(), rows = (bounds.height / resolution).rounded()
        guard columns.isFinite, rows.isFinite, columns <= Double(maximumGridSide), rows <= Double(maximumGridSide) else {
            throw RasterIOError.gridTooLarge(detail: "reference resolution \(resolution) makes a grid of \(String(format: "%.3g", columns)) x \(String(format: "%.3g", rows)) pixels for a scene of \(bounds.width) x \(bounds.height) map units, more than \(maximumGridSide) pixels a side; use a coarser resolution (the finest band's is \(finest.grid.resolution))")
        }
        let width = Int(columns), height = Int(rows)
        guard width > 0, height > 0 else {
            throw RasterIOError.invalidArgument("reference resolution \(resolution) is larger than the scene (\(bounds.width) x \(bounds.height) map units)")
        }
        let t = finest.grid.geoTransform
        let transform = GeoTransform(originX: bounds.minX, pixelWidth: resolution, originY: bounds.maxY,
                                     pixelHeight: t.pixelHeight < 0 ? -resolution : resolution)
        return SceneGrid(width: width, height: height, geoTransform: transform, spatialReference: finest.grid.spatialReference)
    }

    /// A scene identifier from its inputs: the SAFE product or file name without extension; for a
    /// set of band files, their common prefix without a trailing band token and separators.
    public static func sceneName(_ inputs: [String]) -> String {
        let names = inputs.map { path -> String in
            var url = URL(fileURLWithPath: path)
            if url.lastPathComponent.hasPrefix("MTD_") { url = url.deletingLastPathComponent() }
            var name = url.lastPathComponent
            for ext in [".zip", ".SAFE", ".tif", ".tiff", ".TIF", ".jp2", ".vrt", ".img"] where name.hasSuffix(ext) {
                name.removeLast(ext.count)
            }
            return name
        }
        guard names.count > 1, var prefix = names.first else {
            return names.first.map { n in n.isEmpty ? "scene" : n } ?? "scene"
        }
        for name in names.dropFirst() {
            while !name.hasPrefix(prefix) { prefix.removeLast() }
        }
        while let last = prefix.last, "_-. B".contains(last) { prefix.removeLast() }
        if prefix.isEmpty {
            let folder = URL(fileURLWithPath: inputs[0]).deletingLastPathComponent().lastPathComponent
            return folder.isEmpty ? "scene" : folder
        }
        return prefix
    }
}

/// One openable raster among a scene's inputs (a file, or a subdataset of a SAFE product).
struct SourceDescription: Sendable {
    var path: String
    var displayPath: String
    var grid: SceneGrid
    var bands: [BandInfo]
    var hasGeoreferencing: Bool

    init(_ dataset: RasterDataset, displayPath: String) {
        self.path = dataset.path
        self.displayPath = displayPath
        self.grid = SceneGrid(dataset)
        self.bands = dataset.bands
        self.hasGeoreferencing = dataset.geoTransform != nil && dataset.spatialReference != nil
    }

    static let rasterExtensions: Set<String> = ["tif", "tiff", "jp2", "vrt", "img", "j2k"]

    /// A STAC Item's band assets, each named by the item (``STACSceneItem``).
    static func discoverItem(_ input: String) throws -> [SourceDescription] {
        let items = try STACSceneItem.items(at: input)
        guard items.count == 1, let item = items.first else {
            throw RasterIOError.invalidArgument("\(RemotePath.url(of: input)): is an ItemCollection of \(items.count) items; give one as \(input)#ITEM_ID, or list the collection in a pipeline's inputs (one scene per item)")
        }
        return try item.assets.map { asset in
            let dataset = try RasterDataset(path: asset.path)
            guard dataset.bands.count == asset.bands.count else {
                throw RasterIOError.invalidArgument("\(RemotePath.url(of: asset.path)): has \(dataset.bands.count) bands but STAC Item '\(item.id)' (asset '\(asset.key)') names \(asset.bands.count) (\(asset.bands.joined(separator: ", "))); fix the item's eo:bands")
            }
            return SourceDescription(try RasterDataset(path: asset.path, bandNames: asset.bands), displayPath: asset.path)
        }
    }

    /// Expands an input path into raster sources: a folder into its SAFE metadata file or its raster
    /// files; a dataset with subdatasets (SAFE) into its 10m/20m/60m parts of one CRS.
    static func discover(_ input: String, bandOrder: [String]?) throws -> [SourceDescription] {
        // A URL is read through GDAL's network file systems (`https://` -> `/vsicurl/https://`).
        let input = RemotePath.normalized(input)
        if STACSceneItem.isItemPath(input) { return try discoverItem(input) }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory)
        if !exists && !input.hasPrefix("/vsi") && !input.contains(":") {
            throw RasterIOError.fileNotFound(path: input)
        }
        if exists && isDirectory.boolValue {
            let entries = ((try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []).sorted()
            if let mtd = entries.first(where: { $0.hasPrefix("MTD_MSI") && $0.hasSuffix(".xml") }) {
                return try discover((input as NSString).appendingPathComponent(mtd), bandOrder: bandOrder)
            }
            let files = entries.filter { rasterExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            guard !files.isEmpty else {
                throw RasterIOError.notARaster(path: input, gdalMessage: "folder holds no raster files (.tif, .jp2, .vrt) and no SAFE metadata")
            }
            return try files.flatMap { try discover((input as NSString).appendingPathComponent($0), bandOrder: bandOrder) }
        }
        let dataset = try RasterDataset(path: input)
        let subdatasets = dataset.subdatasets
        if dataset.bands.isEmpty && !subdatasets.isEmpty {
            // Sentinel-2 products: the 10m/20m/60m subdatasets of the first CRS.
            let parts = subdatasets.filter { sub in [":10m:", ":20m:", ":60m:"].contains { sub.name.contains($0) } }
            guard let first = parts.first else {
                throw RasterIOError.notARaster(path: input, gdalMessage: "no 10m/20m/60m subdatasets among \(subdatasets.map(\.name))")
            }
            let crsTag = first.name.split(separator: ":").last.map(String.init) ?? ""
            return try parts.filter { $0.name.hasSuffix(crsTag) }.map { sub in
                SourceDescription(try RasterDataset(path: sub.name), displayPath: input)
            }
        }
        if let bandOrder, dataset.bands.count > 1, dataset.bands.allSatisfy({ $0.name == nil }) {
            guard bandOrder.count == dataset.bands.count else {
                throw RasterIOError.invalidArgument("\(input): band order lists \(bandOrder.count) bands but the file has \(dataset.bands.count); give one name per band in file order")
            }
            return [SourceDescription(try RasterDataset(path: input, bandNames: bandOrder), displayPath: input)]
        }
        return [SourceDescription(dataset, displayPath: input)]
    }
}

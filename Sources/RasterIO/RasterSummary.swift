import Foundation

/// A machine-readable summary of raster inputs: each file (or SAFE subdataset) as GDAL sees it, and
/// how the inputs would be stacked into one scene. `landcover info` prints it.
public struct RasterSummary: Codable, Sendable {
    /// One band of one file.
    public struct Band: Codable, Sendable {
        public var index: Int
        public var name: String?
        public var description: String
        public var dataType: String
        public var nodata: Double?
        public var block: [Int]
    }
    /// One file or subdataset.
    public struct File: Codable, Sendable {
        public var path: String
        public var driver: String
        public var width: Int
        public var height: Int
        public var epsg: Int?
        public var crsName: String?
        public var crsWKT: String?
        public var geoTransform: [Double]?
        public var resolution: [Double]?
        public var bounds: MapBounds?
        public var bands: [Band]
    }
    /// One band of the stacked scene.
    public struct StackBand: Codable, Sendable {
        public var name: String
        public var source: String
        public var sourceBand: Int
        public var sourceResolution: Double
        /// "direct" or the resampling method.
        public var method: String
    }
    /// The stacked scene, or why the inputs cannot be stacked.
    public struct Stack: Codable, Sendable {
        public var width: Int?
        public var height: Int?
        public var resolution: Double?
        public var epsg: Int?
        public var bounds: MapBounds?
        public var bands: [StackBand]
        public var problem: String?
    }

    public var files: [File]
    public var stack: Stack

    /// Summarizes `inputs` (files, folders, SAFE products) and how they stack under `options`.
    /// - Throws: ``RasterIOError`` when an input is missing or not a raster; stacking problems are
    ///   reported in ``Stack/problem`` instead.
    public static func make(inputs: [String], options: SceneOptions = SceneOptions()) throws -> RasterSummary {
        var files: [File] = []
        for input in inputs {
            for source in try SourceDescription.discover(input, bandOrder: options.bandOrder) {
                let dataset = try RasterDataset(path: source.path, bandNames: source.bands.allSatisfy { $0.name != nil } && source.bands.count > 1 && options.bandOrder != nil ? source.bands.compactMap(\.name) : nil)
                files.append(File(
                    path: source.path, driver: dataset.driverName, width: dataset.width, height: dataset.height,
                    epsg: dataset.spatialReference?.epsg, crsName: dataset.spatialReference?.name,
                    crsWKT: dataset.spatialReference?.wkt, geoTransform: dataset.geoTransform?.coefficients,
                    resolution: dataset.geoTransform.map { [$0.resolution.x, $0.resolution.y] },
                    bounds: dataset.bounds,
                    bands: source.bands.map { Band(index: $0.index, name: $0.name, description: $0.description,
                                                   dataType: $0.dataType.rawValue, nodata: $0.nodata,
                                                   block: [$0.blockWidth, $0.blockHeight]) }))
            }
        }
        var stack = Stack(bands: [])
        do {
            stack = Stack(scene: try Scene.assemble(inputs: inputs, options: options))
        } catch let error as RasterIOError {
            stack.problem = error.description
        }
        return RasterSummary(files: files, stack: stack)
    }

    /// A summary of `files` and `stack` (`landcover stack -v` prints a stack alone).
    public init(files: [File], stack: Stack) {
        self.files = files
        self.stack = stack
    }

    /// A concise human-readable rendering (like `gdalinfo`, plus band names and the stacking plan).
    /// - Parameters:
    ///   - files: each file's details before the stacking plan (`info -q` leaves them out).
    ///   - wkt: each file's CRS as WKT too (`info -v`).
    public func text(files showFiles: Bool = true, wkt: Bool = false) -> String {
        var lines: [String] = []
        func number(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.6f", v)
        }
        for file in showFiles ? files : [] {
            lines.append("\(file.path)")
            lines.append("  driver \(file.driver), \(file.width) x \(file.height) pixels, \(file.bands.count) band\(file.bands.count == 1 ? "" : "s")")
            if let epsg = file.epsg {
                lines.append("  CRS EPSG:\(epsg) (\(file.crsName ?? ""))")
            } else if let name = file.crsName {
                lines.append("  CRS \(name)")
            } else {
                lines.append("  CRS none")
            }
            if wkt, let text = file.crsWKT { lines.append("  WKT \(text)") }
            if let t = file.geoTransform, let r = file.resolution {
                lines.append("  origin (\(number(t[0])), \(number(t[3]))), pixel \(number(r[0])) x \(number(r[1]))")
            }
            if let b = file.bounds {
                lines.append("  bounds x \(number(b.minX))..\(number(b.maxX)), y \(number(b.minY))..\(number(b.maxY))")
            }
            for band in file.bands {
                var parts = ["  band \(band.index)", band.name ?? "(no name)", band.dataType]
                if let nodata = band.nodata { parts.append("nodata \(number(nodata))") }
                parts.append("block \(band.block[0])x\(band.block[1])")
                if !band.description.isEmpty && band.description != band.name { parts.append("\"\(band.description)\"") }
                lines.append(parts.joined(separator: "  "))
            }
        }
        lines.append("stack")
        if let problem = stack.problem {
            lines.append("  cannot stack: \(problem)")
        } else if let w = stack.width, let h = stack.height, let r = stack.resolution {
            lines.append("  \(w) x \(h) pixels at \(number(r)) map units\(stack.epsg.map { ", EPSG:\($0)" } ?? ""), \(stack.bands.count) bands")
            for band in stack.bands {
                let source = URL(fileURLWithPath: band.source).lastPathComponent
                lines.append("  \(band.name.padding(toLength: 4, withPad: " ", startingAt: 0)) from \(source) band \(band.sourceBand) at \(number(band.sourceResolution)): \(band.method)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension RasterSummary.Stack {
    /// The stacking plan of an assembled scene: its grid and, per band, source and method.
    public init(scene: Scene) {
        self.init(bands: scene.bands.map {
            RasterSummary.StackBand(name: $0.name, source: $0.sourcePath, sourceBand: $0.sourceBand,
                                    sourceResolution: $0.sourceResolution, method: $0.resampling?.rawValue ?? "direct")
        })
        width = scene.grid.width
        height = scene.grid.height
        resolution = scene.grid.resolution
        epsg = scene.grid.spatialReference?.epsg
        bounds = scene.grid.bounds
    }
}

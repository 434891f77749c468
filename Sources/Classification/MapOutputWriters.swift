import Config
import Foundation
import RasterIO

/// The files a scene's map rows go to: the class map (one band: GDAL tags the second band of a
/// paletted GeoTIFF/COG as alpha and QGIS draws two bands as RGB, so confidence and probabilities
/// go to files of their own), the confidence raster and the probability raster when asked for,
/// and the map's QGIS style. The one owner of those files from creation to commit or abort.
final class MapOutputWriters {
    let map: ClassRasterWriter
    let confidence: RasterWriter?
    let probabilities: RasterWriter?
    private let legend: ClassLegend

    /// Opens the writers (temporary files beside `job.files`); the map is at patch resolution
    /// (one pixel per patch) in `patchResolution` mode.
    init(job: SceneJob, settings: ClassifierSettings, legend: ClassLegend, provenance: [String: String]) throws {
        self.legend = legend
        let factor = job.mode == .patchResolution ? job.tiler.patchSize : 1
        let map = try ClassRasterWriter(path: job.files.map, sourceGrid: job.scene.grid, factor: factor, legend: legend,
                                        format: settings.format, compression: settings.compression, provenance: provenance,
                                        creationOptions: settings.creationOptions)
        self.map = map
        let metadata = Dictionary(uniqueKeysWithValues: provenance.map { ("LANDCOVER_\($0.key.uppercased())", $0.value) })
        do {
            confidence = try job.files.confidence.map { path in
                var spec = RasterWriteSpec(
                    grid: map.grid, bandCount: 1, dataType: .byte, nodata: 255, bandDescriptions: ["confidence"],
                    format: settings.format, compression: settings.compression, metadata: metadata)
                spec.creationOptions = settings.creationOptions
                return try RasterWriter(path: path, spec: spec)
            }
        } catch {
            map.abort()
            throw error
        }
        do {
            probabilities = try job.files.probabilities.map { path in
                var spec = RasterWriteSpec(
                    grid: map.grid, bandCount: legend.names.count, dataType: .byte, nodata: Double(legend.nodataValue),
                    bandDescriptions: legend.names, format: settings.format, compression: settings.compression,
                    metadata: metadata)
                spec.creationOptions = settings.creationOptions
                return try RasterWriter(path: path, spec: spec)
            }
        } catch {
            map.abort()
            confidence?.abort()
            throw error
        }
    }

    /// The map's grid.
    var grid: SceneGrid { map.grid }

    /// Writes finished map rows: classes, confidence, one probability band per class.
    func write(_ rows: MapRows) throws {
        guard rows.rowCount > 0 else { return }
        let window = RasterWindow(column: 0, row: rows.firstRow, width: rows.width, height: rows.rowCount)
        try rows.classes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try map.writeClasses(window: window, values: base)
        }
        if let confidence {
            try rows.confidence.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                try confidence.write(band: 1, window: window, values: base)
            }
        }
        if let probabilities {
            let plane = rows.rowCount * rows.width
            try rows.probabilities.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                for c in 0..<legend.names.count {
                    try probabilities.write(band: c + 1, window: window, values: base + c * plane)
                }
            }
        }
    }

    /// After rows up to `end`: a finished row of output blocks leaves GDAL's cache (it would
    /// otherwise hold a whole row of 512x512 blocks until the end of the scene).
    func flushIfBlockRowDone(end: Int) throws {
        guard end > 0 && end % RasterWriter.blockSize == 0 else { return }
        try map.writer.flush()
        try confidence?.flush()
        try probabilities?.flush()
    }

    /// Applies the minimum mapping unit (regions of fewer than `minimumPixels` merged into their
    /// largest neighbour; class shares and the preview then describe the sieved map), commits the
    /// probabilities, confidence and map (in that order, the map last), and writes the style.
    /// - Returns: pixels per class with nodata last, and the files moved into place.
    func finish(histogram: [Int], minimumPixels: Int, eightConnected: Bool, preview: PreviewSampler,
                stylePath: String) throws -> (histogram: [Int], committed: [CommittedFile]) {
        var histogram = histogram
        if minimumPixels > 1 {
            try map.sieve(minimumPixels: minimumPixels, eightConnected: eightConnected)
            let k = legend.names.count, nodata = UInt16(legend.nodataValue), width = map.grid.width
            histogram = [Int](repeating: 0, count: k + 1)
            try map.forEachClassRows(RasterWriter.blockSize) { firstRow, values in
                for value in values { histogram[value == nodata || Int(value) >= k ? k : Int(value)] += 1 }
                preview.consume(firstRow: firstRow, rowCount: values.count / width, width: width, classes: values)
            }
        }
        var files = try probabilities?.commit() ?? []
        files += try confidence?.commit() ?? []
        files += try map.commit()
        try ClassStyle.writeRasterQML(legend: legend, to: stylePath)
        return (histogram, files)
    }

    /// Removes every unfinished file.
    func abort() {
        map.abort()
        confidence?.abort()
        probabilities?.abort()
    }
}

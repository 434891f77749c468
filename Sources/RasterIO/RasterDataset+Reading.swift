import CGDAL

extension RasterDataset {
    /// Reads a window of some bands as Float32, boundless.
    ///
    /// - Parameters:
    ///   - window: pixels to read in this raster's grid; parts outside the raster come back invalid.
    ///   - bands: 1-based band indices in the order wanted (default: all bands in file order).
    /// - Returns: a band-sequential buffer (see ``RasterBuffer``) with its validity mask.
    /// - Throws: ``RasterIOError`` naming this file when GDAL fails or a band index is out of range.
    public func read(window: RasterWindow, bands: [Int]? = nil) throws -> BandBuffer {
        let bandList = bands ?? self.bands.map(\.index)
        return try BandBuffer.filled(width: window.width, height: window.height, bandCount: bandList.count) { v, m in
            try read(window: window, bands: bandList, values: v, validity: m)
        }
    }

    /// Reads a window of some bands into caller-owned memory (no allocation; for streaming readers).
    ///
    /// - Parameters:
    ///   - window: pixels to read; parts outside the raster are filled with the band's nodata value
    ///     (0 when it has none) and marked invalid.
    ///   - bands: 1-based band indices, in output order.
    ///   - values: `bands.count * window.width * window.height` floats, band-sequential.
    ///   - validity: `window.width * window.height` bytes, set to 1 where every band is valid.
    ///     Pass the same mask to several reads to combine their validity: this call only clears
    ///     entries (it never sets a 0 back to 1) when `combine` is true.
    public func read(window: RasterWindow, bands: [Int], values: UnsafeMutablePointer<Float>,
                     validity: UnsafeMutablePointer<UInt8>, combine: Bool = false) throws {
        try readWindow(window: window, bands: bands, values: values, validity: validity, combine: combine)
    }

    /// True when every listed band (1-based) can be read as UInt16 samples without loss: Byte or
    /// UInt16 bands.
    public func canReadSamples(bands: [Int]) -> Bool {
        bands.allSatisfy { b in
            self.bands.indices.contains(b - 1) && (self.bands[b - 1].dataType == .uint16 || self.bands[b - 1].dataType == .byte)
        }
    }

    /// Reads a window of Byte or UInt16 bands as UInt16 samples into caller-owned memory: the same
    /// contract as the Float32 ``read(window:bands:values:validity:combine:)`` at half the memory
    /// and without conversion (raw digital numbers).
    ///
    /// - Throws: ``RasterIOError/unsupportedDataType(path:typeName:)`` when a band is of another
    ///   type (check ``canReadSamples(bands:)``), and the errors of the Float32 read.
    public func read(window: RasterWindow, bands: [Int], samples: UnsafeMutablePointer<UInt16>,
                     validity: UnsafeMutablePointer<UInt8>, combine: Bool = false) throws {
        for b in bands where self.bands.indices.contains(b - 1) {
            let type = self.bands[b - 1].dataType
            guard type == .uint16 || type == .byte else {
                throw RasterIOError.unsupportedDataType(path: path, typeName: "\(type.rawValue) (band \(b), read as UInt16 samples)")
            }
        }
        try readWindow(window: window, bands: bands, values: samples, validity: validity, combine: combine)
    }

    /// The Float32 and UInt16 reads: boundless window, band-sequential output, validity from
    /// nodata values, NaN and GDAL mask bands.
    private func readWindow<Sample: RasterSample>(window: RasterWindow, bands: [Int], values: UnsafeMutablePointer<Sample>,
                                                  validity: UnsafeMutablePointer<UInt8>, combine: Bool) throws {
        guard window.width > 0, window.height > 0 else {
            throw RasterIOError.invalidArgument("\(path): cannot read an empty \(window)")
        }
        for b in bands where !(1...max(self.bands.count, 1)).contains(b) || self.bands.isEmpty {
            throw RasterIOError.bandNotFound(band: "#\(b)", path: path, available: self.bands.map { $0.name ?? "#\($0.index)" })
        }
        let plane = window.width * window.height
        if !combine {
            validity.update(repeating: 1, count: plane)
        }
        guard let inside = window.intersection(fullWindow) else {
            for (i, b) in bands.enumerated() {
                (values + i * plane).update(repeating: fillValue(band: b), count: plane)
            }
            validity.update(repeating: 0, count: plane)
            return
        }
        // Fill the parts of the window that lie outside the raster.
        if inside != window {
            for (i, b) in bands.enumerated() {
                (values + i * plane).update(repeating: fillValue(band: b), count: plane)
            }
            for row in 0..<window.height {
                let y = window.row + row
                let rowInside = y >= inside.row && y < inside.rowEnd
                for col in 0..<window.width {
                    let x = window.column + col
                    if !rowInside || x < inside.column || x >= inside.columnEnd {
                        validity[row * window.width + col] = 0
                    }
                }
            }
        }
        // Read the inside part straight into place: plain tiled GeoTIFFs without GDAL, the rest through it.
        if DirectTileReader.handles(Sample.self), let direct = directTileReader() {
            try direct.read(inside: inside, window: window, bands: bands, values: values, fills: bands.map { fillValue(band: $0) })
            try markInvalid(window: window, inside: inside, bands: bands, values: values, validity: validity)
            return
        }
        let offset = (inside.row - window.row) * window.width + (inside.column - window.column)
        let size = MemoryLayout<Sample>.stride
        var bandMap = bands.map { Int32($0) }
        GDALCall.reset()
        let result = GDALDatasetRasterIOEx(handle, GF_Read, Int32(inside.column), Int32(inside.row),
                                           Int32(inside.width), Int32(inside.height), values + offset,
                                           Int32(inside.width), Int32(inside.height), Sample.rasterDataType.gdalType,
                                           Int32(bands.count), &bandMap, GSpacing(size), GSpacing(size * window.width),
                                           GSpacing(size * plane), nil)
        try GDALCall.check(result, "reading \(inside) of bands \(bands)", path: path)
        try markInvalid(window: window, inside: inside, bands: bands, values: values, validity: validity)
    }

    /// The value written into invalid pixels of `band`.
    func fillValue<Sample: RasterSample>(band: Int) -> Sample {
        bands[band - 1].nodata.flatMap { Sample.nodataSample($0) } ?? .zero
    }

    /// Clears validity where a band is nodata, NaN, or masked by GDAL's mask band (alpha or
    /// per-dataset masks).
    private func markInvalid<Sample: RasterSample>(window: RasterWindow, inside: RasterWindow, bands: [Int],
                                                   values: UnsafeMutablePointer<Sample>, validity: UnsafeMutablePointer<UInt8>) throws {
        let plane = window.width * window.height
        let firstColumn = inside.column - window.column, columns = inside.width
        var maskBuffer: [UInt8] = []
        var datasetMaskApplied = false
        for (i, b) in bands.enumerated() {
            guard let band = GDALGetRasterBand(handle, Int32(b)) else { continue }
            let flags = GDALGetMaskFlags(band)
            let info = self.bands[b - 1]
            let isFloat = info.dataType == .float32 || info.dataType == .float64
            let bandValues = values + i * plane
            if let nodata = info.nodata {
                // Branch-free so that it vectorizes; an unrepresentable nodata never matches.
                if let fill = Sample.nodataSample(nodata) {
                    for row in (inside.row - window.row)..<(inside.rowEnd - window.row) {
                        let v = bandValues + row * window.width + firstColumn
                        let m = validity + row * window.width + firstColumn
                        if isFloat {
                            for col in 0..<columns { m[col] &= (v[col] == fill || v[col].isNotANumber) ? 0 : 1 }
                        } else {
                            for col in 0..<columns { m[col] &= v[col] == fill ? 0 : 1 }
                        }
                    }
                }
            } else if isFloat {
                for row in (inside.row - window.row)..<(inside.rowEnd - window.row) {
                    let base = row * window.width
                    for col in firstColumn..<(firstColumn + columns) where bandValues[base + col].isNotANumber {
                        validity[base + col] = 0
                        bandValues[base + col] = .zero
                    }
                }
            }
            // Explicit masks (alpha band, per-dataset mask, .msk sidecar): read and apply them.
            if flags & GMF_ALL_VALID == 0 && flags & GMF_NODATA == 0,
               !(datasetMaskApplied && flags & GMF_PER_DATASET != 0), let maskBand = GDALGetMaskBand(band) {
                if maskBuffer.count != inside.pixelCount {
                    maskBuffer = [UInt8](repeating: 0, count: inside.pixelCount)
                }
                GDALCall.reset()
                let result = GDALRasterIO(maskBand, GF_Read, Int32(inside.column), Int32(inside.row),
                                          Int32(inside.width), Int32(inside.height), &maskBuffer,
                                          Int32(inside.width), Int32(inside.height), GDT_Byte, 0, 0)
                try GDALCall.check(result, "reading the mask of band \(b)", path: path)
                for row in 0..<inside.height {
                    let base = (row + inside.row - window.row) * window.width + firstColumn
                    for col in 0..<inside.width where maskBuffer[row * inside.width + col] == 0 {
                        validity[base + col] = 0
                    }
                }
                if flags & GMF_PER_DATASET != 0 { datasetMaskApplied = true }
            }
        }
    }
}

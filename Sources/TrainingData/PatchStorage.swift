/// Where a sample comes from.
public struct PatchLocation: Sendable, Equatable, Hashable, Codable {
    /// The scene name, or the patch file's path for folder datasets.
    public var source: String
    /// Scene pixel offset of the patch's top-left pixel: column (0 = left edge of the scene grid).
    public var column: Int
    /// Scene pixel offset of the patch's top-left pixel: row (0 = top edge of the scene grid).
    public var row: Int

    /// Creates a location.
    public init(source: String, column: Int, row: Int) {
        self.source = source
        self.column = column
        self.row = row
    }
}

/// The patches of a dataset, stored once and shared (copy-on-write) by its splits.
///
/// Raw DN are kept compactly: as `UInt16` while every valid value is an integer in 0...65535
/// (Sentinel-2 L1C/L2A products, EuroSAT), otherwise as `Float`. Per patch: `bands * size * size`
/// values band-sequential (`[(band * size + row) * size + column]`), `size * size` validity bytes
/// (1 = valid in every band; invalid pixels store 0), optionally `size * size` pixel classes
/// (255 = unlabelled), a patch class, a location and a split.
struct PatchStorage: Sendable {
    let bands: [String]
    let patchSize: Int
    private(set) var dn16: [UInt16] = []
    private(set) var dn32: [Float] = []
    private(set) var usesFloat = false
    private(set) var validity: [UInt8] = []
    /// Per-pixel classes (empty when the source has only patch labels).
    private(set) var pixelLabels: [UInt8] = []
    private(set) var labels: [Int] = []
    private(set) var locations: [PatchLocation] = []
    private(set) var splits: [DatasetSplit] = []

    init(bands: [String], patchSize: Int) {
        self.bands = bands
        self.patchSize = patchSize
    }

    var count: Int { labels.count }
    var pixelsPerPatch: Int { patchSize * patchSize }
    var valuesPerPatch: Int { bands.count * pixelsPerPatch }
    var hasPixelLabels: Bool { !pixelLabels.isEmpty }

    /// Appends a patch.
    /// - Parameters:
    ///   - value: the raw DN of (band, pixel index `row * size + column`).
    ///   - valid: validity of a pixel index.
    ///   - pixelLabel: class of a pixel index (255 = unlabelled), or nil for patch-only labels.
    mutating func append(value: (Int, Int) -> Float, valid: (Int) -> Bool, pixelLabel: ((Int) -> UInt8)?,
                         label: Int, location: PatchLocation, split: DatasetSplit) {
        let plane = pixelsPerPatch
        for i in 0..<plane { validity.append(valid(i) ? 1 : 0) }
        let validBase = validity.count - plane
        if !usesFloat {
            // Check that the patch fits UInt16 exactly; switch the whole store to Float if not.
            var fits = true
            check: for b in 0..<bands.count {
                for i in 0..<plane where validity[validBase + i] != 0 {
                    let v = value(b, i)
                    if !(v >= 0 && v <= 65535 && v == v.rounded()) { fits = false; break check }
                }
            }
            if !fits {
                dn32 = dn16.map { Float($0) }
                dn16 = []
                usesFloat = true
            }
        }
        for b in 0..<bands.count {
            for i in 0..<plane {
                let v: Float = validity[validBase + i] != 0 ? value(b, i) : 0
                if usesFloat { dn32.append(v) } else { dn16.append(UInt16(v)) }
            }
        }
        if let pixelLabel {
            for i in 0..<plane { pixelLabels.append(pixelLabel(i)) }
        }
        labels.append(label)
        locations.append(location)
        splits.append(split)
    }

    /// Raw DN of patch `patch`, band `band`, pixel index `pixel` (`row * size + column`).
    func value(patch: Int, band: Int, pixel: Int) -> Float {
        let index = patch * valuesPerPatch + band * pixelsPerPatch + pixel
        return usesFloat ? dn32[index] : Float(dn16[index])
    }

    func isValid(patch: Int, pixel: Int) -> Bool {
        validity[patch * pixelsPerPatch + pixel] != 0
    }

    func pixelLabel(patch: Int, pixel: Int) -> UInt8 {
        pixelLabels[patch * pixelsPerPatch + pixel]
    }

    /// The same patches with new splits (one per patch).
    func reassigningSplits(_ newSplits: [DatasetSplit]) -> PatchStorage {
        precondition(newSplits.count == count, "one split per stored patch")
        var copy = self
        copy.splits = newSplits
        return copy
    }

    /// Bytes held by the stored patches.
    var byteCount: Int {
        dn16.count * 2 + dn32.count * 4 + validity.count + pixelLabels.count + labels.count * 8
    }

    /// Copies patch `patch` into `buffer` (a `size` x `size` band-sequential window, see
    /// `RasterIO.BandBuffer`): the form the one layout conversion, Classification's
    /// `PatchTensorConverter`, takes.
    func copy(patch: Int, into values: inout [Float], validity mask: inout [UInt8]) {
        let base = patch * valuesPerPatch
        if usesFloat {
            for i in 0..<valuesPerPatch { values[i] = dn32[base + i] }
        } else {
            for i in 0..<valuesPerPatch { values[i] = Float(dn16[base + i]) }
        }
        let validBase = patch * pixelsPerPatch
        for i in 0..<pixelsPerPatch { mask[i] = validity[validBase + i] }
    }
}

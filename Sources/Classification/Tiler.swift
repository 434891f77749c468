import Config
import RasterIO

/// Cuts a scene grid into patch windows that cover every pixel.
///
/// Coordinates are pixels of the scene grid (column right, row down, origin at the top-left pixel).
/// Patches are `patchSize` x `patchSize`, placed every `stride` pixels from (0, 0); with
/// ``EdgePolicy/shift`` the last patch in each direction is moved to end at the edge. A scene
/// smaller than one patch gets one padded patch. The plan is grouped in rows of patches so that
/// a streaming reader can read one band of rows (with the patches' overlap) at a time.
public struct Tiler: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let patchSize: Int
    public let stride: Int
    public let edge: EdgePolicy

    /// - Throws: ``PipelineError/invalidValue(key:value:reason:)`` for non-positive sizes or a stride
    ///   larger than the patch (which would leave gaps).
    public init(width: Int, height: Int, patchSize: Int, stride: Int? = nil, edge: EdgePolicy = .shift) throws {
        let stride = stride ?? patchSize
        guard patchSize > 0 else { throw PipelineError.invalidValue(key: "tiling.patch_size", value: "\(patchSize)", reason: "must be a positive number of pixels") }
        guard stride > 0, stride <= patchSize else {
            throw PipelineError.invalidValue(key: "tiling.stride", value: "\(stride)", reason: "must be between 1 and the patch size (\(patchSize)), or patches would leave gaps")
        }
        guard width > 0, height > 0 else { throw PipelineError.invalidValue(key: "scene", value: "\(width)x\(height)", reason: "scene has no pixels") }
        self.width = width
        self.height = height
        self.patchSize = patchSize
        self.stride = stride
        self.edge = edge
    }

    /// Patch start offsets along one axis of length `length`.
    public func starts(length: Int) -> [Int] {
        if length <= patchSize { return [0] }
        var result: [Int] = []
        var position = 0
        while position + patchSize < length {
            result.append(position)
            position += stride
        }
        switch edge {
        case .pad:
            result.append(position)
        case .shift:
            let last = length - patchSize
            if result.last.map({ $0 < last }) ?? true { result.append(last) }
        }
        return result
    }

    /// Column offsets of the patches in a row.
    public var columnStarts: [Int] { starts(length: width) }
    /// Row offsets of the rows of patches.
    public var rowStarts: [Int] { starts(length: height) }

    /// Number of patches.
    public var patchCount: Int { columnStarts.count * rowStarts.count }

    /// The patches of row `rowIndex`, left to right.
    public func patches(inRow rowIndex: Int) -> [RasterWindow] {
        let top = rowStarts[rowIndex]
        return columnStarts.map { RasterWindow(column: $0, row: top, width: patchSize, height: patchSize) }
    }

    /// All patches, row by row.
    public var allPatches: [RasterWindow] { rowStarts.indices.flatMap { patches(inRow: $0) } }

    /// The window a row of patches reads (the union of its patches).
    public func readWindow(row rowIndex: Int) -> RasterWindow {
        let top = rowStarts[rowIndex]
        let right = (columnStarts.last ?? 0) + patchSize
        return RasterWindow(column: 0, row: top, width: max(right, width), height: patchSize)
    }
}

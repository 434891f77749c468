import CNN
import Foundation
import Classification
import Config
import RasterIO
import Training

/// Several datasets one after the other, as one ``Training/SampleSource``.
struct ConcatenatedSource: SampleSource {
    let parts: [PatchDataset]
    let offsets: [Int]

    init(_ parts: [PatchDataset]) {
        self.parts = parts
        var offsets: [Int] = [], total = 0
        for part in parts { offsets.append(total); total += part.count }
        self.offsets = offsets
        count = total
    }

    let count: Int

    func batch(indices: [Int]) throws -> TrainingBatch {
        var inputs: [Float] = []
        var targets: [Int32] = []
        var shape: [Int] = []
        for index in indices {
            guard index >= 0, index < count, let part = offsets.lastIndex(where: { $0 <= index }) else {
                throw TrainingDataError.sampleIndexOutOfRange(index: index, count: count)
            }
            let one = try parts[part].batch(indices: [index - offsets[part]])
            inputs += one.inputs.scalars
            targets += one.targets
            shape = one.inputs.shape
        }
        guard !shape.isEmpty else { return TrainingBatch(inputs: try Tensor(shape: [0, 1, 1, 1], scalars: []), targets: []) }
        shape[0] = indices.count
        return TrainingBatch(inputs: try Tensor(shape: shape, scalars: inputs), targets: targets)
    }
}

extension TrainingRun {
    /// Writes the labels of the training file's scene rasterized on its grid (band 1 `label`:
    /// class index, 255 unlabelled) and the spatial split of every pixel (band 2 `split`:
    /// 0 train, 1 validation, 2 test), as a GeoTIFF on the scene grid, so that other tools
    /// (`scripts/baseline_random_forest.py`) use exactly the same labels and split.
    ///
    /// The split band gives each pixel's region (``SpatialSplit/region(column:row:width:height:)``);
    /// it does not mark the buffer around regions: tools that train on pixels should keep away
    /// from the other regions by the split's buffer themselves (the band's metadata
    /// `LANDCOVER_SPLIT_BUFFER` gives it, in pixels).
    /// - Parameter sceneIndex: which scene of `data.scenes`.
    /// - Throws: ``TrainingFileError`` for folder data or a scene index out of range; raster errors.
    public func exportLabels(to path: String, sceneIndex: Int = 0) throws {
        guard case .scenes(let scenes) = file.data else {
            throw TrainingFileError.invalidValue(file: file.source, key: "data.folder", value: "", reason: "holds patches, not a scene; labels can be exported for data.scenes only")
        }
        guard scenes.indices.contains(sceneIndex) else {
            throw TrainingFileError.invalidValue(file: file.source, key: "data.scenes", value: "\(scenes.count) scenes", reason: "has no scene \(sceneIndex)")
        }
        let sceneData = scenes[sceneIndex]
        let scene = try Scene.assemble(inputs: sceneData.inputs, options: sceneOptions)
        let grid = scene.grid
        let labels = try labelSource(sceneData.labels, grid: grid)
        let buffer = file.split.buffer ?? file.sampling.patchSize
        let names = file.classNames.enumerated().map { "\($0.offset)=\($0.element)" }.joined(separator: ",")
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(
            grid: grid, bandCount: 2, dataType: .byte, nodata: Double(LabelValue.unlabelled), bandDescriptions: ["label", "split"],
            format: .gtiff, compression: .deflate,
            metadata: ["LANDCOVER_CLASSES": names, "LANDCOVER_SPLIT": "0=train,1=validation,2=test",
                       "LANDCOVER_SPLIT_BUFFER": "\(buffer)", "LANDCOVER_LABELS": labels.sourceDescription]))
        var committed = false
        defer { if !committed { writer.abort() } }
        let rows = max(1, (16 << 20) / max(1, grid.width))
        var row = 0
        while row < grid.height {
            let window = RasterWindow(column: 0, row: row, width: grid.width, height: min(rows, grid.height - row))
            let values = try labels.labels(window: window).map { Int($0) < file.legend.count ? $0 : LabelValue.unlabelled }
            var parts = [UInt8](repeating: 0, count: window.pixelCount)
            for r in 0..<window.height {
                for c in 0..<window.width {
                    let split = file.split.region(column: c, row: row + r, width: grid.width, height: grid.height)
                    parts[r * window.width + c] = split == .train ? 0 : (split == .validation ? 1 : 2)
                }
            }
            try writer.write(band: 1, window: window, values: values)
            try writer.write(band: 2, window: window, values: parts)
            row += window.height
        }
        try writer.commit()
        committed = true
    }
}

import CNN
import Foundation
import RasterIO

/// Small scenes, models and pipeline files for the Config, Classification, Products and BatchRun
/// tests: a 13-band UInt16 scene with smooth "land cover", patch and segmentation models with a
/// landcover contract.
public enum PipelineFixtures {
    public static let bands = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
    public static let classNames = ["water", "forest", "cropland", "built-up"]
    public static let colors: [ModelContract.Color] = [.init(red: 0, green: 100, blue: 200), .init(red: 0, green: 100, blue: 0),
                                                .init(red: 240, green: 150, blue: 255), .init(red: 250, green: 0, blue: 0)]

    /// A 13-band UInt16 scene (band descriptions B01..B12) with smooth, spatially varying
    /// "land cover"; DN 0 (nodata) where `isNodata(column, row)` holds.
    public static func writeScene(_ path: String, width: Int, height: Int,
                           isNodata: (Int, Int) -> Bool = { _, _ in false }) throws {
        let grid = SceneGrid(width: width, height: height,
                             geoTransform: GeoTransform(originX: 399_960, pixelWidth: 10, rowRotation: 0,
                                                        originY: 5_300_040, columnRotation: 0, pixelHeight: -10),
                             spatialReference: try SpatialReference("EPSG:32633"))
        let writer = try RasterWriter(path: path, spec: RasterWriteSpec(grid: grid, bandCount: bands.count, dataType: .uint16,
                                                                         nodata: 0, bandDescriptions: bands))
        for (b, _) in bands.enumerated() {
            var values = [UInt16](repeating: 0, count: width * height)
            for y in 0..<height {
                for x in 0..<width {
                    if isNodata(x, y) { continue }
                    let u = sin(Double(x) / 23 + Double(b)) * cos(Double(y) / 17 - Double(b) * 0.5)
                    let v = sin(Double(x + 2 * y) / 41 + Double(b) * 0.3)
                    values[y * width + x] = UInt16(max(1, min(60000, 1500 + 900 * u + 600 * v + Double((x * 7 + y * 13 + b) % 11) * 10)))
                }
            }
            try writer.write(band: b + 1, window: RasterWindow(width: width, height: height), values: values)
        }
        try writer.commit()
    }

    /// Deterministic pseudo-random weights in [-scale, scale].
    public static func weights(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// A small ONNX model with a landcover contract: a patch classifier (conv, ReLU, global
    /// average pool, dense) or a fully convolutional segmentation model (two 3x3 convs, 1x1 head;
    /// with `pointwise`, 1x1 convs only: each output pixel depends on its own input pixel alone,
    /// so the model commutes exactly with flips and rotations of the patch).
    public static func writeModel(_ path: String, patchSize: Int, segmentation: Bool = false, pointwise: Bool = false,
                                  output: ModelContract.OutputKind = .logits) throws {
        let k = classNames.count, c = bands.count, hidden = 8
        func conv(_ input: String, _ output: String, _ name: String, cin: Int, cout: Int, kernel: Int, seed: UInt64, scale: Float = 1.5) -> (ONNXNode, [ONNXTensor]) {
            let w = ONNXTensor(name: "\(name).weight", dimensions: [cout, cin, kernel, kernel],
                               floats: weights(cout * cin * kernel * kernel, seed: seed, scale: scale / Float(cin * kernel)))
            let b = ONNXTensor(name: "\(name).bias", dimensions: [cout], floats: weights(cout, seed: seed + 1, scale: 0.1))
            let pad = Int64(kernel / 2)
            let node = ONNXNode(operatorType: "Conv", inputs: [input, w.name, b.name], outputs: [output], name: name,
                                attributes: [ONNXAttribute(name: "kernel_shape", value: .ints([Int64(kernel), Int64(kernel)])),
                                             ONNXAttribute(name: "pads", value: .ints([pad, pad, pad, pad]))])
            return (node, [w, b])
        }
        var nodes: [ONNXNode] = [], initializers: [ONNXTensor] = []
        let spatial = pointwise ? 1 : 3
        let (c1, i1) = conv("input", "c1", "conv1", cin: c, cout: hidden, kernel: spatial, seed: 11)
        nodes += [c1, ONNXNode(operatorType: "Relu", inputs: ["c1"], outputs: ["r1"])]
        initializers += i1
        let outputShape: [ONNXValueInfo.Dimension]
        if segmentation {
            let (c2, i2) = conv("r1", "c2", "conv2", cin: hidden, cout: hidden, kernel: spatial, seed: 21)
            let (c3, i3) = conv("r2", "logits", "head", cin: hidden, cout: k, kernel: 1, seed: 31, scale: 12)
            nodes += [c2, ONNXNode(operatorType: "Relu", inputs: ["c2"], outputs: ["r2"]), c3]
            initializers += i2 + i3
            outputShape = [.parameter("N"), .value(Int64(k)), .parameter("H"), .parameter("W")]
        } else {
            let w = ONNXTensor(name: "fc.weight", dimensions: [k, hidden], floats: weights(k * hidden, seed: 41, scale: 2))
            let b = ONNXTensor(name: "fc.bias", dimensions: [k], floats: weights(k, seed: 42, scale: 0.2))
            nodes += [ONNXNode(operatorType: "GlobalAveragePool", inputs: ["r1"], outputs: ["g"]),
                      ONNXNode(operatorType: "Flatten", inputs: ["g"], outputs: ["f"]),
                      ONNXNode(operatorType: "Gemm", inputs: ["f", w.name, b.name], outputs: ["logits"],
                               attributes: [ONNXAttribute(name: "transB", value: .int(1))])]
            initializers += [w, b]
            outputShape = [.parameter("N"), .value(Int64(k))]
        }
        if output == .probabilities {
            nodes.append(ONNXNode(operatorType: "Softmax", inputs: ["logits"], outputs: ["probabilities"],
                                  attributes: [ONNXAttribute(name: "axis", value: .int(1))]))
        }
        let inputShape: [ONNXValueInfo.Dimension] = segmentation
            ? [.parameter("N"), .value(Int64(c)), .parameter("H"), .parameter("W")]
            : [.parameter("N"), .value(Int64(c)), .value(Int64(patchSize)), .value(Int64(patchSize))]
        let graph = ONNXGraph(name: "test", nodes: nodes, initializers: initializers,
                              inputs: [ONNXValueInfo(name: "input", shape: inputShape)],
                              outputs: [ONNXValueInfo(name: output == .probabilities ? "probabilities" : "logits", shape: outputShape)])
        let contract = ModelContract(task: segmentation ? .segmentation : .patchClassification, bands: bands,
                                     normalization: .meanStd(mean: [Float](repeating: 1500, count: c), std: [Float](repeating: 700, count: c)),
                                     patchSize: patchSize, classNames: classNames, classColors: colors, output: output)
        try ONNXModel(graph: graph, metadataProps: contract.metadataEntries).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a pipeline file and returns its path.
    public static func writePipeline(in folder: URL, _ text: String) throws -> String {
        let path = folder.appendingPathComponent("pipeline.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Reads band `band` (1-based) of a written map as integers.
    public static func readBand(_ path: String, band: Int = 1) throws -> (values: [Int], width: Int, height: Int) {
        let dataset = try RasterDataset(path: path)
        let buffer = try dataset.read(window: RasterWindow(width: dataset.width, height: dataset.height), bands: [band])
        return (buffer.values.map { Int($0) }, dataset.width, dataset.height)
    }
}

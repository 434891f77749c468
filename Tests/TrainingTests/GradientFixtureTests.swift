import CNN
import Foundation
import Testing
import Training

/// Parameter gradients of small networks on one seeded batch against fixtures computed by an
/// earlier implementation of the layers (Tests/TrainingTests/Fixtures/gradients-<name>.npy, every
/// parameter's gradient concatenated in ``Network/parameters`` order). A change of the forward or
/// backward kernels must keep every element within `1e-4` relative error (of the largest
/// magnitude of the parameter's gradient, below which float rounding of sums dominates).
///
/// The fixtures were recorded before Training's forward passes moved onto CNN's operators
/// (`LANDCOVER_RECORD_GRADIENTS=1 swift test --filter GradientFixtureTests` rewrites them; do
/// that only for a deliberate change of the networks or of the batch).
@Suite struct GradientFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Networks covering every trainable operator the model zoo uses: Conv (3x3 Winograd-sized
    /// and not, strided, 1x1), ConvTranspose, BatchNormalization, ReLU, max and global average
    /// pooling, Resize (nearest and bilinear), Concat, Add, Flatten, Gemm, Dropout.
    static func network(_ name: String) throws -> (Network, [Int]) {
        switch name {
        case "vgg":
            return (try ModelZoo.vgg(inputChannels: 5, classes: 4, widths: [8, 16], dropout: 0.25, seed: 11), [20, 5, 16, 16])
        case "unet-transposed":
            return (try ModelZoo.unet(inputChannels: 3, classes: 3, baseChannels: 4, depth: 2, seed: 12), [3, 3, 16, 16])
        case "unet-nearest":
            return (try ModelZoo.unet(inputChannels: 3, classes: 3, baseChannels: 4, depth: 2, upsampling: .resize(.nearest), seed: 13),
                    [3, 3, 16, 12])
        case "unet-bilinear":
            return (try ModelZoo.unet(inputChannels: 3, classes: 3, baseChannels: 4, depth: 2, upsampling: .resize(.linear), seed: 14),
                    [3, 3, 12, 16])
        default:
            // Residual blocks with a strided downsample, as ResNet-18's, at a small width.
            let b = NetworkBuilder(inputChannels: 4, seed: 15)
            var x = try b.relu(try b.batchNormalization(try b.conv(b.input, name: "stem", outputChannels: 8, kernel: 3, padding: 1, bias: false),
                                                        name: "stem.bn"), name: "stem.relu")
            var y = try b.conv(x, name: "block.conv1", outputChannels: 16, kernel: 3, stride: 2, padding: 1, bias: false)
            y = try b.relu(try b.batchNormalization(y, name: "block.bn1"), name: "block.relu1")
            y = try b.batchNormalization(try b.conv(y, name: "block.conv2", outputChannels: 16, kernel: 3, padding: 1, bias: false), name: "block.bn2")
            let shortcut = try b.batchNormalization(try b.conv(x, name: "block.down", outputChannels: 16, kernel: 1, stride: 2, bias: false),
                                                    name: "block.down.bn")
            x = try b.relu(try b.add(y, shortcut, name: "block.add"), name: "block.relu2")
            x = try b.maxPool(x, name: "pool", kernel: 3, stride: 2, padding: 1)
            x = try b.flatten(try b.globalAveragePool(x, name: "gap"), name: "flatten")
            _ = try b.gemm(x, name: "fc", outputFeatures: 5)
            return (try b.build(), [18, 4, 16, 16])
        }
    }

    /// Gradients of the batch's mean loss for every parameter, concatenated.
    static func gradients(_ name: String) throws -> [Float] {
        let (network, shape) = try network(name)
        let options = CrossEntropyOptions(ignoreIndex: 255)
        let batch = try GradientCheck.batch(for: network, inputShape: shape, options: options, seed: 21)
        _ = try network.accumulateGradients(for: batch, loss: options, workers: 2)
        return network.parameters.flatMap(\.gradient)
    }

    @Test(arguments: ["vgg", "unet-transposed", "unet-nearest", "unet-bilinear", "residual"])
    func gradientsMatchTheRecordedImplementation(_ name: String) throws {
        let url = Self.fixtures.appendingPathComponent("gradients-\(name).npy")
        let actual = try Self.gradients(name)
        if ProcessInfo.processInfo.environment["LANDCOVER_RECORD_GRADIENTS"] == "1" {
            try FileManager.default.createDirectory(at: Self.fixtures, withIntermediateDirectories: true)
            try NumpyFile.write(.float32(try Tensor(shape: [actual.count], scalars: actual)), to: url)
            return
        }
        let expected = try NumpyFile.read(contentsOf: url).floatTensor.scalars
        try #require(expected.count == actual.count, "\(name): \(actual.count) gradient values, fixture has \(expected.count)")
        let (network, _) = try Self.network(name)
        var offset = 0
        for parameter in network.parameters {
            let range = offset..<(offset + parameter.count)
            offset += parameter.count
            let scale = max(expected[range].map(abs).max() ?? 0, 1e-12)
            let worst = range.map { abs(actual[$0] - expected[$0]) }.max() ?? 0
            #expect(Double(worst) <= 1e-4 * Double(scale),
                    "\(name) \(parameter.name): largest difference \(worst) against gradient magnitude \(scale)")
        }
    }
}

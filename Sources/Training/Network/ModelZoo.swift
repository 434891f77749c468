/// Seeded, He-initialized reference architectures (see ``NetworkBuilder`` for initialization
/// and naming). Inputs are NCHW Float32 `[N, inputChannels, H, W]`; classifiers output logits
/// `[N, classes]`, the U-Net `[N, classes, H, W]`.
public enum ModelZoo {
    /// How the U-Net decoder doubles the resolution.
    public enum Upsampling: Sendable, Equatable {
        /// `ConvTranspose` 2x2, stride 2.
        case transposedConvolution
        /// `Resize` x2 (nearest, or bilinear with `pytorch_half_pixel`) followed by a 1x1 `Conv`.
        case resize(ResizeAttributes.Mode)
    }

    /// LeNet-5 style: conv5x5(6)-ReLU-maxpool2-conv5x5(16)-ReLU-maxpool2-Flatten-Gemm(120)-ReLU-
    /// Gemm(84)-ReLU-Gemm(classes). The flattened size depends on `patchSize`, so the network
    /// accepts only `patchSize` x `patchSize` inputs.
    public static func leNet(inputChannels: Int, classes: Int, patchSize: Int = 32, seed: UInt64) throws -> Network {
        let b = NetworkBuilder(inputChannels: inputChannels, inputHeight: patchSize, inputWidth: patchSize, seed: seed)
        var x = try b.relu(try b.conv(b.input, name: "conv1", outputChannels: 6, kernel: 5), name: "relu1")
        x = try b.maxPool(x, name: "pool1", kernel: 2, stride: 2)
        x = try b.relu(try b.conv(x, name: "conv2", outputChannels: 16, kernel: 5), name: "relu2")
        x = try b.maxPool(x, name: "pool2", kernel: 2, stride: 2)
        x = try b.flatten(x, name: "flatten")
        x = try b.relu(try b.gemm(x, name: "fc1", outputFeatures: 120), name: "relu3")
        x = try b.relu(try b.gemm(x, name: "fc2", outputFeatures: 84), name: "relu4")
        _ = try b.gemm(x, name: "fc3", outputFeatures: classes)
        return try b.build()
    }

    /// The small CNN of `benchmarks/engine.py` (`small_cnn()`): conv3x3(32)-ReLU-maxpool2x2-
    /// conv3x3(64)-ReLU-maxpool2x2-conv3x3(128)-ReLU-GlobalAveragePool-Flatten-Gemm(classes),
    /// 3x3 convolutions with padding 1. With `batchNormalization`, each convolution (then without
    /// bias) is followed by BatchNormalization before its ReLU. Node names: `conv1`...`conv3`,
    /// `bn1`...`bn3`, `relu1`..., `pool1`, `pool2`, `gap`, `flatten`, `fc`.
    public static func smallCNN(inputChannels: Int = 13, classes: Int = 10, batchNormalization: Bool = false,
                                seed: UInt64) throws -> Network {
        let b = NetworkBuilder(inputChannels: inputChannels, seed: seed)
        var x = b.input
        for (index, width) in [32, 64, 128].enumerated() {
            let n = index + 1
            x = try b.conv(x, name: "conv\(n)", outputChannels: width, kernel: 3, padding: 1, bias: !batchNormalization)
            if batchNormalization { x = try b.batchNormalization(x, name: "bn\(n)") }
            x = try b.relu(x, name: "relu\(n)")
            if n < 3 { x = try b.maxPool(x, name: "pool\(n)", kernel: 2, stride: 2) }
        }
        x = try b.flatten(try b.globalAveragePool(x, name: "gap"), name: "flatten")
        _ = try b.gemm(x, name: "fc", outputFeatures: classes)
        return try b.build()
    }

    /// A small VGG-style CNN: stages of two conv3x3-BatchNormalization-ReLU blocks (`widths`,
    /// default 32, 64, 128) each followed by maxpool 2x2, then GlobalAveragePool-Flatten-
    /// Gemm(128)-ReLU-Dropout(`dropout`)-Gemm(classes). Names: `features.<stage>.<block>.conv`,
    /// `.bn`, `.relu`, `features.<stage>.pool`, `classifier.0`, `classifier.dropout`, `classifier.1`.
    public static func vgg(inputChannels: Int, classes: Int, widths: [Int] = [32, 64, 128], dropout: Float = 0.5,
                           seed: UInt64) throws -> Network {
        let b = NetworkBuilder(inputChannels: inputChannels, seed: seed)
        var x = b.input
        for (stage, width) in widths.enumerated() {
            for block in 0..<2 {
                let prefix = "features.\(stage).\(block)"
                x = try b.conv(x, name: prefix + ".conv", outputChannels: width, kernel: 3, padding: 1, bias: false)
                x = try b.batchNormalization(x, name: prefix + ".bn")
                x = try b.relu(x, name: prefix + ".relu")
            }
            x = try b.maxPool(x, name: "features.\(stage).pool", kernel: 2, stride: 2)
        }
        x = try b.flatten(try b.globalAveragePool(x, name: "avgpool"), name: "flatten")
        x = try b.relu(try b.gemm(x, name: "classifier.0", outputFeatures: 128), name: "classifier.relu")
        x = try b.dropout(x, name: "classifier.dropout", ratio: dropout)
        _ = try b.gemm(x, name: "classifier.1", outputFeatures: classes)
        return try b.build()
    }

    /// ResNet-18 (torchvision layout, as `resnet18()` of `benchmarks/engine.py`) for
    /// `inputChannels` bands: conv7x7/2(64, no bias)-BN-ReLU-maxpool3x3/2 (pad 1), four stages of
    /// two BasicBlocks (64, 128, 256, 512 channels; stride 2 and a 1x1 conv + BN downsample at the
    /// start of stages 2-4), GlobalAveragePool-Flatten-Gemm(classes). Names follow the torchvision
    /// state dict: `conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.bn1`, `layer1.0.conv2`,
    /// `layer1.0.bn2`, `layer2.0.downsample.0`, `layer2.0.downsample.1`, ..., `fc`.
    public static func resnet18(inputChannels: Int, classes: Int, seed: UInt64) throws -> Network {
        let b = NetworkBuilder(inputChannels: inputChannels, seed: seed)
        var x = try b.conv(b.input, name: "conv1", outputChannels: 64, kernel: 7, stride: 2, padding: 3, bias: false)
        x = try b.relu(try b.batchNormalization(x, name: "bn1"), name: "relu")
        x = try b.maxPool(x, name: "maxpool", kernel: 3, stride: 2, padding: 1)
        var channels = 64
        for (stage, width) in [64, 128, 256, 512].enumerated() {
            for block in 0..<2 {
                let prefix = "layer\(stage + 1).\(block)"
                let stride = stage > 0 && block == 0 ? 2 : 1
                var y = try b.conv(x, name: prefix + ".conv1", outputChannels: width, kernel: 3, stride: stride, padding: 1, bias: false)
                y = try b.relu(try b.batchNormalization(y, name: prefix + ".bn1"), name: prefix + ".relu1")
                y = try b.conv(y, name: prefix + ".conv2", outputChannels: width, kernel: 3, padding: 1, bias: false)
                y = try b.batchNormalization(y, name: prefix + ".bn2")
                var shortcut = x
                if stride != 1 || channels != width {
                    shortcut = try b.conv(x, name: prefix + ".downsample.0", outputChannels: width, kernel: 1, stride: stride, bias: false)
                    shortcut = try b.batchNormalization(shortcut, name: prefix + ".downsample.1")
                }
                x = try b.relu(try b.add(y, shortcut, name: prefix + ".add"), name: prefix + ".relu2")
                channels = width
            }
        }
        x = try b.flatten(try b.globalAveragePool(x, name: "avgpool"), name: "flatten")
        _ = try b.gemm(x, name: "fc", outputFeatures: classes)
        return try b.build()
    }

    /// A small U-Net for segmentation (logits `[N, classes, H, W]`, H and W multiples of
    /// 2^`depth`): encoder stages of two conv3x3-BN-ReLU blocks (`baseChannels` doubling per
    /// level) separated by maxpool 2x2, a bottleneck, and a decoder that upsamples
    /// (`upsampling`), concatenates the encoder's skip connection on the channel axis and applies
    /// two conv3x3-BN-ReLU blocks; a final 1x1 `Conv` named `head` gives the class logits.
    /// Names: `down<level>.conv1`, `down<level>.bn1`, ..., `pool<level>`, `bottleneck.conv1`,
    /// `up<level>` (upsampling), `cat<level>`, `dec<level>.conv1`, ..., `head`.
    public static func unet(inputChannels: Int, classes: Int, baseChannels: Int = 16, depth: Int = 2,
                            upsampling: Upsampling = .transposedConvolution, seed: UInt64) throws -> Network {
        let b = NetworkBuilder(inputChannels: inputChannels, seed: seed)
        func block(_ input: String, _ prefix: String, _ width: Int) throws -> String {
            var x = input
            for i in 1...2 {
                x = try b.conv(x, name: "\(prefix).conv\(i)", outputChannels: width, kernel: 3, padding: 1, bias: false)
                x = try b.relu(try b.batchNormalization(x, name: "\(prefix).bn\(i)"), name: "\(prefix).relu\(i)")
            }
            return x
        }
        var x = b.input
        var skips = [String]()
        for level in 0..<depth {
            x = try block(x, "down\(level + 1)", baseChannels << level)
            skips.append(x)
            x = try b.maxPool(x, name: "pool\(level + 1)", kernel: 2, stride: 2)
        }
        x = try block(x, "bottleneck", baseChannels << depth)
        for level in stride(from: depth - 1, through: 0, by: -1) {
            let width = baseChannels << level
            switch upsampling {
            case .transposedConvolution:
                x = try b.convTranspose(x, name: "up\(level + 1)", outputChannels: width, kernel: 2, stride: 2)
            case .resize(let mode):
                let attributes = mode == .nearest ? ResizeAttributes()
                    : ResizeAttributes(mode: .linear, coordinateTransformation: "pytorch_half_pixel")
                x = try b.resize(x, name: "up\(level + 1).resize", attributes: attributes)
                x = try b.conv(x, name: "up\(level + 1)", outputChannels: width, kernel: 1)
            }
            x = try b.concat([x, skips[level]], name: "cat\(level + 1)")
            x = try block(x, "dec\(level + 1)", width)
        }
        _ = try b.conv(x, name: "head", outputChannels: classes, kernel: 1)
        return try b.build()
    }
}

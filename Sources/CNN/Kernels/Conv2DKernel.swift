/// A 2-D convolution with a fused epilogue (bias, residual, activation), on NCHW Float32.
///
/// Weights are packed once at init; the kernel is immutable afterwards, so one instance can be
/// shared by every thread. `run` is single-threaded and processes each image of the batch
/// independently: an image's output bits never depend on the batch size or the other images.
///
/// ### See Also
/// - ``Conv2DShape``
/// - ``FusedActivation``
public final class Conv2DKernel: Sendable {
    /// The convolution geometry.
    public let shape: Conv2DShape
    /// The activation applied after bias and residual.
    public let activation: FusedActivation
    private let weights: [Float]
    private let bias: [Float]

    /// Creates a kernel and packs its weights.
    ///
    /// - Parameters:
    ///   - shape: geometry; `groups` must divide both channel counts.
    ///   - weights: OIHW `[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]`.
    ///   - bias: `[outputChannels]`, or nil for zero bias.
    ///   - activation: applied after bias and residual.
    public init(shape: Conv2DShape, weights: [Float], bias: [Float]?, activation: FusedActivation) {
        precondition(shape.groups >= 1 && shape.inputChannels % shape.groups == 0
                     && shape.outputChannels % shape.groups == 0,
                     "Conv2DKernel: groups must divide input and output channels")
        precondition(shape.kernelHeight >= 1 && shape.kernelWidth >= 1 && shape.strideHeight >= 1
                     && shape.strideWidth >= 1 && shape.dilationHeight >= 1 && shape.dilationWidth >= 1,
                     "Conv2DKernel: kernel, stride and dilation must be positive")
        precondition(weights.count == shape.outputChannels * shape.inputChannelsPerGroup
                     * shape.kernelHeight * shape.kernelWidth, "Conv2DKernel: weight count mismatch")
        precondition(bias == nil || bias?.count == shape.outputChannels, "Conv2DKernel: bias count mismatch")
        self.shape = shape
        self.activation = activation
        self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: shape.outputChannels)
    }

    /// Output spatial size for an input of `height` x `width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        shape.outputSize(height: height, width: width)
    }

    /// Floats of scratch memory one `run` call needs at this input size (per call, not per
    /// batch item).
    public func scratchCount(height: Int, width: Int) -> Int { 0 }

    /// Runs the convolution.
    ///
    /// - Parameters:
    ///   - input: `[batch, inputChannels, height, width]`.
    ///   - output: `[batch, outputChannels, oh, ow]` with `(oh, ow) = outputSize(height:width:)`.
    ///   - residual: nil, or a tensor of the output's shape added after bias, before activation.
    ///     It may alias `output`.
    ///   - scratch: at least `scratchCount(height:width:)` floats, not shared with other threads.
    public func run(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                    output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                    scratch: UnsafeMutablePointer<Float>) {
        let s = shape
        let (outputHeight, outputWidth) = outputSize(height: height, width: width)
        precondition(outputHeight >= 1 && outputWidth >= 1, "Conv2DKernel: input smaller than kernel")
        let inputPerGroup = s.inputChannelsPerGroup
        let outputPerGroup = s.outputChannelsPerGroup
        weights.withUnsafeBufferPointer { weightBuffer in
            bias.withUnsafeBufferPointer { biasBuffer in
                for image in 0..<batch {
                    let imageInput = input + image * s.inputChannels * height * width
                    let imageOffset = image * s.outputChannels * outputHeight * outputWidth
                    for outputChannel in 0..<s.outputChannels {
                        let group = outputChannel / outputPerGroup
                        for outputRow in 0..<outputHeight {
                            for outputColumn in 0..<outputWidth {
                                var sum: Float = 0
                                for channel in 0..<inputPerGroup {
                                    let plane = imageInput + (group * inputPerGroup + channel) * height * width
                                    for kernelRow in 0..<s.kernelHeight {
                                        let row = outputRow * s.strideHeight - s.padTop + kernelRow * s.dilationHeight
                                        if row < 0 || row >= height { continue }
                                        for kernelColumn in 0..<s.kernelWidth {
                                            let column = outputColumn * s.strideWidth - s.padLeft
                                                + kernelColumn * s.dilationWidth
                                            if column < 0 || column >= width { continue }
                                            let weightIndex = ((outputChannel * inputPerGroup + channel)
                                                * s.kernelHeight + kernelRow) * s.kernelWidth + kernelColumn
                                            sum += plane[row * width + column] * weightBuffer[weightIndex]
                                        }
                                    }
                                }
                                let index = imageOffset + (outputChannel * outputHeight + outputRow) * outputWidth + outputColumn
                                var value = sum + biasBuffer[outputChannel]
                                if let residual { value += residual[index] }
                                output[index] = activation.apply(value)
                            }
                        }
                    }
                }
            }
        }
    }
}

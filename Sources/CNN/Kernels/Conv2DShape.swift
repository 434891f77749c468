/// The static geometry of a 2-D convolution (ONNX `Conv` attributes plus channel counts).
///
/// Tensors are NCHW Float32. Weights are OIHW: `[outputChannels, inputChannels / groups,
/// kernelHeight, kernelWidth]`. Padding is in pixels, added on each side before the kernel
/// slides with the given stride; dilation spaces the kernel taps (1 = dense).
///
/// ### See Also
/// - ``Conv2DKernel``
public struct Conv2DShape: Sendable, Hashable {
    /// Channels of the input tensor (C of NCHW).
    public var inputChannels: Int
    /// Channels of the output tensor.
    public var outputChannels: Int
    /// Kernel rows.
    public var kernelHeight: Int
    /// Kernel columns.
    public var kernelWidth: Int
    /// Vertical step between output rows, in input pixels.
    public var strideHeight: Int
    /// Horizontal step between output columns, in input pixels.
    public var strideWidth: Int
    /// Vertical spacing of kernel taps, in input pixels (1 = adjacent).
    public var dilationHeight: Int
    /// Horizontal spacing of kernel taps, in input pixels (1 = adjacent).
    public var dilationWidth: Int
    /// Zero rows added above the input.
    public var padTop: Int
    /// Zero columns added left of the input.
    public var padLeft: Int
    /// Zero rows added below the input.
    public var padBottom: Int
    /// Zero columns added right of the input.
    public var padRight: Int
    /// Channel groups: input and output channels are split into `groups` independent blocks.
    /// `groups == inputChannels == outputChannels` is a depthwise convolution.
    public var groups: Int

    /// Creates a convolution geometry; every field defaults to the ONNX default except the
    /// channel counts and kernel size.
    public init(inputChannels: Int, outputChannels: Int, kernelHeight: Int, kernelWidth: Int,
                strideHeight: Int = 1, strideWidth: Int = 1,
                dilationHeight: Int = 1, dilationWidth: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0,
                groups: Int = 1) {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.dilationHeight = dilationHeight
        self.dilationWidth = dilationWidth
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        self.groups = groups
    }

    /// Output spatial size for an input of `height` x `width` pixels (floor division, as ONNX).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let effectiveHeight = dilationHeight * (kernelHeight - 1) + 1
        let effectiveWidth = dilationWidth * (kernelWidth - 1) + 1
        let outputHeight = (height + padTop + padBottom - effectiveHeight) / strideHeight + 1
        let outputWidth = (width + padLeft + padRight - effectiveWidth) / strideWidth + 1
        return (outputHeight, outputWidth)
    }

    /// Input channels seen by one output channel (`inputChannels / groups`).
    public var inputChannelsPerGroup: Int { inputChannels / groups }
    /// Output channels produced by one group (`outputChannels / groups`).
    public var outputChannelsPerGroup: Int { outputChannels / groups }

    /// Multiply-adds times two for one image of `height` x `width` pixels (bias excluded).
    public func flops(height: Int, width: Int) -> Int {
        let size = outputSize(height: height, width: width)
        return 2 * size.height * size.width * outputChannels * inputChannelsPerGroup
            * kernelHeight * kernelWidth
    }
}

"""Whole-network fixtures, laid out the way torch.onnx.export (eval mode, no constant folding of
BatchNorm) writes them: Conv -> BatchNormalization -> Relu, nn.Linear as Gemm(transB=1),
flatten as Flatten or Shape->Gather->Unsqueeze->Concat->Reshape, ReLU6 as Clip(x, 0, 6).

Weights: He-normal conv/linear weights, small uniform biases; BatchNorm gamma in [0.5,1.5],
beta in [-0.2,0.2], running_mean in [-0.2,0.2], running_var in [0.5,2].
Inputs: "image" distribution (noise with per-sample, per-channel offset and gain).
"""
from __future__ import annotations

from graph import BATCH as N, Graph
from registry import NET, Fixture, add

IMAGE = ("image",)


# --------------------------------------------------------------------------------------------
# LeNet-5
# --------------------------------------------------------------------------------------------
def lenet5(cin: int, pool: str, flatten: str):
    def build(g: Graph):
        x = g.input("input", [N, cin, 32, 32], IMAGE)
        p = "MaxPool" if pool == "max" else "AveragePool"
        y = g.relu(g.conv(x, cin, 6, 5, pad=0, base="conv1"))           # 6x28x28
        y = g.op(p, [y], kernel_shape=[2, 2], strides=[2, 2])           # 6x14x14
        y = g.relu(g.conv(y, 6, 16, 5, pad=0, base="conv2"))            # 16x10x10
        y = g.op(p, [y], kernel_shape=[2, 2], strides=[2, 2])           # 16x5x5
        if flatten == "torch":
            y = g.torch_flatten(y)
        else:
            y = g.op("Flatten", [y], axis=1)
        y = g.relu(g.linear(y, 400, 120, "fc1"))
        y = g.relu(g.linear(y, 120, 84, "fc2"))
        g.linear(y, 84, 10, "fc3", out="logits")
        g.output("logits")

    return build


add("net_lenet5_c1_maxpool", lenet5(1, "max", "torch"), 17, NET, kind="network", argmax_axis=1,
    description="LeNet-5, 1 channel 32x32, Relu, MaxPool, x.view(N,-1) flatten pattern")
add("net_lenet5_c13_avgpool", lenet5(13, "avg", "flatten"), 17, NET, kind="network",
    argmax_axis=1, description="LeNet-5, 13 channels 32x32, Relu, AveragePool, Flatten")
add("net_lenet5_c13_opset11", lenet5(13, "max", "torch"), 11, NET, kind="network", argmax_axis=1,
    description="LeNet-5, 13 channels, opset 11 (Unsqueeze axes attribute in the flatten pattern)")


# --------------------------------------------------------------------------------------------
# VGG-style (conv-conv-pool blocks; conv bias, no BatchNorm, like torchvision vgg11)
# --------------------------------------------------------------------------------------------
def vgg(g: Graph):
    x = g.input("input", [N, 13, 32, 32], IMAGE)
    cin = 13
    y = x
    for bi, cout in enumerate([32, 64, 128]):
        for ci in range(2):
            y = g.relu(g.conv(y, cin, cout, 3, pad=1, base=f"features.{bi}.{ci}"))
            cin = cout
        y = g.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])   # 16, 8, 4
    y = g.op("Flatten", [y], axis=1)                                     # 128*4*4
    y = g.relu(g.linear(y, 2048, 256, "classifier.0"))
    y = g.op("Dropout", [y, g.f32(0.5, "ratio")])
    y = g.relu(g.linear(y, 256, 128, "classifier.3"))
    y = g.op("Dropout", [y, g.f32(0.5, "ratio")])
    g.linear(y, 128, 10, "classifier.6", out="logits")
    g.output("logits")


add("net_vgg_c13", vgg, 17, NET, kind="network", argmax_axis=1,
    description="VGG-style: 3x(conv3x3-relu-conv3x3-relu-maxpool) 32/64/128, Flatten, "
    "3 Linear with Dropout, 13 channels 32x32")


# --------------------------------------------------------------------------------------------
# ResNet-18 (torchvision BasicBlock layout)
# --------------------------------------------------------------------------------------------
def basic_block(g: Graph, x, cin, cout, stride, base):
    y = g.conv_bn(x, cin, cout, 3, stride, 1, base=f"{base}.1")              # conv1/bn1/relu
    y = g.conv(y, cout, cout, 3, 1, 1, bias=False, base=f"{base}.conv2")
    y = g.bn(y, cout, base=f"{base}.bn2")
    if stride != 1 or cin != cout:
        sc = g.conv(x, cin, cout, 1, stride, 0, bias=False, base=f"{base}.downsample.0")
        sc = g.bn(sc, cout, base=f"{base}.downsample.1")
    else:
        sc = x
    return g.relu(g.op("Add", [y, sc]))


def resnet18(cin=13, classes=10, hw=32, width=64, flatten="flatten"):
    def build(g: Graph):
        x = g.input("input", [N, cin, hw, hw], IMAGE)
        y = g.conv_bn(x, cin, width, 7, 2, 3, base="stem")                  # conv1/bn1/relu
        y = g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        c = width
        for li, (mult, stride) in enumerate([(1, 1), (2, 2), (4, 2), (8, 2)]):
            cout = width * mult
            y = basic_block(g, y, c, cout, stride, f"layer{li + 1}.0")
            y = basic_block(g, y, cout, cout, 1, f"layer{li + 1}.1")
            c = cout
        y = g.op("GlobalAveragePool", [y])
        y = g.op("Flatten", [y], axis=1) if flatten == "flatten" else g.torch_flatten(y)
        g.linear(y, c, classes, "fc", out="logits")
        g.output("logits")

    return build


add("net_resnet18_c13", resnet18(), 17, NET, kind="network", argmax_axis=1,
    description="torchvision ResNet-18 layout (BasicBlock, 64-128-256-512), 13 input channels, "
    "10 classes, 32x32 input")


# --------------------------------------------------------------------------------------------
# MobileNetV2-style: inverted residuals, depthwise convs, ReLU6 (Clip), HardSwish, SE blocks
# --------------------------------------------------------------------------------------------
def squeeze_excite(g: Graph, x, c, base):
    r = max(8, c // 4)
    s = g.op("GlobalAveragePool", [x])
    s = g.relu(g.conv(s, c, r, 1, pad=0, base=f"{base}.fc1"))
    s = g.conv(s, r, c, 1, pad=0, base=f"{base}.fc2")
    s = g.op("HardSigmoid", [s], alpha=1.0 / 6.0, beta=0.5)
    return g.op("Mul", [s, x])


def inverted_residual(g: Graph, x, cin, cout, stride, expand, se, act, base):
    hid = cin * expand
    y = x
    if expand != 1:
        y = g.conv_bn(y, cin, hid, 1, 1, 0, base=f"{base}.expand", act=act)
    y = g.conv_bn(y, hid, hid, 3, stride, 1, groups=hid, base=f"{base}.dw", act=act)
    if se:
        y = squeeze_excite(g, y, hid, f"{base}.se")
    y = g.conv_bn(y, hid, cout, 1, 1, 0, base=f"{base}.project", act=None)
    if stride == 1 and cin == cout:
        y = g.op("Add", [x, y])
    return y


def mobilenet(g: Graph):
    x = g.input("input", [N, 13, 32, 32], IMAGE)
    y = g.conv_bn(x, 13, 16, 3, 2, 1, base="stem", act="relu6")                    # 16x16
    # (cin, cout, stride, expand, se, act)
    cfg = [(16, 16, 1, 1, False, "relu6"),
           (16, 24, 2, 4, False, "relu6"),                                          # 8x8
           (24, 24, 1, 4, True, "relu6"),
           (24, 40, 2, 4, True, "hardswish"),                                       # 4x4
           (40, 40, 1, 6, True, "hardswish"),
           (40, 48, 1, 4, False, "hardswish")]
    for i, (ci, co, s, e, se, act) in enumerate(cfg):
        y = inverted_residual(g, y, ci, co, s, e, se, act, f"features.{i + 1}")
    y = g.conv_bn(y, 48, 128, 1, 1, 0, base="last", act="hardswish")
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.op("HardSwish", [g.linear(y, 128, 64, "classifier.0")])
    y = g.op("Dropout", [y, g.f32(0.2, "ratio")])
    g.linear(y, 64, 10, "classifier.3", out="logits")
    g.output("logits")


add("net_mobilenet_se_c13", mobilenet, 17, NET, kind="network", argmax_axis=1,
    description="MobileNetV2/V3-style: inverted residuals with depthwise 3x3, ReLU6 as "
    "Clip(x,0,6), HardSwish, SE (GAP->1x1->Relu->1x1->HardSigmoid->Mul), 13 ch 32x32")


# --------------------------------------------------------------------------------------------
# Small U-Net: 2 down, 2 up (ConvTranspose and Resize-nearest), Concat skips
# --------------------------------------------------------------------------------------------
def double_conv(g: Graph, x, cin, cout, base):
    y = g.conv_bn(x, cin, cout, 3, 1, 1, base=f"{base}.0")
    return g.conv_bn(y, cout, cout, 3, 1, 1, base=f"{base}.1")


def unet(classes=6):
    def build(g: Graph):
        x = g.input("input", [N, 13, 32, 32], IMAGE)
        e1 = double_conv(g, x, 13, 16, "enc1")                                      # 16x32x32
        e2 = double_conv(g, g.op("MaxPool", [e1], kernel_shape=[2, 2], strides=[2, 2]), 16, 32,
                         "enc2")                                                   # 32x16x16
        b = double_conv(g, g.op("MaxPool", [e2], kernel_shape=[2, 2], strides=[2, 2]), 32, 64,
                        "bottleneck")                                              # 64x8x8
        # up 1: ConvTranspose k2 s2
        w = g.const(g.he([64, 32, 2, 2], 64 * 4 // 4), "up1.weight")
        u1 = g.op("ConvTranspose", [b, w, g.const(g.uniform([32], -0.1, 0.1), "up1.bias")],
                  kernel_shape=[2, 2], strides=[2, 2])                            # 32x16x16
        d1 = double_conv(g, g.op("Concat", [u1, e2], axis=1), 64, 32, "dec1")
        # up 2: nn.Upsample(scale_factor=2, mode="nearest") + 1x1 conv
        u2 = g.op("Resize", [d1, "", g.f32([1, 1, 2, 2], "scales")], mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        u2 = g.conv(u2, 32, 16, 1, pad=0, base="up2.conv")                         # 16x32x32
        d2 = double_conv(g, g.op("Concat", [u2, e1], axis=1), 32, 16, "dec2")
        g.conv(d2, 16, classes, 1, pad=0, base="head", out="logits")
        g.output("logits")

    return build


add("net_unet_c13", unet(), 17, NET, kind="network", argmax_axis=1,
    description="Small U-Net (2 down, 2 up: ConvTranspose k2s2 and Resize nearest asymmetric/"
    "floor + 1x1 conv; Concat skips), 13 ch 32x32 -> [N,6,32,32] per-pixel logits")


# --------------------------------------------------------------------------------------------
# Benchmark models (--bench-out): [N,13,64,64] input
# --------------------------------------------------------------------------------------------
def small_cnn(g: Graph):
    x = g.input("input", [N, 13, 64, 64], IMAGE)
    y = g.relu(g.conv(x, 13, 32, 3, pad=1, base="conv1"))
    y = g.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = g.relu(g.conv(y, 32, 64, 3, pad=1, base="conv2"))
    y = g.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = g.relu(g.conv(y, 64, 128, 3, pad=1, base="conv3"))
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    g.linear(y, 128, 10, "fc", out="logits")
    g.output("logits")


BENCH = [
    Fixture("bench_small_cnn", small_cnn, 17, NET["rtol"], NET["atol"], "network",
            "conv3x3(32)-relu-maxpool-conv3x3(64)-relu-maxpool-conv3x3(128)-relu-GAP-dense(10), "
            "13 ch, 64x64", argmax_axis=1),
    Fixture("bench_resnet18", resnet18(hw=64), 17, NET["rtol"], NET["atol"], "network",
            "torchvision ResNet-18 layout, 13 -> 10 classes, 64x64", argmax_axis=1),
]

"""Per-operator fixtures: small graphs (2-8 channels, 5x7 .. 16x16 spatial) with edge-case attributes.

All graph inputs are float32; the batch dimension (when present) is axis 0 and named "N".
Integer/auxiliary inputs (shapes, axes, pads, indices, scales, ...) are initializers, as in
PyTorch exports.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from graph import BATCH as N, FLOAT, INT64
from registry import ACCUM, EXACT, add

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


# --------------------------------------------------------------------------------------------
# Conv
# --------------------------------------------------------------------------------------------
def conv_fixture(name, cin, cout, spatial, k, strides=None, pads=None, auto_pad=None,
                 dilations=None, group=1, bias=True, kernel_attr=True, opset=17, desc=""):
    k = list(k)
    nd = len(k)

    def build(g):
        x = g.input("x", [N, cin] + list(spatial))
        fan_in = (cin // group) * int(np.prod(k))
        w = g.const(g.he([cout, cin // group] + k, fan_in), "w")
        ins = [x, w]
        if bias:
            ins.append(g.const(g.uniform([cout], -0.5, 0.5), "b"))
        g.op("Conv", ins, outputs="y", kernel_shape=k if kernel_attr else None,
             strides=strides, pads=pads, auto_pad=auto_pad, dilations=dilations,
             group=group if group != 1 else None)
        g.output("y")

    add(name, build, opset, ACCUM, description=desc or f"Conv {nd}-D k={k}")


conv_fixture("conv_3x3_pad1", 3, 4, [8, 8], [3, 3], pads=[1, 1, 1, 1])
conv_fixture("conv_3x3_nobias_nopad_nokernelattr", 4, 5, [7, 9], [3, 3], bias=False,
             kernel_attr=False, desc="no bias, no pads/strides attrs, kernel_shape inferred from W")
conv_fixture("conv_stride2_asym_pads", 3, 4, [9, 11], [3, 3], strides=[2, 2], pads=[0, 1, 2, 1],
             desc="explicit asymmetric pads [top,left,bottom,right]=[0,1,2,1]")
conv_fixture("conv_rect_kernel_rect_stride", 3, 4, [9, 10], [3, 2], strides=[2, 1],
             pads=[1, 0, 1, 1])
conv_fixture("conv_same_upper", 3, 4, [9, 10], [4, 3], strides=[1, 2], auto_pad="SAME_UPPER",
             desc="auto_pad SAME_UPPER with odd total padding (extra pad at the end)")
conv_fixture("conv_same_lower", 3, 4, [9, 10], [4, 3], strides=[1, 2], auto_pad="SAME_LOWER",
             desc="auto_pad SAME_LOWER with odd total padding (extra pad at the beginning)")
conv_fixture("conv_same_upper_stride2", 3, 4, [10, 9], [3, 3], strides=[2, 2],
             auto_pad="SAME_UPPER")
conv_fixture("conv_valid_stride2", 3, 4, [9, 10], [3, 3], strides=[2, 2], auto_pad="VALID")
conv_fixture("conv_dilation2", 4, 4, [12, 12], [3, 3], dilations=[2, 2], pads=[2, 2, 2, 2])
conv_fixture("conv_dilation_2x3_stride2", 3, 5, [13, 14], [3, 3], strides=[2, 2],
             dilations=[2, 3], pads=[1, 3, 2, 2])
conv_fixture("conv_groups2", 4, 6, [8, 8], [3, 3], pads=[1, 1, 1, 1], group=2)
conv_fixture("conv_groups4_stride2_nobias", 8, 8, [9, 9], [3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1], group=4, bias=False)
conv_fixture("conv_depthwise", 8, 8, [8, 8], [3, 3], pads=[1, 1, 1, 1], group=8)
conv_fixture("conv_depthwise_mult2_stride2", 4, 8, [9, 9], [3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1], group=4, desc="depthwise with channel multiplier 2")
conv_fixture("conv_depthwise_5x5_stride2", 6, 6, [11, 11], [5, 5], strides=[2, 2],
             pads=[2, 2, 2, 2], group=6, bias=False)
conv_fixture("conv_1x1", 8, 6, [7, 5], [1, 1])
conv_fixture("conv_1x1_stride2_nobias", 4, 8, [8, 7], [1, 1], strides=[2, 2], bias=False,
             desc="ResNet downsample shortcut")
conv_fixture("conv_5x5", 3, 4, [12, 12], [5, 5], pads=[2, 2, 2, 2])
conv_fixture("conv_7x7_stride2", 3, 8, [16, 16], [7, 7], strides=[2, 2], pads=[3, 3, 3, 3],
             bias=False, desc="ResNet stem")
conv_fixture("conv_3x3_opset11", 3, 4, [7, 8], [3, 3], pads=[1, 1, 1, 1], opset=11)
conv_fixture("conv_3x3_opset21", 3, 4, [7, 8], [3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
             opset=21)
conv_fixture("conv1d", 4, 6, [20], [3], strides=[2], pads=[1, 2])
conv_fixture("conv1d_dilation2", 3, 5, [16], [3], dilations=[2], pads=[2, 2], bias=False)
conv_fixture("conv1d_same_upper_k4", 3, 4, [15], [4], auto_pad="SAME_UPPER")
conv_fixture("conv1d_k1_groups2", 4, 6, [9], [1], group=2)


# --------------------------------------------------------------------------------------------
# ConvTranspose
# --------------------------------------------------------------------------------------------
def convt_fixture(name, cin, cout, spatial, k, strides=None, pads=None, output_padding=None,
                  dilations=None, group=1, bias=True, opset=17, desc="", output_shape=None,
                  auto_pad=None):
    k = list(k)

    def build(g):
        x = g.input("x", [N, cin] + list(spatial))
        w = g.const(g.he([cin, cout // group] + k, (cin // group) * int(np.prod(k))), "w")
        ins = [x, w]
        if bias:
            ins.append(g.const(g.uniform([cout], -0.5, 0.5), "b"))
        g.op("ConvTranspose", ins, outputs="y", kernel_shape=k, strides=strides, pads=pads,
             output_padding=output_padding, dilations=dilations, output_shape=output_shape,
             auto_pad=auto_pad, group=group if group != 1 else None)
        g.output("y")

    add(name, build, opset, ACCUM, description=desc or f"ConvTranspose k={k}")


convt_fixture("convt_k2_s2", 8, 4, [5, 7], [2, 2], strides=[2, 2], desc="U-Net up-convolution")
convt_fixture("convt_k3_s2_p1_outpad1", 4, 3, [5, 7], [3, 3], strides=[2, 2],
              pads=[1, 1, 1, 1], output_padding=[1, 1])
convt_fixture("convt_k4_s2_p1_nobias", 4, 4, [6, 6], [4, 4], strides=[2, 2], pads=[1, 1, 1, 1],
              bias=False)
convt_fixture("convt_groups2_asym_pads", 4, 6, [5, 6], [3, 3], strides=[2, 2], pads=[0, 1, 1, 0],
              group=2)
convt_fixture("convt_dilation2", 3, 4, [6, 5], [3, 3], dilations=[2, 2])
convt_fixture("convt_rect_stride_outpad", 3, 2, [5, 6], [3, 2], strides=[3, 2], pads=[1, 0, 0, 0],
              output_padding=[2, 1])
convt_fixture("convt1d_k4_s2_p1", 4, 3, [10], [4], strides=[2], pads=[1, 1])
convt_fixture("convt_output_shape", 3, 4, [5, 6], [3, 3], strides=[2, 2], output_shape=[10, 12],
              desc="output_shape attribute (spatial dims only), 1 smaller than the natural 11x13: "
              "onnxruntime (auto_pad NOTSET) crops the odd extra row/col at the BEGINNING "
              "(pad_head = total - total/2)")
convt_fixture("convt_output_shape_larger", 3, 2, [5, 6], [3, 3], strides=[2, 2],
              output_shape=[12, 14], desc="output_shape 1 larger than the natural 11x13: "
              "onnxruntime appends a bias-only row/col at the END (negative end pad)")
convt_fixture("convt_same_upper", 3, 4, [5, 6], [3, 3], strides=[2, 2], auto_pad="SAME_UPPER",
              desc="auto_pad SAME_UPPER: output = input * stride; onnxruntime crops the odd extra "
              "at the END")
convt_fixture("convt_same_lower", 3, 4, [5, 6], [4, 3], strides=[2, 2], auto_pad="SAME_LOWER",
              desc="auto_pad SAME_LOWER: output = input * stride; onnxruntime crops the odd extra "
              "at the BEGINNING")
convt_fixture("convt_k2_s2_opset11", 4, 2, [5, 5], [2, 2], strides=[2, 2], opset=11)


# --------------------------------------------------------------------------------------------
# BatchNormalization (inference)
# --------------------------------------------------------------------------------------------
def bn_fixture(name, shape, eps=None, opset=17):
    def build(g):
        x = g.input("x", [N] + shape)
        g.op("BatchNormalization", [x] + g.bn_params(shape[0]), outputs="y", epsilon=eps)
        g.output("y")

    add(name, build, opset, EXACT, description=f"BatchNormalization inference, x=[N]+{shape}")


bn_fixture("bn_4d", [4, 6, 7])
bn_fixture("bn_4d_eps1e-3_opset11", [5, 5, 6], eps=1e-3, opset=11)
bn_fixture("bn_2d", [8])
bn_fixture("bn_3d", [3, 10])
bn_fixture("bn_4d_opset9", [3, 5, 5], opset=9)


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------
ACT_SHAPE = [4, 6, 7]
ACT_DIST = ("uniform", -5.0, 5.0)


def unary(name, op, opset=17, tol=EXACT, shape=ACT_SHAPE, dist=ACT_DIST, extra_inputs=(), **attrs):
    def build(g):
        x = g.input("x", [N] + shape, dist)
        ins = [x] + [("" if v is None else g.f32(v, "c")) for v in extra_inputs]
        g.op(op, ins, outputs="y", **attrs)
        g.output("y")

    desc = f"{op} {attrs}" + (f" inputs={list(extra_inputs)}" if extra_inputs else "")
    add(name, build, opset, tol, description=desc)


unary("relu", "Relu")
unary("leakyrelu_default", "LeakyRelu")
unary("leakyrelu_alpha0.2", "LeakyRelu", alpha=0.2)
unary("sigmoid", "Sigmoid", tol=ACCUM)
unary("hardsigmoid_default", "HardSigmoid")
unary("hardsigmoid_torch", "HardSigmoid", alpha=1.0 / 6.0, beta=0.5)
unary("hardswish", "HardSwish")
unary("clip_opset6_attrs", "Clip", opset=6, min=-1.0, max=2.0)
unary("clip_opset6_default_attrs", "Clip", opset=6)
unary("clip_opset11_inputs", "Clip", opset=11, extra_inputs=(-1.5, 2.5))
unary("clip_opset11_relu6", "Clip", opset=11, extra_inputs=(0.0, 6.0))
unary("clip_opset13_min_only", "Clip", opset=13, extra_inputs=(-0.5,))
unary("clip_opset13_max_only", "Clip", opset=13, extra_inputs=(None, 1.0))
unary("clip_opset13_no_bounds", "Clip", opset=13)
unary("relu_opset21", "Relu", opset=21)
unary("identity", "Identity")


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------
def pool_fixture(name, op, c, spatial, k=None, opset=17, **attrs):
    def build(g):
        x = g.input("x", [N, c] + list(spatial))
        g.op(op, [x], outputs="y", kernel_shape=k, **attrs)
        g.output("y")

    add(name, build, opset, ACCUM, description=f"{op} k={k} {attrs} on {spatial}")


pool_fixture("maxpool_k2s2", "MaxPool", 3, [8, 8], [2, 2], strides=[2, 2])
pool_fixture("maxpool_k3s2p1", "MaxPool", 3, [9, 9], [3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
pool_fixture("maxpool_k3s2_ceil", "MaxPool", 3, [8, 8], [3, 3], strides=[2, 2], ceil_mode=1)
pool_fixture("maxpool_k2s2p1_ceil_droplast", "MaxPool", 2, [9, 9], [2, 2], strides=[2, 2],
             pads=[1, 1, 1, 1], ceil_mode=1)
pool_fixture("maxpool_k3s2p1_ceil", "MaxPool", 2, [10, 11], [3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1], ceil_mode=1)
pool_fixture("maxpool_dilation2", "MaxPool", 3, [10, 10], [3, 3], dilations=[2, 2],
             pads=[2, 2, 2, 2])
pool_fixture("maxpool_asym_pads", "MaxPool", 3, [9, 8], [3, 3], strides=[2, 2], pads=[1, 0, 0, 1])
pool_fixture("maxpool_same_upper", "MaxPool", 3, [9, 10], [3, 3], strides=[2, 2],
             auto_pad="SAME_UPPER")
pool_fixture("maxpool_same_lower", "MaxPool", 3, [9, 10], [2, 2], strides=[1, 1],
             auto_pad="SAME_LOWER")
pool_fixture("maxpool_rect", "MaxPool", 2, [9, 8], [3, 2], strides=[2, 1])
pool_fixture("maxpool1d", "MaxPool", 4, [15], [3], strides=[2], pads=[1, 1])
pool_fixture("maxpool_k3s2p1_opset11", "MaxPool", 3, [9, 9], [3, 3], opset=11, strides=[2, 2],
             pads=[1, 1, 1, 1])
pool_fixture("avgpool_k2s2", "AveragePool", 3, [8, 8], [2, 2], strides=[2, 2])
pool_fixture("avgpool_k3s1p1_exclude_pad", "AveragePool", 3, [7, 8], [3, 3], pads=[1, 1, 1, 1],
             count_include_pad=0)
pool_fixture("avgpool_k3s1p1_include_pad", "AveragePool", 3, [7, 8], [3, 3], pads=[1, 1, 1, 1],
             count_include_pad=1)
pool_fixture("avgpool_k3s2p1_include_pad", "AveragePool", 3, [9, 9], [3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1], count_include_pad=1)
pool_fixture("avgpool_k3s2_ceil", "AveragePool", 3, [8, 8], [3, 3], strides=[2, 2], ceil_mode=1)
pool_fixture("avgpool_k3s2p1_ceil_exclude_pad", "AveragePool", 3, [10, 11], [3, 3],
             strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=0)
pool_fixture("avgpool_k3s2p1_ceil_include_pad", "AveragePool", 3, [10, 11], [3, 3],
             strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1,
             )
pool_fixture("avgpool_asym_pads_include_pad", "AveragePool", 2, [8, 9], [3, 3], strides=[2, 2],
             pads=[0, 1, 2, 1], count_include_pad=1)
pool_fixture("avgpool_same_upper", "AveragePool", 2, [9, 10], [3, 3], strides=[2, 2],
             auto_pad="SAME_UPPER")
pool_fixture("avgpool1d", "AveragePool", 4, [15], [3], strides=[2], pads=[1, 1])
pool_fixture("avgpool_k2s2_opset11", "AveragePool", 3, [8, 8], [2, 2], opset=11, strides=[2, 2])
pool_fixture("globalavgpool", "GlobalAveragePool", 5, [7, 6])
pool_fixture("globalavgpool_1d", "GlobalAveragePool", 4, [9])
pool_fixture("globalmaxpool", "GlobalMaxPool", 5, [7, 6])
pool_fixture("globalmaxpool_1d", "GlobalMaxPool", 4, [9])


# --------------------------------------------------------------------------------------------
# Gemm / MatMul
# --------------------------------------------------------------------------------------------
def gemm_linear(g):
    x = g.input("x", [N, 12])
    w = g.const(g.he([8, 12], 12), "w")
    b = g.const(g.uniform([8], -0.5, 0.5), "b")
    g.op("Gemm", [x, w, b], outputs="y", alpha=1.0, beta=1.0, transB=1)
    g.output("y")


def gemm_alpha_beta_c_row(g):
    x = g.input("x", [N, 6])
    b = g.const(g.normal([6, 5]), "B")
    c = g.const(g.normal([1, 5]), "C")
    g.op("Gemm", [x, b, c], outputs="y", alpha=0.5, beta=2.0)
    g.output("y")


def gemm_c_scalar(g):
    x = g.input("x", [N, 6])
    b = g.const(g.normal([6, 5]), "B")
    c = g.const(np.array(0.75, dtype=np.float32), "C")  # 0-d
    g.op("Gemm", [x, b, c], outputs="y", beta=-1.0)
    g.output("y")


def gemm_c_1x1(g):
    x = g.input("x", [N, 6])
    b = g.const(g.normal([5, 6]), "B")
    c = g.const(np.array([[0.3]], dtype=np.float32), "C")
    g.op("Gemm", [x, b, c], outputs="y", transB=1)
    g.output("y")


def gemm_no_c(g):
    x = g.input("x", [N, 6])
    b = g.const(g.normal([5, 6]), "B")
    g.op("Gemm", [x, b], outputs="y", transB=1, alpha=1.5)
    g.output("y")


def gemm_transA_static(g):
    a = g.input("a", [6, 4])
    b = g.const(g.normal([6, 5]), "B")
    c = g.const(g.normal([5]), "C")
    g.op("Gemm", [a, b, c], outputs="y", transA=1)
    g.output("y")


def gemm_transA_transB_static(g):
    a = g.input("a", [6, 4])
    b = g.input("b", [5, 6])
    c = g.const(g.normal([4, 1]), "C")
    g.op("Gemm", [a, b, c], outputs="y", transA=1, transB=1, alpha=0.7, beta=0.3)
    g.output("y")


def gemm_linear_opset11(g):
    gemm_linear(g)


add("gemm_linear_transB", gemm_linear, tol=ACCUM, description="nn.Linear: Gemm(x, W[out,in], b, transB=1)")
add("gemm_alpha_beta_c_row", gemm_alpha_beta_c_row, tol=ACCUM, description="alpha 0.5, beta 2, C [1,M]")
add("gemm_c_scalar", gemm_c_scalar, tol=ACCUM, description="0-d C, beta -1")
add("gemm_c_1x1", gemm_c_1x1, tol=ACCUM, description="C [1,1], transB")
add("gemm_no_c", gemm_no_c, tol=ACCUM, description="C omitted (opset 11+), alpha 1.5")
add("gemm_transA_static", gemm_transA_static, tol=ACCUM, description="transA, no batch dim")
add("gemm_transA_transB_static", gemm_transA_transB_static, tol=ACCUM,
    description="transA+transB, two graph inputs, C [M,1] column broadcast, no batch dim")
add("gemm_linear_opset11", gemm_linear_opset11, opset=11, tol=ACCUM)


def matmul(name, a_shape, b_shape, a_const=False, b_const=False, desc=""):
    def build(g):
        a = g.const(g.normal(a_shape), "A") if a_const else g.input("a", a_shape)
        b = g.const(g.normal(b_shape) * 0.5, "B") if b_const else g.input("b", b_shape)
        g.op("MatMul", [a, b], outputs="y")
        g.output("y")

    add(name, build, tol=ACCUM, description=desc or f"MatMul {a_shape} x {b_shape}")


matmul("matmul_2d_const", [N, 12], [12, 7], b_const=True)
matmul("matmul_3d_const", [N, 5, 6], [6, 4], b_const=True)
matmul("matmul_4d_both_inputs", [N, 2, 5, 6], [N, 2, 6, 3])
matmul("matmul_broadcast_batch", [N, 1, 4, 6], [3, 6, 5], b_const=True)
matmul("matmul_vector_rhs", [N, 5, 6], [6], b_const=True, desc="1-D rhs: result drops last dim")
matmul("matmul_vector_lhs", [5], [N, 5, 3], a_const=True, desc="1-D lhs: result drops the M dim")
matmul("matmul_2d_static", [5, 6], [6, 4], desc="no batch dim, both graph inputs")


# --------------------------------------------------------------------------------------------
# Elementwise binary with broadcasting
# --------------------------------------------------------------------------------------------
def binary(name, op, a, b, a_const=False, b_const=False, b_dist=("normal",), opset=17, desc=""):
    """a/b: shapes. *_const: make it an initializer instead of a graph input."""
    def build(g):
        def make(shape, is_const, nm, dist):
            if not is_const:
                return g.input(nm, shape, dist)
            if dist[0] == "uniform":
                v = g.uniform(shape, dist[1], dist[2])
            elif dist[0] == "signed_away_from_zero":
                v = g.uniform(shape, 0.5, 2.0) * np.where(g.uniform(shape, 0, 1) < 0.5, -1, 1)
            else:
                v = g.normal(shape)
            return g.const(np.asarray(v, dtype=np.float32), nm.upper())
        ia = make(a, a_const, "a", ("normal",))
        ib = make(b, b_const, "b", b_dist)
        g.op(op, [ia, ib], outputs="y")
        g.output("y")

    add(name, build, opset, EXACT, description=desc or f"{op} {a} {b}")


binary("add_same_shape", "Add", [N, 3, 5, 6], [N, 3, 5, 6])
binary("mul_nc11_nchw", "Mul", [N, 4, 5, 6], [N, 4, 1, 1], desc="SE-style [N,C,H,W]*[N,C,1,1]")
binary("mul_nc11_first", "Mul", [N, 4, 1, 1], [N, 4, 5, 6], desc="[N,C,1,1]*[N,C,H,W]")
binary("add_scalar_0d_const", "Add", [N, 3, 4, 5], [], b_const=True, desc="0-d scalar constant")
binary("mul_scalar_1elem_const", "Mul", [N, 3, 4, 5], [1], b_const=True, desc="[1] constant")
binary("sub_const_first_c11", "Sub", [4, 1, 1], [N, 4, 5, 6], a_const=True,
       desc="per-channel constant [C,1,1] minus x")
binary("div_by_const_c11", "Div", [N, 4, 5, 6], [4, 1, 1], b_const=True,
       b_dist=("signed_away_from_zero",), desc="x / per-channel constant [C,1,1]")
binary("div_inputs", "Div", [N, 3, 5, 6], [N, 3, 5, 6], b_dist=("uniform", 0.5, 2.0))
binary("add_trailing_vector", "Add", [N, 3, 4, 5], [5], b_const=True)
binary("add_1c11_const", "Add", [N, 4, 5, 6], [1, 4, 1, 1], b_const=True)
binary("mul_bidirectional", "Mul", [N, 1, 5, 6], [N, 3, 1, 6], desc="both sides broadcast")
binary("sub_inputs_broadcast_h", "Sub", [N, 4, 5, 6], [N, 4, 1, 6])
binary("add_rank_diff_const", "Add", [N, 3, 4, 5], [4, 1], b_const=True)
binary("add_opset11", "Add", [N, 3, 4, 5], [3, 1, 1], b_const=True, opset=11)
binary("mul_opset13", "Mul", [N, 3, 4, 5], [N, 3, 4, 5], opset=13)


# --------------------------------------------------------------------------------------------
# Concat / Flatten / Reshape / Transpose / Squeeze / Unsqueeze
# --------------------------------------------------------------------------------------------
def concat(name, shapes, axis, opset=17):
    def build(g):
        xs = [g.input(f"x{i}", s) for i, s in enumerate(shapes)]
        g.op("Concat", xs, outputs="y", axis=axis)
        g.output("y")

    add(name, build, opset, EXACT, description=f"Concat axis={axis}")


concat("concat_channels3", [[N, 2, 5, 6], [N, 3, 5, 6], [N, 1, 5, 6]], 1)
concat("concat_neg_axis_last", [[N, 3, 4, 2], [N, 3, 4, 5]], -1)
concat("concat_neg_axis_channel", [[N, 2, 4, 5], [N, 3, 4, 5]], -3)
concat("concat_2d", [[N, 4], [N, 6]], 1)
concat("concat_channels_opset11", [[N, 2, 5, 6], [N, 3, 5, 6]], 1, opset=11)


def flatten(name, shape, axis, opset=17):
    def build(g):
        x = g.input("x", shape)
        g.op("Flatten", [x], outputs="y", axis=axis)
        g.output("y")

    add(name, build, opset, EXACT, description=f"Flatten axis={axis}")


flatten("flatten_axis1", [N, 3, 4, 5], 1)
flatten("flatten_axis2", [N, 3, 4, 5], 2)
flatten("flatten_axis_neg1", [N, 3, 4, 5], -1)
flatten("flatten_axis0_static", [2, 3, 4, 5], 0)
flatten("flatten_axis3_opset11", [N, 3, 4, 5], 3, opset=11)


def reshape(name, shape, target, opset=17):
    def build(g):
        x = g.input("x", shape)
        g.op("Reshape", [x, g.i64(target, "shape")], outputs="y")
        g.output("y")

    add(name, build, opset, EXACT, description=f"Reshape to {target}")


reshape("reshape_0_m1", [N, 3, 4, 5], [0, -1])
reshape("reshape_0_2_m1_5", [N, 6, 4, 5], [0, 2, -1, 5])
reshape("reshape_0_0_m1", [N, 3, 4, 5], [0, 0, -1])
reshape("reshape_m1_6", [N, 4, 6], [-1, 6])
reshape("reshape_0_m1_opset11", [N, 3, 4, 5], [0, -1], opset=11)


def reshape_torch_flatten(g):
    x = g.input("x", [N, 4, 3, 5])
    y = g.relu(x)
    g.torch_flatten(y, out="y")
    g.output("y")


add("reshape_torch_flatten", reshape_torch_flatten, 17, EXACT,
    description="x.view(x.size(0), -1): Shape->Gather->Unsqueeze(axes input)->Concat->Reshape")
add("reshape_torch_flatten_opset11", reshape_torch_flatten, 11, EXACT,
    description="x.view(x.size(0), -1) at opset 11: Unsqueeze with axes attribute")


def channel_shuffle(g):
    x = g.input("x", [N, 6, 4, 5])
    y = g.op("Reshape", [x, g.i64([0, 2, 3, 4, 5])])
    y = g.op("Transpose", [y], perm=[0, 2, 1, 3, 4])
    g.op("Reshape", [y, g.i64([0, -1, 4, 5])], outputs="y")
    g.output("y")


add("channel_shuffle", channel_shuffle, 17, EXACT,
    description="ShuffleNet channel shuffle: Reshape 5-D, Transpose, Reshape")


def transpose(name, shape, perm):
    def build(g):
        x = g.input("x", shape)
        g.op("Transpose", [x], outputs="y", perm=perm)
        g.output("y")

    add(name, build, 17, EXACT, description=f"Transpose perm={perm}")


transpose("transpose_to_nhwc", [N, 3, 4, 5], [0, 2, 3, 1])
transpose("transpose_to_nchw", [N, 4, 5, 3], [0, 3, 1, 2])
transpose("transpose_default_reverse", [N, 2, 3, 4], None)
transpose("transpose_3d", [N, 5, 6], [0, 2, 1])
transpose("transpose_batch_moved", [N, 3, 4], [1, 0, 2])


def squeeze(name, shape, axes, opset, op="Squeeze"):
    def build(g):
        x = g.input("x", shape)
        if opset >= 13:
            g.op(op, [x, g.i64(axes, "axes")], outputs="y")
        else:
            g.op(op, [x], outputs="y", axes=axes)
        g.output("y")

    add(name, build, opset, EXACT,
        description=f"{op} axes={axes} as {'input' if opset >= 13 else 'attribute'}")


squeeze("squeeze_opset11_attr", [N, 4, 1, 1], [2, 3], 11)
squeeze("squeeze_opset13_input_neg", [N, 4, 1, 1], [-1, -2], 13)
squeeze("squeeze_opset21_input", [N, 1, 5, 1], [1, 3], 21)
squeeze("unsqueeze_opset11_attr", [N, 4, 5], [1], 11, op="Unsqueeze")
squeeze("unsqueeze_opset11_attr_multi_neg", [N, 4, 5], [1, -1], 11, op="Unsqueeze")
squeeze("unsqueeze_opset13_input", [N, 4, 5], [2, 3], 13, op="Unsqueeze")
squeeze("unsqueeze_opset21_input_neg", [N, 4, 5], [-1, 1], 21, op="Unsqueeze")


# --------------------------------------------------------------------------------------------
# Pad
# --------------------------------------------------------------------------------------------
def pad(name, shape, pads, mode=None, value=None, opset=17, axes=None):
    def build(g):
        x = g.input("x", shape)
        if opset < 11:
            g.op("Pad", [x], outputs="y", pads=pads, mode=mode, value=value)
        else:
            ins = [x, g.i64(pads, "pads")]
            if value is not None or axes is not None:
                ins.append(g.f32(value, "value") if value is not None else "")
            if axes is not None:
                ins.append(g.i64(axes, "axes"))
            g.op("Pad", ins, outputs="y", mode=mode)
        g.output("y")

    add(name, build, opset, EXACT, description=f"Pad mode={mode or 'constant'} pads={pads}"
        + (f" value={value}" if value is not None else "") + (f" axes={axes}" if axes else ""))


pad("pad_constant_value_opset11", [N, 3, 5, 6], [0, 0, 1, 2, 0, 0, 2, 1], value=0.5, opset=11)
pad("pad_constant_default_zero", [N, 3, 5, 6], [0, 0, 1, 1, 0, 0, 1, 1])
pad("pad_reflect_opset11", [N, 3, 5, 6], [0, 0, 2, 1, 0, 0, 1, 2], mode="reflect", opset=11)
pad("pad_reflect", [N, 2, 6, 7], [0, 0, 3, 1, 0, 0, 1, 3], mode="reflect")
pad("pad_edge_opset13", [N, 3, 5, 6], [0, 0, 2, 1, 0, 0, 1, 3], mode="edge", opset=13)
pad("pad_negative_crop", [N, 3, 6, 7], [0, 0, -1, 1, 0, 0, 2, -2], value=-1.0,
    opset=13)
pad("pad_reflect_1d", [N, 4, 10], [0, 0, 3, 0, 0, 2], mode="reflect")
pad("pad_opset10_attrs_reflect", [N, 3, 5, 6], [0, 0, 1, 2, 0, 0, 2, 1], mode="reflect", opset=10)
pad("pad_opset10_attrs_constant", [N, 3, 5, 6], [0, 0, 1, 2, 0, 0, 2, 1], value=0.25, opset=10)
pad("pad_opset21_axes_input", [N, 3, 5, 6], [1, 2, 2, 1], value=0.0, axes=[2, 3], opset=21)
pad("pad_opset21_axes_neg_edge", [N, 3, 5, 6], [2, 1], mode="edge", axes=[-1], opset=21)


# --------------------------------------------------------------------------------------------
# Resize / Upsample
# --------------------------------------------------------------------------------------------
def resize(name, shape, opset, mode, ctm=None, nearest_mode=None, scales=None, sizes=None,
           tol=EXACT, desc=""):
    def build(g):
        x = g.input("x", shape)
        if opset == 11:
            # PyTorch-style opset 11: roi and scales are required inputs (empty when unused).
            roi = g.f32(np.zeros([0], np.float32), "roi")
            sc = g.f32(scales if scales is not None else np.zeros([0], np.float32), "scales")
            ins = [x, roi, sc] + ([g.i64(sizes, "sizes")] if sizes is not None else [])
        else:
            ins = [x, "", g.f32(scales, "scales") if scales is not None else ""]
            if sizes is not None:
                ins.append(g.i64(sizes, "sizes"))
        g.op("Resize", ins, outputs="y", mode=mode, coordinate_transformation_mode=ctm,
             nearest_mode=nearest_mode)
        g.output("y")

    what = f"scales={scales}" if scales is not None else f"sizes={sizes}"
    add(name, build, opset, tol, description=desc or
        f"Resize mode={mode} ctm={ctm or 'half_pixel(default)'} nearest_mode={nearest_mode} {what}")


# PyTorch nn.Upsample(scale_factor=2, mode="nearest") export
resize("resize_nearest_asym_floor_s2_opset11", [N, 3, 5, 6], 11, "nearest", "asymmetric", "floor",
       scales=[1, 1, 2, 2])
resize("resize_nearest_asym_floor_s2", [N, 3, 5, 6], 13, "nearest", "asymmetric", "floor",
       scales=[1, 1, 2, 2])
resize("resize_nearest_asym_floor_nonint", [N, 2, 5, 6], 13, "nearest", "asymmetric", "floor",
       scales=[1, 1, 1.5, 2.5], desc="non-integer scales: output = floor(in*scale)")
resize("resize_nearest_defaults", [N, 2, 5, 6], 13, "nearest", scales=[1, 1, 1.6, 1.5],
       desc="ONNX defaults: ctm half_pixel, nearest_mode round_prefer_floor; non-integer scales")
resize("resize_linear_half_pixel_s2", [N, 3, 5, 6], 13, "linear", "half_pixel",
       scales=[1, 1, 2, 2], tol=ACCUM)
resize("resize_linear_pytorch_half_pixel_s2", [N, 3, 5, 6], 13, "linear", "pytorch_half_pixel",
       scales=[1, 1, 2, 2], tol=ACCUM)
resize("resize_linear_half_pixel_down", [N, 2, 9, 12], 13, "linear", "half_pixel",
       scales=[1, 1, 0.5, 0.5], tol=ACCUM, desc="bilinear downscale by 2 (no antialias)")
resize("resize_nearest_asym_floor_opset21", [N, 3, 5, 6], 21, "nearest", "asymmetric", "floor",
       scales=[1, 1, 2, 2])


def resize_sizes(name, shape, sizes_hw, opset, mode, ctm, nearest_mode=None, tol=ACCUM):
    def build(g):
        x = g.input("x", shape)
        # sizes must be static in the graph, so take N and C from Shape(x) like PyTorch does for
        # F.interpolate(size=...): Concat(Slice(Shape(x), 0, 2), const[H,W]).
        shp = g.op("Shape", [x])
        nc = g.op("Slice", [shp, g.i64([0], "st"), g.i64([2], "en"), g.i64([0], "ax")])
        sizes = g.op("Concat", [nc, g.i64(sizes_hw, "hw")], axis=0)
        if opset == 11:
            ins = [x, g.f32(np.zeros([0], np.float32), "roi"),
                   g.f32(np.zeros([0], np.float32), "scales"), sizes]
        else:
            ins = [x, "", "", sizes]
        g.op("Resize", ins, outputs="y", mode=mode, coordinate_transformation_mode=ctm,
             nearest_mode=nearest_mode)
        g.output("y")

    add(name, build, opset, tol, description=f"Resize mode={mode} ctm={ctm} via sizes "
        f"(N,C from Shape->Slice, H,W={sizes_hw}, Concat)")


resize_sizes("resize_linear_align_corners_sizes", [N, 3, 5, 6], [9, 13], 13, "linear",
             "align_corners")
resize_sizes("resize_linear_align_corners_sizes_opset11", [N, 3, 5, 6], [10, 11], 11, "linear",
             "align_corners")
resize_sizes("resize_linear_half_pixel_sizes", [N, 2, 6, 5], [8, 12], 13, "linear", "half_pixel")
resize_sizes("resize_nearest_asym_floor_sizes", [N, 2, 5, 6], [10, 15], 17, "nearest",
             "asymmetric", "floor", tol=EXACT)


def upsample(name, mode, scales):
    def build(g):
        x = g.input("x", [N, 3, 5, 6])
        g.op("Upsample", [x, g.f32(scales, "scales")], outputs="y", mode=mode)
        g.output("y")

    add(name, build, 9, EXACT if mode == "nearest" else ACCUM,
        description=f"Upsample-9 mode={mode} scales={scales} (asymmetric coordinates)")


upsample("upsample_nearest_opset9", "nearest", [1, 1, 2, 2])
upsample("upsample_linear_opset9", "linear", [1, 1, 2, 3])


# --------------------------------------------------------------------------------------------
# Softmax / LogSoftmax
# --------------------------------------------------------------------------------------------
def softmax(name, op, shape, opset, axis=None, dist=("normal", 2.0), desc=""):
    def build(g):
        x = g.input("x", shape, dist)
        g.op(op, [x], outputs="y", axis=axis)
        g.output("y")

    add(name, build, opset, ACCUM, description=desc or f"{op} axis={axis if axis is not None else 'default'}")


for op in ("Softmax", "LogSoftmax"):
    p = op.lower()
    softmax(f"{p}_opset11_axis1_4d", op, [N, 3, 4, 5], 11, axis=1,
            desc=f"{op}-11 axis=1 on 4-D: coerced to 2-D [N, C*H*W] (NOT per-channel)")
    softmax(f"{p}_opset11_axis2_4d", op, [N, 3, 4, 5], 11, axis=2,
            desc=f"{op}-11 axis=2 on 4-D: coerced to 2-D [N*C, H*W]")
    softmax(f"{p}_opset11_default_2d", op, [N, 10], 11, desc=f"{op}-11 default axis=1 on [N,10]")
    softmax(f"{p}_opset13_axis1_4d", op, [N, 3, 4, 5], 13, axis=1,
            desc=f"{op}-13 axis=1 on 4-D: per-position over channels")
    softmax(f"{p}_opset13_default_4d", op, [N, 3, 4, 5], 13, desc=f"{op}-13 default axis=-1")
    softmax(f"{p}_2d_large_values", op, [N, 10], 17, axis=-1, dist=("uniform", -100.0, 100.0),
            desc=f"{op} with |x| up to 100 (needs max subtraction)")


# --------------------------------------------------------------------------------------------
# ReduceMean / ArgMax
# --------------------------------------------------------------------------------------------
def reduce_mean(name, shape, axes, keepdims, opset):
    def build(g):
        x = g.input("x", shape)
        if opset >= 18:
            g.op("ReduceMean", [x, g.i64(axes, "axes")], outputs="y", keepdims=keepdims)
        else:
            g.op("ReduceMean", [x], outputs="y", axes=axes, keepdims=keepdims)
        g.output("y")

    add(name, build, opset, ACCUM, description=f"ReduceMean axes={axes} keepdims={keepdims} "
        f"({'input' if opset >= 18 else 'attribute'})")


reduce_mean("reducemean_hw_keep", [N, 4, 5, 6], [2, 3], 1, 17)
reduce_mean("reducemean_c_nokeep", [N, 4, 5, 6], [1], 0, 17)
reduce_mean("reducemean_neg_axis_keep", [N, 4, 5, 6], [-1], 1, 17)
reduce_mean("reducemean_hw_nokeep_opset11", [N, 4, 5, 6], [2, 3], 0, 11)
reduce_mean("reducemean_axes_input_opset18", [N, 4, 5, 6], [2, 3], 0, 18)
reduce_mean("reducemean_axes_input_keep_opset21", [N, 4, 5, 6], [-2, 1], 1, 21)


def argmax(name, shape, axis, keepdims, opset=17, select_last_index=None, dist=("normal",)):
    def build(g):
        x = g.input("x", shape, dist)
        g.op("ArgMax", [x], outputs="y", axis=axis, keepdims=keepdims,
             select_last_index=select_last_index)
        g.output("y", INT64)

    add(name, build, opset, EXACT, description=f"ArgMax axis={axis if axis is not None else '0 (default: across the batch)'} "
        f"keepdims={keepdims if keepdims is not None else '1 (default)'}"
        + (f" select_last_index={select_last_index}" if select_last_index is not None else "")
        + (" (integer-valued input: many ties)" if dist[0] == "ints" else "") + "; int64 output")


argmax("argmax_c_keep", [N, 5, 6, 7], 1, 1)
argmax("argmax_c_nokeep", [N, 5, 6, 7], 1, 0)
argmax("argmax_last_axis_nokeep", [N, 10], -1, 0)
argmax("argmax_default_attrs", [N, 4, 5], None, None)  # axis 0 = across the batch!
argmax("argmax_ties_first_index", [N, 6, 4, 5], 1, 1, select_last_index=0, dist=("ints", 0, 3))
argmax("argmax_ties_last_index", [N, 6, 4, 5], 1, 1, select_last_index=1, dist=("ints", 0, 3))
argmax("argmax_opset11", [N, 5, 6, 7], 1, 1, opset=11)


# --------------------------------------------------------------------------------------------
# Dropout (inference) / Identity / Constant
# --------------------------------------------------------------------------------------------
def dropout_opset11(g):
    x = g.input("x", [N, 4, 5, 6])
    y = g.relu(x)
    g.op("Dropout", [y], outputs="y", ratio=0.3)
    g.output("y")


def dropout_opset17(g):
    x = g.input("x", [N, 4, 5, 6])
    y = g.relu(x)
    y = g.op("Dropout", [y, g.f32(0.5, "ratio")])
    g.op("Identity", [y], outputs="y")
    g.output("y")


def dropout_training_false(g):
    x = g.input("x", [N, 4, 5, 6])
    tm = g.const(np.array(False), "training_mode")
    g.op("Dropout", [x, g.f32(0.2, "ratio"), tm], outputs="y")
    g.output("y")


add("dropout_opset11_ratio_attr", dropout_opset11, 11, EXACT, description="Dropout-10 ratio attribute")
add("dropout_ratio_input_identity", dropout_opset17, 17, EXACT,
    description="Dropout-13 with ratio input, then Identity")
add("dropout_training_mode_false", dropout_training_false, 13, EXACT,
    description="Dropout with ratio input and BOOL initializer training_mode=false")


def constant_tensor(g):
    x = g.input("x", [N, 4, 5, 6])
    c = g.op("Constant", [], value=helper.make_tensor(
        "v", TensorProto.FLOAT, [4, 1, 1], g.normal([4, 1, 1]).ravel().tolist()))
    g.op("Add", [x, c], outputs="y")
    g.output("y")


def constant_value_float(g):
    x = g.input("x", [N, 4, 5])
    c = g.op("Constant", [], value_float=1.5)
    g.op("Mul", [x, c], outputs="y")
    g.output("y")


def constant_value_floats(g):
    x = g.input("x", [N, 4, 5])
    c = g.op("Constant", [], value_floats=[0.5, -1.0, 2.0, 0.0, 3.5])
    g.op("Add", [x, c], outputs="y")
    g.output("y")


def constant_int_shape(g):
    x = g.input("x", [N, 4, 5, 6])
    s1 = g.op("Constant", [], value_ints=[0, -1])
    y = g.op("Reshape", [x, s1])
    s2 = g.op("Constant", [], value=helper.make_tensor("s", TensorProto.INT64, [3], [0, 20, 6]))
    g.op("Reshape", [y, s2], outputs="y")
    g.output("y")


def constant_raw_data(g):
    # Tensor stored in raw_data (numpy_helper) rather than float_data (helper.make_tensor lists)
    from onnx import numpy_helper
    x = g.input("x", [N, 3, 4])
    c = g.op("Constant", [], value=numpy_helper.from_array(g.normal([3, 4]), "c"))
    g.op("Sub", [x, c], outputs="y")
    g.output("y")


add("constant_tensor_float_data", constant_tensor, 17, EXACT, description="Constant value=tensor (float_data) [C,1,1]")
add("constant_value_float", constant_value_float, 17, EXACT, description="Constant value_float (0-d)")
add("constant_value_floats", constant_value_floats, 17, EXACT, description="Constant value_floats (1-D)")
add("constant_int64_shapes", constant_int_shape, 17, EXACT,
    description="Constant value_ints and int64 tensor used as Reshape shapes")
add("constant_tensor_raw_data", constant_raw_data, 17, EXACT, description="Constant value=tensor (raw_data)")


# --------------------------------------------------------------------------------------------
# Shape / Gather / Slice
# --------------------------------------------------------------------------------------------
def gather(name, shape, indices, axis, opset=17):
    def build(g):
        x = g.input("x", shape)
        g.op("Gather", [x, g.i64(indices, "indices")], outputs="y", axis=axis)
        g.output("y")

    add(name, build, opset, EXACT, description=f"Gather axis={axis} indices={indices}")


gather("gather_axis1_neg_indices", [N, 4, 5, 6], [2, 0, -1], 1)
gather("gather_scalar_index_axis1", [N, 4, 5, 6], 1, 1)
gather("gather_2d_indices_axis2", [N, 3, 5, 4], [[0, 1], [4, -2]], 2)
gather("gather_axis_neg1_opset11", [N, 3, 5], [4, 0], -1, opset=11)


def slice_fixture(name, shape, starts, ends, axes=None, steps=None, opset=17):
    def build(g):
        x = g.input("x", shape)
        ins = [x, g.i64(starts, "starts"), g.i64(ends, "ends")]
        if axes is not None or steps is not None:
            ins.append(g.i64(axes, "axes") if axes is not None else "")
        if steps is not None:
            ins.append(g.i64(steps, "steps"))
        g.op("Slice", ins, outputs="y")
        g.output("y")

    add(name, build, opset, EXACT,
        description=f"Slice starts={starts} ends={ends} axes={axes} steps={steps}")


slice_fixture("slice_basic", [N, 4, 6, 7], [1, 0], [3, 4], [1, 3])
slice_fixture("slice_negative_indices", [N, 4, 6, 7], [-3, 1], [-1, -1], [-1, 2])
slice_fixture("slice_steps_int64max", [N, 4, 7, 8], [0, 1], [I64_MAX, 7], [2, 3], [2, 3])
slice_fixture("slice_flip_negative_step", [N, 3, 5, 6], [-1], [I64_MIN], [3], [-1],
              )
slice_fixture("slice_negative_step2_clamped", [N, 5, 6], [100, -2], [-100, 0], [1, 2], [-2, -1])
slice_fixture("slice_no_axes_all_dims", [N, 4, 5, 6], [0, 1, 0, 2], [I64_MAX, 3, I64_MAX, -1])
slice_fixture("slice_opset11", [N, 4, 6, 7], [1, -5], [4, 10], [1, -1], [1, 2], opset=11)


def shape_start_end(g):
    x = g.input("x", [N, 3, 4, 5])
    hw = g.op("Shape", [x], start=-2)
    target = g.op("Concat", [g.i64([-1], "m1"), hw], axis=0)
    g.op("Reshape", [x, target], outputs="y")
    g.output("y")


def shape_roundtrip(g):
    x = g.input("x", [N, 3, 4, 5])
    f = g.op("Flatten", [x], axis=1)
    f = g.op("LeakyRelu", [f], alpha=0.1)
    g.op("Reshape", [f, g.op("Shape", [x])], outputs="y")
    g.output("y")


def shape_gather_channels(g):
    # y = x[:, :C//2] computed from the runtime shape, as PyTorch exports chunk/split by size.
    x = g.input("x", [N, 6, 4, 5])
    shp = g.op("Shape", [x])
    c = g.op("Gather", [shp, g.i64([1], "one")], axis=0)
    half = g.op("Div", [c, g.i64([2], "two")])
    g.op("Slice", [x, g.i64([0], "zero"), half, g.i64([1], "axis1")], outputs="y")
    g.output("y")


add("shape_start_neg2", shape_start_end, 17, EXACT,
    description="Shape-15 start=-2 -> Concat([-1], hw) -> Reshape")
add("shape_reshape_roundtrip", shape_roundtrip, 17, EXACT,
    description="Flatten, LeakyRelu, Reshape back to Shape(x)")
add("shape_gather_div_slice", shape_gather_channels, 17, EXACT,
    description="Shape->Gather([1])->Div(int64)->Slice(ends input computed at runtime)")


# --------------------------------------------------------------------------------------------
# More Resize conventions (opset 18+: axes attribute; other nearest modes)
# --------------------------------------------------------------------------------------------
def resize_axes(g):
    x = g.input("x", [N, 3, 5, 6])
    g.op("Resize", [x, "", g.f32([2.0, 3.0], "scales")], outputs="y", mode="nearest",
         coordinate_transformation_mode="asymmetric", nearest_mode="floor", axes=[2, 3])
    g.output("y")


def resize_axes_sizes_linear(g):
    x = g.input("x", [N, 3, 5, 6])
    g.op("Resize", [x, "", "", g.i64([7, 9], "sizes")], outputs="y", mode="linear",
         coordinate_transformation_mode="align_corners", axes=[-2, -1])
    g.output("y")


add("resize_nearest_axes_attr_opset18", resize_axes, 18, EXACT,
    description="Resize-18 with axes=[2,3] attribute and 2-element scales [2,3]")
add("resize_linear_axes_sizes_opset19", resize_axes_sizes_linear, 19, ACCUM,
    description="Resize-19 linear align_corners with axes=[-2,-1] and 2-element sizes [7,9]")
resize("resize_nearest_half_pixel_round_prefer_ceil", [N, 2, 5, 6], 13, "nearest", "half_pixel",
       "round_prefer_ceil", scales=[1, 1, 1.6, 2.0])
resize("resize_nearest_align_corners_ceil", [N, 2, 5, 6], 13, "nearest", "align_corners", "ceil",
       scales=[1, 1, 2, 1.5])


# --------------------------------------------------------------------------------------------
# Tiny composite blocks (quicker to debug than the whole networks)
# --------------------------------------------------------------------------------------------
def block_conv_bn_relu(g):
    x = g.input("x", [N, 4, 8, 8])
    y = g.conv_bn(x, 4, 6, 3, 1, 1, base="b")
    g.op("Identity", [y], outputs="y")
    g.output("y")


def block_residual_downsample(g):
    from nets import basic_block
    x = g.input("x", [N, 4, 8, 8])
    y = basic_block(g, x, 4, 8, 2, "blk")
    g.op("Identity", [y], outputs="y")
    g.output("y")


def block_se(g):
    from nets import squeeze_excite
    x = g.input("x", [N, 8, 6, 6])
    y = squeeze_excite(g, x, 8, "se")
    g.op("Identity", [y], outputs="y")
    g.output("y")


def block_multi_output(g):
    # Two graph outputs, one of them an intermediate that is also consumed further.
    x = g.input("x", [N, 3, 6, 6])
    a = g.op("Relu", [g.conv(x, 3, 4, 3, base="c1")], outputs="features")
    g.output("features")
    p = g.op("GlobalAveragePool", [a])
    g.op("Flatten", [p], outputs="pooled", axis=1)
    g.output("pooled")


add("block_conv_bn_relu", block_conv_bn_relu, 17, ACCUM, description="Conv(no bias)->BN->Relu")
add("block_resnet_basic_downsample", block_residual_downsample, 17, ACCUM,
    description="ResNet BasicBlock stride 2 with 1x1 conv+BN shortcut")
add("block_squeeze_excite", block_se, 17, ACCUM,
    description="SE: GAP->1x1 conv->Relu->1x1 conv->HardSigmoid(1/6,0.5)->Mul")
add("block_two_outputs", block_multi_output, 17, ACCUM,
    description="two graph outputs; 'features' is also consumed by later nodes")

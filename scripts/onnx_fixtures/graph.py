"""Tiny helper for building ONNX graphs with onnx.helper, plus seeded weight initialisers.

Everything random goes through the numpy Generator passed in (default_rng with a fixed seed),
so a given builder always produces byte-identical models.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64

BATCH = "N"  # dim_param used for the batch dimension of graph inputs/outputs


class Graph:
    def __init__(self, name: str, opset: int, rng: np.random.Generator):
        self.name = name
        self.opset = opset
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[tuple[str, list, int]] = []
        self.outputs: list[tuple[str, int]] = []
        self.dists: dict[str, tuple] = {}
        self._counter: dict[str, int] = {}

    # ---- naming ---------------------------------------------------------------------------
    def uniq(self, base: str) -> str:
        n = self._counter.get(base, 0)
        self._counter[base] = n + 1
        return f"{base}_{n}"

    # ---- graph I/O --------------------------------------------------------------------------
    def input(self, name: str, shape: list, dist=("normal",), dtype: int = FLOAT) -> str:
        """shape: ints and/or strings (dim_param). Use BATCH ("N") for the batch dimension (axis 0).
        dist: ("normal",) | ("uniform", lo, hi) | ("ints", lo, hi) | ("image",) -- see sample_input."""
        self.inputs.append((name, list(shape), dtype))
        self.dists[name] = dist
        return name

    def output(self, name: str, dtype: int = FLOAT) -> str:
        """Output shapes are filled in later from the runtime shapes (see make_fixtures.py)."""
        self.outputs.append((name, dtype))
        return name

    # ---- initialisers ----------------------------------------------------------------------
    def const(self, arr, base: str = "const", dtype=None) -> str:
        arr = np.asarray(arr)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.int32 or arr.dtype == np.int64 or arr.dtype == int:
            arr = arr.astype(np.int64)
        name = self.uniq(base)
        self.inits.append(numpy_helper.from_array(np.array(arr, order="C"), name))  # keeps 0-d
        return name

    def i64(self, values, base: str = "i64") -> str:
        return self.const(np.asarray(values, dtype=np.int64), base)

    def f32(self, values, base: str = "f32") -> str:
        return self.const(np.asarray(values, dtype=np.float32), base)

    # ---- random weights ----------------------------------------------------------------------
    def he(self, shape, fan_in: int, gain: float = 2.0) -> np.ndarray:
        return (self.rng.standard_normal(shape) * np.sqrt(gain / fan_in)).astype(np.float32)

    def uniform(self, shape, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, size=shape).astype(np.float32)

    def normal(self, shape, std: float = 1.0, mean: float = 0.0) -> np.ndarray:
        return (mean + std * self.rng.standard_normal(shape)).astype(np.float32)

    def bn_params(self, c: int, base: str = "bn"):
        """BatchNorm parameters randomised enough that a wrong formula shows up."""
        gamma = self.uniform([c], 0.5, 1.5)
        beta = self.uniform([c], -0.2, 0.2)
        mean = self.uniform([c], -0.2, 0.2)
        var = self.uniform([c], 0.5, 2.0)
        return [self.const(gamma, f"{base}.weight"), self.const(beta, f"{base}.bias"),
                self.const(mean, f"{base}.running_mean"), self.const(var, f"{base}.running_var")]

    # ---- nodes ---------------------------------------------------------------------------------
    def op(self, op_type: str, inputs: list[str], outputs=None, n_out: int = 1, **attrs):
        """Adds a node; returns its output name (or a list when n_out > 1 / outputs is a list)."""
        if outputs is None:
            outputs = [self.uniq(op_type.lower()) for _ in range(n_out)]
        elif isinstance(outputs, str):
            outputs = [outputs]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node = helper.make_node(op_type, list(inputs), list(outputs),
                                name=self.uniq(op_type), **attrs)
        self.nodes.append(node)
        return outputs[0] if len(outputs) == 1 else outputs

    # ---- common PyTorch-style blocks -------------------------------------------------------------
    def conv(self, x, cin, cout, k, stride=1, pad=None, groups=1, bias=True, dilation=1,
             base="conv", out=None):
        kh, kw = (k, k) if isinstance(k, int) else k
        if pad is None:
            pad = (kh // 2) * dilation
        fan_in = (cin // groups) * kh * kw
        w = self.const(self.he([cout, cin // groups, kh, kw], fan_in), f"{base}.weight")
        ins = [x, w]
        if bias:
            ins.append(self.const(self.uniform([cout], -0.1, 0.1), f"{base}.bias"))
        pads = [pad] * 4 if isinstance(pad, int) else list(pad)
        return self.op("Conv", ins, outputs=out, kernel_shape=[kh, kw], strides=[stride, stride],
                       pads=pads, dilations=[dilation, dilation], group=groups)

    def bn(self, x, c, base="bn", eps=1e-5, out=None):
        return self.op("BatchNormalization", [x] + self.bn_params(c, base), outputs=out,
                       epsilon=eps, momentum=0.9)

    def relu(self, x, out=None):
        return self.op("Relu", [x], outputs=out)

    def relu6(self, x, out=None):
        # PyTorch (opset >= 11) exports nn.ReLU6 as Clip(x, min, max) with scalar constant inputs.
        return self.op("Clip", [x, self.f32(0.0, "clip_min"), self.f32(6.0, "clip_max")], outputs=out)

    def conv_bn(self, x, cin, cout, k, stride=1, pad=None, groups=1, base="cb", act="relu"):
        y = self.conv(x, cin, cout, k, stride, pad, groups, bias=False, base=f"{base}.conv")
        y = self.bn(y, cout, base=f"{base}.bn")
        if act == "relu":
            y = self.relu(y)
        elif act == "relu6":
            y = self.relu6(y)
        elif act == "hardswish":
            y = self.op("HardSwish", [y])
        return y

    def linear(self, x, fin, fout, base="fc", out=None, bias_scale=0.05):
        # PyTorch nn.Linear -> Gemm(x, W[out,in], b, transB=1)
        w = self.const(self.he([fout, fin], fin), f"{base}.weight")
        b = self.const(self.uniform([fout], -bias_scale, bias_scale), f"{base}.bias")
        return self.op("Gemm", [x, w, b], outputs=out, alpha=1.0, beta=1.0, transB=1)

    def torch_flatten(self, x, out=None):
        """x.view(x.size(0), -1) as exported by PyTorch: Shape->Gather->Unsqueeze->Concat->Reshape."""
        shp = self.op("Shape", [x])
        n = self.op("Gather", [shp, self.i64(0, "idx0")], axis=0)
        if self.opset >= 13:
            n1 = self.op("Unsqueeze", [n, self.i64([0], "axes")])
        else:
            n1 = self.op("Unsqueeze", [n], axes=[0])
        target = self.op("Concat", [n1, self.i64([-1], "minus1")], axis=0)
        return self.op("Reshape", [x, target], outputs=out)

    # ---- model ---------------------------------------------------------------------------------
    def model(self, output_shapes: dict[str, list] | None = None) -> onnx.ModelProto:
        inputs = [helper.make_tensor_value_info(n, dt, shp) for n, shp, dt in self.inputs]
        outputs = []
        for n, dt in self.outputs:
            shp = None if output_shapes is None else output_shapes.get(n)
            outputs.append(helper.make_tensor_value_info(n, dt, shp))
        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, initializer=self.inits)
        opset = [helper.make_opsetid("", self.opset)]
        m = helper.make_model(graph, opset_imports=opset, producer_name="landcover-onnx-fixtures",
                              producer_version="1")
        m.ir_version = helper.find_min_ir_version_for(opset)
        return m

#!/usr/bin/env python3
"""Exports the models users bring (issue 16) with torch on CPU and records onnxruntime's outputs.

    python3 scripts/onnx_fixtures/make_user_models.py --out DIR [--only SUBSTRING,...]

Writes DIR/manifest.json and, per model, NAME.onnx (plus NAME.onnx.data when the export keeps its
weights outside), the input `NAME.input.npy` and onnxruntime's first output `NAME.expected.npy`:

- vit_torchscript / vit_dynamo: a small ViT (13 bands, 16x16 patch embedding, 2 pre-norm encoder
  blocks with GELU (erf) and softmax attention, class token, linear head), TorchScript and dynamo
  exporters, dynamic batch.
- cnn_batch1: a small CNN exported with a fixed batch of 1 (the TorchScript exporter's default).
- cnn_external: the same CNN exported by the dynamo exporter with its weights in `.onnx.data`.
- cnn_nhwc: a CNN whose input is channels-last `[N, 64, 64, 13]` (permuted inside the model).
- cnn_float16: the CNN converted to float16 with `keep_io_types=True` (onnxconverter-common, when
  installed); cnn_float16_ort / cnn_float16_io: onnxruntime.transformers' converter with and
  without `keep_io_types` (float16 input and output, its input stored as float16 `.npy`).

Each model carries a landcover contract (metadata_props) so that the CLI tests can run it in a
pipeline. Exits 3 (and prints why) when torch is not installed, so tests can skip with a reason.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as error:  # pragma: no cover - the test command installs torch
    print(f"torch is not installed ({error}); install it with scripts/setup.sh --python", file=sys.stderr)
    sys.exit(3)

import onnx
import onnxruntime as ort

BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
CLASSES = ["water", "forest", "crop", "urban"]
COLORS = ["#0000ff", "#00aa00", "#ffff00", "#ff0000"]


def contract(task: str, layout: str | None = None) -> dict[str, str]:
    entries = {
        "landcover.contract_version": "1",
        "landcover.task": task,
        "landcover.bands": ",".join(BANDS),
        # Roughly zero-mean, unit-variance inputs on a Sentinel-2 L1C scene, so that the random
        # networks give maps of several classes.
        "landcover.normalization": json.dumps({"type": "mean_std", "mean": [1500.0] * 13, "std": [600.0] * 13}),
        "landcover.patch_size": "64",
        "landcover.class_names": ",".join(CLASSES),
        "landcover.class_colors": ",".join(COLORS),
    }
    if layout:
        entries["landcover.input_layout"] = layout
    return entries


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))

    def forward(self, x):
        y = self.norm1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """Patch embedding (Conv 16x16 stride 16), class token, position embedding, 2 blocks, head."""

    def __init__(self, bands=13, size=64, patch=16, dim=32, heads=4, classes=4):
        super().__init__()
        self.embed = nn.Conv2d(bands, dim, patch, stride=patch)
        tokens = (size // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.1)
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.1)
        self.blocks = nn.Sequential(Block(dim, heads), Block(dim, heads))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


class SmallCNN(nn.Module):
    def __init__(self, channels_last_input: bool = False):
        super().__init__()
        self.channels_last_input = channels_last_input
        self.features = nn.Sequential(
            nn.Conv2d(13, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        if self.channels_last_input:
            x = x.permute(0, 3, 1, 2)
        return self.head(self.features(x).flatten(1))


def session(path: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def add_contract(path: str, entries: dict[str, str], external: bool = False) -> None:
    model = onnx.load(path, load_external_data=False)
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)


def export(model: nn.Module, example: torch.Tensor, path: str, dynamo: bool, dynamic_batch: bool,
           external: bool = False) -> None:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            shapes = ({0: torch.export.Dim("N", min=1, max=1024)},) if dynamic_batch else None
            program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=shapes,
                                        input_names=["input"], output_names=["output"], opset_version=18)
            program.save(path, external_data=external)
        else:
            axes = {"input": {0: "N"}, "output": {0: "N"}} if dynamic_batch else None
            torch.onnx.export(model, (example,), path, dynamo=False, input_names=["input"], output_names=["output"],
                              dynamic_axes=axes, opset_version=17)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="", help="comma-separated name substrings of the models to make")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(16)
    rng = np.random.default_rng(16)
    fixtures = []

    def record(name: str, batch: int, shape_tail: tuple, layout: str = "NCHW", extra: dict | None = None) -> None:
        path = os.path.join(args.out, name + ".onnx")
        x = rng.standard_normal((batch, *shape_tail)).astype(np.float32)
        expected = session(path).run(None, {session(path).get_inputs()[0].name: x})[0] if batch > 0 else None
        np.save(os.path.join(args.out, name + ".input.npy"), x)
        np.save(os.path.join(args.out, name + ".expected.npy"), expected)
        entry = {"name": name, "model": name + ".onnx", "input": name + ".input.npy",
                 "expected": name + ".expected.npy", "layout": layout}
        entry.update(extra or {})
        fixtures.append(entry)

    def wanted(name: str) -> bool:
        return any(part in name for part in args.only.split(","))

    vit = TinyViT().eval()
    image = torch.randn(2, 13, 64, 64)
    for name, dynamo in (("vit_torchscript", False), ("vit_dynamo", True)):
        if not wanted(name):
            continue
        path = os.path.join(args.out, name + ".onnx")
        export(vit, image, path, dynamo=dynamo, dynamic_batch=True)
        add_contract(path, contract("patch_classification"))
        record(name, 5, (13, 64, 64))

    cnn = SmallCNN().eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        cnn.features[1].running_mean.uniform_(-0.5, 0.5)
        cnn.features[1].running_var.uniform_(0.5, 2.0)
    if wanted("cnn_batch1"):
        path = os.path.join(args.out, "cnn_batch1.onnx")
        export(cnn, torch.randn(1, 13, 64, 64), path, dynamo=False, dynamic_batch=False)
        add_contract(path, contract("patch_classification"))
        # onnxruntime only takes batch 1 here: record 5 patches one by one.
        x = rng.standard_normal((5, 13, 64, 64)).astype(np.float32)
        ort_session = session(path)
        expected = np.concatenate([ort_session.run(None, {"input": x[i:i + 1]})[0] for i in range(5)])
        np.save(os.path.join(args.out, "cnn_batch1.input.npy"), x)
        np.save(os.path.join(args.out, "cnn_batch1.expected.npy"), expected)
        fixtures.append({"name": "cnn_batch1", "model": "cnn_batch1.onnx", "input": "cnn_batch1.input.npy",
                         "expected": "cnn_batch1.expected.npy", "layout": "NCHW", "fixed_batch": 1})
    if wanted("cnn_external"):
        path = os.path.join(args.out, "cnn_external.onnx")
        export(cnn, torch.randn(2, 13, 64, 64), path, dynamo=True, dynamic_batch=True, external=True)
        model = onnx.load(path, load_external_data=False)
        for key, value in contract("patch_classification").items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, path)  # keeps the external_data references as they are
        record("cnn_external", 5, (13, 64, 64), extra={"data_file": "cnn_external.onnx.data"})
    if wanted("cnn_nhwc"):
        nhwc = SmallCNN(channels_last_input=True).eval()
        nhwc.load_state_dict(cnn.state_dict())
        path = os.path.join(args.out, "cnn_nhwc.onnx")
        export(nhwc, torch.randn(2, 64, 64, 13), path, dynamo=False, dynamic_batch=True)
        add_contract(path, contract("patch_classification", layout="NHWC"))
        record("cnn_nhwc", 5, (64, 64, 13), layout="NHWC")
    if wanted("cnn_float16"):
        try:
            from onnxconverter_common import float16
        except ImportError:
            float16 = None
        if float16 is not None:
            source = os.path.join(args.out, "cnn_float32.onnx")
            export(cnn, torch.randn(2, 13, 64, 64), source, dynamo=False, dynamic_batch=True)
            half = float16.convert_float_to_float16(onnx.load(source), keep_io_types=True)
            for key, value in contract("patch_classification").items():
                half.metadata_props.add(key=key, value=value)
            path = os.path.join(args.out, "cnn_float16.onnx")
            onnx.save(half, path)
            os.remove(source)
            record("cnn_float16", 5, (13, 64, 64), extra={"half": True})

    if wanted("float16_ort"):
        # onnxruntime's own converter writes the input Casts after the nodes reading them.
        from onnxruntime.transformers import float16 as ort_float16
        source = os.path.join(args.out, "cnn_float32.onnx")
        export(cnn, torch.randn(2, 13, 64, 64), source, dynamo=False, dynamic_batch=True)
        for name, keep in (("cnn_float16_ort", True), ("cnn_float16_io", False)):
            half = ort_float16.convert_float_to_float16(onnx.load(source), keep_io_types=keep)
            for key, value in contract("patch_classification").items():
                half.metadata_props.add(key=key, value=value)
            path = os.path.join(args.out, name + ".onnx")
            onnx.save(half, path)
            x = rng.standard_normal((5, 13, 64, 64)).astype(np.float32 if keep else np.float16)
            expected = session(path).run(None, {"input": x})[0].astype(np.float32)
            np.save(os.path.join(args.out, name + ".input.npy"), x)
            np.save(os.path.join(args.out, name + ".expected.npy"), expected)
            fixtures.append({"name": name, "model": name + ".onnx", "input": name + ".input.npy",
                             "expected": name + ".expected.npy", "layout": "NCHW", "half": True})
        os.remove(source)

    with open(os.path.join(args.out, "manifest.json"), "w") as handle:
        json.dump({"torch": torch.__version__, "onnxruntime": ort.__version__, "fixtures": fixtures}, handle, indent=1)
    print(f"{len(fixtures)} models in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

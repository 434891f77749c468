#!/usr/bin/env python3
"""Sanity checks for a generated fixture directory (not needed to generate fixtures):

  * onnx.checker.check_model(full_check=True) on every model file,
  * every case's npy exists, is float32 little-endian C-order, and the batch dim matches,
  * the ORT references agree with onnx's pure-Python reference implementation
    (onnx.reference.ReferenceEvaluator) on the smallest batched case (or the static case),
    within the fixture's tolerance. Disagreements are printed, not fatal: they show where the
    ORT behaviour (which the fixtures encode) differs from the ONNX reference implementation.

    python3 scripts/onnx_fixtures/crosscheck.py DIR [--skip-networks]
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator


# Disagreements that were checked by hand against independent numpy implementations: in each
# case onnxruntime is right and onnx.reference (onnx 1.23) is wrong or incomplete.
KNOWN_REFERENCE_GAPS = {
    "convt_groups2_asym_pads": "reference ConvTranspose fails with group > 1",
    "convt_output_shape": "reference ConvTranspose fails when output_shape < natural size",
    "bn_4d_eps1e-3_opset11": "reference BatchNormalization-9 is wrong",
    "bn_4d_opset9": "reference BatchNormalization-9 is wrong",
    "globalmaxpool_1d": "reference GlobalMaxPool drops the trailing dim for 3-D input",
    "pad_negative_crop": "reference Pad rejects negative pads",
    "upsample_linear_opset9": "reference Upsample has no linear mode for these scales",
    "softmax_opset11_axis1_4d": "reference ignores the opset<13 coerce-to-2-D semantics",
    "softmax_opset11_axis2_4d": "reference ignores the opset<13 coerce-to-2-D semantics",
    "logsoftmax_opset11_axis1_4d": "reference ignores the opset<13 coerce-to-2-D semantics",
    "logsoftmax_opset11_axis2_4d": "reference ignores the opset<13 coerce-to-2-D semantics",
    "logsoftmax_2d_large_values": "reference LogSoftmax overflows (log of 0)",
    "resize_linear_axes_sizes_opset19": "reference Resize fails with negative axes",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--skip-networks", action="store_true")
    args = ap.parse_args()
    man = json.load(open(os.path.join(args.dir, "manifest.json")))
    bad = 0
    known = 0
    for f in man["fixtures"]:
        model = onnx.load(os.path.join(args.dir, f["model"]))
        onnx.checker.check_model(model, full_check=True)
        for c in f["cases"]:
            for group in ("inputs", "outputs"):
                for n, fn in c[group].items():
                    a = np.load(os.path.join(args.dir, fn))
                    assert a.dtype == np.dtype("<f4") and a.flags.c_contiguous, fn
                    if group == "inputs" and c["batch"] is not None:
                        dims = [d.dim_param for d in next(i for i in model.graph.input if i.name == n)
                                .type.tensor_type.shape.dim]
                        if dims and dims[0] == "N":
                            assert a.shape[0] == c["batch"], fn
        if args.skip_networks and f["kind"] == "network":
            continue
        c = f["cases"][1] if len(f["cases"]) > 1 else f["cases"][0]
        feeds = {n: np.load(os.path.join(args.dir, fn)) for n, fn in c["inputs"].items()}
        if f["name"] in KNOWN_REFERENCE_GAPS:
            known += 1
            continue
        try:
            with np.errstate(all="ignore"):
                got = ReferenceEvaluator(model).run(None, feeds)
        except Exception as e:  # noqa: BLE001
            print(f"{f['name']:45s} reference evaluator failed: {str(e).splitlines()[0][:100]}")
            bad += 1
            continue
        for (n, fn), r in zip(c["outputs"].items(), got):
            ref = np.load(os.path.join(args.dir, fn))
            r = np.asarray(r).astype(np.float32)
            if r.shape != ref.shape:
                print(f"{f['name']:45s} {n}: SHAPE ort {ref.shape} vs reference {r.shape}")
                bad += 1
                continue
            err = np.abs(r - ref) - (f["atol"] + f["rtol"] * np.abs(ref))
            if (err > 0).any():
                print(f"{f['name']:45s} {n}: {int((err > 0).sum())}/{ref.size} elements off, "
                      f"max abs diff {np.abs(r - ref).max():.3g}")
                bad += 1
    print(f"crosscheck: {len(man['fixtures'])} fixtures checked (models, npy files); "
          f"{bad} unexpected disagreements with onnx.reference, {known} known reference gaps skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

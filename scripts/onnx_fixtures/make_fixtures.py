#!/usr/bin/env python3
"""Builds the ONNX correctness fixtures for the Swift CNN engine (issue 3).

    python3 scripts/onnx_fixtures/make_fixtures.py --out Tests/Fixtures/generated/onnx \
        [--bench-out DIR] [--only SUBSTRING]

Every fixture is a small ONNX model with seeded weights plus reference outputs computed by
onnxruntime (CPU, fp32, graph optimisations disabled, 1 thread). See README.md for the manifest
format. Output is byte-for-byte deterministic.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import numpy_helper  # noqa: E402

import nets  # noqa: E402,F401  (registers network fixtures)
import ops  # noqa: E402,F401  (registers operator fixtures)
from graph import BATCH, Graph  # noqa: E402
from registry import FIXTURES, Fixture  # noqa: E402

BATCHES = (1, 7, 64)
ONNX_DTYPE_NAMES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT64: "int64"}


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def sample(rng: np.random.Generator, shape: list[int], dist: tuple) -> np.ndarray:
    kind = dist[0]
    if kind == "normal":
        std = dist[1] if len(dist) > 1 else 1.0
        x = rng.standard_normal(shape) * std
    elif kind == "uniform":
        x = rng.uniform(dist[1], dist[2], size=shape)
    elif kind == "ints":
        x = rng.integers(dist[1], dist[2] + 1, size=shape)
    elif kind == "image":
        # Per-sample, per-channel offset and gain on top of white noise, so that samples differ in
        # their global statistics (otherwise GAP-based classifiers map all noise images to ~the
        # same logits and argmax comparisons are meaningless).
        b, c = shape[0], shape[1]
        bshape = [b, c] + [1] * (len(shape) - 2)
        off = rng.uniform(-1.0, 1.0, size=bshape)
        gain = rng.uniform(0.5, 1.5, size=bshape)
        x = rng.standard_normal(shape) * gain + off
    else:
        raise ValueError(f"unknown distribution {dist}")
    return np.array(order="C", object=x, dtype=np.float32)


def is_batched(g: Graph) -> bool:
    return any(BATCH in shp for _, shp, _ in g.inputs)


def concrete(shape: list, b: int) -> list[int]:
    return [b if d == BATCH else d for d in shape]


def draw_inputs(g: Graph, rng: np.random.Generator, bmax: int) -> dict[str, np.ndarray]:
    return {n: sample(rng, concrete(shp, bmax), g.dists[n]) for n, shp, _ in g.inputs}


def run(sess, feeds):
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def output_shapes(results: dict[int, dict[str, np.ndarray]], batched: bool) -> dict[str, list]:
    """Declared graph output shapes: dims that follow the batch size -> "N", constant dims -> int,
    anything else -> a dim_param of its own."""
    shapes = {}
    any_res = next(iter(results.values()))
    for name in any_res:
        per_b = {b: r[name].shape for b, r in results.items()}
        ranks = {len(s) for s in per_b.values()}
        assert len(ranks) == 1, (name, per_b)
        dims = []
        for i in range(ranks.pop()):
            vals = {b: s[i] for b, s in per_b.items()}
            if len(set(vals.values())) == 1 and not (batched and all(v == b for b, v in vals.items() if b > 1)):
                dims.append(int(next(iter(vals.values()))))
            elif batched and all(v == b for b, v in vals.items()):
                dims.append(BATCH)
            else:
                dims.append(f"{name}_dim{i}")
        shapes[name] = dims
    return shapes


def margins(y: np.ndarray, axis: int) -> np.ndarray:
    s = np.sort(y, axis=axis)
    top1 = np.take(s, -1, axis=axis)
    top2 = np.take(s, -2, axis=axis)
    return top1 - top2


def calibrate_head(g: Graph, rng: np.random.Generator, nb: int = 64):
    """Data-dependent init of the final affine layer (Gemm transB=1 or 1x1 Conv producing the
    first graph output): rescale each class row so that, on a calibration batch drawn from the
    input distribution (separate from the test inputs), every logit has mean 0 and std 1.
    Random ReLU nets otherwise give one dominant class, making argmax checks meaningless."""
    out = g.outputs[0][0]
    node = next(n for n in g.nodes if out in n.output)
    assert node.op_type in ("Gemm", "Conv") and len(node.input) == 3, node.op_type
    y = run(session(g.model()), draw_inputs(g, rng, nb))[out]
    axes = tuple(i for i in range(y.ndim) if i != 1)
    mu = y.mean(axis=axes, dtype=np.float64)
    sd = y.std(axis=axes, dtype=np.float64)
    inits = {t.name: i for i, t in enumerate(g.inits)}
    w = numpy_helper.to_array(g.inits[inits[node.input[1]]]).astype(np.float64)
    b = numpy_helper.to_array(g.inits[inits[node.input[2]]]).astype(np.float64)
    scale = 1.0 / sd
    w = w * scale.reshape([-1] + [1] * (w.ndim - 1))
    b = (b - mu) * scale
    g.inits[inits[node.input[1]]] = numpy_helper.from_array(w.astype(np.float32), node.input[1])
    g.inits[inits[node.input[2]]] = numpy_helper.from_array(b.astype(np.float32), node.input[2])


def build_fixture(f: Fixture, batches=BATCHES):
    """Returns (model, cases, info) where cases is a list of (batch, inputs, outputs)."""
    seed = seed_of(f.name)
    g = Graph(f.name, f.opset, np.random.default_rng([seed, 0]))
    f.build(g)
    batched = is_batched(g)
    if f.kind == "network":
        # Networks with the same input signature share the same input draw (and, through the
        # content dedup in write_set, the same npy files) to keep the fixture set small.
        in_rng = np.random.default_rng([seed_of(repr(g.inputs) + repr(g.dists)), 1])
    else:
        in_rng = np.random.default_rng([seed, 1])
    bmax = max(batches) if batched else None
    feeds_max = draw_inputs(g, in_rng, bmax)

    info: dict = {}
    if f.kind == "network":
        calibrate_head(g, np.random.default_rng([seed, 2]))
    probe = session(g.model())

    def slice_feeds(b):
        if not batched:
            return feeds_max
        return {n: np.array(order="C", object=feeds_max[n][:b]) if BATCH in shp else feeds_max[n]
                for n, shp, _ in g.inputs}

    if f.kind == "network" and f.argmax_axis is not None:
        # Redraw samples whose top-2 logits are too close (only meaningful for [N, classes]
        # outputs; dense outputs just report their margin statistics).
        out_name = g.outputs[0][0]
        for _ in range(50):
            y = run(probe, feeds_max)[out_name]
            if y.ndim != 2:
                break
            m = margins(y, f.argmax_axis)
            thr = 1e-3 * max(float(np.std(y)), 1e-3)
            bad = np.nonzero(m < thr)[0]
            if len(bad) == 0:
                break
            for n, shp, _ in g.inputs:
                fresh = sample(in_rng, concrete(shp, len(bad)), g.dists[n])
                feeds_max[n][bad] = fresh
        else:
            raise RuntimeError(f"{f.name}: could not get clear argmax margins")

    results = {b: run(probe, slice_feeds(b)) for b in (batches if batched else [None])}
    shapes = output_shapes(results, batched)
    model = g.model(shapes)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.shape_inference.InferenceError as e:
        # ONNX shape inference disagrees with what onnxruntime computes (e.g. ceil_mode pooling,
        # where onnxruntime follows PyTorch and drops windows that start in the padding). Keep
        # the runtime's answer as the reference, declare the output dims symbolic and say so.
        info["shape_inference_conflict"] = str(e).split("\n")[0][-300:]
        shapes = {n: [d if d == BATCH else f"{n}_dim{i}" for i, d in enumerate(s)]
                  for n, s in shapes.items()}
        model = g.model(shapes)
        onnx.checker.check_model(model, full_check=True)
    sess = session(model)
    cases = []
    for b in (batches if batched else [None]):
        feeds = slice_feeds(b)
        outs = run(sess, feeds)
        for k in outs:
            assert np.array_equal(outs[k], results[b][k]), f"{f.name}: output changed after adding shapes"
        cases.append((b, feeds, outs))

    if f.kind == "network":
        y = cases[-1][2][g.outputs[0][0]]
        info["output_std"] = float(np.std(y))
        if f.argmax_axis is not None:
            am = np.argmax(y, axis=f.argmax_axis)
            m = margins(y, f.argmax_axis)
            for b, _, outs in cases:
                amb = np.argmax(outs[g.outputs[0][0]], axis=f.argmax_axis)
                if b is not None and b > 1 and len(np.unique(amb)) < 2:
                    raise RuntimeError(f"{f.name}: argmax constant across batch {b}")
            info["argmax"] = {
                "output": g.outputs[0][0], "axis": f.argmax_axis,
                "batch": cases[-1][0], "distinct_classes": int(len(np.unique(am))),
                "min_margin": float(m.min()),
                "fraction_margin_below_1e-3": float(np.mean(m < 1e-3)),
            }
    return model, g, cases, info


def npy_bytes(arr: np.ndarray) -> bytes:
    arr = np.array(arr, dtype="<f4", order="C")  # int64 outputs are cast to float32 here
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


class NpyWriter:
    """Writes npy files; identical contents are written once and the first file name is reused."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.by_hash: dict[str, str] = {}

    def __call__(self, file_name: str, arr: np.ndarray) -> str:
        data = npy_bytes(arr)
        h = hashlib.sha256(data).hexdigest()
        if h in self.by_hash:
            return self.by_hash[h]
        with open(os.path.join(self.out_dir, file_name), "wb") as fh:
            fh.write(data)
        self.by_hash[h] = file_name
        return file_name


def write_set(fixtures, out_dir: str, batches=BATCHES, verbose=False):
    os.makedirs(out_dir, exist_ok=True)
    save = NpyWriter(out_dir)
    entries = []
    n_cases = 0
    for f in fixtures:
        t0 = time.time()
        try:
            model, g, cases, info = build_fixture(f, batches)
        except Exception as e:
            raise RuntimeError(f"fixture {f.name} failed: {e}") from e
        model_file = f"{f.name}.onnx"
        with open(os.path.join(out_dir, model_file), "wb") as fh:
            fh.write(model.SerializeToString())
        dtypes = {n: ONNX_DTYPE_NAMES[dt] for n, dt in g.outputs if dt != onnx.TensorProto.FLOAT}
        atol = f.atol
        if f.kind == "network":
            atol = float(f"{f.atol * max(1.0, info['output_std']):.3g}")
        entry = {
            "name": f.name,
            "model": model_file,
            "kind": f.kind,
            "opset": f.opset,
            "ops": sorted({n.op_type for n in model.graph.node}),
            "description": f.description,
            "rtol": f.rtol,
            "atol": atol,
            "batch_dim": BATCH if cases[0][0] is not None else None,
        }
        if dtypes:
            entry["dtypes"] = dtypes
            entry["notes"] = ", ".join(f"{n}: {d} output, stored as float32 in the npy"
                                       for n, d in dtypes.items())
        entry.update(info)
        entry["cases"] = []
        for b, feeds, outs in cases:
            tag = f"b{b}" if b is not None else "static"
            case = {"batch": b, "inputs": {}, "outputs": {}}
            for n, arr in feeds.items():
                case["inputs"][n] = save(f"{f.name}.{tag}.in.{n}.npy", arr)
            for n, arr in outs.items():
                case["outputs"][n] = save(f"{f.name}.{tag}.out.{n}.npy", arr)
            entry["cases"].append(case)
            n_cases += 1
        entries.append(entry)
        if verbose:
            extra = f" argmax={info['argmax']}" if "argmax" in info else ""
            print(f"  {f.name:45s} {time.time() - t0:6.2f}s{extra}", flush=True)
    manifest = {
        "format": 1,
        "generator": "scripts/onnx_fixtures/make_fixtures.py",
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
        "comparison": "|got - ref| <= atol + rtol * |ref| elementwise; int64 outputs must match exactly",
        "fixtures": entries,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=False)
        fh.write("\n")
    return len(entries), n_cases


def dir_bytes(d: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory for fixtures + manifest.json")
    ap.add_argument("--bench-out", help="also write the benchmark models (+ a small manifest) here")
    ap.add_argument("--only", help="only fixtures whose name contains this substring")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    fixtures = [f for f in FIXTURES if not args.only or args.only in f.name]
    nf, nc = write_set(fixtures, args.out, verbose=args.verbose)
    print(f"onnx fixtures: {nf} fixtures, {nc} cases, {dir_bytes(args.out)} bytes in {args.out}, "
          f"{time.time() - t0:.1f} s")
    if args.bench_out:
        t1 = time.time()
        nf, nc = write_set(nets.BENCH, args.bench_out, batches=(1, 7), verbose=args.verbose)
        print(f"bench models: {nf} models, {nc} cases, {dir_bytes(args.bench_out)} bytes in "
              f"{args.bench_out}, {time.time() - t1:.1f} s")


if __name__ == "__main__":
    main()

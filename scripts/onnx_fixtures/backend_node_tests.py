#!/usr/bin/env python3
"""Runs the ONNX backend node test cases of the `onnx` wheel through `landcover model predict`.

    python3 scripts/onnx_fixtures/backend_node_tests.py --landcover .build/release/landcover \
        --operators Conv,Relu,... [--json REPORT.json] [--only SUBSTRING] [--keep DIR]

The cases are the ones `onnx.backend.test.case.node.collect_testcases` builds (the same models and
data the wheel's `backend/test/data/node` folders hold; recent wheels ship the generators, not the
files). A case counts for an operator when its graph is a single node of that operator (the
`_expanded` function-body variants and multi-node cases are left out). Each case's model and its
inputs (as .npy) are written to a temporary folder, run with `landcover model predict`, and every
output is compared with the expected one by the case's own tolerances (onnx's defaults: rtol 1e-3,
atol 1e-7; NaN matches NaN, bools and integers compare exactly).

Prints one line per operator (passed/total) and the failures with the first line of landcover's
error, and writes the same as JSON with --json. A case "crashes" when landcover is killed by a
signal or exits with a code other than 0, 1 or 2 (or 4: an I/O failure); the exit status is 1 when
any case crashed, else 0.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

warnings.simplefilter("ignore")
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402


def collect():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases
        return collect_testcases(None)


def to_array(value):
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return np.asarray(value)


def npy_ready(array: np.ndarray):
    """The array as landcover reads it (.npy of a supported dtype), or None."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype in (np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16):
        return np.ascontiguousarray(array)
    if array.dtype in (np.uint32, np.uint64):
        if array.size and array.max() > np.iinfo(np.int64).max:
            return None
        return array.astype(np.int64)
    return None


def compare(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    if got.shape != expected.shape:
        return f"shape {list(got.shape)}, expected {list(expected.shape)}"
    if expected.dtype.kind in "biu":
        if not np.array_equal(got.astype(np.float64), expected.astype(np.float64)):
            return "integer values differ"
        return None
    if expected.dtype.kind != "f":
        return f"expected dtype {expected.dtype} cannot be compared"
    e = expected.astype(np.float64)
    g = got.astype(np.float64)
    if expected.dtype == np.float16:
        rtol, atol = max(rtol, 1e-3), max(atol, 1e-3)
    ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        index = np.argwhere(~ok)[0]
        return f"{int((~ok).sum())} of {ok.size} values differ (at {index.tolist()}: {g[tuple(index)]} vs {e[tuple(index)]})"
    return None


def safe_name(name: str) -> str:
    return "".join("_" if c in "/\\:" else c for c in name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--landcover", required=True)
    parser.add_argument("--operators", required=True, help="comma-separated operator names to test")
    parser.add_argument("--json")
    parser.add_argument("--only", default="")
    parser.add_argument("--keep")
    args = parser.parse_args()
    operators = set(filter(None, args.operators.split(",")))
    results = collections.defaultdict(lambda: {"passed": 0, "total": 0, "failures": []})
    crashed = []
    root = args.keep or tempfile.mkdtemp(prefix="landcover-node-tests-")
    for case in collect():
        if case.kind != "node" or args.only not in case.name or case.name.endswith("_expanded") or "_expanded_" in case.name:
            continue
        nodes = case.model.graph.node
        if len(nodes) != 1 or nodes[0].domain not in ("", "ai.onnx") or nodes[0].op_type not in operators:
            continue
        op = nodes[0].op_type
        for set_index, (inputs, outputs) in enumerate(case.data_sets):
            label = case.name if len(case.data_sets) == 1 else f"{case.name}[{set_index}]"
            entry = results[op]
            entry["total"] += 1
            folder = os.path.join(root, label)
            os.makedirs(folder, exist_ok=True)
            model_path = os.path.join(folder, "model.onnx")
            onnx.save(case.model, model_path)
            command = [args.landcover, "model", "predict", model_path, "--output-dir", os.path.join(folder, "out")]
            problem = None
            graph_inputs = [i.name for i in case.model.graph.input]
            for name, value in zip(graph_inputs, inputs):
                array = npy_ready(to_array(value))
                if array is None:
                    problem = f"input {name}: dtype {to_array(value).dtype} has no .npy form landcover reads"
                    break
                path = os.path.join(folder, f"input_{safe_name(name)}.npy")
                np.save(path, array)
                command += ["--input", f"{name}={path}"]
            if problem is None:
                try:
                    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
                except subprocess.TimeoutExpired:
                    problem = "timed out after 60 s"
                    crashed.append(label)
                else:
                    if run.returncode < 0 or run.returncode not in (0, 1, 2, 4):
                        crashed.append(label)
                        problem = f"crashed (status {run.returncode}): {run.stderr.strip()[:300]}"
                    elif run.returncode != 0:
                        problem = run.stderr.strip().split("\n")[0][:400]
                    else:
                        for output_info, value in zip(case.model.graph.output, outputs):
                            expected = to_array(value)
                            path = os.path.join(folder, "out", safe_name(output_info.name) + ".npy")
                            if not os.path.exists(path):
                                problem = f"output {output_info.name} was not written"
                                break
                            difference = compare(np.load(path), expected, case.rtol, case.atol)
                            if difference:
                                problem = f"output {output_info.name}: {difference}"
                                break
            if problem is None:
                entry["passed"] += 1
            else:
                entry["failures"].append({"case": label, "reason": problem})
    passed = sum(e["passed"] for e in results.values())
    total = sum(e["total"] for e in results.values())
    for op in sorted(results):
        e = results[op]
        print(f"{op}: {e['passed']}/{e['total']}")
    for op in sorted(results):
        for failure in results[op]["failures"]:
            print(f"  FAIL {failure['case']}: {failure['reason']}")
    print(f"total: {passed}/{total} ({100.0 * passed / max(total, 1):.1f}%), crashed: {len(crashed)}")
    untested = sorted(operators - set(results))
    if untested:
        print("operators without a single-node case: " + ", ".join(untested))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"passed": passed, "total": total, "crashed": crashed, "operators": results,
                       "untested": untested}, handle, indent=1, sort_keys=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

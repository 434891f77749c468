#!/usr/bin/env python3
"""Cost and effect of test-time augmentation (`runtime.tta`) on the sample.

Runs the sample pipeline (pipelines/sample.yaml, into a temporary folder) with `runtime.tta` set to
none, flips and d4, interleaved, `--repeats` times each, and `landcover evaluate` of the sample model
on its held-out southern strip (training/sample-33UUU.yaml) with each setting; prints a table of the
best wall time, its ratio to `none`, and overall accuracy, kappa, macro F1 and the per-class F1.

    python3 benchmarks/tta.py [--binary .build/release/landcover] [--repeats 3] [--threads 2]

Compare ratios of one run: the machine is shared and absolute times are noisy.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = ["none", "flips", "d4"]


def pipeline_text(folder, tta, threads):
    """The sample pipeline with absolute paths, another output folder and the augmentation."""
    with open(os.path.join(ROOT, "pipelines", "sample.yaml")) as f:
        text = f.read()
    text = text.replace("../", ROOT + "/").replace(f"folder: {ROOT}/out/sample", f"folder: {folder}")
    if "runtime:" not in text:
        raise SystemExit("pipelines/sample.yaml has no runtime section")
    return text.replace("runtime:", f"runtime:\n  tta: {tta}\n  threads: {threads}", 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/landcover"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"{args.binary}: not built; run `swift build -c release --product landcover`")
    times = {tta: [] for tta in SETTINGS}
    accuracy = {}
    with tempfile.TemporaryDirectory(prefix="landcover-tta-") as work:
        pipelines = {}
        for tta in SETTINGS:
            path = os.path.join(work, f"sample-{tta}.yaml")
            with open(path, "w") as f:
                f.write(pipeline_text(os.path.join(work, tta), tta, args.threads))
            pipelines[tta] = path
        for _ in range(args.repeats):
            for tta in SETTINGS:
                start = time.perf_counter()
                subprocess.run([args.binary, "run", pipelines[tta], "--force", "--quiet"], check=True,
                               stdout=subprocess.DEVNULL)
                times[tta].append(time.perf_counter() - start)
        for tta in SETTINGS:
            report = os.path.join(work, f"evaluation-{tta}.json")
            subprocess.run([args.binary, "evaluate", os.path.join(ROOT, "samples/model/landcover-33UUU.onnx"),
                            "--training-file", os.path.join(ROOT, "training/sample-33UUU.yaml"), "--tta", tta,
                            "--threads", str(args.threads), "--json", "--output", report],
                           check=True, stdout=subprocess.DEVNULL)
            with open(report) as f:
                accuracy[tta] = json.load(f)["accuracy"]
    names = accuracy["none"]["classNames"]
    header = ["tta", "passes", "sample run s (best)", "x none", "OA", "kappa", "macro F1"] + [f"F1 {n}" for n in names]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    passes = {"none": 1, "flips": 2, "d4": 8}
    for tta in SETTINGS:
        best = min(times[tta])
        a = accuracy[tta]
        row = [tta, str(passes[tta]), f"{best:.2f}", f"{best / min(times['none']):.2f}", f"{a['overallAccuracy']:.4f}",
               f"{a['kappa']:.4f}", f"{a['macroAverages']['f1']:.4f}"] + [f"{c['f1']:.4f}" for c in a["classes"]]
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

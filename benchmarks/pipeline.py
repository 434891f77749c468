#!/usr/bin/env python3
"""End-to-end benchmark: `landcover run` against Python references on the same generated scene
and ONNX files, in one run.

Generates (once, cached in --work) a Sentinel-2-like 13-band scene with `landcover generate`,
builds the small CNN and ResNet-18 of benchmarks/engine.py with a landcover model contract, and
classifies the scene (patch 64, stride 64, patch mode) with:
  - landcover run (release build, default settings: one worker per core, 512 MiB budget);
  - benchmarks/reference_serial.py: the serial loop a user would write (rasterio windowed reads,
    onnxruntime with default options, rasterio writes).
For each it measures wall time, CPU time (user + system) and peak RSS of the process
(os.wait4), patches/s, and checks that the class maps are identical pixel for pixel.
Prints a markdown table.

Usage: python3 benchmarks/pipeline.py [--size 10980] [--models small_cnn,resnet18]
                                      [--work /tmp/landcover-bench] [--no-build] [--threads N]
"""
import argparse
import glob
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import engine  # noqa: E402  (model builders shared with the engine benchmark)

BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
CLASSES = ["water", "forest", "cropland", "grassland", "built-up", "bare", "wetland", "shrubland", "snow", "cloud"]
COLORS = ["#0064c8", "#006400", "#f096ff", "#ffff4c", "#fa0000", "#b4b4b4", "#0096a0", "#ffbb22", "#f0f0f0", "#dddddd"]


def with_contract(model, path):
    import json
    meta = {
        "landcover.contract_version": "1", "landcover.task": "patch_classification",
        "landcover.bands": ",".join(BANDS),
        "landcover.normalization": json.dumps({"type": "mean_std", "mean": [1500.0] * 13, "std": [1000.0] * 13}),
        "landcover.patch_size": str(engine.SIZE), "landcover.class_names": ",".join(CLASSES[:engine.CLASSES]),
        "landcover.class_colors": ",".join(COLORS[:engine.CLASSES]), "landcover.output": "logits",
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    import onnx
    onnx.save(model, path)


def measure(command, env=None):
    """Runs a command; returns (wall s, cpu s, peak RSS MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def read_classes(path):
    import rasterio
    with rasterio.open(path) as src:
        return src.read(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--models", default="small_cnn,resnet18")
    parser.add_argument("--work", default="/tmp/landcover-bench")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    binary = os.path.join(ROOT, ".build", "release", "landcover")
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "landcover"], cwd=ROOT, check=True)
    os.makedirs(args.work, exist_ok=True)
    scene_dir = os.path.join(args.work, f"scene{args.size}")
    scenes = [p for p in glob.glob(os.path.join(scene_dir, "*.tif")) if not p.endswith("_labels.tif")]
    if not scenes:
        print(f"generating a {args.size}x{args.size} scene ...", file=sys.stderr)
        subprocess.run([binary, "generate", scene_dir, "--size", str(args.size), "--seed", "7"], check=True,
                       stdout=subprocess.DEVNULL)
        scenes = [p for p in glob.glob(os.path.join(scene_dir, "*.tif")) if not p.endswith("_labels.tif")]
    scene = scenes[0]
    patches = ((args.size + 63) // 64) ** 2

    rows = []
    for name in args.models.split(","):
        model_path = os.path.join(args.work, f"{name}.onnx")
        if not os.path.exists(model_path):
            with_contract(getattr(engine, name)(), model_path)
        pipeline = os.path.join(args.work, f"{name}_{args.size}.yaml")
        out_dir = os.path.join(args.work, f"out_{name}_{args.size}")
        with open(pipeline, "w") as f:
            f.write(f"inputs: [{scene}]\nmodel: {model_path}\nmode: patch\n"
                    f"output: {{folder: {out_dir}, confidence: false, preview: false, stac: false}}\n")
            if args.threads:
                f.write(f"runtime: {{threads: {args.threads}}}\n")
        landcover = measure([binary, "run", pipeline, "--quiet"])
        reference_out = os.path.join(args.work, f"reference_{name}_{args.size}.tif")
        reference = measure([sys.executable, os.path.join(ROOT, "benchmarks", "reference_serial.py"), scene, model_path, reference_out])
        ours = read_classes(glob.glob(os.path.join(out_dir, "*_landcover.tif"))[0])
        theirs = read_classes(reference_out)
        differing = int(np.count_nonzero(ours != theirs))
        rows.append((name, "landcover run", *landcover, patches / landcover[0], landcover[0] / reference[0], differing))
        rows.append((name, "Python serial (rasterio + onnxruntime)", *reference, patches / reference[0], 1.0, 0))

    print(f"\nScene {args.size}x{args.size}x13 (generated), patch 64, stride 64, {patches} patches; "
          f"{os.cpu_count()} cores\n")
    print("| model | pipeline | wall s | CPU s | peak RSS MiB | patches/s | wall / reference | pixels differing |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]:.2f} | {r[7]} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end benchmark: `landcover run` against Python references on the same generated scene
and ONNX files, in one run.

Generates (once per size, cached in --work) a Sentinel-2-like 13-band scene with `landcover
generate`, builds the small CNN and ResNet-18 of benchmarks/engine.py with a landcover model
contract, and classifies the scene (patch 64, stride 64, patch mode) with:
  - landcover run (release build, default settings: one worker per core, 512 MiB budget);
  - benchmarks/reference_serial.py: the serial loop a user would write (rasterio windowed reads,
    onnxruntime with default options, rasterio writes);
  - benchmarks/reference_skilled.py: a skilled pipeline (tile reads, reader thread, two
    one-thread inference workers, 64 MiB GDAL cache), as in ../shared/guides/cpu-performance.md.
For each it measures wall time, CPU time (user + system) and peak RSS of the process
(os.wait4), patches/s, and checks that the class maps are identical pixel for pixel. Prints a
markdown table per size, then a scaling table of landcover alone (--scaling-sizes at 1 and 2
threads).

Usage: python3 benchmarks/pipeline.py [--sizes 10980] [--models small_cnn,resnet18]
                                      [--references serial,skilled] [--scaling-sizes 2048,5490,10980]
                                      [--repeats N] [--work /tmp/landcover-bench] [--no-build]
Every measured command starts with the scene in the page cache (read once before it).
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


def warm(path):
    """Reads a file once so that every measured pipeline starts with it in the page cache (the
    machine's memory reclaimer may have evicted it between runs)."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# Measures one command from a fresh, small Python process. A child's ru_maxrss starts at the RSS of
# the process it was forked from (Linux keeps the larger of the pre-exec and post-exec peaks), so
# forking straight from this script, which holds whole class maps, would inflate the figures.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
stderr = process.stderr.read().decode(errors="replace")
_, status, usage = os.wait4(process.pid, 0)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
                  "code": os.waitstatus_to_exitcode(status), "stderr": stderr[-4000:]}))
"""


def measure(command, env=None, warm_path=None):
    """Runs a command; returns (wall s, cpu s, peak RSS MiB)."""
    if warm_path:
        warm(warm_path)
    import json
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, *command], env=env, capture_output=True, text=True)
    if launched.returncode != 0:
        sys.exit(f"measuring {' '.join(command)} failed:\n{launched.stderr}")
    result = json.loads(launched.stdout)
    if result["code"] != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result['stderr']}")
    return result["wall"], result["cpu"], result["rss"]


def read_classes(path):
    import rasterio
    with rasterio.open(path) as src:
        return src.read(1)


def scene_for(binary, work, size):
    scene_dir = os.path.join(work, f"scene{size}")
    scenes = [p for p in glob.glob(os.path.join(scene_dir, "*.tif")) if not p.endswith("_labels.tif")]
    if not scenes:
        print(f"generating a {size}x{size} scene ...", file=sys.stderr)
        subprocess.run([binary, "generate", scene_dir, "--size", str(size), "--seed", "7"], check=True,
                       stdout=subprocess.DEVNULL)
        scenes = [p for p in glob.glob(os.path.join(scene_dir, "*.tif")) if not p.endswith("_labels.tif")]
    return sorted(scenes)[0]


def model_for(work, name):
    path = os.path.join(work, f"{name}.onnx")
    if not os.path.exists(path):
        with_contract(getattr(engine, name)(), path)
    return path


def run_landcover(binary, work, scene, model, name, size, threads=None):
    pipeline = os.path.join(work, f"{name}_{size}_{threads or 'default'}.yaml")
    out_dir = os.path.join(work, f"out_{name}_{size}_{threads or 'default'}")
    with open(pipeline, "w") as f:
        f.write(f"inputs: [{scene}]\nmodel: {model}\nmode: patch\n"
                f"output: {{folder: {out_dir}, confidence: false, preview: false, stac: false}}\n")
        if threads:
            f.write(f"runtime: {{threads: {threads}}}\n")
    result = measure([binary, "run", pipeline, "--quiet", "--force"] if supports_force(binary) else [binary, "run", pipeline, "--quiet"],
                     warm_path=scene)
    return result, glob.glob(os.path.join(out_dir, "*_landcover.tif"))[0]


def median_run(runs):
    """The run with the median wall time of several (wall s, cpu s, RSS MiB) runs."""
    ordered = sorted(runs, key=lambda r: r[0])
    return ordered[(len(ordered) - 1) // 2]


_force = {}


def supports_force(binary):
    if binary not in _force:
        help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout
        _force[binary] = "--force" in help_text
    return _force[binary]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10980")
    parser.add_argument("--models", default="small_cnn,resnet18")
    parser.add_argument("--references", default="serial,skilled")
    parser.add_argument("--scaling-sizes", default="")
    parser.add_argument("--work", default="/tmp/landcover-bench")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--baseline", default="",
                        help="another landcover binary (e.g. a previous revision's) run alternately with this one; "
                             "its row gives the wall-time ratio and the pixels differing from this build's map")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each pipeline this many times, alternating landcover and the references; "
                             "report the run with the median wall time")
    args = parser.parse_args()

    binary = os.path.join(ROOT, ".build", "release", "landcover")
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "landcover"], cwd=ROOT, check=True)
    os.makedirs(args.work, exist_ok=True)
    scripts = {"serial": ("Python serial (rasterio + onnxruntime)", "reference_serial.py"),
               "skilled": ("Python skilled (tile reads, reader thread, 2 sessions x 1 thread)", "reference_skilled.py")}
    for size in [int(v) for v in args.sizes.split(",") if v]:
        scene = scene_for(binary, args.work, size)
        patches = ((size + 63) // 64) ** 2
        rows = []
        for name in args.models.split(","):
            model = model_for(args.work, name)
            keys = [r for r in args.references.split(",") if r]
            ours_runs, reference_runs, baseline_runs = [], {key: [] for key in keys}, []
            for _ in range(max(1, args.repeats)):
                result, ours_path = run_landcover(binary, args.work, scene, model, name, size)
                ours_runs.append(result)
                if args.baseline:
                    baseline_result, baseline_path = run_landcover(args.baseline, args.work, scene, model, "baseline_" + name, size)
                    baseline_runs.append(baseline_result)
                for key in keys:
                    out = os.path.join(args.work, f"{key}_{name}_{size}.tif")
                    reference_runs[key].append(measure([sys.executable, os.path.join(ROOT, "benchmarks", scripts[key][1]),
                                                        scene, model, out], warm_path=scene))
            ours = median_run(ours_runs)
            ours_map = read_classes(ours_path)
            references = []
            for key in keys:
                out = os.path.join(args.work, f"{key}_{name}_{size}.tif")
                differing = int(np.count_nonzero(ours_map != read_classes(out)))
                references.append((scripts[key][0], median_run(reference_runs[key]), differing))
            ratios = " / ".join(f"{ours[0] / r[1][0]:.2f}" for r in references)
            rows.append((name, "landcover run", *ours, patches / ours[0], ratios, "-"))
            if args.baseline:
                base = median_run(baseline_runs)
                differing = int(np.count_nonzero(ours_map != read_classes(baseline_path)))
                rows.append((name, f"baseline {args.baseline}", *base, patches / base[0],
                             f"this build / baseline {ours[0] / base[0]:.2f}", differing))
            for label, result, differing in references:
                rows.append((name, label, *result, patches / result[0], "", differing))
        repeats = f"; median of {args.repeats} alternating runs" if args.repeats > 1 else ""
        print(f"\nScene {size}x{size}x13 (generated), patch 64, stride 64, {patches} patches; {os.cpu_count()} cores{repeats}\n")
        print(f"| model | pipeline | wall s | CPU s | peak RSS MiB | patches/s | landcover wall / reference ({' / '.join(args.references.split(','))}) | pixels differing from landcover |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]} | {r[7]} |")

    sizes = [int(v) for v in args.scaling_sizes.split(",") if v]
    if sizes:
        print("\nlandcover run scaling (wall s / peak RSS MiB)\n")
        print("| model | size | 1 thread | 2 threads |")
        print("|---|---|---|---|")
        for name in args.models.split(","):
            model = model_for(args.work, name)
            for size in sizes:
                scene = scene_for(binary, args.work, size)
                cells = []
                for threads in (1, 2):
                    (wall, _, rss), _ = run_landcover(binary, args.work, scene, model, name, size, threads)
                    cells.append(f"{wall:.2f} s / {rss:.0f} MiB")
                print(f"| {name} | {size}^2 | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()

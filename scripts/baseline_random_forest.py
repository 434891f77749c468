#!/usr/bin/env python3
"""Per-pixel random-forest baseline on the same labels and spatial split as a landcover training file.

    python3 scripts/baseline_random_forest.py training/sample-33UUU.yaml [--landcover PATH] [--json OUT.json]

What it does:
1. `landcover stack` stacks the training file's scene bands on the scene grid (the same bands and
   resampling the CNN sees) and `landcover train --export-labels` writes the labels rasterized by
   landcover (band 1) with each pixel's split region (band 2: 0 train, 1 validation, 2 test), so
   the forest and the CNN use exactly the same labels and split.
2. The forest (scikit-learn, 200 trees, balanced class weights, seed 0) trains on the labelled
   pixels of the training and validation regions that are at least the split buffer away from
   the test region, with the raw DN of the bands as features.
3. It predicts every labelled pixel of the test region and prints the confusion matrix, overall
   accuracy, kappa and macro F1 (and writes them as JSON with --json).

Installs numpy, rasterio, PyYAML and scikit-learn with pip when they are missing.
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile


def ensure(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", package])
        return importlib.import_module(module)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("training_file")
    parser.add_argument("--landcover", default=None, help="the landcover binary (default: .build/release/landcover)")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--max-train-pixels", type=int, default=200000, help="subsample training pixels (seeded) above this")
    args = parser.parse_args()

    np = ensure("numpy", "numpy")
    rasterio = ensure("rasterio", "rasterio")
    yaml = ensure("yaml", "PyYAML")
    ensure("sklearn", "scikit-learn")
    from scipy import ndimage
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    landcover = args.landcover or os.path.join(root, ".build", "release", "landcover")
    with open(args.training_file) as f:
        spec = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(args.training_file))
    scene = spec["data"]["scenes"][0]
    inputs = [scene["input"]] if "input" in scene else list(scene["inputs"])
    inputs = [p if os.path.isabs(p) else os.path.join(base, p) for p in inputs]
    bands = spec["bands"]
    names = [c["name"] for c in spec["legend"]]

    with tempfile.TemporaryDirectory() as tmp:
        stack = os.path.join(tmp, "stack.tif")
        labels = os.path.join(tmp, "labels.tif")
        subprocess.check_call([landcover, "stack", *inputs, "--bands", ",".join(bands), "-o", stack], stdout=subprocess.DEVNULL)
        subprocess.check_call([landcover, "train", args.training_file, "--export-labels", labels], stdout=subprocess.DEVNULL)
        with rasterio.open(stack) as src:
            x = src.read().astype(np.float32)  # [bands, H, W]
        with rasterio.open(labels) as src:
            y = src.read(1)
            region = src.read(2)
            buffer = int(src.tags().get("LANDCOVER_SPLIT_BUFFER", "0"))

    test = region == 2
    # Keep training pixels at least `buffer` pixels (Chebyshev distance) from the test region.
    near_test = ndimage.binary_dilation(test, structure=np.ones((2 * buffer + 1, 2 * buffer + 1), bool)) if buffer > 0 else test
    labelled = y != 255
    train_mask = labelled & ~near_test
    test_mask = labelled & test
    features = x.reshape(x.shape[0], -1).T
    train_idx = np.flatnonzero(train_mask.ravel())
    rng = np.random.default_rng(0)
    if len(train_idx) > args.max_train_pixels:
        train_idx = np.sort(rng.choice(train_idx, args.max_train_pixels, replace=False))
    test_idx = np.flatnonzero(test_mask.ravel())
    forest = RandomForestClassifier(n_estimators=args.trees, class_weight="balanced", n_jobs=2, random_state=0)
    forest.fit(features[train_idx], y.ravel()[train_idx])
    predicted = forest.predict(features[test_idx])
    reference = y.ravel()[test_idx]
    classes = list(range(len(names)))
    matrix = confusion_matrix(reference, predicted, labels=classes)
    oa = float(np.trace(matrix) / matrix.sum())
    kappa = float(cohen_kappa_score(reference, predicted, labels=classes))
    present = [c for c in classes if matrix[c].sum() > 0 or matrix[:, c].sum() > 0]
    macro_f1 = float(f1_score(reference, predicted, labels=present, average="macro", zero_division=0))

    print(f"random forest ({args.trees} trees, {len(train_idx)} training pixels, {len(test_idx)} test pixels, buffer {buffer} px)")
    print("confusion matrix (rows: reference, columns: predicted): " + ", ".join(f"{i} {n}" for i, n in enumerate(names)))
    for i, row in enumerate(matrix):
        print(f"{i:2d} " + " ".join(f"{v:7d}" for v in row))
    print(f"overall accuracy {oa:.4f}, kappa {kappa:.4f}, macro F1 {macro_f1:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"method": "random forest, raw DN of the bands per pixel", "trees": args.trees,
                       "trainingPixels": int(len(train_idx)), "testPixels": int(len(test_idx)), "bufferPixels": buffer,
                       "classNames": names, "matrix": matrix.tolist(), "overallAccuracy": oa, "kappa": kappa,
                       "macroF1": macro_f1}, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The serial loop a user would write: rasterio windowed reads + onnxruntime, one row of patches
at a time, written with rasterio. Reference for benchmarks/pipeline.py.

It classifies with the same rules as `landcover run` in patch mode with stride = patch size and
`edge: shift` (the last patch of a row/column ends at the scene edge; pixels it shares with its
neighbour go to the nearer patch centre), normalizes with the model's contract and sets nodata
pixels to 0 after normalization, so the class maps can be compared pixel for pixel.

Usage: reference_serial.py SCENE.tif MODEL.onnx OUT.tif
"""
import json
import sys

import numpy as np
import onnxruntime as ort
import rasterio
from rasterio.windows import Window


def contract(path):
    import onnx
    meta = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    norm = json.loads(meta["landcover.normalization"])
    if norm["type"] == "mean_std":
        scale = 1 / np.array(norm["std"], np.float32)
        offset = -np.array(norm["mean"], np.float32) * scale
    else:
        scale, offset = np.array(norm["scale"], np.float32), np.array(norm["offset"], np.float32)
    return int(meta["landcover.patch_size"]), scale.astype(np.float32), offset.astype(np.float32)


def starts(length, patch):
    if length <= patch:
        return [0]
    result = list(range(0, length - patch, patch))
    if result[-1] < length - patch:
        result.append(length - patch)
    return result


def owner_edges(positions, length, patch):
    """Column (or row) boundaries between patches: pixels up to the midpoint of two patch centres
    belong to the earlier patch (ties included), as in landcover's patch mode."""
    edges = [0]
    for a, b in zip(positions, positions[1:]):
        edges.append(min(a + patch, (a + b + patch + 1) // 2))
    edges.append(length)
    return edges


def main():
    scene, model, out = sys.argv[1:4]
    patch, scale, offset = contract(model)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    with rasterio.open(scene) as src:
        width, height = src.width, src.height
        nodata = src.nodata
        profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs=src.crs,
                       transform=src.transform, nodata=255, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate")
        cols, rows = starts(width, patch), starts(height, patch)
        with rasterio.open(out, "w", **profile) as dst:
            xedges = owner_edges(cols, width, patch)
            yedges = owner_edges(rows, height, patch)
            for ri, top in enumerate(rows):
                strip = src.read(window=Window(0, top, width, min(patch, height - top)), boundless=True, fill_value=nodata or 0)
                strip = strip.astype(np.float32)
                h = strip.shape[1]
                valid = np.ones(strip.shape[1:], bool) if nodata is None else np.all(strip != nodata, axis=0)
                batch = np.zeros((len(cols), strip.shape[0], patch, patch), np.float32)
                for ci, left in enumerate(cols):
                    x = strip[:, :, left:left + patch] * scale[:, None, None] + offset[:, None, None]
                    v = valid[:, left:left + patch]
                    batch[ci, :, :h, :x.shape[2]] = np.where(v[None], x, 0)
                logits = session.run(None, {name: batch})[0].reshape(len(cols), -1)
                classes = logits.argmax(axis=1).astype(np.uint8)
                y0, y1 = yedges[ri], yedges[ri + 1]
                row = np.empty((y1 - y0, width), np.uint8)
                for ci in range(len(cols)):
                    row[:, xedges[ci]:xedges[ci + 1]] = classes[ci]
                row[~valid[y0 - top:y1 - top]] = 255
                dst.write(row[None], window=Window(0, y0, width, y1 - y0))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A skilled Python pipeline, written the way ../shared/guides/cpu-performance.md describes it:
whole 512x512 tile reads (all bands) into a reused buffer, a reader thread feeding a queue of 4,
two inference threads sharing one onnxruntime session with one intra-op thread each (batch 8 for
small models, 64 for big ones), a 64 MiB GDAL cache, windowed writes from the main thread.
Reference for benchmarks/pipeline.py; the class map follows the same rules as `landcover run` in
patch mode (stride = patch size, `edge: shift`, nodata pixels 0 after normalization), so maps can
be compared pixel for pixel.

Usage: reference_skilled.py SCENE.tif MODEL.onnx OUT.tif [--batch N] [--threads 2]
"""
import argparse
import os
import queue
import threading

os.environ.setdefault("GDAL_CACHEMAX", "64")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import rasterio  # noqa: E402
from rasterio.windows import Window  # noqa: E402

from reference_serial import contract, owner_edges, starts  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scene")
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    patch, scale, offset = contract(args.model)
    big = os.path.getsize(args.model) > 4 << 20
    batch = args.batch or (64 if big else 8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    with rasterio.open(args.scene) as src:
        width, height, bands, nodata = src.width, src.height, src.count, src.nodata
        block_h, block_w = src.block_shapes[0]
        cols, rows = starts(width, patch), starts(height, patch)
        xedges, yedges = owner_edges(cols, width, patch), owner_edges(rows, height, patch)
        tiles = [(ty, tx) for ty in range(0, height, block_h) for tx in range(0, width, block_w)]
        tasks = queue.Queue(maxsize=4)
        results = queue.Queue()
        free = queue.Queue()
        for _ in range(6):
            free.put(np.empty((bands, block_h, block_w), np.uint16))

        def reader():
            for ty, tx in tiles:
                h, w = min(block_h, height - ty), min(block_w, width - tx)
                buffer = free.get()
                src.read(out=buffer[:, :h, :w], window=Window(tx, ty, w, h))
                tasks.put((ty, tx, h, w, buffer))
            for _ in range(args.threads):
                tasks.put(None)

        def worker():
            x = np.empty((batch, bands, patch, patch), np.float32)
            while (item := tasks.get()) is not None:
                ty, tx, h, w, buffer = item
                tile = buffer[:, :h, :w].astype(np.float32)
                valid = np.ones((h, w), bool) if nodata is None else np.all(buffer[:, :h, :w] != nodata, axis=0)
                free.put(buffer)
                tile = tile * scale[:, None, None] + offset[:, None, None]
                tile[:, ~valid] = 0
                # Patches whose origin lies in this tile (the shifted last ones included).
                mine = [(r, c) for r in rows if ty <= r < ty + h for c in cols if tx <= c < tx + w]
                classes = {}
                for i in range(0, len(mine), batch):
                    chunk = mine[i:i + batch]
                    for j, (r, c) in enumerate(chunk):
                        x[j] = tile[:, r - ty:r - ty + patch, c - tx:c - tx + patch]
                    logits = session.run(None, {name: x[:len(chunk)]})[0].reshape(len(chunk), -1)
                    for (r, c), k in zip(chunk, logits.argmax(axis=1)):
                        classes[(r, c)] = k
                out = np.full((h, w), 255, np.uint8)
                for (r, c), k in classes.items():
                    ri, ci = rows.index(r), cols.index(c)
                    y0, y1 = max(yedges[ri], ty), min(yedges[ri + 1], ty + h)
                    x0, x1 = max(xedges[ci], tx), min(xedges[ci + 1], tx + w)
                    out[y0 - ty:y1 - ty, x0 - tx:x1 - tx] = k
                out[~valid] = 255
                results.put((ty, tx, h, w, out))
            results.put(None)

        threads = [threading.Thread(target=reader)] + [threading.Thread(target=worker) for _ in range(args.threads)]
        for t in threads:
            t.start()
        profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs=src.crs,
                       transform=src.transform, nodata=255, tiled=True, blockxsize=512, blockysize=512, compress="deflate")
        with rasterio.open(args.out, "w", **profile) as dst:
            done = 0
            while done < args.threads:
                item = results.get()
                if item is None:
                    done += 1
                    continue
                ty, tx, h, w, out = item
                dst.write(out[None], window=Window(tx, ty, w, h))
        for t in threads:
            t.join()


if __name__ == "__main__":
    main()

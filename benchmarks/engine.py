#!/usr/bin/env python3
"""Engine benchmark: landcover's CNN engine vs onnxruntime on the same ONNX files.

Builds (with the onnx package, seeded weights) the two reference models of
docs/guides cpu-performance: a small CNN (conv3x3(32)-relu-maxpool-conv3x3(64)-relu-maxpool-
conv3x3(128)-relu-GAP-dense(10), 13 bands) and ResNet-18 (torchvision layout, BatchNorm,
13 bands, 10 classes), both on [N, 13, 64, 64] float32 input with a dynamic batch. Then, in the
same run, measures patches/s of onnxruntime (1 intra-op thread; 2 intra-op threads; 2 sessions x
1 thread each on half the batch) and of `landcover-bench model` at 1 and 2 threads, and prints a
markdown table with the ratio landcover / onnxruntime (at 2 threads against the better of the
two onnxruntime 2-thread set-ups).

int8: each model is also quantized the way a skilled Python user would (onnxruntime's
quant_pre_process, then quantize_static with QDQ format, per-channel int8 weights, calibrated on 8
seeded batches of 8 normal patches), twice: with int8 (s8) and with uint8 (u8) activations, since
onnxruntime's speed depends on it (ResNet-18 runs ~4x faster with u8 activations here, the small
CNN slightly faster with s8). onnxruntime and landcover-bench `--precision int8` run both files;
each engine is credited with its faster file. A second table prints those rates, the
landcover/onnxruntime int8 ratios and landcover int8 / landcover fp32.

Usage: python3 benchmarks/engine.py [--batch 64] [--repeats 10] [--rounds 3]
                                    [--out /tmp/landcover-engine] [--bench PATH] [--no-build] [--no-int8]
"""
import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BANDS, SIZE, CLASSES = 13, 64, 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GraphBuilder:
    """Accumulates nodes and seeded initializers of one ONNX graph."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def constant(self, prefix, array):
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv(self, x, cin, cout, kernel, stride=1, pad=0, bias=True):
        fan_in = cin * kernel * kernel
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin, kernel, kernel))
        inputs = [x, self.constant("w", w)]
        if bias:
            inputs.append(self.constant("b", self.rng.normal(0, 0.05, cout)))
        y = self.name("conv")
        self.nodes.append(helper.make_node("Conv", inputs, [y], kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[pad] * 4))
        return y

    def batch_norm(self, x, channels):
        scale = self.constant("bn_scale", self.rng.uniform(0.5, 1.5, channels))
        shift = self.constant("bn_bias", self.rng.normal(0, 0.1, channels))
        mean = self.constant("bn_mean", self.rng.normal(0, 0.1, channels))
        var = self.constant("bn_var", self.rng.uniform(0.5, 1.5, channels))
        y = self.name("bn")
        self.nodes.append(helper.make_node("BatchNormalization", [x, scale, shift, mean, var], [y], epsilon=1e-5))
        return y

    def op(self, op_type, inputs, **attributes):
        y = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [y], **attributes))
        return y

    def dense(self, x, cin, cout):
        w = self.constant("fc_w", self.rng.normal(0, np.sqrt(1.0 / cin), (cout, cin)))
        b = self.constant("fc_b", self.rng.normal(0, 0.05, cout))
        return self.op("Gemm", [x, w, b], transB=1)

    def model(self, output, name):
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", BANDS, SIZE, SIZE])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", CLASSES])],
            self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def small_cnn():
    g = GraphBuilder(1)
    x = "input"
    for cin, cout, pool in [(BANDS, 32, True), (32, 64, True), (64, 128, False)]:
        x = g.op("Relu", [g.conv(x, cin, cout, 3, pad=1)])
        if pool:
            x = g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    return g.model(g.dense(x, 128, CLASSES), "small_cnn")


def resnet18():
    g = GraphBuilder(2)
    x = g.op("Relu", [g.batch_norm(g.conv("input", BANDS, 64, 7, stride=2, pad=3, bias=False), 64)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            y = g.op("Relu", [g.batch_norm(g.conv(x, cin, cout, 3, stride=stride, pad=1, bias=False), cout)])
            y = g.batch_norm(g.conv(y, cout, cout, 3, pad=1, bias=False), cout)
            shortcut = x
            if stride != 1 or cin != cout:
                shortcut = g.batch_norm(g.conv(x, cin, cout, 1, stride=stride, bias=False), cout)
            x = g.op("Relu", [g.op("Add", [y, shortcut])])
            cin = cout
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    return g.model(g.dense(x, 512, CLASSES), "resnet18")


def median_rate(run, batch, repeats):
    run()  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return batch / statistics.median(seconds)


def onnxruntime_runners(path, batch):
    """Returns {label: zero-argument function running one batch} for the three set-ups."""
    import onnxruntime as ort
    x = np.random.default_rng(0).standard_normal((batch, BANDS, SIZE, SIZE)).astype(np.float32)

    def session(threads):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    one, two = session(1), session(2)
    halves = [x[: batch // 2], x[batch // 2:]]
    sessions = [session(1), session(1)]
    pool = concurrent.futures.ThreadPoolExecutor(2)

    def both():
        list(pool.map(lambda i: sessions[i].run(None, {"input": halves[i]}), range(2)))

    return {"ort1": lambda: one.run(None, {"input": x}), "ort2": lambda: two.run(None, {"input": x}),
            "ort2x1": both}


def quantize_qdq(path, out_path, activation="s8"):
    """onnxruntime's static quantization of `path` (QDQ, per-channel int8 weights, s8 or u8
    activations) into `out_path`."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(7)
            self.batches = [{"input": rng.standard_normal((8, BANDS, SIZE, SIZE)).astype(np.float32)} for _ in range(8)]

        def get_next(self):
            return self.batches.pop() if self.batches else None

    pre = out_path.replace(".onnx", "_pre.onnx")
    quant_pre_process(path, pre)
    quantize_static(pre, out_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8 if activation == "s8" else QuantType.QUInt8,
                    weight_type=QuantType.QInt8)


def landcover_rate(bench, path, batch, threads, repeats, precision="fp32"):
    result = subprocess.run([bench, "model", path, "--batch", str(batch), "--threads", str(threads),
                             "--repeats", str(repeats), "--precision", precision], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"landcover-bench failed on {path}: {result.stderr.strip()}", file=sys.stderr)
        return float("nan")
    for token in result.stdout.split():
        if token.startswith("patches_per_second="):
            return float(token.split("=", 1)[1])
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="/tmp/landcover-engine")
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build-kernels", "release", "LandcoverBench"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-int8", action="store_true", help="skip the quantized models")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(ROOT, ".build-kernels"),
                        "--product", "LandcoverBench"], cwd=ROOT, check=True)
    os.makedirs(args.out, exist_ok=True)
    rows, int8_rows = [], []
    for name, build, flops in [("small CNN", small_cnn, 106.2e6), ("ResNet-18", resnet18, 360.3e6)]:
        path = os.path.join(args.out, name.replace(" ", "_").replace("-", "").lower() + ".onnx")
        onnx.save(build(), path)
        runners = onnxruntime_runners(path, args.batch)
        variants = [] if args.no_int8 else ["s8", "u8"]
        qdq_paths = {variant: path.replace(".onnx", f"_qdq_{variant}.onnx") for variant in variants}
        for variant in variants:
            quantize_qdq(path, qdq_paths[variant], variant)
            runners.update({f"q{variant}{label}": run
                            for label, run in onnxruntime_runners(qdq_paths[variant], args.batch).items()})
        best = {}
        # The machine is shared: alternate the engines for several rounds, keep each one's best median.
        for _ in range(args.rounds):
            for label, run in runners.items():
                best[label] = max(best.get(label, 0.0), median_rate(run, args.batch, args.repeats))
            for threads in (1, 2):
                label = f"lc{threads}"
                best[label] = max(best.get(label, 0.0),
                                  landcover_rate(args.bench, path, args.batch, threads, args.repeats))
                for variant in variants:
                    key = f"q{variant}{label}"
                    best[key] = max(best.get(key, 0.0), landcover_rate(args.bench, qdq_paths[variant], args.batch,
                                                                       threads, args.repeats, "int8"))
        ort2 = max(best["ort2"], best["ort2x1"])
        rows.append((name, best["ort1"], best["ort2"], best["ort2x1"], best["lc1"], best["lc2"],
                     best["lc1"] / best["ort1"], best["lc2"] / ort2, best["lc2"] * flops / 1e9))
        if variants:
            def pick(label):  # the faster quantized file for this engine set-up
                return max((best[f"q{v}{label}"], v) for v in variants)
            qort1, qort2 = pick("ort1"), max(pick("ort2"), pick("ort2x1"))
            qlc1, qlc2 = pick("lc1"), pick("lc2")
            int8_rows.append((name, qort1[0], qort1[1], qort2[0], qort2[1], qlc1[0], qlc1[1], qlc2[0], qlc2[1],
                              qlc1[0] / qort1[0], qlc2[0] / qort2[0], qlc2[0] / best["lc2"]))
    print(f"\nbatch {args.batch}, 64x64x13 patches, patches/s (best of {args.rounds} rounds of a median of "
          f"{args.repeats} runs; engines alternate)\n")
    print("| model | ORT 1 thread | ORT 2 threads | ORT 2 sessions x 1 | landcover 1 thread | landcover 2 threads "
          "| ratio 1 thread | ratio 2 threads | landcover GFLOP/s (2 threads) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| {} | {:,.0f} | {:,.0f} | {:,.0f} | {:,.0f} | {:,.0f} | {:.2f} | {:.2f} | {:.0f} |".format(*row))
    if int8_rows:
        print("\nint8 (onnxruntime quantize_static QDQ, per-channel; landcover --precision int8 on the same file)\n")
        print("| model | ORT int8 1 thread | ORT int8 2 threads (best set-up) | landcover int8 1 thread "
              "| landcover int8 2 threads | ratio 1 thread | ratio 2 threads | landcover int8 / fp32 (2 threads) |")
        print("|---|---|---|---|---|---|---|---|")
        for row in int8_rows:
            print("| {} | {:,.0f} ({}) | {:,.0f} ({}) | {:,.0f} ({}) | {:,.0f} ({}) | {:.2f} | {:.2f} | {:.2f} |".format(*row))


if __name__ == "__main__":
    main()

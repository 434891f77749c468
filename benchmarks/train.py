#!/usr/bin/env python3
"""Training benchmark: landcover's Training module vs PyTorch CPU on the same architectures.

Builds the models of Sources/Training/Network/ModelZoo.swift in a few lines of torch (the small
CNN with and without BatchNormalization, ResNet-18 in the torchvision layout; 13 bands, 10
classes), then in one run:

1. Gradient check: `landcover-bench gradients <model> <folder>` writes one seeded batch (default
   8 patches of 32x32x13, `--check-batch`, `--check-size`), landcover's weights and its
   gradients of the mean cross-entropy; the weights are copied into the torch model, which
   computes the same gradients in float64 (micro-batches of 16 with per-micro-batch
   BatchNormalization statistics, as landcover trains; loss summed and divided by the batch
   size). Prints the largest relative error per model (largest |difference| over a parameter's
   largest |gradient|, worst parameter); it must be <= 1e-4. Also printed: the smallest |input|
   of any ReLU. Larger batches contain ReLU inputs within float32 rounding of zero (ResNet-18 at
   64 x 64x64: one at 1.3e-6; at 16 x 32x32: one at 6.9e-7), which landcover (float32) may put on
   the other side of the kink: that element's gradient then differs (ResNet-18: 2-5e-2 relative
   error in the parameters upstream of it), with no difference in any kernel.
2. Throughput: forward + loss + backward on a batch of 64 patches of 64x64x13 at 2 threads:
   `landcover-bench train <model> --threads 2` against torch (channels_last,
   torch.set_num_threads(2), the whole batch in one pass, no optimizer step), alternating engines
   for `--rounds` rounds of `--repeats` steps each; prints the medians and their ratio, of wall
   time and of process CPU time (patches per CPU-second: on a busy shared machine the wall-clock
   figures mostly measure the other processes; torch's OpenMP threads spin while they wait,
   which counts against it there).

torch comes from the machine's local CPU wheel: `pip install torch==2.13.0+cpu` (pip's find-links
points at /opt/wheels).

Usage: OMP_NUM_THREADS=2 python3 benchmarks/train.py [--rounds 3] [--repeats 10] [--batch 64] [--threads 2]
                                                     [--models small,small-bn,resnet] [--no-build]
                                                     [--bench PATH] [--out /tmp/landcover-train]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

BANDS, SIZE, CLASSES, MICRO_BATCH = 13, 64, 10, 16
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# landcover-bench train prints these row names.
ROWS = {"small": "small CNN", "small-bn": "small CNN + BN", "resnet": "ResNet-18"}


# Smallest |input| of every ReLU in the gradient check's float64 forward pass: an input closer to
# zero than float32 rounding (~1e-6 here) may take the other side of the kink in landcover, which
# changes that element's gradient and everything upstream of it: no kernel difference.
relu_margins = []


def relu(x):
    if x.dtype == torch.float64:
        relu_margins.append(x.detach().abs().min().item())
    return F.relu(x)


class SmallCNN(nn.Module):
    """ModelZoo.smallCNN: conv3x3(32)-[BN]-ReLU-maxpool2-conv3x3(64)-[BN]-ReLU-maxpool2-
    conv3x3(128)-[BN]-ReLU-GAP-Flatten-Linear(10)."""

    def __init__(self, bn):
        super().__init__()
        self.bn = bn
        widths = [BANDS, 32, 64, 128]
        for n in range(1, 4):
            setattr(self, f"conv{n}", nn.Conv2d(widths[n - 1], widths[n], 3, padding=1, bias=not bn))
            if bn:
                setattr(self, f"bn{n}", nn.BatchNorm2d(widths[n], eps=1e-5))
        self.fc = nn.Linear(128, CLASSES)

    def forward(self, x):
        for n in range(1, 4):
            x = getattr(self, f"conv{n}")(x)
            if self.bn:
                x = getattr(self, f"bn{n}")(x)
            x = relu(x)
            if n < 3:
                x = F.max_pool2d(x, 2, 2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """ModelZoo.resnet18: torchvision's layout and parameter names for 13 bands."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(BANDS, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for stage, width in enumerate([64, 128, 256, 512]):
            stride = 1 if stage == 0 else 2
            setattr(self, f"layer{stage + 1}", nn.Sequential(BasicBlock(cin, width, stride), BasicBlock(width, width, 1)))
            cin = width
        self.fc = nn.Linear(512, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def make_model(name):
    return {"small": lambda: SmallCNN(False), "small-bn": lambda: SmallCNN(True), "resnet": ResNet18}[name]()


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"train.py: {' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def check_gradients(bench, name, folder, batch, size):
    """Largest relative gradient error of torch against landcover on one batch (and its parameter)."""
    run([bench, "gradients", name, folder, "--batch", str(batch), "--size", str(size)])
    model = make_model(name)
    parameters = dict(model.named_parameters())
    listing = [line.split() for line in open(os.path.join(folder, "parameters.txt")) if line.strip()]
    grads = {}
    with torch.no_grad():
        for index, pname, _ in listing:
            value = torch.from_numpy(np.load(os.path.join(folder, f"p{index}.value.npy")))
            target = parameters[pname]
            if value.shape != target.shape:
                sys.exit(f"train.py: {name} parameter {pname}: landcover {tuple(value.shape)}, torch {tuple(target.shape)}")
            target.copy_(value)
            grads[pname] = np.load(os.path.join(folder, f"p{index}.grad.npy")).astype(np.float64)
    if set(grads) != set(parameters):
        sys.exit(f"train.py: {name}: parameters differ: {sorted(set(grads) ^ set(parameters))}")
    x = torch.from_numpy(np.load(os.path.join(folder, "input.npy")))
    targets = torch.from_numpy(np.load(os.path.join(folder, "targets.npy")).astype(np.int64))
    model.train()
    model.zero_grad()
    # Float64 in torch: the reference then carries no rounding of its own.
    model.double()
    relu_margins.clear()
    total = 0.0
    for start in range(0, x.shape[0], MICRO_BATCH):
        logits = model(x[start:start + MICRO_BATCH].double())
        loss = F.cross_entropy(logits, targets[start:start + MICRO_BATCH], reduction="sum") / x.shape[0]
        loss.backward()
        total += loss.item()
    worst, worst_name = 0.0, ""
    for pname, p in model.named_parameters():
        reference = p.grad.numpy()
        scale = max(np.abs(reference).max(), 1e-12)
        error = np.abs(reference - grads[pname]).max() / scale
        if error > worst:
            worst, worst_name = error, pname
    landcover_loss = float(open(os.path.join(folder, "loss.txt")).read())
    return worst, worst_name, total, landcover_loss, min(relu_margins)


def torch_throughput(name, batch, repeats):
    torch.manual_seed(0)
    model = make_model(name).to(memory_format=torch.channels_last)
    model.train()
    x = torch.randn(batch, BANDS, SIZE, SIZE).to(memory_format=torch.channels_last)
    targets = torch.randint(0, CLASSES, (batch,))

    def step():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), targets).backward()

    step()  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return batch / statistics.median(times), batch / statistics.median(cpu)


def landcover_throughput(bench, name, batch, repeats, threads):
    output = run([bench, "train", ROWS[name].lower(), "--threads", str(threads), "--batch", str(batch), "--repeats", str(repeats)])
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == ROWS[name]:
            return float(cells[1]), float(cells[2])
    sys.exit(f"train.py: no row {ROWS[name]!r} in landcover-bench output:\n{output}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--models", default="small,small-bn,resnet")
    parser.add_argument("--check-batch", type=int, default=8, help="patches of the gradient check")
    parser.add_argument("--check-size", type=int, default=32, help="patch size of the gradient check")
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "LandcoverBench"))
    parser.add_argument("--out", default="/tmp/landcover-train")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads and landcover workers (2 is the comparison; 1 shows per-core efficiency "
                             "without torch's OpenMP threads waiting on each other)")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in ROWS:
            sys.exit(f"train.py: unknown model {m}; use {', '.join(ROWS)}")
    torch.set_num_threads(args.threads)
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "LandcoverBench"], cwd=ROOT, check=True)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; landcover {args.bench}; "
          f"load average {os.getloadavg()[0]:.1f} before the run")
    print(f"batch {args.batch} x {BANDS} x {SIZE} x {SIZE}, forward + loss + backward, {args.threads} threads, "
          f"median of {args.repeats} steps per round, {args.rounds} rounds alternating engines")
    print("")
    rows = []
    for name in models:
        error, where, torch_loss, landcover_loss, margin = check_gradients(
            args.bench, name, os.path.join(args.out, name), args.check_batch, args.check_size)
        landcover, reference = [], []
        for round_index in range(args.rounds):
            # Alternate which engine runs first in a round.
            order = [0, 1] if round_index % 2 == 0 else [1, 0]
            for engine in order:
                if engine == 0:
                    landcover.append(landcover_throughput(args.bench, name, args.batch, args.repeats, args.threads))
                else:
                    reference.append(torch_throughput(name, args.batch, args.repeats))
        lc = statistics.median(w for w, _ in landcover)
        pt = statistics.median(w for w, _ in reference)
        lc_cpu = statistics.median(c for _, c in landcover)
        pt_cpu = statistics.median(c for _, c in reference)
        rows.append((ROWS[name], lc, pt, lc / pt, min(w for w, _ in landcover), max(w for w, _ in landcover),
                     min(w for w, _ in reference), max(w for w, _ in reference), lc_cpu, pt_cpu,
                     error, where, abs(torch_loss - landcover_loss), margin))
    print("| model | landcover patches/s | PyTorch patches/s | ratio | landcover range | PyTorch range | "
          "landcover per CPU-s | PyTorch per CPU-s | ratio per CPU-s | gradient rel. error (worst parameter) | loss difference | "
          "smallest ReLU input |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    for r in rows:
        print(f"| {r[0]} | {r[1]:.0f} | {r[2]:.0f} | {r[3]:.2f}x | {r[4]:.0f}-{r[5]:.0f} | {r[6]:.0f}-{r[7]:.0f} | "
              f"{r[8]:.0f} | {r[9]:.0f} | {r[8] / r[9]:.2f}x | {r[10]:.1e} ({r[11]}) | {r[12]:.1e} | {r[13]:.1e} |")
        failed = failed or r[10] > 1e-4
    print("")
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) after the run: ratios measured under load are distorted "
          "in torch's disfavour (its OpenMP threads wait on each other), the per CPU-second ratio less so")
    if failed:
        sys.exit("train.py: gradients differ from torch's by more than 1e-4")


if __name__ == "__main__":
    main()

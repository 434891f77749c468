#!/usr/bin/env python3
"""Compare the outputs of two landcover builds on the example pipelines, byte for byte.

A restructure or refactor must not change what users get. This script runs every pipeline in
pipelines/ (and variants of it that switch on the other outputs) with an old and a new
`landcover` binary, from the same pipeline file in the same folder, and compares:

- maps, confidence and probability rasters, previews, QGIS styles, .aux.xml: byte for byte;
- GeoPackage polygons: every table's rows (gpkg_contents.last_change excepted: a timestamp);
- GeoJSON polygons: byte for byte;
- STAC items: the JSON without the `created`/`updated`/`processing:datetime` timestamps and the
  GeoPackage asset's checksum (its bytes hold a last-change time).

Usage:
  python3 scripts/compare_outputs.py --old OLD_BINARY [--new .build/release/landcover]
  python3 scripts/compare_outputs.py --old-rev f9d5601      # builds that revision in a worktree

Prints one line per compared file and a summary; exits 1 if anything differs.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, extra lines appended to the pipeline's `output:` block)
VARIANTS = [
    ("as-shipped", {}),
    ("probabilities-geojson-gtiff", {"probabilities": "true", "polygons": "geojson", "format": "gtiff"}),
]
TIMESTAMP_KEYS = {"created", "updated", "processing:datetime"}


def build_revision(rev, scratch):
    tree = os.path.join(scratch, "old-tree")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, rev], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["swift", "build", "-c", "release", "--product", "landcover", "-q"], cwd=tree, check=True)
    return tree, os.path.join(tree, ".build", "release", "landcover")


def pipeline_variant(source, overrides, out_folder):
    """The example pipeline with absolute input/model paths, its output folder moved, and overrides."""
    base = os.path.dirname(source)
    lines = []
    in_output = False
    for line in open(source, encoding="utf-8").read().splitlines():
        stripped = line.strip()
        if stripped.startswith("- ../") or stripped.startswith("model: ../"):
            key, _, rel = line.partition("../")
            line = key + os.path.normpath(os.path.join(base, "../" + rel.split("#")[0].strip()))
        if line.startswith("output:"):
            in_output = True
        elif line and not line.startswith(" ") and not line.startswith("#"):
            in_output = False
        if in_output and stripped.startswith("folder:"):
            line = "  folder: " + out_folder
        if in_output:
            key = stripped.split(":")[0]
            if key in overrides:
                continue
        lines.append(line)
        if line.startswith("output:"):
            lines += [f"  {k}: {v}" for k, v in overrides.items()]
    return "\n".join(lines) + "\n"


def gpkg_rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
    rows = {}
    for table in tables:
        columns = [r[1] for r in db.execute(f'pragma table_info("{table}")')]
        kept = [c for c in columns if not (table == "gpkg_contents" and c == "last_change")]
        select = ", ".join(f'"{c}"' for c in kept)
        rows[table] = sorted(db.execute(f'select {select} from "{table}"').fetchall(), key=repr)
    db.close()
    return rows


def without_timestamps(value):
    if isinstance(value, dict):
        # A GeoPackage's bytes hold its last-change time, so its asset checksum is a timestamp too.
        gpkg = str(value.get("href", "")).endswith(".gpkg")
        return {k: without_timestamps(v) for k, v in value.items()
                if k not in TIMESTAMP_KEYS and not (gpkg and k == "file:checksum")}
    if isinstance(value, list):
        return [without_timestamps(v) for v in value]
    return value


def same(old, new):
    if old.endswith(".gpkg"):
        return gpkg_rows(old) == gpkg_rows(new)
    if old.endswith(".stac.json"):
        return without_timestamps(json.load(open(old))) == without_timestamps(json.load(open(new)))
    with open(old, "rb") as a, open(new, "rb") as b:
        return a.read() == b.read()


def compared_files(folder):
    """Products only: not the run history, lock, or run reports (they hold times and durations)."""
    names = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or name.startswith(".") or name.startswith("landcover-"):
            continue
        names.append(name)
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--old", help="the previous landcover binary")
    group.add_argument("--old-rev", help="a git revision to build and use as the previous binary")
    parser.add_argument("--new", default=os.path.join(ROOT, ".build", "release", "landcover"))
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="landcover-compare-")
    tree = None
    failures = 0
    compared = 0
    try:
        old = args.old
        if args.old_rev:
            tree, old = build_revision(args.old_rev, scratch)
        pipelines = sorted(f for f in os.listdir(os.path.join(ROOT, "pipelines")) if f.endswith(".yaml"))
        for pipeline in pipelines:
            for variant, overrides in VARIANTS:
                work = os.path.join(scratch, f"{pipeline}-{variant}")
                os.makedirs(work)
                out = os.path.join(work, "out")
                path = os.path.join(work, "pipeline.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(pipeline_variant(os.path.join(ROOT, "pipelines", pipeline), overrides, out))
                results = {}
                for label, binary in (("old", old), ("new", args.new)):
                    run = subprocess.run([binary, "run", path, "--quiet"], capture_output=True, text=True)
                    if run.returncode != 0:
                        print(f"{pipeline} [{variant}] {label}: exit {run.returncode}: {run.stderr.strip()}")
                        failures += 1
                    shutil.move(out, os.path.join(work, label))
                    results[label] = compared_files(os.path.join(work, label))
                if results["old"] != results["new"]:
                    print(f"{pipeline} [{variant}]: different file sets: {results['old']} vs {results['new']}")
                    failures += 1
                for name in results["old"]:
                    if name not in results["new"]:
                        continue
                    ok = same(os.path.join(work, "old", name), os.path.join(work, "new", name))
                    compared += 1
                    failures += 0 if ok else 1
                    print(f"{'same' if ok else 'DIFFERENT':9} {pipeline} [{variant}] {name}")
    finally:
        if tree:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], stdout=subprocess.DEVNULL)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{compared} files compared, {failures} differences or failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

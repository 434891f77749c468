#!/usr/bin/env bash
# Fuzzes landcover's parsers with libFuzzer (scripts/README.md, "Fuzzing"): the GeoTIFF
# directory check and direct tile reader (FuzzTIFF), the ONNX protobuf reader and graph compiler
# (FuzzONNX) and the pipeline-file YAML/schema layer (FuzzPipelineYAML).
#
#   bash scripts/fuzz.sh [--seconds N] [--parallel K] [--no-build] [TARGET...]
#
# Builds the targets with -sanitize=fuzzer,address into .build-fuzz (LANDCOVER_FUZZ=1 declares
# them in Package.swift; the normal build never does), generates seed corpora from the
# repository's real files, then runs each target for N seconds (default 600), K at a time
# (default 2). Everything goes under .build-fuzz/ (git-ignored): corpus/TARGET (seeds plus what
# libFuzzer found), crashes/TARGET (crash-*, oom-*, timeout-* inputs) and logs/TARGET.log
# (libFuzzer's fork mode: a finding is saved and fuzzing goes on; its last "#N: cov: ..." line
# has executions, coverage and time). Exit status 1 when a target found anything. Not part of
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
parallel=2
build=1
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --parallel) parallel="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        Fuzz*) targets+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument '$1' (targets: FuzzTIFF FuzzONNX FuzzPipelineYAML)" >&2; exit 2 ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(FuzzTIFF FuzzONNX FuzzPipelineYAML)

root=.build-fuzz
mkdir -p "$root/seeds" "$root/corpus" "$root/crashes" "$root/logs" "$root/tmp"

if [[ $build == 1 ]]; then
    for target in "${targets[@]}"; do
        LANDCOVER_FUZZ=1 swift build -c release --scratch-path "$root/build" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product "$target"
    done
fi
bin="$root/build/release"

# --- Seed corpora from the repository's real files -------------------------------------------
seed_tiff() {
    local out="$root/seeds/FuzzTIFF"
    rm -rf "$out"; mkdir -p "$out"
    local n=0
    for source in Tests/Fixtures/eurosat_ms/*/*.tif; do
        # Small crops of real EuroSAT Sentinel-2 patches in every layout the direct reader
        # decodes (and a few it leaves to GDAL): tiled DEFLATE with and without predictor,
        # uncompressed, band and pixel interleaving, Byte, BigTIFF, strips, LZW.
        local variants=(
            "-co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=DEFLATE -co PREDICTOR=2 -co INTERLEAVE=BAND"
            "-co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=DEFLATE -co INTERLEAVE=PIXEL"
            "-co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co INTERLEAVE=BAND"
            "-co TILED=YES -co BLOCKXSIZE=32 -co BLOCKYSIZE=16 -co COMPRESS=DEFLATE -co PREDICTOR=2 -co BIGTIFF=YES"
            "-ot Byte -scale 0 4000 0 255 -co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=DEFLATE -co PREDICTOR=2"
            "-co COMPRESS=LZW"
            "-co COMPRESS=DEFLATE -co ENDIANNESS=BIG"
        )
        for options in "${variants[@]}"; do
            n=$((n + 1))
            # shellcheck disable=SC2086
            gdal_translate -q -srcwin 8 8 40 24 -b 2 -b 3 -b 4 $options "$source" "$out/seed-$n.tif"
            rm -f "$out/seed-$n.tif.aux.xml"
        done
    done
    # A header bomb: a georeferenced tiled TIFF claiming 65536 x 65536 pixels in 16 x 16 tiles.
    python3 - "$out/bomb.tif" <<'PY'
import struct, sys
tiles = 4096 * 4096
entries = [(256, 4, 1, 65536), (257, 4, 1, 65536), (258, 3, 1, 16), (259, 3, 1, 8), (262, 3, 1, 1),
           (277, 3, 1, 1), (284, 3, 1, 1), (322, 3, 1, 16), (323, 3, 1, 16), (324, 4, tiles, 8),
           (325, 4, tiles, 8), (339, 3, 1, 1)]
ifd = 8
data = bytearray(struct.pack('<2sHI', b'II', 42, ifd))
data += struct.pack('<H', len(entries))
for tag, kind, count, value in entries:
    if kind == 3 and count == 1:
        data += struct.pack('<HHIHH', tag, kind, count, value, 0)
    else:
        data += struct.pack('<HHII', tag, kind, count, value)
data += struct.pack('<I', 0)
open(sys.argv[1], 'wb').write(bytes(data))
PY
}

seed_onnx() {
    local out="$root/seeds/FuzzONNX"
    rm -rf "$out"; mkdir -p "$out"
    # The operator and network fixtures of scripts/onnx_fixtures (needs numpy, onnx and
    # onnxruntime: `bash scripts/setup.sh --python`); the small ones seed the corpus.
    python3 scripts/onnx_fixtures/make_fixtures.py --out "$root/onnx-fixtures" > /dev/null
    find "$root/onnx-fixtures" -name '*.onnx' -size -64k | sort | while read -r model; do
        cp "$model" "$out/$(echo "${model#"$root"/onnx-fixtures/}" | tr '/' '_')"
    done
}

seed_yaml() {
    local out="$root/seeds/FuzzPipelineYAML"
    rm -rf "$out"; mkdir -p "$out"
    cp pipelines/sample.yaml "$out/"
    # Every YAML block of the pipeline-file reference.
    awk -v out="$out" '/^```yaml/ { n++; file = out "/readme-" n ".yaml"; next } /^```/ { file = "" } file { print > file }' pipelines/README.md
}

for target in "${targets[@]}"; do
    case "$target" in
        FuzzTIFF) seed_tiff ;;
        FuzzONNX) seed_onnx ;;
        FuzzPipelineYAML) seed_yaml ;;
        *) echo "fuzz.sh: unknown target $target" >&2; exit 2 ;;
    esac
done

# --- Runs --------------------------------------------------------------------------------------
run_one() {
    local target="$1"
    mkdir -p "$root/corpus/$target" "$root/crashes/$target"
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 LANDCOVER_FUZZ_TMP="$root/tmp" \
        "$bin/$target" "$root/corpus/$target" "$root/seeds/$target" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -max_len=65536 -print_final_stats=1 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -artifact_prefix="$root/crashes/$target/" > "$root/logs/$target.log" 2>&1
}

status=0
pids=()
names=()
for target in "${targets[@]}"; do
    while [[ ${#pids[@]} -ge $parallel ]]; do
        wait -n || true
        local_pids=()
        local_names=()
        for i in "${!pids[@]}"; do
            if kill -0 "${pids[$i]}" 2>/dev/null; then local_pids+=("${pids[$i]}"); local_names+=("${names[$i]}"); fi
        done
        pids=("${local_pids[@]}"); names=("${local_names[@]}")
    done
    echo "fuzz.sh: running $target for ${seconds}s (log: $root/logs/$target.log)"
    run_one "$target" &
    pids+=($!); names+=("$target")
done
wait || true

for target in "${targets[@]}"; do
    log="$root/logs/$target.log"
    # Fork mode: one "#EXECUTIONS: cov: ... exec/s: ... oom/timeout/crash: ... time: ...s" line per job.
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    runs=$(echo "$last" | grep -Eo '^#[0-9]+' | tr -d '#')
    rate=$(echo "$last" | grep -Eo 'exec/s: [0-9]+' | awk '{print $2}')
    cov=$(echo "$last" | grep -Eo 'cov: [0-9]+ ft: [0-9]+')
    found=$(find "$root/crashes/$target" -type f | wc -l)
    echo "$target: ${runs:-?} executions (${rate:-?}/s), ${cov:-no coverage line}, ${found} crash/oom/timeout inputs in $root/crashes/$target"
    [[ $found -eq 0 ]] || status=1
done
exit $status

#!/usr/bin/env bash
# The main job on the embedded sample: installs what is missing, builds landcover, and runs it on
# the real Sentinel-2 sample scene in samples/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product landcover -q
BIN=.build/release/landcover
if [ -f pipelines/sample.yaml ] && "$BIN" run --help >/dev/null 2>&1; then
  "$BIN" run pipelines/sample.yaml
else
  "$BIN" info samples/s2l1c_33UUU_20170216_west
fi

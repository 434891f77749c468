#!/usr/bin/env bash
# The main job on the embedded sample: installs what is missing, builds landcover, and runs
# pipelines/sample.yaml: the sample U-Net (samples/model) on the real Sentinel-2 L1C crop in
# samples/, writing the class map (COG), its class polygons (GeoPackage), preview PNG, STAC item and a
# run report to out/sample/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product landcover -q
.build/release/landcover run pipelines/sample.yaml "$@"
echo "outputs:"
ls -1 out/sample/*.tif out/sample/*.qml out/sample/*.gpkg out/sample/*.png out/sample/*.json 2>/dev/null | sed 's/^/  /'

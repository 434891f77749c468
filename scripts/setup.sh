#!/usr/bin/env bash
# Installs the Debian packages landcover needs to build, test and run.
# Idempotent: packages already present are skipped; apt-get update runs only when something is missing.
# Usage: scripts/setup.sh            (system packages)
#        scripts/setup.sh --python   (also the Python packages used by developer scripts and interop tests)
set -euo pipefail

packages=(
  pkg-config        # SwiftPM resolves the CGDAL and CBLAS system-library targets through it
  libgdal-dev       # GDAL headers and library (raster I/O)
  gdal-bin          # gdalinfo, gdalwarp, gdal_translate: used by tests to cross-check our output
  libtiff-dev
  libdeflate-dev    # CDeflate: RasterIO inflates DEFLATE GeoTIFF tiles itself
  libopenblas-dev   # CBLAS
  libsqlite3-dev    # the run history (GRDB links the system SQLite)
  sqlite3           # inspect the run history by hand
  time              # /usr/bin/time: tests measure the peak RSS of landcover runs (header and model bombs)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: system packages present"
fi

if [ "${1:-}" = "--python" ]; then
  # Versions pinned so that reference outputs are reproducible.
  python3 -m pip install -q --disable-pip-version-check \
    "numpy>=1.26" "onnx>=1.16" "onnxruntime>=1.18" "stac-pydantic>=3" 2>&1 | grep -v -i "warning" || true
fi

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
  time              # GNU time: tests measure the peak RSS of landcover runs (header and model bombs)
)

source "$(dirname "$0")/apt-packages.sh"
install_packages setup "${packages[@]}"

if [ "${1:-}" = "--python" ]; then
  # Versions pinned so that reference outputs are reproducible. moto[server] is the S3 API server
  # of the object-store output tests (Tests/TestSupport/S3TestServer.swift), boto3 their client;
  # PyYAML parses examples/schedulers/ in SchedulerExampleTests.
  python3 -m pip install -q --disable-pip-version-check \
    "numpy>=1.26" "onnx>=1.16" "onnxruntime>=1.18" "stac-pydantic>=3" "rio-cogeo>=5" \
    "jsonschema>=4.18" "referencing>=0.28" "pystac>=1.10" \
    "onnxscript>=0.5" "onnxconverter-common>=1.14" \
    "moto[server]>=5" "boto3>=1.34" "pyyaml>=6" 2>&1 | grep -v -i "warning" || true
  # The real STAC API of the stac_search tests (scripts/stac_api_server.sh): stac-fastapi-pgstac
  # and pypgstac over the PostgreSQL + PostGIS of scripts/install-clients.sh.
  python3 -m pip install -q --disable-pip-version-check \
    "pypgstac[psycopg]>=0.9" "stac-fastapi.pgstac[server]>=5" "uvicorn>=0.30" 2>&1 | grep -v -i "warning" || true
  # PyTorch on CPU for the models-users-bring tests (scripts/onnx_fixtures/make_user_models.py):
  # from the machine's local wheel folder (pip's find-links); the tests skip, saying so, without it.
  python3 -c "import torch" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "torch==2.13.0+cpu" 2>&1 \
    | grep -v -i "warning" || true
fi

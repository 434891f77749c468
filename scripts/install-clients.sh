#!/usr/bin/env bash
# Installs the heavy real clients the interoperability tests run against (once per machine):
# QGIS 3 with its Python bindings (Debian python3-qgis, qgis-providers) and the Debian Python 3 it
# runs under; headless Chromium (Debian chromium), which renders the run and history pages; PostgreSQL 15 + PostGIS for the real STAC API (scripts/stac_api_server.sh). Idempotent: packages already present are skipped; apt-get update runs only when
# something is missing. Tests that need a client which could not be installed skip with a reason.
set -euo pipefail

packages=(
  python3-qgis      # QGIS core and its Python bindings (QgsRasterLayer, QgsMapRendererParallelJob)
  qgis-providers    # GDAL/OGR data providers QGIS opens GeoTIFF and GeoPackage with
  chromium          # headless browser: opens the run pages (reports/run-*.html) and history --html pages
  postgresql-15     # the database under the real STAC API (stac-fastapi-pgstac) of the stac_search tests
  postgresql-15-postgis-3  # PostGIS, which pgstac needs
)

source "$(dirname "$0")/apt-packages.sh"
if ! install_packages install-clients "${packages[@]}"; then
  echo "install-clients: apt-get could not install $(missing_packages "${packages[@]}" | tr '\n' ' '); the tests that need them will skip" >&2
fi

#!/usr/bin/env bash
# Installs the heavy real clients the interoperability tests run against (once per machine):
# QGIS 3 with its Python bindings (Debian python3-qgis, qgis-providers) and the Debian Python 3 it
# runs under. Idempotent: packages already present are skipped; apt-get update runs only when
# something is missing. Tests that need a client which could not be installed skip with a reason.
set -euo pipefail

packages=(
  python3-qgis      # QGIS core and its Python bindings (QgsRasterLayer, QgsMapRendererParallelJob)
  qgis-providers    # GDAL/OGR data providers QGIS opens GeoTIFF and GeoPackage with
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-clients: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if ! { $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq &&
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
           --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "install-clients: apt-get could not install ${missing[*]}; the tests that need them will skip" >&2
  fi
else
  echo "install-clients: QGIS present"
fi

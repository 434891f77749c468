#!/usr/bin/env bash
# The whole test suite: installs what is missing (system and Python packages, QGIS), builds in release
# mode (the CNN kernels need optimization to run at useful speed) and runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --python
bash scripts/install-clients.sh   # QGIS and Chromium for the interoperability tests (once per machine)
swift build -c release --build-tests -q
swift test -c release --skip-build "$@"

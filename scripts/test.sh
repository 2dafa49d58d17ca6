#!/usr/bin/env bash
# README command (2): install what is needed, build, and run every test
# (unit, classifier property, integration against the real trawld on vdevs).
# .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ ! -d build ]; then
  meson setup build --buildtype=debugoptimized
fi
ninja -C build
# Two cores: run the tests one or two at a time; each trawld instance gets its own
# --file-prefix and API port, so they never collide.
meson test -C build --print-errorlogs --num-processes 2 "$@"

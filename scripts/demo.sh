#!/usr/bin/env bash
# Builds and runs the demo (installs what it needs first). Quiet when the
# build succeeds; prints the build's output when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
mkdir -p build
if [ ! -f build/demo/build.ninja ]; then
  meson setup build/demo -Dtests=disabled -Dexamples=true >build/demo.setup.log 2>&1 \
    || { cat build/demo.setup.log >&2; echo "demo: meson setup failed" >&2; exit 1; }
fi
meson compile -C build/demo demo >build/demo.build.log 2>&1 \
  || { cat build/demo.build.log >&2; echo "demo: the build failed" >&2; exit 1; }
exec build/demo/examples/demo

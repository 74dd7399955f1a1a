#!/usr/bin/env bash
# Builds and runs the demo (installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
[ -f build/demo/build.ninja ] || meson setup build/demo -Dtests=disabled -Dexamples=true >/dev/null
meson compile -C build/demo demo >/dev/null
exec build/demo/examples/demo

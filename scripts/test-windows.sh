#!/usr/bin/env bash
# The portable suites (core, and the io suites that run on every backend) on
# Windows with the IOCP backend: cross compiled with MinGW-w64
# (cross/mingw-w64-x86_64.txt) and run under Wine. Called by scripts/test.sh;
# runs alone too. Exits 77 (skipped, saying why) without the cross compiler
# or Wine.
# Usage: scripts/test-windows.sh [BUILD_DIR]   (default build/test-windows)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/test-windows}
cross=cross/mingw-w64-x86_64.txt
wine=${NETAIO_WINE:-/usr/lib/wine/wine64}  # overridable, e.g. to test the skip
jobs=$(nproc)

if ! command -v x86_64-w64-mingw32-g++-posix >/dev/null; then
  echo "skipped: no x86_64-w64-mingw32-g++-posix (g++-mingw-w64-x86-64-posix), so Windows is not tested here"
  exit 77
fi
if [ ! -x "$wine" ]; then
  echo "skipped: no Wine at $wine (wine64), so the Windows build cannot run here"
  exit 77
fi
# A build that fails must not leave an earlier run's results to be counted.
rm -f "$dir/meson-logs/testlog.json"
mkdir -p build

# doctest is header-only, but the cross compiler does not (and must not)
# search the build machine's /usr/include: its folder alone is copied next
# to the build tree and given to the cross build.
doctest_src=${NETAIO_DOCTEST_DIR:-/usr/include}
doctest_inc=build/windows-doctest
if [ ! -f "$doctest_inc/doctest/doctest.h" ] || ! cmp -s "$doctest_src/doctest/doctest.h" "$doctest_inc/doctest/doctest.h"; then
  if [ ! -f "$doctest_src/doctest/doctest.h" ]; then
    echo "no doctest/doctest.h under $doctest_src (doctest-dev)"
    exit 1
  fi
  mkdir -p "$doctest_inc/doctest"
  cp "$doctest_src/doctest/doctest.h" "$doctest_inc/doctest/"
fi
doctest_abs=$(cd "$doctest_inc" && pwd)

# -isystem: doctest's header is not ours to hold to -Werror.
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" --cross-file "$cross" -Dbuildtype=plain -Dwerror=true -Dtests=enabled \
    -Dexamples=false -Dcli=disabled -Dtest_suites=portable \
    -Dcpp_args="['-O1','-g1','-isystem','$doctest_abs']" >"$dir.setup.log" 2>&1 \
    || { cat "$dir.setup.log"; exit 1; }
fi
if ! meson compile -C "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
  tail -n 80 "$dir.build.log"
  echo "build failed: windows"
  exit 1
fi

# Wine: quiet, with its own prefix in the build tree (created on first use,
# ~10 s), and the wineserver this run started ended afterwards.
export WINEDEBUG=-all
export WINEPREFIX
WINEPREFIX=$(cd "$dir" && pwd)/wineprefix
wineserver=$(dirname "$wine")/wineserver
# Create the prefix once, before the tests start in parallel.
[ -f "$WINEPREFIX/system.reg" ] || "$wine" wineboot --init >"$dir.wineboot.log" 2>&1
meson test -C "$dir" --num-processes "$jobs" --timeout-multiplier 3 --print-errorlogs \
  | grep -vE '^\s*$' | tail -n 60
rc=${PIPESTATUS[0]}
"$wineserver" -k >/dev/null 2>&1 || true
exit "$rc"

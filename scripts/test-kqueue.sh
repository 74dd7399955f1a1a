#!/usr/bin/env bash
# The io suites once more, on the kqueue backend: Linux has no kqueue, so
# they run over libkqueue (kqueue in user space, over epoll), built from
# ../shared/vendor/libkqueue into build/libkqueue. Called by scripts/test.sh;
# runs alone too. Exits 77 (skipped, saying why) when that source is absent.
# Usage: scripts/test-kqueue.sh [BUILD_DIR]   (default build/test-kqueue)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/test-kqueue}
src=${NETAIO_LIBKQUEUE_SRC:-../shared/vendor/libkqueue}  # overridable, e.g. to test the skip
kq=build/libkqueue
jobs=$(nproc)

if [ ! -f "$src/CMakeLists.txt" ]; then
  echo "skipped: no libkqueue source at $src, so the kqueue backend is not tested here"
  exit 77
fi
# A build that fails must not leave an earlier run's results to be counted.
rm -f "$dir/meson-logs/testlog.json"
mkdir -p build

# libkqueue: static, no tests; a rebuild is a no-op.
if [ ! -f "$kq/build.ninja" ]; then
  cmake -S "$src" -B "$kq" -G Ninja -DCMAKE_BUILD_TYPE=Release -DENABLE_SHARED=OFF \
    -DENABLE_TESTING=OFF >"$kq.setup.log" 2>&1 || { cat "$kq.setup.log"; exit 1; }
fi
cmake --build "$kq" --target kqueue_static -j "$jobs" >"$kq.build.log" 2>&1 \
  || { tail -n 40 "$kq.build.log"; echo "build failed: libkqueue"; exit 1; }
kq_abs=$(cd "$kq" && pwd)

# Only the io suites (-Dtest_suites=io): nothing else depends on the backend.
# -isystem: libkqueue's header is not ours to hold to -Werror.
if [ ! -f "$dir/build.ninja" ]; then
  CXX=g++ meson setup "$dir" -Dbuildtype=plain -Dwerror=true -Dtests=enabled -Dexamples=false -Dcli=disabled \
    -Dtest_suites=io \
    -Dcpp_args="['-O1','-g1','-DNETAIO_HAS_EPOLL=0','-DNETAIO_HAS_KQUEUE=1','-isystem','$kq_abs/include']" \
    -Dcpp_link_args="['$kq_abs/libkqueue.a','-pthread']" >"$dir.setup.log" 2>&1 \
    || { cat "$dir.setup.log"; exit 1; }
fi
if ! meson compile -C "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
  tail -n 80 "$dir.build.log"
  echo "build failed: kqueue"
  exit 1
fi
meson test -C "$dir" --num-processes "$jobs" --timeout-multiplier 3 --print-errorlogs \
  | grep -vE '^\s*$' | tail -n 60
exit "${PIPESTATUS[0]}"

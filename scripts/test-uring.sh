#!/usr/bin/env bash
# The io suites once more, and the node layer's TCP server and UDP node
# suites (every socket of theirs goes through the backend), on the io_uring
# backend (-Dio_uring=true), in one build: clang++ under AddressSanitizer + UndefinedBehaviorSanitizer, since
# what this backend adds is memory the kernel writes into (a sanitizer
# cannot see the kernel's writes, but it sees our reads of freed ops). Called
# by scripts/test.sh; runs alone too. Exits 77 (skipped, saying why) when
# liburing is not installed or this kernel (or sandbox) refuses io_uring.
# Usage: scripts/test-uring.sh [BUILD_DIR]   (default build/test-uring)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/test-uring}
jobs=$(nproc)
: "${ASAN_OPTIONS:=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

if ! pkg-config --exists liburing 2>/dev/null; then
  echo "skipped: liburing is not installed (Debian liburing-dev), so the io_uring backend is not tested here"
  exit 77
fi
# A build that fails must not leave an earlier run's results to be counted.
rm -f "$dir/meson-logs/testlog.json"
mkdir -p build

# Can this process set up a ring at all? (Kernels before 5.1, or seccomp
# and sysctl kernel.io_uring_disabled in containers, say no.)
probe=build/uring-probe
printf '%s\n' '#include <liburing.h>' \
  'int main(void) { struct io_uring r; if (io_uring_queue_init(8, &r, 0) < 0) return 1;' \
  '  io_uring_queue_exit(&r); return 0; }' >"$probe.c"
if ! cc "$probe.c" -o "$probe" $(pkg-config --cflags --libs liburing) >"$probe.log" 2>&1; then
  cat "$probe.log"
  echo "build failed: the io_uring probe"
  exit 1
fi
if ! "$probe"; then
  echo "skipped: io_uring_queue_init fails here (kernel or sandbox without io_uring), so the io_uring backend is not tested"
  exit 77
fi

# Every suite is configured (-Dtest_suites=all) but only those that depend on
# the backend are built and run (below). clang 14's UBSan "function" check is
# off, as in scripts/test.sh.
if [ ! -f "$dir/build.ninja" ]; then
  CXX=clang++ meson setup "$dir" -Dbuildtype=plain -Dwerror=true -Dtests=enabled -Dexamples=false \
    -Dcli=disabled -Dtest_suites=all -Dio_uring=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args="['-O1','-g1','-fno-sanitize=function']" -Dcpp_link_args=-fno-sanitize=function \
    >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
# A build directory set up by an earlier version of this script has only
# the io suites: set up again (--reconfigure writes the test list at once).
if ! meson introspect "$dir" --buildoptions | python3 -c '
import json, sys
sys.exit(not any(o["name"] == "test_suites" and o["value"] == "all" for o in json.load(sys.stdin)))'; then
  meson setup --reconfigure "$dir" -Dtest_suites=all >"$dir.setup.log" 2>&1 \
    || { cat "$dir.setup.log"; exit 1; }
fi
# Which suites: every io_* suite, the framed stream (its reads end
# differently when a completion arrives with a close), and of the node
# suites over TCP and UDP the two that drive the most socket traffic. The
# other seven (node_tcp_seeds,
# _misuse, _misuse_ndebug, _interop, _client, node_udp_peers, _interop) pass
# here too, but their ASan builds take about 6 CPU-minutes more (3 minutes
# of the run on two cores), which its 40-minute budget has no room for.
# NETAIO_URING_SUITES (a regular expression) widens or narrows the choice.
pattern=${NETAIO_URING_SUITES:-'^(io_.*|node_framed_stream|node_tcp_server|node_udp_node)$'}
mapfile -t suites < <(meson introspect "$dir" --tests | python3 -c '
import json, re, sys
for t in json.load(sys.stdin):
    if re.match(sys.argv[1], t["name"]):
        print(t["name"])' "$pattern")
if [ "${#suites[@]}" -eq 0 ]; then
  echo "no suite in $dir matches $pattern"
  exit 1
fi
if ! meson compile -C "$dir" -j "$jobs" "${suites[@]/#/test_}" >"$dir.build.log" 2>&1; then
  tail -n 80 "$dir.build.log"
  echo "build failed: io_uring"
  exit 1
fi
meson test -C "$dir" --no-rebuild --num-processes "$jobs" --timeout-multiplier 3 --print-errorlogs \
  "${suites[@]}" | grep -vE '^\s*$' | tail -n 60
exit "${PIPESTATUS[0]}"

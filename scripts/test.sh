#!/usr/bin/env bash
# Builds and runs the whole test suite: g++, clang++, ASan+UBSan, TSan (the
# thread-crossing suites), the single header, the io suites on kqueue
# (libkqueue) and io_uring, the portable suites on Windows (MinGW-w64 +
# Wine), the packaging checks, and the fuzz targets for a bounded time.
# Installs what it needs first. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || exit 1

export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
jobs=$(nproc)
status=0
logs=()

step() { echo; echo "==> $*"; }

# Stale single header fails the run before anything is built.
step "single header is up to date"
if ! python3 tools/amalgamate.py --check; then
  echo "single_include/netaio/netaio.hpp is stale: run tools/amalgamate.py" >&2
  status=1
  stale=1
fi

# Tests build at -O1 with line tables only: a third of the compile time of
# -O2 -g, still optimised enough to catch what optimisation exposes, and
# enough debug information for sanitizer stack traces.
flags="['-O1','-g1']"

run_config() {  # name, CXX, meson options...
  local name=$1 cxx=$2; shift 2
  local dir=build/test-$name
  step "$name ($cxx $*)"
  if [ ! -f "$dir/build.ninja" ]; then
    CXX=$cxx meson setup "$dir" -Dbuildtype=plain -Dwerror=true -Dtests=enabled "$@" >"$dir.setup.log" 2>&1 \
      || { cat "$dir.setup.log"; status=1; return; }
  fi
  if ! meson compile -C "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
    tail -n 80 "$dir.build.log"; echo "build failed: $name"; status=1; return
  fi
  local suite_args=()
  [ "$name" = tsan ] && suite_args=(--suite threads)
  meson test -C "$dir" --num-processes "$jobs" --timeout-multiplier 3 --print-errorlogs "${suite_args[@]}" \
    | grep -vE '^\s*$' | tail -n 60 || status=1
  logs+=("$dir/meson-logs/testlog.json")
}

mkdir -p build
run_config gcc g++ -Dcpp_args="$flags" -Dexamples=true
# clang++ builds and runs every test in the ASan + UBSan configuration below
# (-Werror, the same front end and warnings); a plain clang++ build of the
# same suites added ~7 of the run's minutes and found nothing that one does
# not, so the run stays within its 40-minute budget without it.
# clang 14's UBSan "function" check emits prologue data that its own
# assembler rejects in split coroutine functions; every other check is on.
run_config asan clang++ -Db_sanitize=address,undefined -Db_lundef=false -Dexamples=false \
  -Dcpp_args="['-O1','-g1','-fno-sanitize=function']" -Dcpp_link_args=-fno-sanitize=function
# (-Dcli=disabled: the netaio command's tests run in the configs above; here it
# would only be built again.)
run_config tsan clang++ -Db_sanitize=thread -Db_lundef=false -Dtest_suites=threads -Dexamples=false \
  -Dcli=disabled -Dcpp_args="$flags"
run_config single g++ -Dtest_single_header=true -Dcpp_args="$flags" -Dexamples=false -Dcli=disabled

step "io suites on the kqueue backend (libkqueue)"
scripts/test-kqueue.sh build/test-kqueue; rc=$?
if [ $rc -ne 77 ]; then  # 77: skipped, no libkqueue source
  [ $rc -eq 0 ] || status=1
  logs+=("build/test-kqueue/meson-logs/testlog.json")
fi

step "io suites on the io_uring backend (clang++, ASan + UBSan)"
scripts/test-uring.sh build/test-uring; rc=$?
if [ $rc -ne 77 ]; then  # 77: skipped, no liburing or no io_uring here
  [ $rc -eq 0 ] || status=1
  logs+=("build/test-uring/meson-logs/testlog.json")
fi

step "portable suites on Windows (IOCP, MinGW-w64 + Wine)"
scripts/test-windows.sh build/test-windows; rc=$?
if [ $rc -ne 77 ]; then  # 77: skipped, no cross compiler or Wine
  [ $rc -eq 0 ] || status=1
  logs+=("build/test-windows/meson-logs/testlog.json")
fi

step "netaio as a Meson subproject"
tests/subproject/check.sh build/subproject-check || status=1
logs+=("build/subproject-check/results.json")

# Packaging: each way users take netaio builds and runs one small consumer;
# the README's and docs' snippets compile (tests/packaging/check.sh).
rm -rf build/packaging
for check in dropin wrap install version conan snippets; do
  step "packaging: $check"
  tests/packaging/check.sh "$check" build/packaging || status=1
  logs+=("build/packaging/$check.json")
done

if [ -x scripts/fuzz.sh ]; then
  step "fuzz targets (bounded)"
  scripts/fuzz.sh build/fuzz || status=1
  [ -f build/fuzz/fuzz-results.json ] && logs+=("build/fuzz/fuzz-results.json")
fi

echo
python3 tools/count_tests.py ${stale:+--extra-failed 1} "${logs[@]}" || status=1
exit $status

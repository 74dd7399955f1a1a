#!/usr/bin/env bash
# Builds tests/subproject against this repository as a subproject; writes one
# result line (meson testlog.json format) to BUILD_DIR/results.json.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
rm -rf "$out" && mkdir -p "$out/src/subprojects"
cp "$root/tests/subproject/meson.build" "$root/tests/subproject/consumer.cpp" "$out/src/"
ln -s "$root" "$out/src/subprojects/netaio"
result=FAIL
why=""
if ! CXX=g++ meson setup "$out/build" "$out/src" -Dwerror=true >"$out/setup.log" 2>&1; then
  why="setup failed: $(tail -n 5 "$out/setup.log")"
elif ! meson compile -C "$out/build" >"$out/build.log" 2>&1; then
  why="build failed: $(tail -n 20 "$out/build.log")"
elif grep -qE "test_|bench_|examples/demo" "$out/build.log"; then
  why="the subproject built netaio's own tests, benchmarks or examples"
elif ! "$out/build/consumer" || ! "$out/build/consumer_single"; then
  why="the consumer programs failed"
else
  result=OK
fi
[ "$result" = OK ] && echo "subproject consumer: OK" || echo "subproject consumer: FAIL: $why"
python3 - "$out/results.json" "$result" "$why" <<'PY'
import json, sys
path, result, why = sys.argv[1:4]
with open(path, "w") as f:
    f.write(json.dumps({"name": "subproject_consumer", "result": result, "stdout": why}) + "\n")
PY
[ "$result" = OK ]

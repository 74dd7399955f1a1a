#!/usr/bin/env bash
# Builds the wire layer's libFuzzer targets with clang++ and runs each for a
# bounded time, seeded from the reference's vectors.
# Usage: scripts/fuzz.sh BUILD_DIR   (FUZZ_SECONDS=60 per target by default)
# Writes BUILD_DIR/fuzz-results.json (one JSON object per line: name, result,
# stdout) and exits non-zero if any target crashed, leaked or tripped a sanitizer.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$1"
seconds="${FUZZ_SECONDS:-60}"
vectors="$root/tests/data/netaio-wire.json"
targets=(fuzz_frame_reader fuzz_packify)

if [[ ! -f "$build/build.ninja" ]]; then
  CXX=clang++ meson setup "$build" "$root" -Dfuzzing=true -Dtests=enabled \
    -Db_lundef=false -Dbuildtype=debugoptimized -Dexamples=false
else
  meson configure "$build" -Dfuzzing=true >/dev/null
fi

# meson builds the targets once tests/meson.build descends into tests/fuzz;
# until then, build them straight from the sources with the same flags.
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root/include")
for t in "${targets[@]}"; do
  if meson compile -C "$build" "$t" >/dev/null 2>&1; then
    bin="$(find "$build" -type f -name "$t" -perm -u+x | head -n 1)"
  else
    mkdir -p "$build/fuzz-direct"
    bin="$build/fuzz-direct/$t"
    clang++ "${flags[@]}" "$root/tests/fuzz/$t.cpp" -o "$bin" -lz -lsodium
  fi
  eval "bin_$t=\"\$bin\""
done

# Seed corpora from the vectors: frames for the reader, packify values for the decoder.
corpus="$build/fuzz-corpus"
rm -rf "$corpus"
mkdir -p "$corpus/fuzz_frame_reader" "$corpus/fuzz_packify"
python3 - "$vectors" "$corpus" <<'PY'
import json, sys, os
vectors, corpus = sys.argv[1], sys.argv[2]
d = json.load(open(vectors))
def put(target, name, hexdata):
    with open(os.path.join(corpus, target, name), 'wb') as f:
        f.write(bytes.fromhex(hexdata))
for i, v in enumerate(d.get('message', [])):
    put('fuzz_frame_reader', f'message-{i}', v['encoded'])
    enc = bytes.fromhex(v['encoded'])
    auth_len = int.from_bytes(enc[1:3], 'big')
    put('fuzz_packify', f'auth-{i}', enc[9:9 + auth_len].hex())
for i, v in enumerate(d.get('reject', [])):
    put('fuzz_frame_reader', f'reject-{i}', v['encoded'])
msgs = [v['encoded'] for v in d.get('message', [])][:4]
put('fuzz_frame_reader', 'stream', ''.join(msgs))
for i, v in enumerate(d.get('packify', [])):
    put('fuzz_packify', f'packify-{i}', v['packed'])
PY

results="$build/fuzz-results.json"
: > "$results"
failed=0
for t in "${targets[@]}"; do
  eval "bin=\"\$bin_$t\""
  log="$build/fuzz-$t.log"
  mkdir -p "$build/fuzz-work/$t"
  set +e
  "$bin" "$build/fuzz-work/$t" "$corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=70000 -print_final_stats=1 -artifact_prefix="$build/fuzz-work/$t-" \
    >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -eq 0 ]] && ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$log"; then
    result=OK
  else
    result=FAIL
    failed=1
  fi
  summary="$(grep -E "stat::number_of_executed_units|Done [0-9]+ runs|ERROR:|runtime error:" "$log" | head -n 3 | tr '\n' ' ')"
  python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "result": sys.argv[2], "stdout": sys.argv[3][:500]}))' \
    "$t" "$result" "exit $rc; $summary" >>"$results"
  echo "$t: $result ($summary)"
done
exit $failed

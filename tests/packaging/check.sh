#!/usr/bin/env bash
# Packaging checks: each builds and runs tests/packaging/consumer.cpp (a
# server and a client exchanging one HMAC-authenticated message over
# loopback) the way one kind of user gets netaio.
#
#   tests/packaging/check.sh CHECK BUILD_DIR
#
#   dropin    the single header alone, and a copy of include/, each with g++
#             and clang++ and only -std=c++20 -lsodium -lz -pthread
#   wrap      a Meson project with subprojects/netaio.wrap ([wrap-git] at a
#             local clone of this tree) and dependency('netaio')
#   install   a plain `meson setup && meson install` (prefix in BUILD_DIR):
#             builds only the netaio command, puts every file in place; then a pkg-config
#             consumer (g++) and a CMake find_package(netaio) consumer (clang++)
#   version   meson.build, version.hpp, the single header, the installed .pc
#             and CMake version file and the Conan recipe agree
#   conan     `conan create .` (test_package/: Meson through MesonToolchain +
#             PkgConfigDeps) and `conan test` of tests/packaging/cmake
#             (CMakeToolchain + CMakeDeps), with ../shared/tools/conan;
#             skips, saying why, where that client is absent
#   snippets  every ```cpp block of README.md and docs/*.md compiles
#             (tools/check_snippets.py)
#
# Each result is one line of BUILD_DIR/CHECK.json (meson's testlog format),
# counted by tools/count_tests.py. Checks share BUILD_DIR's install prefix and
# clone; remove BUILD_DIR to start afresh (scripts/test.sh does).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
check=${1:?usage: check.sh CHECK BUILD_DIR}
mkdir -p "${2:?usage: check.sh CHECK BUILD_DIR}"
out=$(cd "$2" && pwd)
results="$out/$check.json"
: >"$results"
consumer="$root/tests/packaging/consumer.cpp"
jobs=$(nproc)
failed=0

# record NAME OK|FAIL|SKIP [WHY] [SECONDS]: prints and appends one result.
record() {
  local name=$1 result=$2 why=${3:-} secs=${4:-}
  echo "$name: $result${secs:+ (${secs} s)}${why:+: $why}"
  [ "$result" = FAIL ] && failed=1
  python3 - "$results" "$name" "$result" "$why" "${secs:-0}" <<'PY'
import json, sys
path, name, result, why, secs = sys.argv[1:6]
with open(path, "a") as f:
    f.write(json.dumps({"name": name, "result": result, "stdout": why,
                        "duration": float(secs)}) + "\n")
PY
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
# log_tail FILE: the end of a log, for a failure's reason.
log_tail() { tail -n "${2:-25}" "$1"; }

# The install prefix every check shares: a plain setup (no options, as a new
# user types it) and install. Made once per BUILD_DIR.
prefix="$out/prefix"
prefix_why=""
ensure_prefix() {
  [ -f "$out/install.done" ] && return 0
  rm -rf "$out/install-build" "$prefix"
  meson setup "$out/install-build" "$root" --prefix="$prefix" >"$out/install-setup.log" 2>&1 \
    || { prefix_why="meson setup failed: $(log_tail "$out/install-setup.log")"; return 1; }
  # A header-only library: the only thing an install compiles is the netaio
  # command (cli/).
  ninja -C "$out/install-build" -t commands 2>&1 | grep -v -e ' cli/netaio' -e 'cli/netaio\.p/' \
    >"$out/install-commands.log"
  if [ -s "$out/install-commands.log" ]; then
    prefix_why="a plain setup builds before installing: $(head -n 5 "$out/install-commands.log")"
    return 1
  fi
  meson install -C "$out/install-build" >"$out/install.log" 2>&1 \
    || { prefix_why="meson install failed: $(log_tail "$out/install.log")"; return 1; }
  touch "$out/install.done"
}

# A clone of the working tree (tracked and untracked files, changes
# included), as the "local copy" a wrap or Conan points at. Made once.
clone="$out/clone"
ensure_clone() {
  [ -f "$out/clone.done" ] && return 0
  rm -rf "$clone" && mkdir -p "$clone"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | xargs -0 cp --parents -t "$clone") || return 1
  (cd "$clone" && git init -q && git add -A \
    && git -c user.name=netaio -c user.email=netaio@localhost commit -qm snapshot) || return 1
  touch "$out/clone.done"
}

check_dropin() {
  local d="$out/dropin"
  rm -rf "$d" && mkdir -p "$d/single/netaio" "$d/tree"
  cp "$root/single_include/netaio/netaio.hpp" "$d/single/netaio/"
  cp -r "$root/include" "$d/tree/"
  # name, compiler, include dir: built $jobs at a time, then run in order.
  local builds=("dropin_single_gcc g++ $d/single" "dropin_tree_gcc g++ $d/tree/include"
                "dropin_single_clang clang++ $d/single" "dropin_tree_clang clang++ $d/tree/include")
  local b name cxx inc running=0
  for b in "${builds[@]}"; do
    read -r name cxx inc <<<"$b"
    (
      t=$(now)
      "$cxx" -std=c++20 -I"$inc" "$consumer" -o "$d/$name" -lsodium -lz -pthread >"$d/$name.log" 2>&1
      echo "$? $(since "$t")" >"$d/$name.rc"
    ) &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
  local rc secs
  for b in "${builds[@]}"; do
    read -r name cxx inc <<<"$b"
    read -r rc secs <"$d/$name.rc"
    if [ "$rc" != 0 ]; then
      record "$name" FAIL "$cxx -std=c++20 -I$inc ... failed: $(log_tail "$d/$name.log" 15)" "$secs"
    elif ! "$d/$name" >"$d/$name.out" 2>&1; then
      record "$name" FAIL "the consumer failed: $(cat "$d/$name.out")" "$secs"
    else
      record "$name" OK "" "$secs"
    fi
  done
}

check_wrap() {
  local t; t=$(now)
  local p="$out/wrap"
  ensure_clone || { record wrap_consumer FAIL "could not make a local clone"; return; }
  rm -rf "$p" && mkdir -p "$p/subprojects"
  cp "$root/tests/packaging/wrap/meson.build" "$consumer" "$p/"
  sed "s|@URL@|file://$clone|" "$root/tests/packaging/wrap/netaio.wrap" >"$p/subprojects/netaio.wrap"
  # --force-fallback-for: use the wrap even where a netaio is installed.
  if ! CXX=g++ meson setup "$p/build" "$p" --force-fallback-for=netaio >"$p/setup.log" 2>&1; then
    record wrap_consumer FAIL "setup failed: $(log_tail "$p/setup.log")" "$(since "$t")"
  elif ! grep -q "Dependency netaio found: YES" "$p/setup.log"; then
    record wrap_consumer FAIL "netaio did not come from the wrap: $(log_tail "$p/setup.log")" "$(since "$t")"
  elif ! meson compile -C "$p/build" >"$p/build.log" 2>&1; then
    record wrap_consumer FAIL "build failed: $(log_tail "$p/build.log")" "$(since "$t")"
  elif grep -qE "test_|bench_|examples/demo" "$p/build.log"; then
    record wrap_consumer FAIL "the wrap built netaio's own tests, benchmarks or examples" "$(since "$t")"
  elif ! "$p/build/consumer" >"$p/run.log" 2>&1; then
    record wrap_consumer FAIL "the consumer failed: $(cat "$p/run.log")" "$(since "$t")"
  else
    record wrap_consumer OK "" "$(since "$t")"
  fi
}

check_install() {
  local t; t=$(now)
  rm -f "$out/install.done"
  if ! ensure_prefix; then
    record install_layout FAIL "$prefix_why" "$(since "$t")"
    record install_pkgconfig_consumer FAIL "no install"
    record install_cmake_consumer FAIL "no install"
    return
  fi
  # Every header, the license and the package files; nothing under lib.
  local missing=() f
  while IFS= read -r f; do
    [ -f "$prefix/$f" ] || missing+=("$f")
  done < <(cd "$root" && find include -name '*.hpp' | sort;
           printf '%s\n' bin/netaio share/licenses/netaio/LICENSE share/pkgconfig/netaio.pc \
             share/cmake/netaio/netaioConfig.cmake share/cmake/netaio/netaioConfigVersion.cmake)
  local pc_path; pc_path=$(pkg-config --variable pc_path pkg-config)
  if [ ${#missing[@]} -gt 0 ]; then
    record install_layout FAIL "not installed: ${missing[*]}" "$(since "$t")"
  elif [ -n "$(cd "$prefix" && find . -path ./include -prune -o -path ./share -prune -o -path ./bin/netaio -prune -o -type f -print)" ]; then
    record install_layout FAIL "installed outside include/ and share/: $(cd "$prefix" && find . -path ./include -prune -o -path ./share -prune -o -type f -print)" "$(since "$t")"
  elif [[ ":$pc_path:" != *:/usr/local/share/pkgconfig:* ]]; then
    record install_layout FAIL "pkg-config does not search /usr/local/share/pkgconfig (pc_path: $pc_path)" "$(since "$t")"
  else
    record install_layout OK "" "$(since "$t")"
  fi

  # pkg-config, with g++.
  t=$(now)
  local d="$out/pkgconfig" flags
  rm -rf "$d" && mkdir -p "$d"
  if ! flags=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags --libs netaio 2>&1); then
    record install_pkgconfig_consumer FAIL "pkg-config: $flags" "$(since "$t")"
  elif ! g++ "$consumer" -o "$d/consumer" $flags >"$d/build.log" 2>&1; then
    record install_pkgconfig_consumer FAIL "g++ $flags: $(log_tail "$d/build.log")" "$(since "$t")"
  elif ! "$d/consumer" >"$d/run.log" 2>&1; then
    record install_pkgconfig_consumer FAIL "the consumer failed: $(cat "$d/run.log")" "$(since "$t")"
  else
    record install_pkgconfig_consumer OK "" "$(since "$t")"
  fi

  # Without the command (as where CLI11 is missing): the setup needs nothing
  # but libsodium and zlib, compiles nothing, and installs no bin/.
  t=$(now)
  local bare="$out/install-bare"
  rm -rf "$bare"
  if ! meson setup "$bare/build" "$root" --prefix="$bare/prefix" -Dcli=disabled \
      >"$bare.setup.log" 2>&1; then
    record install_without_cli FAIL "meson setup failed: $(log_tail "$bare.setup.log")" "$(since "$t")"
  elif [ -n "$(ninja -C "$bare/build" -t commands 2>&1)" ]; then
    record install_without_cli FAIL "a setup without the command compiles: $(ninja -C "$bare/build" -t commands | head -n 3)" "$(since "$t")"
  elif ! meson install -C "$bare/build" >"$bare.install.log" 2>&1; then
    record install_without_cli FAIL "meson install failed: $(log_tail "$bare.install.log")" "$(since "$t")"
  elif [ -e "$bare/prefix/bin" ] || [ ! -f "$bare/prefix/include/netaio/netaio.hpp" ]; then
    record install_without_cli FAIL "expected the headers and no bin/ in $bare/prefix" "$(since "$t")"
  else
    record install_without_cli OK "" "$(since "$t")"
  fi

  # CMake find_package(netaio), with clang++.
  t=$(now)
  d="$out/cmake"
  rm -rf "$d"
  if ! CXX=clang++ cmake -S "$root/tests/packaging/cmake" -B "$d" -G Ninja \
      -DCMAKE_PREFIX_PATH="$prefix" >"$out/cmake-configure.log" 2>&1; then
    record install_cmake_consumer FAIL "configure failed: $(log_tail "$out/cmake-configure.log")" "$(since "$t")"
  elif ! cmake --build "$d" >"$out/cmake-build.log" 2>&1; then
    record install_cmake_consumer FAIL "build failed: $(log_tail "$out/cmake-build.log")" "$(since "$t")"
  elif ! "$d/consumer" >"$out/cmake-run.log" 2>&1; then
    record install_cmake_consumer FAIL "the consumer failed: $(cat "$out/cmake-run.log")" "$(since "$t")"
  else
    record install_cmake_consumer OK "" "$(since "$t")"
  fi
}

conan_client="$root/../shared/tools/conan/conan.sh"
conan() { CONAN_HOME="$out/conan-home" "$conan_client" "$@"; }

check_version() {
  local t args=()
  t=$(now)
  ensure_prefix && args+=(--prefix "$prefix")
  [ -x "$conan_client" ] && args+=(--conan "env CONAN_HOME=$out/conan-home $conan_client")
  if python3 "$root/tests/packaging/check_version.py" "$root" "${args[@]}" >"$out/version.log" 2>&1; then
    cat "$out/version.log"
    [ -x "$conan_client" ] || echo "(Conan recipe not checked: ../shared/tools/conan is absent)"
    record version_agrees OK "" "$(since "$t")"
  else
    cat "$out/version.log"
    record version_agrees FAIL "$(cat "$out/version.log")" "$(since "$t")"
  fi
}

check_conan() {
  if [ ! -x "$conan_client" ]; then
    local why="../shared/tools/conan (the Conan client run from source) is absent; the Conan recipe is not tested"
    record conan_create_meson SKIP "$why"
    record conan_test_cmake SKIP "$why"
    return
  fi
  local t; t=$(now)
  local home="$out/conan-home" profile="$out/conan-profile" log="$out/conan.log"
  ensure_clone || { record conan_create_meson FAIL "could not make a local clone"; return; }
  # A Conan home of our own: the user's is untouched. ConanCenter is not
  # reachable, so libsodium and zlib are the system's, through local
  # wrapper recipes that [replace_requires] puts in place of the real ones.
  rm -rf "$home" "$clone/test_package/build-"* "$clone/tests/packaging/cmake/build"
  cat >"$profile" <<'EOF'
include(default)
[settings]
compiler.cppstd=20
[replace_requires]
libsodium/*: libsodium/system
zlib/*: zlib/system
EOF
  local version
  if ! { conan profile detect && conan remote remove conancenter \
         && conan export "$root/tests/packaging/conan/libsodium" \
         && conan export "$root/tests/packaging/conan/zlib"; } >"$log" 2>&1; then
    record conan_create_meson FAIL "Conan setup failed: $(log_tail "$log")" "$(since "$t")"
    record conan_test_cmake FAIL "Conan setup failed"
    return
  fi
  if conan create "$clone" -pr:a "$profile" --build=missing >>"$log" 2>&1 \
      && grep -q "consumer: netaio" "$log"; then
    record conan_create_meson OK "" "$(since "$t")"
  else
    record conan_create_meson FAIL "$(log_tail "$log" 30)" "$(since "$t")"
    record conan_test_cmake FAIL "no package"
    return
  fi
  t=$(now)
  version=$(conan inspect "$clone" --format=json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  if conan test "$clone/tests/packaging/cmake" "netaio/$version" -pr:a "$profile" \
      -c tools.cmake.cmaketoolchain:generator=Ninja >"$out/conan-cmake.log" 2>&1 \
      && grep -q "consumer: netaio" "$out/conan-cmake.log"; then
    record conan_test_cmake OK "" "$(since "$t")"
  else
    record conan_test_cmake FAIL "$(log_tail "$out/conan-cmake.log" 30)" "$(since "$t")"
  fi
}

check_snippets() {
  python3 "$root/tools/check_snippets.py" --build-dir "$out/snippets" --results "$results" \
    || failed=1
}

case "$check" in
  dropin | wrap | install | version | conan | snippets) "check_$check" ;;
  *) echo "unknown check: $check" >&2; exit 2 ;;
esac
exit $failed

#!/usr/bin/env bash
# Installs the Debian packages a netaio command needs, only those missing.
# Usage: scripts/deps.sh demo|test|bench
set -euo pipefail
what=${1:-test}
# libcli11-dev: the netaio command (cli/), which a plain setup builds and installs.
base=(g++ meson ninja-build pkg-config python3 libsodium-dev zlib1g-dev libcli11-dev)
case "$what" in
  demo) pkgs=("${base[@]}") ;;
  # cmake, git and the Conan client's Python modules: the packaging checks;
  # python3-nacl: the reference Python netaio as a live peer (interop tests).
  # liburing-dev: the io suites on the io_uring backend (scripts/test-uring.sh).
  # g++-mingw-w64-x86-64-posix, wine64: the Windows (IOCP) build and its run.
  test) pkgs=("${base[@]}" clang libclang-rt-14-dev doctest-dev nlohmann-json3-dev liburing-dev cmake git
              python3-requests python3-urllib3 python3-colorama python3-yaml python3-patch-ng
              python3-fasteners python3-distro python3-jinja2 python3-dateutil python3-nacl
              g++-mingw-w64-x86-64-posix wine64) ;;
  bench) pkgs=("${base[@]}" libbenchmark-dev libasio-dev liburing-dev) ;;
  *) echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "netaio: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "netaio: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

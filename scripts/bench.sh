#!/usr/bin/env bash
# Runs every benchmark in one go on a release build (build/bench): the core
# runtime beside Asio (Google Benchmark), the wire and plugin benchmarks, then
# the node benchmarks (full node beside the io echo and the reference Python
# netaio, the UDP node beside the io layer's UDP echo; prints the udp_ratios
# and node_ratios lines), then the io comparison of netaio, standalone Asio
# and blocking sockets, twice: first with netaio on the io_uring backend (a
# second build, build/bench-uring, of bench_io_netaio alone, when liburing
# is installed), then on epoll, whose table ends the output. The last line
# is the epoll ratios line:
#   udp_ratios: udp_vs_io=.. udp_hmac_vs_io=.. udp_peer_vs_io=..
#   node_ratios: rtt_vs_io=.. rtt_hmac_vs_io=.. rtt_vs_python=.. rtt_hmac_vs_python=.. inflight_rps=.. stop10k_vs_close=.. bytes_per_conn=..
#   ...
#   ratios_io_uring: (the same figures, netaio on io_uring)
#   ...
#   ratios: rtt_vs_asio=.. rtt_vs_raw=.. oneway_vs_asio=.. oneway_vs_raw=.. conn10k_vs_asio=.. cancel10k_ms=.. rtt1cpu_vs_raw=.. cancel10k_vs_close=..
# Environment: BENCH_SECONDS (per io run, default 2), BENCH_CONNS (default
# 10000), BENCH_ROUNDS (io and node runs per implementation, median kept;
# default 3), BENCH_MIN_TIME (Google Benchmark min time, default 0.2),
# BENCH_INFLIGHT (requests in flight in the node scenario, default 32).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench

dir=build/bench
jobs=$(nproc)
mkdir -p build  # a fresh clone has no build/ yet; the setup log goes there
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" -Dbenchmarks=true -Dbuildtype=release -Db_ndebug=true \
    -Dtests=disabled -Dexamples=false >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
meson compile -C "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; exit 1; }

min_time=${BENCH_MIN_TIME:-0.2}
gbench() {  # name of a Google Benchmark executable under $dir/benchmarks
  local exe="$dir/benchmarks/$1"
  if [ -x "$exe" ]; then
    echo "==> $1"
    timeout 300 "$exe" --benchmark_min_time="$min_time" 2>&1 | grep -vE '^\*\*\*WARNING|^$' \
      || echo "==> $1 failed"
  else
    echo "==> $1: not built"
  fi
}
gbench core/bench_core
gbench wire/bench_wire
gbench plugins/bench_plugins

echo "==> node"
python3 benchmarks/node/run_node.py "$dir" --seconds "${BENCH_SECONDS:-2}" \
  --conns "${BENCH_CONNS:-10000}" --rounds "${BENCH_ROUNDS:-3}" \
  --inflight "${BENCH_INFLIGHT:-32}" || echo "==> node benchmarks failed"

# The io_uring build: release like build/bench, only the netaio io program.
udir=build/bench-uring
echo "==> io comparison, netaio on io_uring"
if pkg-config --exists liburing; then
  if [ ! -f "$udir/build.ninja" ]; then
    meson setup "$udir" -Dbenchmarks=true -Dbuildtype=release -Db_ndebug=true -Dio_uring=true \
      -Dtests=disabled -Dexamples=false -Dcli=false >"$udir.setup.log" 2>&1 \
      || { cat "$udir.setup.log"; exit 1; }
  fi
  meson compile -C "$udir" -j "$jobs" benchmarks/io/bench_io_netaio >"$udir.build.log" 2>&1 \
    || { tail -n 60 "$udir.build.log"; exit 1; }
  python3 benchmarks/io/run_io.py "$dir" --seconds "${BENCH_SECONDS:-2}" \
    --conns "${BENCH_CONNS:-10000}" --rounds "${BENCH_ROUNDS:-3}" \
    --netaio-dir "$udir/benchmarks/io" --label ratios_io_uring || echo "==> io_uring run failed"
else
  echo "ratios_io_uring: NA (liburing is not installed: Debian liburing-dev)"
fi

echo "==> io comparison"
exec python3 benchmarks/io/run_io.py "$dir" --seconds "${BENCH_SECONDS:-2}" \
  --conns "${BENCH_CONNS:-10000}" --rounds "${BENCH_ROUNDS:-3}"

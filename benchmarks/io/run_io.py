#!/usr/bin/env python3
"""Runs the io comparison: netaio, standalone Asio and blocking sockets on
the same framed workloads, in one run, and prints a table. The last line is

ratios: rtt_vs_asio=R1 rtt_vs_raw=R2 oneway_vs_asio=R3 oneway_vs_raw=R4 conn10k_vs_asio=R5 cancel10k_ms=T rtt1cpu_vs_raw=R6 cancel10k_vs_close=R7

with NA (and a line saying why) for any value that could not be measured.
rtt1cpu_vs_raw is the pinned round-trip row (both ends on one CPU) over the
raw blocking row; cancel10k_vs_close is cancel + join of the blocked
connection tasks over the close() floor of as many sockets.

usage: run_io.py BUILD_DIR [--seconds S] [--conns N] [--rounds R]
                 [--netaio-dir DIR] [--label NAME]
--netaio-dir: where bench_io_netaio is taken from (e.g. a build with
-Dio_uring=true); the other programs still come from BUILD_DIR.
--label: the name of the ratios line (default "ratios").
"""

import argparse
import os
import subprocess
import sys
import time

IMPLS = ("netaio", "asio", "raw")


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            fields["value"] = float(fields["value"])
            return fields
    return None


class Runner:
    def __init__(self, build_dir, seconds, conns, rounds, netaio_dir=None):
        self.dir = os.path.join(build_dir, "benchmarks", "io")
        self.netaio_dir = netaio_dir or self.dir
        self.seconds = seconds
        self.conns = conns
        self.rounds = rounds
        self.why = {}  # (scenario, impl) -> reason it is NA

    def exe(self, impl):
        name = "bench_io_loadgen" if impl == "loadgen" else "bench_io_" + impl
        path = os.path.join(self.netaio_dir if impl == "netaio" else self.dir, name)
        return path if os.access(path, os.X_OK) else None

    def missing(self, scenario, impl):
        reasons = {
            "netaio": "bench_io_netaio was not built (the netaio io layer's TCP API is missing)",
            "asio": "bench_io_asio was not built (it needs asio.hpp, from libasio-dev)",
        }
        self.why[(scenario, impl)] = reasons.get(impl, impl + " was not built")

    def run_one(self, scenario, impl, pin=None):
        """One in-process scenario (rtt, oneway): two threads, one program;
        with `pin`, both threads on that one CPU (taskset)."""
        exe = self.exe(impl)
        if exe is None:
            self.missing(scenario, impl)
            return None
        cmd = [exe, scenario, str(self.seconds)]
        if pin is not None:
            cmd = ["taskset", "-c", str(pin)] + cmd
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=self.seconds + 40)
        except subprocess.TimeoutExpired:
            self.why[(scenario, impl)] = "timed out"
            return None
        r = parse_result(p.stdout)
        if p.returncode != 0 or r is None:
            err = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            self.why[(scenario, impl)] = "failed: " + err
            return None
        return r

    def median_of(self, scenario, impls, run=None):
        """Interleaves the implementations, `rounds` times, and keeps each one's
        median run: a shared machine makes single runs swing both ways."""
        run = run or (lambda impl: self.run_one(scenario, impl))
        runs = {impl: [] for impl in impls}
        for _ in range(self.rounds):
            for impl in impls:
                r = run(impl)
                if r is not None:
                    runs[impl].append(r)
        out = {}
        for impl, rs in runs.items():
            if rs:
                rs.sort(key=lambda r: r["value"])
                out[impl] = rs[(len(rs) - 1) // 2]
                out[impl]["spread"] = "%s..%s" % (human(rs[0]), human(rs[-1]))
        return out

    def start_server(self, impl, args, max_seconds):
        exe = self.exe(impl)
        p = subprocess.Popen([exe] + args + [str(max_seconds)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()  # "PORT n" (or EOF if it failed)
        if not line.startswith("PORT "):
            self.stop(p)
            return p, None
        return p, int(line.split()[1])

    @staticmethod
    def stop(p, wait=10):
        try:
            out, err = p.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        return out, err

    def conn10k(self, impl):
        if self.exe(impl) is None:
            self.missing("conn10k", impl)
            return None
        budget = int(self.seconds) + 90
        server, port = self.start_server(impl, ["server"], budget)
        if port is None:
            _, err = self.stop(server)
            self.why[("conn10k", impl)] = "server did not start: " + err.strip()[-200:]
            return None
        try:
            p = subprocess.run([self.exe("loadgen"), "conn10k", str(port), str(self.conns),
                                str(self.seconds), str(server.pid), impl],
                               capture_output=True, text=True, timeout=budget)
            r = parse_result(p.stdout)
            if r is None:
                self.why[("conn10k", impl)] = "load generator failed: " + p.stderr.strip()[-200:]
        except subprocess.TimeoutExpired:
            r = None
            self.why[("conn10k", impl)] = "load generator timed out"
        self.stop(server)
        return r

    def with_idle_peers(self, scenario, impl, args):
        """A server program that prints PORT, with the load generator holding
        `conns` idle connections (each answered once) against it."""
        if self.exe(impl) is None:
            self.missing(scenario, impl)
            return None
        server, port = self.start_server(impl, args, 60)
        if port is None:
            _, err = self.stop(server)
            self.why[(scenario, impl)] = "server did not start: " + err.strip()[-200:]
            return None
        gen = subprocess.Popen([self.exe("loadgen"), "idle", str(port), str(self.conns), "50"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = self.stop(server, wait=60)
        self.stop(gen, wait=20)
        r = parse_result(out)
        if r is None:
            self.why[(scenario, impl)] = "failed: " + err.strip()[-200:]
        return r

    def cancel10k(self):
        return self.with_idle_peers("cancel10k", "netaio", ["cancel", str(self.conns)])

    def close10k(self, registered=False):
        """close() of the sockets alone; `registered`: each in an epoll set
        first, so that close() also unregisters it (a readiness reactor's
        floor)."""
        if registered:
            return self.with_idle_peers("close10k_epoll", "raw", ["close_epoll", str(self.conns)])
        return self.with_idle_peers("close10k", "raw", ["close", str(self.conns)])


def ratio(a, b):
    if a is None or b is None or b["value"] == 0:
        return None
    return a["value"] / b["value"]


def fmt(x, digits=2):
    return "NA" if x is None else "%.*f" % (digits, x)


def human(r):
    if r is None:
        return "NA"
    v = r["value"]
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.1f" % v


def last_allowed_cpu():
    """A CPU this process may run on (the last one), or None without taskset."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    if not cpus or subprocess.run(["which", "taskset"], capture_output=True).returncode != 0:
        return None
    return cpus[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--netaio-dir", default=None)
    ap.add_argument("--label", default="ratios")
    a = ap.parse_args()
    run = Runner(a.build_dir, a.seconds, a.conns, a.rounds, a.netaio_dir)
    t0 = time.time()

    print("io: round trips, one connection (%gs each, median of %d)" % (a.seconds, a.rounds),
          flush=True)
    rtt = run.median_of("rtt", IMPLS)
    # Both ends on one CPU: the CPU cost of a round trip (syscalls, loop),
    # free of the cross-CPU wake-up latency that dominates an idle machine.
    pin = last_allowed_cpu()
    rtt_pinned = {}
    if pin is not None:
        print("io: round trips, one connection, both ends on CPU %d" % pin, flush=True)
        rtt_pinned = run.median_of("rtt", IMPLS, lambda impl: run.run_one("rtt", impl, pin))
    print("io: one-way frames, one connection", flush=True)
    oneway = run.median_of("oneway", IMPLS)
    print("io: %d connections doing round trips (separate server process, median of %d)" % (
        a.conns, a.rounds), flush=True)
    conn = run.median_of("conn10k", ("netaio", "asio"), run.conn10k)
    print("io: cancelling a scope of %d blocked connection tasks (median of %d)" % (
        a.conns, a.rounds), flush=True)
    cancel = run.median_of("cancel10k", ("netaio",), lambda impl: run.cancel10k()).get("netaio")
    closes = run.median_of("close10k", ("raw", "raw_epoll"),
                           lambda impl: run.close10k(registered=impl == "raw_epoll"))
    close, close_epoll = closes.get("raw"), closes.get("raw_epoll")

    rows = [
        ("rtt, 1 conn", "rtt/s", rtt, ">=1.0x asio, >=0.9x raw"),
        ("rtt, 1 CPU", "rtt/s", rtt_pinned, "(CPU cost per round trip)"),
        ("one-way, 1 conn", "frames/s", oneway, ">=1.0x asio, >=0.8x raw"),
        ("%d conns" % a.conns, "rtt/s", conn, ">=1.0x asio"),
    ]
    print()
    print("%-16s %-9s %10s %10s %10s %8s %8s  %s" % ("scenario", "unit", "netaio", "asio", "raw",
                                                    "vs asio", "vs raw", "goal"))
    for name, unit, res, goal in rows:
        print("%-16s %-9s %10s %10s %10s %8s %8s  %s" % (
            name, unit, human(res.get("netaio")), human(res.get("asio")), human(res.get("raw")),
            fmt(ratio(res.get("netaio"), res.get("asio"))),
            fmt(ratio(res.get("netaio"), res.get("raw"))), goal))
    if a.rounds > 1:
        print("runs ranged over (min..max):")
        for name, unit, res, goal in rows:
            if not res:
                continue
            print("  %-16s %s" % (name, ", ".join("%s %s" % (impl, res[impl]["spread"])
                                                  for impl in IMPLS if impl in res)))
    for impl in ("netaio", "asio"):
        r = conn.get(impl)
        if r is not None:
            print("%-16s server memory per idle connection: %s B (%s B buffer + %s B other), "
                  "loaded %s B; connect %ss" % (
                      impl, r["rss_idle_per_conn_b"], r["buffer_b"],
                      r["idle_overhead_per_conn_b"], r["rss_loaded_per_conn_b"], r["connect_s"]))
    if cancel is not None:
        print("%-16s cancel + join of %s blocked connection tasks: %.1f ms wall, %s ms CPU, "
              "%s ms waiting for a CPU (goal <= 1.2x the close() floor)" % (
                  "netaio", cancel.get("tasks", a.conns), cancel["value"],
                  cancel.get("cpu_ms", "?"), cancel.get("runq_wait_ms", "?")))
    if close is not None:
        print("%-16s close() of %s connected sockets alone (the floor of any stop): %.1f ms "
              "wall, %s ms CPU, %s ms waiting for a CPU" % (
                  "raw", close.get("sockets", a.conns), close["value"], close.get("cpu_ms", "?"),
                  close.get("runq_wait_ms", "?")))
    if close_epoll is not None:
        # Not a goal: how much of cancel10k_vs_close no readiness reactor
        # can avoid (its sockets are in an epoll set, which close() updates).
        print("%-16s close() of as many sockets each in an epoll set: %.1f ms wall (%s x the "
              "floor); cancel + join over it: %s x" % (
                  "raw", close_epoll["value"], fmt(ratio(close_epoll, close)),
                  fmt(ratio(cancel, close_epoll))))
    measured = {"rtt": rtt, "oneway": oneway, "conn10k": conn, "cancel10k": {"netaio": cancel},
                "close10k": {"raw": close}, "close10k_epoll": {"raw": close_epoll}}
    for (scenario, impl), why in sorted(run.why.items()):
        if measured.get(scenario, {}).get(impl) is None:  # a failed round that no other made up for
            print("NA %s/%s: %s" % (scenario, impl, why))
    print("io: %.0f s" % (time.time() - t0))
    print("%s: rtt_vs_asio=%s rtt_vs_raw=%s oneway_vs_asio=%s oneway_vs_raw=%s "
          "conn10k_vs_asio=%s cancel10k_ms=%s rtt1cpu_vs_raw=%s cancel10k_vs_close=%s" % (
              a.label,
              fmt(ratio(rtt.get("netaio"), rtt.get("asio"))),
              fmt(ratio(rtt.get("netaio"), rtt.get("raw"))),
              fmt(ratio(oneway.get("netaio"), oneway.get("asio"))),
              fmt(ratio(oneway.get("netaio"), oneway.get("raw"))),
              fmt(ratio(conn.get("netaio"), conn.get("asio"))),
              fmt(None if cancel is None else cancel["value"], 1),
              fmt(ratio(rtt_pinned.get("netaio"), rtt_pinned.get("raw"))),
              fmt(ratio(cancel, close))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs the node benchmarks: round trips through the full node (tcp_client
request -> tcp_server handler -> answer) with no plugins, HMAC, and HMAC +
stream cipher, beside the io layer's echo of the same frames and the
reference Python netaio with the same plugins; requests in flight on one
connection; the stop of a server with CONNS clients beside the close() floor
of those sockets; the memory of an idle connection; datagrams per second
through a UDP node (bench_udp: echo with no plugins, with HMAC, and with no
plugins from a sender in the node's peer table) beside the io layer's raw
UDP echo of the same bytes. Prints a table, then

udp_ratios: udp_vs_io=R6 udp_hmac_vs_io=R7 udp_peer_vs_io=R8
node_ratios: rtt_vs_io=R1 rtt_hmac_vs_io=R2 rtt_vs_python=R3 rtt_hmac_vs_python=R4 inflight_rps=N stop10k_vs_close=R5 bytes_per_conn=B

with NA (and a line saying why) for what could not be measured. The round
trip ratios compare runs with both ends pinned to one CPU (the CPU cost of a
round trip; unpinned runs on a shared 2-CPU machine measure wake-up latency,
which swings 4x from run to run); the unpinned runs are shown too.

usage: run_node.py BUILD_DIR [--seconds S] [--conns N] [--rounds R] [--inflight K]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODES = ("plain", "hmac", "hmac_cipher")


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            fields["value"] = float(fields["value"])
            return fields
    return None


def human(r):
    if r is None:
        return "NA"
    v = r["value"]
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.1f" % v


def fmt(x, digits=2):
    return "NA" if x is None else "%.*f" % (digits, x)


def ratio(a, b):
    if a is None or b is None or b["value"] == 0:
        return None
    return a["value"] / b["value"]


def median(rs):
    """The median run (by value) of `rs`, with the range of all of them."""
    rs = [r for r in rs if r is not None]
    if not rs:
        return None
    rs.sort(key=lambda r: r["value"])
    m = dict(rs[(len(rs) - 1) // 2])
    m["spread"] = "%s..%s" % (human(rs[0]), human(rs[-1]))
    m["runs"] = len(rs)
    return m


def reference_python():
    """(python, PYTHONPATH) able to run the reference with PyNaCl, or (None, why)."""
    ref = os.environ.get("NETAIO_REFERENCE_DIR", os.path.join(ROOT, "..", "shared", "reference"))
    ref = os.path.normpath(ref)
    if not os.path.exists(os.path.join(ref, "netaio", "netaio", "client.py")):
        return None, "the reference netaio is absent (%s)" % ref
    path = ":".join(os.path.join(ref, d) for d in ("packify", "netaio", "tapescript"))
    # Debian's python3 first: python3-nacl installs there, and the python3
    # first on PATH may be another build (pyenv) that does not see it.
    for py in ("/usr/bin/python3", "python3"):
        env = dict(os.environ, PYTHONPATH=path)
        try:
            ok = subprocess.run([py, "-c", "import nacl, netaio"], env=env,
                                capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return (py, path), None
    return None, "no python3 with PyNaCl (apt-get install python3-nacl)"


def pin_cpu():
    """A CPU this process may run on (the last one), or None without taskset."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    if not cpus or subprocess.run(["which", "taskset"], capture_output=True).returncode != 0:
        return None
    return cpus[-1]


def raise_fd_limit(need):
    """Raises the soft descriptor limit to the hard one (children inherit it);
    returns why `need` descriptors are not available, or None."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        return "the descriptor limit is %d (hard %d), %d needed" % (soft, hard, need)
    return None


class Runner:
    def __init__(self, a):
        self.a = a
        self.dir = os.path.join(a.build_dir, "benchmarks")
        self.node = os.path.join(self.dir, "node", "bench_node")
        self.loadgen = os.path.join(self.dir, "io", "bench_io_loadgen")
        self.raw = os.path.join(self.dir, "io", "bench_io_raw")
        self.udp_bench = os.path.join(self.dir, "node", "bench_udp")
        self.why = {}
        self.py, self.py_why = reference_python()

    def run(self, key, cmd, timeout, env=None):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            self.why[key] = "timed out"
            return None
        r = parse_result(p.stdout)
        if p.returncode != 0 or r is None:
            err = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            self.why[key] = "failed: " + err
            return None
        return r

    def rtt(self, impl, mode, pin):
        s = str(self.a.seconds)
        if impl == "python":
            if self.py is None:
                self.why[("rtt", impl, mode)] = self.py_why
                return None
            py, path = self.py
            cmd = [py, os.path.join(HERE, "ref_bench.py"), "rtt", mode, s]
            env = dict(os.environ, PYTHONPATH=path)
        else:
            cmd = [self.node, "rtt" if impl == "node" else "io", mode, s]
            env = None
        if pin is not None:
            cmd = ["taskset", "-c", str(pin)] + cmd
        return self.run(("rtt", impl, mode), cmd, self.a.seconds + 60, env)

    def udp(self, pin):
        """One run of bench_udp (Google Benchmark): datagrams per second for
        (impl, mode) in node/io x plain/hmac, or {} (the reason in self.why)."""
        key = ("udp", "node", "plain")
        if not os.access(self.udp_bench, os.X_OK):
            self.why[key] = "bench_udp was not built"
            return {}
        cmd = [self.udp_bench, "--benchmark_format=json",
               "--benchmark_min_time=%g" % max(0.1, self.a.seconds / 2)]
        if pin is not None:
            cmd = ["taskset", "-c", str(pin)] + cmd
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            runs = json.loads(p.stdout)["benchmarks"]
        except subprocess.TimeoutExpired:
            self.why[key] = "timed out"
            return {}
        except (ValueError, KeyError):
            self.why[key] = "failed: " + ((p.stderr.strip().splitlines() or
                                           ["exit status %d" % p.returncode])[-1])
            return {}
        out = {}
        for b in runs:
            name = b.get("name", "").split("/")
            impl = {"bm_node_echo": "node", "bm_raw_echo": "io"}.get(name[0])
            if impl and len(name) > 1 and "items_per_second" in b:
                out[(impl, name[1])] = {"value": float(b["items_per_second"]),
                                        "request_b": "%.0f" % b.get("request_b", 0)}
                if b.get("cpu_time"):
                    # The same datagrams per second of this thread's CPU time
                    # (client and node share it): steadier on a busy machine.
                    out[(impl + "_cpu", name[1])] = {
                        "value": float(b["items_per_second"]) * b["real_time"] / b["cpu_time"]}
        return out

    def inflight(self):
        return self.run(("inflight", "node", "plain"),
                        [self.node, "inflight", str(self.a.inflight), str(self.a.seconds)],
                        self.a.seconds + 60)

    def with_idle_clients(self, key, cmd, frame=None):
        """A server program that prints PORT, with the load generator (another
        process) holding `conns` idle connections, each answered once."""
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        gen = None
        if line.startswith("PORT "):
            gen_cmd = [self.loadgen, "idle", line.split()[1], str(self.a.conns), "50"]
            gen = subprocess.Popen(gen_cmd + ([frame] if frame else []), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            out, err = server.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
        if gen is not None:
            try:
                gen.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                gen.kill()
                gen.communicate()
        r = parse_result(line + out)
        if r is None:
            self.why[key] = "failed: " + (err.strip().splitlines() or ["no result"])[-1]
        return r

    def stop(self, frame):
        return self.with_idle_clients(("stop", "node", "plain"),
                                      [self.node, "stop", str(self.a.conns), "60"], frame)

    def close(self):
        return self.with_idle_clients(("close", "raw", "plain"),
                                      [self.raw, "close", str(self.a.conns), "60"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--inflight", type=int, default=32)
    a = ap.parse_args()
    run = Runner(a)
    t0 = time.time()
    if not os.access(run.node, os.X_OK):
        print("node: bench_node was not built")
        print("udp_ratios: udp_vs_io=NA udp_hmac_vs_io=NA udp_peer_vs_io=NA")
        print("node_ratios: rtt_vs_io=NA rtt_hmac_vs_io=NA rtt_vs_python=NA rtt_hmac_vs_python=NA "
              "inflight_rps=NA stop10k_vs_close=NA bytes_per_conn=NA")
        return 0
    if run.py is None:
        print("node: reference Python netaio skipped: %s" % run.py_why)
    pin = pin_cpu()
    impls = ("node", "io", "python")
    pinned = {(i, m): [] for i in impls for m in MODES}
    free = {(i, m): [] for i in ("node", "io") for m in ("plain", "hmac")}
    print("node: round trips, one connection, both ends on CPU %s (%gs each, %d rounds "
          "interleaved)" % (pin, a.seconds, a.rounds), flush=True)
    for _ in range(a.rounds):
        for m in MODES:
            for i in impls:
                pinned[(i, m)].append(run.rtt(i, m, pin))
        for m in ("plain", "hmac"):
            for i in ("node", "io"):
                free[(i, m)].append(run.rtt(i, m, None))
    pinned = {k: median(v) for k, v in pinned.items()}
    free = {k: median(v) for k, v in free.items()}

    print("node: udp echo (bench_udp), client and node on CPU %s (%d rounds)" % (pin, a.rounds),
          flush=True)
    udp_runs = [run.udp(pin) for _ in range(a.rounds)]
    udp = {(i, m): median([r.get((i, m)) for r in udp_runs])
           for i in ("node", "io", "node_cpu", "io_cpu") for m in ("plain", "hmac", "known_peer")}

    print("node: %d requests in flight on one connection" % a.inflight, flush=True)
    inflight = median([run.inflight() for _ in range(a.rounds)])

    print("node: stop of a server with %d clients (another process) beside close() of as many "
          "sockets" % a.conns, flush=True)
    fd_why = raise_fd_limit(a.conns + 100)
    stops, closes = [], []
    if fd_why is None:
        frame = subprocess.run([run.node, "frame"], capture_output=True,
                               text=True).stdout.strip()
        for _ in range(a.rounds):
            stops.append(run.stop(frame))
            closes.append(run.close())
    else:
        run.why[("stop", "node", "plain")] = fd_why
        run.why[("close", "raw", "plain")] = fd_why
    stop, close = median(stops), median(closes)
    mem = median([dict(r, value=float(r["other_per_conn_b"])) for r in stops if r is not None])

    print()
    print("%-22s %-7s %10s %10s %10s %8s %8s  %s" % ("scenario", "unit", "node", "io echo",
                                                    "python", "vs io", "vs py", "goal"))
    rows = []
    for m in MODES:
        rows.append(("rtt %s, 1 CPU" % m, pinned[("node", m)], pinned[("io", m)],
                     pinned[("python", m)], ">=0.9x io, >=25x python"))
    for m in ("plain", "hmac"):
        rows.append(("rtt %s, unpinned" % m, free[("node", m)], free[("io", m)], None,
                     "(wake-up latency)"))
    for name, n, io, py, goal in rows:
        print("%-22s %-7s %10s %10s %10s %8s %8s  %s" % (
            name, "rtt/s", human(n), human(io), human(py), fmt(ratio(n, io)), fmt(ratio(n, py)),
            goal))
    # Not a goal: "vs py" cannot pass io echo / python here, the figure of a
    # node whose own work took no time (on a VM with costly syscalls, the
    # io echo is mostly kernel time and Python's round trip is not).
    print("%-22s %s" % ("vs py ceiling", ", ".join(
        "%s %s" % (m, fmt(ratio(pinned[("io", m)], pinned[("python", m)]), 1)) for m in MODES)))
    udp_rows = [("udp %s, 1 CPU" % m, udp[("node", m)], udp[("io", m)], None, ">=0.9x io")
                for m in ("plain", "hmac")]
    udp_rows.append(("udp known peer, 1 CPU", udp[("node", "known_peer")], udp[("io", "plain")],
                     None, "(sender in the peer table)"))
    udp_rows += [("udp %s, CPU time" % m, udp[("node_cpu", m)], udp[("io_cpu", m)], None,
                  "(per CPU second)") for m in ("plain", "hmac")]
    for name, n, io, py, goal in udp_rows:
        print("%-22s %-7s %10s %10s %10s %8s %8s  %s" % (
            name, "dgram/s", human(n), human(io), "", fmt(ratio(n, io)), "", goal))
    if a.rounds > 1:
        print("runs ranged over (min..max):")
        for name, n, io, py, goal in rows + udp_rows:
            print("  %-22s %s" % (name, ", ".join(
                "%s %s" % (impl, r["spread"]) for impl, r in (("node", n), ("io", io),
                                                             ("python", py)) if r is not None)))
    for m in MODES:
        r = pinned[("io", m)]
        if r is not None:
            print("frames with %-12s request %s B, answer %s B" % (m + ":", r.get("request_b"),
                                                                  r.get("reply_b")))
    for m in ("plain", "hmac"):
        r = udp[("io", m)]
        if r is not None:
            print("udp datagrams %-9s request %s B, the same bytes to both echoes" % (
                m + ":", r.get("request_b")))
    if inflight is not None:
        print("%-22s %s requests/s with %s in flight on one connection (range %s)" % (
            "inflight", human(inflight), a.inflight, inflight["spread"]))
    if stop is not None:
        print("%-22s stop() with %s clients connected: %.1f ms wall, %s ms CPU, %s ms waiting "
              "for a CPU (range %s ms)" % ("stop", stop["conns"], stop["value"], stop["cpu_ms"],
                                          stop["runq_wait_ms"], stop["spread"]))
    if close is not None:
        print("%-22s close() of %s connected sockets (the floor): %.1f ms wall, %s ms CPU, %s ms "
              "waiting for a CPU (range %s ms)" % ("close floor", close["sockets"], close["value"],
                                                  close["cpu_ms"], close["runq_wait_ms"],
                                                  close["spread"]))
    if stop is not None and close is not None and float(close["cpu_ms"]) > 0:
        print("%-22s %.2fx the close floor in wall time, %.2fx in CPU time (goal <= 1.5x)" % (
            "stop vs close", stop["value"] / close["value"],
            float(stop["cpu_ms"]) / float(close["cpu_ms"])))
    if mem is not None:
        print("%-22s %s B of heap per idle connection: %s B receive buffer + %.0f B other "
              "(range of other %s); resident memory %s B per connection" % (
                  "memory", stop["heap_per_conn_b"], stop["recv_buffer_b"], mem["value"],
                  mem["spread"], stop["rss_idle_per_conn_b"]))
    measured = {("stop", "node", "plain"): stop, ("close", "raw", "plain"): close,
                ("inflight", "node", "plain"): inflight}
    measured.update({("rtt",) + k: v for k, v in pinned.items()})
    measured[("udp", "node", "plain")] = udp[("node", "plain")]
    for key, why in sorted(run.why.items()):
        if measured.get(key) is None:
            print("NA %s: %s" % ("/".join(key), why))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print("node: %.0f s%s" % (time.time() - t0,
                              ", load average %.2f %.2f %.2f" % load if load else ""))
    stop_ratio = None
    if stop is not None and close is not None and close["value"] > 0:
        stop_ratio = stop["value"] / close["value"]
    print("udp_ratios: udp_vs_io=%s udp_hmac_vs_io=%s udp_peer_vs_io=%s" % (
        fmt(ratio(udp[("node", "plain")], udp[("io", "plain")])),
        fmt(ratio(udp[("node", "hmac")], udp[("io", "hmac")])),
        fmt(ratio(udp[("node", "known_peer")], udp[("io", "plain")]))))
    print("node_ratios: rtt_vs_io=%s rtt_hmac_vs_io=%s rtt_vs_python=%s rtt_hmac_vs_python=%s "
          "inflight_rps=%s stop10k_vs_close=%s bytes_per_conn=%s" % (
              fmt(ratio(pinned[("node", "plain")], pinned[("io", "plain")])),
              fmt(ratio(pinned[("node", "hmac")], pinned[("io", "hmac")])),
              fmt(ratio(pinned[("node", "plain")], pinned[("python", "plain")]), 1),
              fmt(ratio(pinned[("node", "hmac")], pinned[("python", "hmac")]), 1),
              "NA" if inflight is None else "%.0f" % inflight["value"],
              fmt(stop_ratio),
              "NA" if mem is None else "%.0f" % mem["value"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

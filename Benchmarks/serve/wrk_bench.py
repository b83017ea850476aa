#!/usr/bin/env python3
"""`allot serve` under load (docs/benchmarks.md, "Live decisions"): each binary's server and the
bare echo handler (`--benchmark-echo`, the same parser), alternating, in one run.

    python3 Benchmarks/serve/wrk_bench.py --snapshot fsnap.json --allot .build/release/allot \
        [--allot 'OTHER::--threads 1'] --runs 3 --duration 5 --connections 8 [--pin] \
        [--batch] [--rate 20000]

A binary may carry extra `allot serve` arguments after `::`. Each run starts a fresh server on a
loopback port, loads it with wrk (HTTP/1.1 keep-alive, decide.lua: 10 candidates, a new user per
request) at saturation, and with --rate also at that fixed rate with Benchmarks/serve/openloop.c
(compiled here with cc), whose latencies run from each request's due time. With --pin the server
runs on core 0 and the load generator on core 1 (taskset). Prints one line per run and the
medians per configuration: decisions/s, p50, p99, and the CPU time per decision of the server
and of the load generator (from /proc and getrusage: what the other processes' load changes
least)."""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def start(allot, extra, snapshot, state, echo, pin, parser):
    cmd = [allot, "serve", "--snapshot", snapshot, "--listen", "127.0.0.1:0", "--state", state] + extra
    if echo:
        cmd.append("--benchmark-echo")
    if parser:
        cmd += ["--benchmark-parser", parser]
    if pin:
        cmd = ["taskset", "-c", "0"] + cmd
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = proc.stderr.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"the server did not start: {line}")
    return proc, int(m.group(1))


def cpu_seconds(pid):
    """The process's user + system CPU time so far (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        sys.exit(f"cannot read the latency {text!r}")
    value, unit = m.groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(port, path, script, duration, connections, threads, pin):
    """Saturation: (requests/s, p50 ms, p99 ms, the generator's CPU seconds)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script,
           f"http://127.0.0.1:{port}{path}"]
    if pin:
        cmd = ["taskset", "-c", "1"] + cmd
    before = children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = children_cpu() - before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{errors.group(1)} responses were not 200: the benchmark measures refusals\n{out}")
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return rate, p50, p99, used


def openloop(binary, port, rate, duration, connections, pin):
    """A fixed rate: (answered requests/s, p50 ms, p99 ms, the generator's CPU seconds)."""
    cmd = [binary, str(port), str(rate), str(duration), str(connections)]
    if pin:
        cmd = ["taskset", "-c", "1"] + cmd
    before = children_cpu()
    run = subprocess.run(cmd, capture_output=True, text=True)
    used = children_cpu() - before
    out = run.stdout
    m = re.search(r"answered (\d+) rate (\d+)/s non200 (\d+) p50 ([\d.]+) p90 [\d.]+ p99 ([\d.]+)", out)
    if not m:
        sys.exit(f"openloop failed: {out}{run.stderr}")
    if int(m.group(3)):
        sys.exit(f"{m.group(3)} responses were not 200: the benchmark measures refusals\n{out}")
    if run.returncode != 0:
        print(f"  (the server did not answer all requests within 5 s of the end: {out.strip()})", flush=True)
    return float(m.group(2)), float(m.group(4)), float(m.group(5)), used


def label(config):
    allot, extra, echo, path, _, _, parser, rate = config
    name = allot + ("".join(" " + e for e in extra))
    return (f"{name}{' echo' if echo else ''}{' (JSONSerialization)' if parser else ''} {path}"
            + (f" at {rate:,}/s" if rate else " (wrk, saturation)"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--snapshot", required=True)
    p.add_argument("--allot", action="append", required=True, help="a binary, optionally BINARY::SERVE ARGS (repeat to compare)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="wrk's threads")
    p.add_argument("--pin", action="store_true")
    p.add_argument("--batch", action="store_true", help="also POST /v1/decide-batch (decide_batch.lua, 10 users per request)")
    p.add_argument("--no-echo", action="store_true")
    p.add_argument("--foundation", action="store_true",
                   help="also the first binary's server parsing with Foundation's JSONSerialization (--benchmark-parser foundation)")
    p.add_argument("--rate", type=int, action="append", default=[],
                   help="also load each server's /v1/decide at this fixed rate (openloop.c, 32 connections)")
    p.add_argument("--no-saturation", action="store_true", help="only the fixed rates")
    a = p.parse_args()
    binaries = []
    for spec in a.allot:
        path, _, extra = spec.partition("::")
        binaries.append((path, tuple(extra.split())))
    configs = []
    for rate in ([] if a.no_saturation else [None]) + a.rate:
        configs += [(b, x, False, "/v1/decide", "decide.lua", 1, None, rate) for b, x in binaries]
        if a.foundation:
            configs.append((binaries[0][0], binaries[0][1], False, "/v1/decide", "decide.lua", 1, "foundation", rate))
        if not a.no_echo:
            configs.append((binaries[0][0], binaries[0][1], True, "/v1/decide", "decide.lua", 1, None, rate))
    if a.batch:
        configs += [(b, x, False, "/v1/decide-batch", "decide_batch.lua", 10, None, None) for b, x in binaries]
    loader = None
    if a.rate:
        build = tempfile.mkdtemp(prefix="openloop-")
        loader = os.path.join(build, "openloop")
        subprocess.run(["cc", "-O2", "-o", loader, os.path.join(HERE, "openloop.c")], check=True)
    results = {c: [] for c in configs}
    for run in range(a.runs):
        order = configs if run % 2 == 0 else list(reversed(configs))
        for c in order:
            allot, extra, echo, path, script, per, parser, rate = c
            state = tempfile.mkdtemp(prefix="wrk-state-")
            proc, port = start(allot, list(extra), a.snapshot, state, echo, a.pin, parser)
            try:
                cpu = cpu_seconds(proc.pid)
                if rate:
                    got, p50, p99, gen = openloop(loader, port, rate, a.duration, 32, a.pin)
                else:
                    got, p50, p99, gen = wrk(port, path, os.path.join(HERE, script), a.duration, a.connections, a.threads, a.pin)
                cpu = cpu_seconds(proc.pid) - cpu
            finally:
                proc.terminate()
                proc.wait()
                shutil.rmtree(state)
            name = label(c)
            decisions = got * a.duration * per
            us = cpu / decisions * 1e6
            gus = gen / decisions * 1e6
            print(f"run {run + 1} {name}: {got * per:,.0f} decisions/s ({got:,.0f} requests/s), p50 {p50:.3f} ms, "
                  f"p99 {p99:.3f} ms, CPU per decision: server {us:.1f} us, load generator {gus:.1f} us", flush=True)
            results[c].append((got * per, p50, p99, us, gus))
    print("medians:")
    for c, rs in results.items():
        print(f"  {label(c)}: {statistics.median(r[0] for r in rs):,.0f} decisions/s, "
              f"p50 {statistics.median(r[1] for r in rs):.3f} ms, p99 {statistics.median(r[2] for r in rs):.3f} ms, "
              f"CPU per decision: server {statistics.median(r[3] for r in rs):.1f} us, "
              f"load generator {statistics.median(r[4] for r in rs):.1f} us")


if __name__ == "__main__":
    main()

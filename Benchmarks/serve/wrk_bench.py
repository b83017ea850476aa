#!/usr/bin/env python3
"""`allot serve` under wrk (docs/benchmarks.md, "Live decisions"): each binary's server and the
bare echo handler (`--benchmark-echo`, the same parser), alternating, in one run.

    python3 Benchmarks/serve/wrk_bench.py --snapshot fsnap.json --allot .build/release/allot \
        [--allot OTHER] --runs 3 --duration 5 --connections 8 [--pin]

With --pin the server runs on core 0 and wrk (one thread) on core 1 (taskset). Prints one line
per run (requests/s, p50, p99 as wrk reports them) and the medians per configuration."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def start(allot, snapshot, state, echo, pin, parser):
    cmd = [allot, "serve", "--snapshot", snapshot, "--listen", "127.0.0.1:0", "--state", state]
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


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        sys.exit(f"cannot read the latency {text!r}")
    value, unit = m.groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(port, path, script, duration, connections, threads, pin):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script,
           f"http://127.0.0.1:{port}{path}"]
    if pin:
        cmd = ["taskset", "-c", "1"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{errors.group(1)} responses were not 200: the benchmark measures refusals\n{out}")
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return rate, p50, p99


def label(config):
    allot, echo, path, _, _, parser = config
    return f"{allot}{' echo' if echo else ''}{' (JSONSerialization)' if parser else ''} {path}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--snapshot", required=True)
    p.add_argument("--allot", action="append", required=True, help="a binary (repeat to compare)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pin", action="store_true")
    p.add_argument("--batch", action="store_true", help="also POST /v1/decide-batch (decide_batch.lua, 10 users per request)")
    p.add_argument("--no-echo", action="store_true")
    p.add_argument("--foundation", action="store_true",
                   help="also the first binary's server parsing with Foundation's JSONSerialization (--benchmark-parser foundation)")
    a = p.parse_args()
    configs = [(b, False, "/v1/decide", "decide.lua", 1, None) for b in a.allot]
    if a.foundation:
        configs.append((a.allot[0], False, "/v1/decide", "decide.lua", 1, "foundation"))
    if not a.no_echo:
        configs.append((a.allot[0], True, "/v1/decide", "decide.lua", 1, None))
    if a.batch:
        configs += [(b, False, "/v1/decide-batch", "decide_batch.lua", 10, None) for b in a.allot]
    results = {c: [] for c in configs}
    for run in range(a.runs):
        order = configs if run % 2 == 0 else list(reversed(configs))
        for c in order:
            allot, echo, path, script, per, parser = c
            state = tempfile.mkdtemp(prefix="wrk-state-")
            proc, port = start(allot, a.snapshot, state, echo, a.pin, parser)
            try:
                cpu = cpu_seconds(proc.pid)
                rate, p50, p99 = wrk(port, path, os.path.join(HERE, script), a.duration, a.connections, a.threads, a.pin)
                cpu = cpu_seconds(proc.pid) - cpu
            finally:
                proc.terminate()
                proc.wait()
                shutil.rmtree(state)
            name = label(c)
            # The server's CPU time per decision: what the load of other processes changes least.
            us = cpu / (rate * a.duration * per) * 1e6
            print(f"run {run + 1} {name}: {rate * per:,.0f} decisions/s ({rate:,.0f} requests/s), p50 {p50:.3f} ms, "
                  f"p99 {p99:.3f} ms, server CPU {us:.1f} us/decision", flush=True)
            results[c].append((rate * per, p50, p99, us))
    print("medians:")
    for c, rs in results.items():
        print(f"  {label(c)}: {statistics.median(r[0] for r in rs):,.0f} decisions/s, "
              f"p50 {statistics.median(r[1] for r in rs):.3f} ms, p99 {statistics.median(r[2] for r in rs):.3f} ms, "
              f"server CPU {statistics.median(r[3] for r in rs):.1f} us/decision")


if __name__ == "__main__":
    main()

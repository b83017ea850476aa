#!/usr/bin/env python3
"""The durability run of `allot serve` (docs/reliability.md, "Live decisions"; figures in
docs/benchmarks.md): ROUNDS rounds of wrk load (durability.lua), each ended by a SIGKILL of
the server at a seeded random moment, each followed by a restart on the same --state. In the
end it checks, from the journal and from the restarted server's /metrics:

- no budget is over its limit, no capped coupon over its cap, no user over max_per_user;
- every answered decision (each 200 wrk logged) is in the journal, assignment by assignment;
- the restarted server's spend is the journal's (the state was recovered).

    python3 Benchmarks/serve/durability.py --allot .build/release/allot --rounds 20 [--seed 1]

Exit status 1 if a check fails. Do not run it across 00:00 UTC: the day then rolls over (the
journal is moved aside and the counters start again), which the checks do not follow."""
import argparse
import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def start(allot, snapshot, state, pacing):
    proc = subprocess.Popen([allot, "serve", "--snapshot", snapshot, "--listen", "127.0.0.1:0", "--state", state, "--pacing", pacing],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = proc.stderr.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"the server did not start: {line}")
    return proc, int(m.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--allot", required=True)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--pacing", default="fixed",
                   help="the server's --pacing (default fixed: the limits then bind within the run whatever the time of day)")
    p.add_argument("--work", help="directory for the files (default: a new temporary one)")
    a = p.parse_args()
    rng = random.Random(a.seed)
    work = a.work or tempfile.mkdtemp(prefix="allot-durability-")
    os.makedirs(work, exist_ok=True)
    # A day whose limits bind within the run (wrk asks for 20,000 users): a cash budget, a cap on c5.
    scores = os.path.join(work, "scores.csv")
    spec = os.path.join(work, "spec.json")
    snapshot = os.path.join(work, "snapshot.json")
    run([a.allot, "generate", "--users", "3000", "--coupons", "5", "--seed", str(a.seed), "--out", scores, "--spec", os.path.join(work, "generated-spec.json")])
    with open(spec, "w") as f:
        json.dump({"budgets": [{"name": "cash", "column": "cost", "limit": 30000}], "max_per_user": 2,
                   "coupon_caps": {"c5": 3000}}, f)
    run([a.allot, "solve", scores, "--spec", spec, "--out", os.path.join(work, "allocation.csv"), "--snapshot", snapshot])
    content = json.load(open(snapshot))["content"]
    state = os.path.join(work, "state")
    answers = os.path.join(work, "answers.jsonl")
    open(answers, "w").close()
    env = dict(os.environ, ANSWERS=answers)
    started = time.time()
    for r in range(a.rounds):
        proc, port = start(a.allot, snapshot, state, a.pacing)
        load = subprocess.Popen(["wrk", "-t1", f"-c{a.connections}", "-d3s", "-s", os.path.join(HERE, "durability.lua"),
                                 f"http://127.0.0.1:{port}/v1/decide"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moment = rng.uniform(0.3, 2.5)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        load.wait()
        print(f"round {r + 1}: SIGKILL at {moment:.2f} s under load", flush=True)
    # The restart after the last kill, then the checks.
    proc, port = start(a.allot, snapshot, state, a.pacing)
    try:
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    finally:
        proc.terminate()
        proc.wait()
    failures = []
    spend = collections.Counter()
    coupons = collections.Counter()
    per_user = collections.Counter()
    journal = collections.Counter()
    decisions = 0
    with open(os.path.join(state, "journal.jsonl"), "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    cut = lines.pop()  # after the last newline: empty, or a line a kill cut short (never answered)
    for line in lines:
        if not line:
            continue
        record = json.loads(line)
        if "u" not in record:
            continue  # the journal's first line: {"day": N}
        decisions += 1
        for g in record["g"]:
            for budget, amount in g["a"].items():
                spend[budget] += amount
            coupons[g["c"]] += 1
            per_user[record["u"]] += 1
            journal[(record["u"], g["c"])] += 1
    answered = 0
    answered_assignments = 0
    for line in open(answers):
        body = json.loads(line)
        answered += 1
        for g in body["assignments"]:
            answered_assignments += 1
            if journal[(body["user_id"], g["coupon_id"])] < 1:
                failures.append(f"answered but not in the state: {body['user_id']} {g['coupon_id']}")
    for b in content["budgets"]:
        if spend[b["name"]] > b["limit"] + 1e-9:
            failures.append(f"budget {b['name']}: spend {spend[b['name']]} over the limit {b['limit']}")
    for c, cap in content["coupon_caps"].items():
        if coupons[c] > cap["cap"]:
            failures.append(f"coupon {c}: {coupons[c]} users over the cap {cap['cap']}")
    over = [u for u, n in per_user.items() if n > content["max_per_user"]]
    if over:
        failures.append(f"{len(over)} users over max_per_user, e.g. {over[0]}")
    if any(n > 1 for n in journal.values()):
        failures.append("a user got the same coupon twice")
    for b in content["budgets"]:
        m = re.search(r'allot_spend\{budget="%s"\} (\S+)' % re.escape(b["name"]), metrics)
        if not m or abs(float(m.group(1)) - spend[b["name"]]) > 1e-6 * max(1, spend[b["name"]]):
            failures.append(f"the restarted server's spend of {b['name']} ({m and m.group(1)}) is not the journal's ({spend[b['name']]})")
    print(f"{a.rounds} SIGKILLs in {time.time() - started:.0f} s; {answered:,} answered decisions ({answered_assignments:,} assignments) "
          f"logged by wrk, {decisions:,} decisions in the journal ({decisions - answered:,} journaled but not seen answered: "
          f"in flight at a kill), {len(cut)} bytes of a cut line")
    for b in content["budgets"]:
        print(f"budget {b['name']}: spend {spend[b['name']]:,.2f} of {b['limit']:,.2f}")
    for c, cap in content["coupon_caps"].items():
        print(f"coupon {c}: {coupons[c]} users of a cap of {cap['cap']}")
    print(f"users: {len(per_user):,}, the most assignments of one user {max(per_user.values(), default=0)} (max_per_user {content['max_per_user']})")
    for f in failures[:20]:
        print("FAIL:", f)
    print("all checks pass" if not failures else f"{len(failures)} checks fail")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

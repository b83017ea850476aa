#!/usr/bin/env python3
"""Markdown table of the paired comparisons written by run.sh."""
import json
import sys

out, budgets = sys.argv[1], sys.argv[2:]
names = {"none": "no e-mail", "random": "random targeting (expected)"}
print("| budget | outcome | dual against | e-mails sent | dual's estimate | other's estimate | difference (95% interval) | the log says |")
print("|---|---|---|---|---|---|---|---|")
for budget in budgets:
    for outcome in ["spend", "visit"]:
        for against in ["none", "random", f"allocation-blanket-{budget}"]:
            with open(f"{out}/compare-{budget}-{outcome}-{against}.json") as f:
                s = json.load(f)
            assert s["feasible"], (budget, against)
            c = s["policy_comparison"]
            verdict = ("dual better" if c["ci95_low"] > 0 else "dual worse" if c["ci95_high"] < 0
                       else "cannot tell them apart")
            digits = 0 if outcome == "spend" else 1
            fmt = lambda x: f"{x:+,.{digits}f}"
            print(f"| {budget} | {outcome} | {names.get(against, 'blanket')} | {s['assignments']:,} | "
                  f"{c['policy']['incremental_outcome']:,.{digits}f} | {c['baseline']['incremental_outcome']:,.{digits}f} | "
                  f"{fmt(c['difference'])} ({fmt(c['ci95_low'])} to {fmt(c['ci95_high'])}) | {verdict} |")

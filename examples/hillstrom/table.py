#!/usr/bin/env python3
"""Markdown table of the paired comparisons written by run.sh (--noisy: the noisy-score rules)."""
import json
import sys


def noisy_table(out, budgets):
    """Plug-in, --shrink and --risk auto: objective, expected_objective, realised on the log against
    no e-mail and paired against plug-in, for each outcome."""
    rules = {"plugin": "plug-in", "shrink": "--shrink", "riskauto": "--risk auto"}
    print("| budget | rule | κ | e-mails | objective | expected_objective (95%) | outcome | realised vs no e-mail | vs plug-in |")
    print("|---|---|---|---|---|---|---|---|---|")
    for budget in budgets:
        for rule, label in rules.items():
            with open(f"{out}/summary-{rule}-{budget}.json") as f:
                summary = json.load(f)
            e = summary["expected_objective"]
            for outcome, digits in (("spend", 0), ("visit", 1)):
                cells = []
                for against in ("none", f"allocation-plugin-{budget}"):
                    with open(f"{out}/noisy-{budget}-{outcome}-{rule}-{against}.json") as f:
                        s = json.load(f)
                    assert s["feasible"], (budget, rule, against)
                    c = s["policy_comparison"]
                    fmt = lambda x: f"{x:+,.{digits}f}"
                    cells.append(f"{fmt(c['difference'])} ({fmt(c['ci95_low'])} to {fmt(c['ci95_high'])})")
                if rule == "plugin":
                    cells[1] = ""
                print(f"| {budget} | {label} | {e.get('risk_kappa', '')} | {summary['assignments']:,} | "
                      f"{summary['objective']:,.0f} | {e['value']:,.0f} ({e['ci95_low']:,.0f} to {e['ci95_high']:,.0f}) | "
                      f"{outcome} | {cells[0]} | {cells[1]} |")


if sys.argv[1] == "--noisy":
    noisy_table(sys.argv[2], sys.argv[3:])
    sys.exit(0)
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

#!/usr/bin/env python3
"""Markdown table of the Hillstrom evaluations written by run.sh."""
import json
import sys

out, budgets = sys.argv[1], sys.argv[2:]
print("| budget | method | e-mails sent | predicted uplift | spend | estimated incremental spend on the log (IPW) | 95% CI | rows following |")
print("|---|---|---|---|---|---|---|---|")
for budget in budgets:
    for method in ["dual", "greedy-marginal", "greedy-ratio", "blanket", "random"]:
        with open(f"{out}/evaluation-{method}-{budget}.json") as f:
            s = json.load(f)
        v = s["policy_value"]
        assert s["feasible"], (method, budget)
        print(f"| {budget} | {method} | {s['assignments']} | {s['objective']:.0f} | {s['budgets'][0]['spend']:.0f} | "
              f"{v['incremental_outcome']:.0f} | {v['ci95_low']:.0f} to {v['ci95_high']:.0f} | {v['matched_rows']} |")

#!/usr/bin/env bash
# Issue 24's draws figures: true GMV and expected_objective / true value of each option on
# generated scores with B independent draws (uplift = their mean), one budget.
#   ALLOT=.build/release/allot bash Benchmarks/noisy/draws.sh WORKDIR [USERS] [DRAWS] [SEED]
set -euo pipefail
A=$(realpath "${ALLOT:-.build/release/allot}")
mkdir -p "$1" && cd "$1"
users=${2:-250000}; draws=${3:-8}; seed=${4:-3}
$A generate --users "$users" --coupons 4 --seed "$seed" --noise 1 --draws "$draws" --out s.csv --spec spec.json >/dev/null
for flags in "" "--shrink" "--risk 1" "--risk auto" "--shrink --risk auto" "--risk-quantile 0.25"; do
  # shellcheck disable=SC2086
  $A solve s.csv --spec spec.json $flags --out a.csv --summary sum.json 2>/dev/null
  $A evaluate s.csv a.csv --spec spec.json --truth true_uplift --json > ev.json
  python3 - "${flags:-plain}" <<'PY'
import json, sys
s, e = json.load(open('sum.json')), json.load(open('ev.json'))
t = e['true_value']
x = s.get('expected_objective')
extra = ''
if x:
    extra = f", expected {x['value']:,.0f} ({x['value'] / t:.3f} of true; 95% {x['ci95_low'] / t:.3f}-{x['ci95_high'] / t:.3f})"
    if 'cross_validation' in x:
        extra += f", kappa chosen {x['risk_kappa']}"
print(f"{sys.argv[1]:22} true {t:,.0f}, objective {s['objective']:,.0f} ({s['objective'] / t:.3f} of true){extra}", flush=True)
PY
done

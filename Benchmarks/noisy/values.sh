#!/usr/bin/env bash
# Issue 24's value figures (docs/benchmarks.md, "Noisy scores ... 1e6 candidates"): the true
# incremental GMV and the summary's objective and expected_objective of plug-in, --shrink and
# --risk allocations on the generator's noisy scores, one budget and two (cash, sends).
#   ALLOT=.build/release/allot bash Benchmarks/noisy/values.sh WORKDIR [USERS]
set -euo pipefail
A=$(realpath "${ALLOT:-.build/release/allot}")
mkdir -p "$1" && cd "$1"
users=${2:-250000}
for seed in 3 5; do
for noise in 1 0; do
  $A generate --users "$users" --coupons 4 --seed $seed --noise $noise --out s.csv --spec spec.json >/dev/null
  python3 - <<'PY'
import json, pandas as pd
s = pd.read_csv('s.csv'); s['sends'] = 1; s.to_csv('s-multi.csv', index=False)
spec = json.load(open('spec.json'))
spec['budgets'] = spec['budgets'] + [{"name": "sends", "column": "sends", "limit": 25000}]
json.dump(spec, open('spec-multi.json', 'w'))
PY
  for shape in one multi; do
    if [ $shape = one ]; then f=s.csv; sp=spec.json; else f=s-multi.csv; sp=spec-multi.json; fi
    for flags in "--risk 0" "--shrink" "--risk 1" "--shrink --risk 1" "--shrink --risk 0.5"; do
      # shellcheck disable=SC2086
      $A solve $f --spec $sp $flags --out a.csv --summary sum.json >/dev/null 2>&1
      t=$($A evaluate $f a.csv --spec $sp --truth true_uplift --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["true_value"])')
      python3 - "$seed" "$noise" "$shape" "$flags" "$t" <<'PY'
import json, sys
s = json.load(open('sum.json')); e = s['expected_objective']
seed, noise, shape, flags, t = sys.argv[1:]; t = float(t)
print(f"seed {seed} noise {noise} {shape:5} {flags:20} objective {s['objective']:>12,.0f} expected {e['value']:>12,.0f} "
      f"[{e['ci95_low']:,.0f}, {e['ci95_high']:,.0f}] true {t:>12,.0f} objective/true {s['objective']/t:.3f} expected/true {e['value']/t:.4f}")
PY
    done
  done
done
done

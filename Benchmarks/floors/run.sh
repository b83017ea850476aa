#!/usr/bin/env bash
# Issue 23's dual figures (docs/benchmarks.md, "Floors in the dual"): the dual on one generated
# instance without and with the floors (make.py: a spend floor at 95% of the limit, two coverage
# floors, a coupon floor and a parity row), in alternating order within each run (a shared
# machine); the out-of-reach variants; HiGHS's LP relaxation of the floors model (allot export),
# and, with MIP_SECONDS set, HiGHS's 0-1 program under that time limit (NO_HIGHS=1: neither).
#   ALLOT=.build/release/allot bash Benchmarks/floors/run.sh WORKDIR USERS [RUNS]
set -euo pipefail
A=$(realpath "${ALLOT:-.build/release/allot}")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1" && cd "$1"
if [ ! -f scores.csv ]; then
  $A generate --users "$2" --coupons 5 --seed 1 --out raw.csv --spec raw.json >/dev/null
  python3 "$here/make.py" raw.csv raw.json .
  rm raw.csv
fi
report() {
  python3 - "$@" <<'PY'
import json, sys
run, spec, start, end, code = sys.argv[1:]
s = json.load(open('sum.json'))
print(f"run {run} {spec:7} exit {code}, end to end {float(end) - float(start):6.2f} s, solve {s['wall_seconds']:6.2f} s, "
      f"{s['status']}, objective {s['objective']:,.2f}, bound {s['upper_bound']:,.2f}, gap {s['relative_gap']:.2e}, "
      f"sweeps {s.get('iterations')}, load {open('/proc/loadavg').read().split()[0]}")
PY
}
for run in $(seq 1 "${3:-3}"); do
  for k in 0 1; do
    case $(( (k + run) % 2 )) in 0) spec=plain;; 1) spec=floors;; esac
    rm -f sum.json
    start=$(date +%s.%N)
    code=0; $A solve scores.csv --spec $spec.json --out a.csv --summary sum.json >/dev/null 2>err.txt || code=$?
    end=$(date +%s.%N)
    report "$run" "$spec" "$start" "$end" "$code"
  done
done
python3 -c "import json; print('floors shadow prices', json.load(open('sum.json'))['shadow_prices'])" || true
for spec in ray_new ray_coupon conflict; do
  start=$(date +%s.%N)
  code=0; $A solve scores.csv --spec $spec.json --out b.csv >/dev/null 2>err.txt || code=$?
  end=$(date +%s.%N)
  echo "$spec: exit $code in $(python3 -c "print(f'{$end - $start:.2f}')") s: $(tail -1 err.txt)"
done
[ -n "${NO_HIGHS:-}" ] && exit 0
$A export scores.csv --spec floors.json --format lp --out model.lp
python3 "$here/highs.py" model.lp lp
if [ -n "${MIP_SECONDS:-}" ]; then python3 "$here/highs.py" model.lp mip "$MIP_SECONDS"; fi

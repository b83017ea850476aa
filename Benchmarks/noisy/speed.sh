#!/usr/bin/env bash
# Issue 24's speed figures: allot solve without and with --shrink / --risk 1 on the same
# 1e7-candidate noisy CSV, in rotating order within each run (a shared machine).
#   ALLOT=.build/release/allot bash Benchmarks/noisy/speed.sh WORKDIR [RUNS]
set -euo pipefail
A=$(realpath "${ALLOT:-.build/release/allot}")
mkdir -p "$1" && cd "$1"
[ -f s.csv ] || $A generate --users 2000000 --coupons 5 --seed 1 --noise 1 --out s.csv --spec spec.json >/dev/null
for run in $(seq 1 "${2:-3}"); do
  for k in 0 1 2; do
    case $(( (k + run) % 3 )) in 0) flags="";; 1) flags="--shrink";; 2) flags="--risk 1";; esac
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    $A solve s.csv --spec spec.json $flags --out a.csv --summary sum.json >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 - "$run" "${flags:-plain}" "$start" "$end" <<'PY'
import json, sys
run, flags, start, end = sys.argv[1:]
s = json.load(open('sum.json'))
print(f"run {run} {flags:9} end to end {float(end) - float(start):6.2f} s, solve (wall_seconds) {s['wall_seconds']:6.2f} s, "
      f"objective {s['objective']:,.0f}, load {open('/proc/loadavg').read().split()[0]}")
PY
  done
done

#!/usr/bin/env bash
# Two builds of allot on the same 1e7-candidate noisy CSV, plain, --shrink and --risk 1, the
# order of the six (binary, flags) pairs rotating within each run (a shared machine):
#   bash Benchmarks/noisy/speed_compare.sh BEFORE_ALLOT AFTER_ALLOT WORKDIR [RUNS]
set -euo pipefail
B=$(realpath "$1"); A=$(realpath "$2")
mkdir -p "$3" && cd "$3"
[ -f s.csv ] || "$A" generate --users 2000000 --coupons 5 --seed 1 --noise 1 --out s.csv --spec spec.json >/dev/null
pairs=("$B|" "$A|" "$B|--shrink" "$A|--shrink" "$B|--risk 1" "$A|--risk 1")
for run in $(seq 1 "${4:-3}"); do
  for k in 0 1 2 3 4 5; do
    pair=${pairs[$(( (k + run) % 6 ))]}
    bin=${pair%%|*}; flags=${pair#*|}
    which=$([ "$bin" = "$B" ] && echo before || echo after)
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$bin" solve s.csv --spec spec.json $flags --out "a-$which.csv" --summary sum.json >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 - "$run" "$which" "${flags:-plain}" "$start" "$end" <<'PY'
import json, sys
run, which, flags, start, end = sys.argv[1:]
s = json.load(open('sum.json'))
print(f"run {run} {which:6} {flags:9} end to end {float(end) - float(start):6.2f} s, solve {s['wall_seconds']:6.2f} s, "
      f"objective {s['objective']:,.4f}, load {open('/proc/loadavg').read().split()[0]}", flush=True)
PY
  done
done

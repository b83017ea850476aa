#!/usr/bin/env bash
# Reproduces the Hillstrom comparison from a fresh checkout (data in data/hillstrom):
#   bash examples/hillstrom/run.sh           # three budget levels, release build
#   bash examples/hillstrom/run.sh --quick   # one budget level (what CI runs)
# ALLOT=/path/to/allot skips the build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${HILLSTROM_CSV:-$root/data/hillstrom/hillstrom.csv}"
out="$here/out"
budgets="1000 2500 5000"
[ "${1:-}" = "--quick" ] && budgets="2500"

python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q -r "$here/requirements.txt"
if [ -z "${ALLOT:-}" ]; then
  swift build -c release --package-path "$root" >&2
  ALLOT="$root/.build/release/allot"
fi
mkdir -p "$out"
python3 "$here/make_scores.py" "$data" "$out"

for budget in $budgets; do
  cat > "$out/spec-$budget.json" <<SPEC
{"budgets": [{"name": "email budget", "column": "cost", "limit": $budget}], "max_per_user": 1,
 "coupon_caps": {"mens": 12000, "womens": 12000}}
SPEC
  for method in dual greedy-ratio blanket; do
    "$ALLOT" solve "$out/scores.csv" --spec "$out/spec-$budget.json" --method "$method" \
      --out "$out/allocation-$method-$budget.csv" 2>/dev/null
  done
  # Noisy scores (docs/algorithms.md): the dual on empirical-Bayes posterior means (--shrink, on
  # uplift_se), and at a risk level chosen by cross-validation over the draws (--risk auto).
  # The plain dual with --risk 0 only adds expected_objective to its summary (same allocation).
  "$ALLOT" solve "$out/scores.csv" --spec "$out/spec-$budget.json" --risk 0 \
    --out "$out/allocation-plugin-$budget.csv" --summary "$out/summary-plugin-$budget.json" 2>/dev/null
  "$ALLOT" solve "$out/scores.csv" --spec "$out/spec-$budget.json" --shrink \
    --out "$out/allocation-shrink-$budget.csv" --summary "$out/summary-shrink-$budget.json" 2>/dev/null
  "$ALLOT" solve "$out/scores-draws.csv" --spec "$out/spec-$budget.json" --risk auto --seed 1 \
    --out "$out/allocation-riskauto-$budget.csv" --summary "$out/summary-riskauto-$budget.json" 2>/dev/null
  for outcome in spend visit; do
    for rule in plugin shrink riskauto; do
      for against in none "$out/allocation-plugin-$budget.csv"; do
        name="$(basename "$against" .csv)"
        "$ALLOT" evaluate "$out/scores.csv" "$out/allocation-$rule-$budget.csv" --spec "$out/spec-$budget.json" \
          --log "$out/log.csv" --outcome "$outcome" --against "$against" --json > "$out/noisy-$budget-$outcome-$rule-$name.json"
      done
    done
  done
  # Paired comparisons on the same log rows, for each outcome: the dual's allocation against
  # e-mailing nobody, against random targeting of as many customers (exact expectation), and
  # against the blanket campaign.
  for outcome in spend visit; do
    for against in none random "$out/allocation-blanket-$budget.csv"; do
      name="$(basename "$against" .csv)"
      "$ALLOT" evaluate "$out/scores.csv" "$out/allocation-dual-$budget.csv" --spec "$out/spec-$budget.json" \
        --log "$out/log.csv" --outcome "$outcome" --against "$against" --json > "$out/compare-$budget-$outcome-$name.json"
    done
  done
done
python3 "$here/table.py" "$out" $budgets | tee "$out/table.md"
python3 "$here/table.py" --noisy "$out" $budgets | tee "$out/table-noisy.md"

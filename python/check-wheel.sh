#!/usr/bin/env bash
# Installs a wheel in a fresh venv and solves with the Swift toolchain (/opt/swift, or $SWIFT_ROOT)
# and the system's GLPK and CBC libraries hidden, in a private mount namespace (needs root).
#   bash python/check-wheel.sh python/dist/allot-*.whl
set -euo pipefail
wheel="$(realpath "$1")"
swift_root="${SWIFT_ROOT:-$(dirname "$(dirname "$(dirname "$(realpath "$(command -v swift)")")")")}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"
mkdir "$work/empty"
cat > "$work/check.py" <<'PY'
import allot, pandas as pd
df = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "coupon_id": ["c5", "c10", "c5"], "uplift": [12.0, 19.0, 4.0], "cost": [2.5, 6.0, 2.0]})
for method in ("dual", "milp-glpk", "milp-cbc"):
    r = allot.solve(df, budget=7, method=method)
    assert r.summary["feasible"] and r.objective == 19.0, r.summary
try:
    allot.solve(df.assign(cost=[1.0, -1.0, 2.0]), budget=7)
    raise SystemExit("no InputError")
except allot.InputError as e:
    assert str(e) == "<DataFrame>: row 1: cost must be >= 0, got -1.0", e
maps = open("/proc/self/maps").read()
assert "libswift" not in maps and "/lib/x86_64-linux-gnu/libglpk" not in maps
print("ok: dual, milp-glpk, milp-cbc and InputError without the toolchain;", allot.library_path())
PY
unshare -m sh -c "
  mount --bind '$work/empty' '$swift_root'
  for lib in libglpk.so.40 libCbcSolver.so.3 libCbc.so.3 libClp.so.1 libCoinUtils.so.3; do
    [ -e /lib/x86_64-linux-gnu/\$lib ] && mount --bind /dev/null /lib/x86_64-linux-gnu/\$lib
  done
  env -i PATH=/usr/bin:/bin HOME='$work' '$work/venv/bin/python' '$work/check.py'"

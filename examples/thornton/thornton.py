"""Cash incentives to learn one's HIV result (Thornton 2008): allocation under noisy uplift scores.

Data: data/thornton/thornton.csv, the 2,829 people of the experiment with a randomised incentive,
an outcome (`got`: went to learn the result) and an age. Arms by the cash amount drawn: control
(0), low (< 0.9), mid (0.9 to < 1.8), high (>= 1.8); an arm's cost is its mean cash amount.

1. Two folds by a seeded shuffle. Each fold is scored by models fitted on the other fold only
   (cross-fitting), so every score is out of sample for its own log row.
2. T-learner: one gradient-boosting classifier of `got` on distance and age per arm; uplift of an
   arm = P(got | arm) - P(got | control). `uplift_se`: the standard deviation over 20 bootstrap
   refits. Draws `uplift_1..4`: the other fold cut into 4 disjoint parts, one T-learner each
   (independent replicates, as `--risk auto` needs; docs/algorithms.md).
3. Allocate at most one incentive per person under a cash budget with `allot.solve`: plug-in
   (risk 0), `shrink=True`, and `risk="auto"` on the draws.
4. Evaluate each on the randomised log with `allot.evaluate` (inverse propensity weighting):
   against no incentive, against random targeting, and paired against the plug-in allocation.

Run: python3 examples/thornton/thornton.py [--budget B ...] [--csv]  (seconds; seeds pinned)
"""
import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

import allot

SEED = 20081208
ARMS = {"low": 0.9, "mid": 1.8, "high": np.inf}  # each arm: amounts below this and above the previous arm's
FEATURES = ["distvct", "age"]
BOOTSTRAPS = 20
DRAWS = 4


def arm_of(amount):
    """The arm of a cash amount: control for 0, else the bin of ARMS that holds it."""
    return "control" if amount == 0 else next(name for name, upper in ARMS.items() if amount < upper)


def t_learner(train, score_rows, rng):
    """P(got | arm, x) - P(got | control, x) for each arm on score_rows, from models fitted on train."""
    def fit(rows):
        model = GradientBoostingClassifier(n_estimators=40, max_depth=2, learning_rate=0.1,
                                           min_samples_leaf=20, random_state=int(rng.integers(2**31)))
        return model.fit(rows[FEATURES], rows["got"]).predict_proba(score_rows[FEATURES])[:, 1]
    p = {arm: fit(train[train["arm"] == arm]) for arm in ["control", *ARMS]}
    return {arm: p[arm] - p["control"] for arm in ARMS}


def score(df, rng):
    """The long scores table: user_id, coupon_id, uplift, uplift_se, cost, uplift_1..DRAWS, out of fold."""
    fold = rng.permutation(len(df)) % 2
    parts = []
    for k in (0, 1):
        train, rows = df[fold != k], df[fold == k]
        point = t_learner(train, rows, rng)
        boot = [t_learner(train.sample(frac=1, replace=True, random_state=int(rng.integers(2**31))), rows, rng)
                for _ in range(BOOTSTRAPS)]
        part_of = rng.permutation(len(train)) % DRAWS
        draws = [t_learner(train[part_of == d], rows, rng) for d in range(DRAWS)]
        for arm in ARMS:
            table = pd.DataFrame({"user_id": rows["user_id"].to_numpy(), "coupon_id": arm,
                                  "uplift": point[arm], "uplift_se": np.std([b[arm] for b in boot], axis=0, ddof=1),
                                  "cost": COST[arm]})
            for d in range(DRAWS):
                table[f"uplift_{d + 1}"] = draws[d][arm]
            parts.append(table)
    return pd.concat(parts, ignore_index=True)


def paired(result, against):
    """allot's paired IPW difference on the log (allot.evaluate): 'difference (95% interval)',
    in people who learned their result, of following `result` rather than `against`."""
    c = allot.evaluate(point, result, spec, log=log, against=against)["policy_comparison"]
    return f"{c['difference']:+.1f} ({c['ci95_low']:+.1f} to {c['ci95_high']:+.1f})"


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--budget", type=float, nargs="+", default=[300.0, 800.0, 1500.0])
parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "data/thornton/thornton.csv")
args = parser.parse_args()

df = pd.read_csv(args.data)
df["user_id"] = "p" + df["person"].astype(str)
df["arm"] = df["tinc"].map(arm_of)
COST = {arm: round(float(df.loc[df["arm"] == arm, "tinc"].mean()), 2) for arm in ARMS}
print(f"{len(df)} people; arms {df['arm'].value_counts().to_dict()}; cost per arm {COST}")
print("share who learned their result by arm:", df.groupby("arm")["got"].mean().round(3).to_dict())

scores = score(df, np.random.default_rng(SEED))
point = scores.drop(columns=[f"uplift_{d + 1}" for d in range(DRAWS)])
draws = scores.drop(columns=["uplift_se"]).assign(uplift=scores[[f"uplift_{d + 1}" for d in range(DRAWS)]].mean(axis=1))
log = pd.DataFrame({"user_id": df["user_id"], "treatment": df["arm"], "outcome": df["got"]})

def random_cheapest(people, seed):
    """The baseline: as many people as the allocation reaches, drawn at random, each given the low
    incentive (the cheapest, and the best per unit of cash on average), so it spends no more."""
    chosen = pd.Series(log["user_id"].unique()).sample(n=people, random_state=seed)
    return pd.DataFrame({"user_id": chosen.to_numpy(), "coupon_id": "low"})


rows = []
for budget in args.budget:
    spec = {"budgets": [{"name": "cash", "limit": budget}], "max_per_user": 1}
    runs = {"plug-in": allot.solve(point, spec, seed=1, risk=0),
            "shrink": allot.solve(point, spec, seed=1, shrink=True),
            "risk auto": allot.solve(draws, spec, seed=1, risk="auto")}
    for name, result in runs.items():
        assert result.summary["feasible"], name
        expected = result.summary["expected_objective"]
        rows.append({"budget": budget, "allocation": name, "kappa": expected.get("risk_kappa", ""),
                     "people": len(result.allocation),
                     "low/mid/high": "/".join(str((result.allocation["coupon_id"] == arm).sum()) for arm in ARMS),
                     "spend": round(result.allocation["cost"].sum(), 1), "objective": round(result.objective, 1),
                     "expected (95%)": f"{expected['value']:.1f} ({expected['ci95_low']:.1f} to {expected['ci95_high']:.1f})",
                     "realised vs none": paired(result, "none"),
                     "vs random people, low": paired(result, random_cheapest(len(result.allocation), SEED)),
                     "vs plug-in": "" if name == "plug-in" else paired(result, runs["plug-in"])})
table = pd.DataFrame(rows)
print(table.to_string(index=False))

"""Uplift scores from scikit-learn on the Hillstrom e-mail test, then an allocation with Allot.

Train one regressor of two-week spend per arm (Mens e-mail, Womens e-mail, no e-mail) on half the
customers; score the other half: uplift = predicted spend with an e-mail - without. Cost of an
e-mail: 0.10 plus a 10% discount on the predicted spend. Allot picks at most one e-mail per
customer under a budget of 2,500. Run: python3 examples/python/uplift_allocation.py [hillstrom.csv]
"""
import sys
from pathlib import Path

import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

import allot

data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[2] / "data/hillstrom/hillstrom.csv")
df = pd.read_csv(data)
df["user_id"] = "c" + (df.index + 1).astype(str)
X = pd.get_dummies(df[["recency", "history", "mens", "womens", "newbie", "zip_code", "channel"]], dtype=float)
train = df.sample(frac=0.5, random_state=20261124).index
test = df.index.difference(train)
arms = {"mens": "Mens E-Mail", "womens": "Womens E-Mail", "control": "No E-Mail"}
predicted = {}
for arm, segment in arms.items():
    rows = train[df.loc[train, "segment"] == segment]
    model = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(X.loc[rows], df.loc[rows, "spend"])
    predicted[arm] = model.predict(X.loc[test])
scores = pd.concat([pd.DataFrame({"user_id": df.loc[test, "user_id"].to_numpy(), "coupon_id": arm,
                                  "uplift": predicted[arm] - predicted["control"],
                                  "cost": 0.10 + 0.10 * predicted[arm].clip(min=0)}) for arm in ("mens", "womens")])

result = allot.solve(scores, {"budgets": [{"name": "email budget", "limit": 2500}], "max_per_user": 1})
print(result.allocation.head())
print(f"{len(result.allocation)} e-mails to {result.summary['users_reached']} of {len(test)} customers, "
      f"spend {result.allocation['cost'].sum():.2f}, predicted incremental spend {result.objective:.2f}")
print(f"upper bound {result.bound:.2f} (gap {result.gap:.1e}); one more unit of budget is worth "
      f"{result.shadow_prices['budget:email budget']:.3f}; verified: {result.summary['feasible']}")

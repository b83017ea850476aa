#!/usr/bin/env python3
"""Hillstrom MineThatData e-mail test -> Allot scores, spec-free inputs and a randomised log.

Split the 64,000 customers in two halves with a fixed seed. On the TRAIN half fit a
two-model learner per arm (ridge regression of two-week spend on the customer features,
one model for each of Mens e-mail, Womens e-mail, No e-mail). For every customer of the
EVALUATION half predict the uplift of each e-mail over no e-mail; those are the scores.
The evaluation half's real randomised records become the log for `allot evaluate --log`,
with two outcomes: two-week spend (GMV) and whether the customer visited.

Noise in the scores (for `allot solve --shrink` and `--risk`): `uplift_se` in scores.csv is
the standard deviation of each uplift over 20 bootstrap refits of the three ridge models on
the train half; scores-draws.csv holds 4 draws `uplift_1..uplift_4`, each from models fitted
on a disjoint quarter of the train half (independent replicates, as `--risk auto` needs), with
their mean as `uplift` and the same costs.

Cost model (an explicit assumption): each e-mail sent costs 0.10 (production and
deliverability), plus a discount worth 10% of the customer's predicted spend under that
e-mail, so costs differ across customers and between the two e-mails.
"""
import csv
import sys

import numpy as np

SEED = 20261124
ARMS = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "control"}
FIXED_COST = 0.10
DISCOUNT = 0.10
RIDGE = 1.0
BOOTSTRAPS = 20
DRAWS = 4


def features(rows):
    zips = sorted({r["zip_code"] for r in rows})
    channels = sorted({r["channel"] for r in rows})
    segments = sorted({r["history_segment"] for r in rows})
    def encode(r):
        x = [1.0, float(r["recency"]), np.log1p(float(r["history"])), float(r["mens"]), float(r["womens"]), float(r["newbie"])]
        x += [1.0 if r["zip_code"] == z else 0.0 for z in zips[1:]]
        x += [1.0 if r["channel"] == c else 0.0 for c in channels[1:]]
        x += [1.0 if r["history_segment"] == s else 0.0 for s in segments[1:]]
        return x
    return np.array([encode(r) for r in rows])


def main(source, out_dir):
    with open(source, newline="") as f:
        rows = list(csv.DictReader(f))
    for i, r in enumerate(rows):
        r["id"] = f"c{i + 1}"
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(rows))
    half = len(rows) // 2
    train_idx, eval_idx = order[:half], np.sort(order[half:])
    X = features(rows)
    spend = np.array([float(r["spend"]) for r in rows])
    arm = np.array([ARMS[r["segment"]] for r in rows])

    def fit(idx):
        """Ridge coefficients of spend on the features, one model per arm, on the rows idx."""
        models = {}
        for name in ("mens", "womens", "control"):
            rows_of_arm = idx[arm[idx] == name]
            A, y = X[rows_of_arm], spend[rows_of_arm]
            penalty = RIDGE * np.eye(A.shape[1])
            penalty[0, 0] = 0
            models[name] = np.linalg.solve(A.T @ A + penalty, A.T @ y)
        return models

    def uplifts(models):
        return {name: Xe @ (models[name] - models["control"]) for name in ("mens", "womens")}

    models = fit(train_idx)
    Xe = X[eval_idx]
    predicted = {name: Xe @ beta for name, beta in models.items()}
    boot = [uplifts(fit(rng.choice(train_idx, size=len(train_idx)))) for _ in range(BOOTSTRAPS)]
    se = {name: np.std([b[name] for b in boot], axis=0, ddof=1) for name in ("mens", "womens")}
    quarter = rng.permutation(len(train_idx)) % DRAWS
    draws = [uplifts(fit(train_idx[quarter == d])) for d in range(DRAWS)]
    cost = {name: FIXED_COST + DISCOUNT * np.maximum(predicted[name], 0.0) for name in ("mens", "womens")}
    with open(f"{out_dir}/scores.csv", "w", newline="") as f, open(f"{out_dir}/scores-draws.csv", "w", newline="") as g:
        w, wd = csv.writer(f, lineterminator="\n"), csv.writer(g, lineterminator="\n")
        w.writerow(["user_id", "coupon_id", "uplift", "cost", "channel", "uplift_se"])
        wd.writerow(["user_id", "coupon_id", "uplift", "cost", "channel"] + [f"uplift_{d + 1}" for d in range(DRAWS)])
        for k, i in enumerate(eval_idx):
            for name in ("mens", "womens"):
                uplift = predicted[name][k] - predicted["control"][k]
                w.writerow([rows[i]["id"], name, f"{uplift:.6f}", f"{cost[name][k]:.6f}", "email", f"{se[name][k]:.6f}"])
                d = [draw[name][k] for draw in draws]
                wd.writerow([rows[i]["id"], name, f"{np.mean(d):.6f}", f"{cost[name][k]:.6f}", "email"] + [f"{x:.6f}" for x in d])
    with open(f"{out_dir}/log.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["user_id", "treatment", "spend", "visit"])
        for i in eval_idx:
            w.writerow([rows[i]["id"], arm[i], rows[i]["spend"], rows[i]["visit"]])
    print(f"train {len(train_idx)} customers, evaluation {len(eval_idx)}; scores and log in {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

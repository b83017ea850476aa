#!/usr/bin/env python3
"""The LP relaxation of an Allot instance, solved by general LP solvers: the peers of the dual.

Reads the same files as `allot solve` (scores CSV: user_id,coupon_id,uplift,cost[,channel];
spec JSON: budgets on `cost`, max_per_user, coupon_caps, channel_caps, min_roi), builds the
model exactly as Allot's MILP formulation does (docs/algorithms.md, "One formulation"), with
x_j in [0, 1], and solves it with

  highs-simplex  HiGHS dual simplex     (highspy)
  highs-ipm      HiGHS interior point   (highspy, crossover off)
  pdlp           OR-tools PDLP          (ortools)

Prints one JSON line per solver: LP value (an upper bound on the integer optimum, comparable
to the dual's bound), build and solve seconds. CI does not run this; see docs/benchmarks.md.

    pip install -r Benchmarks/peers/requirements.txt
    python3 Benchmarks/peers/lp_relaxation.py scores.csv spec.json --solvers highs-ipm,pdlp
"""
import argparse
import csv
import json
import sys
import time

import numpy as np
import scipy.sparse as sp


def load(scores_path, spec_path):
    spec = json.load(open(spec_path))
    users, coupons, channels = {}, {}, {}
    u_idx, c_idx, h_idx, uplift, cost = [], [], [], [], []
    with open(scores_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        has_channel = "channel" in header
        for row in reader:
            u_idx.append(users.setdefault(row[0], len(users)))
            c_idx.append(coupons.setdefault(row[1], len(coupons)))
            uplift.append(float(row[2]))
            cost.append(float(row[3]))
            h_idx.append(channels.setdefault(row[4], len(channels)) if has_channel and row[4] else -1)
    return spec, users, coupons, channels, np.array(u_idx), np.array(c_idx), np.array(h_idx), np.array(uplift), np.array(cost)


def build(spec, users, coupons, channels, u, c, h, v, w):
    """Rows A x <= b over the eligible candidates (uplift > 0, fits each budget, caps not 0)."""
    budgets = spec.get("budgets", [])
    for b in budgets:
        if b.get("column", "cost") != "cost":
            sys.exit("only budgets on the cost column are supported here")
    caps = spec.get("coupon_caps", {})
    channel_caps = spec.get("channel_caps", {})
    cap_of = np.full(len(coupons), -1, dtype=np.int64)
    for name, cap in caps.items():
        if name in coupons:
            cap_of[coupons[name]] = cap
    keep = v > 0
    for b in budgets:
        keep &= w <= b["limit"]
    keep &= cap_of[c] != 0
    ch_cap = np.full(max(len(channels), 1), -1, dtype=np.int64)
    for name, cap in channel_caps.items():
        if name in channels:
            ch_cap[channels[name]] = cap
    if len(channels):
        keep &= ~((h >= 0) & (ch_cap[np.maximum(h, 0)] == 0))
    cols = np.nonzero(keep)[0]
    n = len(cols)
    u, c, h, v, w = u[cols], c[cols], h[cols], v[cols], w[cols]
    rows_i, rows_j, rows_a, rhs = [], [], [], []
    r = 0
    j = np.arange(n)
    for b in budgets:
        rows_i.append(np.full(n, r)); rows_j.append(j); rows_a.append(w); rhs.append(b["limit"]); r += 1
    f = spec.get("max_per_user", 1)
    counts = np.bincount(u, minlength=len(users))
    busy = counts > f
    if busy.any():
        row_of = np.full(len(users), -1); row_of[busy] = r + np.arange(busy.sum())
        sel = busy[u]
        rows_i.append(row_of[u[sel]]); rows_j.append(j[sel]); rows_a.append(np.ones(sel.sum()))
        rhs.extend([f] * int(busy.sum())); r += int(busy.sum())
    if len(channels) and (ch_cap >= 0).any() and f > 1:
        for hh in range(len(channels)):
            if ch_cap[hh] < 0:
                continue
            sel = h == hh
            cnt = np.bincount(u[sel], minlength=len(users))
            over = cnt > ch_cap[hh]
            if over.any():
                row_of = np.full(len(users), -1); row_of[over] = r + np.arange(over.sum())
                s2 = sel & over[u]
                rows_i.append(row_of[u[s2]]); rows_j.append(j[s2]); rows_a.append(np.ones(s2.sum()))
                rhs.extend([ch_cap[hh]] * int(over.sum())); r += int(over.sum())
    demand = np.bincount(c, minlength=len(coupons))
    binding = (cap_of >= 0) & (demand > cap_of)
    if binding.any():
        row_of = np.full(len(coupons), -1); row_of[binding] = r + np.arange(binding.sum())
        sel = binding[c]
        rows_i.append(row_of[c[sel]]); rows_j.append(j[sel]); rows_a.append(np.ones(sel.sum()))
        rhs.extend(cap_of[binding].tolist()); r += int(binding.sum())
    if spec.get("min_roi") is not None:
        rows_i.append(np.full(n, r)); rows_j.append(j); rows_a.append(spec["min_roi"] * w - v); rhs.append(0.0); r += 1
    A = sp.csr_matrix((np.concatenate(rows_a), (np.concatenate(rows_i), np.concatenate(rows_j))), shape=(r, n))
    return v, A, np.array(rhs, dtype=float)


def solve_highs(v, A, b, method, time_limit):
    import highspy
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 2)
    if method == "ipm":
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    else:
        h.setOptionValue("solver", "simplex")
    lp = highspy.HighsLp()
    n = len(v)
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = -v
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(A.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = b
    csc = A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr
    lp.a_matrix_.index_ = csc.indices
    lp.a_matrix_.value_ = csc.data
    h.passModel(lp)
    t = time.monotonic()
    h.run()
    seconds = time.monotonic() - t
    return -h.getInfo().objective_function_value, seconds, h.modelStatusToString(h.getModelStatus())


def solve_pdlp(v, A, b, tolerance, time_limit):
    from ortools.pdlp import solvers_pb2, solve_log_pb2
    from ortools.pdlp.python import pdlp
    qp = pdlp.QuadraticProgram()
    n = len(v)
    qp.objective_vector = -v
    qp.variable_lower_bounds = np.zeros(n)
    qp.variable_upper_bounds = np.ones(n)
    qp.constraint_lower_bounds = np.full(A.shape[0], -np.inf)
    qp.constraint_upper_bounds = b
    qp.constraint_matrix = A.tocsc()
    params = solvers_pb2.PrimalDualHybridGradientParams()
    params.termination_criteria.simple_optimality_criteria.eps_optimal_relative = tolerance
    params.termination_criteria.simple_optimality_criteria.eps_optimal_absolute = 0
    params.num_threads = 2
    params.termination_criteria.time_sec_limit = float(time_limit)
    t = time.monotonic()
    result = pdlp.primal_dual_hybrid_gradient(qp, params)
    seconds = time.monotonic() - t
    status = solve_log_pb2.TerminationReason.Name(result.solve_log.termination_reason)
    return float(v @ result.primal_solution), seconds, status


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scores")
    p.add_argument("spec")
    p.add_argument("--solvers", default="highs-simplex,highs-ipm,pdlp")
    p.add_argument("--pdlp-tolerance", type=float, default=1e-4, help="PDLP relative optimality tolerance")
    p.add_argument("--time-limit", type=float, default=3600, help="seconds per solver (reported as its status when hit)")
    a = p.parse_args()
    t = time.monotonic()
    loaded = load(a.scores, a.spec)
    read_seconds = time.monotonic() - t
    t = time.monotonic()
    v, A, b = build(*loaded)
    build_seconds = time.monotonic() - t
    for name in a.solvers.split(","):
        cpu = time.process_time()
        if name == "highs-simplex":
            value, seconds, status = solve_highs(v, A, b, "simplex", a.time_limit)
        elif name == "highs-ipm":
            value, seconds, status = solve_highs(v, A, b, "ipm", a.time_limit)
        elif name == "pdlp":
            value, seconds, status = solve_pdlp(v, A, b, a.pdlp_tolerance, a.time_limit)
        else:
            sys.exit(f"unknown solver {name}")
        cpu = time.process_time() - cpu
        print(json.dumps({"solver": name, "lp_value": value, "status": status, "solve_seconds": seconds,
                          "solve_cpu_seconds": cpu,
                          "build_seconds": build_seconds, "read_seconds": read_seconds,
                          "columns": len(v), "rows": A.shape[0]}), flush=True)


if __name__ == "__main__":
    main()

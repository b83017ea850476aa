"""allot.evaluate and allot.frontier: what `allot evaluate` and `allot frontier` compute, through the
C ABI (version 2; control= and max_unknown_share= since 7), on scores given as `allot.solve` takes them.

Allocations and logs go over as string columns (ids, treatments) and float64 columns; the library
reads them with the CLI's checks, so the messages are the CLI's with "row N" for a line.
"""
import json

import numpy as np
import pandas as pd

from . import _native
from ._native import InputError, encode
from ._solve import Result, _allocation, _build, _Frame, _Strings

FRONTIER_COLUMNS = ["method", "budget", "objective", "spend", "upper_bound", "shadow_price"]


def evaluate(scores, allocation, spec=None, *, log=None, against=None, outcome="outcome",
             control="control", max_unknown_share=0.01, budget=None, max_per_user=None) -> dict:
    """Re-verifies an allocation and, given a randomised log, estimates its value there: the dict
    `allot evaluate --json` prints.

    scores, spec, budget, max_per_user: as for `allot.solve`.
    allocation: a `Result`, or a DataFrame, pyarrow Table, CSV or Parquet path with user_id and
        coupon_id columns (others are ignored: the verifier recomputes values).
    log: a randomised log (user_id, treatment, the outcome column, optional propensity) as a
        DataFrame, Table or path; adds "policy_value" (inverse propensity weighting, 95% interval).
    against: "random" (uniform random targeting of as many users, exact expectation), "none", or
        another allocation (as `allocation`): adds "policy_comparison", the paired difference on
        the same log rows with its 95% interval. Needs a log.
    outcome: the log column holding the outcome.
    control: the log's treatment that names the control arm (the CLI's --control).
    max_unknown_share: raise InputError when more than this share (0 to 1) of the log rows have a
        treatment that is neither the control arm nor a coupon of the scores, since such rows drop
        out of the estimate (the CLI's --max-unknown-share, default 0.01; 1 allows any). The
        report's "policy_value" counts them in "unknown_treatment_rows".

    The summary's "feasible" and "violations" say whether the allocation keeps every constraint
    (an infeasible allocation is reported, not raised). Raises InputError for bad scores, spec,
    allocation or log.
    """
    if against is not None and log is None:
        raise ValueError("against needs a log")
    if not isinstance(control, str):
        raise TypeError(f"control must be a str, not {type(control).__name__}")
    if isinstance(max_unknown_share, bool) or not isinstance(max_unknown_share, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_unknown_share must be a number, not {type(max_unknown_share).__name__}")
    lib = _native.lib()
    problem, _ = _build(scores, spec, budget, max_per_user, keep=False)
    handles = []  # (free function, handle)
    try:
        def read(value, what):
            handle = _allocation_handle(lib, problem, value, what)
            handles.append((lib.allot_allocation_free, handle))
            return handle

        mine = read(allocation, "allocation")
        log_handle = None
        if log is not None:
            log_handle = _log_handle(lib, log, outcome, control)
            handles.append((lib.allot_log_free, log_handle))
        named = isinstance(against, str) and against in ("random", "none")
        other = read(against, "against") if against is not None and not named else None
        report = _native.handle(lib.allot_evaluate_checked(problem, mine, log_handle, encode(against) if named else None,
                                                           other, float(max_unknown_share)))
        try:
            return json.loads(lib.allot_report_json(report))
        finally:
            lib.allot_report_free(report)
    finally:
        for free, handle in reversed(handles):
            free(handle)
        lib.allot_problem_free(problem)


def frontier(scores, budgets, spec=None, methods=None, *, allocations=False, max_per_user=None, **options) -> pd.DataFrame:
    """Objective against budget for each method: what `allot frontier --csv` writes.

    Each method (default dual, greedy-marginal, greedy-ratio) is solved and verified at each
    budget (taken in increasing order) as the limit of the spec's first budget (a spec without a
    budget gets one named "budget" on cost). The dual's point is what `allot.solve` returns at
    that budget.

    Returns a DataFrame with one row per point: method, budget, objective, spend, upper_bound and
    shadow_price (NaN where the method has none); with allocations=True, also "allocation", each
    point's allocation DataFrame (user_id, coupon_id, uplift, cost) as `allot.solve` gives it.
    options: as for `allot.solve` (threads, seed, gap, time_limit, polish_users, verbose).
    """
    levels = np.ascontiguousarray(np.atleast_1d(np.asarray(budgets, dtype=np.float64)))
    if levels.ndim != 1:
        raise ValueError("budgets must be a sequence of numbers")
    names = None if methods is None else methods if isinstance(methods, str) else ",".join(methods)
    lib = _native.lib()
    problem, chunks = _build(scores, spec, None, max_per_user)
    try:
        options_json = json.dumps(options) if options else None
        report = _native.handle(lib.allot_frontier(problem, levels.ctypes.data, len(levels),
                                                   None if names is None else encode(names),
                                                   None if options_json is None else encode(options_json)))
    finally:
        lib.allot_problem_free(problem)
    try:
        points = pd.DataFrame(json.loads(lib.allot_report_json(report)), columns=FRONTIER_COLUMNS)
        rows = []
        if allocations:
            for k in range(lib.allot_report_row_sets(report)):
                chosen = np.empty(lib.allot_report_row_count(report, k), dtype=np.int64)
                _native.check(lib.allot_report_copy_rows(report, k, chosen.ctypes.data, len(chosen)))
                rows.append(chosen)
    finally:
        lib.allot_report_free(report)
    points = points.astype({c: "float64" for c in FRONTIER_COLUMNS[1:]})
    if allocations:
        points["allocation"] = [_allocation(chunks, r) for r in rows]
    return points


def _allocation_handle(lib, problem, allocation, what):
    """An allocation of the problem in the library, from a Result or a table with user_id and coupon_id."""
    if isinstance(allocation, Result):
        allocation = allocation.allocation
    frame = _Frame.of(allocation, what)
    _require(frame, ["user_id", "coupon_id"],
             lambda missing: f"the header must name user_id and coupon_id (found: {','.join(frame.columns)})")
    users, coupons = _Strings.arrow(frame.strings("user_id")), _Strings.arrow(frame.strings("coupon_id"))
    return _native.handle(lib.allot_allocation_new(problem, encode(frame.name), users.count, users.offsets, users.data,
                                                   coupons.offsets, coupons.data))


def _log_handle(lib, log, outcome, control):
    """A randomised log in the library."""
    frame = _Frame.of(log, "log")
    _require(frame, ["user_id", "treatment", outcome],
             lambda missing: f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
                             f"in the header (found: {','.join(frame.columns)})")
    users, treatments = _Strings.arrow(frame.strings("user_id")), _Strings.arrow(frame.strings("treatment"))
    outcomes = frame.numbers(outcome)
    propensities = frame.numbers("propensity") if "propensity" in frame.columns else None
    return _native.handle(lib.allot_log_new_control(encode(frame.name), encode(outcome), encode(control), users.count,
                                                    users.offsets, users.data, treatments.offsets, treatments.data,
                                                    outcomes.ctypes.data,
                                                    None if propensities is None else propensities.ctypes.data))


def _require(frame, names, message):
    """Loads the named columns (and propensity, when present) or raises the CLI's header error."""
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InputError(f"{frame.name}: {message(missing)}", _native.ERR_INPUT)
    frame.load(names + [n for n in ("propensity",) if n in frame.columns])

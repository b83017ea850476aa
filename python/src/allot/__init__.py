"""Allot from Python: choose which incentive each user gets, under budgets and caps.

    import allot
    result = allot.solve("scores.parquet", {"budgets": [{"name": "cash", "limit": 50000}]})
    result.allocation      # DataFrame: user_id, coupon_id, uplift, cost
    result.summary         # the CLI's summary JSON as a dict
    result.bound, result.gap, result.shadow_prices
    allot.evaluate("scores.parquet", result, spec, log="test-log.csv", against="random")  # dict
    allot.frontier("scores.parquet", [10000, 50000, 100000], spec)  # DataFrame of points

The solver is Allot's Swift library, loaded through its C ABI (libAllotC, bundled).
"""
from ._native import AllotError, InputError, SolveError, library_path
from ._evaluate import evaluate, frontier
from ._solve import Result, methods, scores_from_matrix, solve
from ._serve import Snapshot, decide

__version__ = "0.1.0"
__all__ = ["solve", "scores_from_matrix", "evaluate", "frontier", "methods", "Result", "Snapshot", "decide", "AllotError", "InputError", "SolveError", "abi_version", "library_path"]


def abi_version() -> int:
    """The C ABI version of the loaded library."""
    from ._native import lib

    return lib().allot_abi_version()

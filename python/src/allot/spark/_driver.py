"""The driver of allot.spark: the multiplier search, the primal recovery and the verification,
each round one Spark job over the cached scores (docs/spark.md)."""
import json
import math
import os
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._native import ERR_INPUT, InputError, SolveError
from . import _layout
from ._kernel import COARSE_SHIFT, FINE_SHIFT, bucket_bounds

REQUIRED = ("user_id", "coupon_id", "uplift", "cost")
#: A bucket with at most this many breakpoints (or moves) is fetched exactly.
EXACT_LIMIT = 200_000
#: How rows go from the JVM to Python, set for the solve where the session does not set them
#: (docs/benchmarks.md): batches of 2^17 rows (Spark's default, 10,000, costs about a third more
#: in the layout), and no byte limit: with one (64 MB by default), Spark measures the batch
#: after every row (20% of the JVM's profile samples in a solve at 1e7). A batch of chunks is then a
#: partition's chunks (about 19 bytes per candidate), less than its layout task holds.
ARROW_CONF = {"spark.sql.execution.arrow.maxRecordsPerBatch": str(1 << 17),
              "spark.sql.execution.arrow.maxBytesPerBatch": str(2**31 - 1)}
#: Verifier tolerance, as the CLI's: s <= L + 1e-9 max(1, |L|).
TOLERANCE = 1e-9


@dataclass
class Result:
    """The outcome of `allot.spark.solve`."""

    #: user_id, coupon_id, uplift, cost (and channel when the scores have it), one row per assignment.
    allocation: object
    #: The CLI's summary schema, as a dict.
    summary: dict
    objective: float
    bound: float
    gap: float
    shadow_prices: dict = field(default_factory=dict)
    #: Rounds over the scores: "check", "dual" (multiplier search), "recover", "verification"; each
    #: is a Spark job, except those counted again in "dual_in_check" (the first dual round, run in
    #: the check's job) and "recover_in_verification" (recovery rounds run in the job that makes
    #: and verifies an allocation).
    rounds: dict = field(default_factory=dict)
    #: The dual value after each coordinate-descent round (several constraints).
    bounds: list = field(default_factory=list)
    #: Several constraints: the multiplier rounds after which a gap check found the gap within
    #: the target (None when the rounds ended first).
    rounds_to_gap: int = None


def _spec_dict(spec):
    if spec is None:
        return {}, "spec"
    if isinstance(spec, Mapping):
        return dict(spec), "spec"
    name = os.fspath(spec)
    try:
        return json.loads(Path(name).read_text(encoding="utf-8")), name
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror}", ERR_INPUT) from None
    except ValueError as error:
        raise InputError(f"{name}: malformed JSON: {error}", ERR_INPUT) from None


class Plan:
    """The constraints, resolved against what the scores hold."""

    def __init__(self, spec: dict, spec_name: str, columns):
        def fail(message):
            return InputError(f"{spec_name}: {message}", ERR_INPUT)

        known = {"budgets", "max_per_user", "coupon_caps", "channel_caps", "min_roi"}
        for key in sorted(spec):
            if key not in known:
                raise fail(f"unknown key '{key}' (known: {', '.join(sorted(known))})")
        self.budgets = []
        for b in spec.get("budgets", []):
            if "min" in b:
                # A floor dropped in silence would give an allocation that breaks it, with no word.
                raise fail(f"budget '{b.get('name')}' has a spend floor (min), which allot.spark does not take yet; "
                           "solve it on one machine (allot solve, allot.solve), whose dual takes floors")
            column = b.get("column", "cost")
            if column not in columns:
                raise fail(f"budget '{b.get('name')}' names column '{column}', which the scores do not have (columns: {', '.join(columns)})")
            limit = float(b["limit"])
            if not (math.isfinite(limit) and limit >= 0):
                raise fail(f"budget '{b.get('name')}' has limit {limit}; a limit must be a finite number >= 0")
            self.budgets.append({"name": str(b["name"]), "column": column, "limit": limit})
        self.max_per_user = int(spec.get("max_per_user", 1))
        if self.max_per_user < 1:
            raise fail(f"max_per_user is {self.max_per_user}; it must be at least 1")
        self.coupon_caps = {str(c): int(v) for c, v in spec.get("coupon_caps", {}).items()}
        self.channel_caps = {str(c): int(v) for c, v in spec.get("channel_caps", {}).items()}
        for name, caps in (("coupon_caps", self.coupon_caps), ("channel_caps", self.channel_caps)):
            for c, v in caps.items():
                if v < 0:
                    raise fail(f"{name}['{c}'] is {v}; a cap must be >= 0")
        self.min_roi = spec.get("min_roi")
        if self.min_roi is not None:
            self.min_roi = float(self.min_roi)
            if not (math.isfinite(self.min_roi) and self.min_roi >= 0):
                raise fail(f"min_roi is {self.min_roi}; it must be a finite number >= 0")
        self.has_channel = "channel" in columns
        self.spec_name = spec_name
        # Relaxed coupon caps, by coupon id; a cap of 0 closes the coupon instead.
        self.caps = [(c, v) for c, v in sorted(self.coupon_caps.items()) if v > 0]
        self.zero_coupons = [c for c, v in sorted(self.coupon_caps.items()) if v == 0]
        # The kernel follows the capped channels only (any other channel's cap is "none"), so that
        # what the executors need does not depend on which channels the scores hold.
        self.channels = sorted(self.channel_caps) if self.has_channel else None
        self.names = [("budget", b["name"]) for b in self.budgets] + [("coupon_cap", c) for c, _ in self.caps] \
            + ([("min_roi", "min_roi")] if self.min_roi is not None else [])
        self.limits = np.array([b["limit"] for b in self.budgets] + [float(v) for _, v in self.caps]
                               + ([0.0] if self.min_roi is not None else []))

    def check(self, coupons, channels):
        """Checks the caps against the coupons and channels the scores hold."""
        for c in sorted(self.coupon_caps):
            if c not in coupons:
                raise InputError(f"{self.spec_name}: coupon_caps names coupon '{c}', which is not in the scores", ERR_INPUT)
        for h in sorted(self.channel_caps):
            if h not in channels:
                known = f"channels: {', '.join(sorted(channels))}" if self.has_channel else "the scores have no channel column"
                raise InputError(f"{self.spec_name}: channel_caps names channel '{h}', which is not in the scores ({known})", ERR_INPUT)

    def layout(self):
        """What the executors need (picklable)."""
        return {"budgets": self.budgets, "caps": self.caps, "zero_coupons": self.zero_coupons, "channels": self.channels,
                "channel_caps": self.channel_caps, "max_per_user": self.max_per_user, "min_roi": self.min_roi,
                "numbers": ["uplift", "cost"] + sorted({b["column"] for b in self.budgets} - {"cost"})}

    def first_round(self):
        """The first multiplier round, the same whatever the data (every multiplier at 0, each
        constraint's breakpoints over the whole range): the layout job runs it too."""
        return {"m": [0.0] * self.k, "steps": [(i, 0.0, math.inf, COARSE_SHIFT) for i in range(self.k)]}

    @property
    def k(self):
        return len(self.limits)


class _Rounds:
    """Runs one task on every cached chunk (mapInArrow) and collects the chunks' results."""

    def __init__(self, chunks, layout, count, say, first=None):
        self.chunks = chunks
        self.layout = layout
        self.counts = count
        self.say = say
        self.spark = chunks.sparkSession
        #: The dual task the layout job ran on every chunk (None: none), and its results.
        self.first, self.first_parts = first, None

    def checks(self):
        """The validation done when the chunks were made (their first job: the shuffle), with
        the results of the first dual round when the layout job ran it."""
        started = time.time()
        infos = [pickle.loads(r.info) for r in self.chunks.select("info").collect()]
        self.counts["check"] = self.counts.get("check", 0) + 1
        self.say(f"layout and check: {time.time() - started:.1f} s")
        if self.first is not None and all("first" in i for i in infos):
            self.first_parts = [i.pop("first") for i in infos]
        return infos

    def run(self, kind, task):
        from . import _kernel, _layout, _tasks

        if kind == "dual" and self.first_parts is not None and task == self.first:
            parts, self.first_parts = self.first_parts, None
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.counts["dual_in_check"] = 1
            self.say(f"{kind} round {self.counts[kind]}: done in the layout job")
            return parts
        started = time.time()
        layout = self.layout
        shared = self.spark.sparkContext.broadcast(task)

        def per_partition(batches):
            import pyarrow as pa

            t = shared.value
            for chunk in _layout.chunks_of(batches):
                if kind == "sample":
                    yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(_layout.sample_rows(chunk, t["below"]))], pa.binary())], ["out"])
                    continue
                part = _kernel.Partition(chunk, layout)
                try:
                    out = _tasks.dual_round(part, t) if kind == "dual" else _tasks.recovery_round(part, t)
                finally:
                    part.close()
                yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(out)], pa.binary())], ["out"])

        rows = self.chunks.select("chunk").mapInArrow(per_partition, "out binary").collect()
        shared.unpersist()
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.say(f"{kind} round {self.counts[kind]}: {time.time() - started:.1f} s")
        return [pickle.loads(r.out) for r in rows]


def _fsum(values):
    return math.fsum(values)


def _merge_buckets(parts, key_field, value_fields):
    """Sums per bucket over partitions (exactly rounded: math.fsum per bucket)."""
    keys = [p[key_field] for p in parts if len(p[key_field])]
    if not keys:
        return np.empty((0,) + parts[0][key_field].shape[1:], np.int64) if parts else np.empty(0, np.int64), \
            {f: [] for f in value_fields}
    allkeys = np.concatenate(keys)
    axis = 0 if allkeys.ndim == 1 else None
    if allkeys.ndim == 1:
        unique, inverse = np.unique(allkeys, return_inverse=True)
    else:
        unique, inverse = np.unique(allkeys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out = {}
    for f in value_fields:
        values = np.concatenate([np.asarray(p[f], dtype=np.float64) for p in parts if len(p[key_field])])
        if values.ndim == 1:
            order = np.lexsort((values, inverse))
            sums = np.zeros(len(unique))
            groups = np.split(values[order], np.flatnonzero(np.diff(inverse[order])) + 1)
            for g, chunk in enumerate(groups):
                sums[g] = math.fsum(chunk)
        else:
            sums = np.zeros((len(unique), values.shape[1]))
            order = np.argsort(inverse, kind="stable")
            splits = np.flatnonzero(np.diff(inverse[order])) + 1
            for c in range(values.shape[1]):
                column = values[order, c]
                for g, chunk in enumerate(np.split(column, splits)):
                    sums[g, c] = math.fsum(np.sort(chunk))
        out[f] = sums
    del axis
    return unique, out


def _critical_bucket(keys, drops, room):
    """Walking buckets from the highest: the first whose cumulative drop exceeds room, with the
    cumulative drop above it; None when everything fits."""
    order = np.argsort(keys)[::-1]
    above = 0.0
    for b in order:
        if above + drops[b] > room:
            return int(keys[b]), above
        above = math.fsum([above, drops[b]])
    return None, above


def _exact_critical(points, drops, room, lo):
    """smallestMultiplier on an exact list: the breakpoint where the cumulative drop, in
    descending order, first exceeds room."""
    if len(points) == 0:
        return lo
    unique, inverse = np.unique(points, return_inverse=True)
    sums = np.array([math.fsum(drops[inverse == g]) for g in range(len(unique))]) if len(unique) < 5000 else \
        np.bincount(inverse, weights=drops, minlength=len(unique))
    cumulative = 0.0
    for g in range(len(unique) - 1, -1, -1):
        cumulative += sums[g]
        if cumulative > room:
            return float(unique[g])
    return float(unique[0])


def solve(df, spec=None, method="dual", *, gap=1e-3, max_rounds=40, partitions=None, relaxation=0.8,
          check_every=4, chunk_rows=_layout.CHUNK_ROWS, verify=True, progress=None, sample_users=0):
    """Solves on Spark. df: a Spark DataFrame with user_id, coupon_id, uplift, cost, optional
    channel and extra budget columns. spec: dict, path of a spec file, or None. gap: the target
    relative gap with several constraints (one constraint is solved exactly), checked every
    `check_every` multiplier rounds. partitions: how many partitions to hash the users into
    (default: the DataFrame's). chunk_rows: at most this many candidates per cached chunk (a
    round's memory per task; a user is never split). sample_users: with several constraints, start
    the descent from the single-machine dual's multipliers on a sample of about this many users,
    solved on the driver (0, the default: from zero; also when the scores have at most twice as
    many users). An option, not the default: it cut the rounds to gap 1e-3 from 20 to 4-8 on the
    measured instances, but with a small sample the recovery at the multipliers it reached was
    poor (docs/benchmarks.md). Returns a Result."""
    conf = df.sparkSession.conf
    unset = [key for key in ARROW_CONF if conf.get(key, None) is None]
    for key in unset:
        conf.set(key, ARROW_CONF[key])
    try:
        return _solve(df, spec, method, gap, max_rounds, partitions, relaxation, check_every, chunk_rows, verify, progress,
                      sample_users)
    except Exception as error:  # Spark's own exception types differ across versions
        missing = _executor_missing_module(error)
        if missing is None:
            raise
        python = getattr(df.sparkSession.sparkContext, "pythonExec", None) or "python3 from the PATH"
        raise SolveError(
            f"allot.spark: the Spark executors cannot import {missing} (their Python: {python}). Give them a Python "
            "that has allot and its dependencies installed: set PYSPARK_PYTHON (or spark.pyspark.python) to it, or ship a packed "
            "environment (venv-pack or conda-pack, with --archives) as Spark's Python package management guide "
            "shows; `python -m allot.spark` uses its own interpreter unless PYSPARK_PYTHON is set") from None
    finally:
        for key in unset:
            conf.unset(key)


def _executor_missing_module(error):
    """The module an executor's Python could not import, when that is why a Spark job failed
    (Spark reports the worker's ModuleNotFoundError inside its own exception's text); else None."""
    import re

    if isinstance(error, (InputError, SolveError)):
        return None
    found = re.search(r"ModuleNotFoundError: No module named '([^']+)'", str(error))
    return f"'{found.group(1)}'" if found else None


def _solve(df, spec, method, gap, max_rounds, partitions, relaxation, check_every, chunk_rows, verify, progress, sample_users):
    if method != "dual":
        raise ValueError(f"allot.spark supports method 'dual' only, not '{method}'")
    started = time.time()
    say = progress or (lambda *_: None)
    spec_value, spec_name = _spec_dict(spec)
    columns = list(df.columns)
    for name in REQUIRED:
        if name not in columns:
            raise InputError(f"scores: missing column '{name}' (columns: {', '.join(columns)})", ERR_INPUT)
    plan = Plan(spec_value, spec_name, columns)
    from pyspark.sql import functions as F

    wanted = list(REQUIRED) + (["channel"] if plan.has_channel else []) + sorted({b["column"] for b in plan.budgets} - {"cost"})
    data = df.select(*wanted)
    for name in ("uplift", "cost", *sorted({b["column"] for b in plan.budgets} - {"cost"})):
        data = data.withColumn(name, F.col(name).cast("double"))
    n_parts = partitions or df.rdd.getNumPartitions()
    counts = {}
    layout = plan.layout()
    # With several constraints and a warm start, the descent does not start at zero.
    first = plan.first_round() if plan.k == 1 or (plan.k > 1 and sample_users <= 0) else None
    chunks = _layout.prepare(data, n_parts, layout, chunk_rows, first)
    rounds = _Rounds(chunks, layout, counts, say, first)

    # The shuffle, with the validation and the coupons and channels present.
    checks = rounds.checks()
    # each partition reports its first bad row in (user_id, coupon_id) order: the first of those is
    # the first in the whole input, whatever the partitioning
    problems = sorted((p for c in checks for p in c["problems"]), key=lambda p: (p[0], p[1], [(v is None, v) for v in p[2]]))
    if problems:
        chunks.unpersist()
        p = problems[0]
        who = f"user_id {p[2][0]!r}, coupon_id {p[2][1]!r}"
        if p[0] == "null":
            raise InputError(f"scores: null value in column '{p[1]}' ({who})", ERR_INPUT)
        if p[0] == "duplicate":
            raise InputError(f"scores: repeated (user_id, coupon_id) pair ({who})", ERR_INPUT)
        rule = "must be finite" if p[1] == "uplift" else "must be a finite number >= 0"
        raise InputError(f"scores: {p[1]} {rule}, got {p[3]} ({who})", ERR_INPUT)
    coupons = set().union(*[set(map(str, c["coupons"])) for c in checks]) if checks else set()
    channels = set().union(*[set(map(str, c["channels"])) for c in checks]) if checks else set()
    candidates = sum(c["rows"] for c in checks)
    plan.check(coupons, channels)
    k = plan.k
    limits = plan.limits
    say(f"{candidates} candidates, {k} relaxed constraints, {n_parts} partitions")

    notes = []
    m = np.zeros(k)
    best_bound, best_m, bounds, start, rounds_to_gap = math.inf, m.copy(), [], None, None
    predicted = None
    if k == 1:
        m, best_bound, predicted = _exact_single(rounds, limits[0], say)
        best_m = m.copy()
    elif k > 1:
        users = sum(c["users"] for c in checks)
        m0 = _warm_start(rounds, plan, spec_value, users, sample_users, say)
        best_bound, best_m, bounds, start, rounds_to_gap = _coordinate_descent(rounds, plan, gap, max_rounds, relaxation,
                                                                              check_every, say, m0)
        if rounds_to_gap is not None:
            notes.append(f"gap check: within {gap:g} after {rounds_to_gap} multiplier rounds")
    # Recovery at the best multipliers.
    finish = _Finish(rounds, chunks, data.schema, plan, best_m, verify)
    steps, state, finished = _recover(rounds, plan, best_m, say, start, predicted, finish)
    if finished is None:
        finished = finish(steps, None)
    # Every recovery round evaluates the Lagrangian at best_m first: its value is the bound's.
    if k == 1:
        best_bound = math.fsum([s["value"] for s in state["parts"]]) + float(best_m[0] * limits[0])
    elif k == 0:
        best_bound = math.fsum([s["value"] for s in state["parts"]])
    objective = state["uplift"]
    upper = max(best_bound, objective)
    rel_gap = max(0.0, upper - objective) / max(abs(upper), 1e-12)

    allocation, verification = allocation_of(finished.rows), finished.verification
    counts["verification"] = 1 if verify else 0
    prices = {f"{kind}:{name}": float(best_m[i]) for i, (kind, name) in enumerate(plan.names)}
    summary = {
        "method": "dual", "status": "optimal" if rel_gap <= 1e-12 else "feasible", "objective": objective,
        "budgets": [{"name": b["name"], "column": b["column"], "spend": verification["spend"][i] if verification else None,
                     "limit": b["limit"], "shadow_price": float(best_m[i])} for i, b in enumerate(plan.budgets)],
        "total_cost": verification["total_cost"] if verification else None,
        "users_reached": verification["users_reached"] if verification else None,
        "assignments": state["assignments"],
        "assignments_per_coupon": verification["per_coupon"] if verification else None,
        "upper_bound": upper, "relative_gap": rel_gap, "shadow_prices": prices or None,
        "iterations": counts.get("dual", 0), "notes": notes + [f"spark rounds: {json.dumps(counts, sort_keys=True)}"],
        "wall_seconds": time.time() - started,
        "feasible": verification["feasible"] if verification else None,
    }
    if plan.has_channel and verification:
        summary["assignments_per_channel"] = verification["per_channel"]
    if verification and not verification["feasible"]:
        summary["violations"] = verification["violations"]
        raise SolveError("allot.spark: the allocation failed verification: " + "; ".join(verification["violations"]))
    if summary["shadow_prices"] is None:
        del summary["shadow_prices"]
    chunks.unpersist()
    return Result(allocation=allocation, summary=summary, objective=objective, bound=upper, gap=rel_gap,
                  shadow_prices=prices, rounds=dict(counts), bounds=bounds, rounds_to_gap=rounds_to_gap)


def _exact_single(rounds, limit, say):
    """The exact critical multiplier of the one relaxed constraint: a histogram of every
    breakpoint by bucket, refined until the bucket holding the critical one is listed exactly.
    Returns it, the bound (inf: the recovery's first round gives it) and, when the last round
    listed the breakpoints, the consumption at it, S(λ) = at_hi + Σ {drops: λ < point <= hi}
    (allot_spark.h), so that the recovery needs no round to learn it (else None)."""
    m = np.zeros(1)
    lo, hi, shift = 0.0, math.inf, COARSE_SHIFT
    while True:
        parts = rounds.run("dual", {"m": m.tolist(), "steps": [(0, lo, hi, shift)]})
        at_hi = math.fsum([p["steps"][0]["at_hi"] for p in parts])
        room = max(0.0, limit - at_hi)
        if shift is None:
            points = np.concatenate([p["steps"][0]["points"] for p in parts])
            drops = np.concatenate([p["steps"][0]["drops"] for p in parts])
            λ = _exact_critical(points, drops, room, lo)
            return np.array([λ]), math.inf, math.fsum([at_hi, math.fsum(drops[points > λ])])
        keys, sums = _merge_buckets([p["steps"][0] for p in parts], "buckets", ["drops", "counts"])
        b, _ = _critical_bucket(keys, sums["drops"], room)
        if b is None:
            λ = lo  # everything above lo fits: lo is the answer (0 on the first round)
            break
        count = float(sums["counts"][np.flatnonzero(keys == b)[0]])
        lo, hi = bucket_bounds(b, shift)
        say(f"critical multiplier in ({lo:.17g}, {hi:.17g}], {int(count)} breakpoints")
        shift = None if count <= EXACT_LIMIT or shift == FINE_SHIFT else FINE_SHIFT
    return np.array([λ]), math.inf, None


def _warm_start(rounds, plan, spec, users, sample_users, say):
    """Multipliers to start the coordinate descent from: the single-machine dual's on a sample of
    about `sample_users` users (those whose id hashes below a threshold set by the users'
    count: the same users whatever the partitioning), every limit scaled by the sample's share
    of the users, as the single-machine dual warm-starts from a sample. One Spark job; None
    (start from zero) when sample_users is 0 or the scores have at most twice as many users."""
    if sample_users <= 0 or users <= 2 * sample_users:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    from .._solve import solve as solve_here

    started = time.time()
    below = min(2**64 - 1, int(2**64 * sample_users / users))
    tables = [t for t in rounds.run("sample", {"below": below}) if t.num_rows]
    if not tables:
        return None
    table = pa.concat_tables(tables).sort_by([("user_id", "ascending"), ("coupon_id", "ascending")])
    share = pc.count_distinct(table["user_id"]).as_py() / users
    coupons = set(pc.unique(table["coupon_id"]).to_pylist())
    channels = set(pc.unique(table["channel"]).to_pylist()) if "channel" in table.column_names else set()
    scaled = {key: value for key, value in spec.items() if key not in ("budgets", "coupon_caps", "channel_caps")}
    scaled["budgets"] = [dict(b, limit=b["limit"] * share) for b in plan.budgets]
    # A cap of 0 closes its coupon; any other is scaled and kept at least 1. Caps of coupons or
    # channels the sample lacks are left out (the spec would name what the scores do not hold).
    scaled["coupon_caps"] = {c: (0 if v == 0 else max(1, round(v * share))) for c, v in plan.coupon_caps.items() if c in coupons}
    scaled["channel_caps"] = {h: v for h, v in plan.channel_caps.items() if h in channels}
    sample = solve_here(table, scaled)
    m0 = np.array([float(sample.shadow_prices.get(f"{kind}:{name}", 0.0)) for kind, name in plan.names])
    say(f"warm start: {table.num_rows} candidates of {share * users:.0f} users ({share:.3%}), solved on the driver; "
        f"{time.time() - started:.1f} s")
    return m0


def _coordinate_descent(rounds, plan, target_gap, max_rounds, relaxation, check_every, say, m0=None):
    """Synchronous coordinate descent (Zhang et al.): each round gives, for every constraint, the
    histogram of its breakpoints with the others fixed; every multiplier moves `relaxation` of the
    way to its minimiser (interpolated inside the critical bucket). Keeps the best bound.

    Every `check_every` rounds, as the single-machine dual does every few sweeps, the gap is
    checked at the best multipliers: their choices (known from the round that gave them) repaired
    into a feasible allocation (no round when they break nothing, else two per repair step); the
    search stops once (best bound - that allocation's uplift) / best bound <= target_gap. The
    final recovery starts from that repair. Returns the best bound, its multipliers, the bound of
    every round, the repair at the best multipliers (or None) and the rounds it took to the gap.
    m0: where to start (None: at zero)."""
    k = plan.k
    limits = plan.limits
    m = np.zeros(k) if m0 is None else np.maximum(0.0, np.asarray(m0, dtype=np.float64))
    best = (math.inf, m.copy(), None)
    bounds = []
    repaired, checked, rounds_to_gap = None, None, None
    for r in range(max_rounds):
        parts = rounds.run("dual", {"m": m.tolist(), "steps": [(i, 0.0, math.inf, COARSE_SHIFT) for i in range(k)]})
        bound = math.fsum([p["value"] for p in parts]) + float(np.dot(m, limits))
        if bound < best[0]:
            choices = {"uplift": math.fsum([p["uplift"] for p in parts]),
                       "consumption": np.array([math.fsum([p["consumption"][i] for p in parts]) for i in range(k)])}
            best = (bound, m.copy(), choices)
        bounds.append(bound)
        target = np.zeros(k)
        for i in range(k):
            at_hi = math.fsum([p["steps"][i]["at_hi"] for p in parts])
            keys, sums = _merge_buckets([p["steps"][i] for p in parts], "buckets", ["drops"])
            room = limits[i] - at_hi
            b, above = _critical_bucket(keys, sums["drops"], room)
            if b is None:
                target[i] = 0.0
                continue
            lo, hi = bucket_bounds(b, COARSE_SHIFT)
            drop = sums["drops"][np.flatnonzero(keys == b)[0]]
            fraction = min(1.0, max(0.0, (room - above) / drop)) if drop > 0 else 1.0
            target[i] = hi - fraction * (hi - lo)
        m = np.maximum(0.0, m + relaxation * (target - m))
        say(f"round {r + 1}: bound {bound:.10g}")
        converged = r >= 2 and abs(bound - best[0]) <= 1e-9 * abs(best[0]) and np.allclose(target, m, rtol=1e-6)
        if ((r + 1) % check_every == 0 or converged) and checked is not best[1]:
            checked = best[1]
            steps, state = _repair(rounds, plan, best[1], say, known=best[2])
            repaired = (best[1], steps, state)
            estimate = max(0.0, best[0] - state["uplift"]) / max(abs(best[0]), 1e-12)
            say(f"gap check after round {r + 1}: feasible uplift {state['uplift']:.10g}, gap at most {estimate:.3g}")
            if estimate <= target_gap:
                rounds_to_gap = r + 1
                break
        if converged:
            break
    start = repaired[1:] if repaired is not None and repaired[0] is best[1] else None
    return best[0], best[1], bounds, start, rounds_to_gap


class _Finish:
    """The allocation at the recovery's steps and its verification, in one Spark job, which also
    answers a recovery query (so that it stands for the recovery round after a fill step)."""

    def __init__(self, rounds, chunks, schema, plan, m, verify):
        self.rounds, self.chunks, self.schema, self.plan, self.m, self.verify = rounds, chunks, schema, plan, m, verify

    def __call__(self, steps, query):
        rounds = self.rounds
        started = time.time()
        self.rows = _allocation(self.chunks, self.schema, rounds.layout, {"m": self.m.tolist(), "steps": list(steps)}, query)
        checked = _verify(self.rows, self.plan, check=self.verify)
        self.verification = checked if self.verify else None
        self.parts = checked["answers"]
        self.state = _state_of(self.parts, self.plan.k)
        if query is not None:
            rounds.counts["recover"] = rounds.counts.get("recover", 0) + 1
            rounds.counts["recover_in_verification"] = rounds.counts.get("recover_in_verification", 0) + 1
        rounds.say(f"allocation and verification{' (and a recovery round)' if query is not None else ''}: {time.time() - started:.1f} s")
        return self

    def drop(self):
        """Forgets an allocation that a later step replaces."""
        self.rows.unpersist()


def _recovery_run(rounds, k, m, steps, query=None):
    """One recovery round: every chunk replays `steps` at m and answers `query`."""
    parts = rounds.run("recover", {"recovery": {"m": m.tolist(), "steps": steps}, "query": query})
    return parts, _state_of(parts, k)


def _state_of(parts, k):
    """The state the chunks' answers reach together: their states, uplift, assignments and the
    consumption of each of the k relaxed constraints (exactly rounded sums)."""
    states = [p["state"] for p in parts]
    return {"parts": states, "uplift": math.fsum([s["uplift"] for s in states]),
            "assignments": sum(s["assignments"] for s in states),
            "consumption": np.array([math.fsum([s["consumption"][i] for s in states]) for i in range(k)])}


def _repair(rounds, plan, m, say, known=None):
    """The choices at m, then, while a relaxed constraint is broken, drop the chosen candidates of
    least uplift per unit of relative excess (by bucket). `known`: the uplift and consumption of
    the choices at m when a dual round gave them (saves a round; no round at all when they
    break nothing). Returns the steps and the state reached (a feasible allocation's uplift
    and consumption)."""
    k = plan.k
    limits = plan.limits
    steps = []
    state = known
    if state is None:
        _, state = _recovery_run(rounds, k, m, steps)
    for _ in range(4):
        excess = np.maximum(0.0, state["consumption"] - limits)
        if not (excess > 0).any():
            break
        parts, state = _recovery_run(rounds, k, m, steps, ("repair", excess.tolist()))
        keys, sums = _merge_buckets([p["repair"] for p in parts], "buckets", ["relief"])
        relief = sums["relief"]
        cumulative = np.zeros(k)
        through = None
        for b in np.argsort(keys):
            cumulative += relief[b]
            through = int(keys[b])
            if all(cumulative[i] >= excess[i] for i in range(k) if excess[i] > 0):
                break
        steps.append(("repair", excess.tolist(), through))
        say(f"repair: drop through bucket {through}")
        _, state = _recovery_run(rounds, k, m, steps)
    return steps, state


def _recover(rounds, plan, m, say, start=None, predicted=None, finish=None):
    """Primal recovery, every step decided on the driver from aggregates: the repair (see
    _repair; `start` is (steps, state) of one done already), then fill steps of
    greedy-marginal's moves.

    Each round replays the steps decided so far and returns the state it reaches, so a fill step
    costs one round (two when the bucket at the limit is read exactly): the moves of a round are
    pre-filtered with the room known when it was sent (never smaller than the room it meets), and
    the driver keeps only what fits the room the same round reports.

    `predicted`: the consumption at m when the driver knows it already (one constraint: from the
    breakpoints of the multiplier search); the first round of moves then also gives the choices'
    state (one round fewer), and is sent again if the state differs from the prediction.

    `finish(steps, query)`: the allocation job at `steps` (see _Finish), which also answers
    `query`: the round after a fill step is that job's, in case the step is the last (with one
    constraint it usually is). When it is not, its allocation is dropped and the later steps'
    rounds are plain ones (3 budgets + 2 caps took 8 fill steps). Returns the steps, the state they
    reach and the last `finish` result when it is at those steps (else None)."""
    k = plan.k
    limits = plan.limits
    if start is not None:
        steps, state = list(start[0]), start[1]
    elif predicted is not None and predicted <= limits[0]:
        steps, state = [], {"consumption": np.array([predicted])}
    else:
        steps, state = _repair(rounds, plan, m, say)

    def run(query=None):
        return _recovery_run(rounds, k, m, steps, query)

    # A user's move is its best among those that fit the room (greedy-marginal's rule), so each
    # round is sent the room it will meet: the driver knows it from what it accepted.
    sent_room = limits - state["consumption"]
    parts, state = run(("moves", sent_room.tolist()))
    if predicted is not None and not steps and not np.allclose(state["consumption"], predicted, rtol=1e-12, atol=0.0):
        say(f"consumption at the multiplier {state['consumption'][0]!r}, predicted {predicted!r}: moves sent again")
        sent_room = limits - state["consumption"]
        parts, state = run(("moves", sent_room.tolist()))
    finished = None
    for _ in range(8):
        room = limits - state["consumption"]
        keys, sums = _merge_buckets([p["moves"] for p in parts], "keys", ["counts", "deltas", "gains"])
        if len(keys) == 0:
            break
        order = sorted(range(len(keys)), key=lambda g: (int(keys[g][0]), int(keys[g][1])), reverse=True)
        cumulative = np.zeros(k)
        threshold, at = (-1, 0), None
        for g in order:
            after = cumulative + sums["deltas"][g]
            if (after <= room).all():
                cumulative = after
                continue
            threshold, at = (int(keys[g][0]), int(keys[g][1])), g
            break
        explicit = set()
        accepted = cumulative.copy()
        if at is not None and sums["counts"][at] <= EXACT_LIMIT:
            exact_parts, _ = run(("exact_moves", sent_room.tolist(), threshold))
            moves = [mv for p in exact_parts for mv in p["exact"]]
            # greedy-marginal's order: tier, key, gain descending; then the ids
            moves.sort(key=lambda mv: (-mv[0], -mv[1], -mv[2], str(mv[3])))
            left = room - cumulative
            for tier, key, gain, ident, delta in moves:
                delta = np.asarray(delta)
                if (delta <= left).all():
                    left = left - delta
                    accepted = accepted + delta
                    explicit.add(ident)
        taken_above = at is None or at != order[0]
        if not taken_above and not explicit:
            break
        steps.append(("fill", sent_room.tolist(), threshold, explicit))
        sent_room = room - accepted
        if finished is not None:
            finished.drop()
            finished, finish = None, None
        if finish is None:
            parts, state = run(("moves", sent_room.tolist()))
        else:
            finished = finish(steps, ("moves", sent_room.tolist()))
            parts, state = finished.parts, finished.state
        say(f"fill: objective {state['uplift']:.10g}")
    return steps, state, finished


def _allocation(chunks, schema, layout, recovery, query=None):
    """The allocation (cached, computed by the first job that reads it): the chosen rows of the
    scores with an `answer` column, null on them, and one more row per chunk, null but for its
    `answer`: the chunk's answer to `query` (_tasks.finish), pickled. `allocation_of` keeps the
    chosen rows."""
    from pyspark.sql.types import BinaryType, StructField, StructType

    from . import _kernel, _layout, _tasks

    columns = list(schema.names)
    shared = chunks.sparkSession.sparkContext.broadcast({"recovery": recovery, "query": query})

    def per_partition(batches):
        import pyarrow as pa

        for chunk in _layout.chunks_of(batches):
            part = _kernel.Partition(chunk, layout)
            try:
                rows, out = _tasks.finish(part, shared.value)
            finally:
                part.close()
            rows = rows.select(columns)
            rows = rows.append_column("answer", pa.nulls(rows.num_rows, pa.binary()))
            yield from rows.to_batches()
            yield pa.RecordBatch.from_arrays([pa.nulls(1, f.type) for f in rows.schema][:-1] + [pa.array([pickle.dumps(out)], pa.binary())],
                                             schema=rows.schema)

    fields = [StructField(f.name, f.dataType, True) for f in schema.fields] + [StructField("answer", BinaryType(), True)]
    return chunks.select("chunk").mapInArrow(per_partition, StructType(fields)).cache()


def allocation_of(rows):
    """The chosen rows of an `_allocation`, without its answers."""
    from pyspark.sql import functions as F

    return rows.filter(F.col("answer").isNull()).drop("answer")


def _verify(allocation, plan, check=True):
    """Every constraint checked again, from the allocation's rows alone, in one Spark job: each
    partition sums its spend, uplift and cost, counts per coupon and channel, and finds its users'
    largest count overall and per capped channel and any repeated pair (the allocation keeps the
    scores' partitioning by user, so a user's rows are in one partition); the driver adds up.
    `allocation`: an `_allocation`, whose chunks' answers come back in "answers" (in the same
    job). check=False: the answers only."""
    columns = sorted({b["column"] for b in plan.budgets} | {"cost"})
    capped = sorted(plan.channel_caps)
    has_channel = plan.has_channel

    def per_partition(batches):
        import pyarrow as pa
        import pyarrow.compute as pc

        batches = list(batches)
        if not batches:
            return
        t = pa.Table.from_batches(batches)
        answered = pc.is_valid(t["answer"])
        answers = [pickle.loads(v.as_py()) for v in t.filter(answered)["answer"]]
        t = t.filter(pc.invert(answered)).drop_columns(["answer"])
        if not check:
            yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps({"answers": answers})], pa.binary())], ["out"])
            return
        out = {"answers": answers, "sums": {c: math.fsum(t.column(c).to_numpy()) for c in columns + ["uplift"]},
               "coupons": {}, "channels": {}, "users": 0, "most": 0, "repeats": 0, "channel_most": {}}
        if t.num_rows:
            for r in t.group_by("coupon_id").aggregate([("coupon_id", "count")]).to_pylist():
                out["coupons"][str(r["coupon_id"])] = r["coupon_id_count"]
            per_user = t.group_by("user_id").aggregate([("coupon_id", "count"), ("coupon_id", "count_distinct")])
            out["users"] = per_user.num_rows
            out["most"] = pc.max(per_user["coupon_id_count"]).as_py()
            out["repeats"] = pc.sum(pc.subtract(per_user["coupon_id_count"], per_user["coupon_id_count_distinct"])).as_py()
            if has_channel:
                for r in t.filter(pc.is_valid(t["channel"])).group_by("channel").aggregate([("channel", "count")]).to_pylist():
                    out["channels"][str(r["channel"])] = r["channel_count"]
                for h in capped:
                    rows = t.filter(pc.equal(t["channel"], h))
                    if rows.num_rows:
                        out["channel_most"][h] = pc.max(rows.group_by("user_id").aggregate([("user_id", "count")])["user_id_count"]).as_py()
        yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(out)], pa.binary())], ["out"])

    parts = [pickle.loads(r.out) for r in allocation.mapInArrow(per_partition, "out binary").collect()]
    answers = [a for p in parts for a in p["answers"]]
    if not check:
        return {"answers": answers}
    sums = {c: math.fsum([p["sums"][c] for p in parts]) for c in columns + ["uplift"]}
    violations = []
    spend = []
    for b in plan.budgets:
        s = sums[b["column"]]
        spend.append(s)
        if s > b["limit"] + TOLERANCE * max(1.0, abs(b["limit"])):
            violations.append(f"budget '{b['name']}' spends {s} > {b['limit']}")
    uplift, cost = sums["uplift"], sums["cost"]
    if plan.min_roi is not None and uplift < plan.min_roi * cost - TOLERANCE * max(1.0, abs(plan.min_roi * cost)):
        violations.append(f"min_roi: uplift {uplift} < {plan.min_roi} x cost {cost}")
    most = max([p["most"] or 0 for p in parts], default=0)
    if most > plan.max_per_user:
        violations.append(f"a user receives {most} > max_per_user {plan.max_per_user}")
    if sum(p["repeats"] or 0 for p in parts):
        violations.append("a (user, coupon) pair is assigned twice")
    per_coupon, per_channel = {}, {}
    for p in parts:
        for c, n in p["coupons"].items():
            per_coupon[c] = per_coupon.get(c, 0) + n
        for h, n in p["channels"].items():
            per_channel[h] = per_channel.get(h, 0) + n
        for h, n in p["channel_most"].items():
            if n > plan.channel_caps[h]:
                violations.append(f"a user receives {n} > {plan.channel_caps[h]} of channel '{h}'")
    for c, cap in plan.coupon_caps.items():
        if per_coupon.get(c, 0) > cap:
            violations.append(f"coupon '{c}' goes to {per_coupon[c]} > {cap} users")
    return {"feasible": not violations, "violations": violations, "spend": spend, "total_cost": cost,
            "users_reached": sum(p["users"] for p in parts), "per_coupon": dict(sorted(per_coupon.items())),
            "per_channel": dict(sorted(per_channel.items())) if has_channel else None, "uplift": uplift, "answers": answers}

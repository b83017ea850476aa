"""What one chunk of a partition computes in one round (runs on the executors), and the check
of a chunk's rows when the chunks are made.

Every round replays, from the cached scores, what the driver decided so far (multipliers, repair
and fill thresholds): a chunk keeps no state between rounds, so a lost executor costs a
recomputation, never a wrong answer.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._kernel import COARSE_SHIFT, Partition, bucket


def check_partition(table: pa.Table, plan: dict) -> dict:
    """Validation: nulls, non-finite or negative numbers, repeated (user, coupon) pairs; and the
    coupons and channels present."""
    problems = []
    n = table.num_rows
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            row = int(pc.index(pc.is_null(column), True).as_py())
            problems.append(("null", name, _who(table, row)))
    if not problems:
        for name in plan["numbers"]:
            values = np.asarray(table.column(name).to_numpy(), dtype=np.float64)
            bad = ~np.isfinite(values) if name == "uplift" else ~(np.isfinite(values) & (values >= 0))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                problems.append(("value", name, _who(table, row), float(values[row])))
        if n > 1:
            users, coupons = table.column("user_id"), table.column("coupon_id")
            same = pc.and_(pc.equal(users.slice(1), users.slice(0, n - 1)), pc.equal(coupons.slice(1), coupons.slice(0, n - 1)))
            same = same.to_numpy(zero_copy_only=False)
            if same.any():
                problems.append(("duplicate", "", _who(table, int(np.flatnonzero(same)[0]) + 1)))
    coupons = pc.unique(table.column("coupon_id")).to_pylist() if n else []
    channels = pc.unique(table.column("channel")).drop_null().to_pylist() if "channel" in table.column_names and n else []
    return {"rows": n, "problems": problems, "coupons": coupons, "channels": channels}


def _who(table, row):
    return (table.column("user_id")[row].as_py(), table.column("coupon_id")[row].as_py())


def dual_round(part: Partition, task: dict) -> dict:
    """D's per-user part, consumption, and per requested constraint the steps of S_i in (lo, hi]:
    as a histogram of buckets of the breakpoints (bit pattern >> shift), or exactly."""
    m = np.asarray(task["m"], dtype=np.float64)
    value, consumption, chosen = part.evaluate(m)
    out = {"value": value, "consumption": consumption.tolist(), "uplift": float(part.uplift[chosen != 0].sum()), "steps": []}
    for i, lo, hi, shift in task["steps"]:
        points, drops, at_hi = part.steps(m, i, lo, hi)
        if shift is None:
            out["steps"].append({"at_hi": at_hi, "points": points.copy(), "drops": drops.copy()})
        else:
            keys, inverse, counts = np.unique(bucket(points, shift), return_inverse=True, return_counts=True)
            sums = np.bincount(inverse, weights=drops, minlength=len(keys))
            out["steps"].append({"at_hi": at_hi, "buckets": keys, "counts": counts, "drops": sums})
    return out


class Replay:
    """The driver's recovery decisions so far, applied to one partition."""

    def __init__(self, part: Partition, recovery: dict):
        self.part = part
        self.m = np.asarray(recovery["m"], dtype=np.float64)
        self.value, _, chosen = part.evaluate(self.m)
        self.chosen = chosen.copy()
        self.weight = part.weights()
        self.coefficients = [part.coefficients(i) for i in range(part.k)]
        for step in recovery["steps"]:
            if step[0] == "repair":
                self.repair(step[1], step[2])
            else:
                self.fill(step[1], step[2], step[3])

    def repair_keys(self, excess):
        """For each chosen row: uplift lost per unit of relative excess removed (inf: removes none)."""
        rows = np.flatnonzero(self.chosen)
        relief = np.zeros(len(rows))
        for i, e in enumerate(excess):
            if e > 0:
                relief += self.coefficients[i][rows] / e
        with np.errstate(divide="ignore", invalid="ignore"):
            key = np.where(relief > 0, self.part.uplift[rows] / relief, np.inf)
        return rows, key

    def repair(self, excess, through):
        rows, key = self.repair_keys(excess)
        drop = np.isfinite(key) & (bucket(np.where(np.isfinite(key), key, 1.0), COARSE_SHIFT) <= through)
        self.chosen[rows[drop]] = 0

    def moves(self, room):
        add, remove, tier, key, gain = self.part.best_moves(self.chosen, self.weight, room)
        users = np.flatnonzero(add >= 0)
        return users, add[users], remove[users], tier[users], key[users], gain[users]

    def fill(self, room, threshold, explicit):
        users, add, remove, tier, key, gain = self.moves(room)
        t_tier, t_bucket = threshold
        b = bucket(key, COARSE_SHIFT)
        take = (tier > t_tier) | ((tier == t_tier) & (b > t_bucket))
        if explicit:
            at = np.flatnonzero((tier == t_tier) & (b == t_bucket))
            for a in at:
                if self.move_id(add[a], remove[a]) in explicit:
                    take[a] = True
        r = remove[take]
        self.chosen[r[r >= 0]] = 0
        self.chosen[add[take]] = 1

    def move_id(self, add, remove):
        t = self.part.ids()
        return (t.column("user_id")[int(add)].as_py(), t.column("coupon_id")[int(add)].as_py(),
                None if remove < 0 else t.column("coupon_id")[int(remove)].as_py())

    def state(self):
        rows = np.flatnonzero(self.chosen)
        return {"value": self.value,
                "consumption": [float(c[rows].sum()) for c in self.coefficients],
                "uplift": float(self.part.uplift[rows].sum()), "assignments": len(rows)}

    def deltas(self, add, remove):
        """Per constraint, the extra consumption of each move."""
        out = np.zeros((len(add), len(self.coefficients)))
        for i, c in enumerate(self.coefficients):
            out[:, i] = c[add] - np.where(remove >= 0, c[np.maximum(remove, 0)], 0.0)
        return out


def recovery_round(part: Partition, task: dict) -> dict:
    replay = Replay(part, task["recovery"])
    out = {"state": replay.state()}
    query = task.get("query")
    if query is None:
        return out
    if query[0] == "repair":
        excess = query[1]
        rows, key = replay.repair_keys(excess)
        finite = np.isfinite(key)
        keys, inverse = np.unique(bucket(key[finite], COARSE_SHIFT), return_inverse=True)
        relief = np.zeros((len(keys), part.k))
        for i, c in enumerate(replay.coefficients):
            relief[:, i] = np.bincount(inverse, weights=c[rows[finite]], minlength=len(keys))
        out["repair"] = {"buckets": keys, "relief": relief}
    elif query[0] == "moves":
        room = np.asarray(query[1], dtype=np.float64)
        users, add, remove, tier, key, gain = replay.moves(room)
        d = replay.deltas(add, remove)
        # (tier, bucket) as one integer (keys are positive, so a bucket is below 2^20): a 1-D unique
        pair = (tier.astype(np.int64) << 32) | bucket(key, COARSE_SHIFT)
        unique, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
        keys = np.stack([unique >> 32, unique & 0xFFFFFFFF], axis=1)
        sums = np.zeros((len(keys), part.k))
        for i in range(part.k):
            sums[:, i] = np.bincount(inverse, weights=d[:, i], minlength=len(keys))
        gains = np.bincount(inverse, weights=gain, minlength=len(keys))
        out["moves"] = {"keys": keys, "counts": counts, "deltas": sums, "gains": gains}
    elif query[0] == "exact_moves":
        room, (t_tier, t_bucket) = np.asarray(query[1], dtype=np.float64), query[2]
        users, add, remove, tier, key, gain = replay.moves(room)
        at = np.flatnonzero((tier == t_tier) & (bucket(key, COARSE_SHIFT) == t_bucket))
        d = replay.deltas(add[at], remove[at])
        out["exact"] = [(int(tier[a]), float(key[a]), float(gain[a]), replay.move_id(add[a], remove[a]), d[n].tolist())
                        for n, a in enumerate(at)]
    return out


def allocation_rows(part: Partition, task: dict) -> pa.Table:
    """The chosen rows: the ids and every number column."""
    replay = Replay(part, task["recovery"])
    rows = pa.array(np.flatnonzero(replay.chosen), pa.int64())
    table = part.ids().take(rows)
    for name, values in part.chunk["numbers"].items():
        table = table.append_column(name, pa.array(values).take(rows))
    return table

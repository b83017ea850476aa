"""What one chunk of a partition computes in one round (runs on the executors).

Every round replays, from the cached scores, what the driver decided so far (multipliers, repair
and fill thresholds): a chunk keeps no state between rounds, so a lost executor costs a
recomputation, never a wrong answer.
"""
import numpy as np

from ._kernel import COARSE_SHIFT, Partition, bucket
from ._layout import rows_table


#: Keys spanning at most this many values are counted with bincount (no sort).
DENSE_SPAN = 1 << 20


def histogram(keys, weights):
    """The distinct keys (ascending), how many times each occurs and the sum of its weights (in
    row order): np.unique's answer, without its sort when the keys span a short range."""
    if len(keys) and int(keys.max()) - int(keys.min()) < DENSE_SPAN:
        low = keys.min()
        counts = np.bincount(keys - low)
        present = np.flatnonzero(counts)
        return present + low, counts[present], np.bincount(keys - low, weights=weights)[present]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return unique, counts, np.bincount(inverse, weights=weights, minlength=len(unique))


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
            keys, counts, sums = histogram(bucket(points, shift), drops)
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
        return self.part.names(add) + (None if remove < 0 else self.part.names(remove)[1],)

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
    """The state the recovery's steps reach on this chunk, and its answer to task["query"]."""
    return answer(Replay(part, task["recovery"]), task.get("query"))


def answer(replay: Replay, query) -> dict:
    """The replayed state, and what `query` asks of it: ("repair", excess): the relief per
    repair bucket; ("moves", room): the fill moves per (tier, bucket); ("exact_moves", room,
    threshold): the moves of one bucket, listed."""
    part = replay.part
    out = {"state": replay.state()}
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


def finish(part: Partition, task: dict):
    """The chosen rows after the recovery's steps (the ids and every number column), and the
    chunk's answer to task["query"] (see `answer`), from one replay."""
    replay = Replay(part, task["recovery"])
    return rows_table(part.chunk, np.flatnonzero(replay.chosen)), answer(replay, task.get("query"))

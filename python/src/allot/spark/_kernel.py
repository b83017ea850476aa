"""The executor side of allot.spark: one chunk of a partition (see _layout) to the Swift kernel
(Sources/AllotC/include/allot_spark.h) and back to small aggregates.

A chunk holds whole users (the DataFrame is repartitioned by user_id) sorted by
(user_id, coupon_id), so a user's rows are contiguous and every order inside a chunk is the
order of those two ids, whatever the partitioning. Numbers reach Swift as the chunk's float64
arrays, without a copy.
"""
import ctypes
import math
from ctypes import c_double, c_int32, c_int64, c_size_t, c_void_p

import numpy as np
from .. import _native

# Buckets of positive doubles by their bit pattern (monotone in the value): shift 44 keeps the
# exponent and 8 bits of mantissa (buckets 1/256 of a binade wide); 20 keeps 32 bits.
COARSE_SHIFT = 44
FINE_SHIFT = 20

_FUNCTIONS = {
    "allot_spark_table_new": (c_size_t, [c_int64, c_int64, c_void_p, c_void_p, c_void_p, c_int32, c_void_p, c_int32,
                                         c_void_p, c_void_p, c_int32, c_void_p, c_int64, c_int32, c_double, c_void_p]),
    "allot_spark_table_free": (None, [c_size_t]),
    "allot_spark_constraint_count": (c_int32, [c_size_t]),
    "allot_spark_evaluate": (c_int32, [c_size_t, c_void_p, c_void_p, c_void_p, c_void_p]),
    "allot_spark_steps": (c_int64, [c_size_t, c_void_p, c_int32, c_double, c_double, c_void_p, c_void_p, c_int64, c_void_p]),
    "allot_spark_best_moves": (c_int32, [c_size_t, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
}
_bound = False


def lib():
    global _bound
    loaded = _native.lib()
    if not _bound:
        for name, (restype, argtypes) in _FUNCTIONS.items():
            function = getattr(loaded, name)
            function.restype = restype
            function.argtypes = argtypes
        _bound = True
    return loaded


def _ptr(a):
    return a.ctypes.data if a is not None and len(a) else None


def bucket(values, shift):
    """Bucket of each positive double (int64)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64) >> shift


def bucket_bounds(b, shift):
    """(lo, hi] holding exactly the doubles of bucket b: lo is the largest double below it."""
    first = np.array([b << shift], dtype=np.int64).view(np.float64)[0]
    last = np.array([((b + 1) << shift) - 1], dtype=np.int64).view(np.float64)[0]
    return float(np.nextafter(first, -math.inf)) if first > 0 else 0.0, float(last)


class Partition:
    """One chunk of a partition (whole users; see _layout.pack), laid out for the kernel.
    `plan` is the driver's description of the constraints (see _driver.Plan.layout)."""

    def __init__(self, chunk: dict, plan: dict):
        self.plan = plan
        self.chunk = chunk
        n = chunk["rows"]
        self.rows = n
        self.user_start = chunk["user_start"]
        self.users = len(self.user_start) - 1
        numbers = chunk["numbers"]
        self.uplift = numbers["uplift"]
        self.cost = numbers["cost"]
        self.budgets = [numbers[b["column"]] for b in plan["budgets"]]
        caps = plan["caps"]
        # per code of the chunk's coupons: its cap index (-1: uncapped), and whether it is closed
        cap_of = {c: i for i, (c, _) in enumerate(caps)}
        coupon_cap = np.array([cap_of.get(c, -1) for c in chunk["coupons"]] + [-1], dtype=np.int32)
        self.cap = coupon_cap[chunk["coupon"]]
        eligible = self.uplift > 0
        zero = set(plan["zero_coupons"])
        if zero:
            closed = np.array([c in zero for c in chunk["coupons"]] + [False])
            eligible &= ~closed[chunk["coupon"]]
        for values, b in zip(self.budgets, plan["budgets"]):
            eligible &= values <= b["limit"]
        self.channel = None
        self.channel_caps = None
        if plan["channels"] is not None:
            names = plan["channels"]
            index = {h: i for i, h in enumerate(names)}
            code = np.array([index.get(h, -1) for h in chunk["channels"]] + [-1], dtype=np.int32)
            self.channel = code[chunk["channel"]]
            self.channel_caps = np.array([plan["channel_caps"].get(h, np.iinfo(np.int64).max) for h in names], dtype=np.int64)
            closed = [h for h, cap in enumerate(self.channel_caps) if cap == 0]
            if closed:
                eligible &= ~np.isin(self.channel, closed)
        self.eligible = eligible.astype(np.uint8)
        self.k = len(plan["budgets"]) + len(caps) + (1 if plan["min_roi"] is not None else 0)
        self._budget_pointers = (ctypes.c_void_p * max(1, len(self.budgets)))(*[b.ctypes.data for b in self.budgets])
        library = lib()
        self.handle = library.allot_spark_table_new(
            n, self.users, self.user_start.ctypes.data, _ptr(self.uplift) or _dummy.ctypes.data, _ptr(self.cost) or _dummy.ctypes.data,
            len(self.budgets), self._budget_pointers, len(caps), _ptr(self.cap) or _dummy_i.ctypes.data,
            _ptr(self.channel) if self.channel is not None else None, len(plan["channels"] or []),
            _ptr(self.channel_caps) if self.channel is not None and len(self.channel_caps) else (_dummy_l.ctypes.data if self.channel is not None else None),
            plan["max_per_user"], plan["min_roi"] is not None, plan["min_roi"] or 0.0, _ptr(self.eligible) or _dummy_u.ctypes.data)
        if not self.handle:
            _native.raise_last_error()
        self._names = None

    def names(self, row):
        """(user_id, coupon_id) of one row, as Python values."""
        if self._names is None:
            self._names = (self.chunk["users"].to_pylist(), self.chunk["coupon_values"].to_pylist())
        users, coupons = self._names
        return users[int(np.searchsorted(self.user_start, row, side="right")) - 1], coupons[int(self.chunk["coupon"][row])]

    def close(self):
        if self.handle:
            lib().allot_spark_table_free(self.handle)
            self.handle = 0

    def coefficients(self, i):
        """a_ij of constraint i, per row."""
        nb, nc = len(self.budgets), len(self.plan["caps"])
        if i < nb:
            return self.budgets[i]
        if i < nb + nc:
            return (self.cap == i - nb).astype(np.float64)
        return self.plan["min_roi"] * self.cost - self.uplift

    def evaluate(self, m):
        m = np.ascontiguousarray(m, dtype=np.float64)
        value = np.zeros(1)
        consumption = np.zeros(max(1, self.k))
        chosen = np.zeros(max(1, self.rows), dtype=np.uint8)
        _native.check(lib().allot_spark_evaluate(self.handle, m.ctypes.data, value.ctypes.data, consumption.ctypes.data, chosen.ctypes.data))
        return float(value[0]), consumption[: self.k], chosen[: self.rows]

    def steps(self, m, i, lo, hi):
        m = np.ascontiguousarray(m, dtype=np.float64)
        capacity = max(16, self.rows)
        while True:
            points = np.empty(capacity)
            drops = np.empty(capacity)
            at_hi = np.zeros(1)
            n = lib().allot_spark_steps(self.handle, m.ctypes.data, i, lo, hi, points.ctypes.data, drops.ctypes.data, capacity, at_hi.ctypes.data)
            if n < 0:
                _native.raise_last_error()
            if n <= capacity:
                return points[:n], drops[:n], float(at_hi[0])
            capacity = n

    def weights(self):
        """greedy-marginal's normalised weight: Σ_b a_bj / L_b over budgets with L_b > 0."""
        w = np.zeros(self.rows)
        for values, b in zip(self.budgets, self.plan["budgets"]):
            if b["limit"] > 0:
                w += values * (1.0 / b["limit"])
        return w

    def best_moves(self, chosen, weight, room):
        room = np.ascontiguousarray(room, dtype=np.float64)
        u = max(1, self.users)
        add = np.empty(u, np.int64)
        remove = np.empty(u, np.int64)
        tier = np.zeros(u, np.int8)
        key = np.zeros(u)
        gain = np.zeros(u)
        _native.check(lib().allot_spark_best_moves(self.handle, chosen.ctypes.data, weight.ctypes.data,
                                                   room.ctypes.data if len(room) else _dummy.ctypes.data,
                                                   add.ctypes.data, remove.ctypes.data, tier.ctypes.data, key.ctypes.data, gain.ctypes.data))
        n = self.users
        return add[:n], remove[:n], tier[:n], key[:n], gain[:n]


_dummy = np.zeros(1)
_dummy_i = np.zeros(1, np.int32)
_dummy_l = np.zeros(1, np.int64)
_dummy_u = np.zeros(1, np.uint8)



"""The layout of the scores on the executors: each user's candidates in one partition, sorted by
(user_id, coupon_id), kept as a few large chunks per partition, cached (docs/spark.md).

The rows are moved once: Spark hash-partitions them by user_id (in the JVM), then every partition
ranks the two id columns (their dictionaries' ranks: one integer sort, no string sort),
validates the rows and cuts them into chunks of whole users. A chunk holds what the kernel reads
each round as numpy arrays (user offsets, the number columns, coupon and channel codes) and each
id once: the chunk's users in order (a row's user follows from the offsets) and the coupons' and
channels' dictionaries. A chunk is one binary value (pickled) in a cached DataFrame, so a round
ships it to Python whole: no per-row conversion between the JVM and Python, no id to factorise
again.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: By default, at most this many candidates per chunk (about 20 MB with one budget); a user is
#: never split.
CHUNK_ROWS = 1 << 20


def user_starts(users) -> np.ndarray:
    """Offsets of the runs of equal values in a sorted integer array: [0, ..., rows]."""
    n = len(users)
    if n == 0:
        return np.zeros(1, np.int64)
    return np.concatenate(([0], np.flatnonzero(users[1:] != users[:-1]) + 1, [n])).astype(np.int64)


def _ranked(column):
    """Each row's rank (0-based, dense) among the column's distinct values, and those values in
    ascending order (Arrow's order: bytes for strings)."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    rank = pc.rank(encoded.dictionary, sort_keys="ascending", tiebreaker="dense").to_numpy().astype(np.int64) - 1
    values = encoded.dictionary.take(pa.array(np.argsort(rank)))
    return rank[encoded.indices.to_numpy()], values


def sort_order(keys, span):
    """The stable sort order of `keys`, integers in [0, span): a counting sort when the span is
    at most 4x the keys (as for dense (user, coupon) ranks: no comparison sort of a partition's
    rows), else numpy's stable argsort.

    - Complexity: O(n + span) by counting, O(n log n) else."""
    n = len(keys)
    if span > 4 * n:
        return np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=span)
    if counts.max(initial=0) > 1:  # repeated keys (a repeated pair: an input error): keep their order
        return np.argsort(keys, kind="stable")
    order = np.empty(n, np.int64)
    order[(np.cumsum(counts) - 1)[keys]] = np.arange(n)
    return order


def string_hash(array) -> np.ndarray:
    """A hash (uint64) of each string's UTF-8 bytes, the same on every machine and in every
    process (unlike Python's `hash`): a polynomial over the bytes, then mixed (splitmix64's
    finaliser). Vectorised; O(total bytes)."""
    array = array.cast(pa.large_string())
    if array.null_count:
        array = pc.fill_null(array, "")
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int64)[array.offset: array.offset + len(array) + 1]
    data = np.frombuffer(data, np.uint8)[offsets[0]: offsets[-1]] if data is not None and len(array) else np.zeros(0, np.uint8)
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    h = np.zeros(len(lengths), np.uint64)
    if len(data):
        position = np.arange(len(data), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        powers = np.cumprod(np.full(int(lengths.max()), np.uint64(0x100000001B3), np.uint64), dtype=np.uint64)
        terms = (data.astype(np.uint64) + np.uint64(1)) * powers[position]
        some = lengths > 0
        h[some] = np.add.reduceat(terms, offsets[:-1][some])
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def sample_rows(chunk, below) -> pa.Table:
    """The rows of the chunk's users whose id hashes (string_hash) below `below`: user_id,
    coupon_id, channel (if any) and every number column."""
    keep = np.flatnonzero(string_hash(chunk["users"]) < np.uint64(below))
    starts = chunk["user_start"]
    rows = np.concatenate([np.arange(starts[u], starts[u + 1]) for u in keep]) if len(keep) else np.zeros(0, np.int64)
    return rows_table(chunk, rows)


def _narrow(codes, count):
    return codes.astype(np.int8 if count < 127 else np.int16 if count < 32767 else np.int32)


def _chunks(user_start, size):
    """(start, end) rows of chunks of whole users, each at most `size` rows unless one user has more."""
    n = int(user_start[-1])
    out, start = [], 0
    while start < n:
        end = n
        if n - start > size:
            end = int(user_start[np.searchsorted(user_start, start + size, side="right") - 1])
            if end <= start:  # one user with more than `size` candidates: a chunk of its own
                end = int(user_start[np.searchsorted(user_start, start, side="right")])
        out.append((start, end))
        start = end
    return out


def _problems_with_nulls(table):
    """The first null of each column, in (user_id, coupon_id) order (nulls last)."""
    table = table.sort_by([("user_id", "ascending"), ("coupon_id", "ascending")])
    problems = []
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            row = int(pc.index(pc.is_null(column), True).as_py())
            problems.append(("null", name, (table.column("user_id")[row].as_py(), table.column("coupon_id")[row].as_py())))
    return problems


def pack(table: pa.Table, numbers, chunk_rows):
    """One partition's rows (any order) as [(info, chunk)]: per chunk of whole users, its check
    (rows, problems, coupons and channels present) and, when the partition has no problem, its
    compact form (a dict: rows, user_start, numbers, coupon codes and names, channel codes and
    names, and the id values: users, coupon_values, channel_values).

    The checks: nulls, non-finite uplift, negative or non-finite numbers, repeated
    (user_id, coupon_id) pairs; each reports its first row in (user_id, coupon_id) order."""
    if any(table.column(name).null_count for name in table.column_names):
        return [({"rows": table.num_rows, "problems": _problems_with_nulls(table), "coupons": [], "channels": []}, None)]
    user, users = _ranked(table.column("user_id"))
    coupon, coupon_values = _ranked(table.column("coupon_id"))
    key = (user << 32) | coupon
    order = sort_order(user * len(coupon_values) + coupon, len(users) * len(coupon_values))
    key = key[order]
    user, coupon = key >> 32, _narrow(key & 0xFFFFFFFF, len(coupon_values))
    coupons = [str(v) for v in coupon_values.to_pylist()]
    channel, channel_values = None, None
    if "channel" in table.column_names:
        channel, channel_values = _ranked(table.column("channel"))
        channel = _narrow(channel[order], len(channel_values))
    channels = [str(v) for v in channel_values.to_pylist()] if channel_values is not None else []

    def who(row):
        return users[int(user[row])].as_py(), coupon_values[int(coupon[row])].as_py()

    problems = []
    columns = {}
    for name in numbers:
        values = table.column(name)
        values = values.cast(pa.float64()) if values.type != pa.float64() else values
        values = np.ascontiguousarray(values.to_numpy()[order])
        bad = ~np.isfinite(values) if name == "uplift" else ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            problems.append(("value", name, who(row), float(values[row])))
        columns[name] = values
    same = np.flatnonzero(key[1:] == key[:-1])
    if len(same):
        problems.append(("duplicate", "", who(int(same[0]) + 1)))
    if problems:
        return [({"rows": table.num_rows, "problems": problems, "coupons": [], "channels": []}, None)]
    starts = user_starts(user)
    out = []
    for start, end in _chunks(starts, chunk_rows):
        first, last = np.searchsorted(starts, [start, end])
        chunk = {"rows": end - start, "user_start": starts[first:last + 1] - start,
                 "numbers": {name: values[start:end] for name, values in columns.items()},
                 "coupon": coupon[start:end], "coupons": coupons, "coupon_values": coupon_values,
                 "channel": channel[start:end] if channel is not None else None, "channels": channels if channel is not None else None,
                 "channel_values": channel_values,
                 # a copy: a pickled slice would carry the whole partition's buffers
                 "users": pa.concat_arrays([users.slice(int(user[start]), int(last - first))])}
        present = np.unique(chunk["coupon"])
        info = {"rows": end - start, "users": int(last - first), "problems": [], "coupons": [coupons[c] for c in present],
                "channels": [channels[h] for h in np.unique(chunk["channel"])] if channel is not None else []}
        out.append((info, chunk))
    return out


def ids(chunk, rows) -> pa.Table:
    """user_id, coupon_id (and channel) of the chunk's rows `rows` (ascending row numbers)."""
    rows = np.asarray(rows, dtype=np.int64)
    user = np.searchsorted(chunk["user_start"], rows, side="right") - 1
    columns = {"user_id": chunk["users"].take(pa.array(user)),
               "coupon_id": chunk["coupon_values"].take(pa.array(chunk["coupon"][rows].astype(np.int64)))}
    if chunk["channel"] is not None:
        columns["channel"] = chunk["channel_values"].take(pa.array(chunk["channel"][rows].astype(np.int64)))
    return pa.table(columns)


def rows_table(chunk, rows) -> pa.Table:
    """The chunk's rows `rows` (ascending) whole: their ids (see `ids`) and every number column."""
    table = ids(chunk, rows)
    for name, values in chunk["numbers"].items():
        table = table.append_column(name, pa.array(values[rows]))
    return table


def pack_partitions(layout, chunk_rows, first=None):
    """mapInArrow over the shuffled rows: one row per chunk: its check result and, when it
    passed, its compact form (see pack), each pickled. `first`: a dual task (see
    _tasks.dual_round) to run on every chunk that passed, its result in the check's "first" (the
    round then costs the driver no job of its own)."""

    def per_partition(batches):
        import pickle

        from . import _kernel, _tasks

        table = pa.Table.from_batches(list(batches))
        if table.num_rows == 0:
            return
        for info, chunk in pack(table, layout["numbers"], chunk_rows):
            if chunk is not None and first is not None:
                part = _kernel.Partition(chunk, layout)
                try:
                    info["first"] = _tasks.dual_round(part, first)
                finally:
                    part.close()
            chunk = None if chunk is None else pickle.dumps(chunk, protocol=5)
            yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(info)], pa.binary()), pa.array([chunk], pa.binary())],
                                             ["info", "chunk"])

    return per_partition


def prepare(data, n, layout, chunk_rows=CHUNK_ROWS, first=None):
    """The scores (user_id, coupon_id, uplift, cost, ...: `data`) in n partitions of chunks: a
    cached DataFrame of (info, chunk), one row per chunk. `layout`: the driver's Plan.layout();
    `first`: see pack_partitions. Runs no job yet."""
    return data.repartition(n, "user_id").mapInArrow(pack_partitions(layout, chunk_rows, first), "info binary, chunk binary").cache()


def chunks_of(batches):
    """The chunks (dicts, see pack) of mapInArrow batches of the `chunk` column."""
    import pickle

    for batch in batches:
        for value in batch.column(0):
            yield pickle.loads(value.as_buffer())

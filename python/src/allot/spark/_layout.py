"""The layout of the scores on the executors: each user's candidates in one partition, sorted by
(user_id, coupon_id), kept as a few large chunks per partition, cached (docs/spark.md).

The rows are moved once: Spark hash-partitions them by user_id (in the JVM), then every partition
sorts its rows by (user_id, coupon_id) (ranks of the ids' dictionaries: one integer sort),
validates them and cuts them into chunks of whole users. A chunk holds what the kernel reads each
round as numpy arrays (user offsets, the number columns, coupon and channel codes) and the ids
apart, as one compressed Arrow IPC stream that only the rounds that name rows (the exact fill
moves, the allocation) open. A chunk is one binary value (pickled) in a cached DataFrame, so a
round ships it to Python whole: no per-row conversion between the JVM and Python, no id to
factorise again.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: By default, at most this many candidates per chunk (about 25 MB with one budget); a user is
#: never split.
CHUNK_ROWS = 1 << 20


def sort_by_ids(table: pa.Table) -> pa.Table:
    """The rows in (user_id, coupon_id) order."""
    if table.column("user_id").null_count or table.column("coupon_id").null_count:
        return table.sort_by([("user_id", "ascending"), ("coupon_id", "ascending")])  # rare: the check reports it
    keys = []
    for name in ("user_id", "coupon_id"):
        encoded = pc.dictionary_encode(table.column(name)).combine_chunks()
        rank = pc.rank(encoded.dictionary, sort_keys="ascending", tiebreaker="dense").to_numpy().astype(np.int64)
        keys.append(rank[encoded.indices.to_numpy()])
    order = np.argsort((keys[0] << 32) | keys[1], kind="stable")
    return table.take(pa.array(order))


def user_starts(users) -> np.ndarray:
    """Offsets of the users' runs in a column sorted by user: [0, ..., rows]."""
    n = len(users)
    if n == 0:
        return np.zeros(1, np.int64)
    change = pc.not_equal(users.slice(1), users.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    return np.concatenate(([0], np.flatnonzero(change) + 1, [n])).astype(np.int64)


def _codes(column):
    """Dictionary codes (the narrowest integer type, -1 for null) and the dictionary's values."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    width = np.int8 if len(encoded.dictionary) < 127 else np.int16 if len(encoded.dictionary) < 32767 else np.int32
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(width)
    return codes, [str(v) for v in encoded.dictionary.to_pylist()]


def compact(table: pa.Table, numbers) -> dict:
    """What the rounds read of a chunk (whole users, sorted by (user_id, coupon_id))."""
    chunk = {"rows": table.num_rows, "user_start": user_starts(table.column("user_id")),
             "numbers": {name: _float64(table.column(name)) for name in numbers}}
    chunk["coupon"], chunk["coupons"] = _codes(table.column("coupon_id"))
    chunk["channel"], chunk["channels"] = _codes(table.column("channel")) if "channel" in table.column_names else (None, None)
    ids = table.select([c for c in ("user_id", "coupon_id", "channel") if c in table.column_names])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, ids.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(ids)
    chunk["ids"] = sink.getvalue().to_pybytes()
    return chunk


def ids_of(chunk) -> pa.Table:
    """The chunk's user_id, coupon_id (and channel) columns."""
    return pa.ipc.open_stream(pa.py_buffer(chunk["ids"])).read_all()


def _float64(column):
    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.type != pa.float64():
        column = column.cast(pa.float64())
    return np.ascontiguousarray(column.to_numpy(zero_copy_only=False))


def _chunks(table, size):
    """(start, end) of chunks of whole users, each at most `size` rows unless one user has more."""
    n = table.num_rows
    if n <= size:
        return [(0, n)] if n else []
    starts = user_starts(table.column("user_id"))
    out, start = [], 0
    while start < n:
        end = n
        if n - start > size:
            end = int(starts[np.searchsorted(starts, start + size, side="right") - 1])
            if end <= start:  # one user with more than `size` candidates: a chunk of its own
                end = int(starts[np.searchsorted(starts, start, side="right")])
        out.append((start, end))
        start = end
    return out


def pack_partitions(plan, check, chunk_rows):
    """mapInArrow over the shuffled rows: one row per chunk: its check result and, when it
    passed, its compact form (see compact), each pickled."""

    def per_partition(batches):
        import pickle

        table = pa.Table.from_batches(list(batches))
        if table.num_rows == 0:
            return
        table = sort_by_ids(table.combine_chunks())
        for start, end in _chunks(table, chunk_rows):
            part = table.slice(start, end - start)
            info = check(part, plan)
            chunk = None if info["problems"] else pickle.dumps(compact(part, plan["numbers"]), protocol=5)
            yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(info)], pa.binary()), pa.array([chunk], pa.binary())],
                                             ["info", "chunk"])

    return per_partition


def prepare(data, n, plan, check, chunk_rows=CHUNK_ROWS):
    """The scores (user_id, coupon_id, uplift, cost, ...: `data`) in n partitions of chunks: a
    cached DataFrame of (info, chunk), one row per chunk. Runs no job yet."""
    return data.repartition(n, "user_id").mapInArrow(pack_partitions(plan, check, chunk_rows), "info binary, chunk binary").cache()


def chunks_of(batches):
    """The chunks (dicts, see compact) of mapInArrow batches of the `chunk` column."""
    import pickle

    for batch in batches:
        for value in batch.column(0):
            yield pickle.loads(value.as_buffer())

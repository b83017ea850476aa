"""The layout of the scores on the executors: each user's candidates in one partition, sorted by
(user_id, coupon_id), kept as a few large chunks per partition in a cached RDD (docs/spark.md).

The rows are moved once: Spark hash-partitions them by user_id (in the JVM), then every partition
sorts its rows by (user_id, coupon_id) (ranks of the ids' dictionaries: one integer sort),
validates them and cuts them into chunks of whole users. A chunk holds what the kernel reads each
round as numpy arrays (user offsets, the number columns, coupon and channel codes) and the ids
apart, as one compressed Arrow IPC stream that only the rounds that name rows (the exact fill
moves, the allocation) open. A round ships each chunk to Python as one pickled object: no
per-row conversion between the JVM and Python, no id to factorise again.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: At most this many candidates per chunk (about 25 MB with one budget); a user is never split.
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


def _chunks(table):
    """(start, end) of chunks of whole users, each at most CHUNK_ROWS rows unless one user has more."""
    n = table.num_rows
    if n <= CHUNK_ROWS:
        return [(0, n)] if n else []
    starts = user_starts(table.column("user_id"))
    out, start = [], 0
    while start < n:
        end = n
        if n - start > CHUNK_ROWS:
            end = int(starts[np.searchsorted(starts, start + CHUNK_ROWS, side="right") - 1])
            if end <= start:  # one user with more than CHUNK_ROWS candidates: a chunk of its own
                end = int(starts[np.searchsorted(starts, start, side="right")])
        out.append((start, end))
        start = end
    return out


def pack_partitions(plan, check):
    """mapInArrow over the shuffled rows: one row per chunk, a pickled dict: the chunk's check
    result ("info") and, when it passed, its compact form."""

    def per_partition(batches):
        import pickle

        table = pa.Table.from_batches(list(batches))
        if table.num_rows == 0:
            return
        table = sort_by_ids(table.combine_chunks())
        for start, end in _chunks(table):
            part = table.slice(start, end - start)
            info = check(part, plan)
            chunk = {"info": info} if info["problems"] else {"info": info, **compact(part, plan["numbers"])}
            yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(chunk, protocol=5)], pa.binary())], ["chunk"])

    return per_partition


def prepare(data, n, plan, check):
    """The scores (user_id, coupon_id, uplift, cost, ...: `data`) in n partitions of chunks: a
    cached RDD of dicts (see compact). Runs no job yet."""
    import pickle

    packed = data.repartition(n, "user_id").mapInArrow(pack_partitions(plan, check), "chunk binary")
    return packed.rdd.map(lambda row: pickle.loads(row.chunk)).cache()


def allocation_frame(spark, chunks, task, schema):
    """The rows chosen by `task(chunk) -> pa.Table` as a DataFrame of `schema`: each chunk's rows
    travel as one Arrow IPC value and are opened by mapInArrow."""
    columns = list(schema.names)

    def encode(chunk):
        table = task(chunk).select(columns)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return (sink.getvalue().to_pybytes(),)

    def decode(batches):
        for batch in batches:
            for value in batch.column(0):
                yield from pa.ipc.open_stream(value.as_buffer()).read_all().to_batches()

    return spark.createDataFrame(chunks.map(encode), "part binary").mapInArrow(decode, schema)

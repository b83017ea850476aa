"""The layout of the scores on the executors: each user's candidates in one partition, sorted by
(user_id, coupon_id), kept as a few large Arrow IPC chunks per partition (docs/spark.md).

Rows are moved once, in one Spark job of two stages:
1. every input partition splits its rows by `pmod(hash(user_id), n)` (Spark's hash, computed in
   the JVM) and sends each group as ONE binary row (an Arrow IPC stream) keyed so that Spark's
   hash partitioning sends group t to partition t: the shuffle moves n binary rows per input
   partition, not one row per candidate;
2. every partition joins its groups, sorts them by (user_id, coupon_id) (ranks of the ids'
   dictionaries: one integer sort), validates them, and cuts them into chunks of whole users,
   each one binary row, cached.

A round then hands each chunk to the kernel as it is: no per-row conversion between the JVM
and Python, and no id to factorise again.
"""
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: At most this many candidates per cached chunk (about 50 MB with string ids); a user is never split.
CHUNK_ROWS = 1 << 20
#: An input task sends its groups every this many rows, so that it never holds its whole split.
FLUSH_ROWS = 1 << 22


def ipc_array(tables) -> pa.BinaryArray:
    """One binary value per table: its Arrow IPC stream (written once, into the array's buffer)."""
    sink = pa.BufferOutputStream()
    offsets = [0]
    for table in tables:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        offsets.append(sink.tell())
    return pa.BinaryArray.from_buffers(pa.binary(), len(tables), [None, pa.py_buffer(np.array(offsets, np.int32)), sink.getvalue()])


def unpack(value) -> pa.Table:
    """A chunk's table from its binary value (a pyarrow BinaryScalar): no copy."""
    return pa.ipc.open_stream(value.as_buffer()).read_all()


def group_keys(spark, n):
    """For each partition t < n, an integer key that Spark's hash partitioning into n partitions
    sends to t (repartition(n, key) computes pmod(hash(key), n), as F.hash does)."""
    from pyspark.sql import functions as F

    keys = {}
    width = 16 * n
    start = 0
    while len(keys) < n:
        rows = (spark.range(start, start + width).select(F.col("id").cast("int").alias("k"))
                .select("k", F.pmod(F.hash("k"), F.lit(n)).alias("t")).collect())
        for r in rows:
            keys.setdefault(r.t, r.k)
        start += width
    return [keys[t] for t in range(n)]


def split_groups(keys, columns):
    """Stage 1 (mapInArrow): an input partition's rows grouped by their `_group` column."""

    def per_partition(batches):
        pending, rows = [], 0
        for batch in batches:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= FLUSH_ROWS:
                yield from _send(pending, keys, columns)
                pending, rows = [], 0
        if pending:
            yield from _send(pending, keys, columns)

    return per_partition


def _send(batches, keys, columns):
    table = pa.Table.from_batches(batches)
    if table.num_rows == 0:
        return
    group = table.column("_group").to_numpy()
    order = np.argsort(group, kind="stable")
    table = table.select(columns).take(pa.array(order))
    group = group[order]
    bounds = np.flatnonzero(np.diff(group)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(group)]))
    out_keys = [keys[int(group[s])] for s in starts]
    parts = ipc_array([table.slice(s, e - s) for s, e in zip(starts, ends)])
    yield pa.RecordBatch.from_arrays([pa.array(out_keys, pa.int32()), parts], ["key", "part"])


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


def pack_partitions(plan, check):
    """Stage 2 (mapInArrow): a partition's groups joined, sorted, validated and cut into chunks
    of whole users; one row per chunk: its check result (pickled) and its table (Arrow IPC)."""

    def per_partition(batches):
        parts = [unpack(value) for batch in batches for value in batch.column(1)]
        if not parts:
            return
        table = sort_by_ids(pa.concat_tables(parts).combine_chunks())
        del parts
        for start, end in _chunks(table):
            chunk = table.slice(start, end - start)
            yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(check(chunk, plan))], pa.binary()),
                                              ipc_array([chunk])], ["info", "chunk"])

    return per_partition


def _chunks(table):
    n = table.num_rows
    if n <= CHUNK_ROWS:
        return [(0, n)] if n else []
    users = table.column("user_id")
    change = pc.not_equal(users.slice(1), users.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(change) + 1))  # first row of each user
    out, start = [], 0
    while start < n:
        end = n
        if n - start > CHUNK_ROWS:
            end = int(starts[np.searchsorted(starts, start + CHUNK_ROWS, side="right") - 1])
            if end <= start:  # one user with more than CHUNK_ROWS candidates: a chunk of its own
                later = np.searchsorted(starts, start, side="right")
                end = int(starts[later]) if later < len(starts) else n
        out.append((start, end))
        start = end
    return out


def prepare(data, n, plan, check):
    """The scores (user_id, coupon_id, uplift, cost, ...: `data`) laid out in n partitions of
    chunks, cached: a DataFrame of (info binary, chunk binary). Runs no job yet."""
    from pyspark.sql import functions as F

    columns = list(data.columns)
    keys = group_keys(data.sparkSession, n)
    grouped = data.withColumn("_group", F.pmod(F.hash("user_id"), F.lit(n))) \
        .mapInArrow(split_groups(keys, columns), "key int, part binary")
    return grouped.repartition(n, "key").mapInArrow(pack_partitions(plan, check), "info binary, chunk binary").cache()

"""allot.solve: scores from pandas, pyarrow, Parquet or CSV to Allot's C ABI and back.

Id columns go over as Arrow string buffers (one string per row), which the library interns as its
CSV reader does; a column that is already dictionary-encoded (a pandas categorical, an Arrow
dictionary array, a Parquet file's ids, read as each row group's dictionary) goes over as int32
codes plus its dictionary instead. docs/benchmarks.md compares the two. Numbers go over as float64 arrays that
the library borrows for the duration of the build: a float64 column without nulls reaches Swift
without being copied in Python. Every check of values (finite uplift, non-negative costs,
repeated (user, coupon) pairs) and of the spec is the library's own, so the messages are the CLI's.
"""
import csv
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _native
from ._native import AllotError, InputError, encode

ID_COLUMNS = ("user_id", "coupon_id")
#: Columns read as text: ids, channels, a log's treatments.
TEXT_COLUMNS = ("user_id", "coupon_id", "channel", "treatment")


@dataclass
class Result:
    """The outcome of `allot.solve`."""

    #: One row per assignment: user_id, coupon_id, uplift, cost, in the CLI's allocation-file order.
    allocation: pd.DataFrame
    #: The CLI's summary JSON (`allot solve --summary`), as a dict.
    summary: dict
    #: Total uplift of the allocation (recomputed by the verifier).
    objective: float
    #: A proven upper bound on the optimum, or None when the method has none.
    bound: float | None
    #: (bound - objective) / bound, or None.
    gap: float | None
    #: Value of one more unit of each relaxed constraint, keyed "kind:name" as in the summary.
    shadow_prices: dict = field(default_factory=dict)
    #: For each assignment, its row (0-based position) in the scores.
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    #: The library's result (for `write`), freed with this object.
    _native: object = field(default=None, repr=False, compare=False)

    def write(self, allocation_path=None, summary_path=None):
        """Writes the allocation (Parquet for .parquet/.pq, else the CLI's CSV) and the summary
        JSON, as `allot solve --out A --summary S` does: through the library's OutputFiles, so
        with the CLI's rules (docs/reliability.md). Each file goes to a temporary file beside it,
        flushed, and both are renamed only when both are written: a failure (a full disk, an
        unwritable folder) replaces neither. Only regular files are replaced: a symbolic link, a
        device, a FIFO or a folder is refused, and so are two paths naming the same file. The
        files get mode 0666 less the umask, and the summary written records the allocation
        file's `allocation_sha256` and `allocation_rows`, so that a mismatched pair can be told.

        Raises InputError (naming the path) when a file cannot be written; nothing is replaced then.
        """
        if allocation_path is None and summary_path is None:
            raise TypeError("write() needs an allocation path, a summary path or both")
        for path in (allocation_path, summary_path):
            if path is not None and not isinstance(path, (str, os.PathLike)):
                raise TypeError(f"a path must be a str or an os.PathLike, not {type(path).__name__}")
        if self._native is None:
            raise TypeError("this Result was not made by allot.solve, so it cannot be written")
        data = None
        if allocation_path is not None and Path(allocation_path).suffix.lower() in (".parquet", ".pq"):
            import io

            buffer = io.BytesIO()
            self.allocation.to_parquet(buffer, index=False)
            data = buffer.getvalue()
        lib = _native.lib()
        path = lambda p: None if p is None else os.fsencode(p)
        _native.check(lib.allot_result_write(self._native.pointer, path(allocation_path), data,
                                             0 if data is None else len(data), path(summary_path)))

    def write_snapshot(self, path, profile=None):
        """Writes the snapshot for live decisions (`allot serve`, `allot replay`, allot.Snapshot),
        as `allot solve --snapshot PATH [--profile W1,W2,...]` does: the library writes it
        (allot_result_write_snapshot), so the file is the CLI's byte for byte for the same
        input, and its version (sha256) is the same. `profile`: the spend plan, weights of equal
        slots of the day (a list of numbers or the CLI's comma-separated text); None: uniform.
        The file is written to a temporary file beside it and renamed; only a regular file is
        replaced.

        Raises InputError (naming the path or the profile) when it cannot be written; nothing is
        written then.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"a path must be a str or an os.PathLike, not {type(path).__name__}")
        if self._native is None:
            raise TypeError("this Result was not made by allot.solve, so it cannot write a snapshot")
        if profile is not None and not isinstance(profile, str):
            profile = ",".join(repr(float(w)) for w in profile)
        _native.check(_native.lib().allot_result_write_snapshot(
            self._native.pointer, os.fsencode(path), None if profile is None else profile.encode()))

    def __repr__(self):
        method = self.summary.get("method", "?")
        text = f"<allot.Result {method}: {len(self.allocation):,} assignments, objective {self.objective:,.6g}"
        if self.bound is not None:
            text += f", bound {self.bound:,.6g}, gap {self.gap:.3%}" if self.gap is not None else f", bound {self.bound:,.6g}"
        return text + ">"

    def _repr_html_(self):
        """A short table for notebooks: the figures, then the allocation's first rows."""
        import html

        rows = [("method", self.summary.get("method", "?")), ("assignments", f"{len(self.allocation):,}"),
                ("objective", f"{self.objective:,.6g}")]
        if self.bound is not None:
            rows.append(("upper bound", f"{self.bound:,.6g}"))
        if self.gap is not None:
            rows.append(("gap", f"{self.gap:.3%}"))
        for name, value in list(self.shadow_prices.items())[:5]:
            rows.append((f"shadow price {name}", f"{value:,.6g}"))
        table = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<div><b>allot.Result</b><table>{table}</table>{self.allocation.head(5).to_html(index=False)}</div>"


class _NativeResult:
    """Owns a library result handle; frees it when collected."""

    def __init__(self, pointer):
        self.pointer = pointer

    def __del__(self):
        pointer, self.pointer = self.pointer, None
        if pointer:
            try:
                _native.lib().allot_result_free(pointer)
            except Exception:  # interpreter shutdown
                pass


def solve(scores, spec=None, method="dual", *, budget=None, max_per_user=None, no_budget=False, columns=None,
          coupons=None, cost=None, users=None, **options) -> Result:
    """Chooses which incentive each user gets.

    scores: a pandas DataFrame, a pyarrow Table or RecordBatch, a Polars DataFrame (or any
        object with the Arrow C stream interface, `__arrow_c_stream__`), or the path of a Parquet
        (.parquet, .pq) or CSV file, with columns user_id, coupon_id, uplift, cost, optional
        channel, and any extra budget columns the spec names. Or a wide n x k uplift matrix
        (a numpy array, or a DataFrame, as causalml's `predict()` gives) with `coupons=` (the k
        coupon names) and `cost=` (one number, k numbers, or an n x k matrix); `users=` names
        the n users (default 0..n-1). See `scores_from_matrix`.
    spec: a dict as in the spec JSON (docs/file-formats.md), the path of a spec file, or None.
        numpy numbers (np.int64, np.float32, ...) and arrays are taken as plain numbers and lists.
    method: an Allot method (`allot.methods()`), "dual" by default.
    budget, max_per_user: as the CLI's --budget and --max-per-user. With no budget (neither
        `budget=` nor budgets in the spec), solve refuses, as the CLI does, unless
        `no_budget=True` (the CLI's --no-budget).
    columns: the scores' names for the columns Allot reads, e.g. {"uplift": "tau"}.
    options: threads, seed, gap, time_limit, polish_users, exact_finish_limit, verbose, with the
        CLI's ranges (one table in the library: `gap=0` is accepted as `--gap 0` is);
        exact_finish_limit=0 keeps the dual from finishing small models exactly with CBC (the
        CLI's --exact-finish-limit); shrink=True, risk=K or risk="auto", risk_quantile=P on
        noisy scores (a column uplift_se, or draws uplift_1 ... uplift_B), as the CLI's --shrink,
        --risk and --risk-quantile: summary["expected_objective"] gives the honest estimate.

    Raises InputError (a ValueError) for bad scores, spec or options, TypeError for an argument of
    the wrong type, SolveError when the method fails (python/README.md lists them).
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, not {type(method).__name__}")
    if coupons is not None or cost is not None or users is not None:
        scores = scores_from_matrix(scores, coupons, cost, users)
    elif isinstance(scores, np.ndarray):
        raise TypeError("a numpy array of scores is a wide uplift matrix: give coupons= and cost= too")
    lib = _native.lib()
    problem, chunks = _build(scores, spec, budget, max_per_user, keep=False, columns=columns,
                             no_budget=no_budget, require_budget=True)
    try:
        options_json = _json(options, "options") if options else None
        result = _native.handle(lib.allot_solve(problem, encode(method), None if options_json is None else encode(options_json)))
    finally:
        lib.allot_problem_free(problem)
    owner = _NativeResult(result)  # frees the result on any error below, or with the Result
    rows = np.empty(lib.allot_result_count(result), dtype=np.int64)
    _native.check(lib.allot_result_copy_rows(result, rows.ctypes.data, len(rows)))
    summary = json.loads(lib.allot_result_summary_json(result))
    prices = json.loads(lib.allot_result_shadow_prices_json(result))
    objective = lib.allot_result_objective(result)
    bound = lib.allot_result_upper_bound(result)
    gap = lib.allot_result_gap(result)
    allocation = _allocation(chunks, rows) if chunks is not None else _result_allocation(lib, result, len(rows))
    return Result(allocation=allocation, summary=summary, objective=objective,
                  bound=None if np.isnan(bound) else bound, gap=None if np.isnan(gap) else gap,
                  shadow_prices={f"{p['kind']}:{p['name']}": p["value"] for p in prices}, rows=rows, _native=owner)


def _allocation(chunks, rows) -> pd.DataFrame:
    """The allocation DataFrame of the given rows (of the whole table) of the scores: user_id,
    coupon_id, uplift, cost. `chunks` is _build's: (first row, _Frame, numeric columns) per chunk."""
    starts = np.array([first for first, _, _ in chunks], dtype=np.int64)
    which = np.searchsorted(starts, rows, side="right") - 1
    if len(chunks) == 1 or len(rows) == 0:
        return _chunk_allocation(chunks[0], rows)
    in_order = bool(np.all(which[:-1] <= which[1:]))  # as when rows are grouped by user
    order = None if in_order else np.argsort(which, kind="stable")  # by chunk, each chunk's in the given order
    by_chunk = rows if in_order else rows[order]
    ids, numbers = {name: [] for name in ID_COLUMNS}, {"uplift": [], "cost": []}
    at = 0
    for k, count in enumerate(np.bincount(which, minlength=len(chunks))):
        if count:
            first, frame, values = chunks[k]
            local = by_chunk[at:at + count] - first
            at += count
            for name, array in frame.take_arrays(local).items():
                ids[name].append(array)
            for name, parts in numbers.items():
                parts.append(values[name][local])
    allocation = pd.DataFrame({name: pa.chunked_array(arrays).to_pandas(types_mapper=_ARROW_STRINGS.get)
                               for name, arrays in ids.items()})
    for name, parts in numbers.items():
        allocation[name] = np.concatenate(parts)
    if not in_order:
        allocation = allocation.take(np.argsort(order, kind="stable")).reset_index(drop=True)
    return allocation


def _result_allocation(lib, result, count) -> pd.DataFrame:
    """The allocation DataFrame from the library's own copy of the scores (for text ids, which the
    library holds as they came): user_id, coupon_id, uplift, cost of each of the `count`
    assignments. The user ids are read on a second thread while this one reads the rest (each
    read is bound by memory latency: the library walks its table at the assignments)."""

    def ids(name):
        length = lib.allot_result_ids_length(result, encode(name))
        if length < 0:
            _native.raise_last_error()
        offsets, data = np.empty(count + 1, dtype=np.int64), np.empty(max(length, 1), dtype=np.uint8)
        _native.check(lib.allot_result_copy_ids(result, encode(name), offsets.ctypes.data, data.ctypes.data, length))
        array = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data[:length]))
        return array.to_pandas(types_mapper=_ARROW_STRINGS.get)

    def values(name):
        out = np.empty(count, dtype=np.float64)
        _native.check(lib.allot_result_copy_values(result, encode(name), out.ctypes.data, count))
        return out

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        users = pool.submit(ids, "user_id")
        columns = {"coupon_id": ids("coupon_id"), "uplift": values("uplift"), "cost": values("cost")}
        columns["user_id"] = users.result()
    return pd.DataFrame({name: columns[name] for name in (*ID_COLUMNS, "uplift", "cost")})


def _chunk_allocation(chunk, rows) -> pd.DataFrame:
    _, frame, values = chunk
    allocation = frame.take(rows)
    allocation["uplift"] = values["uplift"][rows]
    allocation["cost"] = values["cost"][rows]
    return allocation


def scores_from_matrix(uplift, coupons, cost, users=None) -> pa.Table:
    """The long scores table (user_id, coupon_id, uplift, cost) of a wide n x k uplift matrix:
    row i of `uplift` holds user i's uplift for each of the k `coupons` (causalml's `predict()`
    gives one column per treatment). `cost`: one number for every pair, k numbers (one per
    coupon), or an n x k matrix. `users`: the n user ids (default 0..n-1). O(n k)."""
    if coupons is None or cost is None:
        raise TypeError("a wide uplift matrix needs coupons= (one name per column) and cost=")
    if isinstance(uplift, pd.DataFrame):
        uplift = uplift.to_numpy()
    try:
        matrix = np.asarray(uplift, dtype=np.float64)
        costs = np.asarray(cost, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"<matrix>: the uplift matrix and cost= must hold numbers ({error})", _native.ERR_INPUT) from None
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise InputError(f"<matrix>: the uplift matrix has {matrix.ndim} dimensions; it must have 2 (users x coupons)",
                         _native.ERR_INPUT)
    n, k = matrix.shape
    if isinstance(coupons, (str, bytes)) or not hasattr(coupons, "__len__"):
        raise TypeError(f"coupons must be a list of names, not {type(coupons).__name__}")
    names = [str(c) for c in coupons]
    if len(names) != k:
        raise InputError(f"<matrix>: coupons= has {len(names)} names for the matrix's {k} columns", _native.ERR_INPUT)
    if costs.ndim == 0:
        costs = np.full((n, k), float(costs))
    elif costs.ndim == 1 and costs.shape[0] == k:
        costs = np.broadcast_to(costs, (n, k))
    elif costs.shape != (n, k):
        raise InputError(f"<matrix>: cost= has shape {costs.shape}; give one number, {k} (one per coupon) or {n} x {k}",
                         _native.ERR_INPUT)
    ids = np.arange(n) if users is None else np.asarray(users)
    if ids.shape != (n,):
        raise InputError(f"<matrix>: users= has {ids.size} ids for the matrix's {n} rows", _native.ERR_INPUT)
    user_column = pa.array(np.repeat(ids, k)) if ids.dtype.kind in "iuf" else pa.array(np.repeat(ids.astype(str), k))
    coupon_column = pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(k, dtype=np.int32), n)), pa.array(names))
    return pa.table({"user_id": user_column, "coupon_id": coupon_column, "uplift": matrix.reshape(-1),
                     "cost": np.ascontiguousarray(costs).reshape(-1)})


def _build(scores, spec, budget, max_per_user, keep=True, *, columns=None, no_budget=False, require_budget=False):
    """Builds the problem in the library, chunk by chunk (one per Arrow record batch or Parquet
    row group: each chunk is copied by the library when appended, and a Parquet file's next row
    group is read while the library takes in the current one). Returns (problem handle, to free;
    per chunk: its first row, its _Frame and its numeric columns as float64 arrays by name).

    keep=False: when the library's copy can stand for the table in the allocation (text ids of an
    Arrow table or a file), no chunk is kept (None instead of the list), so that a file's chunks
    are released as soon as appended and the next ones reuse their memory."""
    lib = _native.lib()
    spec_json, spec_name = _spec(spec, budget, max_per_user)
    frame = _Frame.of(scores, columns=columns)
    header = _Strings(frame.columns)
    builder = _native.handle(lib.allot_builder_new(
        encode(frame.name), header.count, header.offsets, header.data, header.length,
        None if spec_json is None else encode(spec_json), encode(spec_name)))
    chunks = []
    try:
        keep = keep or not frame.text_ids()
        numbers = [lib.allot_builder_column_name(builder, k).decode()
                   for k in range(lib.allot_builder_column_count(builder))]
        channel = ["channel"] if "channel" in frame.columns else []
        for first, chunk in frame.chunks(list(ID_COLUMNS) + channel + numbers):
            borrowed = []  # every array the builder borrows, alive until the append returns
            for name in list(ID_COLUMNS) + channel:
                codes, strings = chunk.ids(name)
                strings = _Strings.arrow(strings)
                borrowed += [codes, strings]
                if codes is None:
                    _native.check(lib.allot_builder_set_strings(builder, encode(name), strings.count, strings.offsets,
                                                                strings.data, strings.length))
                else:
                    _native.check(lib.allot_builder_set_ids(builder, encode(name), codes.ctypes.data, len(codes), strings.count,
                                                            strings.offsets, strings.data, strings.length))
            values = {}
            for name in numbers:
                values[name] = chunk.numbers(name)
                _native.check(lib.allot_builder_set_numbers(builder, encode(name), values[name].ctypes.data, len(values[name])))
            _native.check(lib.allot_builder_append(builder, frame.rows))
            if keep:
                chunks.append((first, chunk, values))
            del borrowed, chunk, values
        problem = _native.handle(lib.allot_builder_build(builder))
        if require_budget:  # after the scores' checks, as the CLI reports a bad row first
            try:
                _check_budget(spec_json, no_budget, budget)
            except BaseException:
                lib.allot_problem_free(problem)
                raise
    except (pa.ArrowException, OverflowError, UnicodeError) as error:
        # Arrow's own refusal of a column (a type it cannot convert, say): bad input all the same.
        raise InputError(f"{frame.name}: {_cut(str(error))}", _native.ERR_INPUT) from None
    finally:
        lib.allot_builder_free(builder)
    return problem, chunks if keep else None


def methods() -> list[str]:
    """The method names `solve` accepts."""
    return _native.lib().allot_methods().decode().split(",")


def _check_budget(spec_json, no_budget, budget):
    """The CLI's rule: a solve needs a budget (budget= or budgets in the spec) unless no_budget=True."""
    if not isinstance(no_budget, bool):
        raise TypeError(f"no_budget must be True or False, not {type(no_budget).__name__}")
    if no_budget and budget is not None:
        raise InputError("no_budget=True and budget= contradict each other", _native.ERR_INPUT)
    try:
        value = json.loads(spec_json) if spec_json is not None else {}
    except ValueError:
        return  # the library reports the malformed JSON
    budgets = value.get("budgets") if isinstance(value, dict) else None
    if not budgets and not no_budget and isinstance(value, dict):
        raise InputError("no budget: give budget=, budgets in the spec, or no_budget=True to allocate without any",
                         _native.ERR_INPUT)


def _plain(value):
    """json.dumps' `default`: numpy numbers and arrays as Python numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _json(value, name):
    try:
        return json.dumps(value, default=_plain, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name}: {error}", _native.ERR_INPUT) from None


def _cut(text, limit=200):
    """A message at most `limit` characters long, saying when it was cut."""
    return text if len(text) <= limit else text[:limit] + f"… (cut from {len(text)} characters)"


def _spec(spec, budget, max_per_user):
    """The spec as JSON text and the name its messages use."""
    name = "spec"
    text = None
    if spec is None:
        value = {}
    elif isinstance(spec, Mapping):
        value = dict(spec)
    elif isinstance(spec, (str, os.PathLike)):
        name = os.fspath(spec)
        try:
            text = Path(spec).read_bytes().decode("utf-8", "surrogateescape")
        except OSError as error:
            raise InputError(f"{name}: cannot read: {error.strerror}", _native.ERR_INPUT) from None
        value = None
    else:
        raise TypeError(f"spec must be a dict, a path or None, not {type(spec).__name__}")
    for key, given in (("budget", budget), ("max_per_user", max_per_user)):
        if given is not None and (isinstance(given, bool) or not isinstance(given, (int, float, np.integer, np.floating))):
            raise TypeError(f"{key} must be a number, not {type(given).__name__}")
    if budget is not None or max_per_user is not None:
        if value is None:
            try:
                value = json.loads(text)
            except ValueError:
                return text, name  # the library reports the malformed JSON
            if not isinstance(value, dict):
                return text, name
        value = dict(value)
        if budget is not None:
            budgets = [dict(b) if isinstance(b, Mapping) else b for b in value.get("budgets", [])]
            on_cost = [b for b in budgets if isinstance(b, dict) and b.get("column", "cost") == "cost"]
            if on_cost:
                on_cost[0]["limit"] = budget
            else:
                budgets.insert(0, {"name": "budget", "column": "cost", "limit": budget})
            value["budgets"] = budgets
        if max_per_user is not None:
            value["max_per_user"] = max_per_user
        text = None
    if text is not None:
        return text, name
    return _json(value, name), name


class _Strings:
    """Strings in Arrow's large_string layout, as the C ABI takes them."""

    def __init__(self, names):
        encoded = [encode(n) for n in names]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        self._offsets = offsets
        self._data = b"".join(encoded)
        self.count = len(encoded)
        self.offsets = offsets.ctypes.data
        self._buffer = np.frombuffer(self._data, dtype=np.uint8) if self._data else None
        self.data = self._buffer.ctypes.data if self._data else None
        self.length = len(self._data)

    @classmethod
    def arrow(cls, array: pa.Array):
        """Borrows the buffers of an Arrow string array (cast to large_string)."""
        array = array.cast(pa.large_string())
        self = cls.__new__(cls)
        self._array = array  # keeps the buffers alive
        _, offsets_buffer, data_buffer = array.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset: array.offset + len(array) + 1]
        base = int(offsets[0]) if len(offsets) else 0
        if base != 0:
            offsets = offsets - base
        if len(offsets) == 0:
            offsets = np.zeros(1, dtype=np.int64)
        self._offsets = offsets
        self.count = len(array)
        self.offsets = offsets.ctypes.data
        self.length = int(offsets[-1])
        self.data = data_buffer.address + base if data_buffer is not None and self.length > 0 else None
        return self


class _Frame:
    """The scores, whatever they came as: column names, and columns read on demand."""

    name: str
    columns: list
    #: per id column: (codes or None, the values they index or the values themselves)
    combined: dict
    #: the table's row of this frame's first row (a chunk's place in its table), for messages
    first_row = 0
    #: the table's row count when known before reading (sizes the library's arrays), else 0
    rows = 0

    @staticmethod
    def of(scores, what="", columns=None):
        """`what` names an in-memory table in messages: "<what DataFrame>". `columns` maps
        Allot's column names to the table's ({"uplift": "tau"})."""
        frame = _Frame._of(scores, what)
        if columns is not None:
            frame.map_columns(columns)
        return frame

    @staticmethod
    def _of(scores, what):
        prefix = what + " " if what else ""
        if isinstance(scores, pd.DataFrame):
            return _PandasFrame(scores, f"<{prefix}DataFrame>")
        if isinstance(scores, pa.RecordBatch):
            scores = pa.Table.from_batches([scores])
        if isinstance(scores, pa.Table):
            return _ArrowFrame(f"<{prefix}Table>", scores)
        if hasattr(scores, "__arrow_c_stream__") and not isinstance(scores, (str, os.PathLike)):
            # A Polars DataFrame, or any table with the Arrow C stream interface: read without a copy.
            kind = type(scores).__name__
            try:
                table = pa.RecordBatchReader.from_stream(scores).read_all()
            except (pa.ArrowException, TypeError, ValueError) as error:
                raise InputError(f"<{prefix}{kind}>: cannot read through the Arrow C stream interface: {_cut(str(error))}",
                                 _native.ERR_INPUT) from None
            return _ArrowFrame(f"<{prefix}{kind}>", table)
        if isinstance(scores, (str, os.PathLike)):
            path = os.fspath(scores)
            if not Path(path).is_file():
                raise InputError(f"{path}: cannot read: no such file", _native.ERR_INPUT)
            if path.lower().endswith((".parquet", ".pq")):
                return _ParquetFrame(path)
            return _CSVFrame(path)
        raise TypeError(f"{what or 'scores'} must be a pandas DataFrame, a pyarrow Table or a path, not {type(scores).__name__}")

    def load(self, names):
        """Reads the named columns (those the problem needs)."""

    def map_columns(self, columns):
        """Renames the table's columns to Allot's: `columns` maps Allot's name to the table's."""
        if not isinstance(columns, Mapping):
            raise TypeError(f"columns must be a dict of Allot's names to the table's, not {type(columns).__name__}")
        renames = {}
        for allot_name, name in columns.items():
            if not isinstance(allot_name, str) or not isinstance(name, str):
                raise TypeError("columns must map str to str")
            if name not in self.columns:
                raise InputError(f"{self.name}: columns= maps '{_cut(allot_name, 60)}' to '{_cut(name, 60)}', which the scores do not "
                                 f"have (columns: {_cut(', '.join(self.columns))})", _native.ERR_INPUT)
            if allot_name != name and allot_name in self.columns and allot_name not in columns.values():
                raise InputError(f"{self.name}: columns= maps '{_cut(allot_name, 60)}' to '{_cut(name, 60)}', but the scores have "
                                 f"a '{_cut(allot_name, 60)}' column too", _native.ERR_INPUT)
            renames[name] = allot_name
        self.rename(renames)

    def rename(self, renames):
        """Applies {table's name: Allot's name}."""
        raise NotImplementedError

    def text_ids(self) -> bool:
        """Whether user_id and coupon_id are Arrow text (or dictionaries of text): the library then
        holds them as they came, and the allocation can be read back from it."""
        return False

    def chunks(self, names):
        """Reads the named columns (those the problem needs) and yields (first row, _Frame) for
        each chunk of rows, in order; an empty table is one empty chunk."""
        self.load(names)
        yield 0, self

    def column(self, name) -> pa.ChunkedArray:
        raise NotImplementedError

    def ids(self, name):
        """(int32 codes with -1 for missing, their dictionary) for a dictionary column, else
        (None, one string per row). Keeps the column, combined, for `take`."""
        column = self.column(name)
        if pa.types.is_dictionary(column.type) and not _is_text(column.type.value_type):
            column = column.cast(column.type.value_type)  # a dictionary of numbers: its values as ids
        if pa.types.is_dictionary(column.type):
            if pa.types.is_string_view(column.type.value_type):
                column = column.cast(pa.dictionary(column.type.index_type, pa.large_string()))
            if column.num_chunks != 1:
                column = pa.table({"c": column}).unify_dictionaries()["c"]
                dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
                indices = pa.chunked_array([c.indices for c in column.chunks], column.type.index_type).combine_chunks()
            else:
                dictionary, indices = column.chunk(0).dictionary, column.chunk(0).indices
            if indices.null_count:
                indices = pc.fill_null(indices, -1)
            codes = np.ascontiguousarray(indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False))  # int32: no copy
            self.combined[name] = (codes, dictionary)
            if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
                dictionary = dictionary.cast(pa.string())
            return codes, dictionary
        array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if pa.types.is_string_view(array.type):  # Polars' and recent pandas' layout: as large_string
            array = array.cast(pa.large_string())
        if pa.types.is_floating(array.type) and len(array) and pc.any(pc.is_nan(array)).as_py():
            row = int(pc.index(pc.is_nan(array), True).as_py())
            raise self._error(row, f"missing {name} (NaN)")
        self.combined[name] = (None, array)
        if not _is_text(array.type):
            array = array.cast(pa.string())
        if array.null_count:  # a null's bytes are unspecified in Arrow: make them empty
            array = pc.fill_null(array, "")
        return None, array

    def strings(self, name) -> pa.Array:
        """A text column as one string per row (a missing value is an empty string)."""
        column = self.column(name)
        array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_floating(array.type) and len(array) and pc.any(pc.is_nan(array)).as_py():
            row = int(pc.index(pc.is_nan(array), True).as_py())
            raise self._error(row, f"missing {name} (NaN)")
        if not pa.types.is_large_string(array.type):
            array = array.cast(pa.large_string())
        return pc.fill_null(array, "") if array.null_count else array

    def numbers(self, name) -> np.ndarray:
        """A float64 array; raises InputError, with the CLI's wording, for anything but numbers."""
        column = self.column(name)
        if column.num_chunks != 1:
            column = column.combine_chunks() if len(column) else pa.array([], column.type)
        else:
            column = column.chunk(0)
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.dictionary_decode()
            kind = column.type
        if column.null_count:
            row = int(pc.index(pc.is_null(column), True).as_py())
            raise self._error(row, f"empty value in column '{name}'")
        if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
            array = column.cast(pa.float64()) if kind != pa.float64() else column
            return np.ascontiguousarray(array.to_numpy(zero_copy_only=False))
        if pa.types.is_string_view(kind):
            column, kind = column.cast(pa.large_string()), pa.large_string()
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            try:
                return np.ascontiguousarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                for row, text in enumerate(column.to_pylist()):
                    if not _is_number(text):
                        raise self._error(row, f"'{_cut(str(text), 40)}' in column '{name}' is not a number") from None
                raise
        first = column[0].as_py() if len(column) else None
        raise self._error(0, f"'{_cut(str(first), 40)}' in column '{name}' is not a number (the column holds {kind})")

    def take(self, rows) -> pd.DataFrame:
        """user_id and coupon_id of the given rows, with the input's types; text stays in Arrow
        memory (pandas' "string[pyarrow]" dtype) rather than becoming one Python object per row."""
        return pd.DataFrame({name: array.to_pandas(types_mapper=_ARROW_STRINGS.get) for name, array in self.take_arrays(rows).items()})

    def take_arrays(self, rows) -> dict:
        """user_id and coupon_id of the given rows, as Arrow arrays."""
        out = {}
        for name in ID_COLUMNS:
            codes, values = self.combined[name]
            out[name] = values.take(pa.array(rows if codes is None else codes[rows]))
        return out

    def _error(self, row, message):
        return InputError(f"{self.name}: row {self.first_row + row}: {message}", _native.ERR_INPUT)


#: Arrow text types as pandas' Arrow-backed string dtype (the default for text in pandas 3).
_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow"),
                  pa.string_view(): pd.StringDtype("pyarrow")}


def _is_text(kind) -> bool:
    """Arrow's text types: string, large_string, string_view."""
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


class _ArrowFrame(_Frame):
    def __init__(self, name, table: pa.Table):
        self.name = name
        self.table = table
        self.columns = [str(c) for c in table.column_names]
        self.combined = {}

    def column(self, name):
        return self.table.column(name)

    def text_ids(self):
        if self.table is not None:
            kinds = [self.table.schema.field(name).type for name in ID_COLUMNS]
        else:
            kinds = [self.schema.field(name).type for name in self._file_names(ID_COLUMNS)]
        kinds = [k.value_type if pa.types.is_dictionary(k) else k for k in kinds]
        return all(_is_text(k) for k in kinds)

    def rename(self, renames):
        if self.table is not None:
            self.table = self.table.rename_columns([renames.get(c, c) for c in self.table.column_names])
        self.columns = [renames.get(c, c) for c in self.columns]

    def chunks(self, names):
        self.load(names)
        self.rows = self.table.num_rows
        yield from self._batches(self.table, 0)

    def _batches(self, table, first):
        """(first row, _ArrowFrame) per record batch of the table (no copy), from row `first`."""
        batches = table.to_batches()
        if not batches:
            yield first, self._chunk(table, first)
        for batch in batches:
            yield first, self._chunk(pa.Table.from_batches([batch]), first)
            first += batch.num_rows

    def _chunk(self, table, first):
        chunk = _ArrowFrame(self.name, table.rename_columns([self._allot_name(c) for c in table.column_names]))
        chunk.first_row = first
        return chunk


    #: {file's name: Allot's name} for columns read from a file under another name (columns=).
    renames: dict = {}

    def _allot_name(self, name):
        return self.renames.get(name, name)

    def _file_names(self, names):
        """Allot's column names as the file calls them."""
        back = {allot: own for own, allot in self.renames.items()}
        return [back.get(n, n) for n in names]


class _ParquetFrame(_ArrowFrame):
    def __init__(self, path):
        import pyarrow.parquet as pq

        self.name = path
        try:
            self.metadata = pq.read_metadata(path)  # the footer, read once (`chunks` passes it on)
            self.schema = self.metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as error:
            raise InputError(f"{path}: cannot read as Parquet: {error}", _native.ERR_INPUT) from None
        self.columns = list(self.schema.names)
        self.table = None
        self.combined = {}

    @property
    def coded_users(self) -> bool:
        """Whether the file's user_id pages are (mostly) dictionary codes: under 4 bytes a row in
        all, where a plain string costs its 4-byte length and its bytes. A writer falls back to
        plain pages when a row group's dictionary outgrows its limit (pyarrow's: 1 MiB), as for
        user ids with few rows each, and Arrow must then hash every plain value to read the
        column as a dictionary: reading it plain is faster (docs/benchmarks.md, issue 9, session 8)."""
        metadata = self.metadata
        paths = [metadata.schema.column(k).path for k in range(metadata.num_columns)]
        users = self._file_names(["user_id"])[0]
        if users not in paths or metadata.num_row_groups == 0:
            return False
        k = paths.index(users)
        chunks = [metadata.row_group(g).column(k) for g in range(metadata.num_row_groups)]
        return all(c.has_dictionary_page for c in chunks) and sum(c.total_uncompressed_size for c in chunks) < 4 * metadata.num_rows

    def rename(self, renames):
        self.renames = dict(renames)
        self.columns = [renames.get(c, c) for c in self.columns]

    def load(self, names):
        import pyarrow.parquet as pq

        with self._reading():
            # User ids stay plain strings here: one dictionary per row group would cost more to
            # unify than the library's interning (`chunks` takes them a row group at a time).
            self.table = pq.read_table(self.name, columns=self._file_names(names),
                                       read_dictionary=self._file_names(self._dictionaries(names, users=False)))
            self.table = self.table.rename_columns([self._allot_name(c) for c in self.table.column_names])

    def chunks(self, names):
        """One chunk per row group; the next row group is read (by Arrow, without the GIL) on
        another thread while the library takes in the current one."""
        import pyarrow.parquet as pq
        from concurrent.futures import ThreadPoolExecutor

        with self._reading():
            file = _parquet_file(self.name, metadata=self.metadata,
                                 read_dictionary=self._file_names(self._dictionaries(names, users=self.coded_users)))
            groups = file.num_row_groups
            self.rows = file.metadata.num_rows
        if groups == 0:
            file.close()
            yield from super().chunks(names)
            return
        first = 0
        with file, ThreadPoolExecutor(1) as pool:
            pending = pool.submit(file.read_row_group, 0, columns=self._file_names(names))
            for k in range(groups):
                with self._reading():
                    table = pending.result()
                if k + 1 < groups:
                    pending = pool.submit(file.read_row_group, k + 1, columns=self._file_names(names))
                for chunk in self._batches(table, first):
                    yield chunk
                first += table.num_rows

    @staticmethod
    def _dictionaries(names, users):
        """The id columns read as dictionaries: they cross the ABI as codes, and the library
        looks up each entry the rows use once per chunk instead of one string per row. Coupons
        and channels (few) always; user ids when `users` (Parquet writers dictionary-encode text
        by default: Arrow then hands over the file's own dictionaries)."""
        return [n for n in ID_COLUMNS + ("channel",) if n in names and (n != "user_id" or users)]

    @contextmanager
    def _reading(self):
        try:
            yield
        except (OSError, pa.ArrowException) as error:
            raise InputError(f"{self.name}: cannot read as Parquet: {error}", _native.ERR_INPUT) from None


_POOL_LOCK = threading.Lock()


def _parquet_file(path, **options):
    """pq.ParquetFile(path, **options), whose row groups are decoded into jemalloc's memory where
    pyarrow has it. pyarrow's default, mimalloc, gives the memory of a row group back to the
    system soon after it is freed, and the next row group is decoded into fresh pages, each
    zeroed by the kernel; jemalloc keeps them for the next one (docs/benchmarks.md: the build of
    a 1e7-row file took 0.63 s instead of 0.83 s right after another large process). A reader
    takes its pool from pyarrow's default when it is made, so the default is switched for that
    moment only (under a lock, so that two solves at once restore it in turn)."""
    import pyarrow.parquet as pq

    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without it
        return pq.ParquetFile(path, **options)
    with _POOL_LOCK:
        previous = pa.default_memory_pool()
        pa.set_memory_pool(pool)
        try:
            return pq.ParquetFile(path, **options)
        finally:
            pa.set_memory_pool(previous)


class _CSVFrame(_ArrowFrame):
    def __init__(self, path):
        self.name = path
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                self.header = next(csv.reader(f), [])
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{path}: cannot read: {error}", _native.ERR_INPUT) from None
        self.columns = [c.strip(" \t") for c in self.header]
        self.table = None
        self.combined = {}

    def text_ids(self):
        return True  # read as large_string

    def load(self, names):
        import pyarrow.csv as pacsv

        ids = pa.large_string()
        wanted = {n: raw for n, raw in zip(self.columns, self.header) if n in names}
        try:
            self.table = pacsv.read_csv(
                self.name,
                read_options=pacsv.ReadOptions(column_names=self.columns, skip_rows=1),
                convert_options=pacsv.ConvertOptions(
                    include_columns=list(wanted),
                    column_types={n: ids for n in wanted if n in TEXT_COLUMNS},
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (OSError, pa.ArrowException) as error:
            raise InputError(f"{self.name}: {error}", _native.ERR_INPUT) from None


class _PandasFrame(_Frame):
    def __init__(self, df: pd.DataFrame, name="<DataFrame>"):
        self.name = name
        self.df = df
        self.rows = len(df)
        self.columns = [str(c) for c in df.columns]
        self.arrays = {}
        self.combined = {}

    def column(self, name):
        if name in self.arrays:
            return self.arrays[name]
        series = self.df[self.df.columns[self.columns.index(name)]]
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            array = pa.DictionaryArray.from_arrays(pa.array(series.cat.codes.to_numpy(), pa.int32(), mask=series.isna().to_numpy()),
                                                   pa.array(series.cat.categories.astype(str)))
        elif isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            array = pa.array(series.to_numpy())  # NaN stays NaN: the library reports it
        elif name in TEXT_COLUMNS and hasattr(series.array, "__arrow_array__"):
            # Arrow-backed text (pandas 3's default str, "string[pyarrow]", pd.ArrowDtype): its own
            # chunked array, not wrapped again (issue 25: 3 s a column at 2M rows, 7-10x slower
            # than the Parquet path after pd.read_parquet or pd.concat).
            array = series.array.__arrow_array__()
        elif name in TEXT_COLUMNS:
            try:
                array = pa.array(series, from_pandas=True)  # None and NaN become missing ids
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                array = pa.array(series.astype(str))
        else:
            try:
                array = pa.array(series, from_pandas=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                for row, value in enumerate(series):
                    if value is None or (isinstance(value, float) and np.isnan(value)):
                        raise self._error(row, f"empty value in column '{name}'") from None
                    if isinstance(value, bool) or not _is_number(value):
                        raise self._error(row, f"'{value}' in column '{name}' is not a number") from None
                array = pa.array(pd.to_numeric(series), from_pandas=False)
        self.arrays[name] = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
        return self.arrays[name]

    def rename(self, renames):
        self.columns = [renames.get(c, c) for c in self.columns]

    def take(self, rows):
        out = self.df[[self.df.columns[self.columns.index(n)] for n in ID_COLUMNS]].iloc[rows].reset_index(drop=True)
        out.columns = list(ID_COLUMNS)
        return out

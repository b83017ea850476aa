"""The C ABI under misuse and under threads: errors, never a crash."""
import ctypes
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import allot
from allot import _native
from conftest import read_scores

SPEC = {"budgets": [{"name": "cash", "limit": 2500}]}


def test_abi_version_and_header_agree():
    from conftest import CHECKOUT

    header = (CHECKOUT / "Sources/AllotC/include/allot.h").read_text()
    assert f"#define ALLOT_ABI_VERSION {allot.abi_version()}" in header
    for name in _native._FUNCTIONS:
        assert f" {name}(" in header or f"*{name}(" in header, name


def test_bad_handles_are_errors():
    lib = _native.lib()
    assert lib.allot_solve(None, b"dual", None) is None
    assert lib.allot_last_error_code() == _native.ERR_ARGUMENT
    assert b"handle is NULL" in lib.allot_last_error_message()
    assert lib.allot_result_count(12345) == -1
    assert b"not a live result handle" in lib.allot_last_error_message()
    lib.allot_problem_free(None)  # a no-op
    assert lib.allot_last_error_code() == 0


def test_double_free_and_use_after_free_are_errors():
    lib = _native.lib()
    names = [b"user_id", b"coupon_id", b"uplift", b"cost"]
    offsets = np.cumsum([0] + [len(n) for n in names]).astype(np.int64)
    data = np.frombuffer(b"".join(names), dtype=np.uint8)
    builder = lib.allot_builder_new(b"t", 4, offsets.ctypes.data, data.ctypes.data, len(data), None, None)
    assert builder
    lib.allot_builder_free(builder)
    assert lib.allot_last_error_code() == 0
    lib.allot_builder_free(builder)
    assert lib.allot_last_error_code() == _native.ERR_ARGUMENT
    assert lib.allot_builder_build(builder) is None
    assert b"not a live builder handle" in lib.allot_last_error_message()


def test_bad_dictionaries_are_errors():
    lib = _native.lib()
    names = [b"user_id", b"coupon_id", b"uplift", b"cost"]
    offsets = np.cumsum([0] + [len(n) for n in names]).astype(np.int64)
    data = np.frombuffer(b"".join(names), dtype=np.uint8)
    # offsets running past the data
    assert lib.allot_builder_new(b"t", 4, offsets.ctypes.data, data.ctypes.data, 3, None, None) is None
    assert b"outside" in lib.allot_last_error_message()
    builder = lib.allot_builder_new(b"t", 4, offsets.ctypes.data, data.ctypes.data, len(data), None, None)
    try:
        codes = np.array([0, 5], dtype=np.int32)  # 5 is outside a dictionary of one entry
        one = np.array([0, 1], dtype=np.int64)
        letter = np.frombuffer(b"u", dtype=np.uint8)
        values = np.array([1.0, 2.0])
        for column in (b"user_id", b"coupon_id"):
            assert lib.allot_builder_set_ids(builder, column, codes.ctypes.data, 2, 1, one.ctypes.data, letter.ctypes.data, 1) == 0
        assert lib.allot_builder_set_ids(builder, b"channel", codes.ctypes.data, 2, 1, one.ctypes.data, letter.ctypes.data, 1) != 0
        assert b"no channel column" in lib.allot_last_error_message()
        assert lib.allot_builder_set_numbers(builder, b"uplift", values.ctypes.data, 2) == 0
        assert lib.allot_builder_build(builder) is None  # cost not set
        assert b"the cost column was not set" in lib.allot_last_error_message()
        assert lib.allot_builder_set_numbers(builder, b"cost", values.ctypes.data, 1) == 0
        assert lib.allot_builder_build(builder) is None
        assert lib.allot_last_error_message() == b"t: column 'cost' has 1 values for 2 rows"
        assert lib.allot_builder_set_numbers(builder, b"cost", values.ctypes.data, 2) == 0
        assert lib.allot_builder_build(builder) is None
        assert lib.allot_last_error_code() == _native.ERR_INPUT
        assert lib.allot_last_error_message() == b"t: row 1: user_id code 5 is outside the dictionary of 1 entries"
    finally:
        lib.allot_builder_free(builder)


def test_errors_are_per_thread():
    lib = _native.lib()
    seen = {}

    def fail():
        lib.allot_solve(None, None, None)
        seen["other"] = lib.allot_last_error_code()

    assert lib.allot_abi_version() == _native.ABI_VERSION
    lib.allot_problem_candidates(None)  # an error on this thread
    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    assert seen["other"] == _native.ERR_ARGUMENT
    assert b"problem handle is NULL" in lib.allot_last_error_message()
    allot.methods()
    assert lib.allot_last_error_code() == _native.ERR_ARGUMENT  # methods() does not touch the record


def test_two_threads_solving_at_once(generated):
    """Independent solves on two threads give what each gives alone (the GIL is released in the
    foreign call, so they do run at the same time)."""
    df = read_scores(generated)
    halves = [df[df.user_id.str[-1].isin(list("01234"))], df[~df.user_id.str[-1].isin(list("01234"))]]
    specs = [SPEC, {"budgets": [{"name": "cash", "limit": 900}], "max_per_user": 2}]
    alone = [allot.solve(h, s, threads=1) for h, s in zip(halves, specs)]
    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            together = list(pool.map(lambda hs: allot.solve(hs[0], hs[1], threads=1), zip(halves, specs)))
        for a, t in zip(alone, together):
            assert t.summary["feasible"]
            pd.testing.assert_frame_equal(a.allocation, t.allocation)
            assert a.objective == t.objective and a.bound == t.bound


def test_a_thread_error_does_not_disturb_a_solve(generated):
    df = read_scores(generated)
    bad = df.copy()
    bad.loc[5, "cost"] = -1.0
    with ThreadPoolExecutor(2) as pool:
        good = pool.submit(allot.solve, df, SPEC)
        failing = pool.submit(allot.solve, bad, SPEC)
        with pytest.raises(allot.InputError, match="row 5: cost must be >= 0"):
            failing.result()
        assert good.result().summary["feasible"]


def test_the_gil_is_released_during_a_solve():
    """While one thread is inside allot_solve, another Python thread runs. The main thread
    samples the worker's Python frame (`sys._current_frames`) and lets go of the GIL after each
    look: it sees the worker stopped at the line of the call, with no result yet, many times
    over (about 1e5 here). A held GIL would let it look once, before the call enters C (checked
    by loading the library with ctypes.PyDLL: 1 look). No clock is read."""
    rng = np.random.default_rng(5)
    users, coupons = 200_000, 5
    df = pd.DataFrame({"user_id": np.repeat(np.arange(users), coupons).astype(str),
                       "coupon_id": np.tile(np.arange(coupons), users).astype(str),
                       "uplift": rng.gamma(2.0, 5.0, users * coupons), "cost": rng.uniform(1, 5, users * coupons)})
    lib = _native.lib()
    from allot._solve import _Frame, _Strings

    frame = _Frame.of(df)
    header = _Strings(frame.columns)
    builder = lib.allot_builder_new(b"t", header.count, header.offsets, header.data, header.length,
                                    b'{"budgets": [{"name": "cash", "limit": 100000}]}', b"spec")
    keep = []
    for name in ("user_id", "coupon_id"):
        codes, strings = frame.ids(name)
        strings = _Strings.arrow(strings)
        keep.append(strings)
        assert lib.allot_builder_set_strings(builder, name.encode(), strings.count, strings.offsets, strings.data, strings.length) == 0
    for name in ("uplift", "cost"):
        keep.append(frame.numbers(name))
        assert lib.allot_builder_set_numbers(builder, name.encode(), keep[-1].ctypes.data, len(keep[-1])) == 0
    problem = lib.allot_builder_build(builder)
    lib.allot_builder_free(builder)
    assert problem
    call = {}

    def run():
        call["result"] = lib.allot_solve(problem, b"greedy-marginal", b'{"threads": 1}')  # the sampled line

    call_line = run.__code__.co_firstlineno + 1
    worker = threading.Thread(target=run)
    worker.start()
    inside = 0
    while worker.is_alive():
        top = sys._current_frames().get(worker.ident)
        if top is not None and top.f_code is run.__code__ and top.f_lineno == call_line and "result" not in call:
            inside += 1
        time.sleep(0)  # let go of the GIL, so that the worker's call starts and its line is left behind
    worker.join()
    try:
        assert call["result"], lib.allot_last_error_message()
        assert inside >= 50, inside
    finally:
        lib.allot_result_free(call.get("result"))
        lib.allot_problem_free(problem)


def test_evaluation_handles_are_checked(generated):
    """Version 2's handles: wrong kinds, an allocation of another problem, both baselines: errors."""
    from allot._solve import _build, _Strings
    import pyarrow as pa

    lib = _native.lib()
    first, _ = _build(generated, SPEC, None, None)
    second, _ = _build(generated, SPEC, None, None)
    users, coupons = _Strings.arrow(pa.array(["u1"])), _Strings.arrow(pa.array(["c1"]))
    allocation = lib.allot_allocation_new(first, b"a", 1, users.offsets, users.data, coupons.offsets, coupons.data)
    try:
        assert allocation, lib.allot_last_error_message()
        assert lib.allot_evaluate(second, allocation, None, None, None) is None
        assert lib.allot_last_error_message() == b"the allocation was read for another problem"
        assert lib.allot_evaluate(first, first, None, None, None) is None
        assert lib.allot_last_error_message() == b"the handle is not an allocation"
        assert lib.allot_evaluate(first, allocation, None, b"random", allocation) is None
        assert b"not both" in lib.allot_last_error_message()
        assert lib.allot_evaluate(first, allocation, None, b"random", None) is None
        assert lib.allot_last_error_message() == b"a comparison needs a log"
        assert lib.allot_evaluate(first, allocation, None, b"best", None) is None
        assert lib.allot_last_error_code() == _native.ERR_ARGUMENT
        assert lib.allot_report_json(allocation) is None
        assert lib.allot_last_error_message() == b"the handle is not a report"
        report = lib.allot_evaluate(first, allocation, None, None, None)
        assert report and lib.allot_report_row_sets(report) == 0
        assert lib.allot_report_row_count(report, 0) == -1
        assert lib.allot_last_error_message() == b"row set 0 is outside 0..<0"
        lib.allot_report_free(report)
        lib.allot_report_free(report)
        assert lib.allot_last_error_code() == _native.ERR_ARGUMENT
    finally:
        lib.allot_allocation_free(allocation)
        lib.allot_problem_free(first)
        lib.allot_problem_free(second)


def test_appended_chunks_make_one_table_and_a_failed_append_ends_the_builder(generated):
    """allot_builder_append (version 3): rows appended in chunks, each chunk's arrays released
    straight after, give the problem and rows of the table set at once; a bad chunk fails with
    its table-wide row, and the builder then refuses further appends and builds."""
    from allot._solve import _Strings

    lib = _native.lib()
    df = read_scores(generated)[["user_id", "coupon_id", "uplift", "cost"]]
    header = _Strings(df.columns)
    spec = json.dumps({"budgets": [{"name": "cash", "limit": 2500}]}).encode()

    def builder():
        return lib.allot_builder_new(b"t", header.count, header.offsets, header.data, header.length, spec, b"spec")

    def set_columns(b, part):
        keep = []
        for name in ("user_id", "coupon_id"):
            strings = _Strings.arrow(pa.array(part[name].tolist(), pa.string()))
            keep.append(strings)
            assert lib.allot_builder_set_strings(b, name.encode(), strings.count, strings.offsets, strings.data, strings.length) == 0
        for name in ("uplift", "cost"):
            keep.append(np.ascontiguousarray(part[name].to_numpy(dtype=np.float64)))
            assert lib.allot_builder_set_numbers(b, name.encode(), keep[-1].ctypes.data, len(keep[-1])) == 0
        return keep

    def solved_rows(problem):
        result = lib.allot_solve(problem, b"dual", None)
        assert result, lib.allot_last_error_message()
        rows = np.empty(lib.allot_result_count(result), dtype=np.int64)
        assert lib.allot_result_copy_rows(result, rows.ctypes.data, len(rows)) == 0
        summary = json.loads(lib.allot_result_summary_json(result))
        lib.allot_result_free(result)
        lib.allot_problem_free(problem)
        assert summary["feasible"]
        return rows, summary["objective"]

    whole = builder()
    keep = set_columns(whole, df)
    expected = solved_rows(lib.allot_builder_build(whole))
    lib.allot_builder_free(whole)
    del keep

    chunked = builder()
    cuts = [0, 1, 1000, 1001, 5003, len(df)]  # a user split across chunks, a chunk of one row
    for start, end in zip(cuts, cuts[1:]):
        keep = set_columns(chunked, df.iloc[start:end])
        assert lib.allot_builder_append(chunked, len(df)) == 0, lib.allot_last_error_message()
        del keep  # copied by the append
    rows, objective = solved_rows(lib.allot_builder_build(chunked))
    lib.allot_builder_free(chunked)
    assert np.array_equal(rows, expected[0]) and objective == expected[1]

    failing = builder()
    try:
        keep = set_columns(failing, df.iloc[:10])
        assert lib.allot_builder_append(failing, 0) == 0
        bad = df.iloc[10:20].copy()
        bad.iloc[3, bad.columns.get_loc("cost")] = -1.0
        keep = set_columns(failing, bad)
        assert lib.allot_builder_append(failing, 0) == _native.ERR_INPUT
        assert lib.allot_last_error_message() == b"t: row 13: cost must be >= 0, got -1.0"
        keep = set_columns(failing, df.iloc[10:20])
        assert lib.allot_builder_append(failing, 0) == _native.ERR_ARGUMENT
        assert lib.allot_builder_build(failing) is None
        assert lib.allot_last_error_message() == b"an earlier append failed (t: row 13: cost must be >= 0, got -1.0)"
        assert lib.allot_builder_append(failing, -1) == _native.ERR_ARGUMENT
    finally:
        lib.allot_builder_free(failing)
        del keep


def test_the_allocation_read_from_a_result_is_the_tables(generated):
    """Version 4: the allocation's ids and values read back from a result are the table's own
    rows (ids as given, values as given), in the order of the result's rows, also for rows not
    grouped by user; a column the allocation has not, or too small a buffer, is an error."""
    from allot._solve import _build, _result_allocation

    lib = _native.lib()
    df = read_scores(generated).sample(frac=1.0, random_state=3).reset_index(drop=True)
    problem, _ = _build(df, SPEC, None, None)
    result = lib.allot_solve(problem, b"dual", None)
    lib.allot_problem_free(problem)  # the result keeps what it needs
    try:
        assert result, lib.allot_last_error_message()
        rows = np.empty(lib.allot_result_count(result), dtype=np.int64)
        assert lib.allot_result_copy_rows(result, rows.ctypes.data, len(rows)) == 0
        assert len(rows) > 100 and np.any(np.diff(rows) < 0)
        allocation = _result_allocation(lib, result, len(rows))
        chosen = df.iloc[rows].reset_index(drop=True)
        for name in ("user_id", "coupon_id"):
            assert allocation[name].tolist() == chosen[name].astype(str).tolist()
        for name in ("uplift", "cost"):
            assert np.array_equal(allocation[name].to_numpy(), chosen[name].to_numpy())
        assert lib.allot_result_ids_length(result, b"channel") == -1
        assert lib.allot_last_error_message() == b"'channel' is not an id column of the allocation (user_id, coupon_id)"
        out = np.empty(len(rows), dtype=np.float64)
        assert lib.allot_result_copy_values(result, b"weight", out.ctypes.data, len(out)) == _native.ERR_ARGUMENT
        assert lib.allot_last_error_message() == b"'weight' is not a numeric column of the problem (uplift, cost)"
        assert lib.allot_result_copy_values(result, b"cost", out.ctypes.data, len(out) - 1) == _native.ERR_ARGUMENT
        offsets = np.empty(len(rows) + 1, dtype=np.int64)
        length = lib.allot_result_ids_length(result, b"user_id")
        data = np.empty(length, dtype=np.uint8)
        assert lib.allot_result_copy_ids(result, b"user_id", offsets.ctypes.data, data.ctypes.data, length - 1) == _native.ERR_ARGUMENT
        assert lib.allot_last_error_message() == f"data_capacity {length - 1} is below the {length} bytes".encode()
    finally:
        lib.allot_result_free(result)


def test_spark_kernel_refuses_a_user_too_large_for_it_instead_of_aborting():
    """Issue 25, finding 3: one user with many candidates and max_per_user > 1 made the Spark
    kernel allocate k(k-1)/2 crossing points and abort the worker; it is now an InputError."""
    from allot.spark import _kernel

    lib = _kernel.lib()
    k = 8193  # k(k-1)/2 = 33,558,528 > 2**25
    user_start = np.array([0, k], dtype=np.int64)
    uplift = np.linspace(1, 2, k)
    cost = np.ones(k)
    cap = np.full(k, -1, dtype=np.int32)
    eligible = np.ones(k, dtype=np.uint8)
    budgets = (ctypes.c_void_p * 1)(cost.ctypes.data)
    args = (k, 1, user_start.ctypes.data, uplift.ctypes.data, cost.ctypes.data, 1, budgets, 0, cap.ctypes.data,
            None, 0, None)
    handle = lib.allot_spark_table_new(*args, 2, 0, 0.0, eligible.ctypes.data)
    assert handle == 0
    assert lib.allot_last_error_code() == _native.ERR_INPUT
    assert lib.allot_last_error_message().decode() == (
        "allot.spark: a user has 8193 candidates with max_per_user 2: allot.spark's kernel would hold "
        "33558528 crossing points for that user (more than 33554432); solve such users with allot.solve on one machine")
    # One candidate fewer fits, and is accepted (freed at once).
    handle = lib.allot_spark_table_new(k - 1, 1, np.array([0, k - 1], dtype=np.int64).ctypes.data, *args[3:], 2, 0, 0.0,
                                       eligible.ctypes.data)
    assert handle != 0
    lib.allot_spark_table_free(handle)

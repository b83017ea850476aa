"""Issue 26 (Python writes and reads as safely as the CLI) and the Python findings of issue 25.

Every allocation here comes from allot.solve, whose library call runs the verifier on it (an
allocation that fails is a SolveError, never a Result).
"""
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import allot
from conftest import CHECKOUT, run_cli

SCORES = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2", "u3"], "coupon_id": ["a", "b", "a", "b", "a"],
                       "uplift": [5.0, 3.0, 4.0, 6.0, 1.0], "cost": [2.0, 1.0, 2.0, 3.0, 1.0]})
SPEC = {"budgets": [{"name": "budget", "limit": 5}]}
#: The optimum of SCORES under SPEC, by brute force over the 3 x 3 x 2 choices (one coupon a user).
OPTIMUM = 11.0


def brute_force(df, limit):
    best = 0.0
    choices = [[None] + list(rows.index) for _, rows in df.groupby("user_id")]
    import itertools

    for pick in itertools.product(*choices):
        rows = [r for r in pick if r is not None]
        if df.loc[rows, "cost"].sum() <= limit:
            best = max(best, df.loc[rows, "uplift"].sum())
    return best


def test_the_known_optimum():
    assert brute_force(SCORES, 5) == OPTIMUM
    assert allot.solve(SCORES, SPEC, method="milp-glpk").objective == OPTIMUM


# --- Result.write goes through the library's OutputFiles ---------------------------------------

def old_pair(tmp_path):
    a, s = tmp_path / "allocation.csv", tmp_path / "summary.json"
    a.write_text("old allocation\n")
    s.write_text("old summary\n")
    return a, s


def test_write_is_the_clis_pair_with_its_hash(cli, tmp_path):
    result = allot.solve(SCORES, SPEC)
    a, s = tmp_path / "allocation.csv", tmp_path / "summary.json"
    result.write(a, s)
    summary = json.loads(s.read_text())
    assert summary["allocation_sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()
    assert summary["allocation_rows"] == len(result.allocation)
    SCORES.to_csv(tmp_path / "scores.csv", index=False)
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    run_cli(cli, "solve", tmp_path / "scores.csv", "--spec", tmp_path / "spec.json", "--out", tmp_path / "cli.csv",
            "--summary", tmp_path / "cli.json")
    assert a.read_bytes() == (tmp_path / "cli.csv").read_bytes()
    cli_summary = json.loads((tmp_path / "cli.json").read_text())
    for key in ("allocation_sha256", "allocation_rows", "objective", "assignments"):
        assert summary[key] == cli_summary[key]
    assert list(tmp_path.glob(".allot-tmp-*")) == []


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory", "device"])
def test_write_refuses_special_files_and_keeps_the_old_pair(tmp_path, kind):
    result = allot.solve(SCORES, SPEC)
    a, s = old_pair(tmp_path)
    target = tmp_path / "special"
    if kind == "symlink":
        os.symlink(a, target)
        reason = "it is a symbolic link"
    elif kind == "fifo":
        os.mkfifo(target)
        reason = "it is not a regular file"
    elif kind == "directory":
        target.mkdir()
        reason = "it is a directory"
    else:
        target = "/dev/null"
        reason = "it is not a regular file"
    with pytest.raises(allot.InputError, match=f"^{re.escape(str(target))}: cannot write output: {reason}"):
        result.write(target, s)
    assert a.read_text() == "old allocation\n" and s.read_text() == "old summary\n"
    if kind == "symlink":
        assert os.path.islink(target)
    if kind == "device":
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert list(tmp_path.glob(".allot-tmp-*")) == []


def test_write_refuses_one_file_named_twice(tmp_path):
    result = allot.solve(SCORES, SPEC)
    a, _ = old_pair(tmp_path)
    os.symlink(a, tmp_path / "link.json")
    for other in (tmp_path / "." / "allocation.csv", tmp_path / "link.json"):
        with pytest.raises(allot.InputError, match="is the same file as the other output"):
            result.write(a, other)
    assert a.read_text() == "old allocation\n"


def test_write_on_a_full_disk_keeps_the_old_pair(tmp_path):
    """A file-size limit stands for a full disk (as the CLI's test does): the write fails with
    InputError naming the file, and neither old file is replaced."""
    a, s = old_pair(tmp_path)
    child = f"""
import resource, signal, sys
import numpy as np, pandas as pd, allot
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
n = 20000
df = pd.DataFrame({{"user_id": np.arange(n).astype(str), "coupon_id": "a", "uplift": 1.0, "cost": 1.0}})
result = allot.solve(df, budget=n)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
try:
    result.write({str(a)!r}, {str(s)!r})
except allot.InputError as error:
    print(type(error).__name__, error)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"InputError {re.escape(str(a))}: cannot write output: File too large\n", done.stdout), done.stdout
    assert a.read_text() == "old allocation\n" and s.read_text() == "old summary\n"
    assert list(tmp_path.glob(".allot-tmp-*")) == []


def test_write_respects_the_umask(tmp_path):
    result = allot.solve(SCORES, SPEC)
    previous = os.umask(0o027)
    try:
        result.write(tmp_path / "a.csv", tmp_path / "s.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "a.csv").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "s.json").st_mode) == 0o640


def test_write_parquet_hash_and_argument_types(tmp_path):
    result = allot.solve(SCORES, SPEC)
    result.write(tmp_path / "a.parquet", tmp_path / "s.json")
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["allocation_sha256"] == hashlib.sha256((tmp_path / "a.parquet").read_bytes()).hexdigest()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), result.allocation, check_dtype=False)
    with pytest.raises(TypeError):
        result.write(3)
    with pytest.raises(TypeError):
        result.write()


# --- reading: string_view, large_string, Polars, pandas ------------------------------------------

def same_allocation(a, b):
    assert a.objective == b.objective
    pd.testing.assert_frame_equal(a.allocation.astype({"user_id": str, "coupon_id": str}),
                                  b.allocation.astype({"user_id": str, "coupon_id": str}), check_dtype=False)


@pytest.mark.parametrize("kind", [pa.string_view(), pa.large_string(), pa.dictionary(pa.int32(), pa.string_view())])
def test_string_view_and_large_string_ids(kind):
    table = pa.Table.from_pandas(SCORES, preserve_index=False)
    viewed = table.set_column(0, "user_id", table["user_id"].cast(kind)).set_column(1, "coupon_id", table["coupon_id"].cast(kind))
    same_allocation(allot.solve(viewed, SPEC), allot.solve(table, SPEC))
    assert allot.solve(viewed, SPEC).objective == OPTIMUM


def test_a_polars_frame():
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(SCORES)
    result = allot.solve(frame, SPEC)
    same_allocation(result, allot.solve(SCORES, SPEC))
    # Polars' own text layout (string_view) and a lazy frame's collected result, chunked.
    chunked = pl.concat([frame.head(2), frame.tail(3)], rechunk=False)
    same_allocation(allot.solve(chunked, SPEC), result)
    with pytest.raises(allot.InputError, match=r"^<DataFrame>: row 2: cost must be >= 0"):
        allot.solve(frame.with_columns(pl.Series("cost", [1.0, 1.0, -1.0, 1.0, 1.0])), SPEC)


def test_a_chunked_pandas_text_column_is_read_as_one():
    """pd.concat and pd.read_parquet give text columns of several Arrow chunks (issue 25 #4)."""
    halves = [SCORES.iloc[:2].astype({"user_id": "string[pyarrow]", "coupon_id": "string[pyarrow]"}),
              SCORES.iloc[2:].astype({"user_id": "string[pyarrow]", "coupon_id": "string[pyarrow]"})]
    joined = pd.concat(halves, ignore_index=True)
    assert joined["user_id"].array.__arrow_array__().num_chunks == 2
    same_allocation(allot.solve(joined, SPEC), allot.solve(SCORES, SPEC))


# --- issue 25 #5: a missing user id of any dtype -----------------------------------------------

@pytest.mark.parametrize("users, message", [
    (pd.Series([1.0, np.nan, 3.0]), "missing user_id (NaN)"),
    (pd.Series(["1", None, "3"], dtype=object), "empty user_id"),
    (pd.Series(["1", None, "3"], dtype="string[pyarrow]"), "empty user_id"),
    (pd.array([1, None, 3], dtype="Int64"), "empty user_id"),
    (pd.Categorical(["1", None, "3"]), "empty user_id"),
])
def test_a_missing_user_id_is_refused_with_its_row(users, message):
    df = pd.DataFrame({"user_id": users, "coupon_id": ["a"] * 3, "uplift": [1, 100, 2], "cost": [1, 1, 1]})
    with pytest.raises(allot.InputError, match=f"^<DataFrame>: row 1: {re.escape(message)}"):
        allot.solve(df, budget=1)
    table = pa.table({"user_id": pa.array([1.0, float("nan"), 3.0]), "coupon_id": ["a"] * 3, "uplift": [1.0, 100, 2], "cost": [1.0] * 3})
    with pytest.raises(allot.InputError, match=r"^<Table>: row 1: missing user_id \(NaN\)"):
        allot.solve(table, budget=1)


# --- issue 25 #6: no budget -----------------------------------------------------------------------

def test_no_budget_is_refused_unless_asked_for(cli, tmp_path):
    message = "no budget: give budget=, budgets in the spec, or no_budget=True to allocate without any"
    for call in (lambda: allot.solve(SCORES), lambda: allot.solve(SCORES, max_per_user=2), lambda: allot.solve(SCORES, {"max_per_user": 1})):
        with pytest.raises(allot.InputError, match=f"^{re.escape(message)}$"):
            call()
    free = allot.solve(SCORES, no_budget=True)
    assert free.objective == 5 + 6 + 1  # each user's best coupon
    with pytest.raises(allot.InputError, match="contradict"):
        allot.solve(SCORES, budget=3, no_budget=True)
    SCORES.to_csv(tmp_path / "scores.csv", index=False)
    refused = run_cli(cli, "solve", tmp_path / "scores.csv", check=False)
    assert refused.returncode == 64 and "no budget" in refused.stderr
    assert "allocation" in run_cli(cli, "solve", tmp_path / "scores.csv", "--no-budget", "--json", "--out", tmp_path / "a.csv").stdout


# --- issue 25 #11 (Python) -----------------------------------------------------------------------

def test_numpy_numbers_in_a_spec():
    spec = {"budgets": [{"name": "budget", "limit": np.int64(5)}], "max_per_user": np.int32(1),
            "coupon_caps": {"a": np.float64(3)}}
    assert allot.solve(SCORES, spec).objective == OPTIMUM
    assert allot.solve(SCORES, budget=np.float32(5)).objective == OPTIMUM
    with pytest.raises(allot.InputError, match="is not a JSON value"):
        allot.solve(SCORES, {"budgets": [{"name": "b", "limit": object()}]})


def test_a_column_mapping(tmp_path):
    renamed = SCORES.rename(columns={"uplift": "tau", "user_id": "customer"})
    mapping = {"uplift": "tau", "user_id": "customer"}
    same_allocation(allot.solve(renamed, SPEC, columns=mapping), allot.solve(SCORES, SPEC))
    pq.write_table(pa.Table.from_pandas(renamed, preserve_index=False), tmp_path / "renamed.parquet")
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    for source in (pa.Table.from_pandas(renamed, preserve_index=False), tmp_path / "renamed.parquet", tmp_path / "renamed.csv"):
        assert allot.solve(source, SPEC, columns=mapping).objective == OPTIMUM
    with pytest.raises(allot.InputError, match="columns= maps 'uplift' to 'score', which the scores do not have"):
        allot.solve(renamed, SPEC, columns={"uplift": "score"})
    with pytest.raises(allot.InputError, match="but the scores have a 'cost' column too"):
        allot.solve(SCORES.assign(price=1.0), SPEC, columns={"cost": "price"})
    with pytest.raises(TypeError):
        allot.solve(SCORES, SPEC, columns=["uplift"])


def test_a_wide_uplift_matrix():
    """causalml's predict() gives n x k uplifts, one column per treatment."""
    matrix = np.array([[5.0, 3.0], [4.0, 6.0], [1.0, -1.0]])
    cost = np.array([[2.0, 1.0], [2.0, 3.0], [1.0, 1.0]])
    result = allot.solve(matrix, SPEC, coupons=["a", "b"], cost=cost, users=["u1", "u2", "u3"])
    assert result.objective == OPTIMUM - 0  # u3's coupon b (uplift -1) is never worth giving
    long = allot.scores_from_matrix(matrix, ["a", "b"], cost, ["u1", "u2", "u3"]).to_pandas()
    assert brute_force(long, 5) == result.objective
    per_coupon = allot.solve(pd.DataFrame(matrix), SPEC, coupons=["a", "b"], cost=[2.0, 1.0])
    assert per_coupon.objective == brute_force(allot.scores_from_matrix(matrix, ["a", "b"], [2.0, 1.0]).to_pandas(), 5)
    with pytest.raises(allot.InputError, match="coupons= has 3 names for the matrix's 2 columns"):
        allot.solve(matrix, SPEC, coupons=["a", "b", "c"], cost=1.0)
    with pytest.raises(TypeError, match="give coupons= and cost="):
        allot.solve(matrix, SPEC)


def test_a_short_repr_and_html():
    result = allot.solve(SCORES, SPEC)
    text = repr(result)
    assert len(text) < 200 and text.startswith("<allot.Result dual: ") and "objective 11" in text
    assert "<table>" in result._repr_html_() and len(result._repr_html_()) < 5000


# --- issue 26 #5: the small ones ----------------------------------------------------------------

def test_uplifts_that_would_overflow_are_refused(cli, tmp_path):
    df = pd.DataFrame({"user_id": ["u1", "u2"], "coupon_id": ["a", "a"], "uplift": [1.7e308, 1.7e308], "cost": [1.0, 1.0]})
    message = "the values of column 'uplift' sum past 1.7976931348623157e+308"
    with pytest.raises(allot.InputError, match=f"^<DataFrame>: {re.escape(message)}.*scale the column down$"):
        allot.solve(df, budget=2)
    df.to_csv(tmp_path / "big.csv", index=False)
    done = run_cli(cli, "solve", tmp_path / "big.csv", "--budget", 2, check=False)
    assert done.returncode == 1 and message in done.stderr and len(done.stderr.splitlines()) == 1
    # One large uplift alone is fine, and its summary holds numbers only.
    ok = allot.solve(df.head(1), budget=2)
    assert ok.objective == 1.7e308 and "inf" not in json.dumps(ok.summary)


def test_gap_zero_is_accepted_as_on_the_cli(cli, tmp_path):
    assert allot.solve(SCORES, SPEC, gap=0).objective == OPTIMUM
    assert allot.solve(SCORES, SPEC, method="milp-glpk", gap=0).summary["status"] == "optimal"
    SCORES.to_csv(tmp_path / "scores.csv", index=False)
    run_cli(cli, "solve", tmp_path / "scores.csv", "--budget", 5, "--gap", 0, "--out", tmp_path / "a.csv")
    for bad in (1, -0.5):
        with pytest.raises(allot.InputError, match=re.escape(f"option 'gap' is {float(bad)}; it must be a number in [0, 1)")):
            allot.solve(SCORES, SPEC, gap=bad)
        cli_done = run_cli(cli, "solve", tmp_path / "scores.csv", "--budget", 5, f"--gap={bad}", check=False)
        assert f"--gap is {float(bad)}; it must be a number in [0, 1)" in cli_done.stderr


def test_a_closed_pipe_is_exit_1_with_a_message(cli, tmp_path):
    n = 50000
    pd.DataFrame({"user_id": np.arange(n), "coupon_id": "a", "uplift": 1.0, "cost": 1.0}).to_csv(tmp_path / "s.csv", index=False)
    read, write = os.pipe()
    os.close(read)
    done = subprocess.run([cli, "solve", str(tmp_path / "s.csv"), "--budget", str(n)], stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    assert done.returncode == 1, done
    assert done.stderr.strip().endswith("<stdout>: cannot write output: Broken pipe")


def test_long_ids_are_cut_in_messages(cli, tmp_path):
    long_id = "x" * (1 << 20)
    df = pd.DataFrame({"user_id": [long_id, long_id], "coupon_id": ["a", "a"], "uplift": [1.0, 2.0], "cost": [1.0, 1.0]})
    with pytest.raises(allot.InputError) as caught:
        allot.solve(df, budget=1)
    message = str(caught.value)
    assert len(message) < 400 and f"(cut from {1 << 20} characters)" in message and "duplicate row" in message
    df.to_csv(tmp_path / "long.csv", index=False)
    done = run_cli(cli, "solve", tmp_path / "long.csv", "--budget", 1, check=False)
    assert done.returncode == 1 and len(done.stderr) < 400 and "cut from" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_between_the_renames_cannot_split_the_pair(cli, tmp_path, sig):
    """The CLI pauses between its two renames (ALLOT_TEST_PAUSE_BETWEEN_RENAMES); the signal
    sent then is held until both files are in place: the pair is the new one, and matches."""
    SCORES.to_csv(tmp_path / "scores.csv", index=False)
    a, s = old_pair(tmp_path)
    env = dict(os.environ, ALLOT_TEST_PAUSE_BETWEEN_RENAMES="3")
    process = subprocess.Popen([cli, "solve", str(tmp_path / "scores.csv"), "--budget", "5", "--out", str(a), "--summary", str(s)],
                               env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while a.read_text() == "old allocation\n" and time.monotonic() < deadline:  # the first rename is done
        time.sleep(0.02)
    process.send_signal(sig)
    process.wait(60)
    assert process.returncode == -sig
    summary = json.loads(s.read_text())
    assert summary["allocation_sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()
    assert list(tmp_path.glob(".allot-tmp-*")) == []

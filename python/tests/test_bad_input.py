"""Bad input raises allot.InputError with the CLI's message; the interpreter never crashes.

Each case builds a small table, writes it as CSV for the CLI, and checks that the Python message
is the CLI's with "row N" (0-based position in the table) where the CLI says "line N+2, column C".
"""
import io
import math
import re

import numpy as np
import pandas as pd
import pytest

import allot
from conftest import CHECKOUT, cli_error

GOOD = "user_id,coupon_id,uplift,cost\nu1,c1,5.0,1.0\nu1,c2,3.0,2.0\nu2,c1,4.0,1.5\n"


def frame(text):
    return pd.read_csv(io.StringIO(text), dtype={"user_id": str, "coupon_id": str}, keep_default_na=False)


def python_error(scores, spec=None, **kwargs):
    with pytest.raises(allot.InputError) as caught:
        allot.solve(scores, spec if spec is not None else {"budgets": [{"name": "budget", "limit": 10}]}, **kwargs)
    return str(caught.value)


def same_as_cli(cli, tmp_path, text, df, spec=None):
    """Checks the Python message against the CLI's for the same rows, and returns it."""
    expected = cli_error(cli, text, tmp_path, spec)
    got = python_error(df, spec)
    place, message = re.match(r"[^:]+:(\d+)(?::\d+)?: (.*)", expected).groups()
    assert got.startswith("<DataFrame>: "), got
    got_message = got[len("<DataFrame>: "):]
    if got_message.startswith("row "):
        row, got_message = re.match(r"row (\d+): (.*)", got_message).groups()
        assert int(row) == int(place) - 2, (got, expected)
    # the CLI points back at a line, the table at a row
    message = re.sub(r"\(first at line (\d+)\)", lambda m: f"(first at row {int(m.group(1)) - 2})", message)
    assert got_message == message, (got, expected)
    return got


def test_negative_cost(cli, tmp_path):
    text = GOOD.replace("u1,c2,3.0,2.0", "u1,c2,3.0,-2.0")
    assert same_as_cli(cli, tmp_path, text, frame(text)) == "<DataFrame>: row 1: cost must be >= 0, got -2.0"


def test_nan_cost_and_uplift(cli, tmp_path):
    for column, value in (("cost", "nan"), ("uplift", "inf")):
        text = GOOD.replace("u2,c1,4.0,1.5", "u2,c1,inf,1.5" if column == "uplift" else "u2,c1,4.0,nan")
        df = frame(GOOD)
        df[column] = df[column].astype(float)
        df.loc[2, column] = float(value)
        assert "row 2: " in same_as_cli(cli, tmp_path, text, df)


def test_missing_values_in_a_numeric_column(cli, tmp_path):
    text = GOOD.replace("u1,c2,3.0,2.0", "u1,c2,3.0,")
    df = frame(GOOD)
    df["cost"] = pd.array([1.0, None, 1.5], dtype="Float64")
    assert same_as_cli(cli, tmp_path, text, df) == "<DataFrame>: row 1: empty value in column 'cost'"


def test_missing_columns(cli, tmp_path):
    text = GOOD.replace("cost", "price")
    assert same_as_cli(cli, tmp_path, text, frame(text), spec={}) == \
        "<DataFrame>: missing required column 'cost' in the header (found: user_id,coupon_id,uplift,price)"
    text2 = "user_id,uplift\nu1,1\n"
    assert "missing required columns 'coupon_id', 'cost'" in same_as_cli(cli, tmp_path, text2, frame(text2), spec={})


def test_budget_on_a_missing_column(cli, tmp_path):
    spec = {"budgets": [{"name": "sms", "column": "sms_units", "limit": 5}]}
    expected = cli_error(cli, GOOD, tmp_path, spec)
    got = python_error(frame(GOOD), spec)
    # the CLI names its files; the message after them is the same
    assert got.split(": ", 1)[1] == expected.split(": ", 1)[1].replace(str(tmp_path / "bad.csv"), "<DataFrame>")


def test_wrong_dtypes(cli, tmp_path):
    text = GOOD.replace("u1,c2,3.0,2.0", "u1,c2,3.0,abc")
    df = frame(GOOD).astype({"cost": object})
    df.loc[1, "cost"] = "abc"
    assert same_as_cli(cli, tmp_path, text, df) == "<DataFrame>: row 1: 'abc' in column 'cost' is not a number"
    df = frame(GOOD)
    df["uplift"] = [True, False, True]
    assert "in column 'uplift' is not a number" in python_error(df)
    df = frame(GOOD)
    df["cost"] = pd.to_datetime(["2026-01-01"] * 3)
    assert "in column 'cost' is not a number" in python_error(df)


def test_duplicate_pairs(cli, tmp_path):
    text = GOOD + "u1,c1,2.0,1.0\n"
    got = same_as_cli(cli, tmp_path, text, frame(text))
    assert got == "<DataFrame>: row 3: duplicate row for user 'u1' and coupon 'c1' (first at row 0)"


def test_duplicate_pairs_in_parquet_name_the_file(tmp_path):
    df = frame(GOOD + "u2,c1,2.0,1.0\n")
    df.to_parquet(tmp_path / "dup.parquet")
    assert python_error(tmp_path / "dup.parquet").startswith(f"{tmp_path / 'dup.parquet'}: row 3: duplicate row for user 'u2'")


def test_empty_ids(cli, tmp_path):
    df = frame(GOOD)
    df.loc[1, "user_id"] = None
    assert python_error(df) == "<DataFrame>: row 1: empty user_id"
    text = GOOD.replace("u2,c1", "u2,")
    assert same_as_cli(cli, tmp_path, text, frame(text)) == "<DataFrame>: row 2: empty coupon_id"


def test_rows_are_counted_across_parquet_row_groups(cli, tmp_path):
    """Bad values in a later row group (read and appended chunk by chunk) are named by their row
    in the whole table, with the CLI's message; a repeated pair across row groups too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def parquet_error(text, name):
        df = frame(text)
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / name, row_group_size=2)
        return python_error(tmp_path / name)

    rows = GOOD + "u2,c2,1.0,1.0\nu3,c1,2.0,1.0\nu3,c2,2.0,-3.0\n"
    expected = cli_error(cli, rows, tmp_path)  # bad.csv:7:4: cost must be >= 0, got -3.0
    assert expected.startswith(str(tmp_path / "bad.csv") + ":7:")
    assert parquet_error(rows, "negative.parquet") == f"{tmp_path / 'negative.parquet'}: row 5: " + expected.split(": ", 1)[1]
    duplicate = GOOD + "u2,c2,1.0,1.0\nu2,c1,2.0,1.0\n"
    assert parquet_error(duplicate, "duplicate.parquet") == \
        f"{tmp_path / 'duplicate.parquet'}: row 4: duplicate row for user 'u2' and coupon 'c1' (first at row 2)"
    df = frame(rows.replace("-3.0", "3.0"))
    df["cost"] = df["cost"].where(df.index != 4)  # a null in the third row group
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "null.parquet", row_group_size=2)
    assert python_error(tmp_path / "null.parquet") == f"{tmp_path / 'null.parquet'}: row 4: empty value in column 'cost'"
    # user ids as dictionary codes, a dictionary per chunk (as a Parquet file's row groups are
    # read when it holds them so): an empty entry, or a null code, in a later chunk
    for missing in ("", None):
        df = frame(rows.replace("-3.0", "3.0"))
        df.loc[5, "user_id"] = missing
        batches = [batch.set_column(0, "user_id", batch.column(0).dictionary_encode())
                   for batch in pa.Table.from_pandas(df, preserve_index=False).to_batches(max_chunksize=2)]
        assert pa.types.is_dictionary(batches[2].schema.field("user_id").type)
        assert python_error(pa.Table.from_batches(batches)) == "<Table>: row 5: empty user_id"


def test_bad_spec(cli, tmp_path):
    assert python_error(frame(GOOD), {"budgets": [{"name": "b", "limit": -1}]}) == \
        "spec: budget 'b' has limit -1.0; a limit must be a finite number >= 0"
    assert python_error(frame(GOOD), {"budget": 3}).startswith("spec: unknown key 'budget'")
    (tmp_path / "spec.json").write_text('{"budgets": [')
    assert python_error(frame(GOOD), tmp_path / "spec.json").startswith(f"{tmp_path / 'spec.json'}: malformed JSON: ")
    assert python_error(frame(GOOD), tmp_path / "absent.json").endswith("cannot read: No such file or directory")


def test_empty_table_and_missing_file(tmp_path):
    assert python_error(frame(GOOD).head(0)) == "<DataFrame>: the table has no rows"
    assert "no such file" in python_error(tmp_path / "absent.parquet")


def test_method_and_option_errors():
    with pytest.raises(allot.InputError, match="unknown method 'best'"):
        allot.solve(frame(GOOD), None, method="best", budget=10)
    with pytest.raises(allot.InputError, match="unknown option 'thread'"):
        allot.solve(frame(GOOD), None, thread=2, budget=10)
    # The ranges are the library's one table (SolveOptions.validate), as for the CLI's flags.
    with pytest.raises(allot.InputError, match=re.escape("option 'threads' is 0; it must be a whole number from 1 to 4096")):
        allot.solve(frame(GOOD), None, threads=0, budget=10)
    with pytest.raises(allot.InputError, match=re.escape("option 'gap' is 1.0; it must be a number in [0, 1)")):
        allot.solve(frame(GOOD), None, gap=1, budget=10)
    with pytest.raises(allot.InputError, match=re.escape("option 'time_limit' is -1.0; it must be a finite number of seconds > 0")):
        allot.solve(frame(GOOD), None, time_limit=-1, budget=10)


def test_random_bad_inputs_raise_only_the_documented_types(tmp_path):
    """A property test (python/tests/fuzz/fuzz_inputs.py's cases, in-process): random bad frames,
    tables, files, specs and arguments give a Result (verified by the library), InputError or
    TypeError, and nothing else (python/README.md, "Errors"). The fuzz script runs thousands of
    them in child processes, where a crash or a hang would be caught too."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fuzz_inputs", CHECKOUT / "python/tests/fuzz/fuzz_inputs.py")
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    outcomes = {seed: fuzz.run_case(seed, str(tmp_path)) for seed in range(5000, 5080)}
    unexpected = {seed: outcome for seed, outcome in outcomes.items() if outcome[0] not in fuzz.ALLOWED}
    assert unexpected == {}
    assert {outcome for outcome, _ in outcomes.values()} >= {"InputError", "TypeError"}

"""allot.solve gives the CLI's allocation and summary, from every kind of input."""
import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import allot
from conftest import CHECKOUT, cli_solve, read_scores

SPEC = {"budgets": [{"name": "cash", "column": "cost", "limit": 2500}], "max_per_user": 1,
        "channel_caps": {"push": 1}}


def without_time(summary):
    """The summary less the solve's time and what describes the CLI's allocation file (no file
    is written by allot.solve)."""
    return {k: v for k, v in summary.items() if k not in ("wall_seconds", "allocation_sha256", "allocation_rows")}


def assert_matches_cli(result, cli_allocation, cli_summary):
    assert result.summary["feasible"] is True  # the library's verifier passed
    assert without_time(result.summary) == without_time(cli_summary)
    assert result.allocation[["user_id", "coupon_id"]].values.tolist() == cli_allocation[["user_id", "coupon_id"]].values.tolist()
    assert np.array_equal(result.allocation["uplift"].to_numpy(), cli_allocation["uplift"].to_numpy())
    assert np.array_equal(result.allocation["cost"].to_numpy(), cli_allocation["cost"].to_numpy())


@pytest.mark.parametrize("method", ["dual", "greedy-ratio", "greedy-marginal"])
def test_dataframe_gives_the_cli_allocation(cli, generated, tmp_path, method):
    cli_allocation, cli_summary = cli_solve(cli, generated, SPEC, tmp_path, "--method", method, "--threads", 2)
    result = allot.solve(read_scores(generated), SPEC, method=method, threads=2)
    assert_matches_cli(result, cli_allocation, cli_summary)


def test_every_input_kind_gives_the_cli_allocation(cli, generated, tmp_path):
    cli_allocation, cli_summary = cli_solve(cli, generated, SPEC, tmp_path)
    df = read_scores(generated)
    df.to_parquet(tmp_path / "scores.parquet", index=False)
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    for scores in (generated, str(generated), tmp_path / "scores.parquet", pa.Table.from_pandas(df, preserve_index=False),
                   df.astype({"user_id": "category", "coupon_id": "category"})):
        assert_matches_cli(allot.solve(scores, tmp_path / "spec.json"), cli_allocation, cli_summary)


def test_row_order_and_dictionary_order_do_not_change_the_allocation(cli, generated, tmp_path):
    """Rows shuffled, ids given as categoricals in another order: the same assignments."""
    df = read_scores(generated)
    base = allot.solve(df, SPEC)
    shuffled = df.sample(frac=1.0, random_state=3)
    result = allot.solve(shuffled.astype({"coupon_id": pd.CategoricalDtype(sorted(df.coupon_id.unique(), reverse=True))}), SPEC)
    key = lambda a: sorted(map(tuple, a[["user_id", "coupon_id"]].values.tolist()))
    assert result.summary["feasible"]
    assert result.objective == pytest.approx(base.objective, rel=1e-9)
    assert key(result.allocation) == key(base.allocation)
    # rows point back into the frame given
    picked = shuffled.iloc[result.rows]
    assert picked["user_id"].tolist() == result.allocation["user_id"].tolist()


def test_bound_gap_and_shadow_prices(generated):
    result = allot.solve(read_scores(generated), SPEC)
    assert result.summary["feasible"]
    assert result.bound == result.summary["upper_bound"] >= result.objective == pytest.approx(result.summary["objective"])
    assert result.gap == result.summary["relative_gap"]
    assert result.shadow_prices == result.summary["shadow_prices"]
    assert result.shadow_prices["budget:cash"] > 0
    spend = result.allocation["cost"].sum()
    assert spend <= 2500 * (1 + 1e-9)
    assert result.allocation.groupby("user_id").size().max() == 1


def test_exact_method_and_budget_override(cli, generated, tmp_path):
    df = read_scores(generated).head(400)  # 100 users: small enough for the exact method
    df.to_csv(tmp_path / "small.csv", index=False)
    cli_allocation, cli_summary = cli_solve(cli, tmp_path / "small.csv", {}, tmp_path, "--method", "milp-glpk", "--budget", 300)
    result = allot.solve(df, None, method="milp-glpk", budget=300)
    assert_matches_cli(result, cli_allocation, cli_summary)
    assert result.summary["status"] == "optimal"
    dual = allot.solve(df, {"budgets": [{"name": "budget", "limit": 300}]})
    assert dual.objective <= result.objective * (1 + 1e-9) and result.objective <= dual.bound * (1 + 1e-9)


def test_the_quickstart_is_finished_exactly_as_on_the_cli(cli, tmp_path):
    """The default dual finishes a small model exactly with CBC (issue 25, finding 10): on the
    quickstart it reaches the optimum CBC proves, with the CLI's summary; exact_finish_limit=0
    (--exact-finish-limit 0) gives the dual alone, with its open gap."""
    folder = CHECKOUT / "examples" / "quickstart"
    spec = json.loads((folder / "spec.json").read_text())
    df = read_scores(folder / "scores.csv")
    cli_allocation, cli_summary = cli_solve(cli, folder / "scores.csv", spec, tmp_path)
    result = allot.solve(df, spec)
    assert_matches_cli(result, cli_allocation, cli_summary)
    exact = allot.solve(df, spec, method="milp-cbc", gap=0)
    assert result.summary["status"] == "optimal" and result.gap == 0
    assert result.objective == pytest.approx(exact.objective, rel=1e-12)
    assert "COIN-OR CBC finished it exactly" in result.summary["notes"][-1]
    alone_allocation, alone_summary = cli_solve(cli, folder / "scores.csv", spec, tmp_path, "--exact-finish-limit", 0)
    alone = allot.solve(df, spec, exact_finish_limit=0)
    assert_matches_cli(alone, alone_allocation, alone_summary)
    assert alone.gap > 0.01 and alone.objective < result.objective <= alone.bound


def test_parquet_in_and_out(generated, tmp_path):
    df = read_scores(generated)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "scores.parquet", row_group_size=1000)
    pool = pa.default_memory_pool()
    result = allot.solve(tmp_path / "scores.parquet", SPEC)
    assert result.summary["feasible"]
    assert pa.default_memory_pool().backend_name == pool.backend_name  # the reader's pool was switched back
    result.write(tmp_path / "allocation.parquet", tmp_path / "summary.json")
    back = pd.read_parquet(tmp_path / "allocation.parquet")
    pd.testing.assert_frame_equal(back, result.allocation, check_dtype=False)
    written = json.loads((tmp_path / "summary.json").read_text())
    # The library's OutputFiles wrote the pair: the summary records the Parquet file's own hash.
    assert written.pop("allocation_sha256") == hashlib.sha256((tmp_path / "allocation.parquet").read_bytes()).hexdigest()
    assert written.pop("allocation_rows") == len(result.allocation)
    assert written == result.summary
    assert list(tmp_path.glob(".allot-tmp-*")) == []


def test_row_groups_and_record_batches_give_the_cli_allocation(cli, generated, tmp_path):
    """A Parquet file of many row groups (a user's rows split across two of them, each row group
    with its own coupon dictionary) and a table of many record batches: taken in chunk by chunk,
    the allocation, summary and rows are the CLI's and the one-chunk table's."""
    cli_allocation, cli_summary = cli_solve(cli, generated, SPEC, tmp_path)
    df = read_scores(generated)
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, tmp_path / "groups.parquet", row_group_size=777)
    assert pq.ParquetFile(tmp_path / "groups.parquet").num_row_groups > 5
    batches = pa.Table.from_batches(table.to_batches(max_chunksize=1001))
    assert batches.column("user_id").num_chunks > 5
    whole = allot.solve(df, SPEC)
    for scores in (tmp_path / "groups.parquet", batches):
        result = allot.solve(scores, SPEC)
        assert_matches_cli(result, cli_allocation, cli_summary)
        assert np.array_equal(result.rows, whole.rows)
        assert df.iloc[result.rows]["user_id"].tolist() == result.allocation["user_id"].tolist()
    # user ids as dictionary codes (the writer's default, read as each row group's dictionary),
    # as plain strings, and as a dictionary that overflowed its page into plain pages (read plain)
    from allot._solve import _ParquetFrame
    for name, options, coded in (("coded", {}, True), ("plain", {"use_dictionary": ["coupon_id"]}, False),
                                 ("fallback", {"dictionary_pagesize_limit": 64, "write_batch_size": 16}, False)):
        pq.write_table(table, tmp_path / f"{name}.parquet", row_group_size=777, **options)
        assert _ParquetFrame(str(tmp_path / f"{name}.parquet")).coded_users == coded
        result = allot.solve(tmp_path / f"{name}.parquet", SPEC)
        assert_matches_cli(result, cli_allocation, cli_summary)
        assert np.array_equal(result.rows, whole.rows)
    # rows not grouped by user: the allocation's rows come from the row groups out of order
    shuffled = df.sample(frac=1.0, random_state=5).reset_index(drop=True)
    pq.write_table(pa.Table.from_pandas(shuffled, preserve_index=False), tmp_path / "shuffled.parquet", row_group_size=777)
    result = allot.solve(tmp_path / "shuffled.parquet", SPEC)
    assert result.summary["feasible"] and np.any(np.diff(result.rows) < 0)
    assert result.objective == pytest.approx(whole.objective, rel=1e-9)
    chosen = shuffled.iloc[result.rows].reset_index(drop=True)
    assert chosen[["user_id", "coupon_id"]].values.tolist() == result.allocation[["user_id", "coupon_id"]].values.tolist()
    assert np.array_equal(chosen["uplift"].to_numpy(), result.allocation["uplift"].to_numpy())
    assert np.array_equal(chosen["cost"].to_numpy(), result.allocation["cost"].to_numpy())


def test_extra_budget_column(generated):
    df = read_scores(generated)
    df["sms_units"] = (df["channel"] == "push").astype(float)
    spec = {"budgets": [{"name": "cash", "limit": 2500}, {"name": "pushes", "column": "sms_units", "limit": 50}]}
    result = allot.solve(df, spec)
    assert result.summary["feasible"]
    chosen = df.iloc[result.rows]
    assert chosen["sms_units"].sum() <= 50
    assert [b["name"] for b in result.summary["budgets"]] == ["cash", "pushes"]


def test_integer_ids_keep_their_type(generated):
    df = read_scores(generated)
    df["user_id"] = df["user_id"].str.lstrip("u").astype(np.int64)
    result = allot.solve(df, SPEC)
    assert result.allocation["user_id"].dtype == np.int64
    assert result.summary["feasible"]


def test_installed_package_solves_outside_the_checkout(generated, tmp_path):
    """A fresh interpreter in another directory imports the installed package, not the sources."""
    script = f"""
import allot, pandas as pd
print(allot.__file__)
print(allot.library_path())
r = allot.solve(pd.read_csv({str(generated)!r}, dtype={{'user_id': str, 'coupon_id': str}}), budget=1000)
print(r.summary['feasible'], len(r.allocation))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    module, library, verdict = done.stdout.strip().splitlines()
    assert not module.startswith(str(CHECKOUT)), module
    assert library.startswith(module.rsplit("/", 1)[0])
    assert verdict.startswith("True ")

"""allot.spark on a local[2] SparkSession: the single-machine solver's results, feasibility checked
independently, the same allocation whatever the partitioning, and clear errors on bad input.

One SparkSession for the module (Spark takes seconds to start); the instances are small.
"""
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark 'pandas<3')")

import allot  # noqa: E402
from allot import spark as allot_spark  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("allot-spark-tests")
               .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def scores(users=600, coupons=5, seed=1, channels=False, extra=False):
    """Random scores: every user gets 1..coupons candidates; uplift and cost correlated."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        offered = rng.choice(coupons, size=rng.integers(1, coupons + 1), replace=False)
        for c in sorted(offered):
            cost = float(np.round(rng.uniform(1, 10) * (1 + c), 2))
            uplift = float(np.round(cost * rng.uniform(0.05, 0.6) + rng.normal(0, 0.3), 3))
            row = {"user_id": f"u{u:05d}", "coupon_id": f"c{c}", "uplift": uplift, "cost": cost}
            if channels:
                row["channel"] = ["push", "email"][c % 2]
            if extra:
                row["points"] = float(rng.integers(0, 5))
            rows.append(row)
    return pd.DataFrame(rows)


def independent_check(allocation: pd.DataFrame, frame: pd.DataFrame, spec: dict):
    """Feasibility recomputed with pandas from the input, not from Allot's numbers."""
    merged = allocation[["user_id", "coupon_id"]].merge(frame, on=["user_id", "coupon_id"], how="left", validate="one_to_one")
    assert merged["uplift"].notna().all(), "an assignment is not a candidate"
    for b in spec.get("budgets", []):
        assert merged[b.get("column", "cost")].sum() <= b["limit"] * (1 + 1e-9) + 1e-9
    assert merged.groupby("user_id").size().max() <= spec.get("max_per_user", 1)
    for c, cap in spec.get("coupon_caps", {}).items():
        assert (merged["coupon_id"] == c).sum() <= cap
    for h, cap in spec.get("channel_caps", {}).items():
        per = merged[merged["channel"] == h].groupby("user_id").size()
        assert per.empty or per.max() <= cap
    if "min_roi" in spec:
        assert merged["uplift"].sum() >= spec["min_roi"] * merged["cost"].sum() - 1e-9
    return float(merged["uplift"].sum())


def assert_schema(summary):
    """A summary against docs/summary.schema.json, as the CLI's are checked (jsonschema)."""
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "summary.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(summary)), schema, cls=jsonschema.Draft202012Validator)


def to_pandas(result):
    return result.allocation.toPandas().sort_values(["user_id", "coupon_id"]).reset_index(drop=True)


def test_sort_order_is_numpys_stable_argsort():
    """The layout's counting sort of (user, coupon) ranks, against numpy on every small case."""
    from allot.spark._layout import sort_order

    rng = np.random.default_rng(0)
    for n in range(30):
        for span in sorted({1, max(1, n // 2), n + 1, 4 * n, 4 * n + 1, 5 * n + 3}):
            cases = [rng.integers(0, span, n)] + ([rng.permutation(span)[:n]] if span >= n else [])
            for keys in cases:
                assert np.array_equal(sort_order(keys, span), np.argsort(keys, kind="stable"))


def test_one_budget_gives_the_single_machine_multiplier_and_objective(spark):
    frame = scores()
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 1500}]}
    single = allot.solve(frame, spec, exact_finish_limit=0)  # allot.spark has no exact finish
    result = allot_spark.solve(spark.createDataFrame(frame), spec, partitions=3)
    assert result.summary["feasible"]
    assert_schema(result.summary)
    assert result.summary["budgets"][0]["shadow_price"] == result.shadow_prices["budget:cash"]
    assert result.shadow_prices["budget:cash"] == pytest.approx(single.shadow_prices["budget:cash"], rel=1e-12)
    assert result.objective == pytest.approx(single.objective, rel=1e-9)
    assert result.bound >= result.objective
    assert result.bound == pytest.approx(single.bound, rel=1e-9)
    assert independent_check(to_pandas(result), frame, spec) == pytest.approx(result.objective, rel=1e-12)
    assert result.rounds["dual"] <= 6


def test_a_wrong_consumption_prediction_costs_a_round_not_the_answer(spark, monkeypatch):
    """One budget: the recovery starts from the consumption at the multiplier that the driver
    computes from the listed breakpoints; if the chunks report another, the moves are asked again."""
    from allot.spark import _driver

    frame = scores()
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 1500}]}
    df = spark.createDataFrame(frame)
    right = allot_spark.solve(df, spec, partitions=2)
    exact = _driver._exact_single

    def off_by_a_thousandth(*args):
        multiplier, bound, consumption = exact(*args)
        return multiplier, bound, consumption * 0.999

    monkeypatch.setattr(_driver, "_exact_single", off_by_a_thousandth)
    wrong = allot_spark.solve(df, spec, partitions=2)
    assert wrong.rounds["recover"] == right.rounds["recover"] + 1
    assert to_pandas(wrong).equals(to_pandas(right))
    assert wrong.objective == right.objective and wrong.bound == right.bound


def test_rounds_inside_the_layout_and_verification_jobs_change_nothing(spark, monkeypatch):
    """The first multiplier round runs in the layout job, and the recovery round after a fill
    step in the job that makes and verifies the allocation: the same answer as with each round
    a job of its own."""
    from allot.spark import _driver

    frame = scores(users=400, seed=7, channels=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 1000}], "max_per_user": 2, "channel_caps": {"push": 1}}
    df = spark.createDataFrame(frame)
    fused = allot_spark.solve(df, spec, partitions=2)
    assert fused.rounds["dual_in_check"] == 1 and fused.rounds["recover_in_verification"] == 1
    monkeypatch.setattr(_driver.Plan, "first_round", lambda self: None)
    recover = _driver._recover
    monkeypatch.setattr(_driver, "_recover", lambda *args: recover(*args[:-1]))  # without its `finish`
    separate = allot_spark.solve(df, spec, partitions=2)
    assert "dual_in_check" not in separate.rounds and "recover_in_verification" not in separate.rounds
    assert (separate.rounds["dual"], separate.rounds["recover"]) == (fused.rounds["dual"], fused.rounds["recover"])
    assert to_pandas(separate).equals(to_pandas(fused))
    assert (separate.objective, separate.bound, separate.shadow_prices) == (fused.objective, fused.bound, fused.shadow_prices)
    assert fused.summary["feasible"]
    assert independent_check(to_pandas(fused), frame, spec) == pytest.approx(fused.objective, rel=1e-12)


def test_several_per_user_one_budget_with_channel_caps(spark):
    frame = scores(users=300, channels=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 900}], "max_per_user": 2, "channel_caps": {"push": 1}}
    single = allot.solve(frame, spec, exact_finish_limit=0)  # allot.spark has no exact finish
    result = allot_spark.solve(spark.createDataFrame(frame), spec, partitions=2)
    assert result.shadow_prices["budget:cash"] == pytest.approx(single.shadow_prices["budget:cash"], rel=1e-12)
    assert result.objective == pytest.approx(single.objective, rel=1e-6)
    assert independent_check(to_pandas(result), frame, spec) == pytest.approx(result.objective, rel=1e-12)


def test_several_constraints_objective_and_a_valid_bound(spark):
    frame = scores(users=800, extra=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 2000}, {"name": "points", "column": "points", "limit": 700}],
            "coupon_caps": {"c1": 60, "c3": 40}, "min_roi": 0.1}
    single = allot.solve(frame, spec, exact_finish_limit=0)  # allot.spark has no exact finish
    result = allot_spark.solve(spark.createDataFrame(frame), spec, partitions=2, gap=1e-6)
    objective = independent_check(to_pandas(result), frame, spec)
    assert objective == pytest.approx(result.objective, rel=1e-12)
    # The bound is valid: no allocation beats it, in particular not the single machine's.
    assert result.bound >= single.objective * (1 - 1e-12)
    assert result.objective == pytest.approx(single.objective, rel=1e-6)


def test_same_allocation_with_1_2_and_7_partitions(spark):
    frame = scores(users=500, seed=4, extra=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 1200}, {"name": "points", "column": "points", "limit": 500}]}
    df = spark.createDataFrame(frame)
    results = [allot_spark.solve(df, spec, partitions=p, max_rounds=5) for p in (1, 2, 7)]
    allocations = [to_pandas(r)[["user_id", "coupon_id"]].values.tolist() for r in results]
    assert allocations[0] == allocations[1] == allocations[2]
    assert results[0].shadow_prices == results[1].shadow_prices == results[2].shadow_prices


def test_a_warm_start_from_a_sample_is_the_same_whatever_the_partitioning(spark):
    """sample_users: the descent starts from the multipliers of the users whose ids hash below a
    threshold, solved on the driver: the same users, so the same allocation, with 1, 2 and 7
    partitions; a valid bound and a feasible allocation."""
    frame = scores(users=800, seed=5, extra=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 2000}, {"name": "points", "column": "points", "limit": 700}],
            "coupon_caps": {"c1": 60, "c3": 40}}
    df = spark.createDataFrame(frame)
    results = [allot_spark.solve(df, spec, partitions=p, sample_users=100) for p in (1, 2, 7)]
    assert all(r.rounds["sample"] == 1 for r in results)
    allocations = [to_pandas(r)[["user_id", "coupon_id"]].values.tolist() for r in results]
    assert allocations[0] == allocations[1] == allocations[2]
    assert results[0].shadow_prices == results[1].shadow_prices == results[2].shadow_prices
    single = allot.solve(frame, spec, exact_finish_limit=0)  # allot.spark has no exact finish
    assert results[0].summary["feasible"]
    assert independent_check(to_pandas(results[0]), frame, spec) == pytest.approx(results[0].objective, rel=1e-12)
    assert results[0].bound >= single.objective * (1 - 1e-12)


def test_same_allocation_whatever_the_chunks(spark):
    # Chunks of at most 40 candidates (whole users: a chunk may hold more when one user does not
    # fit) against the default, which holds each partition in one chunk.
    frame = scores(users=400, seed=6, channels=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 1000}], "max_per_user": 2, "channel_caps": {"push": 1}}
    df = spark.createDataFrame(frame)
    whole, small = (allot_spark.solve(df, spec, partitions=2, chunk_rows=c) for c in (1 << 20, 40))
    assert to_pandas(whole)[["user_id", "coupon_id"]].values.tolist() == to_pandas(small)[["user_id", "coupon_id"]].values.tolist()
    assert whole.shadow_prices == small.shadow_prices
    assert independent_check(to_pandas(small), frame, spec) == pytest.approx(small.objective, rel=1e-12)


def test_the_descent_stops_at_the_target_gap(spark):
    frame = scores(users=800, extra=True)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 2000}, {"name": "points", "column": "points", "limit": 700}],
            "coupon_caps": {"c1": 60, "c3": 40}}
    single = allot.solve(frame, spec, exact_finish_limit=0)  # allot.spark has no exact finish
    result = allot_spark.solve(spark.createDataFrame(frame), spec, partitions=2, gap=1e-2, check_every=2)
    # stopped by a gap check (an even round), before the rounds ran out, with the gap reached
    assert result.rounds_to_gap is not None and result.rounds_to_gap % 2 == 0
    assert result.rounds["dual"] == result.rounds_to_gap < 40
    assert result.gap <= 1e-2
    assert result.bound >= single.objective * (1 - 1e-12)
    assert independent_check(to_pandas(result), frame, spec) == pytest.approx(result.objective, rel=1e-12)


def test_bad_input_gives_a_clear_error(spark):
    frame = scores(users=20)
    spec = {"budgets": [{"name": "cash", "limit": 50}]}
    with pytest.raises(allot.InputError, match=r"^scores: missing column 'cost' \(columns: user_id, coupon_id, uplift\)$"):
        allot_spark.solve(spark.createDataFrame(frame.drop(columns="cost")), spec)
    nulls = frame.astype({"uplift": "object"})
    nulls.loc[7, "uplift"] = None
    who = f"user_id '{frame.user_id[7]}', coupon_id '{frame.coupon_id[7]}'"
    with pytest.raises(allot.InputError, match=rf"^scores: null value in column 'uplift' \({who}\)$"):
        allot_spark.solve(spark.createDataFrame(nulls, "user_id string, coupon_id string, uplift double, cost double"), spec)
    negative = frame.copy()
    negative.loc[3, "cost"] = -1.0
    with pytest.raises(allot.InputError, match=r"^scores: cost must be a finite number >= 0, got -1.0"):
        allot_spark.solve(spark.createDataFrame(negative), spec)
    with pytest.raises(allot.InputError, match=r"coupon_caps names coupon 'nope', which is not in the scores"):
        allot_spark.solve(spark.createDataFrame(frame), {**spec, "coupon_caps": {"nope": 1}})
    # a spend floor is refused in one line, not dropped (an allocation would break it in silence)
    with pytest.raises(allot.InputError, match=r"^spec: budget 'cash' has a spend floor \(min\), which allot.spark does not take yet; "):
        allot_spark.solve(spark.createDataFrame(frame), {"budgets": [{"name": "cash", "limit": 50, "min": 40}]})
    with pytest.raises(allot.InputError, match=r"^spec: unknown key 'coupon_floors'"):
        allot_spark.solve(spark.createDataFrame(frame), {**spec, "coupon_floors": {"c1": 1}})
    # two repeated pairs: the error names the first in (user_id, coupon_id) order, whatever the partitioning
    repeated = pd.concat([frame, frame.iloc[[40, 9]]], ignore_index=True)
    first = min((frame.user_id[i], frame.coupon_id[i]) for i in (40, 9))
    for partitions in (1, 3):
        with pytest.raises(allot.InputError, match=rf"^scores: repeated \(user_id, coupon_id\) pair \(user_id '{first[0]}', coupon_id '{first[1]}'\)$"):
            allot_spark.solve(spark.createDataFrame(repeated), spec, partitions=partitions)


def test_command_line_writes_parquet_and_summary(spark, tmp_path):
    from allot.spark.__main__ import main

    frame = scores(users=200, seed=9)
    frame.to_parquet(tmp_path / "scores.parquet", index=False)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 400}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out, summary = tmp_path / "allocation.parquet", tmp_path / "summary.json"
    assert main([str(tmp_path / "scores.parquet"), "--spec", str(tmp_path / "spec.json"), "--out", str(out), "--summary", str(summary)]) == 0
    allocation = pd.read_parquet(out).sort_values(["user_id", "coupon_id"])
    written = json.loads(summary.read_text())
    assert written["feasible"] is True
    assert_schema(written)
    assert independent_check(allocation, frame, spec) == pytest.approx(written["objective"], rel=1e-12)
    assert written["objective"] == pytest.approx(allot.solve(frame, spec, exact_finish_limit=0).objective, rel=1e-9)
    # bad input: exit status 1, nothing written
    assert main([str(tmp_path / "missing.parquet"), "--spec", str(tmp_path / "spec.json"), "--out", str(tmp_path / "never")]) == 1
    assert not (tmp_path / "never").exists()


def test_executors_that_cannot_import_allot_get_one_clear_error(tmp_path):
    """Issue 25, finding 8: executors whose Python lacks allot (here a bare venv, given as
    PYSPARK_PYTHON) make `python -m allot.spark` fail with one line naming the module, that
    Python, PYSPARK_PYTHON and the packed-environment route, not a Py4J traceback; nothing is
    written."""
    import subprocess
    import sys

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    scores(users=50, seed=3).to_parquet(tmp_path / "scores.parquet", index=False)
    (tmp_path / "spec.json").write_text(json.dumps({"budgets": [{"name": "cash", "column": "cost", "limit": 100}]}))
    env = dict(os.environ, PYSPARK_PYTHON=str(python), SPARK_LOCAL_IP="127.0.0.1")
    out = tmp_path / "allocation.parquet"
    done = subprocess.run([sys.executable, "-m", "allot.spark", str(tmp_path / "scores.parquet"), "--spec",
                           str(tmp_path / "spec.json"), "--out", str(out), "--master", "local[2]"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 3, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: allot.spark: the Spark executors cannot import '"), last
    assert f"(their Python: {python})" in last and "PYSPARK_PYTHON" in last and "packed environment" in last
    assert not out.exists()


def test_the_command_line_runs_its_executors_on_its_own_python(tmp_path):
    """Issue 25, finding 8: with PYSPARK_PYTHON unset, `python -m allot.spark` gives the executors
    its own interpreter, even when the `python3` first on the PATH (here a bare venv's) lacks
    allot: a local master ignores spark.pyspark.python, so the command sets PYSPARK_PYTHON."""
    import subprocess
    import sys

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    frame = scores(users=50, seed=4)
    frame.to_parquet(tmp_path / "scores.parquet", index=False)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": 100}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if k != "PYSPARK_PYTHON"}
    env.update(PATH=f"{bare / 'bin'}{os.pathsep}{os.environ['PATH']}", SPARK_LOCAL_IP="127.0.0.1")
    out, summary = tmp_path / "allocation.parquet", tmp_path / "summary.json"
    done = subprocess.run([sys.executable, "-m", "allot.spark", str(tmp_path / "scores.parquet"), "--spec",
                           str(tmp_path / "spec.json"), "--out", str(out), "--summary", str(summary), "--master", "local[2]"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    written = json.loads(summary.read_text())
    assert written["feasible"] is True
    assert independent_check(pd.read_parquet(out), frame, spec) == pytest.approx(written["objective"], rel=1e-12)

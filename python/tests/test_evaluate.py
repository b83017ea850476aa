"""allot.evaluate and allot.frontier give the CLI's figures (`allot evaluate --json`, `allot frontier
--csv`) on the same input, every frontier point passes the CLI's verifier, and bad input raises."""
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

import allot
from conftest import read_scores, run_cli

SPEC = {"budgets": [{"name": "cash", "column": "cost", "limit": 2500}], "max_per_user": 1,
        "channel_caps": {"push": 1}}


@pytest.fixture(scope="module")
def scene(cli, tmp_path_factory):
    """Scores with a randomised log from `allot generate`, a spec, and two CLI allocations."""
    here = tmp_path_factory.mktemp("evaluate")
    scores, log = here / "scores.csv", here / "log.csv"
    run_cli(cli, "generate", "--users", 1500, "--coupons", 4, "--channels", "push,email", "--seed", 11,
            "--out", scores, "--log", log, "--spec", here / "generated-spec.json")
    spec = here / "spec.json"
    spec.write_text(json.dumps(SPEC))
    for method in ("dual", "greedy-ratio"):
        run_cli(cli, "solve", scores, "--spec", spec, "--method", method, "--out", here / f"{method}.csv")
    return here


def without_time(report):
    return {k: v for k, v in report.items() if k != "wall_seconds"}


def cli_evaluate(cli, scene, allocation, *extra, status=0):
    done = run_cli(cli, "evaluate", scene / "scores.csv", allocation, "--spec", scene / "spec.json", "--json", *extra,
                   check=False)
    assert done.returncode == status, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("against", [None, "random", "none", "other"])
def test_evaluate_gives_the_cli_report(cli, scene, against):
    extra = ["--log", scene / "log.csv"]
    kwargs = {"log": pd.read_csv(scene / "log.csv", dtype={"user_id": str, "treatment": str}, float_precision="round_trip")}
    if against is not None:
        name = str(scene / "greedy-ratio.csv") if against == "other" else against
        extra += ["--against", name]
        kwargs["against"] = name
    expected = cli_evaluate(cli, scene, scene / "dual.csv", *extra)
    got = allot.evaluate(read_scores(scene / "scores.csv"), scene / "dual.csv", scene / "spec.json", **kwargs)
    assert without_time(got) == without_time(expected)
    if against is not None:
        comparison = got["policy_comparison"]
        assert comparison["ci95_low"] < comparison["difference"] < comparison["ci95_high"]


def test_evaluate_takes_a_result_and_a_log_path(cli, scene):
    result = allot.solve(scene / "scores.csv", SPEC)
    expected = cli_evaluate(cli, scene, scene / "dual.csv", "--log", scene / "log.csv", "--against", "random")
    got = allot.evaluate(scene / "scores.csv", result, SPEC, log=scene / "log.csv", against="random")
    assert without_time(got) == without_time(expected)
    assert got["feasible"] is True and got["objective"] == result.objective


def test_evaluate_reads_parquet_and_compares_with_a_result(cli, scene):
    """Scores, allocation and log as Parquet; the baseline a Result: the CLI's figures."""
    for name in ("scores", "log", "dual"):
        pd.read_csv(scene / f"{name}.csv", dtype=str).pipe(
            lambda t: t.astype({c: float for c in t.columns if c in ("uplift", "cost", "outcome")})
        ).to_parquet(scene / f"{name}.parquet", index=False)
    expected = cli_evaluate(cli, scene, scene / "dual.csv", "--log", scene / "log.csv", "--against", scene / "greedy-ratio.csv")
    baseline = allot.solve(scene / "scores.parquet", SPEC, method="greedy-ratio")
    got = allot.evaluate(scene / "scores.parquet", scene / "dual.parquet", SPEC, log=scene / "log.parquet", against=baseline)
    assert got["policy_comparison"]["against"] == "<against DataFrame>"
    for report in (got, expected):
        report["policy_comparison"]["against"] = "baseline"
    assert without_time(got) == without_time(expected)


def test_evaluate_reports_an_infeasible_allocation(cli, scene):
    """The dual's allocation at 2500 breaks a budget of 1000: reported with the CLI's violations."""
    tight = dict(SPEC, budgets=[{"name": "cash", "column": "cost", "limit": 1000}])
    (scene / "tight.json").write_text(json.dumps(tight))
    done = run_cli(cli, "evaluate", scene / "scores.csv", scene / "dual.csv", "--spec", scene / "tight.json", "--json",
                   check=False)
    assert done.returncode == 3
    got = allot.evaluate(scene / "scores.csv", scene / "dual.csv", tight)
    assert got["feasible"] is False and got["violations"]
    assert without_time(got) == without_time(json.loads(done.stdout))


def cli_message(cli, scene, *args):
    done = run_cli(cli, "evaluate", scene / "scores.csv", *args, check=False)
    assert done.returncode == 1, done.stderr
    return done.stderr.strip().split("error: ", 1)[1]


def test_bad_allocations_raise_the_cli_message(cli, scene):
    dual = pd.read_csv(scene / "dual.csv", dtype=str)
    cases = {
        "user 'nobody' is not in the scores": dual.assign(user_id=["nobody"] + list(dual.user_id[1:])),
        "has no score for coupon 'c99'": dual.assign(coupon_id=["c99"] + list(dual.coupon_id[1:])),
        "repeat": pd.concat([dual, dual.iloc[[0]]], ignore_index=True),
    }
    for fragment, table in cases.items():
        path = scene / "bad-allocation.csv"
        table.to_csv(path, index=False)
        expected = cli_message(cli, scene, path, "--spec", scene / "spec.json")
        with pytest.raises(allot.InputError) as caught:
            allot.evaluate(scene / "scores.csv", table, SPEC)
        got = str(caught.value)
        assert fragment in got
        line, message = re.match(r"[^:]+:(\d+):\d+: (.*)", expected).groups()
        message = re.sub(r"repeat line (\d+)", lambda m: f"repeat row {int(m.group(1)) - 2}", message)
        assert got == f"<allocation DataFrame>: row {int(line) - 2}: {message}", (got, expected)
    with pytest.raises(allot.InputError, match=r"bad\.csv: the header must name user_id and coupon_id \(found: user,coupon\)"):
        (scene / "bad.csv").write_text("user,coupon\nu1,c1\n")
        allot.evaluate(scene / "scores.csv", scene / "bad.csv", SPEC)


def test_bad_logs_raise_the_cli_message(cli, scene):
    log = pd.read_csv(scene / "log.csv", dtype={"user_id": str, "treatment": str}, float_precision="round_trip")
    bad_propensity = log.assign(propensity=0.5)
    bad_propensity.loc[3, "propensity"] = 1.5
    bad_outcome = log.assign(outcome=log.outcome.astype(float))
    bad_outcome.loc[4, "outcome"] = float("inf")
    for table, row, message in ((bad_propensity, 3, "propensity must be in (0, 1], got 1.5"),
                                (bad_outcome, 4, "'inf' in column 'outcome' is not a finite number")):
        path = scene / "bad-log.csv"
        table.to_csv(path, index=False)
        expected = cli_message(cli, scene, scene / "dual.csv", "--spec", scene / "spec.json", "--log", path)
        assert expected.endswith(message) and f":{row + 2}:" in expected, expected
        with pytest.raises(allot.InputError) as caught:
            allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=table)
        assert str(caught.value) == f"<log DataFrame>: row {row}: {message}"
    no_control = log[log.treatment != "control"]
    no_control.to_csv(scene / "no-control.csv", index=False)
    expected = cli_message(cli, scene, scene / "dual.csv", "--spec", scene / "spec.json", "--log", scene / "no-control.csv")
    with pytest.raises(allot.InputError) as caught:
        allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=scene / "no-control.csv")
    # The library's message, with the option as Python spells it.
    assert expected.endswith("name the control arm with --control")
    assert str(caught.value) == expected.replace("--control", "control=")
    with pytest.raises(allot.InputError, match=r"<log DataFrame>: missing column 'treatment' in the header"):
        allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=log.drop(columns="treatment"))
    with pytest.raises(ValueError, match="against needs a log"):
        allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, against="random")


def test_control_names_the_control_arm_as_the_cli_does(cli, scene):
    """control= is the CLI's --control: a log whose control arm is called "holdout" gives the
    CLI's report (issue 25, finding 9)."""
    log = pd.read_csv(scene / "log.csv", dtype={"user_id": str, "treatment": str}, float_precision="round_trip")
    renamed = log.assign(treatment=log.treatment.where(log.treatment != "control", "holdout"))
    path = scene / "holdout-log.csv"
    renamed.to_csv(path, index=False)
    expected = cli_evaluate(cli, scene, scene / "dual.csv", "--log", path, "--control", "holdout", "--against", "random")
    got = allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=renamed, control="holdout", against="random")
    assert without_time(got) == without_time(expected)
    original = allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=log, against="random")
    assert got["policy_value"] == original["policy_value"]
    with pytest.raises(TypeError, match="control must be a str"):
        allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=log, control=1)


def test_unknown_treatments_fail_past_max_unknown_share(cli, scene):
    """Rows whose treatment is neither the control arm nor a coupon drop out of the estimate: past
    max_unknown_share of the rows (0.01 by default, as --max-unknown-share) evaluate raises the
    CLI's message in Python's words; allowed, the report counts them as the CLI's does."""
    log = pd.read_csv(scene / "log.csv", dtype={"user_id": str, "treatment": str}, float_precision="round_trip")
    typo = log.copy()
    typo.loc[typo.index[:40], "treatment"] = "C1"
    path = scene / "typo-log.csv"
    typo.to_csv(path, index=False)
    expected = cli_message(cli, scene, scene / "dual.csv", "--spec", scene / "spec.json", "--log", path)
    assert "40 of" in expected and "('C1')" in expected, expected
    with pytest.raises(allot.InputError) as caught:
        allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=path)
    assert str(caught.value) == (expected.replace("--control", "control=")
                                 .replace("--max-unknown-share", "max_unknown_share="))
    allowed = cli_evaluate(cli, scene, scene / "dual.csv", "--log", path, "--max-unknown-share", "0.5")
    got = allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=typo, max_unknown_share=0.5)
    assert without_time(got) == without_time(allowed)
    assert got["policy_value"]["unknown_treatment_rows"] == 40
    with pytest.raises(allot.InputError, match=re.escape("option 'max_unknown_share' is 2.0; it must be a number from 0 to 1")):
        allot.evaluate(scene / "scores.csv", scene / "dual.csv", SPEC, log=typo, max_unknown_share=2)


BUDGETS = [300.0, 1200.0, 2500.0]


def test_frontier_gives_the_cli_points(cli, scene):
    done = run_cli(cli, "frontier", scene / "scores.csv", "--spec", scene / "spec.json",
                   "--budgets", ",".join(map(str, BUDGETS)), "--csv", "-")
    expected = pd.read_csv(io.StringIO(done.stdout), float_precision="round_trip")
    got = allot.frontier(read_scores(scene / "scores.csv"), list(reversed(BUDGETS)), SPEC)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.method.unique()) == ["dual", "greedy-marginal", "greedy-ratio"]
    assert (got.spend <= got.budget).all()


def test_every_frontier_point_passes_the_cli_verifier(cli, scene, tmp_path):
    points = allot.frontier(scene / "scores.csv", BUDGETS, SPEC, methods=["dual", "greedy-ratio"], allocations=True)
    assert len(points) == 2 * len(BUDGETS)
    for point in points.itertuples():
        spec = dict(SPEC, budgets=[{"name": "cash", "column": "cost", "limit": point.budget}])
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        point.allocation.to_csv(tmp_path / "point.csv", index=False)
        done = run_cli(cli, "evaluate", scene / "scores.csv", tmp_path / "point.csv", "--spec", tmp_path / "spec.json", "--json")
        report = json.loads(done.stdout)
        assert report["feasible"] is True
        assert report["objective"] == pytest.approx(point.objective, rel=1e-12)
        assert report["budgets"][0]["spend"] == pytest.approx(point.spend, rel=1e-12)
        if point.method == "dual":  # the dual's point is what allot.solve returns at that budget
            solved = allot.solve(scene / "scores.csv", spec)
            assert solved.allocation.equals(point.allocation)
            assert solved.bound == point.upper_bound


def test_frontier_without_a_budget_varies_one_on_cost(cli, scene):
    done = run_cli(cli, "frontier", scene / "scores.csv", "--budgets", "100,400", "--methods", "dual", "--csv", "-")
    got = allot.frontier(scene / "scores.csv", [100, 400], methods="dual")
    pd.testing.assert_frame_equal(got, pd.read_csv(io.StringIO(done.stdout), float_precision="round_trip"), check_exact=True)


def test_frontier_bad_arguments(scene):
    for budgets, message in (([-1.0], "budgets must be finite numbers >= 0"), ([float("nan")], "budgets must be finite"),
                             ([], "give at least one budget")):
        with pytest.raises(allot.AllotError, match=re.escape(message)):
            allot.frontier(scene / "scores.csv", budgets, SPEC)
    with pytest.raises(allot.AllotError, match="unknown method 'simplex'; choose one of: dual"):
        allot.frontier(scene / "scores.csv", [100], SPEC, methods=["dual", "simplex"])
    with pytest.raises(allot.AllotError, match="unknown option 'thread'"):
        allot.frontier(scene / "scores.csv", [100], SPEC, thread=2)
    with pytest.raises(allot.InputError, match=r"row 0: cost must be >= 0"):
        allot.frontier(pd.DataFrame({"user_id": ["u"], "coupon_id": ["c"], "uplift": [1.0], "cost": [-1.0]}), [1], SPEC)

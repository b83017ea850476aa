"""Issue 23: floors and general rows through the C ABI: the CLI's exact allocation, the signed
column of a row read from a data frame, an infeasible spec refused with its reason, and the dual
with floors."""
import numpy as np
import pandas as pd
import pytest

import allot
from conftest import cli_solve, read_scores


def with_rows(path):
    """The generated scores with a 0-1 column is_new (every third user) and a signed column."""
    df = read_scores(path)
    number = df["user_id"].str[1:].astype(int)
    df["is_new"] = (number % 3 == 0).astype(float)
    df["tilt"] = np.where(number % 2 == 0, 1.0, -0.5)
    return df


SPEC = {"budgets": [{"name": "cash", "column": "cost", "limit": 400, "min": 380}], "max_per_user": 1,
        "coupon_floors": {"c2": 20},
        "constraints": [{"name": "new_users", "column": "is_new", "min": 60},
                        {"name": "tilt", "column": "tilt", "min": -10, "max": 10}]}


@pytest.fixture(scope="module")
def small(cli, tmp_path_factory):
    """300 users x 4 coupons with the rows' columns, as a CSV for the CLI."""
    from conftest import run_cli
    raw = tmp_path_factory.mktemp("floors") / "raw.csv"
    run_cli(cli, "generate", "--users", 300, "--coupons", 4, "--seed", 3, "--out", raw)
    path = raw.with_name("scores.csv")
    with_rows(raw).to_csv(path, index=False)
    return path


def test_floors_give_the_cli_allocation(cli, small, tmp_path):
    cli_allocation, cli_summary = cli_solve(cli, small, SPEC, tmp_path, "--method", "milp-cbc")
    result = allot.solve(read_scores(small), SPEC, method="milp-cbc")
    assert result.summary["feasible"] is True
    assert result.summary["status"] == cli_summary["status"] == "optimal"
    assert result.allocation[["user_id", "coupon_id"]].values.tolist() == cli_allocation[["user_id", "coupon_id"]].values.tolist()
    rows = {r["name"]: r for r in result.summary["constraints"]}
    assert rows["new_users"]["value"] >= 60 and -10 <= rows["tilt"]["value"] <= 10
    assert result.summary["coupon_floors"] == {"c2": 20}
    assert 380 <= result.summary["budgets"][0]["spend"] <= 400


def test_an_infeasible_floor_is_refused_with_its_reason(small):
    # 100 users are new (every third of 300); 200 cannot be reached with one incentive each.
    spec = dict(SPEC, constraints=[{"name": "new_users", "column": "is_new", "min": 200}])
    with pytest.raises(allot.SolveError, match=r"^infeasible: constraint new_users needs at least 200, at most 100 is reachable under max_per_user and the ceilings$"):
        allot.solve(read_scores(small), spec, method="milp-cbc")


def test_the_dual_takes_floors_as_the_cli_does(cli, small, tmp_path):
    cli_allocation, cli_summary = cli_solve(cli, small, SPEC, tmp_path, "--method", "dual")
    result = allot.solve(read_scores(small), SPEC, method="dual")
    assert result.summary["feasible"] is True and cli_summary["feasible"] is True
    assert result.allocation[["user_id", "coupon_id"]].values.tolist() == cli_allocation[["user_id", "coupon_id"]].values.tolist()
    rows = {r["name"]: r for r in result.summary["constraints"]}
    assert rows["new_users"]["value"] >= 60 and -10 <= rows["tilt"]["value"] <= 10
    # A floor's shadow price is what one more unit of it costs: <= 0.
    assert result.summary["shadow_prices"]["constraint_min:new_users"] <= 0


def test_the_dual_proves_an_out_of_reach_floor_by_its_ray(small):
    # 100 users are new; with one incentive each no allocation reaches 200, whatever the ceilings.
    spec = dict(SPEC, constraints=[{"name": "new_users", "column": "is_new", "min": 200}])
    with pytest.raises(allot.SolveError, match=r"^infeasible: constraint new_users needs at least 200, at most 100 is reachable under max_per_user \(the dual's bound falls without limit along its multiplier\)$"):
        allot.solve(read_scores(small), spec, method="dual", exact_finish_limit=0)

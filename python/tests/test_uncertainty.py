"""Noisy scores from Python: shrink=, risk= (a number or "auto") and risk_quantile= reach the
library's estimator through allot_solve's options (one table with the CLI's), on standard errors
(uplift_se) or draws (uplift_1 ... uplift_B); the allocation and the expected objective are the
CLI's for the same rows and seed."""
import json

import numpy as np
import pandas as pd
import pytest

import allot
from conftest import cli_solve, read_scores, run_cli


@pytest.fixture(scope="module")
def noisy(cli, tmp_path_factory):
    """400 users x 3 coupons with noise and 6 draws, and the generator's spec."""
    directory = tmp_path_factory.mktemp("noisy")
    path, spec = directory / "noisy.csv", directory / "spec.json"
    run_cli(cli, "generate", "--users", 400, "--coupons", 3, "--seed", 4, "--noise", 1, "--draws", 6,
            "--out", path, "--spec", spec)
    return path, json.loads(spec.read_text())


CASES = [
    ({"shrink": True}, ["--shrink"]),
    ({"risk": 1.5}, ["--risk", "1.5"]),
    ({"risk": "auto"}, ["--risk", "auto"]),
    ({"shrink": True, "risk": "auto"}, ["--shrink", "--risk", "auto"]),
    ({"risk_quantile": 0.25}, ["--risk-quantile", "0.25"]),
]


def keys(allocation):
    return list(zip(allocation["user_id"].astype(str), allocation["coupon_id"].astype(str)))


@pytest.mark.parametrize("options,flags", CASES)
def test_same_as_the_cli_on_draws(cli, noisy, tmp_path, options, flags):
    path, spec = noisy
    expected, summary = cli_solve(cli, path, spec, tmp_path, "--seed", 3, *flags)
    for scores in (read_scores(path), str(path)):
        result = allot.solve(scores, spec, seed=3, **options)
        assert keys(result.allocation) == keys(expected)
        assert result.summary["expected_objective"] == summary["expected_objective"]
        assert result.summary["objective"] == pytest.approx(summary["objective"], rel=1e-12)
    if options.get("risk") == "auto":
        points = summary["expected_objective"]["cross_validation"]
        best = max(points, key=lambda p: p["held_out_value"])
        assert summary["expected_objective"]["risk_kappa"] == best["kappa"]


def test_standard_errors_alone(cli, noisy, tmp_path):
    """Without the draws, shrink= and risk= use uplift_se, as the CLI does."""
    path, spec = noisy
    frame = read_scores(path)[["user_id", "coupon_id", "uplift", "cost", "uplift_se"]]
    frame.to_csv(tmp_path / "se.csv", index=False)
    expected, summary = cli_solve(cli, tmp_path / "se.csv", spec, tmp_path, "--shrink", "--risk", "0.5")
    result = allot.solve(frame, spec, shrink=True, risk=0.5)
    assert keys(result.allocation) == keys(expected)
    assert result.summary["expected_objective"] == summary["expected_objective"]
    plain = allot.solve(frame, spec, risk=0)  # the plug-in allocation itself
    assert keys(plain.allocation) == keys(allot.solve(frame, spec).allocation)
    with pytest.raises(allot.InputError, match=r'^<DataFrame>: risk="auto" needs draws of the scores, columns uplift_1 to uplift_B \(at least 4\)$'):
        allot.solve(frame, spec, risk="auto")


def test_bad_uncertainty_input_is_one_line(noisy):
    path, spec = noisy
    frame = read_scores(path)
    with pytest.raises(allot.InputError, match=r"^<DataFrame>: shrink= needs the scores' standard errors, a column 'uplift_se', or draws uplift_1 to uplift_B$"):
        allot.solve(frame[["user_id", "coupon_id", "uplift", "cost"]], spec, shrink=True)
    bad = frame.copy()
    bad.loc[5, "uplift_3"] = np.nan
    with pytest.raises(allot.InputError, match=r"^<DataFrame>: row 5: 'nan' in column 'uplift_3' is not a finite number$"):
        allot.solve(bad, spec, risk="auto")
    gap = frame.drop(columns=["uplift_3"])
    with pytest.raises(allot.InputError, match=r"^<DataFrame>: draw columns must be uplift_1 to uplift_B without a gap: found 'uplift_4' but no uplift_3$"):
        allot.solve(gap, spec, risk_quantile=0.5)
    assert len(allot.solve(gap, spec).allocation) > 0  # draws are read only for the options
    negative = frame.copy()
    negative.loc[2, "uplift_se"] = -1.0
    with pytest.raises(allot.InputError, match=r"^<DataFrame>: row 2: uplift_se must be >= 0, got -1.0$"):
        allot.solve(negative, spec, shrink=True)
    for options, message in [({"risk": -1}, "option 'risk' must be a finite number >= 0, or auto"),
                             ({"risk": "high"}, "option 'risk' must be a finite number >= 0, or auto"),
                             ({"risk_quantile": 1.0}, "option 'risk_quantile' must be a number above 0 and below 1"),
                             ({"shrink": 1}, "option 'shrink' must be true or false"),
                             ({"shrink": True, "risk_quantile": 0.2},
                              "option 'risk_quantile' solves on a quantile of the draws: give it without option 'shrink' and option 'risk'")]:
        with pytest.raises(allot.InputError) as caught:
            allot.solve(frame, spec, **options)
        assert str(caught.value) == message

"""Fixtures: the `allot` CLI (to compare with) and scores it generates.

The CLI is $ALLOT_CLI, else the debug or release build of this checkout (`swift build` first).
"""
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    candidates = [os.environ.get("ALLOT_CLI")] + [str(CHECKOUT / ".build" / c / "allot") for c in ("debug", "release")]
    for path in candidates:
        if path and Path(path).is_file():
            return path
    pytest.fail("no allot CLI: run `swift build` in the checkout or set ALLOT_CLI")


def run_cli(cli, *args, check=True):
    done = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"allot {' '.join(map(str, args))} failed: {done.stderr}")
    return done


@pytest.fixture(scope="session")
def generated(cli, tmp_path_factory) -> Path:
    """2,000 users x 4 coupons with channels, from `allot generate`."""
    path = tmp_path_factory.mktemp("scores") / "scores.csv"
    run_cli(cli, "generate", "--users", 2000, "--coupons", 4, "--channels", "push,email", "--seed", 7, "--out", path)
    return path


def read_scores(path) -> pd.DataFrame:
    """A scores CSV as pandas reads it, ids kept as text, numbers correctly rounded."""
    return pd.read_csv(path, dtype={"user_id": str, "coupon_id": str, "channel": str}, keep_default_na=False,
                       float_precision="round_trip")  # the CLI parses numbers exactly; so must the tests


def cli_solve(cli, scores, spec, tmp_path, *extra):
    """The CLI's allocation (DataFrame) and summary (dict)."""
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    allocation, summary = tmp_path / "cli-allocation.csv", tmp_path / "cli-summary.json"
    run_cli(cli, "solve", scores, "--spec", spec_path, "--out", allocation, "--summary", summary, *extra)
    return read_scores(allocation), json.loads(summary.read_text())


def cli_error(cli, scores_text, tmp_path, spec=None):
    """The CLI's one-line error ("file:line:column: message") for a scores file with this text."""
    scores = tmp_path / "bad.csv"
    scores.write_text(scores_text)
    args = ["solve", scores, "--budget", 10, "--out", tmp_path / "never.csv"]
    if spec is not None:
        (tmp_path / "bad-spec.json").write_text(json.dumps(spec))
        args = ["solve", scores, "--spec", tmp_path / "bad-spec.json", "--out", tmp_path / "never.csv"]
    done = run_cli(cli, *args, check=False)
    assert done.returncode == 1, done.stderr
    text = done.stderr.strip().splitlines()[0]
    assert "error: " in text, text
    return text.split("error: ", 1)[1]

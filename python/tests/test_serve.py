"""allot.Snapshot and allot.decide: the library's decision code through the C ABI, checked
against the CLI's snapshot and `allot serve`'s rules (docs/serve.md)."""
import json

import pytest

import allot
from conftest import run_cli


@pytest.fixture(scope="module")
def snapshot_path(cli, generated, tmp_path_factory):
    out = tmp_path_factory.mktemp("snap")
    spec = out / "spec.json"
    spec.write_text(json.dumps({"budgets": [{"name": "cash", "limit": 4}], "max_per_user": 2,
                                "channel_caps": {"push": 1}, "coupon_caps": {"c1": 1}}))
    path = out / "snapshot.json"
    run_cli(cli, "solve", generated, "--spec", spec, "--out", out / "a.csv", "--snapshot", path)
    return path


def test_snapshot_reads_the_cli_file(snapshot_path):
    s = allot.Snapshot(snapshot_path)
    doc = json.loads(snapshot_path.read_text())
    assert s.version == doc["version"]
    assert s.content == doc["content"]
    assert allot.Snapshot(snapshot_path.read_text()).version == s.version


def test_decide_keeps_caps_and_budget(snapshot_path):
    s = allot.Snapshot(snapshot_path, pacing="fixed")
    lam = s.content["budgets"][0]["multiplier"]
    mu = s.content["coupon_caps"]["c1"]["multiplier"]
    # Reduced values (uplift - lambda cost - mu): 30, 20 and 10.
    cands = [{"coupon_id": "c1", "uplift": lam + mu + 30, "cost": 1, "channel": "push"},
             {"coupon_id": "c2", "uplift": lam + 20, "cost": 1, "channel": "push"},
             {"coupon_id": "c3", "uplift": lam + 10, "cost": 1, "channel": "email"}]
    first = s.decide("u1", cands)
    # push capped at 1 per user, 2 per user in all: c1 (best reduced value), then c3.
    assert [a["coupon_id"] for a in first["assignments"]] == ["c1", "c3"]
    assert first["snapshot"] == s.version
    assert lam >= 0
    # c1's cap of 1 is used; the budget of 4 allows 2 more units of cost.
    answers = allot.decide(s, [("u2", cands), ("u3", cands), ("u4", cands)])
    given = [a["coupon_id"] for r in answers for a in r["assignments"]]
    assert "c1" not in given
    assert len(given) == 2


def test_bad_request_is_an_input_error(snapshot_path):
    s = allot.Snapshot(snapshot_path)
    with pytest.raises(allot.InputError, match=r"request: field 'candidates\[0\]\.cost' is -1.0; a cost must be >= 0"):
        s.decide("u", [{"coupon_id": "c2", "uplift": 1, "cost": -1}])
    with pytest.raises(allot.InputError, match="version .* is not the sha256 of the content"):
        allot.Snapshot(snapshot_path.read_text().replace('"max_per_user" : 2', '"max_per_user" : 3'))


def test_python_writes_the_cli_snapshot_byte_for_byte(cli, generated, tmp_path):
    """The same input gives the same snapshot file from `allot solve --snapshot` and from
    `Result.write_snapshot` (both written by the library), with a uniform and a given plan."""
    spec = {"budgets": [{"name": "cash", "limit": 300}], "max_per_user": 2,
            "channel_caps": {"push": 1}, "coupon_caps": {"c1": 100}, "min_roi": 1.5}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = allot.solve(str(generated), spec)
    for name, profile, given in [("uniform", None, None), ("hourly", "1,2,3,4", [1, 2, 3, 4])]:
        cli_path, py_path = tmp_path / f"cli-{name}.json", tmp_path / f"py-{name}.json"
        run_cli(cli, "solve", generated, "--spec", tmp_path / "spec.json", "--out", tmp_path / "a.csv",
                "--snapshot", cli_path, *(["--profile", profile] if profile else []))
        result.write_snapshot(py_path, profile=given)
        assert py_path.read_bytes() == cli_path.read_bytes()
        content = json.loads(py_path.read_text())["content"]
        assert content["profile"] == (given or [1])
        assert content["budgets"][0]["multiplier"] > 0
        assert allot.Snapshot(py_path).version == json.loads(cli_path.read_text())["version"]


def test_write_snapshot_refuses_a_bad_profile_and_writes_nothing(generated, tmp_path):
    result = allot.solve(str(generated), {"budgets": [{"name": "cash", "limit": 300}]})
    path = tmp_path / "s.json"
    with pytest.raises(allot.InputError, match=r"^profile: '1,-2' is not a list of comma-separated weights >= 0 with a positive sum$"):
        result.write_snapshot(path, profile="1,-2")
    assert not path.exists()

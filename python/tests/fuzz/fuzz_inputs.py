"""Random bad inputs to allot.solve, in child processes: only the documented exceptions may come out.

    python3 python/tests/fuzz/fuzz_inputs.py --cases 2000 --seed 1 --children 2

Each case is a good table (pandas, pyarrow, Polars, a RecordBatch, a Parquet or CSV file, a wide
matrix) with one to three random mutations of its columns, values, dtypes, spec, options or
arguments (`case(seed)` makes it, the same for the same seed). Children run batches of cases
and print one line per case: its outcome, `ok` (a valid input after all, solved and verified by
the library) or the exception's type. A child that dies (a crash, an abort) or stops answering
(a hang, past --timeout seconds for its batch) is counted, and its cases are run again one per
process to name the case at fault. The documented outcomes (python/README.md, "Errors") are
`ok`, `InputError` and `TypeError`; anything else is listed with its message, and the exit
status is 1. python/tests/test_bad_input.py runs some of these cases in-process as a property test.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import traceback
from collections import Counter

ALLOWED = {"ok", "InputError", "TypeError"}


def good_frame(rng):
    import pandas as pd

    users = rng.randint(1, 6)
    rows = []
    for u in range(users):
        for c in rng.sample(["a", "b", "c"], rng.randint(1, 3)):
            rows.append({"user_id": f"u{u}", "coupon_id": c, "uplift": round(rng.uniform(-1, 10), 3),
                         "cost": round(rng.uniform(0, 5), 3), "channel": rng.choice(["push", "email"])})
    return pd.DataFrame(rows)


STRANGE_VALUES = [None, float("nan"), float("inf"), -float("inf"), -1.0, 1e308, -1e308, 1.7e308, 0.0, "", " ", "x",
                  "1e5", "nan", True, b"\xff\xfe", object(), [1, 2], {"a": 1}, 2 ** 70, -(2 ** 70), "\x00", "\ud800",
                  "é" * 300, "y" * 5000, complex(1, 2), 5e-324]


def strange_column(rng, n):
    import datetime
    import decimal

    import numpy as np
    import pandas as pd

    kind = rng.randrange(12)
    if kind == 0:
        return pd.Series([rng.choice(STRANGE_VALUES) for _ in range(n)], dtype=object)
    if kind == 1:
        return pd.Series(pd.date_range("2026-01-01", periods=n))
    if kind == 2:
        return pd.Series(pd.to_timedelta(range(n), unit="s"))
    if kind == 3:
        return pd.Series([bool(rng.getrandbits(1)) for _ in range(n)])
    if kind == 4:
        return pd.Series(np.array([complex(k, 1) for k in range(n)]))
    if kind == 5:
        return pd.Series([decimal.Decimal(rng.choice(["1.5", "NaN", "-3", "1e400"])) for _ in range(n)], dtype=object)
    if kind == 6:
        return pd.Series([[1, 2]] * n)
    if kind == 7:
        return pd.Series(pd.Categorical([rng.choice([1, 2, None]) for _ in range(n)]))
    if kind == 8:
        return pd.Series([rng.choice([1, None, 3]) for _ in range(n)], dtype="Int64")
    if kind == 9:
        return pd.Series([datetime.date(2026, 1, 1)] * n, dtype=object)
    if kind == 10:
        return pd.Series(np.full(n, rng.choice([np.nan, np.inf, -5.0, 1e308, 0.0])), dtype=rng.choice(["float32", "float64"]))
    return pd.Series([rng.choice(["1", "x", "", None, "1,5", "  2 "]) for _ in range(n)], dtype=rng.choice([object, "string[pyarrow]"]))


def mutate_frame(rng, df):
    import numpy as np
    import pandas as pd

    op = rng.randrange(10)
    columns = list(df.columns)
    if op == 0 and columns:
        return df.drop(columns=[rng.choice(columns)])
    if op == 1 and len(df):
        df = df.copy()
        df[rng.choice(columns)] = strange_column(rng, len(df)).to_numpy()
        return df
    if op == 2 and len(df):
        name = rng.choice(columns)
        df = df.astype({name: object})
        df.iloc[rng.randrange(len(df)), columns.index(name)] = rng.choice(STRANGE_VALUES)
        return df
    if op == 3:
        return df.head(rng.randrange(2))
    if op == 4:
        return pd.concat([df, df.head(1)], ignore_index=True)  # a repeated pair
    if op == 5:
        df = df.copy()
        df.columns = [rng.choice([c, c.upper(), f" {c}", 7, c + "\n"]) for c in columns]
        return df
    if op == 6:
        df = df.copy()
        df.insert(0, "user_id", df["user_id"] if "user_id" in df else 1, allow_duplicates=True)
        return df
    if op == 7:
        return df.assign(user_id=strange_column(rng, len(df)).to_numpy()) if len(df) else df
    if op == 8 and len(df):
        df = df.copy()
        df["cost"] = rng.choice([-1.0, np.nan, 1e308, "free"])
        return df
    return df.assign(extra=1)


def mutate_spec(rng, spec):
    import numpy as np

    import copy

    if not (isinstance(spec, dict) and isinstance(spec.get("budgets"), list) and spec["budgets"]
            and all(isinstance(b, dict) for b in spec["budgets"])):
        return spec  # mutated past the point of further mutations already
    spec = copy.deepcopy(spec)
    op = rng.randrange(12)
    if op == 0:
        return rng.choice([[], 5, "missing-spec.json", b"{}", None, {"budgets": "cash"}, {"budgets": [5]}])
    if op == 1:
        spec["budgets"][0]["limit"] = rng.choice([-1, "10", None, float("nan"), float("inf"), [1], True, np.int64(3), 1e400])
    if op == 2:
        spec["budgets"][0]["column"] = rng.choice(["price", "user_id", "", 3])
    if op == 3:
        spec["max_per_user"] = rng.choice([0, -1, 1.5, 2 ** 63, "2", True, None, np.int32(2)])
    if op == 4:
        spec["coupon_caps"] = rng.choice([{"zz": 1}, {"a": -1}, {"a": 1.5}, [1], {"a": None}])
    if op == 5:
        spec["channel_caps"] = rng.choice([{"sms": 1}, {"push": -3}, "push"])
    if op == 6:
        spec["min_roi"] = rng.choice([-1, float("nan"), "1", 1e308, None])
    if op == 7:
        spec["unknown_key"] = 1
    if op == 8:
        spec["budgets"].append(dict(spec["budgets"][0]))  # two budgets of one name
    if op == 9:
        spec["budgets"][0]["name"] = rng.choice(["", None, 5, "x" * 10000])
    if op == 10:
        spec["budgets"] = []
    return spec


def mutate_arguments(rng, kwargs):
    op = rng.randrange(10)
    if op == 0:
        kwargs[rng.choice(["threads", "seed", "gap", "time_limit", "polish_users", "exact_finish_limit"])] = rng.choice(
            [0, -1, 1.5, "2", True, None, float("nan"), 1e20, 2 ** 80, [1]])
    elif op == 1:
        kwargs["thread"] = 2
    elif op == 2:
        kwargs["method"] = rng.choice(["best", "", 3, None, "DUAL"])
    elif op == 3:
        kwargs["budget"] = rng.choice(["5", -5, float("nan"), [5], True, float("inf")])
    elif op == 4:
        kwargs["max_per_user"] = rng.choice([0, "1", 1.5, -2])
    elif op == 5:
        kwargs["columns"] = rng.choice([{"uplift": "tau"}, ["uplift"], {"uplift": 3}, {3: "uplift"}, {"cost": "uplift"}])
    elif op == 6:
        kwargs["no_budget"] = rng.choice([True, "yes", 1])
    elif op == 7:
        kwargs["verbose"] = rng.choice(["no", 2])
    elif op == 8:
        kwargs["exact_finish_limit"] = rng.choice([None, "many", -1])
    return kwargs


def case(seed, workdir):
    """(scores, spec, keyword arguments) of case `seed`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    df = good_frame(rng)
    spec = {"budgets": [{"name": "budget", "limit": round(rng.uniform(0, 10), 2)}]}
    kwargs = {}
    for _ in range(rng.randint(1, 3)):
        what = rng.randrange(3)
        try:  # a mutation that pandas itself refuses to make is skipped (it is not allot's doing)
            if what == 0:
                df = mutate_frame(rng, df)
            elif what == 1:
                spec = mutate_spec(rng, spec)
            else:
                kwargs = mutate_arguments(rng, kwargs)
        except (TypeError, ValueError, KeyError, IndexError):
            pass
    form = rng.randrange(8)
    scores = df
    try:
        if form == 1:
            scores = pa.Table.from_pandas(df, preserve_index=False)
        elif form == 2:
            scores = pa.RecordBatch.from_pandas(df, preserve_index=False)
        elif form == 3:
            import polars as pl

            scores = pl.from_pandas(df)
        elif form == 4:
            path = os.path.join(workdir, f"case-{seed}.parquet")
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
            scores = path
        elif form == 5:
            path = os.path.join(workdir, f"case-{seed}.csv")
            df.to_csv(path, index=False)
            if rng.random() < 0.3:
                with open(path, "ab") as f:
                    f.write(rng.choice([b"\xff\xfe,\n", b'"unterminated\n', b"a,b\n", b"\x00\x00\n"]))
            scores = path
        elif form == 6:
            shape = rng.choice([(3, 2), (0, 2), (3,), (2, 2, 2)])
            scores = np.asarray(rng.choice([np.ones(shape), np.full(shape, np.nan), np.full(shape, 1.7e308)]))
            kwargs.setdefault("coupons", rng.choice([["a", "b"], ["a"], "ab", None, [1, 2]]))
            kwargs.setdefault("cost", rng.choice([1.0, [1.0, 2.0], "1", np.ones((3, 2)), -1.0]))
        elif form == 7:
            scores = rng.choice([None, 5, [1, 2], {"user_id": [1]}, b"scores.csv", os.path.join(workdir, "absent.parquet"), workdir])
    except Exception:  # the good table could not even be written in that form: keep the DataFrame
        scores = df
    return scores, spec, kwargs


def run_case(seed, workdir):
    """The outcome of case `seed`: "ok" or the exception's type name, and a message."""
    import allot

    scores, spec, kwargs = case(seed, workdir)
    try:
        allot.solve(scores, spec, **kwargs)
        return "ok", ""
    except Exception as error:  # classified below
        name = type(error).__name__
        return name, "" if name in ALLOWED else "".join(traceback.format_exception_only(error)).strip()[:500]


def child(seeds):
    with tempfile.TemporaryDirectory(prefix="allot-fuzz-") as workdir:
        for seed in seeds:
            print(json.dumps({"seed": seed, "start": True}), flush=True)
            outcome, message = run_case(seed, workdir)
            print(json.dumps({"seed": seed, "outcome": outcome, "message": message}), flush=True)


def run_batch(seeds, timeout):
    """(outcomes by seed, seeds whose child died or hung: {seed: "crash ..."/"hang"})."""
    command = [sys.executable, os.path.abspath(__file__), "--child", ",".join(map(str, seeds))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        out, code, hung = done.stdout, done.returncode, False
    except subprocess.TimeoutExpired as expired:
        out, code, hung = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else (expired.stdout or ""), None, True
    outcomes, started = {}, None
    for line in out.splitlines():
        record = json.loads(line)
        if record.get("start"):
            started = record["seed"]
        else:
            outcomes[record["seed"]] = (record["outcome"], record["message"])
            started = None
    failed = {}
    if hung or code != 0:
        remaining = [s for s in seeds if s not in outcomes]
        if len(seeds) == 1:
            failed[seeds[0]] = "hang" if hung else f"crash (exit {code})"
        else:  # run the rest one per process to find the case at fault
            for seed in remaining:
                more, bad = run_batch([seed], timeout)
                outcomes.update(more)
                failed.update(bad)
    return outcomes, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1, help="the first case's seed; cases are seed, seed+1, ...")
    parser.add_argument("--children", type=int, default=2, help="child processes at once")
    parser.add_argument("--batch", type=int, default=100, help="cases per child process")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a batch may take")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child([int(s) for s in args.child.split(",")])
        return 0
    from concurrent.futures import ThreadPoolExecutor

    seeds = list(range(args.seed, args.seed + args.cases))
    batches = [seeds[k:k + args.batch] for k in range(0, len(seeds), args.batch)]
    outcomes, failed = {}, {}
    with ThreadPoolExecutor(args.children) as pool:
        for more, bad in pool.map(lambda b: run_batch(b, args.timeout), batches):
            outcomes.update(more)
            failed.update(bad)
    counts = Counter(outcome for outcome, _ in outcomes.values())
    counts.update(v.split(" ")[0] for v in failed.values())
    print(json.dumps({"cases": args.cases, "first_seed": args.seed, "outcomes": dict(sorted(counts.items()))}, indent=1))
    unexpected = {s: o for s, o in outcomes.items() if o[0] not in ALLOWED}
    for seed, (outcome, message) in sorted(unexpected.items()):
        print(f"case {seed}: {outcome}: {message}")
    for seed, what in sorted(failed.items()):
        print(f"case {seed}: {what}")
    return 1 if unexpected or failed else 0


if __name__ == "__main__":
    sys.exit(main())

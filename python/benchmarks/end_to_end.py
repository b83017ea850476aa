"""End to end at scale: Parquet through allot.solve vs pandas to_csv + the CLI vs the CLI alone.

    python3 python/benchmarks/end_to_end.py --cli .build/release/allot [--case one-budget|campaign] --runs 3 \\
        [--users N --coupons N] [--before PYTHONPATH LIBRARY]

Cases (each 1e7 candidates by default):
  one-budget  2,000,000 users x 5 coupons, one cash budget at 30% of the spend of giving every
              user its best coupon (the default)
  campaign    1,000,000 users x 10 coupons, the shape of `Benchmarks scale --case multi`: push
              and email channels (`allot generate --channels push,email`), 3 budgets (cash on
              cost at 30% as above; points = the coupon's number, 1-10, at 25% of users x
              coupons; sms = 1 per push coupon, at 0.4 per user), the 3 largest coupons capped at
              5% of the users, at most 1 per channel and 2 per user

Makes the scores with `allot generate` in --dir (the campaign's points and sms columns added in
Python), writes them back as the CSV the CLI reads and as a Parquet copy with plain string
columns, as pandas' to_parquet writes them, so every path reads the same data; then, in each
run, in turn:
  cli-csv        `allot solve scores.csv` on the existing CSV (allocation and summary files written)
  python         allot.solve("scores.parquet", spec) in a fresh interpreter (the installed package,
                 or $PYTHONPATH): from the Parquet file to the allocation DataFrame, timed around
                 the call (imports and loading the library, once per process, are not counted)
  python-before  the same with another version of the package (--before: its PYTHONPATH and its
                 libAllotC.so), to measure a change before and after in one run (the two
                 alternate which goes first, right after the CLI)
  pandas-cli     df.to_csv + `allot solve` + reading the allocation and summary back into pandas
Each path also records the solve alone (the summary's wall_seconds) and CPU seconds (the child's
for the CLI, the interpreter's with all its threads for Python). Prints medians and ratios.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# The allocation's (user, coupon) pairs as one order-free number, to check that every path chose the
# same candidates (outside the timings).
PAIRS = """
import pandas as pd
def pairs(allocation):
    return int(pd.util.hash_pandas_object(allocation[["user_id", "coupon_id"]].astype(str), index=False).sum())
"""

CHILD = PAIRS + """
import json, sys, time
import allot
import pyarrow.parquet
allot.abi_version()  # loads the library: once per process, not counted
spec = json.loads(sys.argv[2])
wall, cpu = time.perf_counter(), time.process_time()
result = allot.solve(sys.argv[1], spec)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "solve": result.summary["wall_seconds"], "objective": result.objective,
                  "feasible": result.summary["feasible"], "rows": len(result.allocation), "pairs": pairs(result.allocation), "module": allot.__file__}))
"""


# case: default users, coupons, directory
CASES = {"one-budget": (2_000_000, 5, "/tmp/allot-python-bench"),
         "campaign": (1_000_000, 10, "/tmp/allot-python-bench-campaign")}


def with_campaign_columns(table):
    """The extra budget columns of `Benchmarks scale --case multi`: loyalty points proportional to
    the face value (coupon cN: N points), sms credits 1 per push coupon."""
    coupon = table.column("coupon_id").to_pandas()
    points = coupon.str.slice(1).astype("float64").to_numpy()
    sms = (table.column("channel").to_pandas() == "push").astype("float64").to_numpy()
    return table.append_column("points", pa.array(points)).append_column("sms", pa.array(sms))


def campaign_spec(cash, users, coupons):
    """The spec of `Benchmarks scale --case multi` on these scores."""
    return {"budgets": [{"name": "cash", "column": "cost", "limit": cash},
                        {"name": "points", "column": "points", "limit": round(users * coupons * 0.25)},
                        {"name": "sms credits", "column": "sms", "limit": round(users * 0.4)}],
            "max_per_user": 2,
            "channel_caps": {"email": 1, "push": 1},
            "coupon_caps": {f"c{c}": users // 20 for c in range(coupons - 2, coupons + 1)}}


exec(PAIRS)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--case", choices=list(CASES), default="one-budget")
    parser.add_argument("--users", type=int, help="default: 2,000,000 (one-budget), 1,000,000 (campaign)")
    parser.add_argument("--coupons", type=int, help="default: 5 (one-budget), 10 (campaign)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", help="default: /tmp/allot-python-bench (one-budget), /tmp/allot-python-bench-campaign")
    parser.add_argument("--before", nargs=2, metavar=("PYTHONPATH", "LIBRARY"),
                        help="another version of the package: its source directory and its libAllotC.so")
    args = parser.parse_args()
    users, coupons, directory = CASES[args.case]
    users, coupons = args.users or users, args.coupons or coupons
    work = Path(args.dir or directory)
    work.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = work / "scores.csv", work / "scores.parquet"
    campaign = args.case == "campaign"
    # ids as text; every number as float64 (read back from the CSV, points and sms would be int64)
    types = {"user_id": pa.string(), "coupon_id": pa.string(),
            **({"channel": pa.string(), "points": pa.float64(), "sms": pa.float64()} if campaign else {})}
    if not csv_path.exists():
        generated = work / "generated.csv" if campaign else csv_path
        subprocess.run([args.cli, "generate", "--users", str(users), "--coupons", str(coupons), "--seed", "1",
                        *(["--channels", "push,email"] if campaign else []), "--out", str(generated)], check=True)
        if campaign:  # the CLI's CSV, with the extra columns, written from the table the Parquet copy is made of
            table = pacsv.read_csv(generated, convert_options=pacsv.ConvertOptions(column_types=types))
            pacsv.write_csv(with_campaign_columns(table), csv_path, pacsv.WriteOptions(quoting_style="none", quoting_header="none"))
            generated.unlink()
    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types=types))
    if not parquet_path.exists():
        pq.write_table(table, parquet_path)  # plain string columns, as pandas' to_parquet writes them
    df = table.to_pandas()
    del table
    # cash: 30% of the spend of giving every user its best-uplift coupon (as the dual benchmark)
    best = df.loc[df.groupby("user_id", sort=False)["uplift"].idxmax()]
    budget = round(0.3 * best.loc[best.uplift > 0, "cost"].sum(), 2)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": budget}]}
    if campaign:
        spec = campaign_spec(budget, users, coupons)
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    print(f"{args.case}: {len(df):,} candidates, {df.user_id.nunique():,} users, spec {json.dumps(spec)}")

    def cli(scores):
        done = subprocess.run([args.cli, "solve", str(scores), "--spec", str(spec_path), "--out", str(work / "allocation.csv"),
                               "--summary", str(work / "summary.json")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads((work / "summary.json").read_text())

    def python(env):
        done = subprocess.run([sys.executable, "-c", CHILD, str(parquet_path), json.dumps(spec)],
                              capture_output=True, text=True, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    variants = {"python": {}}
    if args.before:
        variants["python-before"] = {"PYTHONPATH": args.before[0], "ALLOT_LIBRARY": args.before[1]}
    times = {k: [] for k in ["cli-csv", *variants, "pandas-cli"]}
    cpu = {k: [] for k in times}
    solve = {k: [] for k in times}
    for run in range(args.runs):
        start, used = time.perf_counter(), children_cpu()
        summary = cli(csv_path)
        times["cli-csv"].append(time.perf_counter() - start)
        cpu["cli-csv"].append(children_cpu() - used)
        solve["cli-csv"].append(summary["wall_seconds"])
        reference = summary["objective"]
        assert summary["feasible"]  # the CLI's verifier, as allot_solve's for the Python paths
        chosen = pairs(pd.read_csv(work / "allocation.csv", dtype={"user_id": str, "coupon_id": str}))

        # Alternate the order of the Python paths: what ran just before (the CLI, or the other
        # path) changes a fresh process's page-fault costs, and so the build's time, by up to 2x.
        order = list(variants.items())
        for name, env in (order if run % 2 == 0 else order[::-1]):
            got = python(env)
            if run == 0:
                print(f"{name}: {got['module']}")
            times[name].append(got["wall"])
            cpu[name].append(got["cpu"])
            solve[name].append(got["solve"])
            # the same pairs; the objective to the last bits but for the order of the verifier's sums (a --before version may add them in another)
            assert got["feasible"] and abs(got["objective"] - reference) <= 1e-12 * abs(reference) and got["rows"] == summary["assignments"] and got["pairs"] == chosen

        start, used, own = time.perf_counter(), children_cpu(), time.process_time()
        df.to_csv(work / "from-pandas.csv", index=False)
        summary = cli(work / "from-pandas.csv")
        allocation = pd.read_csv(work / "allocation.csv", dtype={"user_id": str, "coupon_id": str})
        times["pandas-cli"].append(time.perf_counter() - start)
        cpu["pandas-cli"].append(children_cpu() - used + time.process_time() - own)
        solve["pandas-cli"].append(summary["wall_seconds"])
        assert summary["feasible"] and abs(summary["objective"] - reference) <= 1e-9 * abs(reference) and len(allocation) == summary["assignments"] and pairs(allocation) == chosen
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s (CPU {cpu[k][-1]:.2f} s, solve {solve[k][-1]:.2f} s)"
                                             for k, v in times.items()), flush=True)

    median = {k: statistics.median(v) for k, v in times.items()}
    print("\n| path | end to end (s), median | runs (s) | CPU (s), median | / CLI on CSV | beyond its solve (s), median | / its own solve, median of runs |")
    print("|---|---|---|---|---|---|---|")
    for k, v in times.items():
        own = statistics.median(t / s for t, s in zip(v, solve[k]))
        beyond = statistics.median(t - s for t, s in zip(v, solve[k]))
        print(f"| {k} | {median[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} | {statistics.median(cpu[k]):.2f} | "
              f"{median[k] / median['cli-csv']:.2f} | {beyond:.2f} | {own:.2f} ({', '.join(f'{t / s:.2f}' for t, s in zip(v, solve[k]))}) |")
    print("\nsolve alone (wall_seconds), median per path: " + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in solve.items()))


if __name__ == "__main__":
    main()

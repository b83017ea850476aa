"""End to end at scale: Parquet through allot.solve vs pandas to_csv + the CLI vs the CLI alone.

    python3 python/benchmarks/end_to_end.py --cli .build/release/allot --users 2000000 --coupons 5 --runs 3 \\
        [--before PYTHONPATH LIBRARY]

Makes the scores with `allot generate` (and a Parquet copy with plain string columns, as pandas'
to_parquet writes them) in --dir, then, in each run, in turn:
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

CHILD = """
import json, sys, time
import allot
import pyarrow.parquet
allot.abi_version()  # loads the library: once per process, not counted
spec = json.loads(sys.argv[2])
wall, cpu = time.perf_counter(), time.process_time()
result = allot.solve(sys.argv[1], spec)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "solve": result.summary["wall_seconds"], "objective": result.objective,
                  "feasible": result.summary["feasible"], "rows": len(result.allocation), "module": allot.__file__}))
"""


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--users", type=int, default=2_000_000)
    parser.add_argument("--coupons", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default="/tmp/allot-python-bench")
    parser.add_argument("--before", nargs=2, metavar=("PYTHONPATH", "LIBRARY"),
                        help="another version of the package: its source directory and its libAllotC.so")
    args = parser.parse_args()
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = work / "scores.csv", work / "scores.parquet"
    if not csv_path.exists():
        subprocess.run([args.cli, "generate", "--users", str(args.users), "--coupons", str(args.coupons),
                        "--seed", "1", "--out", str(csv_path)], check=True)
    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(
        column_types={"user_id": pa.string(), "coupon_id": pa.string()}))
    if not parquet_path.exists():
        pq.write_table(table, parquet_path)  # plain string columns, as pandas' to_parquet writes them
    df = table.to_pandas()
    del table
    # budget: 30% of the spend of giving every user its best-uplift coupon (as the dual benchmark)
    best = df.loc[df.groupby("user_id", sort=False)["uplift"].idxmax()]
    budget = round(0.3 * best.loc[best.uplift > 0, "cost"].sum(), 2)
    spec = {"budgets": [{"name": "cash", "column": "cost", "limit": budget}]}
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    print(f"{len(df):,} candidates, {df.user_id.nunique():,} users, budget {budget:,}")

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
            assert got["feasible"] and got["objective"] == reference and got["rows"] == summary["assignments"]

        start, used, own = time.perf_counter(), children_cpu(), time.process_time()
        df.to_csv(work / "from-pandas.csv", index=False)
        summary = cli(work / "from-pandas.csv")
        allocation = pd.read_csv(work / "allocation.csv", dtype={"user_id": str, "coupon_id": str})
        times["pandas-cli"].append(time.perf_counter() - start)
        cpu["pandas-cli"].append(children_cpu() - used + time.process_time() - own)
        solve["pandas-cli"].append(summary["wall_seconds"])
        assert summary["feasible"] and abs(summary["objective"] - reference) <= 1e-9 * abs(reference) and len(allocation) == summary["assignments"]
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

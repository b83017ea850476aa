"""End to end at scale: Parquet through allot.solve vs pandas to_csv + the CLI vs the CLI alone.

    python3 python/benchmarks/end_to_end.py --cli .build/release/allot --users 2000000 --coupons 5 --runs 3

Makes the scores with `allot generate` (and a Parquet copy) in --dir, then, in each run, in turn:
  cli-csv     `allot solve scores.csv` on the existing CSV (allocation and summary files written)
  python      allot.solve("scores.parquet", spec): from the Parquet file to the allocation DataFrame
              (ids as plain strings, interned by the library)
  python-dict the same with the ids read as Arrow dictionaries (pq.read_table(read_dictionary=...)),
              so that Arrow factorises them and codes cross the ABI
  pandas-cli  df.to_csv + `allot solve` + reading the allocation and summary back into pandas
Each also records the solve alone (the summary's wall_seconds). Prints medians and ratios.
"""
import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import allot


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--users", type=int, default=2_000_000)
    parser.add_argument("--coupons", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default="/tmp/allot-python-bench")
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

    times = {k: [] for k in ("cli-csv", "python", "python-dict", "pandas-cli")}
    solve = {k: [] for k in times}
    for run in range(args.runs):
        start = time.perf_counter()
        summary = cli(csv_path)
        times["cli-csv"].append(time.perf_counter() - start)
        solve["cli-csv"].append(summary["wall_seconds"])
        reference = summary["objective"]

        start = time.perf_counter()
        result = allot.solve(parquet_path, spec)
        times["python"].append(time.perf_counter() - start)
        solve["python"].append(result.summary["wall_seconds"])
        assert result.summary["feasible"] and result.summary["objective"] == reference
        del result

        start = time.perf_counter()
        result = allot.solve(pq.read_table(parquet_path, read_dictionary=["user_id", "coupon_id"]), spec)
        times["python-dict"].append(time.perf_counter() - start)
        solve["python-dict"].append(result.summary["wall_seconds"])
        assert result.summary["feasible"] and result.summary["objective"] == reference
        del result

        start = time.perf_counter()
        df.to_csv(work / "from-pandas.csv", index=False)
        summary = cli(work / "from-pandas.csv")
        allocation = pd.read_csv(work / "allocation.csv", dtype={"user_id": str, "coupon_id": str})
        times["pandas-cli"].append(time.perf_counter() - start)
        solve["pandas-cli"].append(summary["wall_seconds"])
        assert summary["feasible"] and abs(summary["objective"] - reference) <= 1e-9 * abs(reference) and len(allocation) == summary["assignments"]
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s (solve {solve[k][-1]:.2f} s)" for k, v in times.items()), flush=True)

    median = {k: statistics.median(v) for k, v in times.items()}
    solve_median = statistics.median(s for v in solve.values() for s in v)
    print("\n| path | end to end (s), median | runs | / CLI on CSV | / solve alone |")
    print("|---|---|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {median[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} | {median[k] / median['cli-csv']:.2f} | {median[k] / solve_median:.2f} |")
    print(f"\nsolve alone (wall_seconds in the summaries, all runs): median {solve_median:.2f} s")


if __name__ == "__main__":
    main()

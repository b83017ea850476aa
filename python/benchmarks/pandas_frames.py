"""Issue 25, finding 4: a pandas DataFrame from pd.read_parquet (text ids backed by several Arrow
chunks) against the Parquet path on the same data, and a pd.concat of two halves.

    python3 python/benchmarks/pandas_frames.py --cli .build/release/allot [--users 400000] [--runs 5]

Scores from `allot generate` (5 coupons a user, one budget), written as Parquet in row groups of
250,000 rows, so pd.read_parquet gives chunked id columns. Each run times allot.solve on the path,
on the frame (the read excluded, then included) and on the concat, in rotating order; medians."""
import argparse
import statistics
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import allot


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--users", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default="/tmp/allot-pandas-frames")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    csv, spec, parquet = folder / "scores.csv", folder / "spec.json", folder / "scores.parquet"
    subprocess.run([args.cli, "generate", "--users", str(args.users), "--coupons", "5", "--seed", "4",
                    "--out", str(csv), "--spec", str(spec)], check=True, capture_output=True)
    table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(
        column_types={"user_id": "string", "coupon_id": "string"}))
    pq.write_table(table, parquet, row_group_size=250_000)
    frame = pd.read_parquet(parquet)
    half = len(frame) // 2
    concat = pd.concat([frame.iloc[:half], frame.iloc[half:]])
    print(f"{len(frame):,} rows; user_id dtype {frame['user_id'].dtype}, "
          f"{pq.ParquetFile(parquet).num_row_groups} row groups")

    def path():
        return allot.solve(str(parquet), str(spec))

    def frame_only():
        return allot.solve(frame, str(spec))

    def read_and_frame():
        return allot.solve(pd.read_parquet(parquet), str(spec))

    def concatenated():
        return allot.solve(concat, str(spec))

    cases = {"parquet path": path, "read_parquet frame": frame_only,
             "pd.read_parquet + solve": read_and_frame, "pd.concat frame": concatenated}
    times = {name: [] for name in cases}
    objectives = {}
    names = list(cases)
    for run in range(args.runs):
        for name in names[run % len(names):] + names[:run % len(names)]:
            began = time.perf_counter()
            result = cases[name]()
            times[name].append(time.perf_counter() - began)
            objectives.setdefault(name, result.objective)
    assert len(set(objectives.values())) == 1, objectives
    base = statistics.median(times["parquet path"])
    for name in names:
        m = statistics.median(times[name])
        print(f"{name:26s} median {m:.3f} s  ({m / base:.2f}x the Parquet path)  runs {', '.join(f'{t:.3f}' for t in times[name])}")


if __name__ == "__main__":
    main()

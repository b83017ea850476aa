"""allot.spark against the single-process solver, on the same Parquet scores, in one run.

    python python/benchmarks/spark_bench.py --users 1000000 --coupons 10 --case one-budget

Generates the scores (numpy, seeded; the model of `allot generate` in spirit: uplift with
diminishing returns in face value, cost = face x redemption probability) unless the Parquet file
exists, then times: allot.solve (single process, all cores) and allot.spark.solve on local[N].
"""
import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def generate(path, users, coupons, seed):
    rng = np.random.default_rng(seed)
    face = 5.0 * np.arange(1, coupons + 1)
    rows_per_chunk = max(1, 2_000_000 // coupons)
    writer = None
    for start in range(0, users, rows_per_chunk):
        n = min(rows_per_chunk, users - start)
        a = rng.lognormal(0, 0.8, n)[:, None]
        b = rng.normal(-1, 0.8, n)[:, None]
        s = rng.uniform(0.3, 0.9, n)[:, None]
        mean = a * 12 * (face / 5)[None, :] ** s * 0.1
        uplift = np.round(mean * rng.lognormal(0, 0.3, (n, coupons)) + rng.normal(0, 0.2, (n, coupons)), 4)
        p = 1 / (1 + np.exp(-(b + 0.35 * np.log(face)[None, :])))
        cost = np.round(face[None, :] * p, 4)
        points = rng.integers(0, 4, (n, coupons)).astype(np.float64)
        user = np.repeat(np.arange(start, start + n), coupons)
        table = pa.table({"user_id": pa.array([f"u{u:09d}" for u in user]),
                          "coupon_id": pa.array(np.tile([f"c{c}" for c in range(coupons)], n)),
                          "uplift": uplift.ravel(), "cost": cost.ravel(), "points": points.ravel()})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def spec_for(case, total_cost, total_points):
    if case == "one-budget":
        return {"budgets": [{"name": "cash", "column": "cost", "limit": round(0.1 * total_cost, 2)}]}
    return {"budgets": [{"name": "cash", "column": "cost", "limit": round(0.1 * total_cost, 2)},
                        {"name": "points", "column": "points", "limit": round(0.05 * total_points, 2)},
                        {"name": "cash2", "column": "cost", "limit": round(0.12 * total_cost, 2)}],
            "coupon_caps": {"c1": 20000, "c3": 15000}}


def tree_cpu_seconds(pid):
    """User + system CPU seconds of a process and its descendants (live and reaped), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--coupons", type=int, default=10)
    parser.add_argument("--case", choices=["one-budget", "three-budgets-caps"], default="one-budget")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--gap", type=float, default=1e-3)
    parser.add_argument("--dir", default="/tmp/allot-spark-bench")
    parser.add_argument("--skip-single", action="store_true")
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory (local mode: the executors' heap too)")
    parser.add_argument("--warmup", action="store_true",
                        help="first solve 20,000 users x the coupons, untimed (the JVM's class loading and JIT: once per application)")
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    path = Path(args.dir) / f"scores-{args.users}x{args.coupons}.parquet"
    if not path.exists():
        t = time.time()
        generate(path, args.users, args.coupons, 1)
        print(f"generated {path} in {time.time() - t:.1f} s")
    meta = pq.read_table(path, columns=["cost", "points"])
    spec = spec_for(args.case, float(np.sum(meta["cost"])) / args.coupons, float(np.sum(meta["points"])) / args.coupons)
    del meta
    out = {"candidates": args.users * args.coupons, "case": args.case, "spec": spec}
    if not args.skip_single:
        import allot

        t, cpu = time.time(), time.process_time()
        single = allot.solve(str(path), spec, threads=2)
        out["single"] = {"seconds": time.time() - t, "cpu_seconds": time.process_time() - cpu, "objective": single.objective, "bound": single.bound, "gap": single.gap,
                         "iterations": single.summary.get("iterations"), "prices": single.shadow_prices}
        del single
        print(json.dumps(out["single"]))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from allot import spark as allot_spark

    spark = (SparkSession.builder.master(args.master).config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", args.driver_memory).config("spark.sql.shuffle.partitions", str(args.partitions)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    if args.warmup:
        small = Path(args.dir) / f"scores-20000x{args.coupons}.parquet"
        if not small.exists():
            generate(small, 20_000, args.coupons, 2)
        allot_spark.solve(spark.read.parquet(str(small)), spec_for(args.case, 20_000 * 2.0, 20_000 * 0.1), partitions=args.partitions)
    jvm = spark.sparkContext._gateway.proc.pid
    cpu = tree_cpu_seconds(jvm) + time.process_time()
    t = time.time()
    df = spark.read.parquet(str(path))
    times = []

    def progress(message):
        times.append((round(time.time() - t, 1), message))
        print(f"{time.time() - t:7.1f} s  {message}", flush=True)

    result = allot_spark.solve(df, spec, gap=args.gap, partitions=args.partitions, progress=progress)
    seconds = time.time() - t
    spark_cpu = tree_cpu_seconds(jvm) + time.process_time() - cpu
    out["spark"] = {"seconds": seconds, "cpu_seconds": spark_cpu, "objective": result.objective, "bound": result.bound, "gap": result.gap,
                    "rounds": result.rounds, "rounds_to_gap": result.rounds_to_gap, "prices": result.shadow_prices,
                    "progress": times}
    if result.bounds:
        # the first round whose best bound is within 1e-3 / 1e-4 of the recovered objective
        best = np.minimum.accumulate(result.bounds)
        for target in (1e-3, 1e-4):
            within = np.flatnonzero((best - result.objective) / best <= target)
            out["spark"][f"rounds_to_{target:g}"] = int(within[0]) + 1 if len(within) else None
    if "single" in out:
        out["ratio"] = seconds / out["single"]["seconds"]
        out["cpu_ratio"] = spark_cpu / out["single"]["cpu_seconds"]
        out["objective_rel_diff"] = abs(result.objective - out["single"]["objective"]) / out["single"]["objective"]
    print(json.dumps(out, indent=1))
    spark.stop()


if __name__ == "__main__":
    main()

"""python -m allot.spark SCORES.parquet --spec spec.json --out allocation.parquet --summary summary.json

For spark-submit: spark-submit --py-files ... -m is not supported by spark-submit, so submit
this file: spark-submit $(python -c 'import allot.spark.__main__ as m; print(m.__file__)') ARGS.
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m allot.spark", description="Allot's dual on Spark: scores (Parquet) to an allocation (Parquet).")
    parser.add_argument("scores", help="Parquet file or directory of scores: user_id, coupon_id, uplift, cost, [channel], [budget columns]")
    parser.add_argument("--spec", required=True, help="spec JSON (docs/file-formats.md)")
    parser.add_argument("--out", required=True, help="allocation Parquet directory to write")
    parser.add_argument("--summary", help="summary JSON to write")
    parser.add_argument("--gap", type=float, default=1e-3, help="target relative gap with several constraints (default 1e-3)")
    parser.add_argument("--partitions", type=int, help="partitions to hash the users into (default: the input's)")
    parser.add_argument("--max-rounds", type=int, default=40, help="at most this many multiplier rounds (several constraints)")
    parser.add_argument("--sample-users", type=int, default=0,
                        help="several constraints: start from the dual of a sample of about this many users, solved on the driver (default 0: from zero)")
    parser.add_argument("--master", help="Spark master when not run by spark-submit (e.g. local[2])")
    parser.add_argument("--verbose", action="store_true", help="print progress to stderr")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession

    from .. import InputError, SolveError
    from . import solve

    # Inside a running application (e.g. a notebook or a test), reuse its session and leave it running.
    own = SparkSession.getActiveSession() is None
    builder = SparkSession.builder.appName("allot.spark")
    if args.master:
        builder = builder.master(args.master)
    # The executors' Python is this one (where allot is installed) unless the user chose another:
    # otherwise Spark starts `python3` from the PATH, which may lack allot. PySpark's context
    # reads PYSPARK_PYTHON when it starts (a local master ignores spark.pyspark.python).
    if own and not os.environ.get("PYSPARK_PYTHON"):
        os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = builder.getOrCreate()
    try:
        if not Path(args.scores).exists():
            raise InputError(f"{args.scores}: cannot read: no such file")
        df = spark.read.parquet(args.scores)
        result = solve(df, args.spec, gap=args.gap, max_rounds=args.max_rounds, partitions=args.partitions, sample_users=args.sample_users,
                       progress=(lambda s: print(f"allot.spark: {s}", file=sys.stderr)) if args.verbose else None)
        # Written beside the target, then renamed: no half-written output.
        out = Path(args.out)
        staging = Path(tempfile.mkdtemp(dir=out.parent if str(out.parent) else ".", prefix=f".{out.name}."))
        result.allocation.select("user_id", "coupon_id", "uplift", "cost").write.mode("overwrite").parquet(str(staging / "data"))
        if out.exists():
            import shutil

            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(staging / "data", out)
        staging.rmdir()
        if args.summary:
            text = json.dumps(result.summary, indent=2, sort_keys=True) + "\n"
            tmp = Path(args.summary).with_name(f".{Path(args.summary).name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, args.summary)
        print(f"objective {result.objective:.10g}, bound {result.bound:.10g}, gap {result.gap:.3g}, rounds {result.rounds}", file=sys.stderr)
        return 0
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except SolveError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    finally:
        if own:
            spark.stop()


if __name__ == "__main__":
    sys.exit(main())

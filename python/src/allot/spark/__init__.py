"""allot.spark: Allot's Lagrangian dual on Apache Spark (docs/spark.md).

    from allot import spark as allot_spark
    result = allot_spark.solve(df, {"budgets": [{"name": "cash", "limit": 5e6}]})
    result.allocation   # Spark DataFrame: user_id, coupon_id, uplift, cost (+ channel, budget columns)
    result.summary      # the CLI's summary schema, as a dict

The scores stay in Spark: they are repartitioned by user and cached as a few compact chunks per
partition, and each round every chunk runs Allot's Swift kernel (libAllotC, allot_spark.h) and
returns a few aggregates; the driver runs the multiplier search and the primal recovery on them.
"""
from ._driver import Result, solve

__all__ = ["solve", "Result"]

"""Where allot.solve's time goes, phase by phase, in fresh interpreters (wall and CPU seconds).

    python3 python/benchmarks/solve_phases.py SCORES.parquet SPEC_JSON [--runs 3] [--before PYTHONPATH LIBRARY]

Runs the steps of `allot.solve` (allot._solve) with a timer around each: build (reading the
scores, handing them to the library, `allot_builder_build`), solve (`allot_solve`: the method,
the verifier, the summary), freeing the problem, reading the result, the allocation
DataFrame, and freeing the result. Each run is a fresh process (imports and loading the library not counted); with
--before, another version of the package runs beside each run of this one, the two alternating
which goes first. Prints medians.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np
import allot, pyarrow.parquet
from allot import _native, _solve
allot.abi_version()
lib = _native.lib()
marks = [(time.perf_counter(), time.process_time())]
def mark():
    marks.append((time.perf_counter(), time.process_time()))
by_library = hasattr(_solve, "_result_allocation")  # as allot.solve does (an older version keeps its chunks)
built = _solve._build(sys.argv[1], json.loads(sys.argv[2]), None, None, **({"keep": False} if by_library else {})); mark()
result = _native.handle(lib.allot_solve(built[0], b"dual", None)); mark()
lib.allot_problem_free(built[0]); mark()
rows = np.empty(lib.allot_result_count(result), dtype=np.int64)
_native.check(lib.allot_result_copy_rows(result, rows.ctypes.data, len(rows)))
summary = json.loads(lib.allot_result_summary_json(result)); mark()
if built[1] is None:
    allocation = _solve._result_allocation(lib, result, len(rows))
else:
    allocation = _solve._allocation(*built[1:], rows)
mark()
lib.allot_result_free(result); mark()
names = ["build", "solve", "free problem", "result", "allocation", "free result"]
print(json.dumps({"dual": summary["wall_seconds"], **{n: [marks[k + 1][0] - marks[k][0], marks[k + 1][1] - marks[k][1]]
                                                    for k, n in enumerate(names)}}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scores")
    parser.add_argument("spec")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", nargs=2, metavar=("PYTHONPATH", "LIBRARY"))
    args = parser.parse_args()
    variants = {"this": {}}
    if args.before:
        variants["before"] = {"PYTHONPATH": args.before[0], "ALLOT_LIBRARY": args.before[1]}
    got = {k: [] for k in variants}
    for run in range(args.runs):
        order = list(variants.items())
        for name, env in (order if run % 2 == 0 else order[::-1]):  # what ran just before changes a fresh process's time
            done = subprocess.run([sys.executable, "-c", CHILD, args.scores, args.spec], capture_output=True, text=True,
                                  env={**os.environ, **env}, check=True)
            got[name].append(json.loads(done.stdout))
    for name, runs in got.items():
        phases = [k for k in runs[0] if k != "dual"]
        print(f"{name}: dual (summary wall_seconds) {statistics.median(r['dual'] for r in runs):.3f} s; "
              + "; ".join(f"{p} {statistics.median(r[p][0] for r in runs):.3f} s wall, {statistics.median(r[p][1] for r in runs):.3f} s CPU"
                          for p in phases))


if __name__ == "__main__":
    main()

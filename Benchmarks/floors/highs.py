"""Solve an exported model with HiGHS: its LP relaxation, or the 0-1 program with a time limit.

    python3 Benchmarks/floors/highs.py model.lp lp|mip [SECONDS]

Prints the status, the objective (and for mip the proven bound and gap) and the seconds to read
and to solve, measured here (highspy's own run, one thread)."""
import sys, time
import highspy

path, mode = sys.argv[1], sys.argv[2]
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.setOptionValue("threads", 1)
start = time.perf_counter()
h.readModel(path)
read = time.perf_counter() - start
if mode == "lp":
    h.setOptionValue("solve_relaxation", True)
else:
    h.setOptionValue("time_limit", float(sys.argv[3]) if len(sys.argv) > 3 else 300.0)
start = time.perf_counter()
h.run()
solve = time.perf_counter() - start
info = h.getInfo()
status = h.modelStatusToString(h.getModelStatus())
if mode == "lp":
    print(f"HiGHS LP relaxation: {status}, objective {info.objective_function_value:,.4f}, read {read:.2f} s, solve {solve:.2f} s")
else:
    print(f"HiGHS MILP: {status}, objective {info.objective_function_value:,.4f}, bound {info.mip_dual_bound:,.4f}, "
          f"gap {info.mip_gap:.2e}, read {read:.2f} s, solve {solve:.2f} s")

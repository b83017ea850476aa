#ifndef ALLOT_CGLPKGUARD_H
#define ALLOT_CGLPKGUARD_H

/* Every GLPK call that can fail, behind setjmp and glp_error_hook: a GLPK error returns
 * ALLOT_GLPK_ERROR (with GLPK's message in allot_glpk_message()) instead of aborting the
 * process. After an error, GLPK's environment of the calling thread has been freed
 * (glp_free_env): every problem object of that thread is gone.
 *
 * Create, solve and delete a problem on one thread: GLPK's environment is thread-local.
 * No Swift code runs inside these functions (longjmp must not cross Swift frames). */

#define ALLOT_GLPK_OK 0
#define ALLOT_GLPK_ERROR (-1)

typedef struct allot_glpk_problem allot_glpk_problem;

/* Outcome of allot_glpk_solve. */
#define ALLOT_GLPK_OPTIMAL 1
#define ALLOT_GLPK_FEASIBLE 2      /* stopped at a limit with an integer solution */
#define ALLOT_GLPK_INFEASIBLE 3
#define ALLOT_GLPK_NO_SOLUTION 4   /* stopped at a limit before any integer solution */

/* Receives an exact search's progress (maximisation): the best solution's value so far and the
 * best proven upper bound so far, each with a flag saying whether it is known yet. Called on the
 * solving thread from inside glp_intopt, several times per node: it must return quickly and must
 * not call GLPK (a GLPK error would longjmp across its frames). */
typedef void (*allot_glpk_progress)(void *context, int has_incumbent, double incumbent,
                                    int has_bound, double bound);

/* Builds a maximisation problem with binary columns.
 * Rows: sense[r] is 'L' (<= rhs[r]) or 'G' (>= rhs[r]). The matrix is given by row, CSR:
 * row_start[nrows + 1], col_index[nnz] (0-based), value[nnz]. */
int allot_glpk_build(allot_glpk_problem **out, int ncols, const double *objective,
                     int nrows, const char *sense, const double *rhs,
                     const int *row_start, const int *col_index, const double *value);

/* Solves; after ALLOT_GLPK_ERROR, p has been freed: do not delete it.
 * start (nullable, ncols values) is an integer-feasible solution offered to the
 * search through a heuristic callback. time_limit <= 0: none. node_limit <= 0: none; else the
 * search stops once its tree holds that many nodes (glp_ios_tree_size's total).
 * With a solution: has_bound is 1 when best_bound holds a proven upper bound (the solution's
 * own value when the tree was exhausted, else the best bound of the open nodes tracked in the
 * callback); within_gap is 1 when the search stopped on the relative gap tolerance.
 * report (nullable) is called from the search callback, with report_context, whenever the
 * incumbent or the bound changed since its last call. */
int allot_glpk_solve(allot_glpk_problem *p, double time_limit_seconds, int node_limit, double mip_gap, int verbose,
                     const double *start, allot_glpk_progress report, void *report_context, int *outcome, double *objective, int *has_bound,
                     double *best_bound, int *within_gap, double *solution);

void allot_glpk_delete(allot_glpk_problem *p);

/* Calls GLPK with an invalid argument on purpose, to test the guard. Returns ALLOT_GLPK_ERROR. */
int allot_glpk_force_error(void);

/* GLPK's text for the last error on this thread. */
const char *allot_glpk_message(void);

#endif

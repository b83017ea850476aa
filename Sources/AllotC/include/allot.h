/*
 * allot.h: the C ABI of Allot (libAllotC.so), for Python (ctypes) and other hosts.
 *
 * Version: ALLOT_ABI_VERSION below; allot_abi_version() returns the version of the loaded
 * library. A change to an existing signature or meaning, or a new function, increments the
 * version, so that a host that checks the version finds every function it declares.
 *   1  build, solve, results.
 *   2  adds allocations and logs read from columns, allot_evaluate(), allot_frontier() and
 *      reports (allot_report_*). Version 1's functions are unchanged.
 *   3  adds allot_builder_append(): a table given in chunks of rows (e.g. one Parquet row group
 *      at a time), each copied when appended. Version 2's functions are unchanged.
 *   4, 5, 6  see "since version 4", "since version 5" and "since version 6" below.
 *   7  adds allot_log_new_control() (a log whose control arm has another name) and
 *      allot_evaluate_checked() (fails past a share of log rows with an unknown treatment).
 *      Version 6's functions are unchanged.
 *
 * Errors. No function aborts the host on bad input: every argument is checked. A function that
 * fails returns NULL (handles), a negative number (counts) or a non-zero code (statuses), and
 * records a code and a message readable with allot_last_error_code() and
 * allot_last_error_message() on the SAME thread. The record is per thread, so threads do not
 * see each other's errors. A successful call clears it. Input messages are the CLI's, with
 * "row N" (N the 0-based row of the caller's table) in place of a line and column.
 * Handles are checked against a registry of live handles: a freed, foreign or NULL handle gives
 * ALLOT_ERR_ARGUMENT, never a crash. (A bug inside the solver that traps would still end the
 * process, as it ends the CLI; none is known.)
 *
 * Threads. Independent handles may be used from different threads at once. A problem is
 * immutable once built: several threads may solve the same problem at once. No global lock is
 * held during a solve (the registry's lock is held only to look a handle up). A builder may be
 * used from one thread at a time (its calls are serialised by its own lock).
 *
 * Memory and lifetimes.
 *  - Arrays given to allot_builder_set_ids(), allot_builder_set_strings() and
 *    allot_builder_set_numbers() are BORROWED, not copied: they must stay valid and unchanged until allot_builder_build() returns (or the
 *    builder is freed), or until allot_builder_append() returns when that comes first. After
 *    either returns, Allot holds no pointer into them: the problem keeps its own copy, grouped
 *    by user.
 *  - Strings given as arguments are read during the call only.
 *  - Strings returned by allot_result_*() stay valid until allot_result_free() of that result;
 *    allot_last_error_message() until the next Allot call on the same thread.
 *  - Every handle is freed with its own free function; freeing NULL is a no-op.
 *
 * Strings of a dictionary (ids, column names) are passed as Arrow lays out a large_string
 * array: `count` entries, `offsets` of count + 1 int64 values, entry k being the UTF-8 bytes
 * data[offsets[k] .. offsets[k+1]), `data_length` bytes in all.
 */
#ifndef ALLOT_H
#define ALLOT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALLOT_ABI_VERSION 7

/* Error codes. */
#define ALLOT_OK 0
#define ALLOT_ERR_INPUT 1        /* bad scores or spec: the CLI's exit status 1 */
#define ALLOT_ERR_SOLVE 2        /* the method failed (e.g. a MILP solver error) */
#define ALLOT_ERR_VERIFICATION 3 /* the allocation failed the verifier: the CLI's exit status 3 */
#define ALLOT_ERR_ARGUMENT 4     /* misuse of the ABI: bad handle, NULL pointer, unknown option */
#define ALLOT_ERR_INTERNAL 5     /* anything else */

typedef struct allot_builder allot_builder;
typedef struct allot_problem allot_problem;
typedef struct allot_result allot_result;
typedef struct allot_allocation allot_allocation;
typedef struct allot_log allot_log;
typedef struct allot_report allot_report;

uint32_t allot_abi_version(void);
/* The library's version, e.g. "0.1.0". Static storage. */
const char *allot_version(void);
/* The method names allot_solve() accepts, comma separated. Static storage. */
const char *allot_methods(void);

int32_t allot_last_error_code(void);
/* "" when the last call on this thread succeeded. */
const char *allot_last_error_message(void);

/*
 * Building a problem.
 *
 * allot_builder_new() takes the name used in messages (`source`, e.g. a file name), the
 * table's column names (checked as the CLI checks a scores header: user_id,
 * coupon_id, uplift and cost required, no repeats, every budget column present) and the spec
 * as JSON text (NULL for none; `spec_name` names it in messages). It fails with
 * ALLOT_ERR_INPUT on a bad spec or header.
 */
allot_builder *allot_builder_new(const char *source, int64_t column_count, const int64_t *column_offsets,
                                 const uint8_t *column_data, int64_t column_data_length,
                                 const char *spec_json, const char *spec_name);

/* The numeric columns the builder needs, in order: "uplift", "cost", then each extra budget
 * column of the spec. allot_builder_column_name() returns a string valid until the builder is
 * freed, or NULL when k is out of range. */
int64_t allot_builder_column_count(const allot_builder *b);
const char *allot_builder_column_name(const allot_builder *b, int64_t k);

/* A dictionary-encoded id column: "user_id", "coupon_id" (both required) or "channel"
 * (optional), of `rows` codes. codes[r] in [0, count) indexes the dictionary; -1 is a missing
 * value (an error for user_id and coupon_id; no channel for channel). The user_id column's
 * length is the table's row count: every other column must have as many. Borrowed until
 * allot_builder_build(). Setting a column again replaces it. */
int32_t allot_builder_set_ids(allot_builder *b, const char *column, const int32_t *codes, int64_t rows,
                              int64_t count, const int64_t *offsets, const uint8_t *data,
                              int64_t data_length);

/* An id column given as one string per row (`rows` strings in the large_string layout; a null
 * row is an empty string). Allot interns them as the CSV reader does. Borrowed until
 * allot_builder_build(). */
int32_t allot_builder_set_strings(allot_builder *b, const char *column, int64_t rows,
                                  const int64_t *offsets, const uint8_t *data, int64_t data_length);

/* A numeric column named by allot_builder_column_name(): `rows` float64 values. Borrowed until
 * allot_builder_build(). */
int32_t allot_builder_set_numbers(allot_builder *b, const char *column, const double *values, int64_t rows);

/* Appends the columns set so far (every column, each with the same number of rows) as the
 * next rows of the table, and forgets them: they are checked and copied during the call, so the
 * caller may release or reuse those arrays once it returns, and must set every column again
 * before the next append. Rows are numbered across appends (in messages and in
 * allot_result_copy_rows()): the first row of an append follows the last row of the one
 * before. `total_rows` is the table's row count when known (the library sizes its arrays once),
 * else 0. A failed append (ALLOT_ERR_INPUT for bad values, with the table-wide row) drops every
 * row appended, and every later append or build of this builder fails. (since version 3) */
int32_t allot_builder_append(allot_builder *b, int64_t total_rows);

/* Validates every value (finite uplift; finite, non-negative consumption; no repeated
 * (user, coupon) pair) and resolves the spec. The table is the rows appended since the last
 * build followed by the columns set since the last append (if any); with no append, the
 * columns set. The builder stays usable (e.g. to build again from the columns set) and must
 * still be freed. */
allot_problem *allot_builder_build(allot_builder *b);
void allot_builder_free(allot_builder *b);

int64_t allot_problem_candidates(const allot_problem *p);
void allot_problem_free(allot_problem *p);

/*
 * Solving. `method` is one of allot_methods() (NULL: "dual"). `options_json` is NULL or a JSON
 * object with any of: "threads" (>= 1), "seed" (>= 0), "gap" (> 0, the target relative gap),
 * "time_limit" (seconds > 0, exact methods), "polish_users" (>= 1, dual+milp),
 * "exact_finish_limit" (>= 0: the dual finishes models of at most this many candidates exactly,
 * 2000 by default, 0 never), "verbose" (bool), and the noisy scores' options of `allot solve`:
 * "shrink" (bool), "risk" (a number >= 0, or "auto"), "risk_quantile" (0 < q < 1), which read the
 * builder's columns "uplift_se" and draws "uplift_1".."uplift_B" when its header has them
 * (docs/algorithms.md, "Decisions under noisy scores"). The allocation is verified as the CLI verifies it; one that fails gives
 * ALLOT_ERR_VERIFICATION and no result. A spec whose floors no allocation meets (issue 23) gives ALLOT_ERR_SOLVE,
 * the message "infeasible: ..." naming the floor out of reach, and no result.
 */
allot_result *allot_solve(const allot_problem *p, const char *method, const char *options_json);

/* Number of assignments. */
int64_t allot_result_count(const allot_result *r);
/* Copies the rows (0-based, of the builder's table) of the assignments into out, in the order of
 * the CLI's allocation file. capacity must be >= allot_result_count(r). */
int32_t allot_result_copy_rows(const allot_result *r, int64_t *out, int64_t capacity);
/* The CLI's summary JSON (the --summary file), from the library's own encoder. */
const char *allot_result_summary_json(const allot_result *r);
/* A JSON array of {"kind": "budget" | "coupon_cap" | "min_roi", "name": ..., "value": ...}. */
const char *allot_result_shadow_prices_json(const allot_result *r);
/* Total uplift (recomputed by the verifier), the proven upper bound and the relative gap;
 * NaN when the method has no bound. */
double allot_result_objective(const allot_result *r);
double allot_result_upper_bound(const allot_result *r);
double allot_result_gap(const allot_result *r);

/* The allocation's columns as the CLI's allocation file has them (since version 4), entry k for
 * the assignment whose row is entry k of allot_result_copy_rows(), so that a host need not keep
 * its table to show the allocation. `column` is "user_id" or "coupon_id" for ids (the strings
 * the problem was built from), "uplift" or a consumption column ("cost", an extra budget
 * column) for values. allot_result_ids_length() gives the bytes of the ids in all;
 * allot_result_copy_ids() writes them in the large_string layout: allot_result_count(r) + 1
 * offsets into `offsets` and the bytes into `data` (data_capacity >= that length). The result
 * holds the problem's data it reads, so these work after allot_problem_free() of its problem
 * (the memory goes with allot_result_free()). */
int64_t allot_result_ids_length(const allot_result *r, const char *column);
int32_t allot_result_copy_ids(const allot_result *r, const char *column, int64_t *offsets, uint8_t *data,
                              int64_t data_capacity);
int32_t allot_result_copy_values(const allot_result *r, const char *column, double *out, int64_t capacity);
void allot_result_free(allot_result *r);

/* Writes a result's files as `allot solve --out A --summary S` does, through the library's
 * OutputFiles (docs/reliability.md): each to a temporary file beside it, flushed, then both
 * renamed (SIGINT and SIGTERM blocked in the calling thread across the renames); a failure
 * replaces neither. Only regular files are replaced (a symbolic link, a device, a FIFO or a
 * directory is refused), two paths naming the same file are refused, the files get mode
 * 0666 less the umask, and the summary records the allocation file's allocation_sha256 and
 * allocation_rows. Either path may be NULL (not both). The allocation file is the CLI's CSV,
 * or, when allocation_bytes is not NULL, those allocation_length bytes (a host's own rendering,
 * e.g. Parquet), which the summary's hash covers. The host's signal handlers are left alone.
 * Returns 0, or an error code (ALLOT_ERR_INPUT naming the path at fault). (since version 5) */
int32_t allot_result_write(const allot_result *r, const char *allocation_path, const uint8_t *allocation_bytes,
                           int64_t allocation_length, const char *summary_path);

/*
 * Evaluating an allocation (since version 2): what `allot evaluate` reports.
 *
 * String columns here are `rows` strings in the large_string layout above, with
 * data_length = offsets[rows]. They are read during the call only (copied).
 *
 * allot_allocation_new() reads an allocation of problem p from its id columns: row r assigns
 * coupon coupon_ids[r] to user user_ids[r]. An unknown user, a pair that is not a candidate,
 * or a repeated pair fails with ALLOT_ERR_INPUT ("name: row N: ...", as the CLI reads an
 * allocation file). The allocation belongs to p: it is evaluated with p only.
 */
allot_allocation *allot_allocation_new(const allot_problem *p, const char *name, int64_t rows,
                                       const int64_t *user_offsets, const uint8_t *user_data,
                                       const int64_t *coupon_offsets, const uint8_t *coupon_data);
void allot_allocation_free(allot_allocation *a);

/* A randomised log (docs/file-formats.md): per row the user, the treatment (a coupon id or
 * "control"), the outcome and, when propensities is not NULL, the propensity in (0, 1]. Values
 * are checked as `allot evaluate --log` checks them, errors naming the 0-based row.
 * outcome_column (NULL: "outcome") names the outcome in messages and reports. */
allot_log *allot_log_new(const char *name, const char *outcome_column, int64_t rows,
                         const int64_t *user_offsets, const uint8_t *user_data,
                         const int64_t *treatment_offsets, const uint8_t *treatment_data,
                         const double *outcomes, const double *propensities);
/* allot_log_new with the control arm named `control` (NULL: "control"; since version 7). Its
 * messages name the options as allot.evaluate spells them (control=, max_unknown_share=). */
allot_log *allot_log_new_control(const char *name, const char *outcome_column, const char *control, int64_t rows,
                                 const int64_t *user_offsets, const uint8_t *user_data,
                                 const int64_t *treatment_offsets, const uint8_t *treatment_data,
                                 const double *outcomes, const double *propensities);
void allot_log_free(allot_log *l);

/* The report of `allot evaluate --json`: the allocation's summary (with "feasible" and the
 * violations: an infeasible allocation is reported, not an error) and, when log is not NULL, its
 * "policy_value" on the log. A comparison on the same log rows ("policy_comparison") is made
 * against another allocation `other` of p, or, with other NULL, against "random" or "none";
 * against and other both NULL: no comparison. */
allot_report *allot_evaluate(const allot_problem *p, const allot_allocation *a, const allot_log *log,
                             const char *against, const allot_allocation *other);

/* allot_evaluate, but first, as `allot evaluate` does, fails with ALLOT_ERR_INPUT when more than
 * max_unknown_share (0 to 1) of the log's rows have a treatment that is neither its control arm
 * nor a coupon of p: those rows would drop out of the estimate (since version 7). */
allot_report *allot_evaluate_checked(const allot_problem *p, const allot_allocation *a, const allot_log *log,
                                     const char *against, const allot_allocation *other, double max_unknown_share);

/*
 * The budget frontier (since version 2): what `allot frontier` computes. Each method in
 * `methods` (comma separated; NULL: "dual,greedy-marginal,greedy-ratio") is solved and verified
 * at each of the budget_count budgets (finite, >= 0; taken in increasing order) as the limit of
 * the problem's first budget (a problem without a budget gets one named "budget" on cost).
 * options_json as for allot_solve(). The report's JSON is an array of points
 * {"method", "budget", "objective", "spend", "upper_bound"?, "shadow_price"?}, method by
 * method; row set k holds the rows (of the builder's table) chosen at point k.
 */
allot_report *allot_frontier(const allot_problem *p, const double *budgets, int64_t budget_count,
                             const char *methods, const char *options_json);

/* A report's JSON; valid until allot_report_free(). */
const char *allot_report_json(const allot_report *r);
/* The number of row sets (0 for an evaluation), the size of set k, and a copy of it. */
int64_t allot_report_row_sets(const allot_report *r);
int64_t allot_report_row_count(const allot_report *r, int64_t k);
int32_t allot_report_copy_rows(const allot_report *r, int64_t k, int64_t *out, int64_t capacity);
void allot_report_free(allot_report *r);

/* Live decisions (since version 5; docs/serve.md): a snapshot's decision and pacing engine in-process,
 * the code of `allot serve`. allot_live_new parses a snapshot (JSON text) with pacing rule
 * "proportional" or "fixed" and a gain (negative: the default); NULL on error. Each handle holds
 * one day of decisions. allot_live_decide takes the body of POST /v1/decide and the time of day
 * (0 to 1) and returns the response JSON, valid until the next decision on the handle; NULL on
 * error (a bad request: ALLOT_ERR_INPUT). */
typedef struct allot_live allot_live;
allot_live *allot_live_new(const char *json, const char *rule, double gain);
void allot_live_free(allot_live *live);
const char *allot_live_version(allot_live *live);
const char *allot_live_json(allot_live *live);
const char *allot_live_decide(allot_live *live, const char *request, double t);

/* Since version 6: writes the snapshot of a solved result to `path`, the file of `allot solve
 * --snapshot` byte for byte (the same code and the same atomic write: a temporary file beside
 * it, renamed; only a regular file is replaced), with the spend plan `profile` (comma-separated
 * weights of equal slots of the day, as --profile; NULL: uniform). ALLOT_OK or an error code;
 * nothing is written on error. */
int32_t allot_result_write_snapshot(const allot_result *r, const char *path, const char *profile);

#ifdef __cplusplus
}
#endif

#endif /* ALLOT_H */

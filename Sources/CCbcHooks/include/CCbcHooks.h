#ifndef ALLOT_CCBCHOOKS_H
#define ALLOT_CCBCHOOKS_H

/* What CBC 2.10's C API lacks, for a model of that API: progress of the branch and bound (its
 * message callback is called only when CBC also prints the message on standard output), and its
 * log on standard error rather than standard output. This C++ file reaches the CbcModel behind
 * the C handle (Coin_C_defines.h gives its layout when CBC_EXTERN_C is defined). */

#ifdef __cplusplus
extern "C" {
#endif

/* The best solution's value so far and the best proven bound so far, in the model's own
 * objective sense, each with a flag saying whether it is known yet. Called on the solving
 * thread, at every node and new solution of the main search (not of a heuristic's sub-search):
 * it must return quickly and must not call CBC. */
typedef void (*allot_cbc_progress)(void *context, int has_incumbent, double incumbent,
                                   int has_bound, double bound);

/* Reports the progress of the next Cbc_solve(cbc_model) to report, with context as its first
 * argument. Call after setting the objective sense. */
void allot_cbc_watch(void *cbc_model, allot_cbc_progress report, void *context);

/* Makes every LP that CLP solves for the next Cbc_solve(cbc_model) stop once seconds_left
 * seconds have passed from this call (on CLOCK_MONOTONIC), setting *fired to 1; fired must stay
 * valid during the solve. Relative, so that no clock is shared across the boundary. CBC's own
 * time limit is checked only between LPs. Returns 0 when the LP solver is not CLP. */
int allot_cbc_lp_deadline(void *cbc_model, double seconds_left, int *fired);

/* Sends the model's log (CBC's and its LP solver's, at the log level set so far) to standard
 * error: standard output may carry the allocation. Returns the message handler, to free with
 * allot_cbc_log_free after Cbc_deleteModel. */
void *allot_cbc_log_to_stderr(void *cbc_model);
void allot_cbc_log_free(void *log);

#ifdef __cplusplus
}
#endif

#endif

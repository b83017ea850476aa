#ifndef ALLOT_CCBCPROGRESS_H
#define ALLOT_CCBCPROGRESS_H

/* Progress of CBC 2.10's branch and bound, for a model of its C API. CBC 2.10's C API has no
 * progress callback (its message callback is called only when CBC also prints the message on
 * standard output), so this C++ file passes a CbcEventHandler to the CbcModel behind the C
 * handle (Coin_C_defines.h gives its layout when CBC_EXTERN_C is defined). */

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

#ifdef __cplusplus
}
#endif

#endif

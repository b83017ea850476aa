/*
 * allot_spark.h: the per-partition kernel of allot.spark (Sources/AllotC/SparkKernel.swift),
 * in libAllotC.so beside allot.h. See docs/spark.md for how the driver uses it.
 *
 * A table describes ONE partition's candidates, grouped by user: the candidates of user u are
 * rows user_start[u] .. user_start[u+1]. Relaxed constraints are numbered: the budgets first
 * (0 .. budget_count-1), then the coupon caps (budget_count + c for cap c), then the ROI floor
 * (last, when has_roi). Multipliers (`m`) and rooms have one entry per relaxed constraint.
 *
 * Every array given to allot_spark_table_new() is BORROWED until allot_spark_table_free(): it
 * must stay valid and unchanged. Errors follow allot.h: a failing call returns -1 (0 for a
 * handle) and sets allot_last_error_code()/allot_last_error_message(); a freed or unknown
 * table handle is ALLOT_ERR_ARGUMENT, not a crash.
 */
#ifndef ALLOT_SPARK_H
#define ALLOT_SPARK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uintptr_t allot_spark_table; /* 0: none */

/* cap[r]: the coupon cap (0 .. cap_count-1) of row r's coupon, -1 for an uncapped coupon.
 * channel: NULL without a channel column, else codes in [0, channel_count) or -1; channel_caps:
 * one per channel code, INT64_MAX for uncapped. eligible[r]: 1 when the candidate may be chosen
 * (uplift > 0, coupon and channel caps not 0, every budget column within its limit). */
allot_spark_table allot_spark_table_new(int64_t rows, int64_t users, const int64_t *user_start,
                                        const double *uplift, const double *cost,
                                        int32_t budget_count, const double *const *budgets,
                                        int32_t cap_count, const int32_t *cap,
                                        const int32_t *channel, int32_t channel_count, const int64_t *channel_caps,
                                        int64_t max_per_user, int32_t has_roi, double roi_rate,
                                        const uint8_t *eligible);
void allot_spark_table_free(allot_spark_table t);
int32_t allot_spark_constraint_count(allot_spark_table t);

/* At multipliers m: *value = Σ_users (the best total reduced value of the user's choice);
 * consumption[i] = Σ a_ij over the choices; chosen (NULL or one byte per row) marks them. */
int32_t allot_spark_evaluate(allot_spark_table t, const double *m, double *value, double *consumption, uint8_t *chosen);

/* The steps of S_i(λ), the consumption of constraint i with its multiplier set to λ and the
 * others as in m, inside (lo, hi]: S_i(λ) = *at_hi + Σ { drops[e] : λ < points[e] <= hi }
 * for lo <= λ <= hi. Writes at most `capacity` steps and returns how many there are (call
 * again with more room if that is larger than capacity). */
int64_t allot_spark_steps(allot_spark_table t, const double *m, int32_t constraint, double lo, double hi,
                          double *points, double *drops, int64_t capacity, double *at_hi);

/* Each user's best move from `chosen` (greedy-marginal's rule: add, or exchange a held
 * candidate for one of higher uplift; tier 1 = no extra weight, ranked by gain; tier 0 ranked
 * by gain / extra weight), among the moves its caps allow whose extra consumption of every
 * constraint is within room. Per user: add (row, -1 for no move), remove (row or -1), tier,
 * key, gain. */
int32_t allot_spark_best_moves(allot_spark_table t, const uint8_t *chosen, const double *weight, const double *room,
                               int64_t *add, int64_t *remove, int8_t *tier, double *key, double *gain);

#ifdef __cplusplus
}
#endif

#endif /* ALLOT_SPARK_H */

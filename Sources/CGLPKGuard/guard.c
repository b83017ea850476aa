#include "CGLPKGuard.h"

#include <glpk.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <float.h>
#include <math.h>

struct allot_glpk_problem {
    glp_prob *lp;
    int ncols;
    const double *start;   /* during a solve only */
    int start_used;
    double deadline;       /* CLOCK_MONOTONIC seconds; 0: none */
    int node_limit;        /* nodes of the search tree (glp_ios_tree_size's total); 0: none */
    int has_bound;         /* whether bound holds a bound seen in the tree */
    double bound;          /* best (lowest) upper bound over the open nodes seen so far */
    double next_scan;      /* CLOCK_MONOTONIC seconds of the next scan of the open nodes */
    allot_glpk_progress report;   /* during a solve only; nullable */
    void *report_context;
    int reported;          /* whether report was called in this solve, with the values below */
    int reported_has_incumbent, reported_has_bound;
    double reported_incumbent, reported_bound;
};

static _Thread_local jmp_buf *guard_point = NULL;
static _Thread_local char message[2048];
static _Thread_local int verbose_output = 0;

static int term_hook(void *info, const char *s) {
    (void)info;
    size_t used = strlen(message);
    if (used + 1 < sizeof message) {
        strncat(message, s, sizeof message - used - 1);
    }
    if (verbose_output) {
        fputs(s, stderr);
    }
    return 1; /* we printed (or silenced) it */
}

static void error_hook(void *info) {
    (void)info;
    if (guard_point != NULL) {
        longjmp(*guard_point, 1);
    }
}

/* Installs the hooks; the caller does setjmp on `point` right after. */
static void arm(jmp_buf *point, int verbose) {
    message[0] = '\0';
    verbose_output = verbose;
    guard_point = point;
    glp_term_hook(term_hook, NULL);
    glp_error_hook(error_hook, NULL);
}

static void disarm(void) {
    guard_point = NULL;
    glp_error_hook(NULL, NULL);
}

const char *allot_glpk_message(void) { return message; }

int allot_glpk_build(allot_glpk_problem **out, int ncols, const double *objective,
                     int nrows, const char *sense, const double *rhs,
                     const int *row_start, const int *col_index, const double *value) {
    jmp_buf point;
    allot_glpk_problem *volatile p = NULL;
    int *volatile ia = NULL;
    int *volatile ja = NULL;
    double *volatile ar = NULL;
    arm(&point, 0);
    if (setjmp(point)) {
        disarm();
        free(ia); free(ja); free(ar); free(p);
        glp_free_env();
        return ALLOT_GLPK_ERROR;
    }
    p = calloc(1, sizeof *p);
    p->ncols = ncols;
    p->lp = glp_create_prob();
    glp_set_obj_dir(p->lp, GLP_MAX);
    if (ncols > 0) glp_add_cols(p->lp, ncols);
    for (int j = 0; j < ncols; j++) {
        glp_set_col_kind(p->lp, j + 1, GLP_BV);
        glp_set_obj_coef(p->lp, j + 1, objective[j]);
    }
    if (nrows > 0) glp_add_rows(p->lp, nrows);
    for (int r = 0; r < nrows; r++) {
        if (sense[r] == 'G') glp_set_row_bnds(p->lp, r + 1, GLP_LO, rhs[r], 0.0);
        else glp_set_row_bnds(p->lp, r + 1, GLP_UP, 0.0, rhs[r]);
    }
    int nnz = row_start[nrows];
    /* GLPK's arrays are 1-based with an ignored slot 0. */
    ia = malloc(sizeof(int) * (size_t)(nnz + 1));
    ja = malloc(sizeof(int) * (size_t)(nnz + 1));
    ar = malloc(sizeof(double) * (size_t)(nnz + 1));
    for (int r = 0; r < nrows; r++) {
        for (int k = row_start[r]; k < row_start[r + 1]; k++) {
            ia[k + 1] = r + 1;
            ja[k + 1] = col_index[k] + 1;
            ar[k + 1] = value[k];
        }
    }
    glp_load_matrix(p->lp, nnz, ia, ja, ar);
    free(ia); free(ja); free(ar);
    disarm();
    *out = p;
    return ALLOT_GLPK_OK;
}

/* Tracks the best bound over the open nodes, and offers the warm start once, as a heuristic
 * solution. The open nodes' best local bound is a proven upper bound on the optimum (this is a
 * maximisation) at every call; it only goes down as the search goes on. */
static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reports the incumbent and the tracked bound to p->report (which must not call GLPK) when
 * either changed since the last report: the callback runs several times per node. */
static void report_progress(allot_glpk_problem *p, glp_tree *tree) {
    glp_prob *lp = glp_ios_get_prob(tree);
    int status = glp_mip_status(lp);
    int has_incumbent = status == GLP_FEAS || status == GLP_OPT;
    double incumbent = has_incumbent ? glp_mip_obj_val(lp) : 0.0;
    /* An unsolved root has the bound +DBL_MAX: no bound yet. */
    int has_bound = p->has_bound && p->bound < DBL_MAX / 2;
    if (p->reported && has_incumbent == p->reported_has_incumbent && incumbent == p->reported_incumbent
        && has_bound == p->reported_has_bound && (!has_bound || p->bound == p->reported_bound)) return;
    p->reported = 1;
    p->reported_has_incumbent = has_incumbent;
    p->reported_incumbent = incumbent;
    p->reported_has_bound = has_bound;
    p->reported_bound = p->bound;
    p->report(p->report_context, has_incumbent, incumbent, has_bound, p->bound);
}

/* Lowers p->bound to the open nodes' best bound. glp_ios_best_node walks the whole active list:
 * O(open nodes), and the list holds tens of thousands of nodes on a hard knapsack. */
static void scan_bound(allot_glpk_problem *p, glp_tree *tree) {
    int best = glp_ios_best_node(tree);
    if (best != 0) {
        double b = glp_ios_node_bound(tree, best);
        if (!p->has_bound || b < p->bound) {
            p->bound = b;
            p->has_bound = 1;
        }
    }
}

/* Seconds between two scans of the open nodes. Scanning at every call (several per node) made
 * the search O(nodes x open nodes): 3x the CPU on OR-Library mknapcb1 #4 (issue 25). A bound
 * from an earlier scan is still a proven bound, only looser; a fresh one is taken at the deadline. */
#define SCAN_INTERVAL 0.1

/* GLPK's tm_lim (milliseconds, at least 1) for what is left until deadline. */
static int milliseconds_left(double deadline) {
    double ms = (deadline - monotonic_seconds()) * 1000.0;
    return ms > 2e9 ? 2000000000 : ms < 1 ? 1 : (int)ms;
}

static void callback(glp_tree *tree, void *info) {
    allot_glpk_problem *p = info;
    double now = monotonic_seconds();
    /* tm_lim is checked only now and then; the callback runs at every node, so stopping here
     * keeps the wall-clock limit closely. */
    int nodes = 0;
    if (p->node_limit > 0) glp_ios_tree_size(tree, NULL, NULL, &nodes);
    if ((p->deadline > 0 && now >= p->deadline) || (p->node_limit > 0 && nodes >= p->node_limit)) {
        /* A node limit counts work: the same search stops at the same node on every run. */
        scan_bound(p, tree);   /* the bound at the stop */
        glp_ios_terminate(tree);
    } else if (now >= p->next_scan || !p->has_bound || p->bound >= DBL_MAX / 2) {
        /* Until the root's bound is known, at every call (the active list is short then). */
        scan_bound(p, tree);
        p->next_scan = now + SCAN_INTERVAL;
    }
    if (glp_ios_reason(tree) == GLP_IHEUR && p->start != NULL && !p->start_used) {
        p->start_used = 1;
        /* glp_ios_heur_sol takes a 1-based array. */
        double *x = malloc(sizeof(double) * (size_t)(p->ncols + 1));
        x[0] = 0;
        for (int j = 0; j < p->ncols; j++) x[j + 1] = p->start[j];
        glp_ios_heur_sol(tree, x);
        free(x);
    }
    if (p->report != NULL) report_progress(p, tree);
}

int allot_glpk_solve(allot_glpk_problem *p, double time_limit_seconds, int node_limit, double mip_gap, int verbose,
                     const double *start, allot_glpk_progress report, void *report_context, int *outcome, double *objective, int *has_bound,
                     double *best_bound, int *within_gap, double *solution) {
    jmp_buf point;
    arm(&point, verbose);
    if (setjmp(point)) {
        disarm();
        glp_free_env();   /* frees p->lp with every other GLPK object of this thread */
        free(p);
        return ALLOT_GLPK_ERROR;
    }
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.presolve = GLP_ON;
    parm.msg_lev = verbose ? GLP_MSG_ON : GLP_MSG_OFF;
    double deadline = time_limit_seconds > 0 ? monotonic_seconds() + time_limit_seconds : 0;
    if (deadline > 0) {
        /* glp_intopt's MIP presolve and root LP never look at tm_lim or call the callback: on a
         * 1e6-column model they alone ran 5 s past a 20 s limit (issue 25). So under a limit the
         * root LP is solved here, by a simplex that stops at what is left of the limit, and
         * glp_intopt starts from its optimal basis with no presolve of its own, with the time
         * then left. A root LP stopped at the limit ends the solve with no solution (the caller
         * keeps its start). */
        glp_smcp lp_parm;
        glp_init_smcp(&lp_parm);
        lp_parm.msg_lev = parm.msg_lev;
        lp_parm.tm_lim = milliseconds_left(deadline);
        glp_scale_prob(p->lp, GLP_SF_AUTO);
        int lp_ret = glp_simplex(p->lp, &lp_parm);
        int lp_status = glp_get_status(p->lp);
        int solved = lp_ret == 0 && lp_status == GLP_OPT;
        if (lp_ret == GLP_ETMLIM || (solved && monotonic_seconds() >= deadline)
            || (lp_ret == 0 && lp_status == GLP_NOFEAS)) {
            *outcome = lp_ret == 0 && lp_status == GLP_NOFEAS ? ALLOT_GLPK_INFEASIBLE : ALLOT_GLPK_NO_SOLUTION;
            *best_bound = 0;
            *has_bound = 0;
            *within_gap = 0;
            disarm();
            return ALLOT_GLPK_OK;
        }
        /* Otherwise (the simplex failed) glp_intopt tries again with its own presolve. */
        if (solved) {
            parm.presolve = GLP_OFF;
        }
        parm.tm_lim = milliseconds_left(deadline);
    }
    if (mip_gap > 0) parm.mip_gap = mip_gap;
    p->start = start;
    p->start_used = 0;
    p->has_bound = 0;
    p->bound = 0;
    p->next_scan = 0;
    p->report = report;
    p->report_context = report_context;
    p->reported = 0;
    p->deadline = deadline;
    p->node_limit = node_limit > 0 ? node_limit : 0;
    parm.cb_func = callback;
    parm.cb_info = p;
    int ret = glp_intopt(p->lp, &parm);
    p->start = NULL;
    p->report = NULL;
    int status = glp_mip_status(p->lp);
    *best_bound = 0;
    *has_bound = 0;
    *within_gap = 0;
    if (ret == GLP_ENOPFS || ret == GLP_ENODFS || status == GLP_NOFEAS) {
        *outcome = ALLOT_GLPK_INFEASIBLE;
    } else if (status == GLP_OPT || (status == GLP_FEAS && ret == GLP_EMIPGAP)) {
        /* proven optimal, or within the relative gap tolerance */
        *outcome = ALLOT_GLPK_OPTIMAL;
    } else if (status == GLP_FEAS || status == GLP_OPT) {
        *outcome = ALLOT_GLPK_FEASIBLE;
    } else {
        *outcome = ALLOT_GLPK_NO_SOLUTION;
    }
    if (*outcome == ALLOT_GLPK_OPTIMAL || *outcome == ALLOT_GLPK_FEASIBLE) {
        *objective = glp_mip_obj_val(p->lp);
        for (int j = 0; j < p->ncols; j++) solution[j] = glp_mip_col_val(p->lp, j + 1);
        if (status == GLP_OPT && ret == 0) {
            /* The search is complete: GLPK proved the solution optimal (to its tolerances). */
            *best_bound = *objective;
            *has_bound = 1;
        } else if (p->has_bound) {
            /* Stopped early (gap tolerance or time limit): the open nodes' best bound. */
            *best_bound = p->bound > *objective ? p->bound : *objective;
            *has_bound = 1;
        }
        if (ret == GLP_EMIPGAP) {
            /* GLPK stopped because |best - bound| / (|best| + DBL_EPSILON) < mip_gap over the
             * open nodes: that bound, which a scan may not have seen yet, is below this one. */
            double gap_bound = *objective + mip_gap * (fabs(*objective) + DBL_EPSILON);
            if (!*has_bound || gap_bound < *best_bound) *best_bound = gap_bound;
            *has_bound = 1;
        }
        *within_gap = ret == GLP_EMIPGAP;
    }
    disarm();
    return ALLOT_GLPK_OK;
}

void allot_glpk_delete(allot_glpk_problem *p) {
    if (p == NULL) return;
    glp_delete_prob(p->lp);
    free(p);
}

int allot_glpk_force_error(void) {
    jmp_buf point;
    glp_prob *volatile lp = NULL;
    arm(&point, 0);
    if (setjmp(point)) {
        disarm();
        glp_free_env();
        return ALLOT_GLPK_ERROR;
    }
    lp = glp_create_prob();
    glp_add_cols(lp, 1);
    glp_set_obj_coef(lp, 5, 1.0);   /* column 5 does not exist: GLPK raises an error */
    glp_delete_prob(lp);
    disarm();
    return ALLOT_GLPK_OK;
}

#define CBC_EXTERN_C
#include <coin/CbcModel.hpp>
#include <coin/CbcEventHandler.hpp>
#include <coin/CbcSolver.hpp>
#include <coin/OsiClpSolverInterface.hpp>
#include <coin/Cbc_C_Interface.h>
#include <coin/ClpEventHandler.hpp>
#include <coin/ClpSimplex.hpp>
#include <time.h>

#include "CCbcHooks.h"

namespace {

/* CbcModel copies its event handler into every model it makes (the search's own copy, and the
 * sub-searches of heuristics) and points it at the model running: events of sub-searches
 * (models with a parent) are skipped, as their values are of a restricted problem. */
class ProgressHandler : public CbcEventHandler {
public:
    ProgressHandler(allot_cbc_progress report, void *context, double sense)
        : report_(report), context_(context), sense_(sense) {}
    ProgressHandler(const ProgressHandler &other) = default;
    CbcEventHandler *clone() const override { return new ProgressHandler(*this); }

    CbcAction event(CbcEvent) override {
        const CbcModel *m = model_;
        if (m == nullptr || m->parentModel() != nullptr) return noAction;
        /* CBC minimises internally: its best value and bound are of the minimisation form;
         * sense_ (the model's sense, -1 for maximise) turns them back. */
        int has_incumbent = m->bestSolution() != nullptr;
        double incumbent = sense_ * m->getMinimizationObjValue();
        double bound = sense_ * m->getBestPossibleObjValue() * m->solver()->getObjSense();
        int has_bound = bound > -1e40 && bound < 1e40;
        report_(context_, has_incumbent, incumbent, has_bound, bound);
        return noAction;
    }

private:
    allot_cbc_progress report_;
    void *context_;
    double sense_;
};

double monotonic_seconds() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Stops every simplex of CLP (the root relaxation, and the LPs of preprocessing, heuristics
 * and nodes: CLP models copy their handler) once the deadline has passed. CBC checks its own
 * time limit only between these LPs, and the root relaxation of a model with a million columns
 * took minutes (issue 25). */
class DeadlineHandler : public ClpEventHandler {
public:
    DeadlineHandler(double deadline, int *fired) : deadline_(deadline), fired_(fired) {}
    DeadlineHandler(const DeadlineHandler &other) = default;
    ClpEventHandler *clone() const override { return new DeadlineHandler(*this); }

    int event(Event which) override {
        if (which != endOfIteration && which != endOfFactorization) return -1;   /* go on */
        if (monotonic_seconds() < deadline_) return -1;
        *fired_ = 1;
        return 3;   /* stop, as at the iteration limit */
    }

private:
    double deadline_;
    int *fired_;
};

}

extern "C" void allot_cbc_watch(void *cbc_model, allot_cbc_progress report, void *context) {
    Cbc_Model *model = static_cast<Cbc_Model *>(cbc_model);
    ProgressHandler handler(report, context, model->model_->solver()->getObjSense());
    model->model_->passInEventHandler(&handler);   /* keeps a copy */
}

extern "C" void *allot_cbc_log_to_stderr(void *cbc_model) {
    Cbc_Model *model = static_cast<Cbc_Model *>(cbc_model);
    CoinMessageHandler *handler = new CoinMessageHandler(stderr);
    handler->setLogLevel(model->model_->messageHandler()->logLevel());
    /* The model does not own a handler passed in; its copies (the search's) share it. */
    model->model_->passInMessageHandler(handler);
    return handler;
}

extern "C" void allot_cbc_log_free(void *log) {
    delete static_cast<CoinMessageHandler *>(log);
}

extern "C" int allot_cbc_lp_deadline(void *cbc_model, double seconds_left, int *fired) {
    Cbc_Model *model = static_cast<Cbc_Model *>(cbc_model);
    OsiClpSolverInterface *clp = dynamic_cast<OsiClpSolverInterface *>(model->model_->solver());
    if (clp == nullptr) return 0;
    DeadlineHandler handler(monotonic_seconds() + seconds_left, fired);
    clp->getModelPtr()->passInEventHandler(&handler);   /* keeps a copy */
    return 1;
}

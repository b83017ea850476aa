#define CBC_EXTERN_C
#include <coin/CbcModel.hpp>
#include <coin/CbcEventHandler.hpp>
#include <coin/CbcSolver.hpp>
#include <coin/OsiClpSolverInterface.hpp>
#include <coin/Cbc_C_Interface.h>

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

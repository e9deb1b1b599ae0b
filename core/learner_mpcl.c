#include "learner_mpcl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void mpcl_setup_default(mpcl_setup *s, const data_set *train, scenario scen)
{
    memset(s, 0, sizeof *s);
    s->nlayers = 3;
    s->sizes[0] = train->dim;
    s->sizes[1] = s->sizes[2] = 256;
    s->sizes[3] = scenario_outputs(scen);
    s->init = 1.0f;
    s->rule = RULE_MPCL;
    for (int l = 0; l < MPCL_MAX_LAYERS; l++)
        s->m[l] = 0.005f;
    s->lr = 0.005f;
    s->seed = 1;
    train_config_default(&s->cfg);
    s->cfg.scen = scen;
    s->cfg.patience = 0;
    if (scen != SCEN_TASK)
        s->cfg.bn_task = s->cfg.mask_task = 0;
}

static int mpcl_learn(void *self, int t, train_callback cb, void *ud, const volatile int *cancel,
                      learner_result *res, char *err, size_t errlen)
{
    learner_mpcl *x = self;
    train_result r;
    if (train_task(&x->n, &x->o, x->train, x->tasks, t, &x->cfg, cb, ud, cancel, &r, err,
                   errlen) < 0)
        return -1;
    memset(res, 0, sizeof *res);
    res->epochs_run = r.epochs_run;
    res->cancelled = r.cancelled;
    res->val_acc = r.val_acc;
    res->switch_rate = r.switch_rate;
    res->switch_any = r.switch_any;
    memcpy(res->switch_layer, r.switch_layer, sizeof res->switch_layer);
    return 0;
}

static int mpcl_evaluate(void *self, int upto, double *acc, double *average, char *err,
                         size_t errlen)
{
    learner_mpcl *x = self;
    int counts[DATA_MAX_TASKS];
    for (int j = 0; j < upto; j++) {
        const data_task *tk = &x->tasks->task[j];
        int bank = x->cfg.bn_task && net_bn_has(&x->n, j) ? j : -1;
        int right = metrics_eval(&x->n, bank, x->test, tk->test, tk->ntest, tk, x->cfg.scen,
                                 NULL);
        if (right < 0)
            return err_set(err, errlen, "experiment: out of memory evaluating task %d", j + 1);
        acc[j] = tk->ntest ? (double)right / tk->ntest : 0.0;
        counts[j] = tk->ntest;
    }
    *average = metrics_weighted_average(acc, counts, upto);
    return 0;
}

typedef struct mpcl_snapshot {
    net n;
    optim o;
} mpcl_snapshot;

static void mpcl_drop(void *snap)
{
    mpcl_snapshot *sn = snap;
    net_free(&sn->n);
    optim_free(&sn->o);
    free(sn);
}

static void *mpcl_snapshot_take(const void *self)
{
    const learner_mpcl *x = self;
    mpcl_snapshot *sn = calloc(1, sizeof *sn);
    if (!sn || net_clone(&sn->n, &x->n) < 0) {
        free(sn);
        return NULL;
    }
    if (optim_create(&sn->o, &sn->n, x->o.rule, x->o.lr) < 0) {
        net_free(&sn->n);
        free(sn);
        return NULL;
    }
    optim_copy(&sn->o, &x->o);
    return sn;
}

/* Same shapes: copy the parameters and the optimiser back. */
static void mpcl_restore(void *self, void *snap)
{
    learner_mpcl *x = self;
    mpcl_snapshot *sn = snap;
    net_copy_params(&x->n, &sn->n);
    /* The batch-norm banks of the tasks learnt since go too: take the snapshot's. */
    free(x->n.banks);
    x->n.banks = sn->n.banks;
    x->n.nbanks = sn->n.nbanks;
    sn->n.banks = NULL;
    sn->n.nbanks = 0;
    optim_copy(&x->o, &sn->o);
    mpcl_drop(sn);
}

static void mpcl_tap(const void *self, weight_tap *out)
{
    weight_tap_net(&((const learner_mpcl *)self)->n, out);
}

static void mpcl_free(void *self)
{
    learner_mpcl *x = self;
    optim_free(&x->o);
    net_free(&x->n);
    free(x);
}

const learner_class learner_mpcl_class = {
    .kind = "mpcl",
    .learn = mpcl_learn,
    .evaluate = mpcl_evaluate,
    .snapshot = mpcl_snapshot_take,
    .restore = mpcl_restore,
    .drop = mpcl_drop,
    .tap = mpcl_tap,
    .free = mpcl_free,
};

int learner_mpcl_new(learner *out, const data_set *train, const data_set *test,
                     const data_tasks *tasks, const mpcl_setup *s, char *err, size_t errlen)
{
    if (s->sizes[0] != train->dim || train->dim != test->dim)
        return err_set(err, errlen, "experiment: the net takes %d inputs, the data have %d",
                       s->sizes[0], train->dim);
    learner_mpcl *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(err, errlen, "experiment: out of memory");
    if (net_create(&x->n, s->nlayers, s->sizes, train->binary, s->init, s->seed, err,
                   errlen) < 0) {
        free(x);
        return -1;
    }
    if (optim_create(&x->o, &x->n, s->rule, s->lr) < 0) {
        net_free(&x->n);
        free(x);
        return err_set(err, errlen, "experiment: out of memory");
    }
    memcpy(x->o.m, s->m, sizeof x->o.m);
    x->train = train;
    x->test = test;
    x->tasks = tasks;
    x->cfg = s->cfg;
    x->cfg.seed = s->seed;
    *out = (learner){&learner_mpcl_class, x};
    return 0;
}

learner_mpcl *learner_mpcl_of(const learner *l)
{
    return l->cls == &learner_mpcl_class ? l->self : NULL;
}

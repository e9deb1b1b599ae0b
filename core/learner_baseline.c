#include "learner_baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static void baseline_tap(const void *self, weight_tap *out)
{
    const bl_model *m = &((const learner_baseline *)self)->m;
    memset(out, 0, sizeof *out);
    out->nlayers = m->nlayers;
    memcpy(out->sizes, m->sizes, sizeof(int) * (size_t)(m->nlayers + 1));
    for (int l = 0; l < m->nlayers; l++)
        out->w[l] = bl_layer_weights(m, l);
}

/* bl_learn's epochs, reported as the stepper's callers take them. */
typedef struct epoch_relay {
    const learner_baseline *x;
    train_callback cb;
    void *ud;
} epoch_relay;

static int relay_epoch(const bl_progress *p, void *ud)
{
    epoch_relay *r = ud;
    weight_tap tap;
    baseline_tap(r->x, &tap);
    train_progress tp = {.task = p->task, .epoch = p->epoch, .max_epochs = p->max_epochs,
                         .batches_done = p->batches_done, .batches_total = p->batches_total,
                         .loss = p->loss, .train_acc = p->train_acc, .val_acc = p->val_acc,
                         .nlayers = r->x->m.nlayers, .tap = &tap};
    return r->cb(&tp, r->ud);
}

static int baseline_learn(void *self, int t, train_callback cb, void *ud,
                          const volatile int *cancel, learner_result *res, char *err,
                          size_t errlen)
{
    learner_baseline *x = self;
    epoch_relay relay = {x, cb, ud};
    bl_result r;
    if (bl_learn(&x->m, x->train, x->tasks, t, &x->cfg, cb ? relay_epoch : NULL, &relay,
                 cancel, &r, err, errlen) < 0)
        return -1;
    memset(res, 0, sizeof *res);
    res->epochs_run = r.epochs_run;
    res->cancelled = r.cancelled;
    res->loss = r.loss;
    res->train_acc = r.train_acc;
    res->val_acc = r.val_acc;
    res->steps = r.steps;
    res->projected = r.projected;
    return 0;
}

static int baseline_evaluate(void *self, int upto, double *acc, double *average, char *err,
                             size_t errlen)
{
    learner_baseline *x = self;
    return bl_accuracy(&x->m, x->test, x->tasks, upto, x->cfg.scen, average, acc, err, errlen);
}

static void *baseline_snapshot(const void *self)
{
    bl_model *copy = malloc(sizeof *copy);
    if (copy && bl_clone(copy, &((const learner_baseline *)self)->m) < 0) {
        free(copy);
        return NULL;
    }
    return copy;
}

static void baseline_drop(void *snap)
{
    bl_free(snap);
    free(snap);
}

static void baseline_restore(void *self, void *snap)
{
    learner_baseline *x = self;
    bl_free(&x->m);
    x->m = *(bl_model *)snap; /* the workspace grows again when next needed */
    free(snap);
}

static void baseline_free(void *self)
{
    learner_baseline *x = self;
    bl_free(&x->m);
    free(x);
}

const learner_class learner_baseline_class = {
    .kind = "baseline",
    .learn = baseline_learn,
    .evaluate = baseline_evaluate,
    .snapshot = baseline_snapshot,
    .restore = baseline_restore,
    .drop = baseline_drop,
    .tap = baseline_tap,
    .free = baseline_free,
};

int learner_baseline_new(learner *out, const data_set *train, const data_set *test,
                         const data_tasks *tasks, int nlayers, const int *sizes,
                         const bl_config *cfg, char *err, size_t errlen)
{
    learner_baseline *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(err, errlen, "baselines: out of memory");
    if (bl_create(&x->m, nlayers, sizes, cfg->seed, err, errlen) < 0) {
        free(x);
        return -1;
    }
    x->train = train;
    x->test = test;
    x->tasks = tasks;
    x->cfg = *cfg;
    *out = (learner){&learner_baseline_class, x};
    return 0;
}

learner_baseline *learner_baseline_of(const learner *l)
{
    return l->cls == &learner_baseline_class ? l->self : NULL;
}

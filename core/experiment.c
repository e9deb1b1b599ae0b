#include "experiment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void experiment_setup_default(experiment_setup *s, const data_set *train, scenario scen)
{
    memset(s, 0, sizeof *s);
    s->nlayers = 3;
    s->sizes[0] = train->dim;
    s->sizes[1] = s->sizes[2] = 256;
    s->sizes[3] = scenario_outputs(scen);
    s->init = 1.0f;
    s->rule = RULE_MPCL;
    for (int l = 0; l < NET_MAX_LAYERS; l++)
        s->m[l] = 0.005f;
    s->lr = 0.005f;
    s->seed = 1;
    train_config_default(&s->cfg);
    s->cfg.scen = scen;
    s->cfg.patience = 0;
    if (scen != SCEN_TASK)
        s->cfg.bn_task = s->cfg.mask_task = 0;
}

int experiment_create(experiment *e, const data_set *train, const data_set *test,
                      const data_tasks *tasks, const experiment_setup *s, char *err,
                      size_t errlen)
{
    memset(e, 0, sizeof *e);
    if (s->sizes[0] != train->dim || train->dim != test->dim) {
        snprintf(err, errlen, "experiment: the net takes %d inputs, the data have %d",
                 s->sizes[0], train->dim);
        return -1;
    }
    if (net_create(&e->n, s->nlayers, s->sizes, train->binary, s->init, s->seed, err,
                   errlen) < 0)
        return -1;
    if (optim_create(&e->o, &e->n, s->rule, s->lr) < 0) {
        net_free(&e->n);
        snprintf(err, errlen, "experiment: out of memory");
        return -1;
    }
    memcpy(e->o.m, s->m, sizeof e->o.m);
    e->train = train;
    e->test = test;
    e->tasks = tasks;
    e->cfg = s->cfg;
    e->cfg.seed = s->seed;
    return 0;
}

static void snapshot_free(experiment_snapshot *sn)
{
    net_free(&sn->n);
    optim_free(&sn->o);
}

void experiment_free(experiment *e)
{
    for (int i = 0; i < DATA_MAX_TASKS; i++)
        snapshot_free(&e->before[i]);
    optim_free(&e->o);
    net_free(&e->n);
    memset(e, 0, sizeof *e);
}

static int snapshot_take(experiment_snapshot *sn, const experiment *e)
{
    if (net_clone(&sn->n, &e->n) < 0)
        return -1;
    if (optim_create(&sn->o, &sn->n, e->o.rule, e->o.lr) < 0) {
        net_free(&sn->n);
        return -1;
    }
    optim_copy(&sn->o, &e->o);
    return 0;
}

/* Put a snapshot's state back (same shapes) and drop the snapshot. */
static void snapshot_restore(experiment *e, experiment_snapshot *sn)
{
    net_copy_params(&e->n, &sn->n);
    /* The batch-norm banks of the tasks learnt since go too: take the snapshot's. */
    free(e->n.banks);
    e->n.banks = sn->n.banks;
    e->n.nbanks = sn->n.nbanks;
    sn->n.banks = NULL;
    sn->n.nbanks = 0;
    optim_copy(&e->o, &sn->o);
    snapshot_free(sn);
}

int experiment_step(experiment *e, train_callback cb, void *ud, const volatile int *cancel,
                    char *err, size_t errlen)
{
    int t = e->learnt;
    if (t >= e->tasks->ntasks)
        return 1;
    experiment_snapshot *sn = &e->before[t];
    if (snapshot_take(sn, e) < 0) {
        snprintf(err, errlen, "experiment: out of memory for the snapshot of step %d", t + 1);
        return -1;
    }
    if (train_task(&e->n, &e->o, e->train, e->tasks, t, &e->cfg, cb, ud, cancel,
                   &e->result[t], err, errlen) < 0) {
        snapshot_restore(e, sn);
        return -1;
    }
    if (e->result[t].cancelled) {
        snapshot_restore(e, sn);
        snprintf(err, errlen, "experiment: step %d cancelled", t + 1);
        return -1;
    }
    int counts[DATA_MAX_TASKS];
    for (int j = 0; j <= t; j++) {
        const data_task *tk = &e->tasks->task[j];
        int bank = e->cfg.bn_task && net_bn_has(&e->n, j) ? j : -1;
        int right = metrics_eval(&e->n, bank, e->test, tk->test, tk->ntest, tk, e->cfg.scen,
                                 NULL);
        if (right < 0) {
            snapshot_restore(e, sn);
            snprintf(err, errlen, "experiment: out of memory evaluating task %d", j + 1);
            return -1;
        }
        e->acc[t][j] = tk->ntest ? (double)right / tk->ntest : 0.0;
        counts[j] = tk->ntest;
    }
    e->average[t] = metrics_weighted_average(e->acc[t], counts, t + 1);
    e->learnt = t + 1;
    return 0;
}

int experiment_back(experiment *e)
{
    if (e->learnt == 0)
        return -1;
    int t = e->learnt - 1;
    snapshot_restore(e, &e->before[t]);
    memset(e->acc[t], 0, sizeof e->acc[t]);
    e->average[t] = 0;
    memset(&e->result[t], 0, sizeof e->result[t]);
    e->learnt = t;
    return 0;
}

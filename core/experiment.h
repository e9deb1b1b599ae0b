/* experiment: a task sequence learnt one step at a time. Each step learns the next task
 * and evaluates every task learnt so far (the accuracy matrix grows by a row); back()
 * restores the state before the last step, from an in-memory snapshot, so that another
 * setting can be tried on the same task. */
#ifndef MPCL_EXPERIMENT_H
#define MPCL_EXPERIMENT_H

#include "data.h"
#include "metrics.h"
#include "net.h"
#include "optim.h"
#include "train.h"

typedef struct experiment_snapshot {
    net n;
    optim o;
} experiment_snapshot;

typedef struct experiment {
    const data_set *train, *test; /* borrowed: outlive the experiment */
    const data_tasks *tasks;      /* borrowed */
    net n;
    optim o;
    train_config cfg;
    int learnt;                                      /* tasks learnt so far */
    double acc[DATA_MAX_TASKS][DATA_MAX_TASKS];      /* acc[i][j]: task j after task i */
    double average[DATA_MAX_TASKS];                  /* weighted average after task i */
    train_result result[DATA_MAX_TASKS];             /* of each step */
    experiment_snapshot before[DATA_MAX_TASKS];      /* state before step i */
} experiment;

typedef struct experiment_setup {
    int nlayers;
    int sizes[NET_MAX_LAYERS + 1];
    float init;
    optim_rule rule;
    float m[NET_MAX_LAYERS];
    float lr;
    uint64_t seed;
    train_config cfg;
} experiment_setup;

/* Defaults: the paper's net for the data (dim-256-256-outputs), rule mpcl, m = 0.005,
 * lr 0.005, train_config_default with patience 0, seed 1. */
void experiment_setup_default(experiment_setup *s, const data_set *train, scenario scen);

int experiment_create(experiment *e, const data_set *train, const data_set *test,
                      const data_tasks *tasks, const experiment_setup *s, char *err,
                      size_t errlen);
void experiment_free(experiment *e);

/* Learn the next task, then evaluate tasks 0..learnt on the test sets. Returns 0, 1 when
 * every task is learnt already, or -1 with a message in err. A cancelled step is undone. */
int experiment_step(experiment *e, train_callback cb, void *ud, const volatile int *cancel,
                    char *err, size_t errlen);
/* Undo the last step. Returns 0, or -1 when no step is left to undo. */
int experiment_back(experiment *e);

#endif

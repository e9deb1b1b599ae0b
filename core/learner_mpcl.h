/* learner_mpcl: the MPCL net as a learner (learner.h): a mixed-precision net trained with
 * its optimiser rule (train.h) task by task, evaluated with metrics_eval per task (the
 * task's batch-norm bank when it has one). */
#ifndef MPCL_LEARNER_MPCL_H
#define MPCL_LEARNER_MPCL_H

#include "learner.h"
#include "optim.h"

typedef struct mpcl_setup {
    int nlayers;
    int sizes[MPCL_MAX_LAYERS + 1];
    float init;
    optim_rule rule;
    float m[MPCL_MAX_LAYERS];
    float lr;
    uint64_t seed;
    train_config cfg;
} mpcl_setup;

/* Defaults: the paper's net for the data (dim-256-256-outputs), rule mpcl, m = 0.005,
 * lr 0.005, train_config_default with patience 0, seed 1. */
void mpcl_setup_default(mpcl_setup *s, const data_set *train, scenario scen);

typedef struct learner_mpcl {
    const data_set *train, *test; /* borrowed */
    const data_tasks *tasks;      /* borrowed */
    net n;
    optim o;
    train_config cfg;
} learner_mpcl;

extern const learner_class learner_mpcl_class;

/* A fresh net of setup s for the data into *out. */
int learner_mpcl_new(learner *out, const data_set *train, const data_set *test,
                     const data_tasks *tasks, const mpcl_setup *s, char *err, size_t errlen);
/* The MPCL learner behind l, or NULL when l is another kind. */
learner_mpcl *learner_mpcl_of(const learner *l);

#endif

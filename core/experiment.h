/* experiment: the one stepper. A learner (learner.h: the MPCL net or a float baseline)
 * learns a task sequence one step at a time. Each step learns the next task and evaluates
 * every task learnt so far (the accuracy matrix grows by a row); a cancelled or failed step
 * is undone; back() restores the state before the last step, from an in-memory snapshot,
 * so that another setting can be tried on the same task. */
#ifndef MPCL_EXPERIMENT_H
#define MPCL_EXPERIMENT_H

#include "learner.h"

typedef struct experiment {
    learner l;                                   /* owned: freed with the experiment */
    const data_tasks *tasks;                     /* borrowed: the learner's sequence */
    int learnt;                                  /* tasks learnt so far */
    double acc[DATA_MAX_TASKS][DATA_MAX_TASKS];  /* acc[i][j]: task j after task i */
    double average[DATA_MAX_TASKS];              /* weighted average after task i */
    learner_result result[DATA_MAX_TASKS];       /* of each step */
    double seconds[DATA_MAX_TASKS];              /* each step's wall time */
    void *before[DATA_MAX_TASKS];                /* the learner's state before step i */
} experiment;

/* Step the learner l (taking it over) through tasks. */
void experiment_init(experiment *e, learner l, const data_tasks *tasks);
void experiment_free(experiment *e);

/* Learn the next task, then evaluate tasks 0..learnt on the test sets. Returns 0, 1 when
 * every task is learnt already, or -1 with a message in err: a cancelled step (by cb's
 * return or *cancel) is undone and reads "step N cancelled". */
int experiment_step(experiment *e, train_callback cb, void *ud, const volatile int *cancel,
                    char *err, size_t errlen);
/* Undo the last step. Returns 0, or -1 when no step is left to undo. */
int experiment_back(experiment *e);

#endif

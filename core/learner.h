/* learner: what a model must do to be stepped through a task sequence (core/experiment),
 * in the manner of htop's PanelClass: a class of functions, and the object they work on.
 * The MPCL net (learner_mpcl.h) and every float baseline (learner_baseline.h) implement it;
 * the stepper keeps the accuracy matrix, the history, the undo and the cancellation for
 * all of them, once.
 *
 * A learner owns its model and borrows its data (train and test sets, the task sequence),
 * which must outlive it. Functions that can fail return -1 with one line in err[errlen]. */
#ifndef MPCL_LEARNER_H
#define MPCL_LEARNER_H

#include <stddef.h>

#include "data.h"
#include "tap.h"
#include "train.h"

/* One learnt task. Fields a kind of learner does not have stay 0. */
typedef struct learner_result {
    int epochs_run, cancelled;
    float loss, train_acc, val_acc; /* of the last epoch (val_acc: MPCL's best) */
    float switch_rate, switch_any;  /* MPCL: binary weights flipped during the task */
    float switch_layer[MPCL_MAX_LAYERS];
    long steps, projected;          /* baselines: optimiser steps, of them projected (GEM) */
} learner_result;

typedef struct learner_class {
    const char *kind; /* "mpcl", "baseline" */
    /* Learn task t. cb (may be NULL) is called after each epoch with the progress, its tap
     * set; a nonzero return or *cancel (may be NULL, polled between batches) stops the task
     * with res->cancelled = 1 (the stepper then restores its snapshot). */
    int (*learn)(void *self, int t, train_callback cb, void *ud, const volatile int *cancel,
                 learner_result *res, char *err, size_t errlen);
    /* Accuracy on the test sets of tasks 0..upto-1 into acc[], and their test-size
     * weighted average. */
    int (*evaluate)(void *self, int upto, double *acc, double *average, char *err,
                    size_t errlen);
    /* A copy of the whole learning state, or NULL when out of memory; restore puts it back
     * and consumes it; drop frees one unused. */
    void *(*snapshot)(const void *self);
    void (*restore)(void *self, void *snap);
    void (*drop)(void *snap);
    /* The weights as they are now (see tap.h). */
    void (*tap)(const void *self, weight_tap *out);
    void (*free)(void *self); /* the model and self */
} learner_class;

typedef struct learner {
    const learner_class *cls;
    void *self;
} learner;

#endif

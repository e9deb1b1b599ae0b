/* train: learning one task of a sequence: epochs of shuffled mini-batches, validation
 * after each epoch, early stopping, progress callbacks, cancellation. */
#ifndef MPCL_TRAIN_H
#define MPCL_TRAIN_H

#include "data.h"
#include "metrics.h"
#include "net.h"
#include "optim.h"

typedef struct train_config {
    scenario scen;
    int batch;          /* mini-batch size (>= 2: batch norm needs two examples) */
    int epochs;         /* epoch limit per task */
    int patience;       /* stop after this many epochs without a better validation
                           accuracy; 0 disables early stopping */
    int restore_best;   /* end the task with the parameters of the best epoch */
    int reset_optim;    /* zero Adam's moments at the start of each task */
    int bn_task;        /* store batch-norm statistics per task (bn=task) */
    int mask_task;      /* task-IL: the loss covers only the task's own outputs */
    int joint;          /* Joint baseline: train on the union of tasks 0..t */
    uint64_t seed;      /* shuffling seed */
} train_config;

void train_config_default(train_config *c);

typedef struct train_progress {
    int task, epoch, max_epochs; /* epoch counts from 1 */
    int batches_done, batches_total;
    float loss, train_acc, val_acc;
    float switch_rate;           /* binary weights flipped since the task began */
    float switch_any;            /* binary weights that flipped at least once so far */
    int nlayers;
    float switch_layer[MPCL_MAX_LAYERS]; /* switch_rate of each layer */
    const struct weight_tap *tap; /* the weights being trained (tap.h), valid during the
                                     callback only (on the training thread) */
} train_progress;

/* Called after each epoch; a nonzero return cancels the task. */
typedef int (*train_callback)(const train_progress *p, void *ud);

typedef struct train_result {
    int epochs_run, best_epoch, cancelled;
    float val_acc;                        /* best validation accuracy */
    /* Switch rate: the fraction of binary weights whose sign at the end of the task differs
     * from the sign at its start, overall and per layer; switch_any: the fraction whose
     * sign changed at least once during the task (a weight that flipped back counts). */
    float switch_rate;
    float switch_layer[MPCL_MAX_LAYERS];
    float switch_any;
    float switch_any_layer[MPCL_MAX_LAYERS];
    long flips, weights;
} train_result;

/* Learn task t of `tasks` (examples from `train`). *cancel (may be NULL) is polled between
 * batches; setting it nonzero stops the task after the current batch. Returns 0, or -1
 * with a message in err for bad arguments. */
int train_task(net *n, optim *o, const data_set *train, const data_tasks *tasks, int t,
               const train_config *cfg, train_callback cb, void *ud, const volatile int *cancel,
               train_result *res, char *err, size_t errlen);

#endif

/* finetune: in situ fine-tuning of a net's last layer against the chip's real arithmetic
 * (the paper's four steps):
 *  1. read Wpara, each layer's G+ - G- (uS), from both arrays of the programmed chip
 *     (nreads reads averaged);
 *  2-3. simulate the hardware flow in software: every layer's product as the chip computes
 *     it at parallelism p, WR Int(WL x) (crossbar.h: the rows split into groups of p, each
 *     group's partial sum quantised by the chip's ADC and Int, the groups added), batch
 *     norm and sign digital; with read noise off this equals the chip's VMM bit for bit;
 *  4. freeze the layers before the last; retrain the last layer's hidden weights and its
 *     batch-norm parameters on that simulated hardware, on the training data of the tasks
 *     learnt so far (all of it, or a bounded replay buffer of `replay` examples per task);
 *     then re-program the last layer (a weight whose sign flipped swaps its pair's states)
 *     and verify.
 * The last layer's effective weights in training are Wpara with the sign of each weight
 * whose hidden weight now disagrees with the programmed sign flipped (re-programming swaps
 * the cells). The gradient passes Int straight through (STE); the optimiser is Adam. Batch
 * norm: batch statistics in training, then each task's running mean and variance are
 * recomputed exactly over its examples on the final weights (per-task banks with bn=task).
 */
#ifndef MPCL_FINETUNE_H
#define MPCL_FINETUNE_H

#include "chip.h"
#include "chipnet.h"
#include "data.h"
#include "metrics.h"
#include "net.h"

typedef struct finetune_config {
    int p;           /* parallelism of the chip's inference (16) */
    int epochs;      /* 5 */
    int batch;       /* 100 */
    float lr;        /* Adam's step (0.002) */
    int replay;      /* examples per task kept for fine-tuning; 0: all of each task */
    int nreads;      /* reads averaged for Wpara (1) */
    scenario scen;   /* the net's scenario (task) */
    int bn_task;     /* per-task batch-norm banks (1 in task-IL) */
    int mask_task;   /* task-IL loss mask (1 in task-IL) */
    uint64_t seed;
    int reprogram;   /* re-program the last layer afterwards (1) */
} finetune_config;

void finetune_config_default(finetune_config *c);

typedef struct finetune_report {
    int examples;              /* training examples used */
    int epochs_run;
    float loss;                /* mean loss of the last epoch */
    float train_acc;           /* its accuracy on the simulated hardware */
    long flipped;              /* last-layer weights whose sign changed */
    chipnet_report reprogram;  /* the last layer's write-verify */
    double mapping_after;      /* the last layer's mapping accuracy after re-programming */
} finetune_report;

/* Called after each epoch (epoch from 1); nonzero stops. */
typedef int (*finetune_callback)(int epoch, int epochs, float loss, float acc, void *ud);

/* Fine-tune n (programmed on c, tasks 0..learnt-1 learnt) in place. */
int finetune_run(chip *c, net *n, const data_set *train, const data_tasks *tasks, int learnt,
                 const finetune_config *cfg, finetune_callback cb, void *ud,
                 const volatile int *cancel, finetune_report *rep, char *err, size_t errlen);

/* The software path alone: logits of examples idx through every layer simulated from the
 * chip's Wpara (read now) at parallelism p. For tests: with read noise off it equals
 * chipnet_infer bit for bit. */
int finetune_simulate(chip *c, const net *n, int bank, int p, const data_set *d, const int *idx,
                      int count, float *logits, char *err, size_t errlen);

#endif

/* model: what the panels show, gathered from the lab: each training epoch (from the job
 * event ring), the accuracy matrix (experiment steps), the last evaluation's confusion
 * matrix, the chip's array (conductances looked at without reading, the placement, the
 * weights and hidden weights of the net on it), the hidden weights of the net being trained
 * (a tap on the worker thread, placed as they would sit on the array), the device
 * histogram and a retention trace, and the job in progress. Main thread only, except
 * model_tap_weights (worker thread), which stages its copy under a lock. */
#ifndef MPCL_MODEL_H
#define MPCL_MODEL_H

#include <pthread.h>
#include <stdint.h>

#include "job.h"
#include "lab.h"

typedef struct model_epoch {
    int job, task, epoch, epochs;
    float loss, train_acc, val_acc, switch_rate, switch_any;
    int nlayers;
    float switch_layer[MPCL_MAX_LAYERS];
} model_epoch;

typedef struct model_rect {
    int row0, col0, rows, cols;
} model_rect;

typedef struct model {
    unsigned version; /* bumped on every change: the screen redraws */

    model_epoch *epochs; /* every epoch seen, in order */
    int nepochs, cap_epochs;

    int rows;                 /* rows of the accuracy matrix so far */
    double acc[10][10], average[10];

    int has_confusion, conf_upto;
    long confusion[10][10];
    double conf_acc[10], conf_average;

    /* The array: rows x cols cells of each array; layer placement. */
    int arows, acols;
    int have_g;               /* gpos/gneg hold a chip's conductances */
    int g_unread;             /* a chip was programmed but not looked at (headless, a link) */
    float *gpos, *gneg;       /* uS */
    float *weight;            /* signed weight of each pair (G+ - G-) / window, NaN off layers */
    float *hidden;            /* |Wh| of the weight in each pair, NaN off layers */
    float g_lrs, g_hrs;
    int nlayers;
    model_rect layer[MPCL_MAX_LAYERS];
    char chip_name[96];

    /* staged by the worker's tap */
    pthread_mutex_t mu;
    float *tap_hidden, *tap_weight;
    int tap_dirty, tap_nlayers;
    model_rect tap_layer[MPCL_MAX_LAYERS];

    int bins;
    double *edges;
    long *lrs, *hrs;
    float *trace;
    int ntrace, trace_every;

    /* the job in progress */
    int job_id, job_running;
    char job_name[48], job_status[64];
    double job_fraction, job_started;
} model;

int model_init(model *m, int rows, int cols);
void model_free(model *m);
/* Drain job events (own cursor) and the staged weights. Returns 1 when something changed. */
int model_update(model *m);
/* The observer that fills the model (lab_set_observer). */
void model_observer(model *m, lab_observer *o);
/* The same for a run without a console (no frame loop drains the job event ring): each
 * main-thread report (step, back, evaluate, chip, histogram, retention) also drains it, with
 * no idle callback (lab_sweep.c takes one to mean that a console shows the job bar). The
 * ring holds 1024 events; training publishes one per epoch, a step one more, an inference
 * one per task, and a step, an evaluation or a programming comes back through these
 * reports; so it overflows only when one job runs ~1000 epochs with none in between (a long
 * trainer:learn), and the curves then lose the oldest of them (model_update skips what the
 * ring lost), nothing else. The model only copies what the lab reports. A chip other than
 * the simulated one is not peeked (a full-array look is 2 MB over a link): the map then
 * holds the net's signs where the chip placed them, and no conductances (g_unread). */
void model_observer_drained(model *m, lab_observer *o);

#endif

#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "rng.h"
#include "tap.h"

void train_config_default(train_config *c)
{
    memset(c, 0, sizeof *c);
    c->scen = SCEN_TASK;
    c->batch = 100;
    c->epochs = 20;
    c->patience = 5;
    c->restore_best = 1;
    c->reset_optim = 1;
    c->bn_task = 1;
    c->mask_task = 1;
    c->seed = 1;
}

/* Packed sign bits of every layer, to count flips over a task. */
typedef struct sign_snapshot {
    uint64_t *bits[MPCL_MAX_LAYERS];
    long words[MPCL_MAX_LAYERS];
} sign_snapshot;

static int snapshot_take(sign_snapshot *s, const net *n)
{
    for (int l = 0; l < n->nlayers; l++) {
        s->words[l] = (long)n->layer[l].out * n->layer[l].words_in;
        s->bits[l] = malloc(sizeof(uint64_t) * s->words[l]);
        if (!s->bits[l])
            return -1;
        memcpy(s->bits[l], n->layer[l].wbits, sizeof(uint64_t) * s->words[l]);
    }
    return 0;
}

static void snapshot_free(sign_snapshot *s)
{
    for (int l = 0; l < MPCL_MAX_LAYERS; l++)
        free(s->bits[l]);
}

/* Fold the flips since `prev` into `touched` (bits that ever changed), then prev = now. */
static void track_flips(sign_snapshot *prev, sign_snapshot *touched, const net *n)
{
    for (int l = 0; l < n->nlayers; l++) {
        const uint64_t *now = n->layer[l].wbits;
        uint64_t *p = prev->bits[l], *t = touched->bits[l];
        for (long i = 0; i < prev->words[l]; i++) {
            t[i] |= p[i] ^ now[i];
            p[i] = now[i];
        }
    }
}

static void switch_rates(const sign_snapshot *start, const sign_snapshot *touched,
                         const net *n, train_result *r)
{
    static const uint64_t zero[1];
    long any = 0;
    r->flips = r->weights = 0;
    for (int l = 0; l < n->nlayers; l++) {
        long f = metrics_sign_flips(start->bits[l], n->layer[l].wbits, start->words[l]);
        long a = 0;
        for (long i = 0; i < touched->words[l]; i++)
            a += metrics_sign_flips(touched->bits[l] + i, zero, 1);
        long w = (long)n->layer[l].in * n->layer[l].out;
        r->switch_layer[l] = (float)f / (float)w;
        r->switch_any_layer[l] = (float)a / (float)w;
        r->flips += f;
        any += a;
        r->weights += w;
    }
    r->switch_rate = r->weights ? (float)r->flips / (float)r->weights : 0.0f;
    r->switch_any = r->weights ? (float)any / (float)r->weights : 0.0f;
}

/* A batch gathered twice: as bytes for the first layer's exact integer product, and as
 * floats (byte * unit) for its weight gradient. Binary inputs become bytes 0/1. */
typedef struct gather_job {
    const data_set *d;
    const int *idx;
    uint8_t *x8;
    float *x;
} gather_job;

static float input_unit(const data_set *d) { return d->binary ? 1.0f : 1.0f / 255.0f; }

static void gather_rows(void *ud, int begin, int end)
{
    const gather_job *g = ud;
    const data_set *d = g->d;
    size_t dim = (size_t)d->dim;
    float unit = input_unit(d);
    for (int r = begin; r < end; r++) {
        uint8_t *xr = g->x8 + (size_t)r * dim;
        float *fr = g->x + (size_t)r * dim;
        if (d->binary) {
            const uint64_t *src = d->bits + (size_t)g->idx[r] * d->words;
            for (size_t i = 0; i < dim; i++)
                xr[i] = (uint8_t)(src[i >> 6] >> (i & 63) & 1);
        } else {
            memcpy(xr, d->bytes + (size_t)g->idx[r] * dim, dim);
        }
        for (size_t i = 0; i < dim; i++)
            fr[i] = (float)xr[i] * unit;
    }
}

/* Whether task t can be trained with cfg on this net and data; else err says why. */
static int train_check(const net *n, const data_set *train, const data_tasks *tasks, int t,
                       const train_config *cfg, char *err, size_t errlen)
{
    if (t < 0 || t >= tasks->ntasks)
        return err_set(err, errlen, "train: task %d out of range 1-%d", t + 1, tasks->ntasks);
    if (cfg->batch < 2 || cfg->epochs < 1)
        return err_set(err, errlen, "train: batch must be >= 2 and epochs >= 1 (got %d, %d)",
                       cfg->batch, cfg->epochs);
    if (n->sizes[0] != train->dim || n->sizes[n->nlayers] != scenario_outputs(cfg->scen))
        return err_set(err, errlen,
                       "train: net is %d->%d but the data have %d inputs and the %s "
                       "scenario needs %d outputs", n->sizes[0], n->sizes[n->nlayers], train->dim,
                       scenario_name(cfg->scen), scenario_outputs(cfg->scen));
    return 0;
}

/* The epoch's order: positions shuffled by the stream of (seed, task, epoch), so that idx
 * and task_of stay paired. */
static void shuffle_epoch(data_epoch_set *es, uint64_t seed, int t, int epoch)
{
    rng r;
    rng_seed_stream(&r, seed, (uint64_t)t * 100003u + (uint64_t)epoch);
    for (int i = es->n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint32_t)(i + 1));
        int a = es->idx[i], b = es->task_of[i];
        es->idx[i] = es->idx[j];
        es->task_of[i] = es->task_of[j];
        es->idx[j] = a;
        es->task_of[j] = b;
    }
}

/* What one batch needs besides the net: its buffers and the flip tracking. */
typedef struct batch_bufs {
    int *target;
    uint8_t *x8;
    uint16_t *allowed;
    sign_snapshot *prev, *touched;
} batch_bufs;

/* Train on the B examples bidx (their tasks task_of): gather, forward, backward, one
 * optimiser step, flips tracked. Returns the batch's loss; *ok counts right answers. */
static float train_batch(net *n, optim *o, const data_set *train, const data_tasks *tasks,
                         const train_config *cfg, const int *bidx, const int *task_of,
                         const batch_bufs *bb, int *ok)
{
    int B = cfg->batch;
    float *x = net_input_buffer(n, B);
    gather_job gj = {train, bidx, bb->x8, x};
    kern_parallel(B, 16, gather_rows, &gj);
    for (int k = 0; k < B; k++) {
        const data_task *tk = &tasks->task[task_of[k]];
        int cls = train->labels[bidx[k]];
        bb->target[k] = scenario_target(cfg->scen, tk, cls);
        bb->allowed[k] = (cfg->scen == SCEN_TASK && cfg->mask_task)
                             ? scenario_eval_mask(SCEN_TASK, tk)
                             : (uint16_t)((1u << n->sizes[n->nlayers]) - 1);
    }
    net_forward_train_bytes(n, bb->x8, input_unit(train), B);
    float loss = net_backward(n, bb->target, bb->allowed, B, ok);
    optim_step(o, n);
    track_flips(bb->prev, bb->touched, n);
    return loss;
}

/* The epoch's switch rates into res and the progress report p. */
static void progress_switches(train_progress *p, const sign_snapshot *start,
                              const sign_snapshot *touched, net *n, train_result *res)
{
    switch_rates(start, touched, n, res);
    p->switch_rate = res->switch_rate;
    p->switch_any = res->switch_any;
    p->nlayers = n->nlayers;
    memcpy(p->switch_layer, res->switch_layer, sizeof p->switch_layer);
}

/* The epoch's progress to cb (may be NULL), with a tap on the net's weights for the faces
 * that draw them during the call. Nonzero: cb asks to stop. */
static int report_epoch(train_callback cb, void *ud, train_progress *p, const net *n)
{
    if (!cb)
        return 0;
    weight_tap tap;
    weight_tap_net(n, &tap);
    p->tap = &tap;
    int stop = cb(p, ud);
    p->tap = NULL;
    return stop;
}

/* Allocate what training task t needs: its buffers, the workspace for batches of B, the
 * epoch set, the sign snapshots (touched cleared). 0, or -1 out of memory. */
static int train_alloc(net *n, const data_set *train, const data_tasks *tasks, int t,
                       const train_config *cfg, batch_bufs *bb, data_epoch_set *es,
                       sign_snapshot *start)
{
    int B = cfg->batch;
    bb->target = malloc(sizeof(int) * B);
    bb->x8 = malloc((size_t)B * train->dim);
    bb->allowed = malloc(sizeof(uint16_t) * B);
    if (!bb->target || !bb->allowed || !bb->x8 || net_reserve(n, B) < 0 ||
        data_epoch_set_build(es, tasks, t, cfg->joint) < 0 || snapshot_take(start, n) < 0 ||
        snapshot_take(bb->prev, n) < 0 || snapshot_take(bb->touched, n) < 0)
        return -1;
    for (int l = 0; l < n->nlayers; l++)
        memset(bb->touched->bits[l], 0, sizeof(uint64_t) * bb->touched->words[l]);
    return 0;
}

/* Running statistics back to mean 0 and variance 1. */
static void fresh_statistics(net *n)
{
    for (int l = 0; l < n->nlayers; l++)
        for (int u = 0; u < n->layer[l].out; u++) {
            n->layer[l].mean[u] = 0.0f;
            n->layer[l].var[u] = 1.0f;
        }
}

/* What an epoch's batches add up to. */
typedef struct epoch_sums {
    double loss;
    long right;
    int batches;
} epoch_sums;

/* The epoch's loss, training accuracy and validation accuracy (the training accuracy when
 * the task keeps no validation examples) into p. 0, or -1 out of memory. */
static int epoch_report(train_progress *p, const epoch_sums *sum, const net *n,
                        const data_set *train, const data_task *task, const train_config *cfg)
{
    int B = cfg->batch;
    int vright = task->nval ? metrics_eval(n, -1, train, task->val, task->nval, task,
                                            cfg->scen, NULL)
                            : 0;
    if (vright < 0)
        return -1;
    p->loss = sum->batches ? (float)(sum->loss / sum->batches) : 0.0f;
    p->train_acc = sum->batches ? (float)sum->right / (float)(sum->batches * B) : 0.0f;
    p->val_acc = task->nval ? (float)vright / task->nval
                            : (float)sum->right / (sum->batches * B);
    return 0;
}

/* What train_alloc took (each part may be missing). */
static void train_free(batch_bufs *bb, data_epoch_set *es, sign_snapshot *start)
{
    snapshot_free(start);
    snapshot_free(bb->prev);
    snapshot_free(bb->touched);
    free(es->idx);
    free(es->task_of);
    free(bb->target);
    free(bb->x8);
    free(bb->allowed);
}

/* After an epoch with validation accuracy val: a new best is remembered (its parameters
 * copied into best when kept). Returns the epochs since the best. */
static int keep_best(float val, int epoch, float *best_val, int since_best, net *best,
                     const net *n, train_result *res)
{
    if (!(val > *best_val))
        return since_best + 1;
    *best_val = val;
    res->best_epoch = epoch;
    if (best)
        net_copy_params(best, n);
    return 0;
}

int train_task(net *n, optim *o, const data_set *train, const data_tasks *tasks, int t,
               const train_config *cfg, train_callback cb, void *ud, const volatile int *cancel,
               train_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (train_check(n, train, tasks, t, cfg, err, errlen) < 0)
        return -1;
    const data_task *task = &tasks->task[t];
    data_epoch_set es = {0};
    sign_snapshot start = {0}, prev = {0}, touched = {0};
    net best;
    int B = cfg->batch;
    batch_bufs bb = {NULL, NULL, NULL, &prev, &touched};
    int have_best = 0;
    int rc = -1;
    if (train_alloc(n, train, tasks, t, cfg, &bb, &es, &start) < 0) {
        err_format(err, errlen, "train: out of memory");
        goto out_early;
    }
    have_best = cfg->restore_best && cfg->patience > 0;
    if (have_best && net_clone(&best, n) < 0) {
        have_best = 0;
        err_format(err, errlen, "train: out of memory");
        goto out;
    }
    if (cfg->reset_optim)
        optim_reset_moments(o);
    if (cfg->bn_task) /* with per-task statistics, a task starts from fresh ones */
        fresh_statistics(n);

    int per_epoch = es.n / B; /* a ragged last batch is dropped */
    float best_val = -1.0f;
    int since_best = 0;
    for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
        shuffle_epoch(&es, cfg->seed, t, epoch);
        epoch_sums sum = {0, 0, 0};
        for (int bi = 0; bi < per_epoch; bi++) {
            if (cancel && *cancel) {
                res->cancelled = 1;
                break;
            }
            int ok;
            sum.loss += train_batch(n, o, train, tasks, cfg, es.idx + (size_t)bi * B,
                                    es.task_of + (size_t)bi * B, &bb, &ok);
            sum.right += ok;
            sum.batches++;
        }
        if (res->cancelled)
            break;
        res->epochs_run = epoch;
        train_progress p = {.task = t, .epoch = epoch, .max_epochs = cfg->epochs,
                            .batches_done = sum.batches, .batches_total = per_epoch};
        if (epoch_report(&p, &sum, n, train, task, cfg) < 0) {
            err_format(err, errlen, "train: out of memory validating task %d", t + 1);
            goto out;
        }
        progress_switches(&p, &start, &touched, n, res);
        since_best = keep_best(p.val_acc, epoch, &best_val, since_best, have_best ? &best : NULL,
                               n, res);
        if (report_epoch(cb, ud, &p, n)) {
            res->cancelled = 1;
            break;
        }
        if (cfg->patience > 0 && since_best >= cfg->patience)
            break;
    }
    if (have_best && res->best_epoch > 0 && !res->cancelled)
        net_copy_params(n, &best);
    res->val_acc = best_val;
    switch_rates(&start, &touched, n, res);
    if (cfg->bn_task)
        net_bn_store(n, t);
    rc = 0;
out:
    if (have_best)
        net_free(&best);
out_early:
    train_free(&bb, &es, &start);
    return rc;
}

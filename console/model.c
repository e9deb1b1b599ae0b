#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "net.h"
#include "tap.h"

int model_init(model *m, int rows, int cols)
{
    memset(m, 0, sizeof *m);
    m->arows = rows;
    m->acols = cols;
    size_t n = (size_t)rows * cols;
    m->gpos = malloc(n * sizeof(float));
    m->gneg = malloc(n * sizeof(float));
    m->weight = malloc(n * sizeof(float));
    m->hidden = malloc(n * sizeof(float));
    m->tap_hidden = malloc(n * sizeof(float));
    m->tap_weight = malloc(n * sizeof(float));
    if (!m->gpos || !m->gneg || !m->weight || !m->hidden || !m->tap_hidden || !m->tap_weight) {
        model_free(m);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        m->gpos[i] = m->gneg[i] = m->weight[i] = m->hidden[i] = NAN;
    pthread_mutex_init(&m->mu, NULL);
    m->g_lrs = 33.3f;
    m->g_hrs = 1.0f;
    return 0;
}

void model_free(model *m)
{
    free(m->epochs);
    free(m->gpos);
    free(m->gneg);
    free(m->weight);
    free(m->hidden);
    free(m->tap_hidden);
    free(m->tap_weight);
    free(m->edges);
    free(m->lrs);
    free(m->hrs);
    free(m->trace);
    memset(m, 0, sizeof *m);
}

/* Shelf packing as chip_place_net does it: where the layers would sit on the array. */
static int place(int nlayers, const int *sizes, int rows, int cols, model_rect *at)
{
    int row = 0, col = 0, shelf = 0;
    for (int l = 0; l < nlayers && l < MPCL_MAX_LAYERS; l++) {
        int r = sizes[l], c = sizes[l + 1];
        if (r > rows || c > cols)
            return -1;
        if (col + c > cols) {
            row += shelf;
            col = shelf = 0;
        }
        if (row + r > rows)
            return -1;
        at[l] = (model_rect){row, col, r, c};
        col += c;
        shelf = r > shelf ? r : shelf;
    }
    return 0;
}

/* The signs and magnitudes of the tapped weights at the rectangles at, into w and h (array
 * layout): an MPCL net's binary weights and hidden magnitudes; a float model's signs and
 * magnitudes. */
static void fill_weights(const weight_tap *n, const model_rect *at, int cols, float *w,
                         float *h)
{
    for (int l = 0; l < n->nlayers && l < MPCL_MAX_LAYERS; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        for (int i = 0; i < in; i++)
            for (int j = 0; j < out; j++) {
                float v = n->w[l][(size_t)j * in + i];
                size_t k = (size_t)(at[l].row0 + i) * cols + at[l].col0 + j;
                h[k] = fabsf(v);
                w[k] = v >= 0.0f ? 1.0f : -1.0f;
            }
    }
}

/* Worker thread: the model being trained, after an epoch. */
static void tap_weights(void *ud, const weight_tap *n)
{
    model *m = ud;
    model_rect at[MPCL_MAX_LAYERS];
    if (place(n->nlayers, n->sizes, m->arows, m->acols, at) < 0)
        return; /* does not fit on the array: nothing to show */
    pthread_mutex_lock(&m->mu);
    size_t cells = (size_t)m->arows * m->acols;
    if (m->tap_nlayers != n->nlayers || memcmp(at, m->tap_layer, sizeof(model_rect) * n->nlayers))
        for (size_t i = 0; i < cells; i++)
            m->tap_hidden[i] = m->tap_weight[i] = NAN;
    fill_weights(n, at, m->acols, m->tap_weight, m->tap_hidden);
    m->tap_nlayers = n->nlayers;
    memcpy(m->tap_layer, at, sizeof(model_rect) * (size_t)n->nlayers);
    m->tap_dirty = 1;
    pthread_mutex_unlock(&m->mu);
}

static void on_step(void *ud, int t, const double *acc, double average, float switch_rate)
{
    (void)switch_rate;
    model *m = ud;
    if (t < 0 || t >= 10)
        return;
    for (int j = 0; j <= t; j++)
        m->acc[t][j] = acc[j];
    m->average[t] = average;
    m->rows = t + 1; /* a step after a back() rewrites the row */
    m->version++;
}

static void on_back(void *ud, int learnt)
{
    model *m = ud;
    if (learnt < m->rows) /* the accuracy matrix loses the undone rows */
        m->rows = learnt;
    m->version++;
}

static void on_evaluate(void *ud, int upto, const double *acc, double average,
                        const long (*confusion)[10])
{
    model *m = ud;
    if (!confusion)
        return;
    memcpy(m->confusion, confusion, sizeof m->confusion);
    m->has_confusion = 1;
    m->conf_upto = upto;
    for (int j = 0; j < upto && j < 10; j++)
        m->conf_acc[j] = acc[j];
    m->conf_average = average;
    m->version++;
}

/* A chip programmed or fine-tuned with net nn: its placement, its conductances when peek (a
 * full-array look, no read disturb) and the weights of the pairs: (G+ - G-) / window as the
 * chip holds them, or the net's own signs when the conductances were not looked at. */
static void take_chip(model *m, chip *c, const net *n, int peek)
{
    size_t cells = (size_t)m->arows * m->acols;
    for (size_t i = 0; i < cells; i++)
        m->weight[i] = m->hidden[i] = NAN;
    chip_rect all = {0, 0, m->arows, m->acols};
    char err[300];
    m->have_g = peek && c->info.rows == m->arows && c->info.cols == m->acols &&
                chip_peek(c, CHIP_POS, all, m->gpos, err, sizeof err) == 0 &&
                chip_peek(c, CHIP_NEG, all, m->gneg, err, sizeof err) == 0;
    m->g_unread = !peek;
    double v;
    if (chip_get(c, "g_lrs", &v, err, sizeof err) == 0)
        m->g_lrs = (float)v;
    if (chip_get(c, "g_hrs", &v, err, sizeof err) == 0)
        m->g_hrs = (float)v;
    m->nlayers = c->nlayers < MPCL_MAX_LAYERS ? c->nlayers : MPCL_MAX_LAYERS;
    for (int l = 0; l < m->nlayers; l++)
        m->layer[l] = (model_rect){c->at[l].row0, c->at[l].col0, c->at[l].rows, c->at[l].cols};
    if (n) {
        weight_tap tap;
        weight_tap_net(n, &tap);
        fill_weights(&tap, m->layer, m->acols, m->weight, m->hidden);
    }
    if (n && m->have_g) {
        float win = m->g_lrs - m->g_hrs;
        for (size_t i = 0; i < cells; i++) /* the pairs as the chip holds them */
            if (!isnan(m->weight[i]))
                m->weight[i] = (m->gpos[i] - m->gneg[i]) / win;
    }
    snprintf(m->chip_name, sizeof m->chip_name, "chip %s id %s", c->info.backend, c->info.id);
    m->version++;
}

static void on_chip(void *ud, struct chip *c, const struct net *n) { take_chip(ud, c, n, 1); }

static void on_histogram(void *ud, const double *edges, const long *lrs, const long *hrs, int bins)
{
    model *m = ud;
    double *e = malloc(sizeof(double) * (size_t)(bins + 1));
    long *a = malloc(sizeof(long) * (size_t)bins), *b = malloc(sizeof(long) * (size_t)bins);
    if (!e || !a || !b) {
        free(e);
        free(a);
        free(b);
        return;
    }
    memcpy(e, edges, sizeof(double) * (size_t)(bins + 1));
    memcpy(a, lrs, sizeof(long) * (size_t)bins);
    memcpy(b, hrs, sizeof(long) * (size_t)bins);
    free(m->edges);
    free(m->lrs);
    free(m->hrs);
    m->edges = e;
    m->lrs = a;
    m->hrs = b;
    m->bins = bins;
    m->version++;
}

static void on_retention(void *ud, const float *trace, int n, int every)
{
    model *m = ud;
    float *t = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!t)
        return;
    memcpy(t, trace, sizeof(float) * (size_t)n);
    free(m->trace);
    m->trace = t;
    m->ntrace = n;
    m->trace_every = every;
    m->version++;
}

void model_observer(model *m, lab_observer *o)
{
    memset(o, 0, sizeof *o);
    o->ud = m;
    o->step = on_step;
    o->back = on_back;
    o->evaluate = on_evaluate;
    o->chip = on_chip;
    o->histogram = on_histogram;
    o->retention = on_retention;
    o->weights = tap_weights;
}

/* The main-thread reports, each followed by a drain of the job event ring. */
static void drained_step(void *ud, int t, const double *acc, double average, float rate)
{
    on_step(ud, t, acc, average, rate);
    model_update(ud);
}

static void drained_back(void *ud, int learnt)
{
    on_back(ud, learnt);
    model_update(ud);
}

static void drained_evaluate(void *ud, int upto, const double *acc, double average,
                             const long (*confusion)[10])
{
    on_evaluate(ud, upto, acc, average, confusion);
    model_update(ud);
}

/* Headless, only a simulated chip is looked at: over a link a full-array peek is two 1 MB
 * transfers after every programming, for a figure the script may never ask for. */
static void drained_chip(void *ud, struct chip *cc, const struct net *n)
{
    chip *c = cc;
    take_chip(ud, c, n, !strcmp(c->info.backend, "sim"));
    model_update(ud);
}

static void drained_histogram(void *ud, const double *edges, const long *lrs, const long *hrs,
                              int bins)
{
    on_histogram(ud, edges, lrs, hrs, bins);
    model_update(ud);
}

static void drained_retention(void *ud, const float *trace, int n, int every)
{
    on_retention(ud, trace, n, every);
    model_update(ud);
}

void model_observer_drained(model *m, lab_observer *o)
{
    model_observer(m, o);
    o->step = drained_step;
    o->back = drained_back;
    o->evaluate = drained_evaluate;
    o->chip = drained_chip;
    o->histogram = drained_histogram;
    o->retention = drained_retention;
}

static uint64_t cursor;

int model_update(model *m)
{
    int changed = 0;
    job_event ev[64];
    int n;
    while ((n = job_events(&cursor, ev, 64, NULL)) > 0) {
        for (int i = 0; i < n; i++) {
            const job_event *e = &ev[i];
            m->job_id = e->job_id;
            m->job_fraction = e->fraction;
            m->job_running = e->kind != JOB_EV_FINISHED;
            if (e->kind == JOB_EV_PROGRESS && e->tag == LAB_TAG_STEP && e->nvalues >= 3) {
                int t = (int)e->values[0];
                double acc[10];
                for (int k = 0; k <= t && k < 10 && 3 + k < e->nvalues; k++)
                    acc[k] = e->values[3 + k];
                lab_observer o;
                model_observer(m, &o);
                o.step(m, t, acc, e->values[1], (float)e->values[2]);
            }
            if (e->kind == JOB_EV_PROGRESS && e->has_train) {
                if (m->nepochs == m->cap_epochs) {
                    int cap = m->cap_epochs ? 2 * m->cap_epochs : 256;
                    model_epoch *ne = realloc(m->epochs, sizeof *ne * (size_t)cap);
                    if (!ne)
                        continue;
                    m->epochs = ne;
                    m->cap_epochs = cap;
                }
                const train_progress *p = &e->train;
                model_epoch *me = &m->epochs[m->nepochs++];
                int nl = p->nlayers < MPCL_MAX_LAYERS ? p->nlayers : MPCL_MAX_LAYERS;
                *me = (model_epoch){e->job_id, p->task, p->epoch, p->max_epochs, p->loss,
                                    p->train_acc, p->val_acc, p->switch_rate, p->switch_any,
                                    nl, {0}};
                memcpy(me->switch_layer, p->switch_layer, sizeof(float) * (size_t)me->nlayers);
            }
            changed = 1;
        }
    }
    pthread_mutex_lock(&m->mu);
    if (m->tap_dirty) { /* the net being trained: its weights and hidden weights */
        size_t cells = (size_t)m->arows * m->acols;
        memcpy(m->hidden, m->tap_hidden, cells * sizeof(float));
        memcpy(m->weight, m->tap_weight, cells * sizeof(float));
        m->nlayers = m->tap_nlayers;
        memcpy(m->layer, m->tap_layer, sizeof(model_rect) * (size_t)m->nlayers);
        changed = 1;
    }
    m->tap_dirty = 0;
    pthread_mutex_unlock(&m->mu);
    if (changed)
        m->version++;
    return changed;
}

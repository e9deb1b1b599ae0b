#include "finetune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crossbar.h"
#include "error.h"
#include "rng.h"

void finetune_config_default(finetune_config *c)
{
    memset(c, 0, sizeof *c);
    c->p = 16;
    c->epochs = 5;
    c->batch = 100;
    c->lr = 0.002f;
    c->nreads = 1;
    c->scen = SCEN_TASK;
    c->bn_task = 1;
    c->mask_task = 1;
    c->seed = 1;
    c->reprogram = 1;
}

/* The chip's model of a layer: Wpara (out, in) in uS on the crossbar's grid, and the ADC. */
typedef struct hw_layer {
    int in, out;
    float *wpara;
    xbar_adc q;
} hw_layer;

/* The chip's front end, from its parameters (those a backend lacks keep the ideal
 * chip's defaults). */
static int chip_xbar_params(chip *c, xbar_params *xp, float *g_lrs, float *g_hrs)
{
    xbar_default_params(xp);
    double v;
    char e[64];
    struct { const char *name; float *f; int *i; } P[] = {
        {"v_read", &xp->v_read, NULL},         {"adc_bits", NULL, &xp->adc_bits},
        {"tia_gain", &xp->tia_gain, NULL},     {"int_frac_bits", NULL, &xp->int_frac_bits},
        {"adc_vfs", &xp->adc_vfs, NULL},       {"adc_offset", &xp->adc_offset, NULL},
        {"adc_inl", &xp->adc_inl, NULL},       {"adc_dnl", &xp->adc_dnl, NULL},
        {"access_ohm", &xp->access_ohm, NULL},
    };
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++)
        if (chip_get(c, P[k].name, &v, e, sizeof e) == 0) {
            if (P[k].f)
                *P[k].f = (float)v;
            else
                *P[k].i = (int)v;
        }
    if (chip_get(c, "adc_seed", &v, e, sizeof e) == 0)
        xp->adc_seed = (uint64_t)v;
    *g_lrs = chip_get(c, "g_lrs", &v, e, sizeof e) == 0 ? (float)v : 100.0f;
    *g_hrs = chip_get(c, "g_hrs", &v, e, sizeof e) == 0 ? (float)v : 1.0f;
    return 0;
}

/* Step 1: read layer l's pairs through groups of p rows (nreads averaged) into Wpara, then
 * the quantiser (step 2). */
static int read_layer(chip *c, const net *n, int l, int p, int nreads, hw_layer *h, char *err,
                      size_t errlen)
{
    chip_rect r = c->at[l];
    h->in = n->sizes[l];
    h->out = n->sizes[l + 1];
    size_t cells = (size_t)r.rows * r.cols;
    float *gp = calloc(cells, sizeof *gp), *gn = calloc(cells, sizeof *gn);
    float *tp = malloc(cells * sizeof *tp), *tn = malloc(cells * sizeof *tn);
    h->wpara = malloc(cells * sizeof *h->wpara);
    int rc = (!gp || !gn || !tp || !tn || !h->wpara) ? -1 : 0;
    if (rc < 0)
        err_format(err, errlen, "out of memory");
    int pg = p < h->in ? p : h->in;
    for (int k = 0; rc == 0 && k < nreads; k++) {
        rc = chip_read_layer(c, CHIP_POS, l, pg, tp, err, errlen);
        if (rc == 0)
            rc = chip_read_layer(c, CHIP_NEG, l, pg, tn, err, errlen);
        for (size_t i = 0; rc == 0 && i < cells; i++) {
            gp[i] += tp[i] / (float)nreads;
            gn[i] += tn[i] / (float)nreads;
        }
    }
    /* On the crossbar's grid, cell by cell, as the chip holds them. */
    for (int i = 0; rc == 0 && i < h->in; i++)
        for (int j = 0; j < h->out; j++) {
            size_t k = (size_t)i * h->out + j;
            h->wpara[(size_t)j * h->in + i] =
                (float)(lrintf(gp[k] / XBAR_GRID) - lrintf(gn[k] / XBAR_GRID)) * XBAR_GRID;
        }
    free(gp);
    free(gn);
    free(tp);
    free(tn);
    if (rc == 0) {
        xbar_params xp;
        float glrs, ghrs;
        chip_xbar_params(c, &xp, &glrs, &ghrs);
        rc = xbar_adc_init(&h->q, &xp, glrs, ghrs, p < h->in ? p : h->in, err, errlen);
    }
    return rc;
}

/* Batch norm with a layer's statistics (of `bank` when stored): y (B, out) -> z. */
static void bn_apply(const float *gamma, const float *beta, const float *mean, const float *var,
                     float eps, const int32_t *y, int B, int out, float *z)
{
    for (int o = 0; o < out; o++) {
        float s = gamma[o] / sqrtf(var[o] + eps);
        float b = beta[o] - s * mean[o];
        for (int k = 0; k < B; k++)
            z[(size_t)k * out + o] = s * (float)y[(size_t)k * out + o] + b;
    }
}

/* Inputs of the last layer for examples idx: the simulated hardware through the frozen
 * layers, batch norm of bank `bank` (the net's running statistics if not stored). */
static int hidden_inputs(const net *n, const hw_layer *hw, int bank, const data_set *d,
                         const int *idx, int count, int upto, int8_t *out, float *logits,
                         char *err, size_t errlen)
{
    net copy;
    const net *m = n;
    if (bank >= 0 && net_bn_has(n, bank)) {
        if (net_clone(&copy, n) < 0)
            return err_set(err, errlen, "out of memory");
        net_bn_load(&copy, bank);
        m = &copy;
    }
    enum { B = 256 };
    int maxw = 0;
    for (int l = 0; l <= n->nlayers; l++)
        maxw = n->sizes[l] > maxw ? n->sizes[l] : maxw;
    int8_t *x = malloc((size_t)B * maxw);
    int32_t *y = malloc(sizeof *y * (size_t)B * maxw);
    float *z = malloc(sizeof *z * (size_t)B * maxw);
    uint64_t *bits = malloc(sizeof *bits * (size_t)B * d->words);
    int rc = (!x || !y || !z || !bits) ? -1 : 0;
    if (rc < 0)
        err_format(err, errlen, "out of memory");
    for (int first = 0; rc == 0 && first < count; first += B) {
        int nb = count - first < B ? count - first : B;
        data_gather_bits(d, idx + first, nb, bits);
        for (int k = 0; k < nb; k++)
            for (int i = 0; i < d->dim; i++)
                x[(size_t)k * d->dim + i] =
                    (int8_t)((bits[(size_t)k * d->words + i / 64] >> (i % 64)) & 1);
        for (int l = 0; rc == 0 && l < upto; l++) {
            const net_layer *L = &m->layer[l];
            rc = xbar_wlwr(&hw[l].q, L->in, L->out, hw[l].wpara, x, nb, y, NULL, err, errlen);
            if (rc < 0)
                break;
            bn_apply(L->gamma, L->beta, L->mean, L->var, m->bn_eps, y, nb, L->out, z);
            if (l == n->nlayers - 1) {
                memcpy(logits + (size_t)first * L->out, z, sizeof *z * (size_t)nb * L->out);
            } else {
                for (size_t k = 0; k < (size_t)nb * L->out; k++)
                    x[k] = z[k] >= 0.0f ? 1 : -1;
            }
        }
        if (rc == 0 && upto < n->nlayers)
            memcpy(out + (size_t)first * n->sizes[upto], x, (size_t)nb * n->sizes[upto]);
    }
    free(x);
    free(y);
    free(z);
    free(bits);
    if (m == &copy)
        net_free(&copy);
    return rc;
}

static void free_hw(hw_layer *hw, int n)
{
    for (int l = 0; l < n; l++)
        free(hw[l].wpara);
}

static int read_all(chip *c, const net *n, int p, int nreads, hw_layer *hw, char *err,
                    size_t errlen)
{
    memset(hw, 0, sizeof *hw * MPCL_MAX_LAYERS);
    if (c->nlayers != n->nlayers)
        return err_set(err, errlen,
                       "chip %s: the net is not placed on it (program it first)", c->uri);
    for (int l = 0; l < n->nlayers; l++)
        if (read_layer(c, n, l, p, nreads, &hw[l], err, errlen) < 0) {
            free_hw(hw, n->nlayers);
            return -1;
        }
    return 0;
}

int finetune_simulate(chip *c, const net *n, int bank, int p, const data_set *d, const int *idx,
                      int count, float *logits, char *err, size_t errlen)
{
    if (!d->binary || d->dim != n->sizes[0])
        return err_set(err, errlen, "the chip needs the net's binary inputs");
    hw_layer hw[MPCL_MAX_LAYERS];
    if (read_all(c, n, p, 1, hw, err, errlen) < 0)
        return -1;
    int rc = hidden_inputs(n, hw, bank, d, idx, count, n->nlayers, NULL, logits, err, errlen);
    free_hw(hw, n->nlayers);
    return rc;
}

/* ---- step 4: the last layer on the simulated hardware ------------------------------- */

typedef struct adam {
    float *m, *v;
    int t;
} adam;

static void adam_step(adam *a, float *w, const float *g, int n, float lr)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    a->t++;
    float c1 = 1.0f - powf(b1, (float)a->t), c2 = 1.0f - powf(b2, (float)a->t);
    for (int i = 0; i < n; i++) {
        a->m[i] = b1 * a->m[i] + (1 - b1) * g[i];
        a->v[i] = b2 * a->v[i] + (1 - b2) * g[i] * g[i];
        w[i] -= lr * (a->m[i] / c1) / (sqrtf(a->v[i] / c2) + eps);
    }
}

typedef struct example_set {
    int count;
    int *task;     /* (count) the task of each example */
    int *label;    /* (count) */
    int8_t *h;     /* (count, in) the last layer's inputs */
} example_set;

/* An epoch's batches. */
typedef struct batch_plan {
    int *pick;          /* (count) the examples in the epoch's shuffled order */
    int *bat;           /* (count) the examples, batch after batch */
    int *first, *len;   /* (maxb) each batch's start in bat and its size */
    int *order;         /* (maxb) the batches in a shuffled order */
    int nb;
} batch_plan;

/* The fine-tuning's working state: the examples, the parameters and their Adam moments, a
 * batch's buffers, the epoch's plan of batches, the rng (the replay buffers' shuffles, then
 * each epoch's). */
typedef struct tuner {
    chip *c;
    net *n;
    const data_set *train;
    const data_tasks *tasks;
    const finetune_config *cfg;
    int learnt;
    int last, in, out;       /* the last layer, its inputs and outputs */
    int nbank;               /* banks of gamma/beta: one per task, or one when shared */
    hw_layer hw[MPCL_MAX_LAYERS];
    rng r;
    example_set ex;
    float *wh;               /* (out, in) the hidden weights */
    int8_t *prog_sign;       /* (out, in) the signs the chip holds */
    float *weff;             /* (out, in) the effective weights (effective_weights) */
    float *gb;               /* (nbank, 2, out) gamma, beta per bank */
    float *g_wh, *g_gb;      /* their gradients */
    adam aw, ab;             /* their Adam moments */
    int8_t *xb;              /* (batch, in) a batch's inputs */
    int32_t *yb;             /* (batch, out) WR Int(WL x) */
    float *zh, *dz;          /* (batch, out) y normalised, and the gradient */
    batch_plan plan;
    char *err;
    size_t errlen;
} tuner;

/* A sum over an epoch's examples. */
typedef struct epoch_sums {
    double loss;
    long right, seen;
} epoch_sums;

static int out_of_memory(tuner *T)
{
    snprintf(T->err, T->errlen, "out of memory");
    return -1;
}

static int replay_count(const finetune_config *cfg, int ntrain)
{
    return cfg->replay && cfg->replay < ntrain ? cfg->replay : ntrain;
}

/* Task t's examples: all of them, or the first cfg->replay of a seeded shuffle. */
static int collect_task(tuner *T, int t)
{
    const data_task *tk = &T->tasks->task[t];
    int k = replay_count(T->cfg, tk->ntrain), in = T->in;
    int *idx = malloc(sizeof(int) * (size_t)tk->ntrain);
    if (!idx)
        return out_of_memory(T);
    memcpy(idx, tk->train, sizeof(int) * (size_t)tk->ntrain);
    if (k < tk->ntrain) /* partial Fisher-Yates: the first k of a shuffle */
        for (int i = 0; i < k; i++) {
            int j = i + (int)rng_below(&T->r, (uint64_t)(tk->ntrain - i));
            int tmp = idx[i];
            idx[i] = idx[j];
            idx[j] = tmp;
        }
    int bank = T->cfg->bn_task ? t : -1;
    int rc = hidden_inputs(T->n, T->hw, bank, T->train, idx, k, T->last,
                           T->ex.h + (size_t)T->ex.count * in, NULL, T->err, T->errlen);
    for (int i = 0; rc == 0 && i < k; i++) {
        T->ex.task[T->ex.count + i] = t;
        T->ex.label[T->ex.count + i] =
            scenario_target(T->cfg->scen, tk, T->train->labels[idx[i]]);
    }
    T->ex.count += k;
    free(idx);
    return rc;
}

/* The examples: each task's training examples (a replay buffer of at most cfg->replay,
 * the first of a seeded shuffle), their last-layer inputs through the frozen layers. */
static int collect_examples(tuner *T)
{
    int total = 0;
    for (int t = 0; t < T->learnt; t++)
        total += replay_count(T->cfg, T->tasks->task[t].ntrain);
    T->ex.task = malloc(sizeof(int) * (size_t)total);
    T->ex.label = malloc(sizeof(int) * (size_t)total);
    T->ex.h = malloc((size_t)total * T->in);
    if (!T->ex.task || !T->ex.label || !T->ex.h)
        return out_of_memory(T);
    for (int t = 0; t < T->learnt; t++)
        if (collect_task(T, t) < 0)
            return -1;
    return 0;
}

/* Bank b's gamma and beta as the net holds them (the net's own when not stored). */
static void bank_gamma_beta(tuner *T, int b)
{
    const net *n = T->n;
    net copy;
    const net *m = n;
    if (T->cfg->bn_task && net_bn_has(n, b) && net_clone(&copy, n) == 0) {
        net_bn_load(&copy, b);
        m = &copy;
    }
    float *gb = T->gb + (size_t)b * 2 * T->out;
    memcpy(gb, m->layer[T->last].gamma, sizeof(float) * T->out);
    memcpy(gb + T->out, m->layer[T->last].beta, sizeof(float) * T->out);
    if (m == &copy)
        net_free(&copy);
}

/* Parameters: the hidden weights, and gamma/beta per bank (one bank when shared). */
static int init_params(tuner *T)
{
    size_t nw = (size_t)T->in * T->out, ngb = (size_t)T->nbank * 2 * T->out;
    size_t bmax = (size_t)T->cfg->batch;
    T->wh = malloc(sizeof(float) * nw);
    T->weff = malloc(sizeof(float) * nw);
    T->prog_sign = malloc(nw);
    T->gb = malloc(sizeof(float) * ngb);
    T->g_wh = calloc(nw, sizeof(float));
    T->g_gb = calloc(ngb, sizeof(float));
    T->aw = (adam){calloc(nw, sizeof(float)), calloc(nw, sizeof(float)), 0};
    T->ab = (adam){calloc(ngb, sizeof(float)), calloc(ngb, sizeof(float)), 0};
    T->xb = malloc(bmax * T->in);
    T->yb = malloc(sizeof(int32_t) * bmax * T->out);
    T->zh = malloc(sizeof(float) * bmax * T->out);
    T->dz = malloc(sizeof(float) * bmax * T->out);
    if (!T->wh || !T->weff || !T->prog_sign || !T->gb || !T->g_wh || !T->g_gb || !T->aw.m ||
        !T->aw.v || !T->ab.m || !T->ab.v || !T->xb || !T->yb || !T->zh || !T->dz)
        return out_of_memory(T);
    memcpy(T->wh, T->n->layer[T->last].wh, sizeof(float) * nw);
    for (size_t k = 0; k < nw; k++)
        T->prog_sign[k] = T->wh[k] >= 0.0f ? 1 : -1;
    for (int b = 0; b < T->nbank; b++)
        bank_gamma_beta(T, b);
    return 0;
}

/* The batch plan's arrays; the examples in their first order. */
static int alloc_plan(tuner *T)
{
    batch_plan *P = &T->plan;
    int count = T->ex.count, maxb = count / 2 + T->nbank + 1;
    P->pick = malloc(sizeof(int) * (size_t)(count > 0 ? count : 1));
    P->bat = malloc(sizeof(int) * (size_t)(count > 0 ? count : 1));
    P->first = malloc(sizeof(int) * (size_t)maxb);
    P->len = malloc(sizeof(int) * (size_t)maxb);
    P->order = malloc(sizeof(int) * (size_t)maxb);
    if (!P->pick || !P->bat || !P->first || !P->len || !P->order)
        return out_of_memory(T);
    for (int i = 0; i < count; i++)
        P->pick[i] = i;
    return 0;
}

/* Fisher-Yates over a[0..n-1]. */
static void shuffle(rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}

/* An epoch's batches, of one task each (its bank, its mask), in a shuffled order. */
static void plan_epoch(tuner *T)
{
    batch_plan *P = &T->plan;
    const example_set *ex = &T->ex;
    int bmax = T->cfg->batch;
    shuffle(&T->r, P->pick, ex->count);
    int pos = 0;
    P->nb = 0;
    for (int t = 0; t < T->nbank; t++) {
        int cnt = 0;
        for (int i = 0; i < ex->count; i++) {
            int e = P->pick[i];
            if (T->cfg->bn_task && ex->task[e] != t)
                continue;
            if (cnt++ % bmax == 0) {
                P->first[P->nb] = pos;
                P->len[P->nb++] = 0;
            }
            P->bat[pos++] = e;
            P->len[P->nb - 1]++;
        }
    }
    for (int k = 0; k < P->nb; k++)
        P->order[k] = k;
    shuffle(&T->r, P->order, P->nb);
}

/* The effective weights: Wpara, a flipped weight's pair swapped. Returns the flips. */
static long effective_weights(tuner *T)
{
    const float *wpara = T->hw[T->last].wpara;
    long flipped = 0;
    for (size_t k = 0; k < (size_t)T->in * T->out; k++) {
        int sg = T->wh[k] >= 0.0f ? 1 : -1;
        flipped += sg != T->prog_sign[k];
        T->weff[k] = sg == T->prog_sign[k] ? wpara[k] : -wpara[k];
    }
    return flipped;
}

/* Batch norm (batch statistics) forward: y -> zh, each output's 1 / sd into inv. */
static void bn_forward(tuner *T, int B, float *inv)
{
    int out = T->out;
    for (int o = 0; o < out; o++) {
        double s = 0, s2 = 0;
        for (int b = 0; b < B; b++) {
            double v = T->yb[(size_t)b * out + o];
            s += v;
            s2 += v * v;
        }
        double mean = s / B, var = s2 / B - mean * mean;
        float mu = (float)mean;
        inv[o] = 1.0f / sqrtf((float)(var > 0 ? var : 0) + T->n->bn_eps);
        for (int b = 0; b < B; b++)
            T->zh[(size_t)b * out + o] = ((float)T->yb[(size_t)b * out + o] - mu) * inv[o];
    }
}

/* The loss of example e, row b of the batch: softmax over the outputs its task allows,
 * its gradient over the logits into dz. */
static void example_loss(tuner *T, int e, int b, int B, const float *gam, const float *bet,
                         epoch_sums *sum)
{
    int out = T->out;
    const data_task *tk = &T->tasks->task[T->ex.task[e]];
    uint16_t allowed = T->cfg->mask_task ? scenario_eval_mask(T->cfg->scen, tk)
                                         : (uint16_t)((1u << out) - 1);
    float zl[16], mx = -INFINITY;
    for (int o = 0; o < out; o++) {
        zl[o] = gam[o] * T->zh[(size_t)b * out + o] + bet[o];
        if ((allowed >> o & 1) && zl[o] > mx)
            mx = zl[o];
    }
    double den = 0;
    for (int o = 0; o < out; o++)
        if (allowed >> o & 1)
            den += exp(zl[o] - mx);
    int target = T->ex.label[e], best = -1;
    for (int o = 0; o < out; o++) {
        float pr = (allowed >> o & 1) ? (float)(exp(zl[o] - mx) / den) : 0.0f;
        T->dz[(size_t)b * out + o] = (pr - (o == target)) / (float)B;
        if ((allowed >> o & 1) && (best < 0 || zl[o] > zl[best]))
            best = o;
    }
    sum->loss += -(zl[target] - mx - log(den));
    sum->right += best == target;
    sum->seen++;
}

/* Batch norm backward: dz (over the logits) -> dgamma, dbeta, dy (bank t's; the other
 * banks' gradients zero). */
static void bn_backward(tuner *T, int t, int B, const float *inv)
{
    int out = T->out;
    const float *gam = T->gb + (size_t)t * 2 * out;
    float *dg = T->g_gb + (size_t)t * 2 * out, *dbt = dg + out, *dz = T->dz;
    const float *zh = T->zh;
    memset(T->g_gb, 0, sizeof(float) * (size_t)T->nbank * 2 * out);
    for (int o = 0; o < out; o++) {
        double sg = 0, sb = 0;
        for (int b = 0; b < B; b++) {
            sg += dz[(size_t)b * out + o] * zh[(size_t)b * out + o];
            sb += dz[(size_t)b * out + o];
        }
        dg[o] = (float)sg;
        dbt[o] = (float)sb;
        for (int b = 0; b < B; b++) {
            float dxh = dz[(size_t)b * out + o] * gam[o];
            dz[(size_t)b * out + o] =
                inv[o] * (dxh - (float)(sb * gam[o]) / B -
                          zh[(size_t)b * out + o] * (float)(sg * gam[o]) / B);
        }
    }
}

/* dy -> dW (Int passed straight through; weights in weight units). */
static void weight_grad(tuner *T, int B)
{
    int in = T->in, out = T->out;
    for (int o = 0; o < out; o++) {
        float *gw = T->g_wh + (size_t)o * in;
        memset(gw, 0, sizeof(float) * in);
        for (int b = 0; b < B; b++) {
            float d = T->dz[(size_t)b * out + o];
            const int8_t *xr = T->xb + (size_t)b * in;
            for (int i = 0; i < in; i++)
                gw[i] += d * xr[i];
        }
    }
}

/* One batch bi (B examples of one task): forward on the simulated hardware, backward,
 * and Adam's steps. */
static int train_batch(tuner *T, const int *bi, int B, epoch_sums *sum)
{
    int in = T->in, out = T->out;
    int t = T->cfg->bn_task ? T->ex.task[bi[0]] : 0;
    effective_weights(T);
    for (int b = 0; b < B; b++)
        memcpy(T->xb + (size_t)b * in, T->ex.h + (size_t)bi[b] * in, (size_t)in);
    if (xbar_wlwr(&T->hw[T->last].q, in, out, T->weff, T->xb, B, T->yb, NULL, T->err,
                  T->errlen) < 0)
        return -1;
    const float *gam = T->gb + (size_t)t * 2 * out, *bet = gam + out;
    float inv[16];
    bn_forward(T, B, inv);
    for (int b = 0; b < B; b++)
        example_loss(T, bi[b], b, B, gam, bet, sum);
    bn_backward(T, t, B, inv);
    weight_grad(T, B);
    adam_step(&T->aw, T->wh, T->g_wh, in * out, T->cfg->lr);
    adam_step(&T->ab, T->gb, T->g_gb, T->nbank * 2 * out, T->cfg->lr);
    return 0;
}

static int cancelled(tuner *T)
{
    snprintf(T->err, T->errlen, "cancelled");
    return -1;
}

/* One epoch: plan it, then train its batches (a batch of one example is skipped). */
static int train_epoch(tuner *T, const volatile int *cancel, epoch_sums *sum)
{
    const batch_plan *P = &T->plan;
    plan_epoch(T);
    for (int bk = 0; bk < P->nb; bk++) {
        if (cancel && *cancel)
            return cancelled(T);
        int B = P->len[P->order[bk]];
        if (B < 2)
            continue;
        if (train_batch(T, P->bat + P->first[P->order[bk]], B, sum) < 0)
            return -1;
    }
    return 0;
}

/* The epochs, each one's mean loss and accuracy into rep and to cb. */
static int train_epochs(tuner *T, finetune_callback cb, void *ud, const volatile int *cancel,
                        finetune_report *rep)
{
    int epochs = T->cfg->epochs;
    for (int ep = 0; ep < epochs; ep++) {
        epoch_sums sum = {0, 0, 0};
        if (train_epoch(T, cancel, &sum) < 0)
            return -1;
        rep->epochs_run = ep + 1;
        rep->loss = sum.seen ? (float)(sum.loss / sum.seen) : 0;
        rep->train_acc = sum.seen ? (float)sum.right / (float)sum.seen : 0;
        if (cb && cb(ep + 1, epochs, rep->loss, rep->train_acc, ud))
            return cancelled(T);
    }
    return 0;
}

/* Bank b's examples through the final effective weights: the sums of y and y^2 per output
 * into s and s2; returns their count, or -1. */
static long bank_sums(tuner *T, int b, double *s, double *s2)
{
    int in = T->in, out = T->out, bmax = T->cfg->batch;
    const example_set *ex = &T->ex;
    long cnt = 0;
    for (int start = 0; start < ex->count; start += bmax) {
        int B = 0;
        for (int e = start; e < ex->count && e < start + bmax; e++)
            if (!T->cfg->bn_task || ex->task[e] == b)
                memcpy(T->xb + (size_t)B++ * in, ex->h + (size_t)e * in, (size_t)in);
        if (B == 0)
            continue;
        if (xbar_wlwr(&T->hw[T->last].q, in, out, T->weff, T->xb, B, T->yb, NULL, T->err,
                      T->errlen) < 0)
            return -1;
        for (int k = 0; k < B; k++)
            for (int o = 0; o < out; o++) {
                double v = T->yb[(size_t)k * out + o];
                s[o] += v;
                s2[o] += v * v;
            }
        cnt += B;
    }
    return cnt;
}

/* Bank b: its exact statistics on the final weights, its gamma and beta. */
static int write_bank(tuner *T, int b)
{
    net *n = T->n;
    net_layer *L = &n->layer[T->last];
    if (T->cfg->bn_task && net_bn_has(n, b))
        net_bn_load(n, b);
    double s[16] = {0}, s2[16] = {0};
    long cnt = bank_sums(T, b, s, s2);
    if (cnt < 0)
        return -1;
    for (int o = 0; cnt > 0 && o < T->out; o++) {
        L->mean[o] = (float)(s[o] / cnt);
        double var = s2[o] / cnt - (s[o] / cnt) * (s[o] / cnt);
        L->var[o] = (float)(var > 0 ? var : 0);
        L->gamma[o] = T->gb[(size_t)b * 2 * T->out + o];
        L->beta[o] = T->gb[(size_t)b * 2 * T->out + T->out + o];
    }
    if (T->cfg->bn_task && net_bn_store(n, b) < 0)
        return out_of_memory(T);
    return 0;
}

/* Write back: weights, gamma/beta, and each bank's exact statistics on final weights. */
static int write_back(tuner *T, finetune_report *rep)
{
    rep->flipped = effective_weights(T);
    memcpy(T->n->layer[T->last].wh, T->wh, sizeof(float) * (size_t)T->in * T->out);
    net_sync_binary(T->n);
    for (int b = 0; b < T->nbank; b++)
        if (write_bank(T, b) < 0)
            return -1;
    return 0;
}

/* Re-program the last layer and check it. */
static int reprogram(tuner *T, finetune_report *rep)
{
    if (chipnet_program(T->c, T->n, T->last, NULL, &rep->reprogram, T->err, T->errlen) < 0)
        return -1;
    double per[MPCL_MAX_LAYERS];
    if (chipnet_mapping(T->c, T->n, per, NULL, T->err, T->errlen) < 0)
        return -1;
    rep->mapping_after = per[T->last];
    return 0;
}

/* Everything the steps allocated, and the Wpara read. */
static void tuner_free(tuner *T)
{
    free(T->ex.task);
    free(T->ex.label);
    free(T->ex.h);
    free(T->wh);
    free(T->weff);
    free(T->prog_sign);
    free(T->gb);
    free(T->g_wh);
    free(T->g_gb);
    free(T->aw.m);
    free(T->aw.v);
    free(T->ab.m);
    free(T->ab.v);
    free(T->xb);
    free(T->yb);
    free(T->zh);
    free(T->dz);
    free(T->plan.pick);
    free(T->plan.bat);
    free(T->plan.first);
    free(T->plan.len);
    free(T->plan.order);
    free_hw(T->hw, T->n->nlayers);
}

/* The inputs and the configuration fine-tuning accepts. */
static int check_args(const net *n, const data_set *train, const data_tasks *tasks,
                      int learnt, const finetune_config *cfg, char *err, size_t errlen)
{
    if (!train->binary || train->dim != n->sizes[0])
        return err_set(err, errlen,
                       "fine-tuning needs the net's binary inputs (paper192 or binary784)");
    if (learnt < 1 || learnt > tasks->ntasks || cfg->p < 1 || cfg->epochs < 1 ||
        cfg->batch < 2 || !(cfg->lr > 0) || cfg->nreads < 1 || cfg->replay < 0)
        return err_set(err, errlen, "fine-tuning needs 1-%d tasks learnt, p >= 1, epochs >= 1, "
                                    "batch >= 2, lr > 0, nreads >= 1, replay >= 0", tasks->ntasks);
    return 0;
}

int finetune_run(chip *c, net *n, const data_set *train, const data_tasks *tasks, int learnt,
                 const finetune_config *cfg, finetune_callback cb, void *ud,
                 const volatile int *cancel, finetune_report *rep, char *err, size_t errlen)
{
    finetune_report dummy;
    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (check_args(n, train, tasks, learnt, cfg, err, errlen) < 0)
        return -1;
    int last = n->nlayers - 1;
    tuner T = {.c = c, .n = n, .train = train, .tasks = tasks, .cfg = cfg, .learnt = learnt,
               .last = last, .in = n->layer[last].in, .out = n->layer[last].out,
               .nbank = cfg->bn_task ? learnt : 1, .err = err, .errlen = errlen};
    if (read_all(c, n, cfg->p, cfg->nreads, T.hw, err, errlen) < 0)
        return -1;
    rng_seed_stream(&T.r, cfg->seed, 77);
    int rc = collect_examples(&T);
    rep->examples = T.ex.count;
    if (rc == 0)
        rc = init_params(&T);
    if (rc == 0)
        rc = alloc_plan(&T);
    if (rc == 0)
        rc = train_epochs(&T, cb, ud, cancel, rep);
    if (rc == 0)
        rc = write_back(&T, rep);
    if (rc == 0 && cfg->reprogram)
        rc = reprogram(&T, rep);
    tuner_free(&T);
    return rc;
}

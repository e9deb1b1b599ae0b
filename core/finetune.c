#include "finetune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crossbar.h"
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
        snprintf(err, errlen, "out of memory");
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
        if (net_clone(&copy, n) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
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
        snprintf(err, errlen, "out of memory");
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
    memset(hw, 0, sizeof *hw * NET_MAX_LAYERS);
    if (c->nlayers != n->nlayers) {
        snprintf(err, errlen, "chip %s: the net is not placed on it (program it first)", c->uri);
        return -1;
    }
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
    if (!d->binary || d->dim != n->sizes[0]) {
        snprintf(err, errlen, "the chip needs the net's binary inputs");
        return -1;
    }
    hw_layer hw[NET_MAX_LAYERS];
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

int finetune_run(chip *c, net *n, const data_set *train, const data_tasks *tasks, int learnt,
                 const finetune_config *cfg, finetune_callback cb, void *ud,
                 const volatile int *cancel, finetune_report *rep, char *err, size_t errlen)
{
    finetune_report dummy;
    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (!train->binary || train->dim != n->sizes[0]) {
        snprintf(err, errlen, "fine-tuning needs the net's binary inputs (paper192 or binary784)");
        return -1;
    }
    if (learnt < 1 || learnt > tasks->ntasks || cfg->p < 1 || cfg->epochs < 1 ||
        cfg->batch < 2 || !(cfg->lr > 0) || cfg->nreads < 1 || cfg->replay < 0) {
        snprintf(err, errlen, "fine-tuning needs 1-%d tasks learnt, p >= 1, epochs >= 1, "
                              "batch >= 2, lr > 0, nreads >= 1, replay >= 0", tasks->ntasks);
        return -1;
    }
    int last = n->nlayers - 1;
    net_layer *L = &n->layer[last];
    int in = L->in, out = L->out;
    hw_layer hw[NET_MAX_LAYERS];
    if (read_all(c, n, cfg->p, cfg->nreads, hw, err, errlen) < 0)
        return -1;

    /* The examples: each task's training examples (a replay buffer of at most cfg->replay,
     * the first of a seeded shuffle), their last-layer inputs through the frozen layers. */
    example_set ex = {0};
    rng r;
    rng_seed_stream(&r, cfg->seed, 77);
    int total = 0;
    for (int t = 0; t < learnt; t++) {
        int k = tasks->task[t].ntrain;
        total += cfg->replay && cfg->replay < k ? cfg->replay : k;
    }
    ex.task = malloc(sizeof(int) * (size_t)total);
    ex.label = malloc(sizeof(int) * (size_t)total);
    ex.h = malloc((size_t)total * in);
    int *pick = malloc(sizeof(int) * (size_t)(total > 0 ? total : 1));
    float *dummy_logits = NULL;
    int rc = (!ex.task || !ex.label || !ex.h || !pick) ? -1 : 0;
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    for (int t = 0; rc == 0 && t < learnt; t++) {
        const data_task *tk = &tasks->task[t];
        int k = cfg->replay && cfg->replay < tk->ntrain ? cfg->replay : tk->ntrain;
        int *idx = malloc(sizeof(int) * (size_t)tk->ntrain);
        if (!idx) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        memcpy(idx, tk->train, sizeof(int) * (size_t)tk->ntrain);
        if (k < tk->ntrain) /* partial Fisher-Yates: the first k of a shuffle */
            for (int i = 0; i < k; i++) {
                int j = i + (int)rng_below(&r, (uint64_t)(tk->ntrain - i));
                int tmp = idx[i];
                idx[i] = idx[j];
                idx[j] = tmp;
            }
        int bank = cfg->bn_task ? t : -1;
        rc = hidden_inputs(n, hw, bank, train, idx, k, last, ex.h + (size_t)ex.count * in,
                           dummy_logits, err, errlen);
        for (int i = 0; rc == 0 && i < k; i++) {
            ex.task[ex.count + i] = t;
            ex.label[ex.count + i] = scenario_target(cfg->scen, tk, train->labels[idx[i]]);
        }
        ex.count += k;
        free(idx);
    }
    rep->examples = ex.count;

    /* Parameters: the hidden weights, and gamma/beta per bank (one bank when shared). */
    int nbank = cfg->bn_task ? learnt : 1;
    float *wh = malloc(sizeof(float) * (size_t)in * out);
    float *weff = malloc(sizeof(float) * (size_t)in * out);
    int8_t *prog_sign = malloc((size_t)in * out);
    float *gb = malloc(sizeof(float) * (size_t)nbank * 2 * out); /* gamma, beta per bank */
    float *g_wh = calloc((size_t)in * out, sizeof(float));
    float *g_gb = calloc((size_t)nbank * 2 * out, sizeof(float));
    adam aw = {calloc((size_t)in * out, sizeof(float)), calloc((size_t)in * out, sizeof(float)), 0};
    adam ab = {calloc((size_t)nbank * 2 * out, sizeof(float)),
               calloc((size_t)nbank * 2 * out, sizeof(float)), 0};
    int bmax = cfg->batch;
    int8_t *xb = malloc((size_t)bmax * in);
    int32_t *yb = malloc(sizeof(int32_t) * (size_t)bmax * out);
    float *zh = malloc(sizeof(float) * (size_t)bmax * out), *dz = malloc(sizeof(float) * (size_t)bmax * out);
    if (rc == 0 && (!wh || !weff || !prog_sign || !gb || !g_wh || !g_gb || !aw.m || !aw.v ||
                    !ab.m || !ab.v || !xb || !yb || !zh || !dz)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc == 0) {
        memcpy(wh, L->wh, sizeof(float) * (size_t)in * out);
        for (size_t k = 0; k < (size_t)in * out; k++)
            prog_sign[k] = wh[k] >= 0.0f ? 1 : -1;
        for (int b = 0; b < nbank; b++) {
            net copy;
            const net *m = n;
            if (cfg->bn_task && net_bn_has(n, b) && net_clone(&copy, n) == 0) {
                net_bn_load(&copy, b);
                m = &copy;
            }
            memcpy(gb + (size_t)b * 2 * out, m->layer[last].gamma, sizeof(float) * out);
            memcpy(gb + (size_t)b * 2 * out + out, m->layer[last].beta, sizeof(float) * out);
            if (m == &copy)
                net_free(&copy);
        }
        for (int i = 0; i < ex.count; i++)
            pick[i] = i;
    }
    /* Epochs of batches of one task each (its bank, its mask), in a shuffled order. */
    int maxb = ex.count / 2 + nbank + 1;
    int *bat = malloc(sizeof(int) * (size_t)(ex.count > 0 ? ex.count : 1));
    int *bfirst = malloc(sizeof(int) * (size_t)maxb), *blen = malloc(sizeof(int) * (size_t)maxb);
    int *border = malloc(sizeof(int) * (size_t)maxb);
    if (rc == 0 && (!bat || !bfirst || !blen || !border)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    for (int ep = 0; rc == 0 && ep < cfg->epochs; ep++) {
        for (int i = ex.count - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint32_t)(i + 1));
            int tmp = pick[i];
            pick[i] = pick[j];
            pick[j] = tmp;
        }
        int nb = 0, pos = 0;
        for (int t = 0; t < nbank; t++) {
            int cnt = 0;
            for (int i = 0; i < ex.count; i++) {
                int e = pick[i];
                if (cfg->bn_task && ex.task[e] != t)
                    continue;
                if (cnt++ % bmax == 0) {
                    bfirst[nb] = pos;
                    blen[nb++] = 0;
                }
                bat[pos++] = e;
                blen[nb - 1]++;
            }
        }
        for (int k = 0; k < nb; k++)
            border[k] = k;
        for (int i = nb - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint32_t)(i + 1));
            int tmp = border[i];
            border[i] = border[j];
            border[j] = tmp;
        }
        double loss_sum = 0;
        long right = 0, seen = 0;
        for (int bk = 0; rc == 0 && bk < nb; bk++) {
            if (cancel && *cancel) {
                snprintf(err, errlen, "cancelled");
                rc = -1;
                break;
            }
            int B = blen[border[bk]];
            const int *bi = bat + bfirst[border[bk]];
            if (B < 2)
                continue;
            int t = cfg->bn_task ? ex.task[bi[0]] : 0;
            /* The effective weights: Wpara, a flipped weight's pair swapped. */
            for (size_t k = 0; k < (size_t)in * out; k++) {
                int sg = wh[k] >= 0.0f ? 1 : -1;
                weff[k] = sg == prog_sign[k] ? hw[last].wpara[k] : -hw[last].wpara[k];
            }
            for (int b = 0; b < B; b++)
                memcpy(xb + (size_t)b * in, ex.h + (size_t)bi[b] * in, (size_t)in);
            rc = xbar_wlwr(&hw[last].q, in, out, weff, xb, B, yb, NULL, err, errlen);
            if (rc < 0)
                break;
            {
                /* batch norm (batch statistics) forward and the loss */
                float *gam = gb + (size_t)t * 2 * out, *bet = gam + out;
                float *dg = g_gb + (size_t)t * 2 * out, *dbt = dg + out;
                memset(g_gb, 0, sizeof(float) * (size_t)nbank * 2 * out);
                float mu[16], inv[16];
                for (int o = 0; o < out; o++) {
                    double s = 0, s2 = 0;
                    for (int b = 0; b < B; b++) {
                        double v = yb[(size_t)b * out + o];
                        s += v;
                        s2 += v * v;
                    }
                    double mean = s / B, var = s2 / B - mean * mean;
                    mu[o] = (float)mean;
                    inv[o] = 1.0f / sqrtf((float)(var > 0 ? var : 0) + n->bn_eps);
                    for (int b = 0; b < B; b++)
                        zh[(size_t)b * out + o] = ((float)yb[(size_t)b * out + o] - mu[o]) * inv[o];
                }
                for (int b = 0; b < B; b++) {
                    const data_task *tk = &tasks->task[ex.task[bi[b]]];
                    uint16_t allowed = cfg->mask_task ? scenario_eval_mask(cfg->scen, tk)
                                                      : (uint16_t)((1u << out) - 1);
                    float zl[16], mx = -INFINITY;
                    for (int o = 0; o < out; o++) {
                        zl[o] = gam[o] * zh[(size_t)b * out + o] + bet[o];
                        if ((allowed >> o & 1) && zl[o] > mx)
                            mx = zl[o];
                    }
                    double den = 0;
                    for (int o = 0; o < out; o++)
                        if (allowed >> o & 1)
                            den += exp(zl[o] - mx);
                    int target = ex.label[bi[b]], best = -1;
                    for (int o = 0; o < out; o++) {
                        float pr = (allowed >> o & 1) ? (float)(exp(zl[o] - mx) / den) : 0.0f;
                        dz[(size_t)b * out + o] = (pr - (o == target)) / (float)B;
                        if ((allowed >> o & 1) && (best < 0 || zl[o] > zl[best]))
                            best = o;
                    }
                    loss_sum += -(zl[target] - mx - log(den));
                    right += best == target;
                    seen++;
                }
                /* batch norm backward: dz (over the logits) -> dgamma, dbeta, dy */
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
                /* dy -> dW (Int passed straight through; weights in weight units) */
                for (int o = 0; o < out; o++) {
                    float *gw = g_wh + (size_t)o * in;
                    memset(gw, 0, sizeof(float) * in);
                    for (int b = 0; b < B; b++) {
                        float d = dz[(size_t)b * out + o];
                        const int8_t *xr = xb + (size_t)b * in;
                        for (int i = 0; i < in; i++)
                            gw[i] += d * xr[i];
                    }
                }
                adam_step(&aw, wh, g_wh, in * out, cfg->lr);
                adam_step(&ab, gb, g_gb, nbank * 2 * out, cfg->lr);
            }
        }
        if (rc < 0)
            break;
        rep->epochs_run = ep + 1;
        rep->loss = seen ? (float)(loss_sum / seen) : 0;
        rep->train_acc = seen ? (float)right / (float)seen : 0;
        if (cb && cb(ep + 1, cfg->epochs, rep->loss, rep->train_acc, ud)) {
            snprintf(err, errlen, "cancelled");
            rc = -1;
        }
    }

    /* Write back: weights, gamma/beta, and each bank's exact statistics on final weights. */
    if (rc == 0) {
        for (size_t k = 0; k < (size_t)in * out; k++) {
            int s = wh[k] >= 0.0f ? 1 : -1;
            rep->flipped += s != prog_sign[k];
            weff[k] = s == prog_sign[k] ? hw[last].wpara[k] : -hw[last].wpara[k];
        }
        memcpy(L->wh, wh, sizeof(float) * (size_t)in * out);
        net_sync_binary(n);
        for (int b = 0; rc == 0 && b < nbank; b++) {
            if (cfg->bn_task && net_bn_has(n, b))
                net_bn_load(n, b);
            double s[16] = {0}, s2[16] = {0};
            long cnt = 0;
            for (int start = 0; rc == 0 && start < ex.count; start += bmax) {
                int B = 0;
                for (int e = start; e < ex.count && e < start + bmax; e++)
                    if (!cfg->bn_task || ex.task[e] == b)
                        memcpy(xb + (size_t)B++ * in, ex.h + (size_t)e * in, (size_t)in);
                if (B == 0)
                    continue;
                rc = xbar_wlwr(&hw[last].q, in, out, weff, xb, B, yb, NULL, err, errlen);
                for (int k = 0; rc == 0 && k < B; k++)
                    for (int o = 0; o < out; o++) {
                        double v = yb[(size_t)k * out + o];
                        s[o] += v;
                        s2[o] += v * v;
                    }
                cnt += B;
            }
            for (int o = 0; rc == 0 && cnt > 0 && o < out; o++) {
                L->mean[o] = (float)(s[o] / cnt);
                double var = s2[o] / cnt - (s[o] / cnt) * (s[o] / cnt);
                L->var[o] = (float)(var > 0 ? var : 0);
                L->gamma[o] = gb[(size_t)b * 2 * out + o];
                L->beta[o] = gb[(size_t)b * 2 * out + out + o];
            }
            if (rc == 0 && cfg->bn_task && net_bn_store(n, b) < 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
        }
    }
    /* Re-program the last layer and check it. */
    if (rc == 0 && cfg->reprogram) {
        rc = chipnet_program(c, n, last, NULL, &rep->reprogram, err, errlen);
        double per[NET_MAX_LAYERS];
        if (rc == 0)
            rc = chipnet_mapping(c, n, per, NULL, err, errlen);
        if (rc == 0)
            rep->mapping_after = per[last];
    }
    free(ex.task);
    free(ex.label);
    free(ex.h);
    free(pick);
    free(wh);
    free(weff);
    free(prog_sign);
    free(gb);
    free(g_wh);
    free(g_gb);
    free(aw.m);
    free(aw.v);
    free(ab.m);
    free(ab.v);
    free(xb);
    free(yb);
    free(zh);
    free(dz);
    free(bat);
    free(bfirst);
    free(blen);
    free(border);
    free_hw(hw, n->nlayers);
    return rc;
}

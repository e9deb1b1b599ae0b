#include "chipnet.h"

#include "error.h"
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024 /* images per chip call */

int chipnet_place(chip *c, const net *n, char *err, size_t errlen)
{
    return chip_place_net(c, n->nlayers, n->sizes, err, errlen);
}

int chipnet_program(chip *c, const net *n, int first, const chip_verify *v, chipnet_report *rep,
                    char *err, size_t errlen)
{
    chipnet_report dummy;
    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (c->nlayers != n->nlayers)
        return err_set(err, errlen,
                       "chip %s: the net's %d layers are not placed (%d placed)", c->uri,
                       n->nlayers, c->nlayers);
    for (int l = first; l < n->nlayers; l++) {
        const net_layer *L = &n->layer[l];
        chip_rect r = c->at[l];
        if (r.rows != L->in || r.cols != L->out)
            return err_set(err, errlen,
                           "chip %s: layer %d is placed as %d x %d, the net's is %d x %d",
                           c->uri, l + 1, r.rows, r.cols, L->in, L->out);
        /* Cell (row i, column j) holds weight w[j][i]. */
        uint8_t *pos = malloc((size_t)L->in * L->out), *neg = malloc((size_t)L->in * L->out);
        if (!pos || !neg) {
            free(pos);
            free(neg);
            return err_set(err, errlen, "out of memory");
        }
        for (int i = 0; i < L->in; i++)
            for (int j = 0; j < L->out; j++) {
                int plus = L->wh[(size_t)j * L->in + i] >= 0.0f;
                pos[(size_t)i * L->out + j] = (uint8_t)plus;
                neg[(size_t)i * L->out + j] = (uint8_t)!plus;
            }
        chip_report a, b;
        int rc = chip_program(c, CHIP_POS, r, pos, v, &a, NULL, err, errlen);
        if (rc == 0)
            rc = chip_program(c, CHIP_NEG, r, neg, v, &b, NULL, err, errlen);
        free(pos);
        free(neg);
        if (rc < 0)
            return -1;
        rep->layer[l] = (chip_report){a.cells + b.cells, a.pulses + b.pulses, a.failed + b.failed};
        rep->cells += a.cells + b.cells;
        rep->pulses += a.pulses + b.pulses;
        rep->failed += a.failed + b.failed;
    }
    return 0;
}

int chipnet_mapping(chip *c, const net *n, double *per_layer, double *all, char *err,
                    size_t errlen)
{
    long right_all = 0, total = 0;
    for (int l = 0; l < n->nlayers && l < c->nlayers; l++) {
        const net_layer *L = &n->layer[l];
        chip_rect r = c->at[l];
        size_t cells = (size_t)r.rows * r.cols;
        float *gp = malloc(cells * sizeof *gp), *gn = malloc(cells * sizeof *gn);
        if (!gp || !gn) {
            free(gp);
            free(gn);
            return err_set(err, errlen, "out of memory");
        }
        if (chip_read(c, CHIP_POS, r, gp, err, errlen) < 0 ||
            chip_read(c, CHIP_NEG, r, gn, err, errlen) < 0) {
            free(gp);
            free(gn);
            return -1;
        }
        long right = 0;
        for (int i = 0; i < L->in; i++)
            for (int j = 0; j < L->out; j++) {
                int plus = L->wh[(size_t)j * L->in + i] >= 0.0f;
                size_t k = (size_t)i * L->out + j;
                right += (gp[k] > gn[k]) == plus;
            }
        free(gp);
        free(gn);
        if (per_layer)
            per_layer[l] = (double)right / (double)cells;
        right_all += right;
        total += (long)cells;
    }
    if (all)
        *all = total ? (double)right_all / (double)total : 0;
    return 0;
}

/* Digital batch norm of layer l on the chip's sums: y (B, out) Ints -> out (B, out). */
static void batch_norm(const net *n, int l, const int32_t *y, int B, float *out)
{
    const net_layer *L = &n->layer[l];
    float stack[2 * 1024], *scale = stack;
    int no = L->out;
    if (no > 1024 && !(scale = malloc(sizeof(float) * 2 * (size_t)no)))
        scale = stack, no = 1024; /* out of memory: cannot happen for an array's columns */
    float *shift = scale + no;
    for (int o = 0; o < no; o++) {
        scale[o] = L->gamma[o] / sqrtf(L->var[o] + n->bn_eps);
        shift[o] = L->beta[o] - scale[o] * L->mean[o];
    }
    for (int k = 0; k < B; k++) {
        const int32_t *yr = y + (size_t)k * L->out;
        float *zr = out + (size_t)k * L->out;
        for (int o = 0; o < no; o++)
            zr[o] = scale[o] * (float)yr[o] + shift[o];
    }
    if (scale != stack)
        free(scale);
}

/* Batch norm and sign fused, row by row, into packed bits: the same arithmetic as
 * batch_norm (so the same signs), without a pass over a float buffer; rows split over the
 * engine's threads. */
typedef struct bn_sign_job {
    const float *scale, *shift;
    const int32_t *y;
    int out, maxwords;
    uint64_t *bits;
} bn_sign_job;

static void bn_sign_rows(void *ud, int begin, int end)
{
    const bn_sign_job *j = ud;
    float z[1024];
    for (int k = begin; k < end; k++) {
        const int32_t *yr = j->y + (size_t)k * j->out;
        for (int o = 0; o < j->out; o++)
            z[o] = j->scale[o] * (float)yr[o] + j->shift[o];
        kern_pack_signs(z, j->out, j->bits + (size_t)k * j->maxwords);
    }
}

static int bn_signs(const net *n, int l, const int32_t *y, int B, uint64_t *bits, int maxwords)
{
    const net_layer *L = &n->layer[l];
    if (L->out > 1024)
        return -1; /* wider than any array's columns: the caller falls back */
    float scale[1024], shift[1024];
    for (int o = 0; o < L->out; o++) {
        scale[o] = L->gamma[o] / sqrtf(L->var[o] + n->bn_eps);
        shift[o] = L->beta[o] - scale[o] * L->mean[o];
    }
    bn_sign_job j = {scale, shift, y, L->out, maxwords, bits};
    kern_parallel(B, 64, bn_sign_rows, &j);
    return 0;
}

/* Layers 0..upto-1 of a batch of B images on the chip; bits (B, maxwords) holds the
 * packed 0/1 inputs and is overwritten by each layer's packed signs (+-1). Leaves layer
 * upto's inputs there when upto < nlayers, else the logits in logits (B, outputs). */
static int forward(chip *c, const net *n, int p, int upto, uint64_t *bits, int maxwords, int B,
                   int32_t *y, float *z, float *logits, char *err, size_t errlen)
{
    for (int l = 0; l < upto; l++) {
        int pl = p < n->sizes[l] ? p : n->sizes[l];
        if (chip_vmm_bits(c, l, pl, bits, maxwords, B, l > 0, y, err, errlen) < 0)
            return -1;
        int out = n->sizes[l + 1];
        if (l == n->nlayers - 1) {
            batch_norm(n, l, y, B, logits);
        } else if (bn_signs(n, l, y, B, bits, maxwords) < 0) {
            batch_norm(n, l, y, B, z);
            for (int k = 0; k < B; k++) /* sign(0) = +1: bit set where z >= 0 */
                kern_pack_signs(z + (size_t)k * out, out, bits + (size_t)k * maxwords);
        }
    }
    return 0;
}

static int check_net(chip *c, const net *n, const data_set *d, char *err, size_t errlen)
{
    if (!d->binary)
        return err_set(err, errlen, "chip inference needs binary inputs (input paper192 or "
                                    "binary784), the data set has float inputs");
    if (d->dim != n->sizes[0])
        return err_set(err, errlen, "the net takes %d inputs, the data set has %d", n->sizes[0],
                       d->dim);
    if (c->nlayers != n->nlayers)
        return err_set(err, errlen,
                       "chip %s: the net is not placed on it (program it first)", c->uri);
    for (int l = 0; l < n->nlayers; l++)
        if (c->at[l].rows != n->sizes[l] || c->at[l].cols != n->sizes[l + 1])
            return err_set(err, errlen,
                           "chip %s: layer %d is placed as %d x %d, the net's is %d x %d",
                           c->uri, l + 1, c->at[l].rows, c->at[l].cols, n->sizes[l],
                           n->sizes[l + 1]);
    return 0;
}

/* The net with bank `bank` loaded (a copy), or n itself. */
static const net *with_bank(const net *n, int bank, net *copy, int *owned)
{
    *owned = 0;
    if (bank < 0 || !net_bn_has(n, bank))
        return n;
    if (net_clone(copy, n) < 0)
        return NULL;
    net_bn_load(copy, bank);
    *owned = 1;
    return copy;
}

/* Run examples idx through layers 0..upto-1 in batches; deliver each batch's result. */
typedef int (*batch_sink)(void *ud, int first, int B, const uint64_t *bits, int maxwords,
                          const float *logits);

static int run_batches(chip *c, const net *n, int bank, int p, int upto, const data_set *d,
                       const int *idx, int count, batch_sink sink, void *ud,
                       const volatile int *cancel, char *err, size_t errlen)
{
    if (check_net(c, n, d, err, errlen) < 0)
        return -1;
    if (p < 1)
        return err_set(err, errlen, "parallelism must be at least 1, got %d", p);
    net copy;
    int owned;
    const net *m = with_bank(n, bank, &copy, &owned);
    if (!m)
        return err_set(err, errlen, "out of memory");
    int maxw = 0;
    for (int l = 0; l <= n->nlayers; l++)
        maxw = n->sizes[l] > maxw ? n->sizes[l] : maxw;
    int maxwords = KERN_WORDS(maxw);
    int32_t *y = malloc(sizeof *y * (size_t)BATCH * maxw);
    float *z = malloc(sizeof *z * (size_t)BATCH * maxw);
    float *logits = malloc(sizeof *logits * (size_t)BATCH * n->sizes[n->nlayers]);
    uint64_t *bits = calloc((size_t)BATCH * maxwords, sizeof *bits);
    uint64_t *in = malloc(sizeof *in * (size_t)BATCH * (d->words ? d->words : 1));
    int rc = 0;
    if (!y || !z || !logits || !bits || !in) {
        err_format(err, errlen, "out of memory");
        rc = -1;
    }
    for (int first = 0; rc == 0 && first < count; first += BATCH) {
        if (cancel && *cancel) {
            err_format(err, errlen, "cancelled");
            rc = -1;
            break;
        }
        int B = count - first < BATCH ? count - first : BATCH;
        data_gather_bits(d, idx + first, B, in);
        for (int k = 0; k < B; k++) /* rows of maxwords words, padding zero */
            memcpy(bits + (size_t)k * maxwords, in + (size_t)k * d->words,
                   sizeof *bits * (size_t)d->words);
        if (forward(c, m, p, upto, bits, maxwords, B, y, z, logits, err, errlen) < 0 ||
            sink(ud, first, B, bits, maxwords, logits) < 0)
            rc = -1;
    }
    free(in);
    free(y);
    free(z);
    free(logits);
    free(bits);
    if (owned)
        net_free(&copy);
    return rc;
}

typedef struct logits_sink {
    float *out;
    int outputs;
} logits_sink;

static int keep_logits(void *ud, int first, int B, const uint64_t *bits, int maxwords,
                       const float *logits)
{
    (void)bits;
    (void)maxwords;
    logits_sink *s = ud;
    memcpy(s->out + (size_t)first * s->outputs, logits, sizeof(float) * (size_t)B * s->outputs);
    return 0;
}

int chipnet_infer(chip *c, const net *n, int bank, int p, const data_set *d, const int *idx,
                  int count, float *logits, const volatile int *cancel, char *err,
                  size_t errlen)
{
    logits_sink s = {logits, n->sizes[n->nlayers]};
    return run_batches(c, n, bank, p, n->nlayers, d, idx, count, keep_logits, &s, cancel, err,
                       errlen);
}

typedef struct inputs_sink {
    int8_t *out;
    int width, pm1;
} inputs_sink;

static int keep_inputs(void *ud, int first, int B, const uint64_t *bits, int maxwords,
                       const float *logits)
{
    (void)logits;
    inputs_sink *s = ud;
    for (int k = 0; k < B; k++)
        for (int i = 0; i < s->width; i++) {
            int bit = (int)(bits[(size_t)k * maxwords + i / 64] >> (i % 64) & 1);
            s->out[(size_t)(first + k) * s->width + i] = (int8_t)(bit ? 1 : s->pm1 ? -1 : 0);
        }
    return 0;
}

int chipnet_layer_inputs(chip *c, const net *n, int bank, int p, int l, const data_set *d,
                         const int *idx, int count, int8_t *x, const volatile int *cancel,
                         char *err, size_t errlen)
{
    if (l < 0 || l >= n->nlayers)
        return err_set(err, errlen, "layer %d out of range 1-%d", l + 1, n->nlayers);
    inputs_sink s = {x, n->sizes[l], l > 0};
    return run_batches(c, n, bank, p, l, d, idx, count, keep_inputs, &s, cancel, err, errlen);
}

typedef struct eval_sink {
    const data_set *d;
    const int *idx;
    const data_task *t;
    scenario s;
    long (*conf)[10];
    int outputs, right;
} eval_sink;

static int score(void *ud, int first, int B, const uint64_t *bits, int maxwords,
                 const float *logits)
{
    (void)bits;
    (void)maxwords;
    eval_sink *e = ud;
    e->right += metrics_score(logits, B, e->outputs, e->d, e->idx + first, e->t, e->s, e->conf);
    return 0;
}

int chipnet_eval(chip *c, const net *n, int bank, int p, const data_set *d, const int *idx,
                 int count, const data_task *t, scenario s, long confusion[10][10], int *right,
                 const volatile int *cancel, char *err, size_t errlen)
{
    eval_sink e = {d, idx, t, s, confusion, n->sizes[n->nlayers], 0};
    if (run_batches(c, n, bank, p, n->nlayers, d, idx, count, score, &e, cancel, err, errlen) < 0)
        return -1;
    *right = e.right;
    return 0;
}

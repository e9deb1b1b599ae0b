#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "rng.h"

static int max_size(const net *n)
{
    int m = 0;
    for (int l = 0; l <= n->nlayers; l++)
        if (n->sizes[l] > m)
            m = n->sizes[l];
    return m;
}

static void layer_free(net_layer *L)
{
    free(L->wh);
    free(L->wb);
    free(L->wbits);
    free(L->gamma);
    free(L->beta);
    free(L->mean);
    free(L->var);
    free(L->g_w);
    free(L->g_gamma);
    free(L->g_beta);
    memset(L, 0, sizeof *L);
}

static int layer_alloc(net_layer *L, int in, int out)
{
    size_t w = (size_t)in * out;
    L->in = in;
    L->out = out;
    L->words_in = KERN_WORDS(in);
    L->wh = calloc(w, sizeof(float));
    L->wb = calloc(w, sizeof(float));
    L->g_w = calloc(w, sizeof(float));
    L->wbits = calloc((size_t)out * L->words_in, sizeof(uint64_t));
    L->gamma = calloc(out, sizeof(float));
    L->beta = calloc(out, sizeof(float));
    L->mean = calloc(out, sizeof(float));
    L->var = calloc(out, sizeof(float));
    L->g_gamma = calloc(out, sizeof(float));
    L->g_beta = calloc(out, sizeof(float));
    if (!L->wh || !L->wb || !L->g_w || !L->wbits || !L->gamma || !L->beta || !L->mean ||
        !L->var || !L->g_gamma || !L->g_beta) {
        layer_free(L);
        return -1;
    }
    return 0;
}

static void workspace_free(net *n)
{
    for (int l = 0; l <= MPCL_MAX_LAYERS; l++) {
        free(n->act[l]);
        n->act[l] = NULL;
    }
    for (int l = 0; l < MPCL_MAX_LAYERS; l++) {
        free(n->pre[l]);
        free(n->xhat[l]);
        free(n->invstd[l]);
        n->pre[l] = n->xhat[l] = n->invstd[l] = NULL;
    }
    free(n->grad_a);
    free(n->grad_b);
    n->grad_a = n->grad_b = NULL;
    free(n->acc0);
    free(n->act_bits);
    n->acc0 = NULL;
    n->act_bits = NULL;
    kern_qmat_free(&n->q0);
    for (int l = 0; l < MPCL_MAX_LAYERS; l++)
        kern_bmat_free(&n->wt[l]);
    n->cap_batch = 0;
}

/* Grow the training workspace to hold B examples: 0, or -1 out of memory (nothing held). */
static int workspace_reserve(net *n, int B)
{
    if (B <= n->cap_batch)
        return 0;
    workspace_free(n);
    int ok = 1;
    for (int l = 0; l <= n->nlayers; l++)
        ok &= (n->act[l] = malloc(sizeof(float) * B * n->sizes[l])) != NULL;
    for (int l = 0; l < n->nlayers; l++) {
        int out = n->sizes[l + 1];
        ok &= (n->pre[l] = malloc(sizeof(float) * B * out)) != NULL;
        ok &= (n->xhat[l] = malloc(sizeof(float) * B * out)) != NULL;
        ok &= (n->invstd[l] = malloc(sizeof(float) * out)) != NULL;
    }
    ok &= (n->grad_a = malloc(sizeof(float) * B * max_size(n))) != NULL;
    ok &= (n->grad_b = malloc(sizeof(float) * B * max_size(n))) != NULL;
    ok &= (n->acc0 = malloc(sizeof(int32_t) * B * max_size(n))) != NULL;
    ok &= (n->act_bits = malloc(sizeof(uint64_t) * B * KERN_WORDS(max_size(n)))) != NULL;
    for (int l = 1; l < n->nlayers; l++)
        ok &= kern_bmat_prepare(&n->wt[l], n->layer[l].wbits, n->sizes[l + 1],
                                n->layer[l].words_in) == 0;
    ok &= kern_qmat_prepare(&n->q0, n->layer[0].wbits, n->sizes[1], n->sizes[0],
                            n->layer[0].words_in) == 0;
    if (!ok) {
        workspace_free(n);
        return -1;
    }
    n->cap_batch = B;
    return 0;
}

static size_t bank_stride(const net *n)
{
    size_t s = 0;
    for (int l = 0; l < n->nlayers; l++)
        s += 4 * (size_t)n->sizes[l + 1];
    return s;
}

int net_create(net *n, int nlayers, const int *sizes, int binary_input, float init_scale,
               uint64_t seed, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS)
        return err_set(err, errlen, "net: %d layers requested, 1 to %d allowed", nlayers,
                       MPCL_MAX_LAYERS);
    for (int l = 0; l <= nlayers; l++) {
        if (sizes[l] < 1 || sizes[l] > 65536)
            return err_set(err, errlen,
                           "net: layer sizes must be 1 to 65536, got %d at position %d",
                           sizes[l], l + 1);
    }
    if (sizes[nlayers] > 16)
        return err_set(err, errlen, "net: at most 16 outputs, got %d", sizes[nlayers]);
    n->nlayers = nlayers;
    memcpy(n->sizes, sizes, sizeof(int) * (nlayers + 1));
    n->binary_input = binary_input;
    n->bn_eps = 1e-5f;
    n->bn_momentum = 0.1f;
    rng r;
    rng_seed_stream(&r, seed, 1000);
    for (int l = 0; l < nlayers; l++) {
        net_layer *L = &n->layer[l];
        if (layer_alloc(L, sizes[l], sizes[l + 1]) < 0) {
            net_free(n);
            return err_set(err, errlen, "net: out of memory");
        }
        float bound = init_scale / sqrtf((float)L->in);
        for (size_t i = 0; i < (size_t)L->in * L->out; i++)
            L->wh[i] = (float)((2.0 * rng_uniform(&r) - 1.0) * bound);
        for (int o = 0; o < L->out; o++) {
            L->gamma[o] = 1.0f;
            L->var[o] = 1.0f;
        }
    }
    net_sync_binary(n);
    return 0;
}

void net_free(net *n)
{
    for (int l = 0; l < n->nlayers; l++)
        layer_free(&n->layer[l]);
    workspace_free(n);
    free(n->banks);
    memset(n, 0, sizeof *n);
}

size_t net_param_count(const net *n)
{
    size_t c = 0;
    for (int l = 0; l < n->nlayers; l++)
        c += (size_t)n->layer[l].in * n->layer[l].out + 2 * (size_t)n->layer[l].out;
    return c;
}

void net_copy_params(net *dst, const net *src)
{
    dst->wb0_stale = src->wb0_stale;
    for (int l = 0; l < src->nlayers; l++) {
        const net_layer *S = &src->layer[l];
        net_layer *D = &dst->layer[l];
        size_t w = (size_t)S->in * S->out;
        memcpy(D->wh, S->wh, w * sizeof(float));
        memcpy(D->wb, S->wb, w * sizeof(float));
        memcpy(D->wbits, S->wbits, (size_t)S->out * S->words_in * sizeof(uint64_t));
        memcpy(D->gamma, S->gamma, S->out * sizeof(float));
        memcpy(D->beta, S->beta, S->out * sizeof(float));
        memcpy(D->mean, S->mean, S->out * sizeof(float));
        memcpy(D->var, S->var, S->out * sizeof(float));
    }
}

int net_clone(net *dst, const net *src)
{
    char err[128];
    if (net_create(dst, src->nlayers, src->sizes, src->binary_input, 1.0f, 0, err,
                   sizeof err) < 0)
        return -1;
    dst->bn_eps = src->bn_eps;
    dst->bn_momentum = src->bn_momentum;
    net_copy_params(dst, src);
    if (src->nbanks) {
        size_t bytes = bank_stride(src) * src->nbanks * sizeof(float);
        dst->banks = malloc(bytes);
        if (!dst->banks) {
            net_free(dst);
            return -1;
        }
        memcpy(dst->banks, src->banks, bytes);
        dst->nbanks = src->nbanks;
    }
    return 0;
}

void net_sync_binary(net *n)
{
    n->wb0_stale = 0;
    for (int l = 0; l < n->nlayers; l++) {
        net_layer *L = &n->layer[l];
        size_t w = (size_t)L->in * L->out;
        for (size_t i = 0; i < w; i++)
            L->wb[i] = L->wh[i] >= 0.0f ? 1.0f : -1.0f;
        for (int o = 0; o < L->out; o++)
            kern_pack_signs(L->wh + (size_t)o * L->in, L->in, L->wbits + (size_t)o * L->words_in);
    }
}

/* ---- training pass ---------------------------------------------------------------- */

/* Batch norm of one layer, split over blocks of units so that chunks run in parallel and
 * loops run along rows (vectorised). Forward: batch statistics (two-pass), xhat, invstd,
 * the running statistics nudged by momentum (unbiased variance), and the output Y, or
 * sign(Y) for hidden layers. Backward: the straight-through mask of the layer above's
 * input (|Y| <= 1) applied to dy in place when `ste`, then the gradients of gamma and
 * beta and dA. */
typedef struct bn_job {
    net *n;
    int l, B, hidden, ste;
    float *y;        /* forward output (B, out) */
    float *dy, *da;  /* backward input and output (B, out) */
} bn_job;

enum { BN_UNIT = 16 };

static void unit_range(int begin, int end, int out, int *o0, int *o1)
{
    *o0 = begin * BN_UNIT;
    *o1 = end * BN_UNIT < out ? end * BN_UNIT : out;
}

/* One block of W <= BN_UNIT units starting at o, with the block's sums in registers
 * (always inlined with W = BN_UNIT for whole blocks). */
static inline __attribute__((always_inline)) void bn_forward_block(const bn_job *j, int o,
                                                                  int W)
{
    net *n = j->n;
    net_layer *L = &n->layer[j->l];
    int out = L->out, B = j->B;
    const float *restrict a = n->pre[j->l] + o;
    float *restrict xh = n->xhat[j->l] + o, *restrict y = j->y + o;
    float mu[BN_UNIT] = {0}, sq[BN_UNIT] = {0}, inv[BN_UNIT], g[BN_UNIT], be[BN_UNIT];
    for (int b = 0; b < B; b++)
        for (int i = 0; i < W; i++)
            mu[i] += a[(size_t)b * out + i];
    for (int i = 0; i < W; i++)
        mu[i] /= (float)B;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < W; i++) {
            float c = a[(size_t)b * out + i] - mu[i];
            sq[i] += c * c;
        }
    float m = n->bn_momentum, unbias = B > 1 ? (float)B / (float)(B - 1) : 1.0f;
    for (int i = 0; i < W; i++) {
        float var = sq[i] / (float)B;
        inv[i] = 1.0f / sqrtf(var + n->bn_eps);
        n->invstd[j->l][o + i] = inv[i];
        L->mean[o + i] = (1 - m) * L->mean[o + i] + m * mu[i];
        L->var[o + i] = (1 - m) * L->var[o + i] + m * var * unbias;
        g[i] = L->gamma[o + i];
        be[i] = L->beta[o + i];
    }
    for (int b = 0; b < B; b++) {
        const float *ar = a + (size_t)b * out;
        float *xr = xh + (size_t)b * out, *yr = y + (size_t)b * out;
        for (int i = 0; i < W; i++) {
            xr[i] = (ar[i] - mu[i]) * inv[i];
            float v = g[i] * xr[i] + be[i];
            yr[i] = j->hidden ? (v >= 0.0f ? 1.0f : -1.0f) : v;
        }
    }
}

ISA_INLINE void bn_forward_range_body(void *ud, int begin, int end)
{
    const bn_job *j = ud;
    int o0, o1;
    unit_range(begin, end, j->n->layer[j->l].out, &o0, &o1);
    for (int o = o0; o < o1; o += BN_UNIT) {
        if (o1 - o >= BN_UNIT)
            bn_forward_block(j, o, BN_UNIT);
        else
            bn_forward_block(j, o, o1 - o);
    }
}

ISA_CLONES(bn_forward_range, (void *ud, int begin, int end), (ud, begin, end))

static inline __attribute__((always_inline)) void bn_backward_block(const bn_job *j, int o,
                                                                   int W)
{
    net *n = j->n;
    net_layer *L = &n->layer[j->l];
    int out = L->out, B = j->B;
    const float *restrict xh = n->xhat[j->l] + o;
    float *restrict dy = j->dy + o, *restrict da = j->da + o;
    float g[BN_UNIT], be[BN_UNIT], sg[BN_UNIT] = {0}, sgx[BN_UNIT] = {0}, k[BN_UNIT];
    for (int i = 0; i < W; i++) {
        g[i] = L->gamma[o + i];
        be[i] = L->beta[o + i];
    }
    for (int b = 0; b < B; b++) {
        float *dr = dy + (size_t)b * out;
        const float *xr = xh + (size_t)b * out;
        for (int i = 0; i < W; i++) {
            float d = dr[i];
            if (j->ste) { /* the sign above passed gradient only where |Y| <= 1 */
                float v = g[i] * xr[i] + be[i];
                d = fabsf(v) <= 1.0f ? d : 0.0f;
                dr[i] = d;
            }
            sg[i] += d;
            sgx[i] += d * xr[i];
        }
    }
    for (int i = 0; i < W; i++) {
        L->g_beta[o + i] = sg[i];
        L->g_gamma[o + i] = sgx[i];
        k[i] = g[i] * n->invstd[j->l][o + i] / (float)B;
    }
    for (int b = 0; b < B; b++) {
        const float *dr = dy + (size_t)b * out, *xr = xh + (size_t)b * out;
        float *ar = da + (size_t)b * out;
        for (int i = 0; i < W; i++)
            ar[i] = k[i] * ((float)B * dr[i] - sg[i] - xr[i] * sgx[i]);
    }
}

ISA_INLINE void bn_backward_range_body(void *ud, int begin, int end)
{
    const bn_job *j = ud;
    int o0, o1;
    unit_range(begin, end, j->n->layer[j->l].out, &o0, &o1);
    for (int o = o0; o < o1; o += BN_UNIT) {
        if (o1 - o >= BN_UNIT)
            bn_backward_block(j, o, BN_UNIT);
        else
            bn_backward_block(j, o, o1 - o);
    }
}

ISA_CLONES(bn_backward_range, (void *ud, int begin, int end), (ud, begin, end))

static int bn_units(int out) { return (out + BN_UNIT - 1) / BN_UNIT; }

int net_reserve(net *n, int B) { return workspace_reserve(n, B); }

/* The passes below grow the workspace themselves for callers that did not reserve it (tests,
 * small batches): 0, or -1 out of memory (the workspace then held nothing; the parameters
 * and statistics are as they were). */
static int workspace_need(net *n, int B) { return workspace_reserve(n, B); }

float *net_input_buffer(net *n, int B) { return workspace_need(n, B) < 0 ? NULL : n->act[0]; }

/* Batch norm and sign of every layer from l0 on, after layer l0's A is in pre[l0]; the
 * products of the layers after it. */
typedef struct hidden_job {
    net *n;
    int l, B;
} hidden_job;

/* Rows [begin, end) of a hidden layer's product A = X Wb^T with X = +-1: exact popcounts. */
static void hidden_product_rows(void *ud, int begin, int end)
{
    const hidden_job *j = ud;
    net *n = j->n;
    const net_layer *L = &n->layer[j->l];
    int words = L->words_in;
    for (int r = begin; r < end; r++)
        kern_pack_signs(n->act[j->l] + (size_t)r * L->in, L->in, n->act_bits + (size_t)r * words);
    int32_t *acc = n->acc0 + (size_t)begin * L->out;
    kern_bgemm_xnor(n->act_bits + (size_t)begin * words, end - begin, &n->wt[j->l], L->in, acc,
                    L->out);
    float *pre = n->pre[j->l] + (size_t)begin * L->out;
    for (size_t i = 0; i < (size_t)(end - begin) * L->out; i++)
        pre[i] = (float)acc[i];
}

static void forward_from(net *n, int l0, int B)
{
    for (int l = l0; l < n->nlayers; l++) {
        net_layer *L = &n->layer[l];
        if (l > l0) {
            /* A (B, out) = X (B, in) Wb^T (in, out), X = sign(Y) of the layer below. */
            kern_bmat_fill(&n->wt[l], L->wbits);
            hidden_job hj = {n, l, B};
            kern_parallel(B, 16, hidden_product_rows, &hj);
        }
        /* The next layer sees sign(Y); the backward pass recomputes Y from xhat for the
         * straight-through mask. */
        bn_job j = {.n = n, .l = l, .B = B, .hidden = l < n->nlayers - 1, .y = n->act[l + 1]};
        kern_parallel(bn_units(L->out), 4, bn_forward_range, &j);
    }
}

int net_forward_train(net *n, const float *x, int B)
{
    if (workspace_need(n, B) < 0)
        return -1;
    if (n->wb0_stale) {
        net_layer *L0 = &n->layer[0];
        for (size_t i = 0; i < (size_t)L0->in * L0->out; i++)
            L0->wb[i] = L0->wh[i] >= 0.0f ? 1.0f : -1.0f;
        n->wb0_stale = 0;
    }
    if (x != n->act[0])
        memcpy(n->act[0], x, sizeof(float) * B * n->sizes[0]);
    net_layer *L = &n->layer[0];
    gemm_f32(0, 1, B, L->out, L->in, n->act[0], L->in, L->wb, L->in, 0, n->pre[0], L->out);
    forward_from(n, 0, B);
    return 0;
}

typedef struct byte_job {
    net *n;
    const uint8_t *x8;
    float unit;
    int B;
} byte_job;

enum { ROW_UNIT = 4 }; /* rows per unit of work: the byte products' row tile */

static void refill_q0(void *ud, int begin, int end)
{
    net *n = ud;
    kern_qmat_fill_cols(&n->q0, n->layer[0].wbits, n->layer[0].words_in, begin, end);
}

static void first_layer_bytes(void *ud, int begin, int end)
{
    const byte_job *j = ud;
    net *n = j->n;
    int in = n->sizes[0], out = n->sizes[1];
    int r0 = begin * ROW_UNIT, r1 = end * ROW_UNIT < j->B ? end * ROW_UNIT : j->B;
    kern_qgemm(j->x8 + (size_t)r0 * in, r1 - r0, in, &n->q0, n->acc0 + (size_t)r0 * out, out);
    for (size_t i = (size_t)r0 * out; i < (size_t)r1 * out; i++)
        n->pre[0][i] = (float)n->acc0[i] * j->unit;
}

int net_forward_train_bytes(net *n, const uint8_t *x8, float unit, int B)
{
    if (workspace_need(n, B) < 0)
        return -1;
    /* The signs changed with the last optimiser step: refresh their int8 copy. */
    kern_parallel(n->sizes[1], 32, refill_q0, n);
    byte_job j = {n, x8, unit, B};
    kern_parallel((B + ROW_UNIT - 1) / ROW_UNIT, 4, first_layer_bytes, &j);
    forward_from(n, 0, B);
    return 0;
}

float net_backward(net *n, const int *target, const uint16_t *allowed, int B, int *correct)
{
    int nl = n->nlayers, nout = n->sizes[nl];
    const float *logits = n->act[nl];
    float *dy = n->grad_a; /* (B, out) gradient w.r.t. the current layer's Y */
    double loss = 0;
    int ok = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * nout;
        uint16_t mask = allowed ? allowed[b] : (uint16_t)((1u << nout) - 1);
        float zmax = -INFINITY;
        int arg = -1;
        for (int o = 0; o < nout; o++)
            if ((mask >> o & 1) && z[o] > zmax) {
                zmax = z[o];
                arg = o;
            }
        double sum = 0;
        for (int o = 0; o < nout; o++)
            if (mask >> o & 1)
                sum += exp((double)(z[o] - zmax));
        ok += arg == target[b];
        loss += log(sum) - (double)(z[target[b]] - zmax);
        for (int o = 0; o < nout; o++) {
            float g = 0.0f;
            if (mask >> o & 1)
                g = (float)(exp((double)(z[o] - zmax)) / sum) - (o == target[b]);
            dy[(size_t)b * nout + o] = g / B;
        }
    }
    if (correct)
        *correct = ok;

    for (int l = nl - 1; l >= 0; l--) {
        net_layer *L = &n->layer[l];
        int out = L->out, in = L->in;
        float *da = n->grad_b; /* (B, out) gradient w.r.t. A */
        bn_job j = {.n = n, .l = l, .B = B, .ste = l < nl - 1, .dy = dy, .da = da};
        kern_parallel(bn_units(out), 4, bn_backward_range, &j);
        /* dW (out, in) = dA^T (out, B) X (B, in); the gradient reaches Wh straight through. */
        gemm_f32(1, 0, out, in, B, da, out, n->act[l], in, 0, L->g_w, in);
        if (l == 0)
            break;
        /* dX (B, in) = dA (B, out) Wb (out, in); the layer below masks it (ste). */
        float *dx = n->grad_a;
        gemm_f32(0, 0, B, in, out, da, out, L->wb, in, 0, dx, in);
        dy = dx;
    }
    return (float)(loss / B);
}

/* ---- inference -------------------------------------------------------------------- */

typedef struct infer_job {
    const net *n;
    const float *mean[MPCL_MAX_LAYERS], *var[MPCL_MAX_LAYERS];
    /* Batch norm at inference folded into y = scale * a + shift per unit. */
    float *scale[MPCL_MAX_LAYERS], *shift[MPCL_MAX_LAYERS];
    kern_bmat wb[MPCL_MAX_LAYERS]; /* binary weights laid out for the popcount products */
    kern_qmat q0;                 /* the first layer's, for byte inputs */
    const data_set *d;
    const int *idx;
    float *out;
    volatile int failed; /* a range could not get its buffers (written 0 -> 1 only) */
} infer_job;

enum { INFER_TILE = 64 };

/* Inference of rows [begin, end), INFER_TILE rows at a time. Every layer's product is an
 * exact integer: bytes x +-1 (float inputs, scaled by 1/255 in the folded batch norm),
 * 0/1 x +-1 or +-1 x +-1 (popcounts). */
ISA_INLINE void infer_range_body(void *ud, int begin, int end)
{
    infer_job *job = ud;
    const net *n = job->n;
    const data_set *d = job->d;
    int maxs = max_size(n), maxw = KERN_WORDS(maxs);
    int32_t *acc = malloc(sizeof(int32_t) * INFER_TILE * maxs);
    uint64_t *xa = malloc(sizeof(uint64_t) * INFER_TILE * maxw);
    uint64_t *xb = malloc(sizeof(uint64_t) * INFER_TILE * maxw);
    uint8_t *x8 = d->binary ? NULL : malloc((size_t)INFER_TILE * d->dim);
    float *yb = malloc(sizeof(float) * maxs);
    if (!acc || !xa || !xb || !yb || (!d->binary && !x8)) {
        free(acc);
        free(xa);
        free(xb);
        free(x8);
        free(yb);
        job->failed = 1;
        return;
    }
    for (int t0 = begin; t0 < end; t0 += INFER_TILE) {
        int rows = end - t0 < INFER_TILE ? end - t0 : INFER_TILE;
        const net_layer *L0 = &n->layer[0];
        if (d->binary) {
            data_gather_bits(d, job->idx + t0, rows, xa);
            kern_bgemm_and(xa, rows, &job->wb[0], acc, L0->out);
        } else {
            for (int r = 0; r < rows; r++)
                memcpy(x8 + (size_t)r * d->dim, d->bytes + (size_t)job->idx[t0 + r] * d->dim,
                       d->dim);
            kern_qgemm(x8, rows, d->dim, &job->q0, acc, L0->out);
        }
        for (int l = 0; l < n->nlayers; l++) {
            const net_layer *L = &n->layer[l];
            const float *scale = job->scale[l], *shift = job->shift[l];
            if (l < n->nlayers - 1) {
                int words = KERN_WORDS(L->out);
                for (int r = 0; r < rows; r++) {
                    const int32_t *ar = acc + (size_t)r * L->out;
                    for (int o = 0; o < L->out; o++)
                        yb[o] = scale[o] * (float)ar[o] + shift[o];
                    kern_pack_signs(yb, L->out, xb + (size_t)r * words);
                }
                const net_layer *N = &n->layer[l + 1];
                kern_bgemm_xnor(xb, rows, &job->wb[l + 1], N->in, acc, N->out);
            } else {
                float *o_out = job->out + (size_t)t0 * L->out;
                for (int r = 0; r < rows; r++)
                    for (int o = 0; o < L->out; o++)
                        o_out[(size_t)r * L->out + o] =
                            scale[o] * (float)acc[(size_t)r * L->out + o] + shift[o];
            }
        }
    }
    free(acc);
    free(xa);
    free(xb);
    free(x8);
    free(yb);
}

ISA_CLONES(infer_range, (void *ud, int begin, int end), (ud, begin, end))

/* Release what net_infer's set-up prepared (the kern_* frees take zeroed matrices). */
static void infer_job_free(infer_job *job, const data_set *d, float *folded)
{
    for (int l = 0; l < job->n->nlayers; l++)
        kern_bmat_free(&job->wb[l]);
    if (!d->binary)
        kern_qmat_free(&job->q0);
    free(folded);
}

int net_infer(const net *n, int bank, const data_set *d, const int *idx, int count,
              float *out)
{
    infer_job job = {.n = n, .d = d, .idx = idx, .out = out};
    const float *p = net_bn_has(n, bank) ? n->banks + bank_stride(n) * bank : NULL;
    int total = 0;
    for (int l = 0; l < n->nlayers; l++)
        total += n->sizes[l + 1];
    float *folded = malloc(sizeof(float) * 2 * total);
    if (!folded)
        return -1;
    float *f = folded;
    for (int l = 0; l < n->nlayers; l++) {
        const net_layer *L = &n->layer[l];
        if (kern_bmat_prepare(&job.wb[l], L->wbits, L->out, L->words_in) < 0) {
            infer_job_free(&job, d, folded);
            return -1;
        }
        int sz = n->sizes[l + 1];
        const float *mean = p ? p : n->layer[l].mean, *var = p ? p + sz : n->layer[l].var;
        const float *gamma = p ? p + 2 * sz : n->layer[l].gamma;
        const float *beta = p ? p + 3 * sz : n->layer[l].beta;
        job.scale[l] = f;
        job.shift[l] = f + sz;
        for (int o = 0; o < sz; o++) {
            job.scale[l][o] = gamma[o] / sqrtf(var[o] + n->bn_eps);
            job.shift[l][o] = beta[o] - job.scale[l][o] * mean[o];
        }
        f += 2 * sz;
        if (p)
            p += 4 * sz;
    }
    if (!d->binary) {
        /* Byte inputs stand for byte / 255. */
        for (int o = 0; o < n->sizes[1]; o++)
            job.scale[0][o] *= 1.0f / 255.0f;
        const net_layer *L0 = &n->layer[0];
        if (kern_qmat_prepare(&job.q0, L0->wbits, L0->out, L0->in, L0->words_in) < 0) {
            infer_job_free(&job, d, folded);
            return -1;
        }
    }
    kern_parallel(count, 256, infer_range, &job);
    infer_job_free(&job, d, folded);
    return job.failed ? -1 : 0;
}

/* ---- batch-norm banks -------------------------------------------------------------- */

int net_bn_store(net *n, int t)
{
    if (t < 0 || t >= 64)
        return -1;
    size_t stride = bank_stride(n);
    if (t >= n->nbanks) {
        float *nb = realloc(n->banks, stride * (t + 1) * sizeof(float));
        if (!nb)
            return -1;
        /* Unstored banks are marked with NaN so that loading them is refused. */
        for (size_t i = stride * n->nbanks; i < stride * (t + 1); i++)
            nb[i] = NAN;
        n->banks = nb;
        n->nbanks = t + 1;
    }
    float *p = n->banks + stride * t;
    for (int l = 0; l < n->nlayers; l++) {
        int out = n->sizes[l + 1];
        memcpy(p, n->layer[l].mean, out * sizeof(float));
        memcpy(p + out, n->layer[l].var, out * sizeof(float));
        memcpy(p + 2 * out, n->layer[l].gamma, out * sizeof(float));
        memcpy(p + 3 * out, n->layer[l].beta, out * sizeof(float));
        p += 4 * out;
    }
    return 0;
}

int net_bn_has(const net *n, int t)
{
    return t >= 0 && t < n->nbanks && !isnan(n->banks[bank_stride(n) * t]);
}

int net_bn_load(net *n, int t)
{
    if (!net_bn_has(n, t))
        return -1;
    float *p = n->banks + bank_stride(n) * t;
    for (int l = 0; l < n->nlayers; l++) {
        int out = n->sizes[l + 1];
        memcpy(n->layer[l].mean, p, out * sizeof(float));
        memcpy(n->layer[l].var, p + out, out * sizeof(float));
        memcpy(n->layer[l].gamma, p + 2 * out, out * sizeof(float));
        memcpy(n->layer[l].beta, p + 3 * out, out * sizeof(float));
        p += 4 * out;
    }
    return 0;
}

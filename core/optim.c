#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "kernels.h"

int optim_create(optim *o, const net *n, optim_rule rule, float lr)
{
    memset(o, 0, sizeof *o);
    o->rule = rule;
    o->lr = lr;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->nlayers = n->nlayers;
    for (int l = 0; l < n->nlayers; l++) {
        size_t w = (size_t)n->layer[l].in * n->layer[l].out;
        int out = n->layer[l].out;
        o->wlen[l] = w;
        o->outlen[l] = out;
        o->mw[l] = calloc(w, sizeof(float));
        o->vw[l] = calloc(w, sizeof(float));
        o->mbn[l] = calloc(2 * (size_t)out, sizeof(float));
        o->vbn[l] = calloc(2 * (size_t)out, sizeof(float));
        if (!o->mw[l] || !o->vw[l] || !o->mbn[l] || !o->vbn[l]) {
            optim_free(o);
            return -1;
        }
    }
    return 0;
}

void optim_free(optim *o)
{
    for (int l = 0; l < MPCL_MAX_LAYERS; l++) {
        free(o->mw[l]);
        free(o->vw[l]);
        free(o->mbn[l]);
        free(o->vbn[l]);
    }
    memset(o, 0, sizeof *o);
}

void optim_reset_moments(optim *o)
{
    o->t = 0;
    for (int l = 0; l < o->nlayers; l++) {
        memset(o->mw[l], 0, o->wlen[l] * sizeof(float));
        memset(o->vw[l], 0, o->wlen[l] * sizeof(float));
        memset(o->mbn[l], 0, 2 * (size_t)o->outlen[l] * sizeof(float));
        memset(o->vbn[l], 0, 2 * (size_t)o->outlen[l] * sizeof(float));
    }
}

void optim_copy(optim *dst, const optim *src)
{
    dst->rule = src->rule;
    dst->lr = src->lr;
    dst->beta1 = src->beta1;
    dst->beta2 = src->beta2;
    dst->eps = src->eps;
    dst->t = src->t;
    memcpy(dst->m, src->m, sizeof dst->m);
    for (int l = 0; l < src->nlayers; l++) {
        memcpy(dst->mw[l], src->mw[l], src->wlen[l] * sizeof(float));
        memcpy(dst->vw[l], src->vw[l], src->wlen[l] * sizeof(float));
        memcpy(dst->mbn[l], src->mbn[l], 2 * (size_t)src->outlen[l] * sizeof(float));
        memcpy(dst->vbn[l], src->vbn[l], 2 * (size_t)src->outlen[l] * sizeof(float));
    }
}

/* exp(x) for x <= 0, to about 2e-7 relative: t = x log2(e) is rounded to the nearest
 * integer n by the 1.5 * 2^23 trick (no float-to-int conversion, which would keep the
 * loops from vectorising), 2^(t-n) comes from its Taylor series to degree 6, and 2^n
 * from the exponent bits. Exact zero below exp(-87) keeps denormals out. */
static inline float exp_nonpositive(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float xc = x < -87.0f ? -87.0f : x;
    float t = xc * 1.44269504088896341f;
    float r = t + magic, n = r - magic;
    float f = (t - n) * 0.693147180559945f;
    float p = 1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 +
                                                                  f * (1.0f / 720))))));
    uint32_t rb;
    memcpy(&rb, &r, sizeof rb);
    uint32_t bits = (rb - 0x4B400000u + 127u) << 23; /* (n + 127) << 23 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x > -87.0f ? p * scale : 0.0f;
}

/* 1 - tanh^2(x) = sech^2(x) = 4 e / (1 + e)^2 with e = exp(-2|x|); accurate where
 * 1 - tanhf(x)^2 cancels to zero. */
static inline float sech2(float x)
{
    float e = exp_nonpositive(-2.0f * fabsf(x));
    return 4.0f * e / ((1.0f + e) * (1.0f + e));
}

float optim_sech2(float x) { return sech2(x); }

/* Plain Adam on a vector (batch-norm parameters). */
static void adam_plain(float *p, const float *g, float *m, float *v, size_t len, float b1,
                       float b2, float step, float ibc2, float eps)
{
    for (size_t i = 0; i < len; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i] * ibc2) + eps);
    }
}

/* One rule's step on a layer's hidden weights, then wb = sign(wh). One branch-free loop
 * per rule so that each vectorises; built for AVX-512, AVX2 and plain x86-64, chosen at
 * load time. */
#define STEP_LOOP(UPDATE)                                                                  \
    for (size_t i = 0; i < w; i++) {                                                       \
        float mi = b1 * m[i] + (1 - b1) * g[i];                                            \
        float vi = b2 * v[i] + (1 - b2) * g[i] * g[i];                                     \
        m[i] = mi;                                                                         \
        v[i] = vi;                                                                         \
        float x = wh[i], denom = sqrtf(vi * ibc2) + eps, d;                                \
        UPDATE;                                                                            \
        x += d;                                                                            \
        wh[i] = x;                                                                         \
        if (wb)                                                                            \
            wb[i] = x >= 0.0f ? 1.0f : -1.0f;                                              \
    }

ISA_INLINE void step_weights_body(const optim *o, float mm, float *restrict wh,
                                  float *restrict wb, const float *restrict g,
                                  float *restrict m, float *restrict v, size_t w, float step,
                                  float ibc2)
{
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps, lr = o->lr;
    float k = mm / OPTIM_MPCL_M_UNIT;
    if (o->rule == RULE_LABORIEUX && mm > 0.0f) {
        /* Adam's first moment scaled by 1 - tanh^2(m |w|) when the step points to 0. */
        STEP_LOOP(float scaled = mi * sech2(mm * x);
                  d = -step * (mi * x > 0.0f ? scaled : mi) / denom)
    } else if (o->rule == RULE_MPCL && k > 0.0f) {
        /* Steps toward zero capped at lr (1 - tanh^2(k |w|)). */
        STEP_LOOP(d = -step * mi / denom; float cap = lr * sech2(k * x); float ad = fabsf(d);
                  float capped = copysignf(ad < cap ? ad : cap, d);
                  d = d * x < 0.0f ? capped : d)
    } else {
        STEP_LOOP(d = -step * mi / denom)
    }
}

ISA_CLONES(step_weights,
           (const optim *o, float mm, float *restrict wh, float *restrict wb,
            const float *restrict g, float *restrict m, float *restrict v, size_t w, float step,
            float ibc2),
           (o, mm, wh, wb, g, m, v, w, step, ibc2))

typedef struct step_job {
    const optim *o;
    net_layer *L;
    int l;
    float step, ibc2;
} step_job;

/* Rows [begin, end) of one layer: the rule's step, then the rows' packed signs. */
static void step_rows(void *ud, int begin, int end)
{
    const step_job *j = ud;
    net_layer *L = j->L;
    size_t off = (size_t)begin * L->in, len = (size_t)(end - begin) * L->in;
    /* Layer 0's float signs feed no training product (see net.wb0_stale). */
    float *wb = j->l == 0 ? NULL : L->wb + off;
    step_weights(j->o, j->o->m[j->l], L->wh + off, wb, L->g_w + off,
                 j->o->mw[j->l] + off, j->o->vw[j->l] + off, len, j->step, j->ibc2);
    for (int r = begin; r < end; r++)
        kern_pack_signs(L->wh + (size_t)r * L->in, L->in, L->wbits + (size_t)r * L->words_in);
}

void optim_step(optim *o, net *n)
{
    o->t++;
    float b1 = o->beta1, b2 = o->beta2;
    float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
    float step = o->lr / bc1, ibc2 = 1.0f / bc2;
    for (int l = 0; l < n->nlayers; l++) {
        net_layer *L = &n->layer[l];
        int out = L->out;
        adam_plain(L->gamma, L->g_gamma, o->mbn[l], o->vbn[l], out, b1, b2, step, ibc2, o->eps);
        adam_plain(L->beta, L->g_beta, o->mbn[l] + out, o->vbn[l] + out, out, b1, b2, step,
                   ibc2, o->eps);
        step_job j = {o, L, l, step, ibc2};
        if (l == 0)
            n->wb0_stale = 1;
        /* Element-wise: the result does not depend on how rows are split. */
        kern_parallel(out, (16384 + L->in - 1) / L->in, step_rows, &j);
    }
}

int optim_rule_parse(const char *s, optim_rule *out)
{
    if (!strcmp(s, "none"))
        *out = RULE_NONE;
    else if (!strcmp(s, "mpcl"))
        *out = RULE_MPCL;
    else if (!strcmp(s, "laborieux"))
        *out = RULE_LABORIEUX;
    else
        return -1;
    return 0;
}

const char *optim_rule_name(optim_rule r)
{
    return r == RULE_MPCL ? "mpcl" : r == RULE_LABORIEUX ? "laborieux" : "none";
}

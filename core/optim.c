#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    for (int l = 0; l < NET_MAX_LAYERS; l++) {
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

/* Plain Adam on a vector (batch-norm parameters). */
static void adam_plain(float *p, const float *g, float *m, float *v, size_t len, float b1,
                       float b2, float step, float bc2, float eps)
{
    for (size_t i = 0; i < len; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i] / bc2) + eps);
    }
}

void optim_step(optim *o, net *n)
{
    o->t++;
    float b1 = o->beta1, b2 = o->beta2;
    float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
    float step = o->lr / bc1; /* lr * mhat / m */
    for (int l = 0; l < n->nlayers; l++) {
        net_layer *L = &n->layer[l];
        int out = L->out;
        adam_plain(L->gamma, L->g_gamma, o->mbn[l], o->vbn[l], out, b1, b2, step, bc2, o->eps);
        adam_plain(L->beta, L->g_beta, o->mbn[l] + out, o->vbn[l] + out, out, b1, b2, step, bc2,
                   o->eps);
        size_t w = o->wlen[l];
        float *wh = L->wh, *m = o->mw[l], *v = o->vw[l];
        const float *g = L->g_w;
        float mm = o->m[l];
        switch (o->rule) {
        case RULE_NONE:
            adam_plain(wh, g, m, v, w, b1, b2, step, bc2, o->eps);
            break;
        case RULE_LABORIEUX:
            for (size_t i = 0; i < w; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                float mi = m[i];
                /* The step is -step*m: it points toward zero when m has w's sign. */
                if (mi * wh[i] > 0.0f) {
                    float th = tanhf(mm * fabsf(wh[i]));
                    mi *= 1.0f - th * th;
                }
                wh[i] -= step * mi / (sqrtf(v[i] / bc2) + o->eps);
            }
            break;
        case RULE_MPCL: {
            float k = mm / OPTIM_MPCL_M_UNIT;
            for (size_t i = 0; i < w; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                float d = -step * m[i] / (sqrtf(v[i] / bc2) + o->eps);
                if (k > 0.0f && d * wh[i] < 0.0f) {
                    float th = tanhf(k * fabsf(wh[i]));
                    float cap = o->lr * (1.0f - th * th);
                    if (fabsf(d) > cap)
                        d = d > 0 ? cap : -cap;
                }
                wh[i] += d;
            }
            break;
        }
        }
    }
    net_sync_binary(n);
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

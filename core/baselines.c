#include "baselines.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "kernels.h"
#include "rng.h"

/* ---- names and defaults ------------------------------------------------------------------ */

static const char *const method_names[] = {"none", "joint", "ewc", "si", "gem", "agem"};

int bl_method_parse(const char *s, bl_method *out)
{
    if (!s)
        return -1;
    for (int i = 0; i < (int)(sizeof method_names / sizeof *method_names); i++)
        if (!strcmp(s, method_names[i])) {
            *out = (bl_method)i;
            return 0;
        }
    if (!strcmp(s, "a-gem")) {
        *out = BL_AGEM;
        return 0;
    }
    return -1;
}

const char *bl_method_name(bl_method m)
{
    return (unsigned)m < sizeof method_names / sizeof *method_names ? method_names[m] : "?";
}

void bl_config_default(bl_config *c)
{
    memset(c, 0, sizeof *c);
    c->method = BL_NONE;
    c->scen = SCEN_TASK;
    c->mask_task = 1;
    c->opt = BL_ADAM;
    c->lr = 0.001f;
    c->reset_optim = 1;
    c->batch = 100;
    c->epochs = 5;
    c->ewc_lambda = 1000.0f;
    c->ewc_gamma = 1.0f;
    c->fisher = BL_FISHER_TRUE;
    c->si_c = 0.5f;
    c->si_eps = 1e-3f;
    c->mem_per_task = 256;
    c->agem_ref = 256;
    c->seed = 1;
}

/* ---- the model ----------------------------------------------------------------------------- */

static int max_size(const bl_model *m)
{
    int s = 0;
    for (int l = 0; l <= m->nlayers; l++)
        s = m->sizes[l] > s ? m->sizes[l] : s;
    return s;
}

static void workspace_free(bl_model *m)
{
    for (int l = 0; l <= MPCL_MAX_LAYERS; l++)
        free(m->act[l]);
    memset(m->act, 0, sizeof m->act);
    free(m->dz);
    free(m->dx);
    free(m->sq_a);
    free(m->sq_b);
    m->dz = m->dx = m->sq_a = m->sq_b = NULL;
    m->cap = 0;
}

/* Room for batches of B examples. */
static int workspace_reserve(bl_model *m, int B)
{
    if (B <= m->cap)
        return 0;
    workspace_free(m);
    size_t wide = (size_t)B * max_size(m);
    for (int l = 0; l <= m->nlayers; l++)
        if (!(m->act[l] = malloc(sizeof(float) * B * m->sizes[l])))
            goto fail;
    m->dz = malloc(sizeof(float) * wide);
    m->dx = malloc(sizeof(float) * wide);
    m->sq_a = malloc(sizeof(float) * wide);
    m->sq_b = malloc(sizeof(float) * wide);
    if (!m->dz || !m->dx || !m->sq_a || !m->sq_b)
        goto fail;
    m->cap = B;
    return 0;
fail:
    workspace_free(m);
    return -1;
}

void bl_free(bl_model *m)
{
    if (!m)
        return;
    workspace_free(m);
    free(m->theta);
    free(m->adam_m);
    free(m->adam_v);
    for (int k = 0; k < DATA_MAX_TASKS; k++) {
        free(m->fisher[k]);
        free(m->fisher_star[k]);
        free(m->mem[k]);
    }
    free(m->si_omega);
    free(m->si_big);
    free(m->si_start);
    free(m->si_star);
    free(m->grad);
    free(m->gtot);
    free(m->gmem);
    memset(m, 0, sizeof *m);
}

int bl_create(bl_model *m, int nlayers, const int *sizes, uint64_t seed, char *err,
              size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS || !sizes)
        return err_set(err, errlen, "baselines: need 1 to %d layers, got %d", MPCL_MAX_LAYERS,
                       nlayers);
    for (int l = 0; l <= nlayers; l++)
        if (sizes[l] <= 0 || sizes[l] > 1 << 16)
            return err_set(err, errlen,
                           "baselines: layer sizes must be 1-65536, got %d at position "
                           "%d", sizes[l], l);
    if (sizes[nlayers] > 16)
        return err_set(err, errlen, "baselines: at most 16 outputs, got %d", sizes[nlayers]);
    m->nlayers = nlayers;
    memcpy(m->sizes, sizes, sizeof(int) * (nlayers + 1));
    size_t off = 0;
    for (int l = 0; l < nlayers; l++) {
        m->w_off[l] = off;
        off += (size_t)sizes[l] * sizes[l + 1];
        m->b_off[l] = off;
        off += (size_t)sizes[l + 1];
    }
    m->nparams = off;
    m->theta = malloc(sizeof(float) * off);
    m->adam_m = calloc(off, sizeof(float));
    m->adam_v = calloc(off, sizeof(float));
    m->grad = malloc(sizeof(float) * off);
    m->gtot = malloc(sizeof(float) * off);
    if (!m->theta || !m->adam_m || !m->adam_v || !m->grad || !m->gtot) {
        bl_free(m);
        return err_set(err, errlen, "baselines: out of memory");
    }
    /* nn.Linear's default: weights and biases from U(-1/sqrt(in), 1/sqrt(in)). */
    rng r;
    rng_seed(&r, seed);
    for (int l = 0; l < nlayers; l++) {
        float bound = 1.0f / sqrtf((float)sizes[l]);
        size_t len = (size_t)sizes[l] * sizes[l + 1] + sizes[l + 1];
        for (size_t i = 0; i < len; i++)
            m->theta[m->w_off[l] + i] = (float)(bound * (2.0 * rng_uniform(&r) - 1.0));
    }
    return 0;
}

/* A copy of n floats (NULL stays NULL); *ok cleared when out of memory. */
static float *dup_floats(const float *src, size_t n, int *ok)
{
    if (!src)
        return NULL;
    float *p = malloc(sizeof(float) * n);
    if (!p) {
        *ok = 0;
        return NULL;
    }
    memcpy(p, src, sizeof(float) * n);
    return p;
}

int bl_clone(bl_model *dst, const bl_model *src)
{
    char err[64];
    if (bl_create(dst, src->nlayers, src->sizes, 0, err, sizeof err) < 0)
        return -1;
    size_t n = src->nparams;
    memcpy(dst->theta, src->theta, sizeof(float) * n);
    memcpy(dst->adam_m, src->adam_m, sizeof(float) * n);
    memcpy(dst->adam_v, src->adam_v, sizeof(float) * n);
    dst->step = src->step;
    int ok = 1;
    dst->nfisher = src->nfisher;
    for (int k = 0; k < DATA_MAX_TASKS; k++) {
        dst->fisher[k] = dup_floats(src->fisher[k], n, &ok);
        dst->fisher_star[k] = dup_floats(src->fisher_star[k], n, &ok);
        dst->nmem[k] = src->nmem[k];
        if (src->mem[k] && src->nmem[k] > 0) {
            dst->mem[k] = malloc(sizeof(int) * src->nmem[k]);
            if (dst->mem[k])
                memcpy(dst->mem[k], src->mem[k], sizeof(int) * src->nmem[k]);
            else
                ok = 0;
        }
    }
    dst->si_omega = dup_floats(src->si_omega, n, &ok);
    dst->si_big = dup_floats(src->si_big, n, &ok);
    dst->si_start = dup_floats(src->si_start, n, &ok);
    dst->si_star = dup_floats(src->si_star, n, &ok);
    dst->si_tasks = src->si_tasks;
    if (!ok) {
        bl_free(dst);
        return -1;
    }
    return 0;
}

const float *bl_layer_weights(const bl_model *m, int l)
{
    return m && l >= 0 && l < m->nlayers ? m->theta + m->w_off[l] : NULL;
}

/* ---- products on fixed tiles ------------------------------------------------------------- */

enum { BL_TILE = 32 }; /* rows per unit of work for the loops around the products */

/* C (M, N) = op(A) op(B) (+ C when accumulate): gemm.h, every sum in one fixed order. */
static void gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                 int ldb, int accumulate, float *C, int ldc)
{
    gemm_f32(ta, tb, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
}

/* ---- training pass ------------------------------------------------------------------------- */

typedef struct fwd_job {
    bl_model *m;
    int B;
} fwd_job;

/* Row tiles are independent through all layers: Z = X W^T + b, ReLU on hidden layers. */
static void forward_tiles(void *ud, int begin, int end)
{
    const fwd_job *j = ud;
    bl_model *m = j->m;
    for (int u = begin; u < end; u++) {
        int lo = u * BL_TILE, rows = j->B - lo < BL_TILE ? j->B - lo : BL_TILE;
        for (int l = 0; l < m->nlayers; l++) {
            int in = m->sizes[l], out = m->sizes[l + 1];
            const float *x = m->act[l] + (size_t)lo * in;
            float *z = m->act[l + 1] + (size_t)lo * out;
            const float *b = m->theta + m->b_off[l];
            gemm(0, 1, rows, out, in, x, in, m->theta + m->w_off[l], in, 0, z, out);
            int hidden = l < m->nlayers - 1;
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < out; o++) {
                    float v = z[(size_t)r * out + o] + b[o];
                    z[(size_t)r * out + o] = hidden && v < 0.0f ? 0.0f : v;
                }
        }
    }
}

/* act[1..L] from act[0] (B rows). */
static void forward(bl_model *m, int B)
{
    fwd_job j = {m, B};
    kern_parallel((B + BL_TILE - 1) / BL_TILE, 1, forward_tiles, &j);
}

/* Softmax over the allowed outputs of row z into p (zero elsewhere); returns the log of the
 * normaliser relative to the row's allowed maximum zmax. */
static double softmax_row(const float *z, int nout, uint16_t allowed, float *p, float *zmax)
{
    float mx = -INFINITY;
    for (int o = 0; o < nout; o++)
        if (allowed >> o & 1)
            mx = z[o] > mx ? z[o] : mx;
    double s = 0;
    for (int o = 0; o < nout; o++) {
        double e = (allowed >> o & 1) ? exp((double)z[o] - mx) : 0.0;
        p[o] = (float)e;
        s += e;
    }
    for (int o = 0; o < nout; o++)
        p[o] = (float)(p[o] / s);
    *zmax = mx;
    return log(s);
}

/* The logits' gradient m->dz = scale * (softmax - onehot) of the last forward pass of B
 * rows, each over its allowed outputs. Returns the summed loss; *correct counts rows whose
 * allowed arg-max is the target. */
static double loss_grad(bl_model *m, const int *target, const uint16_t *allowed, int B,
                        float scale, int *correct)
{
    int nout = m->sizes[m->nlayers];
    const float *logits = m->act[m->nlayers];
    double loss = 0;
    int right = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * nout;
        float *d = m->dz + (size_t)b * nout, mx;
        double lse = softmax_row(z, nout, allowed[b], d, &mx);
        loss += lse - ((double)z[target[b]] - mx);
        int arg = -1;
        for (int o = 0; o < nout; o++)
            if ((allowed[b] >> o & 1) && (arg < 0 || z[o] > z[arg]))
                arg = o;
        right += arg == target[b];
        d[target[b]] -= 1.0f;
        for (int o = 0; o < nout; o++)
            d[o] *= scale;
    }
    if (correct)
        *correct = right;
    return loss;
}

typedef struct wgrad_job {
    const bl_model *m;
    int l, B, squared;
    const float *dz, *x; /* (B, out), (B, in): squared already when squared */
    float *gw, *gb;
} wgrad_job;

/* Bias gradients of output units [lo, hi): column sums of dz, in row order. */
static void bias_sums(const wgrad_job *j, int lo, int hi)
{
    int out = j->m->sizes[j->l + 1];
    for (int o = lo; o < hi; o++) {
        float s = 0.0f;
        for (int b = 0; b < j->B; b++)
            s += j->dz[(size_t)b * out + o];
        j->gb[o] = j->squared ? j->gb[o] + s : s;
    }
}

/* dW (out, in) = dz^T x (squared: += ) and the bias sums, on tiles of output units. */
static void wgrad_tiles(void *ud, int begin, int end)
{
    const wgrad_job *j = ud;
    int in = j->m->sizes[j->l], out = j->m->sizes[j->l + 1];
    for (int u = begin; u < end; u++) {
        int lo = u * BL_TILE, rows = out - lo < BL_TILE ? out - lo : BL_TILE;
        gemm(1, 0, rows, in, j->B, j->dz + lo, out, j->x, in, j->squared, j->gw + (size_t)lo * in,
             in);
        bias_sums(j, lo, lo + rows);
    }
}

static void square_into(const float *a, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * a[i];
}

/* Back-propagate m->dz (logit gradients of B rows) through the last forward pass.
 * squared = 0: the gradient into g (nparams, overwritten). squared = 1: every row's own
 * gradient squared, summed into g (the diagonal Fisher's accumulator). */
static void backward(bl_model *m, int B, float *g, int squared)
{
    float *cur = m->dz, *nxt = m->dx;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        int in = m->sizes[l], out = m->sizes[l + 1];
        const float *x = m->act[l];
        wgrad_job wj = {m, l, B, squared, cur, x, g + m->w_off[l], g + m->b_off[l]};
        if (squared) {
            square_into(cur, (size_t)B * out, m->sq_a);
            square_into(x, (size_t)B * in, m->sq_b);
            wj.dz = m->sq_a;
            wj.x = m->sq_b;
        }
        kern_parallel((out + BL_TILE - 1) / BL_TILE, 1, wgrad_tiles, &wj);
        if (l == 0)
            break;
        /* dx (B, in) = dz W, then the ReLU's gate (x > 0). */
        gemm(0, 0, B, in, out, cur, out, m->theta + m->w_off[l], in, 0, nxt, in);
        for (size_t i = 0; i < (size_t)B * in; i++)
            if (!(x[i] > 0.0f))
                nxt[i] = 0.0f;
        float *t = cur;
        cur = nxt;
        nxt = t;
    }
    /* m->dz may now hold a hidden layer's gradient: every caller writes it afresh. */
}

/* ---- batches --------------------------------------------------------------------------------- */

/* The examples a batch is made of: training-set indices and the task of each. */
typedef struct batch_src {
    const data_set *d;
    const data_tasks *tasks;
    scenario scen;
    int mask_task;
} batch_src;

static uint16_t allowed_for(const batch_src *s, const data_task *tk, int nout)
{
    return (s->scen == SCEN_TASK && s->mask_task) ? scenario_eval_mask(SCEN_TASK, tk)
                                                  : (uint16_t)((1u << nout) - 1);
}

/* Gather rows idx[0..B-1] (task_of[k] the task of row k) into act[0], with targets and
 * allowed masks. */
static void gather_batch(bl_model *m, const batch_src *s, const int *idx, const int *task_of,
                         int B, int *target, uint16_t *allowed)
{
    data_gather_float(s->d, idx, B, m->act[0]);
    int nout = m->sizes[m->nlayers];
    for (int k = 0; k < B; k++) {
        const data_task *tk = &s->tasks->task[task_of[k]];
        target[k] = scenario_target(s->scen, tk, s->d->labels[idx[k]]);
        allowed[k] = allowed_for(s, tk, nout);
    }
}

/* The mean loss gradient of B gathered rows into g; returns the summed loss. */
static double batch_gradient(bl_model *m, const int *target, const uint16_t *allowed, int B,
                             float *g, int *correct)
{
    forward(m, B);
    double loss = loss_grad(m, target, allowed, B, 1.0f / (float)B, correct);
    backward(m, B, g, 0);
    return loss;
}

/* ---- optimiser ----------------------------------------------------------------------------- */

static void optim_reset(bl_model *m)
{
    memset(m->adam_m, 0, sizeof(float) * m->nparams);
    memset(m->adam_v, 0, sizeof(float) * m->nparams);
    m->step = 0;
}

/* One step on gradient gtot; with si_g (SI) the path integral omega -= si_g * step. */
static void optim_step(bl_model *m, const bl_config *c, const float *gtot, const float *si_g)
{
    size_t n = m->nparams;
    float *th = m->theta, *om = m->si_omega;
    if (c->opt == BL_SGD) {
        for (size_t i = 0; i < n; i++) {
            float d = -c->lr * gtot[i];
            th[i] += d;
            if (si_g)
                om[i] -= si_g[i] * d;
        }
        return;
    }
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    m->step++;
    float c1 = 1.0f / (1.0f - powf(b1, (float)m->step));
    float c2 = 1.0f / (1.0f - powf(b2, (float)m->step));
    float *mm = m->adam_m, *vv = m->adam_v;
    for (size_t i = 0; i < n; i++) {
        float g = gtot[i];
        mm[i] = b1 * mm[i] + (1.0f - b1) * g;
        vv[i] = b2 * vv[i] + (1.0f - b2) * g * g;
        float d = -c->lr * (mm[i] * c1) / (sqrtf(vv[i] * c2) + eps);
        th[i] += d;
        if (si_g)
            om[i] -= si_g[i] * d;
    }
}

/* ---- EWC and SI ---------------------------------------------------------------------------- */

double bl_ewc_penalty(const bl_model *m, const bl_config *cfg, const float *theta)
{
    const float *th = theta ? theta : m->theta;
    double s = 0;
    for (int k = 0; k < m->nfisher; k++) {
        const float *f = m->fisher[k], *st = m->fisher_star[k];
        if (!f)
            continue;
        for (size_t i = 0; i < m->nparams; i++) {
            double d = (double)th[i] - st[i];
            s += f[i] * d * d;
        }
    }
    return 0.5 * cfg->ewc_lambda * s;
}

/* g += the EWC penalty's gradient lambda sum_k F_k (theta - theta*_k). */
static void ewc_grad(const bl_model *m, const bl_config *cfg, float *g)
{
    for (int k = 0; k < m->nfisher; k++) {
        const float *f = m->fisher[k], *st = m->fisher_star[k];
        if (!f)
            continue;
        for (size_t i = 0; i < m->nparams; i++)
            g[i] += cfg->ewc_lambda * f[i] * (m->theta[i] - st[i]);
    }
}

double bl_si_penalty(const bl_model *m, const bl_config *cfg, const float *theta)
{
    if (!m->si_big || m->si_tasks == 0)
        return 0.0;
    const float *th = theta ? theta : m->theta;
    double s = 0;
    for (size_t i = 0; i < m->nparams; i++) {
        double d = (double)th[i] - m->si_star[i];
        s += m->si_big[i] * d * d;
    }
    return cfg->si_c * s;
}

static void si_grad(const bl_model *m, const bl_config *cfg, float *g)
{
    if (!m->si_big || m->si_tasks == 0)
        return;
    for (size_t i = 0; i < m->nparams; i++)
        g[i] += 2.0f * cfg->si_c * m->si_big[i] * (m->theta[i] - m->si_star[i]);
}

/* SI state for a new task: omega = 0, the start point = theta. */
static int si_begin(bl_model *m)
{
    size_t n = m->nparams;
    if (!m->si_omega) {
        m->si_omega = calloc(n, sizeof(float));
        m->si_big = calloc(n, sizeof(float));
        m->si_start = malloc(sizeof(float) * n);
        m->si_star = malloc(sizeof(float) * n);
        if (!m->si_omega || !m->si_big || !m->si_start || !m->si_star)
            return -1;
    }
    memset(m->si_omega, 0, sizeof(float) * n);
    memcpy(m->si_start, m->theta, sizeof(float) * n);
    return 0;
}

/* Omega += max(0, omega / (Delta^2 + eps)), theta* = theta. */
static void si_consolidate(bl_model *m, const bl_config *cfg)
{
    for (size_t i = 0; i < m->nparams; i++) {
        float delta = m->theta[i] - m->si_start[i];
        float add = m->si_omega[i] / (delta * delta + cfg->si_eps);
        m->si_big[i] += add > 0.0f ? add : 0.0f;
        m->si_omega[i] = 0.0f;
    }
    memcpy(m->si_star, m->theta, sizeof(float) * m->nparams);
    m->si_tasks++;
}

enum { FISHER_CHUNK = 256 };

/* The diagonal Fisher of task t at the current parameters into f (nparams): the mean over
 * the task's first n training examples of the squared per-example gradient of log p(y|x),
 * y weighted by p(y|x) over the allowed outputs (true Fisher) or y = the target
 * (empirical). */
static int fisher_compute(bl_model *m, const batch_src *s, int t, const bl_config *cfg, float *f)
{
    const data_task *tk = &s->tasks->task[t];
    int n = cfg->fisher_n > 0 && cfg->fisher_n < tk->ntrain ? cfg->fisher_n : tk->ntrain;
    int nout = m->sizes[m->nlayers];
    memset(f, 0, sizeof(float) * m->nparams);
    if (n == 0)
        return 0;
    int *target = malloc(sizeof(int) * FISHER_CHUNK), *task_of = malloc(sizeof(int) * FISHER_CHUNK);
    uint16_t *allowed = malloc(sizeof(uint16_t) * FISHER_CHUNK);
    float *p = malloc(sizeof(float) * FISHER_CHUNK * nout);
    int rc = -1;
    if (!target || !task_of || !allowed || !p || workspace_reserve(m, FISHER_CHUNK) < 0)
        goto out;
    for (int k = 0; k < FISHER_CHUNK; k++)
        task_of[k] = t;
    for (int c0 = 0; c0 < n; c0 += FISHER_CHUNK) {
        int B = n - c0 < FISHER_CHUNK ? n - c0 : FISHER_CHUNK;
        gather_batch(m, s, tk->train + c0, task_of, B, target, allowed);
        forward(m, B);
        const float *z = m->act[m->nlayers];
        for (int b = 0; b < B; b++) {
            float mx;
            softmax_row(z + (size_t)b * nout, nout, allowed[b], p + (size_t)b * nout, &mx);
        }
        /* One squared backward pass per output y: row b's dz = w_b (p_b - e_y), w_b^2 the
         * weight of y (p(y|x) for the true Fisher; 1 or 0 for the empirical one). */
        for (int y = 0; y < nout; y++) {
            int any = 0;
            for (int b = 0; b < B; b++) {
                const float *pb = p + (size_t)b * nout;
                float *d = m->dz + (size_t)b * nout;
                float w = 0.0f;
                if (allowed[b] >> y & 1)
                    w = cfg->fisher == BL_FISHER_TRUE ? sqrtf(pb[y]) : (target[b] == y);
                for (int o = 0; o < nout; o++)
                    d[o] = w * (pb[o] - (o == y));
                any |= w > 0.0f;
            }
            if (any)
                backward(m, B, f, 1);
        }
    }
    for (size_t i = 0; i < m->nparams; i++)
        f[i] /= (float)n;
    rc = 0;
out:
    free(target);
    free(task_of);
    free(allowed);
    free(p);
    return rc;
}

/* After task t: the Fisher, stored as task t's penalty (separate) or folded into the online
 * one (slot 0). */
static int ewc_consolidate(bl_model *m, const batch_src *s, int t, const bl_config *cfg)
{
    size_t n = m->nparams;
    int slot = cfg->ewc_online ? 0 : t;
    float *f = malloc(sizeof(float) * n);
    if (!f || fisher_compute(m, s, t, cfg, f) < 0) {
        free(f);
        return -1;
    }
    if (!m->fisher_star[slot] && !(m->fisher_star[slot] = malloc(sizeof(float) * n))) {
        free(f);
        return -1;
    }
    if (cfg->ewc_online && m->fisher[slot]) {
        for (size_t i = 0; i < n; i++)
            m->fisher[slot][i] = cfg->ewc_gamma * m->fisher[slot][i] + f[i];
        free(f);
    } else {
        free(m->fisher[slot]);
        m->fisher[slot] = f;
    }
    memcpy(m->fisher_star[slot], m->theta, sizeof(float) * n);
    if (slot + 1 > m->nfisher)
        m->nfisher = slot + 1;
    return 0;
}

/* ---- GEM and A-GEM ------------------------------------------------------------------------- */

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Solve Q[P,P] s[P] = -p[P] by Cholesky (Q row-major k x k); s = 0 off P. Returns -1 when
 * Q[P,P] is singular to working precision. */
static int solve_passive(const double *Q, const double *p, int k, const int *passive,
                         double *s)
{
    int idx[64], np = 0;
    for (int j = 0; j < k; j++)
        if (passive[j])
            idx[np++] = j;
    double L[64 * 64], y[64];
    double dmax = 0;
    for (int a = 0; a < np; a++)
        dmax = fmax(dmax, Q[idx[a] * k + idx[a]]);
    for (int a = 0; a < np; a++) {
        for (int b = 0; b <= a; b++) {
            double v = Q[idx[a] * k + idx[b]];
            for (int c = 0; c < b; c++)
                v -= L[a * 64 + c] * L[b * 64 + c];
            if (a == b) {
                if (!(v > 1e-12 * dmax))
                    return -1;
                L[a * 64 + a] = sqrt(v);
            } else {
                L[a * 64 + b] = v / L[b * 64 + b];
            }
        }
    }
    for (int a = 0; a < np; a++) {
        double v = -p[idx[a]];
        for (int c = 0; c < a; c++)
            v -= L[a * 64 + c] * y[c];
        y[a] = v / L[a * 64 + a];
    }
    for (int a = np - 1; a >= 0; a--) {
        double v = y[a];
        for (int c = a + 1; c < np; c++)
            v -= L[c * 64 + a] * y[c];
        y[a] = v / L[a * 64 + a];
    }
    memset(s, 0, sizeof(double) * k);
    for (int a = 0; a < np; a++)
        s[idx[a]] = y[a];
    return 0;
}

/* min_{v >= 0} 1/2 v^T Q v + p^T v by Lawson-Hanson (Gram form). w = -(Q v + p) is the
 * negative gradient; the loop ends when w_j <= tol for every j outside the passive set. A
 * constraint whose column is dependent on the passive ones (singular solve) is excluded. */
static void nnls_gram(const double *Q, const double *p, int k, double tol, double *v)
{
    int passive[64] = {0}, excluded[64] = {0};
    double w[64], s[64];
    memset(v, 0, sizeof(double) * k);
    for (int outer = 0; outer < 3 * k + 10; outer++) {
        for (int j = 0; j < k; j++) {
            double a = p[j];
            for (int i = 0; i < k; i++)
                a += Q[j * k + i] * v[i];
            w[j] = -a;
        }
        int jmax = -1;
        for (int j = 0; j < k; j++)
            if (!passive[j] && !excluded[j] && w[j] > tol && (jmax < 0 || w[j] > w[jmax]))
                jmax = j;
        if (jmax < 0)
            return;
        passive[jmax] = 1;
        for (int inner = 0; inner < 3 * k + 10; inner++) {
            if (solve_passive(Q, p, k, passive, s) < 0) {
                passive[jmax] = 0;
                excluded[jmax] = 1;
                memcpy(s, v, sizeof(double) * k);
                break;
            }
            int feasible = 1;
            for (int j = 0; j < k; j++)
                if (passive[j] && s[j] <= 0.0)
                    feasible = 0;
            if (feasible)
                break;
            /* Step from v toward s as far as feasibility allows; drop what hits zero. */
            double alpha = 1.0;
            int hit = -1;
            for (int j = 0; j < k; j++)
                if (passive[j] && s[j] <= 0.0) {
                    double a = v[j] / (v[j] - s[j]);
                    if (hit < 0 || a < alpha) {
                        alpha = a;
                        hit = j;
                    }
                }
            for (int j = 0; j < k; j++) {
                v[j] += alpha * (s[j] - v[j]);
                if (passive[j] && (j == hit || v[j] <= 0.0)) {
                    passive[j] = 0;
                    v[j] = 0.0;
                }
            }
        }
        for (int j = 0; j < k; j++)
            v[j] = passive[j] && s[j] > 0.0 ? s[j] : 0.0;
    }
}

int bl_gem_project(float *g, const float *G, int k, size_t n, double *dual)
{
    if (!g || !G || k < 1 || k > 64 || n < 1)
        return -1;
    double p[64], v[64];
    int violated = 0;
    for (int j = 0; j < k; j++) {
        p[j] = dot(G + (size_t)j * n, g, n);
        violated |= p[j] < 0.0;
    }
    if (dual)
        memset(dual, 0, sizeof(double) * k);
    if (!violated)
        return 0;
    double *Q = malloc(sizeof(double) * k * k);
    if (!Q)
        return -1;
    double qmax = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b <= a; b++) {
            double q = dot(G + (size_t)a * n, G + (size_t)b * n, n);
            Q[a * k + b] = Q[b * k + a] = q;
            if (a == b)
                qmax = fmax(qmax, q);
        }
    double tol = 1e-12 * sqrt(qmax) * sqrt(dot(g, g, n));
    nnls_gram(Q, p, k, tol, v);
    free(Q);
    int active = 0;
    for (int j = 0; j < k; j++)
        active += v[j] > 0.0;
    for (size_t i = 0; i < n; i++) {
        double z = g[i];
        for (int j = 0; j < k; j++)
            z += v[j] * G[(size_t)j * n + i];
        g[i] = (float)z;
    }
    if (dual)
        memcpy(dual, v, sizeof(double) * k);
    return active;
}

int bl_agem_project(float *g, const float *gref, size_t n)
{
    double d = dot(g, gref, n);
    if (!(d < 0.0))
        return 0;
    double rr = dot(gref, gref, n);
    if (!(rr > 0.0))
        return 0;
    double f = d / rr;
    for (size_t i = 0; i < n; i++)
        g[i] = (float)(g[i] - f * gref[i]);
    return 1;
}

/* Task t's episodic memory: mem_per_task of its training examples, a seeded random choice. */
static int memory_store(bl_model *m, const data_task *tk, int t, const bl_config *cfg)
{
    int M = cfg->mem_per_task < tk->ntrain ? cfg->mem_per_task : tk->ntrain;
    int *pool = malloc(sizeof(int) * (tk->ntrain ? tk->ntrain : 1));
    if (!pool)
        return -1;
    memcpy(pool, tk->train, sizeof(int) * tk->ntrain);
    rng r;
    rng_seed_stream(&r, cfg->seed, 0x6d656d00ULL + (uint64_t)t);
    for (int i = 0; i < M; i++) { /* a partial Fisher-Yates: the first M of a shuffle */
        int j = i + (int)rng_below(&r, (uint32_t)(tk->ntrain - i));
        int a = pool[i];
        pool[i] = pool[j];
        pool[j] = a;
    }
    free(m->mem[t]);
    m->mem[t] = realloc(pool, sizeof(int) * (M ? M : 1));
    if (!m->mem[t]) {
        free(pool);
        m->nmem[t] = 0;
        return -1;
    }
    m->nmem[t] = M;
    return 0;
}

/* The loss gradient on rows idx/task_of into g (through the workspace). */
static void memory_gradient(bl_model *m, const batch_src *s, const int *idx,
                            const int *task_of, int B, int *target, uint16_t *allowed, float *g)
{
    gather_batch(m, s, idx, task_of, B, target, allowed);
    batch_gradient(m, target, allowed, B, g, NULL);
}

/* ---- learning a task ----------------------------------------------------------------------- */

static void epoch_shuffle(data_epoch_set *e, uint64_t seed, int t, int epoch)
{
    rng r;
    rng_seed_stream(&r, seed, (uint64_t)t * 100003u + (uint64_t)epoch);
    for (int i = e->n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint32_t)(i + 1));
        int a = e->idx[i], b = e->task_of[i];
        e->idx[i] = e->idx[j];
        e->task_of[i] = e->task_of[j];
        e->idx[j] = a;
        e->task_of[j] = b;
    }
}

/* The memories of tasks < t as one pool (A-GEM) or the list of tasks with one (GEM). */
typedef struct replay {
    int ktasks, task[DATA_MAX_TASKS];  /* GEM: tasks with a memory */
    int *pool, *pool_task, npool;       /* A-GEM: every memory example and its task */
    int *ref_task;                      /* (agem_ref) tasks of the drawn rows */
    int *ref_idx;
    rng r;
} replay;

static void replay_free(replay *rp)
{
    free(rp->pool);
    free(rp->pool_task);
    free(rp->ref_task);
    free(rp->ref_idx);
}

static int replay_build(replay *rp, const bl_model *m, int t, const bl_config *cfg)
{
    memset(rp, 0, sizeof *rp);
    for (int k = 0; k < t && k < DATA_MAX_TASKS; k++)
        if (m->mem[k] && m->nmem[k] > 0) {
            rp->task[rp->ktasks++] = k;
            rp->npool += m->nmem[k];
        }
    if (cfg->method != BL_AGEM || rp->npool == 0)
        return 0;
    rp->pool = malloc(sizeof(int) * rp->npool);
    rp->pool_task = malloc(sizeof(int) * rp->npool);
    rp->ref_idx = malloc(sizeof(int) * rp->npool);
    rp->ref_task = malloc(sizeof(int) * rp->npool);
    if (!rp->pool || !rp->pool_task || !rp->ref_idx || !rp->ref_task)
        return -1;
    int n = 0;
    for (int a = 0; a < rp->ktasks; a++)
        for (int i = 0; i < m->nmem[rp->task[a]]; i++) {
            rp->pool[n] = m->mem[rp->task[a]][i];
            rp->pool_task[n++] = rp->task[a];
        }
    rng_seed_stream(&rp->r, cfg->seed, 0x61676d00ULL + (uint64_t)t);
    return 0;
}

/* A-GEM's reference rows: R drawn without replacement from the pool (a partial shuffle of
 * the pool in place, so draws go on from one step to the next). Returns R. */
static int replay_draw(replay *rp, int R)
{
    if (R > rp->npool)
        R = rp->npool;
    for (int i = 0; i < R; i++) {
        int j = i + (int)rng_below(&rp->r, (uint32_t)(rp->npool - i));
        int a = rp->pool[i], b = rp->pool_task[i];
        rp->pool[i] = rp->pool[j];
        rp->pool_task[i] = rp->pool_task[j];
        rp->pool[j] = a;
        rp->pool_task[j] = b;
        rp->ref_idx[i] = rp->pool[i];
        rp->ref_task[i] = rp->pool_task[i];
    }
    return R;
}

static int check_learn(const bl_model *m, const data_set *train, const data_tasks *tasks, int t,
                       const bl_config *cfg, char *err, size_t errlen)
{
    if (!m || !m->theta || !train || !tasks || !cfg)
        return err_set(err, errlen, "baselines: learn needs a model, data, tasks and a config");
    if (t < 0 || t >= tasks->ntasks)
        return err_set(err, errlen, "baselines: task %d out of range 1-%d", t + 1, tasks->ntasks);
    if (cfg->batch < 1 || cfg->epochs < 1 || !(cfg->lr > 0) ||
        (unsigned)cfg->method > BL_AGEM || (unsigned)cfg->opt > BL_SGD)
        return err_set(err, errlen,
                       "baselines: batch and epochs must be >= 1 and lr > 0, method and "
                       "optimiser known (got batch %d, epochs %d, lr %g)", cfg->batch, cfg->epochs,
                       cfg->lr);
    if ((cfg->method == BL_EWC && !(cfg->ewc_lambda >= 0)) ||
        (cfg->method == BL_SI && (!(cfg->si_c >= 0) || !(cfg->si_eps > 0))) ||
        ((cfg->method == BL_GEM || cfg->method == BL_AGEM) &&
         (cfg->mem_per_task < 1 || cfg->agem_ref < 1)))
        return err_set(err, errlen, "baselines: %s needs lambda >= 0, c >= 0, epsilon > 0, memory "
                                    "and reference batch >= 1", bl_method_name(cfg->method));
    if (m->sizes[0] != train->dim || m->sizes[m->nlayers] != scenario_outputs(cfg->scen))
        return err_set(err, errlen,
                       "baselines: model is %d->%d but the data have %d inputs and the "
                       "%s scenario needs %d outputs", m->sizes[0], m->sizes[m->nlayers],
                       train->dim, scenario_name(cfg->scen), scenario_outputs(cfg->scen));
    return 0;
}

/* Per-task state of a learn call. */
typedef struct learner {
    bl_model *m;
    const bl_config *cfg;
    batch_src src;
    int t;
    data_epoch_set es;
    replay rp;
    int *target, *task_of;
    uint16_t *allowed;
} learner;

static void learner_free(learner *L)
{
    free(L->es.idx);
    free(L->es.task_of);
    replay_free(&L->rp);
    free(L->target);
    free(L->task_of);
    free(L->allowed);
}

static int learner_init(learner *L, bl_model *m, const data_set *train, const data_tasks *tasks,
                        int t, const bl_config *cfg)
{
    memset(L, 0, sizeof *L);
    L->m = m;
    L->cfg = cfg;
    L->src = (batch_src){train, tasks, cfg->scen, cfg->mask_task};
    L->t = t;
    int cap = cfg->batch;
    if (cfg->method == BL_GEM)
        for (int k = 0; k < t && k < DATA_MAX_TASKS; k++)
            cap = m->nmem[k] > cap ? m->nmem[k] : cap;
    if (cfg->method == BL_AGEM && cfg->agem_ref > cap)
        cap = cfg->agem_ref;
    if (cfg->method == BL_EWC && FISHER_CHUNK > cap)
        cap = FISHER_CHUNK;
    L->target = malloc(sizeof(int) * cap);
    L->task_of = malloc(sizeof(int) * cap);
    L->allowed = malloc(sizeof(uint16_t) * cap);
    if (!L->target || !L->task_of || !L->allowed || workspace_reserve(m, cap) < 0 ||
        data_epoch_set_build(&L->es, tasks, t, cfg->method == BL_JOINT) < 0 ||
        replay_build(&L->rp, m, t, cfg) < 0)
        return -1;
    if (cfg->method == BL_GEM && L->rp.ktasks > 0 && !m->gmem &&
        !(m->gmem = malloc(sizeof(float) * DATA_MAX_TASKS * m->nparams)))
        return -1;
    if (cfg->method == BL_AGEM && L->rp.npool > 0 && !m->gmem &&
        !(m->gmem = malloc(sizeof(float) * DATA_MAX_TASKS * m->nparams)))
        return -1;
    if (cfg->method == BL_SI && si_begin(m) < 0)
        return -1;
    return 0;
}

/* GEM's constraints for this step: the gradient on each past task's whole memory, rows of
 * m->gmem. Returns their number. */
static int gem_constraints(learner *L)
{
    bl_model *m = L->m;
    for (int a = 0; a < L->rp.ktasks; a++) {
        int k = L->rp.task[a];
        for (int i = 0; i < m->nmem[k]; i++)
            L->task_of[i] = k;
        memory_gradient(m, &L->src, m->mem[k], L->task_of, m->nmem[k], L->target, L->allowed,
                        m->gmem + (size_t)a * m->nparams);
    }
    return L->rp.ktasks;
}

/* One optimiser step on batch rows idx/task_of (B of them). Returns 1 when the gradient was
 * projected (GEM, A-GEM); the loss, penalty and right count through the pointers. */
static int learn_step(learner *L, const int *idx, const int *task_of, int B, double *loss,
                      double *penalty, int *right)
{
    bl_model *m = L->m;
    const bl_config *cfg = L->cfg;
    int projected = 0, kc = 0, R = 0;
    if (cfg->method == BL_GEM && L->rp.ktasks > 0)
        kc = gem_constraints(L);
    if (cfg->method == BL_AGEM && L->rp.npool > 0) {
        R = replay_draw(&L->rp, cfg->agem_ref);
        memory_gradient(m, &L->src, L->rp.ref_idx, L->rp.ref_task, R, L->target, L->allowed,
                        m->gmem);
    }
    /* After the memory passes: they use the same workspace. */
    gather_batch(m, &L->src, idx, task_of, B, L->target, L->allowed);
    *loss = batch_gradient(m, L->target, L->allowed, B, m->grad, right);
    if (kc > 0)
        projected = bl_gem_project(m->grad, m->gmem, kc, m->nparams, NULL) > 0;
    if (R > 0)
        projected = bl_agem_project(m->grad, m->gmem, m->nparams);
    memcpy(m->gtot, m->grad, sizeof(float) * m->nparams);
    *penalty = 0;
    if (cfg->method == BL_EWC) {
        *penalty = bl_ewc_penalty(m, cfg, NULL);
        ewc_grad(m, cfg, m->gtot);
    } else if (cfg->method == BL_SI) {
        *penalty = bl_si_penalty(m, cfg, NULL);
        si_grad(m, cfg, m->gtot);
    }
    optim_step(m, cfg, m->gtot, cfg->method == BL_SI ? m->grad : NULL);
    return projected;
}

/* What the task leaves behind for the next ones. */
static int consolidate(learner *L)
{
    bl_model *m = L->m;
    const bl_config *cfg = L->cfg;
    const data_task *tk = &L->src.tasks->task[L->t];
    switch (cfg->method) {
    case BL_EWC:
        return ewc_consolidate(m, &L->src, L->t, cfg);
    case BL_SI:
        si_consolidate(m, cfg);
        return 0;
    case BL_GEM:
    case BL_AGEM:
        return memory_store(m, tk, L->t, cfg);
    default:
        return 0;
    }
}

int bl_learn(bl_model *m, const data_set *train, const data_tasks *tasks, int t,
             const bl_config *cfg, bl_callback cb, void *ud, const volatile int *cancel,
             bl_result *res, char *err, size_t errlen)
{
    bl_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (check_learn(m, train, tasks, t, cfg, err, errlen))
        return -1;
    learner L;
    if (learner_init(&L, m, train, tasks, t, cfg) < 0) {
        learner_free(&L);
        return err_set(err, errlen, "baselines: out of memory");
    }
    if (cfg->reset_optim)
        optim_reset(m);
    const data_task *task = &tasks->task[t];
    int B = cfg->batch, per_epoch = L.es.n / B;
    for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
        epoch_shuffle(&L.es, cfg->seed, t, epoch);
        double loss_sum = 0, pen_sum = 0;
        long right = 0;
        int batches = 0, proj = 0;
        for (int bi = 0; bi < per_epoch; bi++) {
            if (cancel && *cancel) {
                res->cancelled = 1;
                break;
            }
            double loss, pen;
            int ok;
            proj += learn_step(&L, L.es.idx + (size_t)bi * B, L.es.task_of + (size_t)bi * B, B,
                               &loss, &pen, &ok);
            loss_sum += loss / B;
            pen_sum += pen;
            right += ok;
            batches++;
        }
        res->steps += batches;
        res->projected += proj;
        if (res->cancelled)
            break;
        res->epochs_run = epoch;
        float train_acc = batches ? (float)right / (float)((long)batches * B) : 0.0f;
        float val = train_acc;
        if (task->nval > 0) {
            int r = bl_eval(m, train, task->val, task->nval, task, cfg->scen, NULL);
            val = r >= 0 ? (float)r / task->nval : 0.0f;
        }
        res->loss = batches ? (float)(loss_sum / batches) : 0.0f;
        res->train_acc = train_acc;
        res->val_acc = val;
        bl_progress p = {
            .task = t, .epoch = epoch, .max_epochs = cfg->epochs,
            .batches_done = batches, .batches_total = per_epoch,
            .loss = res->loss, .penalty = batches ? (float)(pen_sum / batches) : 0.0f,
            .train_acc = train_acc, .val_acc = val,
            .projected = batches ? (float)proj / batches : 0.0f,
        };
        if (cb && cb(&p, ud)) {
            res->cancelled = 1;
            break;
        }
    }
    int rc = 0;
    if (!res->cancelled && consolidate(&L) < 0) {
        err_format(err, errlen, "baselines: out of memory");
        rc = -1;
    }
    learner_free(&L);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------------------------ */

enum { EVAL_TILE = 256 }; /* rows per tile: a fixed split, so results ignore the threads */

typedef struct eval_job {
    const bl_model *m;
    const float *const *w; /* layer weights (the model's or noisy ones) */
    const data_set *d;
    const int *idx;
    int count;
    float *out;
    atomic_int failed;
} eval_job;

static void eval_tiles(void *ud, int begin, int end)
{
    eval_job *j = ud;
    const bl_model *m = j->m;
    int maxs = max_size(m), nl = m->nlayers;
    float *x = malloc(sizeof(float) * EVAL_TILE * maxs);
    float *y = malloc(sizeof(float) * EVAL_TILE * maxs);
    if (!x || !y)
        atomic_store(&j->failed, 1);
    for (int u = begin; u < end && x && y; u++) {
        int k0 = u * EVAL_TILE, rows = j->count - k0 < EVAL_TILE ? j->count - k0 : EVAL_TILE;
        data_gather_float(j->d, j->idx + k0, rows, x);
        float *a = x, *b = y;
        for (int l = 0; l < nl; l++) {
            int in = m->sizes[l], out = m->sizes[l + 1];
            float *z = l == nl - 1 ? j->out + (size_t)k0 * out : b;
            const float *bias = m->theta + m->b_off[l];
            gemm(0, 1, rows, out, in, a, in, j->w[l], in, 0, z, out);
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < out; o++) {
                    float v = z[(size_t)r * out + o] + bias[o];
                    z[(size_t)r * out + o] = l < nl - 1 && v < 0.0f ? 0.0f : v;
                }
            b = a;
            a = z;
        }
    }
    free(x);
    free(y);
}

static int infer_with(const bl_model *m, const float *const *w, const data_set *d,
                      const int *idx, int count, float *out)
{
    eval_job j = {.m = m, .w = w, .d = d, .idx = idx, .count = count, .out = out};
    atomic_init(&j.failed, 0);
    kern_parallel((count + EVAL_TILE - 1) / EVAL_TILE, 1, eval_tiles, &j);
    return atomic_load(&j.failed) ? -1 : 0;
}

static void own_weights(const bl_model *m, const float *w[MPCL_MAX_LAYERS])
{
    for (int l = 0; l < m->nlayers; l++)
        w[l] = m->theta + m->w_off[l];
}

int bl_infer(const bl_model *m, const data_set *d, const int *idx, int count, float *out)
{
    const float *w[MPCL_MAX_LAYERS];
    own_weights(m, w);
    return infer_with(m, w, d, idx, count, out);
}

/* metrics_eval_with's evaluator: a model with the weights w. */
typedef struct model_weights {
    const bl_model *m;
    const float *const *w;
} model_weights;

static int infer_model(void *ctx, const data_set *d, const int *idx, int count, float *out)
{
    const model_weights *mw = ctx;
    return infer_with(mw->m, mw->w, d, idx, count, out);
}

static int eval_with(const bl_model *m, const float *const *w, const data_set *d,
                     const int *idx, int count, const data_task *t, scenario s,
                     long confusion[10][10])
{
    model_weights mw = {.m = m, .w = w};
    return metrics_eval_with(infer_model, &mw, m->sizes[m->nlayers], d, idx, count, t, s,
                             confusion);
}

int bl_eval(const bl_model *m, const data_set *d, const int *idx, int count,
            const data_task *t, scenario s, long confusion[10][10])
{
    const float *w[MPCL_MAX_LAYERS];
    own_weights(m, w);
    return eval_with(m, w, d, idx, count, t, s, confusion);
}

static int check_eval_data(const bl_model *m, const data_set *d, const int *idx, int count,
                           char *err, size_t errlen)
{
    if (!m || !m->theta || !d || count < 0 || (count > 0 && !idx))
        return err_set(err, errlen, "baselines: evaluation needs a model, data and indices");
    if (d->dim != m->sizes[0])
        return err_set(err, errlen, "baselines: data set of %d features for a model of %d inputs",
                       d->dim, m->sizes[0]);
    for (int k = 0; k < count; k++)
        if (idx[k] < 0 || idx[k] >= d->n)
            return err_set(err, errlen, "baselines: example index %d out of range 0-%d", idx[k],
                           d->n - 1);
    return 0;
}

/* Accuracy over tasks 0..upto-1 with weights w. */
static int accuracy_with(const bl_model *m, const float *const *w, const data_set *test,
                         const data_tasks *tasks, int upto, scenario s, double *acc,
                         double *per_task, char *err, size_t errlen)
{
    if (!tasks || !acc || upto < 1 || upto > tasks->ntasks)
        return err_set(err, errlen, "baselines: accuracy needs tasks, upto in 1-%d (got %d) and a "
                                    "place for the result", tasks ? tasks->ntasks : 0, upto);
    long right = 0, total = 0;
    for (int j = 0; j < upto; j++) {
        const data_task *tk = &tasks->task[j];
        if (check_eval_data(m, test, tk->test, tk->ntest, err, errlen))
            return -1;
        int r = eval_with(m, w, test, tk->test, tk->ntest, tk, s, NULL);
        if (r < 0)
            return err_set(err, errlen, "baselines: out of memory");
        if (per_task)
            per_task[j] = tk->ntest ? (double)r / tk->ntest : 0.0;
        right += r;
        total += tk->ntest;
    }
    *acc = total ? (double)right / total : 0.0;
    return 0;
}

int bl_accuracy(const bl_model *m, const data_set *test, const data_tasks *tasks, int upto,
                scenario s, double *acc, double *per_task, char *err, size_t errlen)
{
    if (!m || !m->theta)
        return err_set(err, errlen, "baselines: no model");
    const float *w[MPCL_MAX_LAYERS];
    own_weights(m, w);
    return accuracy_with(m, w, test, tasks, upto, s, acc, per_task, err, errlen);
}

/* ---- noise -------------------------------------------------------------------------------- */

int bl_noise_weights(noise_weights *w, const bl_model *m, char *err, size_t errlen)
{
    if (!m || !m->theta)
        return err_set(err, errlen, "baselines: no model");
    const float *layers[MPCL_MAX_LAYERS];
    own_weights(m, layers);
    return noise_weights_float(w, m->nlayers, m->sizes, layers, err, errlen);
}

static int check_noisy(const bl_model *m, const noise_weights *w, char *err, size_t errlen)
{
    if (!m || !m->theta || !w)
        return err_set(err, errlen, "baselines: no %s", w ? "model" : "weights");
    if (w->nlayers != m->nlayers ||
        memcmp(w->sizes, m->sizes, sizeof(int) * (m->nlayers + 1)))
        return err_set(err, errlen, "baselines: the weights' layer sizes differ from the model's");
    for (int l = 0; l < w->nlayers; l++)
        if (!w->w[l])
            return err_set(err, errlen, "baselines: weights of layer %d not allocated", l + 1);
    return 0;
}

int bl_noise_eval(const bl_model *m, const noise_weights *w, const data_set *d, const int *idx,
                  int count, const data_task *t, scenario s, long confusion[10][10], char *err,
                  size_t errlen)
{
    if (check_noisy(m, w, err, errlen) || check_eval_data(m, d, idx, count, err, errlen))
        return -1;
    if (!t)
        return err_set(err, errlen, "baselines: no task");
    int r = eval_with(m, (const float *const *)w->w, d, idx, count, t, s, confusion);
    if (r < 0)
        err_format(err, errlen, "baselines: out of memory");
    return r;
}

int bl_noise_accuracy(const bl_model *m, const noise_weights *w, const noise_taskset *ts,
                      double *acc, double *per_task, char *err, size_t errlen)
{
    if (check_noisy(m, w, err, errlen))
        return -1;
    if (!ts || !ts->test || !ts->tasks)
        return err_set(err, errlen, "baselines: no task set (test data and tasks)");
    return accuracy_with(m, (const float *const *)w->w, ts->test, ts->tasks, ts->upto,
                         ts->scen, acc, per_task, err, errlen);
}

typedef struct sweep_eval {
    const bl_model *m;
    const noise_taskset *ts;
} sweep_eval;

static int eval_noisy(void *ud, const noise_weights *noisy, double *acc, char *err,
                      size_t errlen)
{
    const sweep_eval *e = ud;
    return bl_noise_accuracy(e->m, noisy, e->ts, acc, NULL, err, errlen);
}

int bl_noise_sweep(const bl_model *m, const noise_taskset *ts, const double *rho, int nrho,
                   int draws, uint64_t seed, const volatile int *cancel, double *acc,
                   double *sd, char *err, size_t errlen)
{
    noise_weights clean;
    if (bl_noise_weights(&clean, m, err, errlen))
        return -1;
    sweep_eval e = {m, ts};
    int rc = noise_sweep(&clean, rho, nrho, draws, seed, eval_noisy, &e, cancel, acc, sd, err,
                         errlen);
    noise_weights_free(&clean);
    return rc;
}

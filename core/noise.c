#include "noise.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "kernels.h"

/* ---- effective weights ----------------------------------------------------------------- */

void noise_weights_free(noise_weights *w)
{
    if (!w)
        return;
    for (int l = 0; l < MPCL_MAX_LAYERS; l++)
        free(w->w[l]);
    memset(w, 0, sizeof *w);
}

static size_t layer_len(const noise_weights *w, int l)
{
    return (size_t)w->sizes[l] * w->sizes[l + 1];
}

static int check_shape(int nlayers, const int *sizes, char *err, size_t errlen)
{
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS || !sizes)
        return err_set(err, errlen, "noise: need 1 to %d layers, got %d", MPCL_MAX_LAYERS, nlayers);
    for (int l = 0; l <= nlayers; l++)
        if (sizes[l] <= 0)
            return err_set(err, errlen,
                           "noise: layer sizes must be positive, got %d at position %d",
                           sizes[l], l);
    return 0;
}

/* Allocate w with the given shape, weights zero, wmax 1. */
static int weights_alloc(noise_weights *w, int nlayers, const int *sizes, char *err,
                         size_t errlen)
{
    memset(w, 0, sizeof *w);
    if (check_shape(nlayers, sizes, err, errlen))
        return -1;
    w->nlayers = nlayers;
    memcpy(w->sizes, sizes, sizeof(int) * (nlayers + 1));
    for (int l = 0; l < nlayers; l++) {
        w->wmax[l] = 1.0f;
        w->w[l] = calloc(layer_len(w, l), sizeof(float));
        if (!w->w[l]) {
            noise_weights_free(w);
            return err_set(err, errlen, "noise: out of memory");
        }
    }
    return 0;
}

static int check_net(const net *n, char *err, size_t errlen)
{
    if (!n)
        return err_set(err, errlen, "noise: no net");
    return check_shape(n->nlayers, n->sizes, err, errlen);
}

int noise_weights_binary(noise_weights *w, const net *n, char *err, size_t errlen)
{
    if (!w)
        return err_set(err, errlen, "noise: no weights to fill");
    if (check_net(n, err, errlen) || weights_alloc(w, n->nlayers, n->sizes, err, errlen))
        return -1;
    /* The packed bits are what inference uses (layer 0's float wb may lag wh). */
    for (int l = 0; l < n->nlayers; l++) {
        const net_layer *L = &n->layer[l];
        for (int o = 0; o < L->out; o++) {
            const uint64_t *row = L->wbits + (size_t)o * L->words_in;
            float *dst = w->w[l] + (size_t)o * L->in;
            for (int i = 0; i < L->in; i++)
                dst[i] = (row[i / 64] >> (i % 64) & 1) ? 1.0f : -1.0f;
        }
    }
    return 0;
}

int noise_weights_float(noise_weights *w, int nlayers, const int *sizes,
                        const float *const *layers, char *err, size_t errlen)
{
    if (!w || !layers)
        return err_set(err, errlen, "noise: no %s", w ? "float layers" : "weights to fill");
    if (weights_alloc(w, nlayers, sizes, err, errlen))
        return -1;
    for (int l = 0; l < nlayers; l++) {
        size_t len = layer_len(w, l);
        float wmax = 0.0f;
        for (size_t i = 0; layers[l] && i < len; i++) {
            if (!isfinite(layers[l][i])) {
                wmax = NAN;
                break;
            }
            wmax = fmaxf(wmax, fabsf(layers[l][i]));
        }
        if (!layers[l] || !(wmax > 0.0f)) {
            noise_weights_free(w);
            return err_set(err, errlen, "noise: float layer %d %s", l + 1,
                           !layers[l]      ? "is missing"
                           : isnan(wmax)   ? "holds a non-finite weight"
                           : "is all zeros (no range to map onto the conductances)");
        }
        memcpy(w->w[l], layers[l], len * sizeof(float));
        w->wmax[l] = wmax;
    }
    return 0;
}

/* dst (same shape as clean) = clean + wmax * rho * (z1 - z2): the two cells' noise. */
static void inject_into(noise_weights *dst, const noise_weights *clean, double rho, rng *r)
{
    for (int l = 0; l < clean->nlayers; l++) {
        size_t len = layer_len(clean, l);
        double sd = (double)clean->wmax[l] * rho;
        dst->wmax[l] = clean->wmax[l];
        for (size_t i = 0; i < len; i++) {
            double z1 = rng_normal(r), z2 = rng_normal(r);
            dst->w[l][i] = clean->w[l][i] + (float)(sd * (z1 - z2));
        }
    }
}

static int check_weights(const noise_weights *w, char *err, size_t errlen)
{
    if (!w)
        return err_set(err, errlen, "noise: no weights");
    if (check_shape(w->nlayers, w->sizes, err, errlen))
        return -1;
    for (int l = 0; l < w->nlayers; l++)
        if (!w->w[l])
            return err_set(err, errlen, "noise: weights of layer %d not allocated", l + 1);
    return 0;
}

static int check_rho(double rho, char *err, size_t errlen)
{
    if (!isfinite(rho) || rho < 0)
        return err_set(err, errlen, "noise: rho must be finite and >= 0, got %g", rho);
    return 0;
}

int noise_inject(noise_weights *dst, const noise_weights *clean, double rho, rng *r,
                 char *err, size_t errlen)
{
    if (!dst || !r)
        return err_set(err, errlen, "noise: no %s", dst ? "generator" : "weights to fill");
    if (check_weights(clean, err, errlen) || check_rho(rho, err, errlen))
        return -1;
    if (weights_alloc(dst, clean->nlayers, clean->sizes, err, errlen))
        return -1;
    inject_into(dst, clean, rho, r);
    return 0;
}

int noise_net_weights(noise_weights *dst, const net *n, double rho, rng *r, char *err,
                      size_t errlen)
{
    noise_weights clean;
    if (check_rho(rho, err, errlen) || noise_weights_binary(&clean, n, err, errlen))
        return -1;
    int rc = noise_inject(dst, &clean, rho, r, err, errlen);
    noise_weights_free(&clean);
    return rc;
}

/* ---- evaluation -------------------------------------------------------------------------- */

enum { NOISE_TILE = 256 }; /* rows per unit of work */

typedef struct fwd_job {
    const noise_weights *w;
    const data_set *d;
    const int *idx;
    int count;
    const float *scale[MPCL_MAX_LAYERS], *shift[MPCL_MAX_LAYERS];
    float *out; /* (count, outputs) logits */
    atomic_int failed;
} fwd_job;

/* Batch norm folded into y = scale * a + shift per unit, exactly as net_infer folds it
 * (the same float operations in the same order): from bank `bank` when stored, else the
 * running statistics; byte inputs (values byte / 255) scale the first layer by 1 / 255.
 * buf holds 2 * (sum of the layer widths) floats. The bank is read through a clone of the
 * net (net_bn_load), the only public way to its contents. */
static int fold_bn(const net *n, int bank, int byte_input, float *buf, fwd_job *job)
{
    net tmp;
    const net *src = n;
    if (net_bn_has(n, bank)) {
        if (net_clone(&tmp, n) < 0)
            return -1;
        net_bn_load(&tmp, bank);
        src = &tmp;
    }
    float *f = buf;
    for (int l = 0; l < n->nlayers; l++) {
        const net_layer *L = &src->layer[l];
        float *scale = f, *shift = f + L->out;
        for (int o = 0; o < L->out; o++) {
            scale[o] = L->gamma[o] / sqrtf(L->var[o] + n->bn_eps);
            shift[o] = L->beta[o] - scale[o] * L->mean[o];
        }
        if (l == 0 && byte_input)
            for (int o = 0; o < L->out; o++)
                scale[o] *= 1.0f / 255.0f;
        job->scale[l] = scale;
        job->shift[l] = shift;
        f += 2 * L->out;
    }
    if (src != n)
        net_free(&tmp);
    return 0;
}

/* Inputs of rows k0 .. k0+rows-1 as floats (rows, dim): 0/1 for binary sets, the byte
 * values 0..255 for float sets (the 1/255 is in the folded scale, as in net_infer, so
 * that the rho = 0 products are the same exact integers). */
static void gather_inputs(const fwd_job *job, int k0, int rows, float *x)
{
    const data_set *d = job->d;
    if (d->binary) {
        data_gather_float(d, job->idx + k0, rows, x);
        return;
    }
    for (int r = 0; r < rows; r++) {
        const uint8_t *src = d->bytes + (size_t)job->idx[k0 + r] * d->dim;
        for (int i = 0; i < d->dim; i++)
            x[(size_t)r * d->dim + i] = (float)src[i];
    }
}

/* One tile of rows k0 .. k0+rows-1: x (rows, max width) and a (the same) are scratch; the
 * logits go to job->out. */
static void forward_tile(const fwd_job *job, int k0, int rows, float *x, float *a)
{
    const noise_weights *w = job->w;
    gather_inputs(job, k0, rows, x);
    for (int l = 0; l < w->nlayers; l++) {
        int in = w->sizes[l], out = w->sizes[l + 1];
        int hidden = l < w->nlayers - 1;
        float *y = hidden ? x : job->out + (size_t)k0 * out;
        /* A (rows, out) = X (rows, in) W^T, W (out, in). */
        gemm_f32(0, 1, rows, out, in, x, in, w->w[l], in, 0, a, out);
        const float *scale = job->scale[l], *shift = job->shift[l];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                size_t k = (size_t)r * out + o;
                float v = scale[o] * a[k] + shift[o];
                y[k] = hidden ? (v >= 0.0f ? 1.0f : -1.0f) : v;
            }
    }
}

static void fwd_range(void *ud, int begin, int end)
{
    fwd_job *job = ud;
    int maxs = 0;
    for (int l = 0; l <= job->w->nlayers; l++)
        maxs = job->w->sizes[l] > maxs ? job->w->sizes[l] : maxs;
    float *x = malloc(sizeof(float) * NOISE_TILE * maxs);
    float *a = malloc(sizeof(float) * NOISE_TILE * maxs);
    if (!x || !a)
        atomic_store(&job->failed, 1);
    for (int tile = begin; tile < end && x && a; tile++) {
        int k0 = tile * NOISE_TILE;
        int rows = job->count - k0 < NOISE_TILE ? job->count - k0 : NOISE_TILE;
        forward_tile(job, k0, rows, x, a);
    }
    free(x);
    free(a);
}

/* Logits of idx[0..count-1] into out with a job whose batch norm is folded. */
static int forward(fwd_job *job, const int *idx, int count, float *out)
{
    job->idx = idx;
    job->count = count;
    job->out = out;
    atomic_store(&job->failed, 0);
    kern_parallel((count + NOISE_TILE - 1) / NOISE_TILE, 1, fwd_range, job);
    return atomic_load(&job->failed) ? -1 : 0;
}

static int check_infer_args(const net *n, const noise_weights *w, const data_set *d,
                            const int *idx, int count, char *err, size_t errlen)
{
    if (check_net(n, err, errlen) || check_weights(w, err, errlen))
        return -1;
    if (w->nlayers != n->nlayers || memcmp(w->sizes, n->sizes, sizeof(int) * (n->nlayers + 1)))
        return err_set(err, errlen, "noise: the weights' layer sizes differ from the net's");
    if (!d || count < 0 || (count > 0 && !idx))
        return err_set(err, errlen, "noise: evaluation needs a data set and %s",
                       count < 0 ? "a count >= 0" : "example indices");
    if (d->dim != n->sizes[0] || (d->binary ? !d->bits : !d->bytes) || !d->labels)
        return err_set(err, errlen,
                       "noise: data set of %d features (or empty) for a net of %d inputs",
                       d->dim, n->sizes[0]);
    for (int k = 0; k < count; k++)
        if (idx[k] < 0 || idx[k] >= d->n)
            return err_set(err, errlen,
                           "noise: example index %d out of range 0-%d", idx[k], d->n - 1);
    return 0;
}

/* A job for n and w on d with the batch norm of `bank` folded into *folded (caller frees). */
static int job_setup(fwd_job *job, const net *n, const noise_weights *w, int bank,
                     const data_set *d, float **folded)
{
    memset(job, 0, sizeof *job);
    job->w = w;
    job->d = d;
    atomic_init(&job->failed, 0);
    int units = 0;
    for (int l = 0; l < n->nlayers; l++)
        units += n->sizes[l + 1];
    *folded = malloc(sizeof(float) * 2 * units);
    if (!*folded || fold_bn(n, bank, !d->binary, *folded, job) < 0) {
        free(*folded);
        *folded = NULL;
        return -1;
    }
    return 0;
}

int noise_infer(const net *n, const noise_weights *w, int bank, const data_set *d,
                const int *idx, int count, float *out, char *err, size_t errlen)
{
    if (check_infer_args(n, w, d, idx, count, err, errlen))
        return -1;
    if (!out)
        return err_set(err, errlen, "noise: no place for the logits");
    if (count == 0)
        return 0;
    fwd_job job;
    float *folded;
    int rc = job_setup(&job, n, w, bank, d, &folded);
    if (rc == 0)
        rc = forward(&job, idx, count, out);
    free(folded);
    if (rc < 0)
        err_format(err, errlen, "noise: out of memory");
    return rc;
}

/* metrics_eval_with's evaluator: the forward pass of a set-up job (its data set). */
static int infer_noisy(void *ctx, const data_set *d, const int *idx, int count, float *out)
{
    (void)d;
    return forward(ctx, idx, count, out);
}

int noise_eval(const net *n, const noise_weights *w, int bank, const data_set *d,
               const int *idx, int count, const data_task *t, scenario s,
               long confusion[10][10], char *err, size_t errlen)
{
    if (check_infer_args(n, w, d, idx, count, err, errlen))
        return -1;
    int nout = n->sizes[n->nlayers];
    if (!t || nout > 16)
        return err_set(err, errlen, t ? "noise: at most 16 outputs, got %d" : "noise: no task",
                       nout);
    fwd_job job;
    float *folded = NULL;
    int right = job_setup(&job, n, w, bank, d, &folded) < 0
                    ? -1
                    : metrics_eval_with(infer_noisy, &job, nout, d, idx, count, t, s, confusion);
    free(folded);
    if (right < 0)
        return err_set(err, errlen, "noise: out of memory");
    return right;
}

static int check_taskset(const noise_taskset *ts, char *err, size_t errlen)
{
    if (!ts || !ts->test || !ts->tasks)
        return err_set(err, errlen, "noise: no task set (test data and tasks)");
    if (ts->upto < 1 || ts->upto > ts->tasks->ntasks)
        return err_set(err, errlen,
                       "noise: upto must be 1-%d, got %d", ts->tasks->ntasks, ts->upto);
    return 0;
}

int noise_accuracy(const net *n, const noise_weights *w, const noise_taskset *ts,
                   double *acc, double *per_task, char *err, size_t errlen)
{
    if (check_taskset(ts, err, errlen))
        return -1;
    if (!acc)
        return err_set(err, errlen, "noise: no place for the accuracy");
    long right = 0, total = 0;
    for (int j = 0; j < ts->upto; j++) {
        const data_task *tk = &ts->tasks->task[j];
        int bank = ts->bn_task && net_bn_has(n, j) ? j : -1;
        int r = noise_eval(n, w, bank, ts->test, tk->test, tk->ntest, tk, ts->scen, NULL, err,
                           errlen);
        if (r < 0)
            return -1;
        if (per_task)
            per_task[j] = tk->ntest ? (double)r / tk->ntest : 0.0;
        right += r;
        total += tk->ntest;
    }
    *acc = total ? (double)right / total : 0.0;
    return 0;
}

/* ---- sweeps ------------------------------------------------------------------------------- */

int noise_rho_grid(double step, double *rho, int cap, char *err, size_t errlen)
{
    if (!isfinite(step) || step < 1e-6 || step > 1)
        return err_set(err, errlen, "noise: rho step must be in [1e-6, 1], got %g", step);
    int n = (int)floor(1.0 / step + 1e-9) + 1; /* 0, step, ..., the last multiple <= 1 */
    int add_one = (n - 1) * step < 1.0 - 1e-9;
    int total = n + add_one;
    if (!rho)
        return total;
    if (cap < total)
        return err_set(err, errlen,
                       "noise: the rho grid of step %g has %d points, room for %d", step,
                       total, cap);
    for (int i = 0; i < n; i++)
        rho[i] = i * step;
    if (!add_one)
        rho[n - 1] = 1.0; /* exactly 100%, not 0.1 * 10 rounded */
    else
        rho[n] = 1.0;
    return total;
}

static int check_sweep(const noise_weights *clean, const double *rho, int nrho, int draws,
                       const double *acc, char *err, size_t errlen)
{
    if (check_weights(clean, err, errlen))
        return -1;
    if (!rho || !acc || nrho < 1 || draws < 1)
        return err_set(err, errlen,
                       "noise: a sweep needs rho values and room for the accuracies, nrho >= 1 "
                       "and draws >= 1 (got nrho %d, draws %d)", nrho, draws);
    for (int i = 0; i < nrho; i++)
        if (check_rho(rho[i], err, errlen))
            return -1;
    return 0;
}

/* Mean and (n - 1) standard deviation of v[0..k-1]. */
static void mean_sd(const double *v, int k, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (int i = 0; i < k; i++)
        s += v[i];
    *mean = s / k;
    for (int i = 0; i < k; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = k > 1 ? sqrt(ss / (k - 1)) : 0.0;
}

int noise_sweep(const noise_weights *clean, const double *rho, int nrho, int draws,
                uint64_t seed, noise_eval_fn eval, void *ud, const volatile int *cancel,
                double *acc, double *sd, char *err, size_t errlen)
{
    if (check_sweep(clean, rho, nrho, draws, acc, err, errlen))
        return -1;
    if (!eval)
        return err_set(err, errlen, "noise: a sweep needs an evaluation function");
    noise_weights noisy;
    double *v = malloc(sizeof(double) * draws);
    if (!v || weights_alloc(&noisy, clean->nlayers, clean->sizes, err, errlen)) {
        if (!v)
            err_format(err, errlen, "noise: out of memory");
        else
            free(v);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < nrho && rc == 0; i++) {
        for (int k = 0; k < draws && rc == 0; k++) {
            if (cancel && *cancel) {
                err_format(err, errlen, "noise: sweep cancelled");
                rc = -1;
                break;
            }
            rng r;
            rng_seed_stream(&r, seed, (uint64_t)k); /* the same pattern at every rho */
            inject_into(&noisy, clean, rho[i], &r);
            rc = eval(ud, &noisy, &v[k], err, errlen);
        }
        if (rc == 0) {
            double m, s;
            mean_sd(v, draws, &m, &s);
            acc[i] = m;
            if (sd)
                sd[i] = s;
        }
    }
    noise_weights_free(&noisy);
    free(v);
    return rc ? -1 : 0;
}

typedef struct net_eval {
    const net *n;
    const noise_taskset *ts;
} net_eval;

static int eval_net(void *ud, const noise_weights *noisy, double *acc, char *err, size_t errlen)
{
    const net_eval *e = ud;
    return noise_accuracy(e->n, noisy, e->ts, acc, NULL, err, errlen);
}

int noise_sweep_net(const net *n, const noise_taskset *ts, const double *rho, int nrho,
                    int draws, uint64_t seed, const volatile int *cancel, double *acc,
                    double *sd, char *err, size_t errlen)
{
    if (check_taskset(ts, err, errlen))
        return -1;
    noise_weights clean;
    if (noise_weights_binary(&clean, n, err, errlen))
        return -1;
    net_eval e = {n, ts};
    int rc = noise_sweep(&clean, rho, nrho, draws, seed, eval_net, &e, cancel, acc, sd, err,
                         errlen);
    noise_weights_free(&clean);
    return rc;
}

int noise_tolerance(const double *rho, const double *acc, int nrho, double level, double *tol,
                    char *err, size_t errlen)
{
    if (!rho || !acc || !tol || nrho < 1)
        return err_set(err, errlen, "noise: tolerance needs rho, accuracies and nrho >= 1 (got %d)",
                       nrho);
    if (!(level > 0 && level < 1))
        return err_set(err, errlen, "noise: tolerance level must be in (0, 1), got %g", level);
    for (int i = 0; i < nrho; i++) {
        if (!isfinite(rho[i]) || !isfinite(acc[i]) || (i > 0 && rho[i] <= rho[i - 1]))
            return err_set(err, errlen, "noise: rho must increase and values be finite (point %d: "
                                        "rho %g, accuracy %g)", i, rho[i], acc[i]);
    }
    for (int i = 0; i < nrho; i++) {
        if (acc[i] > level)
            continue;
        if (i == 0) {
            *tol = rho[0];
        } else {
            /* acc[i-1] > level >= acc[i]: the straight line between the two points. */
            double f = (acc[i - 1] - level) / (acc[i - 1] - acc[i]);
            *tol = rho[i - 1] + f * (rho[i] - rho[i - 1]);
        }
        return 0;
    }
    *tol = rho[nrho - 1];
    return 1;
}

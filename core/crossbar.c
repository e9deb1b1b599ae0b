#include "crossbar.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_simd.h"
#include "kernels.h"

/* Images per noise bank: the unit of work handed to threads. */
enum { NOISE_CHUNK = 16 };
/* The hot loops run over outp columns, a multiple of XBAR_BLOCK, in blocks of fixed width
 * so that they vectorise without remainder loops (even under -O2's cost model). */
#define XBAR_BLOCK 16
/* Helpers of the hot loop: always inlined, so that each instruction-set version of
 * vmm_chunk gets its own vectorised copy. */
#define HOT static inline __attribute__((always_inline))

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

void xbar_default_params(xbar_params *p)
{
    p->v_read = 0.2f;
    p->adc_bits = 14;
    p->adc_vfs = 1.0f;
    p->tia_gain = 0.0f;
    p->headroom = 1.25f;
    p->int_frac_bits = 0;
    p->adc_channels = 2;
}

int xbar_check_params(const xbar_params *p, char *err, size_t errlen)
{
    if (!(p->v_read > 0 && p->v_read <= 5))
        return fail(err, errlen, "crossbar: v_read must be in (0, 5] V, got %g", p->v_read);
    if (p->adc_bits < 2 || p->adc_bits > 24)
        return fail(err, errlen, "crossbar: adc_bits must be 2-24, got %d", p->adc_bits);
    if (!(p->adc_vfs > 0 && isfinite(p->adc_vfs)) || !(p->tia_gain >= 0 && isfinite(p->tia_gain)))
        return fail(err, errlen, "crossbar: adc_vfs must be positive and tia_gain >= 0 "
                                 "(got %g V, %g V/uA)", p->adc_vfs, p->tia_gain);
    if (!(p->headroom >= 1 && p->headroom <= 100))
        return fail(err, errlen, "crossbar: headroom must be in [1, 100], got %g", p->headroom);
    if (p->int_frac_bits < 0 || p->int_frac_bits > 16)
        return fail(err, errlen, "crossbar: int_frac_bits must be 0-16, got %d",
                    p->int_frac_bits);
    if (p->adc_channels < 1 || p->adc_channels > 4096)
        return fail(err, errlen, "crossbar: adc_channels must be 1-4096, got %d",
                    p->adc_channels);
    return 0;
}

/* --- quantiser ------------------------------------------------------------------------ */

int xbar_adc_init(xbar_adc *q, const xbar_params *xp, float g_lrs, float g_hrs, int p,
                  char *err, size_t errlen)
{
    if (xbar_check_params(xp, err, errlen))
        return -1;
    if (p < 1 || p > 4096)
        return fail(err, errlen, "crossbar: parallelism p must be 1-4096, got %d", p);
    if (!(g_lrs > g_hrs && g_hrs > 0))
        return fail(err, errlen, "crossbar: need g_lrs > g_hrs > 0");
    double unit = (double)xp->v_read * (g_lrs - g_hrs);
    double fs = xp->tia_gain > 0 ? xp->adc_vfs / xp->tia_gain : xp->headroom * p * unit;
    double half = ldexp(1.0, xp->adc_bits - 1);
    double lsb = fs / half;
    q->p = p;
    q->bits = xp->adc_bits;
    q->frac_bits = xp->int_frac_bits;
    q->v_read = xp->v_read;
    q->gain = (float)(xp->adc_vfs / fs);
    q->unit_ua = (float)unit;
    q->lsb_ua = (float)lsb;
    q->k_adc = (float)(xp->v_read / lsb);
    q->k_grid = q->k_adc * XBAR_GRID;
    q->k_int = (float)(ldexp(lsb, xp->int_frac_bits) / unit);
    q->code_min = (float)-half;
    q->code_max = (float)(half - 1);
    return 0;
}

int xbar_adc_make(const xbar *x, int p, xbar_adc *q, char *err, size_t errlen)
{
    return xbar_adc_init(q, &x->par, x->pos.p.g_lrs, x->pos.p.g_hrs, p, err, errlen);
}

/* --- layers and snapshots ---------------------------------------------------------------- */

static void layer_free(xbar_layer *L)
{
    free(L->gd);
    free(L->q);
    free(L->colsum);
    free(L->sig);
    free(L->lut);
    memset(L, 0, sizeof *L);
}

static void layers_free(xbar *x)
{
    for (int l = 0; l < XBAR_MAX_LAYERS; l++)
        layer_free(&x->layer[l]);
    x->nlayers = 0;
}

/* Hand the reads made through the crossbar to the arrays. */
static int flush_reads(xbar *x, xbar_layer *L, char *err, size_t errlen)
{
    if (!L->pending_reads)
        return 0;
    const xbar_place *a = &L->at;
    if (dev_add_reads(&x->pos, a->row0, a->col0, a->rows, a->cols, L->pending_reads, err,
                      errlen) ||
        dev_add_reads(&x->neg, a->row0, a->col0, a->rows, a->cols, L->pending_reads, err,
                      errlen))
        return -1;
    L->pending_reads = 0;
    return 0;
}

/* Retake layer L's snapshot from the arrays' effective conductances. */
static int snapshot(xbar *x, xbar_layer *L, char *err, size_t errlen)
{
    if (flush_reads(x, L, err, errlen))
        return -1;
    const xbar_place *a = &L->at;
    size_t n = (size_t)L->in * L->out;
    float *gp = malloc(n * sizeof(float)), *gn = malloc(n * sizeof(float));
    int rc = -1;
    if (!gp || !gn) {
        fail(err, errlen, "crossbar: out of memory");
        goto done;
    }
    if (dev_conductance_block(&x->pos, a->row0, a->col0, L->in, L->out, gp, L->out, err,
                              errlen) ||
        dev_conductance_block(&x->neg, a->row0, a->col0, L->in, L->out, gn, L->out, err, errlen))
        goto done;
    double gsum = 0;
    for (int i = 0; i < L->in; i++)
        for (int j = 0; j < L->out; j++) {
            float p = gp[(size_t)i * L->out + j], m = gn[(size_t)i * L->out + j];
            L->gd[(size_t)i * L->outp + j] =
                (int32_t)(lrintf(p / XBAR_GRID) - lrintf(m / XBAR_GRID));
            L->q[(size_t)i * L->outp + j] = p * p + m * m;
            gsum += (double)p + m;
        }
    L->gsum = gsum;
    L->cache_p = 0;
    free(L->lut);
    L->lut = NULL;
    rc = 0;
done:
    free(gp);
    free(gn);
    return rc;
}

static int layer_init(xbar *x, xbar_layer *L, const xbar_place *at, char *err, size_t errlen)
{
    memset(L, 0, sizeof *L);
    L->at = *at;
    L->in = at->rows;
    L->out = at->cols;
    L->outp = (at->cols + XBAR_BLOCK - 1) / XBAR_BLOCK * XBAR_BLOCK;
    size_t n = (size_t)L->in * L->outp;
    L->gd = calloc(n, sizeof(int32_t));
    L->q = calloc(n, sizeof(float));
    if (!L->gd || !L->q) {
        layer_free(L);
        return fail(err, errlen, "crossbar: out of memory");
    }
    return snapshot(x, L, err, errlen);
}

void xbar_free(xbar *x)
{
    layers_free(x);
    dev_free(&x->pos);
    dev_free(&x->neg);
    memset(x, 0, sizeof *x);
}

int xbar_create(xbar *x, const dev_params *dp, const xbar_params *xp, uint64_t id, char *err,
                size_t errlen)
{
    memset(x, 0, sizeof *x);
    if (xbar_check_params(xp, err, errlen))
        return -1;
    if (dev_create(&x->pos, dp, id, 0, err, errlen))
        return -1;
    if (dev_create(&x->neg, dp, id, 1, err, errlen)) {
        dev_free(&x->pos);
        return -1;
    }
    x->par = *xp;
    return 0;
}

int xbar_set_params(xbar *x, const xbar_params *xp, char *err, size_t errlen)
{
    if (xbar_check_params(xp, err, errlen))
        return -1;
    x->par = *xp;
    return 0;
}

int xbar_set_read_noise(xbar *x, float sigma, char *err, size_t errlen)
{
    if (dev_set_read_noise(&x->pos, sigma, err, errlen) ||
        dev_set_read_noise(&x->neg, sigma, err, errlen))
        return -1;
    return 0;
}

static int overlap(const xbar_place *a, const xbar_place *b)
{
    return a->row0 < b->row0 + b->rows && b->row0 < a->row0 + a->rows &&
           a->col0 < b->col0 + b->cols && b->col0 < a->col0 + a->cols;
}

int xbar_set_placement(xbar *x, int nlayers, const xbar_place *at, char *err, size_t errlen)
{
    int R = x->pos.p.rows, C = x->pos.p.cols;
    if (nlayers < 1 || nlayers > XBAR_MAX_LAYERS)
        return fail(err, errlen, "crossbar: 1 to %d layers, got %d", XBAR_MAX_LAYERS, nlayers);
    for (int l = 0; l < nlayers; l++) {
        const xbar_place *a = &at[l];
        if (a->rows < 1 || a->cols < 1 || a->row0 < 0 || a->col0 < 0 || a->row0 > R - a->rows ||
            a->col0 > C - a->cols)
            return fail(err, errlen, "crossbar: layer %d (%d x %d at %d, %d) leaves the %d x %d "
                                     "array", l + 1, a->rows, a->cols, a->row0, a->col0, R, C);
        for (int k = 0; k < l; k++)
            if (overlap(a, &at[k]))
                return fail(err, errlen, "crossbar: layers %d and %d overlap", k + 1, l + 1);
    }
    layers_free(x);
    for (int l = 0; l < nlayers; l++)
        if (layer_init(x, &x->layer[l], &at[l], err, errlen)) {
            layers_free(x);
            return -1;
        }
    x->nlayers = nlayers;
    return 0;
}

int xbar_place_layers(xbar *x, int nlayers, const int *sizes, char *err, size_t errlen)
{
    int R = x->pos.p.rows, C = x->pos.p.cols;
    if (nlayers < 1 || nlayers > XBAR_MAX_LAYERS)
        return fail(err, errlen, "crossbar: 1 to %d layers, got %d", XBAR_MAX_LAYERS, nlayers);
    xbar_place at[XBAR_MAX_LAYERS];
    int row = 0, col = 0, shelf = 0;
    for (int l = 0; l < nlayers; l++) {
        int in = sizes[l], out = sizes[l + 1];
        if (in < 1 || out < 1)
            return fail(err, errlen, "crossbar: layer %d has %d inputs and %d outputs", l + 1,
                        in, out);
        if (in > R || out > C)
            return fail(err, errlen, "crossbar: layer %d (%d inputs x %d outputs) is larger "
                                     "than the %d x %d array", l + 1, in, out, R, C);
        if (col + out > C) {
            row += shelf;
            col = 0;
            shelf = 0;
        }
        if (row + in > R)
            return fail(err, errlen, "crossbar: the layers do not fit on the %d x %d array: "
                                     "layer %d (%d x %d) would need rows %d-%d", R, C, l + 1,
                        in, out, row, row + in - 1);
        at[l] = (xbar_place){row, col, in, out};
        col += out;
        if (in > shelf)
            shelf = in;
    }
    return xbar_set_placement(x, nlayers, at, err, errlen);
}

static int check_layer(const xbar *x, int l, char *err, size_t errlen)
{
    if (l < 0 || l >= x->nlayers)
        return fail(err, errlen, "crossbar: layer %d out of range (%d placed)", l, x->nlayers);
    return 0;
}

int xbar_placement(const xbar *x, int l, xbar_place *at, char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen))
        return -1;
    *at = x->layer[l].at;
    return 0;
}

static int wbit(const uint64_t *wbits, int words, int j, int i)
{
    return (int)((wbits[(size_t)j * words + i / 64] >> (i % 64)) & 1);
}

int xbar_program_layer(xbar *x, int l, const uint64_t *wbits, int words,
                       const dev_verify_params *v, dev_program_report *rep, uint8_t *failed,
                       char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen))
        return -1;
    xbar_layer *L = &x->layer[l];
    if (!wbits || words < KERN_WORDS(L->in))
        return fail(err, errlen, "crossbar: layer %d needs %d words of signs per output, got %d",
                    l, KERN_WORDS(L->in), words);
    if (flush_reads(x, L, err, errlen))
        return -1;
    size_t n = (size_t)L->in * L->out;
    uint8_t *tp = malloc(n), *tn = malloc(n);
    uint8_t *fp = failed ? malloc(n) : NULL, *fn = failed ? malloc(n) : NULL;
    int rc = -1;
    if (!tp || !tn || (failed && (!fp || !fn))) {
        fail(err, errlen, "crossbar: out of memory");
        goto done;
    }
    for (int i = 0; i < L->in; i++)
        for (int j = 0; j < L->out; j++) {
            int plus = wbit(wbits, words, j, i);
            tp[(size_t)i * L->out + j] = plus ? DEV_LRS : DEV_HRS;
            tn[(size_t)i * L->out + j] = plus ? DEV_HRS : DEV_LRS;
        }
    dev_program_report rp, rn;
    const xbar_place *a = &L->at;
    if (dev_program_block(&x->pos, a->row0, a->col0, L->in, L->out, tp, L->out, v, &rp, fp, err,
                          errlen) ||
        dev_program_block(&x->neg, a->row0, a->col0, L->in, L->out, tn, L->out, v, &rn, fn, err,
                          errlen))
        goto done;
    if (rep)
        *rep = (dev_program_report){rp.cells + rn.cells, rp.pulses + rn.pulses,
                                    rp.failed + rn.failed};
    if (failed)
        for (int i = 0; i < L->in; i++)
            for (int j = 0; j < L->out; j++)
                failed[(size_t)j * L->in + i] =
                    fp[(size_t)i * L->out + j] | fn[(size_t)i * L->out + j];
    L->programmed = 1;
    rc = snapshot(x, L, err, errlen);
done:
    free(tp);
    free(tn);
    free(fp);
    free(fn);
    return rc;
}

int xbar_refresh(xbar *x, char *err, size_t errlen)
{
    for (int l = 0; l < x->nlayers; l++)
        if (snapshot(x, &x->layer[l], err, errlen))
            return -1;
    return 0;
}

double xbar_layer_gsum(const xbar *x, int l)
{
    return l >= 0 && l < x->nlayers ? x->layer[l].gsum : 0.0;
}

int xbar_read_weights(xbar *x, int l, int nreads, float *wpara, char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen))
        return -1;
    if (nreads < 1 || nreads > 1000000)
        return fail(err, errlen, "crossbar: reads per cell must be 1-1000000, got %d", nreads);
    xbar_layer *L = &x->layer[l];
    float sigma = x->pos.p.read_noise;
    L->pending_reads += (uint64_t)nreads;
    if (sigma == 0) {
        for (int j = 0; j < L->out; j++)
            for (int i = 0; i < L->in; i++)
                wpara[(size_t)j * L->in + i] = (float)L->gd[(size_t)i * L->outp + j] * XBAR_GRID;
        return 0;
    }
    /* One normal per read of a pair: sigma * sqrt(G+^2 + G-^2) is the spread of the
     * difference of the two cells' independent read fluctuations. */
    double *sum = calloc((size_t)L->in * L->out, sizeof(double));
    float *nz = malloc(sizeof(float) * (size_t)L->outp);
    if (!sum || !nz) {
        free(sum);
        free(nz);
        return fail(err, errlen, "crossbar: out of memory");
    }
    dev_lanes bank;
    dev_lanes_seed(&bank, dev_noise_key(&x->pos));
    for (int r = 0; r < nreads; r++)
        for (int i = 0; i < L->in; i++) {
            dev_lanes_normal(&bank, nz, L->out);
            for (int j = 0; j < L->out; j++) {
                size_t k = (size_t)i * L->outp + j;
                sum[(size_t)j * L->in + i] +=
                    (float)L->gd[k] * XBAR_GRID + sigma * sqrtf(L->q[k]) * nz[j];
            }
        }
    for (size_t k = 0; k < (size_t)L->in * L->out; k++)
        wpara[k] = (float)(sum[k] / nreads);
    free(sum);
    free(nz);
    return 0;
}

int xbar_mapping_accuracy(xbar *x, int l, const uint64_t *wbits, int words, double *acc,
                          char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen))
        return -1;
    const xbar_layer *L = &x->layer[l];
    if (!wbits || words < KERN_WORDS(L->in))
        return fail(err, errlen, "crossbar: layer %d needs %d words of signs per output, got %d",
                    l, KERN_WORDS(L->in), words);
    float *w = malloc(sizeof(float) * (size_t)L->in * L->out);
    if (!w)
        return fail(err, errlen, "crossbar: out of memory");
    if (xbar_read_weights(x, l, 1, w, err, errlen)) {
        free(w);
        return -1;
    }
    long right = 0;
    for (int j = 0; j < L->out; j++)
        for (int i = 0; i < L->in; i++)
            right += (w[(size_t)j * L->in + i] > 0) == wbit(wbits, words, j, i);
    *acc = (double)right / ((double)L->in * L->out);
    free(w);
    return 0;
}

/* --- VMM ------------------------------------------------------------------------------ */

/* Column sums and fully-driven noise spreads (in ADC codes) of every group of p rows, and
 * whether any group's codes can reach the ADC's limits (if not, the clamp can be skipped:
 * with noise at most 3.26 spreads away, nothing would be clamped). */
static int ensure_cache(xbar_layer *L, int p, float sigma, float k_adc, float code_max,
                        char *err, size_t errlen)
{
    if (L->cache_p == p && L->cache_sigma == sigma && L->cache_k == k_adc &&
        L->cache_max == code_max)
        return 0;
    int G = ceil_div(L->in, p), outp = L->outp;
    int32_t *cs = realloc(L->colsum, sizeof(int32_t) * (size_t)G * outp);
    if (cs)
        L->colsum = cs;
    float *sg = realloc(L->sig, sizeof(float) * (size_t)G * outp);
    if (sg)
        L->sig = sg;
    if (!cs || !sg) {
        L->cache_p = 0;
        return fail(err, errlen, "crossbar: out of memory");
    }
    for (int g = 0; g < G; g++) {
        int32_t *c = cs + (size_t)g * outp;
        float *s = sg + (size_t)g * outp;
        memset(c, 0, sizeof(int32_t) * outp);
        memset(s, 0, sizeof(float) * outp);
        int r1 = (g + 1) * p < L->in ? (g + 1) * p : L->in;
        for (int i = g * p; i < r1; i++)
            for (int j = 0; j < outp; j++) {
                c[j] += L->gd[(size_t)i * outp + j];
                s[j] += L->q[(size_t)i * outp + j];
            }
        for (int j = 0; j < outp; j++)
            s[j] = sigma * k_adc * sqrtf(s[j]);
    }
    double reach = 0; /* the largest |code| any input and noise could give */
    for (int g = 0; g < G; g++) {
        int r1 = (g + 1) * p < L->in ? (g + 1) * p : L->in;
        for (int j = 0; j < L->out; j++) {
            double a = 0;
            for (int i = g * p; i < r1; i++)
                a += fabs((double)L->gd[(size_t)i * outp + j]);
            a = a * XBAR_GRID * k_adc + 3.26 * sg[(size_t)g * outp + j];
            if (a > reach)
                reach = a;
        }
    }
    L->cache_noclamp = reach * (1 + 1e-5) + 1 < code_max;
    L->cache_p = p;
    L->cache_sigma = sigma;
    L->cache_k = k_adc;
    L->cache_max = code_max;
    return 0;
}

/* The 4-row table: lut[(c * 16 + m) * outp + j] = sum over k < 4 of (bit k of m ? +1 : -1)
 * gd[4c + k][j] (rows past `in` count 0). Exact integers, so a group of p rows, p a
 * multiple of 4, sums from p / 4 entries instead of up to p / 2 rows. */
static int ensure_lut(xbar_layer *L, char *err, size_t errlen)
{
    if (L->lut)
        return 0;
    int chunks = ceil_div(L->in, 4), outp = L->outp;
    L->lut = malloc(sizeof(int32_t) * (size_t)chunks * 16 * outp);
    if (!L->lut)
        return fail(err, errlen, "crossbar: out of memory");
    for (int c = 0; c < chunks; c++)
        for (int m = 0; m < 16; m++) {
            int32_t *e = L->lut + ((size_t)c * 16 + m) * outp;
            memset(e, 0, sizeof(int32_t) * outp);
            for (int k = 0; k < 4 && 4 * c + k < L->in; k++) {
                const int32_t *row = L->gd + (size_t)(4 * c + k) * outp;
                int sgn = (m >> k) & 1 ? 1 : -1;
                for (int j = 0; j < outp; j++)
                    e[j] += sgn * row[j];
            }
        }
    return 0;
}

typedef struct vmm_job {
    const xbar_layer *L;
    xbar_adc q;
    int p, G;
    const int8_t *x8;      /* (B, in) or NULL */
    const uint64_t *bits;  /* (B, words) or NULL */
    int words, pm1, B;
    int use_lut;           /* p is a multiple of 4: groups sum through L->lut */
    int simd;              /* the AVX-512 table path may run */
    int32_t *y, *groups;
    float sigma;           /* relative read noise (0: none) */
    uint64_t key;
    atomic_int oom;
} vmm_job;

/* One group of one image: what to sum and how. */
typedef struct group_plan {
    int r0, r1;            /* its rows */
    int gp, gn;            /* rows driven at +V and -V */
    int full;              /* every row driven */
    int table, nc;         /* summed through nc table entries (else through its rows) */
    float scale;           /* noise spread factor: sqrt(driven / rows) (0: no noise) */
} group_plan;

/* Work space of one thread. */
typedef struct vmm_scratch {
    uint64_t *posb, *negb; /* (KERN_WORDS(in)) one image's rows driven at +V and -V */
    group_plan *plan;      /* (G) */
    const int32_t **rp;    /* (G, ceil(p / 4)) each group's table entries */
    int *rows;             /* (p) rows of one group: one polarity, or +V then -V */
    const int32_t **rowp;  /* (p) their rows of gd */
    int32_t *tot;          /* (outp) running sums */
    float *noise;          /* (G, outp) one image's normals */
} vmm_scratch;

/* Set bits of b in rows [r0, r1): their count, and (rows non-NULL) the rows, ascending. */
HOT int range_bits(const uint64_t *b, int r0, int r1, int *rows)
{
    int n = 0;
    for (int w = r0 / 64; w * 64 < r1; w++) {
        uint64_t m = b[w];
        if (r0 > w * 64)
            m &= ~0ULL << (r0 - w * 64);
        if (r1 < w * 64 + 64)
            m &= (1ULL << (r1 - w * 64)) - 1;
        if (!rows)
            n += __builtin_popcountll(m);
        else
            for (; m; m &= m - 1)
                rows[n++] = w * 64 + __builtin_ctzll(m);
    }
    return n;
}

/* Image b's driven rows as bit sets: pos (+V), neg (-V). */
static void image_bits(const vmm_job *job, int b, uint64_t *pos, uint64_t *neg)
{
    int in = job->L->in, words = KERN_WORDS(in);
    memset(pos, 0, sizeof(uint64_t) * words);
    memset(neg, 0, sizeof(uint64_t) * words);
    if (job->x8) {
        const int8_t *x = job->x8 + (size_t)b * in;
        for (int i = 0; i < in; i++) {
            pos[i / 64] |= (uint64_t)(x[i] > 0) << (i % 64);
            neg[i / 64] |= (uint64_t)(x[i] < 0) << (i % 64);
        }
        return;
    }
    const uint64_t *w = job->bits + (size_t)b * job->words;
    for (int k = 0; k < words; k++) {
        int left = in - 64 * k;
        uint64_t mask = left >= 64 ? ~0ULL : (1ULL << left) - 1;
        pos[k] = w[k] & mask;
        neg[k] = job->pm1 ? ~w[k] & mask : 0;
    }
}

/* Plan every group of the image in s->posb, s->negb. The table serves a group whose rows
 * are all driven (+-1) or that has no -V row (0/1): S = the sum of its chunks' entries for
 * its +1 pattern, and for 0/1 inputs, where the table counts undriven rows as -1,
 * S = (that + column sum) / 2. Returns whether every group goes through the table. */
HOT int plan_image(const vmm_job *job, vmm_scratch *s)
{
    const xbar_layer *L = job->L;
    int cmax = ceil_div(job->p, 4), all = job->use_lut;
    for (int g = 0; g < job->G; g++) {
        group_plan *pl = &s->plan[g];
        pl->r0 = g * job->p;
        pl->r1 = pl->r0 + job->p < L->in ? pl->r0 + job->p : L->in;
        pl->gp = range_bits(s->posb, pl->r0, pl->r1, NULL);
        pl->gn = range_bits(s->negb, pl->r0, pl->r1, NULL);
        pl->full = pl->gp + pl->gn == pl->r1 - pl->r0;
        /* Noise spread: the fully driven group's, scaled by the root of the driven
         * fraction (exact when all rows are driven; for 0/1 inputs the group's mean G^2
         * stands in for the driven rows'). */
        pl->scale = !(job->sigma > 0) ? 0.0f
                    : pl->full        ? 1.0f
                                      : sqrtf((float)(pl->gp + pl->gn) / (float)(pl->r1 - pl->r0));
        pl->table = job->use_lut && (pl->full || pl->gn == 0);
        all &= pl->table;
        if (!pl->table)
            continue;
        pl->nc = ceil_div(pl->r1 - pl->r0, 4);
        for (int c = 0; c < pl->nc; c++) {
            int r = pl->r0 + 4 * c, m = (int)((s->posb[r >> 6] >> (r & 63)) & 15);
            s->rp[(size_t)g * cmax + c] = L->lut + ((size_t)(r >> 2) * 16 + m) * L->outp;
        }
    }
    return all;
}

/* One image's normals in the documented order: for each block of 32 columns, for each
 * group, one step of the bank (32 normals; past outp they are dropped). */
static void image_noise(dev_lanes *bank, int G, int outp, float *noise)
{
    float step[4 * DEV_LANES];
    for (int j = 0; j < outp; j += 4 * DEV_LANES)
        for (int g = 0; g < G; g++) {
            dev_lanes_normal(bank, step, 4 * DEV_LANES);
            int n = outp - j < 4 * DEV_LANES ? outp - j : 4 * DEV_LANES;
            memcpy(noise + (size_t)g * outp + j, step, sizeof(float) * n);
        }
}

/* Ints of a block's codes c (noise added) into the running sums, and into gout[0..nout)
 * when gout is non-NULL. */
HOT void int_block(const xbar_adc *q, const float *c, int32_t *restrict tot, int32_t *gout,
                   int nout)
{
    for (int u = 0; u < XBAR_BLOCK; u++) {
        int32_t v = xbar_int_code(q, c[u]);
        tot[u] += v;
        if (gout && u < nout)
            gout[u] = v;
    }
}

/* A group through its rows: S = (sum of the +V rows) - (sum of the -V rows), or for a
 * fully driven group +-(2 * (sum of the smaller polarity) - column sum). nz: the group's
 * outp normals (used when pl->scale > 0). */
HOT void rows_group(const vmm_job *job, vmm_scratch *s, const group_plan *pl, const int32_t *cs,
                    const float *sg, const float *nz, int32_t *tot, int32_t *gout)
{
    const xbar_layer *L = job->L;
    int outp = L->outp, na, nb = 0, sgn = pl->gp <= pl->gn ? 1 : -1;
    if (pl->full)
        na = range_bits(sgn > 0 ? s->posb : s->negb, pl->r0, pl->r1, s->rows);
    else {
        na = range_bits(s->posb, pl->r0, pl->r1, s->rows);
        nb = range_bits(s->negb, pl->r0, pl->r1, s->rows + na);
    }
    for (int k = 0; k < na + nb; k++)
        s->rowp[k] = L->gd + (size_t)s->rows[k] * outp;
    const int32_t *const *rp = s->rowp;
    xbar_adc q = job->q;
    for (int j = 0; j < outp; j += XBAR_BLOCK) {
        int32_t acc[XBAR_BLOCK] = {0};
        for (int k = 0; k < na; k++)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] += rp[k][j + u];
        for (int k = na; k < na + nb; k++)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] -= rp[k][j + u];
        if (pl->full)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] = sgn * (2 * acc[u] - cs[j + u]);
        float c[XBAR_BLOCK];
        for (int u = 0; u < XBAR_BLOCK; u++)
            c[u] = (float)acc[u] * q.k_grid;
        if (pl->scale > 0)
            for (int u = 0; u < XBAR_BLOCK; u++)
                c[u] += sg[j + u] * (pl->scale * nz[j + u]);
        int_block(&q, c, tot + j, gout ? gout + j : NULL, L->out - j);
    }
}

/* A group through the table: S = the sum of its entries rp[0..nc), for 0/1 inputs
 * (!full) (S + cs) / 2; then noise and Ints as rows_group. */
HOT void table_group(const vmm_job *job, const group_plan *pl, const int32_t *const *rp,
                     const int32_t *cs, const float *sg, const float *nz, int32_t *tot,
                     int32_t *gout)
{
    int outp = job->L->outp;
    xbar_adc q = job->q;
    for (int j = 0; j < outp; j += XBAR_BLOCK) {
        int32_t acc[XBAR_BLOCK];
        for (int u = 0; u < XBAR_BLOCK; u++)
            acc[u] = rp[0][j + u];
        for (int c = 1; c < pl->nc; c++)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] += rp[c][j + u];
        if (!pl->full)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] = (acc[u] + cs[j + u]) / 2;
        float c[XBAR_BLOCK];
        for (int u = 0; u < XBAR_BLOCK; u++)
            c[u] = (float)acc[u] * q.k_grid;
        if (pl->scale > 0)
            for (int u = 0; u < XBAR_BLOCK; u++)
                c[u] += sg[j + u] * (pl->scale * nz[j + u]);
        int_block(&q, c, tot + j, gout ? gout + j : NULL, job->L->out - j);
    }
}

#ifdef DEV_SIMD
/* The Ints of one block of 16 columns of group g through the table; n: its normals. The
 * same values as table_group (same operations in the same order, no fused multiply-add).
 * Without clamping (no code can reach the limits) the code is converted to an integer
 * directly: the same integer rint gives. */
DEV_AVX512 static inline __m512i table_block512(const xbar_adc *q, const group_plan *pl,
                                                const int32_t *const *rp, int clamp,
                                                const int32_t *cs, const float *sg, __m512 n,
                                                int j)
{
    __m512i acc = _mm512_loadu_si512(rp[0] + j);
    for (int c = 1; c < pl->nc; c++)
        acc = _mm512_add_epi32(acc, _mm512_loadu_si512(rp[c] + j));
    if (!pl->full) /* the sum is even: the shift divides exactly */
        acc = _mm512_srai_epi32(_mm512_add_epi32(acc, _mm512_loadu_si512(cs + j)), 1);
    __m512 c = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(q->k_grid));
    if (pl->scale > 0)
        c = _mm512_add_ps(c, _mm512_mul_ps(_mm512_loadu_ps(sg + j),
                                           _mm512_mul_ps(_mm512_set1_ps(pl->scale), n)));
    const int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    __m512 code;
    if (clamp) {
        c = _mm512_max_ps(c, _mm512_set1_ps(q->code_min));
        c = _mm512_min_ps(c, _mm512_set1_ps(q->code_max));
        code = _mm512_roundscale_ps(c, rn);
    } else {
        code = _mm512_cvtepi32_ps(_mm512_cvt_roundps_epi32(c, rn));
    }
    return _mm512_cvt_roundps_epi32(_mm512_mul_ps(code, _mm512_set1_ps(q->k_int)), rn);
}

/* A whole image through the table, 32 columns at a time with the running sums in
 * registers across the groups, the noise drawn as it goes in image_noise's order. y: the
 * image's out sums; gout (may be NULL): its (G, out) Ints. */
DEV_AVX512 static void table_image_avx512(const vmm_job *job, const vmm_scratch *s,
                                          dev_lanes *bank, int32_t *y, int32_t *gout)
{
    const xbar_layer *L = job->L;
    int outp = L->outp, out = L->out, G = job->G, cmax = ceil_div(job->p, 4);
    int clamp = !L->cache_noclamp;
    dev_lanes512 v;
    v.s0 = v.s1 = v.s2 = v.s3 = _mm512_setzero_si512();
    if (bank)
        dev_lanes512_load(&v, bank);
    for (int j = 0; j < outp; j += 2 * XBAR_BLOCK) {
        int k = j + XBAR_BLOCK, two = k < outp;
        __mmask16 m0 = out - j >= 16 ? 0xffff : (__mmask16)((1u << (out - j)) - 1);
        __mmask16 m1 = !two ? 0 : out - k >= 16 ? 0xffff : (__mmask16)((1u << (out - k)) - 1);
        __m512i t0 = _mm512_setzero_si512(), t1 = t0;
        __m512 lo = _mm512_setzero_ps(), hi = lo;
        for (int g = 0; g < G; g++) {
            if (bank)
                dev_lanes512_step(&v, &lo, &hi);
            const group_plan *pl = &s->plan[g];
            const int32_t *const *rp = s->rp + (size_t)g * cmax;
            const int32_t *cs = L->colsum + (size_t)g * outp;
            const float *sg = L->sig + (size_t)g * outp;
            __m512i i0 = table_block512(&job->q, pl, rp, clamp, cs, sg, lo, j);
            t0 = _mm512_add_epi32(t0, i0);
            if (gout)
                _mm512_mask_storeu_epi32(gout + (size_t)g * out + j, m0, i0);
            if (two) {
                __m512i i1 = table_block512(&job->q, pl, rp, clamp, cs, sg, hi, k);
                t1 = _mm512_add_epi32(t1, i1);
                if (gout && m1)
                    _mm512_mask_storeu_epi32(gout + (size_t)g * out + k, m1, i1);
            }
        }
        _mm512_mask_storeu_epi32(y + j, m0, t0);
        if (m1)
            _mm512_mask_storeu_epi32(y + k, m1, t1);
    }
    if (bank)
        dev_lanes512_store(&v, bank);
}
#endif

/* Image b of the batch: y[b] and, when asked for, its groups' Ints. */
HOT void vmm_image(const vmm_job *job, vmm_scratch *s, dev_lanes *bank, int b)
{
    const xbar_layer *L = job->L;
    int outp = L->outp, out = L->out, G = job->G, cmax = ceil_div(job->p, 4);
    int32_t *y = job->y + (size_t)b * out;
    int32_t *gout = job->groups ? job->groups + (size_t)b * G * out : NULL;
    dev_lanes *nb = job->sigma > 0 ? bank : NULL;
    image_bits(job, b, s->posb, s->negb);
    int all = plan_image(job, s);
#ifdef DEV_SIMD
    if (job->simd && all) {
        table_image_avx512(job, s, nb, y, gout);
        return;
    }
#endif
    (void)all;
    if (nb)
        image_noise(nb, G, outp, s->noise);
    memset(s->tot, 0, sizeof(int32_t) * outp);
    for (int g = 0; g < G; g++) {
        const group_plan *pl = &s->plan[g];
        const int32_t *cs = L->colsum + (size_t)g * outp;
        const float *sg = L->sig + (size_t)g * outp, *nz = s->noise + (size_t)g * outp;
        int32_t *go = gout ? gout + (size_t)g * out : NULL;
        if (pl->table)
            table_group(job, pl, s->rp + (size_t)g * cmax, cs, sg, nz, s->tot, go);
        else
            rows_group(job, s, pl, cs, sg, nz, s->tot, go);
    }
    memcpy(y, s->tot, sizeof(int32_t) * out);
}

/* Chunk c: images [16 c, 16 c + 16), one noise bank. Compiled for each instruction set. */
MPCL_MULTIVERSION static void vmm_chunk(const vmm_job *job, int c, vmm_scratch *s)
{
    int b0 = c * NOISE_CHUNK, b1 = job->B - b0 < NOISE_CHUNK ? job->B : b0 + NOISE_CHUNK;
    dev_lanes bank;
    if (job->sigma > 0)
        dev_lanes_seed(&bank, job->key + (uint64_t)c * 0x9e3779b97f4a7c15ULL);
    for (int b = b0; b < b1; b++)
        vmm_image(job, s, &bank, b);
}

/* Chunks [begin, end), on one thread. */
static void vmm_range(void *ud, int begin, int end)
{
    vmm_job *job = ud;
    const xbar_layer *L = job->L;
    size_t words = (size_t)KERN_WORDS(L->in), outp = (size_t)L->outp, p = (size_t)job->p;
    size_t G = (size_t)job->G;
    vmm_scratch s;
    s.posb = malloc(sizeof(uint64_t) * words);
    s.negb = malloc(sizeof(uint64_t) * words);
    s.plan = malloc(sizeof(group_plan) * G);
    s.rp = malloc(sizeof(int32_t *) * G * (size_t)ceil_div(job->p, 4));
    s.rows = malloc(sizeof(int) * p);
    s.rowp = malloc(sizeof(int32_t *) * p);
    s.tot = malloc(sizeof(int32_t) * outp);
    s.noise = malloc(sizeof(float) * G * outp);
    if (s.posb && s.negb && s.plan && s.rp && s.rows && s.rowp && s.tot && s.noise)
        for (int c = begin; c < end; c++)
            vmm_chunk(job, c, &s);
    else
        atomic_store(&job->oom, 1);
    free(s.posb);
    free(s.negb);
    free(s.plan);
    free(s.rp);
    free(s.rows);
    free(s.rowp);
    free(s.tot);
    free(s.noise);
}

static int vmm_run(xbar *x, int l, int p, vmm_job *job, char *err, size_t errlen)
{
    xbar_layer *L = &x->layer[l];
    float sigma = x->pos.p.read_noise;
    job->use_lut = p % 4 == 0;
#ifdef DEV_SIMD
    job->simd = dev_simd_ok();
#endif
    if (xbar_adc_make(x, p, &job->q, err, errlen) ||
        ensure_cache(L, p, sigma, job->q.k_adc, job->q.code_max, err, errlen) ||
        (job->use_lut && ensure_lut(L, err, errlen)))
        return -1;
    job->L = L;
    job->p = p;
    job->G = ceil_div(L->in, p);
    job->sigma = sigma;
    job->key = sigma > 0 ? dev_noise_key(&x->pos) : 0;
    atomic_init(&job->oom, 0);
    kern_parallel(ceil_div(job->B, NOISE_CHUNK), 1, vmm_range, job);
    if (atomic_load(&job->oom))
        return fail(err, errlen, "crossbar: out of memory in a VMM");
    int ch = x->par.adc_channels;
    x->ops += (uint64_t)job->B * job->G * ceil_div(L->out, ch);
    x->adds += (uint64_t)job->B * (job->G - 1) * L->out;
    x->conversions += (uint64_t)job->B * job->G * L->out;
    L->pending_reads += (uint64_t)job->B;
    return 0;
}

static int check_vmm(const xbar *x, int l, int p, int B, const int32_t *y, char *err,
                     size_t errlen)
{
    if (check_layer(x, l, err, errlen))
        return -1;
    /* p <= 512 keeps a group's integer sum within int32 (512 x 500 uS on the grid). */
    int pmax = x->pos.p.rows < 512 ? x->pos.p.rows : 512;
    if (p < 1 || p > pmax)
        return fail(err, errlen, "crossbar: parallelism p must be 1-%d, got %d", pmax, p);
    if (B < 0 || !y)
        return fail(err, errlen, "crossbar: bad batch (%d vectors, output %p)", B, (void *)y);
    return 0;
}

int xbar_vmm(xbar *x, int l, int p, const int8_t *in, int B, int32_t *y, int32_t *groups,
             char *err, size_t errlen)
{
    if (check_vmm(x, l, p, B, y, err, errlen))
        return -1;
    int n = x->layer[l].in;
    for (size_t k = 0; k < (size_t)B * n; k++)
        if (in[k] < -1 || in[k] > 1)
            return fail(err, errlen, "crossbar: inputs must be -1, 0 or +1; vector %zu input "
                                     "%zu is %d", k / n, k % n, in[k]);
    if (B == 0)
        return 0;
    vmm_job job = {.x8 = in, .B = B, .y = y, .groups = groups};
    return vmm_run(x, l, p, &job, err, errlen);
}

int xbar_vmm_bits(xbar *x, int l, int p, const uint64_t *bits, int words, int B, int pm1,
                  int32_t *y, int32_t *groups, char *err, size_t errlen)
{
    if (check_vmm(x, l, p, B, y, err, errlen))
        return -1;
    if (words < KERN_WORDS(x->layer[l].in))
        return fail(err, errlen, "crossbar: layer %d takes %d inputs: %d words per vector, got "
                                 "%d", l, x->layer[l].in, KERN_WORDS(x->layer[l].in), words);
    if (B == 0)
        return 0;
    vmm_job job = {.bits = bits, .words = words, .pm1 = pm1 != 0, .B = B, .y = y,
                   .groups = groups};
    return vmm_run(x, l, p, &job, err, errlen);
}

/* --- the software path (WL/WR) ---------------------------------------------------------- */

/* wpara (out, in) on the grid, as integers. */
static int64_t *grid_weights(int in, int out, const float *w, char *err, size_t errlen)
{
    size_t n = (size_t)in * out;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(w[k]) || fabsf(w[k]) > 2 * DEV_G_MAX) {
            fail(err, errlen, "crossbar: Wpara[%zu][%zu] = %g is not a conductance difference "
                              "(|w| <= %g uS)", k / in, k % in, w[k], 2 * DEV_G_MAX);
            return NULL;
        }
    int64_t *wq = malloc(sizeof(int64_t) * n);
    if (!wq) {
        fail(err, errlen, "crossbar: out of memory");
        return NULL;
    }
    for (size_t k = 0; k < n; k++)
        wq[k] = llrintf(w[k] / XBAR_GRID);
    return wq;
}

static int check_soft(int in, int out, int p, const int8_t *x, int B, char *err, size_t errlen)
{
    if (in < 1 || out < 1 || in > 65536 || out > 65536)
        return fail(err, errlen, "crossbar: bad layer shape %d x %d", out, in);
    if (p < 1 || p > 4096)
        return fail(err, errlen, "crossbar: parallelism p must be 1-4096, got %d", p);
    if (B < 0)
        return fail(err, errlen, "crossbar: bad batch of %d vectors", B);
    for (size_t k = 0; k < (size_t)B * in; k++)
        if (x[k] < -1 || x[k] > 1)
            return fail(err, errlen, "crossbar: inputs must be -1, 0 or +1; vector %zu input "
                                     "%zu is %d", k / in, k % in, x[k]);
    return 0;
}

/* S of image b, group g, output j: sum over the group's rows of x_i * wq[j][i]. */
static int64_t wl_sum(const int64_t *wq, int in, int p, const int8_t *xb, int g, int j)
{
    int r1 = (g + 1) * p < in ? (g + 1) * p : in;
    int64_t S = 0;
    for (int i = g * p; i < r1; i++)
        S += xb[i] * wq[(size_t)j * in + i];
    return S;
}

int xbar_wl(int in, int out, const float *wpara, int p, const int8_t *x, int B, float *s,
            char *err, size_t errlen)
{
    if (check_soft(in, out, p, x, B, err, errlen))
        return -1;
    int64_t *wq = grid_weights(in, out, wpara, err, errlen);
    if (!wq)
        return -1;
    int G = ceil_div(in, p);
    for (int b = 0; b < B; b++)
        for (int g = 0; g < G; g++)
            for (int j = 0; j < out; j++)
                s[((size_t)b * G + g) * out + j] =
                    (float)wl_sum(wq, in, p, x + (size_t)b * in, g, j) * XBAR_GRID;
    free(wq);
    return 0;
}

int xbar_wlwr(const xbar_adc *q, int in, int out, const float *wpara, const int8_t *x, int B,
              int32_t *y, int32_t *groups, char *err, size_t errlen)
{
    if (check_soft(in, out, q->p, x, B, err, errlen))
        return -1;
    int64_t *wq = grid_weights(in, out, wpara, err, errlen);
    if (!wq)
        return -1;
    int p = q->p, G = ceil_div(in, p);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < out; j++) {
            int32_t sum = 0;
            for (int g = 0; g < G; g++) {
                int64_t S = wl_sum(wq, in, p, x + (size_t)b * in, g, j);
                int32_t c = xbar_int_code(q, (float)S * q->k_grid);
                sum += c;
                if (groups)
                    groups[((size_t)b * G + g) * out + j] = c;
            }
            y[(size_t)b * out + j] = sum;
        }
    free(wq);
    return 0;
}

/* --- counts --------------------------------------------------------------------------- */

int xbar_count_ops(int nlayers, const int *sizes, int p, int adc_channels, xbar_ops *out,
                   char *err, size_t errlen)
{
    if (nlayers < 1 || nlayers > 64)
        return fail(err, errlen, "crossbar: 1 to 64 layers, got %d", nlayers);
    if (p < 1 || adc_channels < 1)
        return fail(err, errlen, "crossbar: parallelism and ADC channels must be >= 1, got "
                                 "%d and %d", p, adc_channels);
    xbar_ops o = {0, 0, 0};
    for (int l = 0; l < nlayers; l++) {
        int in = sizes[l], nout = sizes[l + 1];
        if (in < 1 || nout < 1)
            return fail(err, errlen, "crossbar: layer %d has %d inputs and %d outputs", l + 1,
                        in, nout);
        long G = ceil_div(in, p);
        o.array_ops += G * ceil_div(nout, adc_channels);
        o.adds += (G - 1) * nout;
        o.conversions += G * nout;
    }
    *out = o;
    return 0;
}

void xbar_counters(const xbar *x, xbar_ops *out)
{
    out->array_ops = (long)x->ops;
    out->adds = (long)x->adds;
    out->conversions = (long)x->conversions;
}

void xbar_reset_counters(xbar *x) { x->ops = x->adds = x->conversions = 0; }

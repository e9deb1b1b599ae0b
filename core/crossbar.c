#include "crossbar.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_simd.h"
#include "error.h"
#include "irdrop.h"
#include "isa.h"
#include "kernels.h"

/* The hot loops run over outp columns, a multiple of XBAR_BLOCK, in blocks of fixed width
 * so that they vectorise without remainder loops (even under -O2's cost model). */
#define XBAR_BLOCK 16
/* Helpers of the hot loop: always inlined, so that each instruction-set version of
 * vmm_chunk gets its own vectorised copy. */
#define HOT static inline __attribute__((always_inline))

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
    p->adc_offset = p->adc_inl = p->adc_dnl = 0.0f;
    p->adc_seed = 0;
    p->row_wire_ohm = p->col_wire_ohm = p->access_ohm = p->driver_ohm = 0.0f;
    p->line_exact = 0;
}

/* A resistance of the line model: finite, 0 .. 1 MOhm. */
static int check_ohm(const char *name, float v, char *err, size_t errlen)
{
    if (!(v >= 0 && v <= 1e6f))
        return err_set(err, errlen, "crossbar: %s must be 0 to 1e6 ohm, got %g", name, v);
    return 0;
}

static int check_front_end(const xbar_params *p, char *err, size_t errlen)
{
    float half = ldexpf(1.0f, p->adc_bits - 1);
    if (!(fabsf(p->adc_offset) <= half))
        return err_set(err, errlen, "crossbar: adc_offset must be within +-%g LSB, got %g", half,
                       p->adc_offset);
    if (!(p->adc_inl >= 0 && p->adc_inl <= 64))
        return err_set(err, errlen, "crossbar: adc_inl must be 0 to 64 LSB, got %g", p->adc_inl);
    if (!(p->adc_dnl >= 0 && p->adc_dnl <= 1))
        return err_set(err, errlen, "crossbar: adc_dnl must be 0 to 1 LSB, got %g", p->adc_dnl);
    if (check_ohm("row_wire_ohm", p->row_wire_ohm, err, errlen) ||
        check_ohm("col_wire_ohm", p->col_wire_ohm, err, errlen) ||
        check_ohm("access_ohm", p->access_ohm, err, errlen) ||
        check_ohm("driver_ohm", p->driver_ohm, err, errlen))
        return -1;
    if ((p->row_wire_ohm > 0 || p->col_wire_ohm > 0) &&
        !(p->row_wire_ohm >= IRDROP_MIN_WIRE_OHM && p->col_wire_ohm >= IRDROP_MIN_WIRE_OHM))
        return err_set(err, errlen,
                       "crossbar: row_wire_ohm and col_wire_ohm must be both 0 or both "
                       "at least %g ohm, got %g and %g", IRDROP_MIN_WIRE_OHM,
                       p->row_wire_ohm, p->col_wire_ohm);
    if (p->line_exact != 0 && p->line_exact != 1)
        return err_set(err, errlen, "crossbar: line_exact must be 0 or 1, got %d", p->line_exact);
    return 0;
}

int xbar_check_params(const xbar_params *p, char *err, size_t errlen)
{
    if (!(p->v_read > 0 && p->v_read <= 5))
        return err_set(err, errlen, "crossbar: v_read must be in (0, 5] V, got %g", p->v_read);
    if (p->adc_bits < 4 || p->adc_bits > 16)
        return err_set(err, errlen, "crossbar: adc_bits must be 4-16, got %d", p->adc_bits);
    if (!(p->adc_vfs > 0 && p->adc_vfs <= 100))
        return err_set(err, errlen, "crossbar: adc_vfs must be in (0, 100] V, got %g", p->adc_vfs);
    if (!(p->tia_gain >= 0 && p->tia_gain <= 1e6f))
        return err_set(err, errlen, "crossbar: tia_gain must be positive (V/uA, 0 for the auto "
                                    "gain), got %g", p->tia_gain);
    if (!(p->headroom >= 1 && p->headroom <= 100))
        return err_set(err, errlen, "crossbar: headroom must be in [1, 100], got %g", p->headroom);
    if (p->int_frac_bits < 0 || p->int_frac_bits > 16)
        return err_set(err, errlen, "crossbar: int_frac_bits must be 0-16, got %d",
                       p->int_frac_bits);
    if (p->adc_channels < 1 || p->adc_channels > 4096)
        return err_set(err, errlen, "crossbar: adc_channels must be 1-4096, got %d",
                       p->adc_channels);
    return check_front_end(p, err, errlen);
}

/* --- quantiser ------------------------------------------------------------------------ */

int xbar_adc_init(xbar_adc *q, const xbar_params *xp, float g_lrs, float g_hrs, int p,
                  char *err, size_t errlen)
{
    if (xbar_check_params(xp, err, errlen))
        return -1;
    if (p < 1 || p > 4096)
        return err_set(err, errlen, "crossbar: parallelism p must be 1-4096, got %d", p);
    if (!(g_lrs > g_hrs && g_hrs > 0))
        return err_set(err, errlen, "crossbar: need g_lrs > g_hrs > 0");
    /* One weight's current, with the access transistor in series with each cell: the
     * board normalises by what a weight really draws. Without it, exactly v (G_L - G_H). */
    double r_on = (double)xp->access_ohm * 1e-6; /* MOhm: 1 / uS */
    double y_lrs = g_lrs / (1 + g_lrs * r_on), y_hrs = g_hrs / (1 + g_hrs * r_on);
    double unit = (double)xp->v_read * (y_lrs - y_hrs);
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
    q->offset = xp->adc_offset;
    q->inl = xp->adc_inl;
    q->dnl = xp->adc_dnl;
    q->seed = xp->adc_seed;
    q->nonlin = xp->adc_inl > 0 || xp->adc_dnl > 0;
    return 0;
}

/* The shift e(k) of transition k (between codes k - 1 and k), in LSB: a bow of peak inl
 * that vanishes at both ends of the range (INL after the end-point fit), plus a per-code
 * term uniform in +-dnl / 2 drawn from the seed, so that code widths 1 + e(k + 1) - e(k)
 * differ from 1 LSB by at most about dnl. */
static double adc_shift(const xbar_adc *q, double k)
{
    double half = -(double)q->code_min, u = k / half;
    uint64_t z = q->seed ^ ((uint64_t)(int64_t)k * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    double h = (double)(z >> 11) * 0x1p-53 * 2 - 1; /* [-1, 1) */
    return q->inl * (1 - u * u) + 0.5 * q->dnl * h;
}

float xbar_adc_transfer(const xbar_adc *q, float c)
{
    /* the code k whose interval [k - 1/2 + e(k), k + 1/2 + e(k + 1)) holds c */
    double k = rint((double)c - adc_shift(q, rint(c)));
    double lo = q->code_min, hi = q->code_max;
    k = k < lo ? lo : k > hi ? hi : k;
    for (int step = 0; step < 64 && k > lo && c < k - 0.5 + adc_shift(q, k); step++)
        k -= 1;
    for (int step = 0; step < 64 && k < hi && c >= k + 0.5 + adc_shift(q, k + 1); step++)
        k += 1;
    return (float)k;
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
    free(L->gcell);
    free(L->gpos);
    free(L->gneg);
    free(L->tpos);
    free(L->tneg);
    free(L->colsum);
    free(L->sig);
    free(L->lut);
    free(L->fpm);
    free(L->f01);
    memset(L, 0, sizeof *L);
}

static void layers_free(xbar *x)
{
    for (int l = 0; l < MPCL_MAX_LAYERS; l++)
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

int xbar_has_lines(const xbar *x)
{
    return x->par.row_wire_ohm > 0 || x->par.col_wire_ohm > 0 || x->par.access_ohm > 0 ||
           x->par.driver_ohm > 0;
}

/* The cells' own weights: gcell with line resistance, else gd. */
static const int32_t *cell_weights(const xbar_layer *L) { return L->gcell ? L->gcell : L->gd; }

static void drop_tables(xbar_layer *L)
{
    L->cache_p = 0;
    free(L->lut);
    free(L->fpm);
    free(L->f01);
    L->lut = NULL;
    L->fpm = L->f01 = NULL;
}

/* With line resistance: keep the cells' conductances (gp, gn: (in, out)) and their grid
 * differences for the solver and for cell reads; gd waits for ensure_lines. */
static int keep_cells(xbar *x, xbar_layer *L, const float *gp, const float *gn, char *err,
                      size_t errlen)
{
    size_t n = (size_t)L->in * L->out, np = (size_t)L->in * L->outp;
    if (!xbar_has_lines(x)) {
        free(L->gcell);
        free(L->gpos);
        free(L->gneg);
        free(L->tpos);
        free(L->tneg);
        L->gcell = NULL;
        L->gpos = L->gneg = L->tpos = L->tneg = NULL;
        return 0;
    }
    if (!L->gcell) {
        L->gcell = calloc(np, sizeof(int32_t));
        L->gpos = malloc(n * sizeof(float));
        L->gneg = malloc(n * sizeof(float));
        L->tpos = malloc(n * sizeof(float));
        L->tneg = malloc(n * sizeof(float));
        if (!L->gcell || !L->gpos || !L->gneg || !L->tpos || !L->tneg)
            return err_set(err, errlen, "crossbar: out of memory");
    }
    memcpy(L->gcell, L->gd, np * sizeof(int32_t));
    memcpy(L->gpos, gp, n * sizeof(float));
    memcpy(L->gneg, gn, n * sizeof(float));
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
        err_format(err, errlen, "crossbar: out of memory");
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
    L->line_p = 0;
    drop_tables(L);
    rc = keep_cells(x, L, gp, gn, err, errlen);
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
        return err_set(err, errlen, "crossbar: out of memory");
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
    int lines_changed = xp->row_wire_ohm != x->par.row_wire_ohm ||
                        xp->col_wire_ohm != x->par.col_wire_ohm ||
                        xp->access_ohm != x->par.access_ohm ||
                        xp->driver_ohm != x->par.driver_ohm || xp->line_exact != x->par.line_exact;
    x->par = *xp;
    return lines_changed ? xbar_refresh(x, err, errlen) : 0;
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
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS)
        return err_set(err, errlen, "crossbar: 1 to %d layers, got %d", MPCL_MAX_LAYERS, nlayers);
    for (int l = 0; l < nlayers; l++) {
        const xbar_place *a = &at[l];
        if (a->rows < 1 || a->cols < 1 || a->row0 < 0 || a->col0 < 0 || a->row0 > R - a->rows ||
            a->col0 > C - a->cols)
            return err_set(err, errlen, "crossbar: layer %d (%d x %d at %d, %d) leaves the %d x %d "
                                        "array", l + 1, a->rows, a->cols, a->row0, a->col0, R, C);
        for (int k = 0; k < l; k++)
            if (overlap(a, &at[k]))
                return err_set(err, errlen, "crossbar: layers %d and %d overlap", k + 1, l + 1);
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
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS)
        return err_set(err, errlen, "crossbar: 1 to %d layers, got %d", MPCL_MAX_LAYERS, nlayers);
    xbar_place at[MPCL_MAX_LAYERS];
    int row = 0, col = 0, shelf = 0;
    for (int l = 0; l < nlayers; l++) {
        int in = sizes[l], out = sizes[l + 1];
        if (in < 1 || out < 1)
            return err_set(err, errlen, "crossbar: layer %d has %d inputs and %d outputs", l + 1,
                           in, out);
        if (in > R || out > C)
            return err_set(err, errlen, "crossbar: layer %d (%d inputs x %d outputs) is larger "
                                        "than the %d x %d array", l + 1, in, out, R, C);
        if (col + out > C) {
            row += shelf;
            col = 0;
            shelf = 0;
        }
        if (row + in > R)
            return err_set(err, errlen, "crossbar: the layers do not fit on the %d x %d array: "
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
        return err_set(err, errlen, "crossbar: layer %d out of range (%d placed)", l, x->nlayers);
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
        return err_set(err, errlen, "crossbar: layer %d needs %d words of signs per output, got %d",
                       l, KERN_WORDS(L->in), words);
    if (flush_reads(x, L, err, errlen))
        return -1;
    size_t n = (size_t)L->in * L->out;
    uint8_t *tp = malloc(n), *tn = malloc(n);
    uint8_t *fp = failed ? malloc(n) : NULL, *fn = failed ? malloc(n) : NULL;
    int rc = -1;
    if (!tp || !tn || (failed && (!fp || !fn))) {
        err_format(err, errlen, "crossbar: out of memory");
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

/* Array a's effective conductances of layer L at parallelism p into t (in, out): each
 * group of p rows solved as a resistive network (irdrop.h). */
static int solve_lines(const xbar *x, const xbar_layer *L, int p, const float *g, float *t,
                       char *err, size_t errlen)
{
    irdrop_params ip = {x->par.row_wire_ohm, x->par.col_wire_ohm, x->par.access_ohm,
                        x->par.driver_ohm};
    char e[200];
    double *td = NULL;
    if (x->par.line_exact && !(td = malloc(sizeof(double) * (size_t)p * L->out)))
        return err_set(err, errlen, "crossbar: out of memory");
    int rc = 0;
    for (int r0 = 0; rc == 0 && r0 < L->in; r0 += p) {
        int n = L->in - r0 < p ? L->in - r0 : p;
        irdrop_group gr = {x->pos.p.rows, L->at.row0 + r0, n, L->at.col0, L->out};
        const float *gg = g + (size_t)r0 * L->out;
        float *tt = t + (size_t)r0 * L->out;
        if (td) {
            rc = irdrop_exact(&ip, &gr, gg, L->out, td, L->out, e, sizeof e);
            for (size_t k = 0; rc == 0 && k < (size_t)n * L->out; k++)
                tt[k] = (float)td[k];
        } else
            rc = irdrop_fast(&ip, &gr, gg, L->out, tt, L->out, NULL, e, sizeof e);
    }
    free(td);
    return rc ? err_set(err, errlen, "crossbar: line resistance: %s", e) : 0;
}

/* gd, tpos and tneg at parallelism p (line resistance only): the weights VMMs and reads
 * through groups of p see. The tables made from another p's gd go. */
static int ensure_lines(xbar *x, xbar_layer *L, int p, char *err, size_t errlen)
{
    if (!L->gcell || L->line_p == p)
        return 0;
    if (solve_lines(x, L, p, L->gpos, L->tpos, err, errlen) ||
        solve_lines(x, L, p, L->gneg, L->tneg, err, errlen))
        return -1;
    for (int i = 0; i < L->in; i++)
        for (int j = 0; j < L->out; j++) {
            size_t k = (size_t)i * L->out + j;
            L->gd[(size_t)i * L->outp + j] =
                (int32_t)(lrintf(L->tpos[k] / XBAR_GRID) - lrintf(L->tneg[k] / XBAR_GRID));
        }
    drop_tables(L);
    L->line_p = p;
    return 0;
}

static int check_p(const xbar *x, int p, char *err, size_t errlen)
{
    /* p <= 512 keeps a group's integer sum within int32 (512 x 500 uS on the grid). */
    int pmax = x->pos.p.rows < 512 ? x->pos.p.rows : 512;
    if (p < 1 || p > pmax)
        return err_set(err, errlen, "crossbar: parallelism p must be 1-%d, got %d", pmax, p);
    return 0;
}

int xbar_effective(xbar *x, int l, int p, int array, float *t, char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen) || check_p(x, p, err, errlen))
        return -1;
    if (array != 0 && array != 1)
        return err_set(err, errlen, "crossbar: array must be 0 or 1, got %d", array);
    xbar_layer *L = &x->layer[l];
    if (L->gcell) {
        if (ensure_lines(x, L, p, err, errlen))
            return -1;
        memcpy(t, array ? L->tneg : L->tpos, sizeof(float) * (size_t)L->in * L->out);
        return 0;
    }
    return dev_conductance_block(array ? &x->neg : &x->pos, L->at.row0, L->at.col0, L->in,
                                 L->out, t, L->out, err, errlen);
}

/* Reads of w (in, outp, on the grid) into wpara (out, in), nreads averaged, with the read
 * noise of each pair. */
static int read_pairs(xbar *x, xbar_layer *L, const int32_t *w, int nreads, float *wpara,
                      char *err, size_t errlen)
{
    float sigma = x->pos.p.read_noise;
    L->pending_reads += (uint64_t)nreads;
    if (sigma == 0) {
        for (int j = 0; j < L->out; j++)
            for (int i = 0; i < L->in; i++)
                wpara[(size_t)j * L->in + i] = (float)w[(size_t)i * L->outp + j] * XBAR_GRID;
        return 0;
    }
    /* One normal per read of a pair: sigma * sqrt(G+^2 + G-^2) is the spread of the
     * difference of the two cells' independent read fluctuations. */
    double *sum = calloc((size_t)L->in * L->out, sizeof(double));
    float *nz = malloc(sizeof(float) * (size_t)L->outp);
    if (!sum || !nz) {
        free(sum);
        free(nz);
        return err_set(err, errlen, "crossbar: out of memory");
    }
    dev_lanes bank;
    dev_lanes_seed(&bank, dev_noise_key(&x->pos));
    for (int r = 0; r < nreads; r++)
        for (int i = 0; i < L->in; i++) {
            dev_lanes_normal(&bank, nz, L->out);
            for (int j = 0; j < L->out; j++) {
                size_t k = (size_t)i * L->outp + j;
                sum[(size_t)j * L->in + i] +=
                    (float)w[k] * XBAR_GRID + sigma * sqrtf(L->q[k]) * nz[j];
            }
        }
    for (size_t k = 0; k < (size_t)L->in * L->out; k++)
        wpara[k] = (float)(sum[k] / nreads);
    free(sum);
    free(nz);
    return 0;
}

static int check_nreads(int nreads, char *err, size_t errlen)
{
    if (nreads < 1 || nreads > 1000000)
        return err_set(err, errlen, "crossbar: reads per cell must be 1-1000000, got %d", nreads);
    return 0;
}

int xbar_read_weights_p(xbar *x, int l, int p, int nreads, float *wpara, char *err,
                        size_t errlen)
{
    if (check_layer(x, l, err, errlen) || check_p(x, p, err, errlen) ||
        check_nreads(nreads, err, errlen))
        return -1;
    xbar_layer *L = &x->layer[l];
    if (ensure_lines(x, L, p, err, errlen))
        return -1;
    return read_pairs(x, L, L->gd, nreads, wpara, err, errlen);
}

int xbar_read_weights(xbar *x, int l, int nreads, float *wpara, char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen) || check_nreads(nreads, err, errlen))
        return -1;
    xbar_layer *L = &x->layer[l];
    return read_pairs(x, L, cell_weights(L), nreads, wpara, err, errlen);
}

int xbar_mapping_accuracy(xbar *x, int l, const uint64_t *wbits, int words, double *acc,
                          char *err, size_t errlen)
{
    if (check_layer(x, l, err, errlen))
        return -1;
    const xbar_layer *L = &x->layer[l];
    if (!wbits || words < KERN_WORDS(L->in))
        return err_set(err, errlen, "crossbar: layer %d needs %d words of signs per output, got %d",
                       l, KERN_WORDS(L->in), words);
    float *w = malloc(sizeof(float) * (size_t)L->in * L->out);
    if (!w)
        return err_set(err, errlen, "crossbar: out of memory");
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

/* Two paths compute the same Ints (crossbar.h's arithmetic and noise sequence):
 *
 * The portable path (image_plain), image by image and group by group: a group's partial
 * sums S from the integer table lut or from its rows, then group_ints: codes, read noise
 * (ars_block, AES-NI where the CPU has it), Ints. It is the definition; it serves every
 * case, and under MPCL_PORTABLE all of them.
 *
 * The AVX-512 path (batch_avx512), when every group of an image goes through the table,
 * the sums are exact in float, no code can reach the ADC's limits and codes and Ints stay
 * within 2^22 (vmm_run's job->simd). A work unit of 128 images is planned first (each
 * group's table offsets, noise scale and kind), then taken 64 columns at a time, group by
 * group, image by image, so that a group's table entries for a column block (16 KiB at
 * p = 16) are read from L1 by all the images. The sums come from float copies of the
 * table: fpm for +-1 groups (the sum is S), f01 for 0/1 groups (2 S, so no column sum is
 * added); ARS-5 gives 64 columns' noise with four VAES rounds on a 512-bit register and
 * VBMI byte permutes look the bytes up in NQ; rounding to codes and Ints adds and
 * subtracts 1.5 * 2^23, which also leaves the Int in the low bits of the float, so the
 * groups' Ints add up as integers. Each step rounds as the portable path does; the unit
 * tests pin both paths' noisy outputs to the same checksums. */

/* Images per unit of work handed to threads (at most 256: blist holds bytes). */
enum { IMAGE_CHUNK = 128 };
/* Row stride of the float table and of the batch's sums: a line more than outp, so that
 * the rows a group and a column block use do not crowd into a few L1 sets. */
#define FSTRIDE(outp) ((outp) + 16)
/* Table entries per group on the AVX-512 path: p <= 512. */
#define XBAR_MAX_NC 128

/* The read-noise normal (see the header comment): byte v of a noise word stands for
 * NQ[v] / NQ_SCALE. NQ holds the 256 quantiles round(44 Phi^-1((v + 0.5) / 256)) of the
 * standard normal (antisymmetric, |NQ| <= NQ_MAX); NQ_SCALE is the root of their mean
 * square, so the normal has mean 0 and variance 1 and is bounded at 127 / NQ_SCALE = 2.89. */
static const int8_t NQ[256] = {
    -127, -111, -103, -97, -93, -89, -86, -83, -81, -79, -77, -75, -73, -71, -70, -68,
    -67, -65, -64, -63, -62, -61, -60, -59, -57, -56, -56, -55, -54, -53, -52, -51,
    -50, -49, -49, -48, -47, -46, -46, -45, -44, -43, -43, -42, -41, -41, -40, -39,
    -39, -38, -37, -37, -36, -36, -35, -34, -34, -33, -33, -32, -32, -31, -30, -30,
    -29, -29, -28, -28, -27, -27, -26, -26, -25, -25, -24, -24, -23, -23, -22, -22,
    -21, -21, -20, -20, -19, -19, -18, -18, -17, -17, -17, -16, -16, -15, -15, -14,
    -14, -13, -13, -12, -12, -12, -11, -11, -10, -10, -9, -9, -8, -8, -8, -7,
    -7, -6, -6, -5, -5, -5, -4, -4, -3, -3, -2, -2, -2, -1, -1, 0,
    0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7,
    7, 8, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 12, 13, 13, 14,
    14, 15, 15, 16, 16, 17, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21,
    22, 22, 23, 23, 24, 24, 25, 25, 26, 26, 27, 27, 28, 28, 29, 29,
    30, 30, 31, 32, 32, 33, 33, 34, 34, 35, 36, 36, 37, 37, 38, 39,
    39, 40, 41, 41, 42, 43, 43, 44, 45, 46, 46, 47, 48, 49, 49, 50,
    51, 52, 53, 54, 55, 56, 56, 57, 59, 60, 61, 62, 63, 64, 65, 67,
    68, 70, 71, 73, 75, 77, 79, 81, 83, 86, 89, 93, 97, 103, 111, 127,
};
#define NQ_SCALE 43.92660782487079
#define NQ_MAX 127
/* The noise generator: ARS-5 (Salmon et al. 2011, Random123), AES rounds on a counter.
 * The 128-bit block of counter n is (n, 0) (two little-endian 64-bit halves) XOR round key
 * 0, then four AES rounds (AESENC) and a last one (AESENCLAST) with round keys 1-5; round
 * key r is (lo + r W0, hi + r W1), (lo, hi) = (key, mix64(key)), W the ARS Weyl constants.
 * Its 16 bytes are 16 normals (byte u: column u of the block's 16). */
#define ARS_W0 0x9e3779b97f4a7c15ULL
#define ARS_W1 0xbb67ae8584caa73bULL

/* SplitMix64's output function. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The round keys of a call's noise key, as bytes (little-endian halves). */
static void ars_keys(uint64_t key, uint8_t rk[6][16])
{
    uint64_t lo = key, hi = mix64(key);
    for (int r = 0; r < 6; r++, lo += ARS_W0, hi += ARS_W1)
        for (int k = 0; k < 8; k++) {
            rk[r][k] = (uint8_t)(lo >> (8 * k));
            rk[r][8 + k] = (uint8_t)(hi >> (8 * k));
        }
}

static const uint8_t AES_SBOX[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
    0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
    0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
    0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
    0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
    0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
    0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
    0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
    0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
    0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16,
};

static inline uint8_t aes_xtime(uint8_t x) { return (uint8_t)((x << 1) ^ ((x >> 7) * 0x1b)); }

/* One AES round as AESENC (last: AESENCLAST) does it: ShiftRows, SubBytes, MixColumns
 * (not in the last round), AddRoundKey; the state column by column (byte r + 4c). */
static void aes_round(uint8_t st[16], const uint8_t rk[16], int last)
{
    uint8_t t[16];
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 4; r++)
            t[r + 4 * c] = AES_SBOX[st[r + 4 * ((c + r) & 3)]];
    if (!last)
        for (int c = 0; c < 4; c++) {
            uint8_t a0 = t[4 * c], a1 = t[4 * c + 1], a2 = t[4 * c + 2], a3 = t[4 * c + 3];
            uint8_t x = a0 ^ a1 ^ a2 ^ a3;
            t[4 * c] = a0 ^ x ^ aes_xtime(a0 ^ a1);
            t[4 * c + 1] = a1 ^ x ^ aes_xtime(a1 ^ a2);
            t[4 * c + 2] = a2 ^ x ^ aes_xtime(a2 ^ a3);
            t[4 * c + 3] = a3 ^ x ^ aes_xtime(a3 ^ a0);
        }
    for (int i = 0; i < 16; i++)
        st[i] = t[i] ^ rk[i];
}

/* Block n of the noise sequence: ARS-5 of counter n, in portable C. */
static void ars_block_plain(const uint8_t rk[6][16], uint64_t n, uint8_t out[16])
{
    for (int k = 0; k < 8; k++) {
        out[k] = (uint8_t)(n >> (8 * k)) ^ rk[0][k];
        out[8 + k] = rk[0][8 + k];
    }
    for (int r = 1; r <= 5; r++)
        aes_round(out, rk[r], r == 5);
}

#ifdef DEV_SIMD
/* The same with AES-NI (x86 machines without the AVX-512 path, valgrind). */
__attribute__((target("aes,sse4.1"))) static void ars_block_aesni(const uint8_t rk[6][16],
                                                                  uint64_t n, uint8_t out[16])
{
    __m128i x = _mm_xor_si128(_mm_cvtsi64_si128((long long)n),
                              _mm_loadu_si128((const __m128i *)rk[0]));
    for (int r = 1; r < 5; r++)
        x = _mm_aesenc_si128(x, _mm_loadu_si128((const __m128i *)rk[r]));
    x = _mm_aesenclast_si128(x, _mm_loadu_si128((const __m128i *)rk[5]));
    _mm_storeu_si128((__m128i *)out, x);
}
#endif

/* Block n of the noise sequence of round keys rk: 16 bytes. */
static void ars_block(const uint8_t rk[6][16], int aesni, uint64_t n, uint8_t out[16])
{
#ifdef DEV_SIMD
    if (aesni) {
        ars_block_aesni(rk, n, out);
        return;
    }
#endif
    (void)aesni;
    ars_block_plain(rk, n, out);
}

/* Column sums and fully-driven noise spreads of every group of p rows, and whether any
 * group's codes can reach the ADC's limits (if not, the clamp can be skipped: the noise is
 * at most NQ_MAX units away). The spreads are in ADC codes per unit of NQ. */
static int ensure_cache(xbar_layer *L, int p, float sigma, float k_adc, float code_max,
                        float offset, char *err, size_t errlen)
{
    if (L->cache_p == p && L->cache_sigma == sigma && L->cache_k == k_adc &&
        L->cache_max == code_max && L->cache_off == offset)
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
        return err_set(err, errlen, "crossbar: out of memory");
    }
    const float per_unit = (float)(1.0 / NQ_SCALE);
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
            s[j] = sigma * k_adc * sqrtf(s[j]) * per_unit;
    }
    double reach = 0; /* the largest |code| any input and noise could give */
    double most = 0;  /* the largest sum of |gd| over a group's rows */
    for (int g = 0; g < G; g++) {
        int r1 = (g + 1) * p < L->in ? (g + 1) * p : L->in;
        for (int j = 0; j < L->out; j++) {
            double a = 0;
            for (int i = g * p; i < r1; i++)
                a += fabs((double)L->gd[(size_t)i * outp + j]);
            most = a > most ? a : most;
            a = a * XBAR_GRID * k_adc + NQ_MAX * (double)sg[(size_t)g * outp + j];
            if (a > reach)
                reach = a;
        }
    }
    L->cache_noclamp = (reach + fabs((double)offset)) * (1 + 1e-5) + 1 < code_max;
    L->cache_fexact = 2 * most < 0x1p24; /* every sum of the float tables is exact */
    L->cache_p = p;
    L->cache_sigma = sigma;
    L->cache_k = k_adc;
    L->cache_max = code_max;
    L->cache_off = offset;
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
        return err_set(err, errlen, "crossbar: out of memory");
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

#ifdef DEV_SIMD
/* The float tables of the AVX-512 path, rows FSTRIDE(outp) apart, made when first needed:
 * fpm (+-1 rows) holds lut's entries, f01 (0/1 rows, a clear bit leaving its row undriven)
 * 2 * sum over k < 4 of (bit k of m) gd[4c + k][j] = lut[c][m] - lut[c][0], so that a 0/1
 * group's entries sum to 2 S with no column sum to add. All are exact floats: |entries|
 * <= 8 * DEV_G_MAX / XBAR_GRID < 2^24. */
static int ensure_ftable(xbar_layer *L, int zo, char *err, size_t errlen)
{
    float **f = zo ? &L->f01 : &L->fpm;
    if (*f)
        return 0;
    int chunks = ceil_div(L->in, 4), outp = L->outp;
    *f = malloc(sizeof(float) * (size_t)chunks * 16 * FSTRIDE(outp));
    if (!*f)
        return err_set(err, errlen, "crossbar: out of memory");
    for (size_t e = 0; e < (size_t)chunks * 16; e++) {
        const int32_t *row = L->lut + e * outp, *zero = L->lut + (e & ~(size_t)15) * outp;
        for (int j = 0; j < outp; j++)
            (*f)[e * FSTRIDE(outp) + j] = (float)(zo ? row[j] - zero[j] : row[j]);
    }
    return 0;
}
#endif

typedef struct vmm_job {
    const xbar_layer *L;
    xbar_adc q;
    int p, G;
    int V;                 /* noise blocks (vectors of 16 columns) per group: outp / 16 */
    const int8_t *x8;      /* (B, in) or NULL */
    const uint64_t *bits;  /* (B, words) or NULL */
    int words, pm1, B;
    int use_lut;           /* p is a multiple of 4: groups sum through L->lut */
    int simd;              /* the AVX-512 table path may run */
    int32_t *y, *groups;
    int noise;             /* read noise on */
    uint8_t rk[6][16];     /* the round keys of the call's noise key */
    int aesni;             /* ars_block may use AES-NI */
    float scale_of[513];   /* sqrtf(k / p), k <= p: noise scale of k driven rows of p */
    atomic_int oom;
} vmm_job;

/* One group of one image: what to sum and how. */
typedef struct group_plan {
    int r0, r1;            /* its rows */
    int gp, gn;            /* rows driven at +V and -V */
    int full;              /* every row driven */
    int table, nc;         /* summed through nc table entries (else through its rows) */
    float scale;           /* noise spread factor: sqrt(driven / rows) */
} group_plan;

/* Work space of one thread. */
typedef struct vmm_scratch {
    uint64_t *posb, *negb; /* (KERN_WORDS(in)) one image's rows driven at +V and -V */
    group_plan *plan;      /* (G) */
    uint32_t *ro;          /* (G, ceil(p / 4)) each group's table entries (offsets) */
    int *rows;             /* (p) rows of one group: one polarity, or +V then -V */
    const int32_t **rowp;  /* (p) their rows of gd */
    int32_t *tot;          /* (outp) running sums */
    int32_t *sum;          /* (outp) one group's partial sums S */
    /* The batch of the AVX-512 path, image slots i < IMAGE_CHUNK: */
    uint32_t *bro;         /* (G, IMAGE_CHUNK, p / 4) table offsets */
    uint8_t *blist;        /* (G, 2, IMAGE_CHUNK) the images taking KIND_PM, KIND_01 */
    int *bcount;           /* (G, 2) their numbers */
    float *bscale;         /* (G, IMAGE_CHUNK) noise scale */
    int32_t *btot;         /* (IMAGE_CHUNK, FSTRIDE(outp)) running sums */
    int *bimg, *badded;    /* (IMAGE_CHUNK) the image, its groups added */
    uint64_t *bz;          /* (IMAGE_CHUNK) the image's first noise block, b G V */
} vmm_scratch;

/* What a group of an image takes on the AVX-512 path. */
enum { KIND_SKIP, KIND_PM, KIND_01 };

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
    if (job->x8) {
        memset(pos, 0, sizeof(uint64_t) * words);
        memset(neg, 0, sizeof(uint64_t) * words);
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
    int p = job->p, cmax = ceil_div(p, 4), all = job->use_lut;
    for (int g = 0; g < job->G; g++) {
        group_plan *pl = &s->plan[g];
        pl->r0 = g * p;
        pl->r1 = pl->r0 + p < L->in ? pl->r0 + p : L->in;
        int rows = pl->r1 - pl->r0;
        pl->gp = range_bits(s->posb, pl->r0, pl->r1, NULL);
        pl->gn = range_bits(s->negb, pl->r0, pl->r1, NULL);
        pl->full = pl->gp + pl->gn == rows;
        /* Noise spread: the fully driven group's, scaled by the root of the driven
         * fraction (exact when all rows are driven; for 0/1 inputs the group's mean G^2
         * stands in for the driven rows'). */
        pl->scale = rows == p ? job->scale_of[pl->gp + pl->gn]
                              : sqrtf((float)(pl->gp + pl->gn) / (float)rows);
        pl->table = job->use_lut && (pl->full || pl->gn == 0);
        all &= pl->table;
        if (!pl->table)
            continue;
        pl->nc = ceil_div(rows, 4);
        for (int c = 0; c < pl->nc; c++) {
            int r = pl->r0 + 4 * c, m = (int)((s->posb[r >> 6] >> (r & 63)) & 15);
            s->ro[(size_t)g * cmax + c] = (uint32_t)(((r >> 2) * 16 + m) * L->outp);
        }
    }
    return all;
}

/* A group's partial sums through its rows: S = (sum of the +V rows) - (sum of the -V
 * rows), or for a fully driven group +-(2 * (sum of the smaller polarity) - column sum). */
HOT void rows_sums(const vmm_job *job, vmm_scratch *s, const group_plan *pl, const int32_t *cs,
                   int32_t *S)
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
        memcpy(S + j, acc, sizeof acc);
    }
}

/* A group's partial sums through the table: the sum of its entries rp[0..nc), for 0/1
 * inputs (!full) (that + cs) / 2. */
HOT void table_sums(const vmm_job *job, const group_plan *pl, const uint32_t *ro,
                    const int32_t *cs, int32_t *S)
{
    int outp = job->L->outp;
    const int32_t *lut = job->L->lut;
    for (int j = 0; j < outp; j += XBAR_BLOCK) {
        int32_t acc[XBAR_BLOCK];
        for (int u = 0; u < XBAR_BLOCK; u++)
            acc[u] = lut[ro[0] + j + u];
        for (int c = 1; c < pl->nc; c++)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] += lut[ro[c] + j + u];
        if (!pl->full)
            for (int u = 0; u < XBAR_BLOCK; u++)
                acc[u] = (acc[u] + cs[j + u]) / 2;
        memcpy(S + j, acc, sizeof acc);
    }
}

/* Group g of image b from its partial sums S: codes, read noise, Ints into the running
 * sums tot and into gout[0..out) when gout is non-NULL. This is the definition the AVX-512
 * path reproduces bit for bit. */
HOT void group_ints(const vmm_job *job, const group_plan *pl, int b, int g, const int32_t *S,
                    const float *sg, int32_t *restrict tot, int32_t *gout)
{
    const xbar_adc q = job->q;
    int outp = job->L->outp, out = job->L->out;
    int noisy = job->noise && pl->gp + pl->gn > 0;
    for (int j = 0; j < outp; j += 16) {
        uint8_t w[16] = {0};
        if (noisy) /* block (b G + g) V + j / 16 */
            ars_block(job->rk, job->aesni,
                      ((uint64_t)b * (uint64_t)job->G + (uint64_t)g) * (uint64_t)job->V +
                          (uint64_t)(j / 16),
                      w);
        float c[16];
        for (int u = 0; u < 16; u++)
            c[u] = (float)S[j + u] * q.k_grid;
        if (noisy)
            for (int u = 0; u < 16; u++)
                c[u] = fmaf(sg[j + u] * pl->scale, (float)NQ[w[u]], c[u]);
        for (int u = 0; u < 16; u++) {
            int32_t v = xbar_int_code(&q, c[u]);
            tot[j + u] += v;
            if (gout && j + u < out)
                gout[j + u] = v;
        }
    }
}

/* Image b the portable way: y[b] and, when asked for, its groups' Ints. */
HOT void image_plain(const vmm_job *job, vmm_scratch *s, int b)
{
    const xbar_layer *L = job->L;
    int outp = L->outp, out = L->out, G = job->G, cmax = ceil_div(job->p, 4);
    int32_t *gout = job->groups ? job->groups + (size_t)b * G * out : NULL;
    memset(s->tot, 0, sizeof(int32_t) * outp);
    for (int g = 0; g < G; g++) {
        const group_plan *pl = &s->plan[g];
        const int32_t *cs = L->colsum + (size_t)g * outp;
        if (pl->table)
            table_sums(job, pl, s->ro + (size_t)g * cmax, cs, s->sum);
        else
            rows_sums(job, s, pl, cs, s->sum);
        group_ints(job, pl, b, g, s->sum, L->sig + (size_t)g * outp, s->tot,
                   gout ? gout + (size_t)g * out : NULL);
    }
    memcpy(job->y + (size_t)b * out, s->tot, sizeof(int32_t) * out);
}

#ifdef DEV_SIMD
/* The AVX-512 table path also needs VBMI (byte permutes), VAES and DQ. */
#define XBAR_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vbmi,vaes")))

static int xbar_simd_ok(void)
{
    return dev_simd_ok() && isa_use(ISA_EXT_VBMI) && isa_use(ISA_EXT_VAES);
}

/* The normals of 64 columns, noise blocks n0 .. n0 + 3 (ars_block with the round keys rk,
 * each in the four 128-bit lanes), through NQ (t: NQ in four registers): 64 NQ values,
 * column order. */
XBAR_AVX512 static inline __m512i noise64_avx512(uint64_t n0, const __m512i *rk,
                                                 const __m512i *t)
{
    __m512i x = _mm512_maskz_add_epi64(0x55, _mm512_set1_epi64((long long)n0),
                                       _mm512_set_epi64(0, 3, 0, 2, 0, 1, 0, 0));
    x = _mm512_xor_si512(x, rk[0]);
    for (int r = 1; r < 5; r++)
        x = _mm512_aesenc_epi128(x, rk[r]);
    x = _mm512_aesenclast_epi128(x, rk[5]);
    __m512i lo = _mm512_permutex2var_epi8(t[0], x, t[1]); /* NQ[0..128) by the low 7 bits */
    __m512i hi = _mm512_permutex2var_epi8(t[2], x, t[3]); /* NQ[128..256) */
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
}

/* Rounding by adding and subtracting 1.5 * 2^23: exact round-half-even for |x| < 2^22,
 * and (x + MAGIC) holds x's integer in its low mantissa bits. */
#define MAGIC 12582912.0f
#define MAGIC_BITS 0x4b400000
/* A product with its rounding explicit: never fused with the addition that follows (the
 * codes must be rounded exactly as group_ints rounds them, whatever -ffp-contract says). */
#define RN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* Up to four vectors of 16 columns, [j, j + 16 nv), of one group of one image through a
 * float table: group_ints' arithmetic on the table sums (the same roundings; the codes are
 * never clamped on this path). The Ints are added to tot as the bits of Int + MAGIC (the
 * caller takes MAGIC_BITS off per group added) and stored in gout (may be NULL). lut +
 * ro[c], c < nc: the group's table entries, whose sum times kg is the code; sg: the noise
 * spreads, times sc when scaled; nq: the NQ values of the block's 64 columns. */
XBAR_AVX512 static inline __attribute__((always_inline)) void
block_avx512(const float *lut, const uint32_t *ro, int nc, int j, int nv, __m512 kg,
             __m512 ki, __m512 off, const float *sg, __m512 sc, __m512i nq, int32_t *tot, int32_t *gout,
             int out, int noisy, int scaled)
{
    const __m512 mg = _mm512_set1_ps(MAGIC);
    const float *e[XBAR_MAX_NC]; /* (stores to tot cannot alias a local array) */
    for (int c = 0; c < nc; c++)
        e[c] = lut + ro[c];
    for (int k = 0; k < nv; k++, j += 16) {
        __m512 acc;
        if (nc == 4) /* a tree: shorter chains */
            acc = _mm512_add_ps(
                _mm512_add_ps(_mm512_loadu_ps(e[0] + j), _mm512_loadu_ps(e[1] + j)),
                _mm512_add_ps(_mm512_loadu_ps(e[2] + j), _mm512_loadu_ps(e[3] + j)));
        else {
            acc = _mm512_loadu_ps(e[0] + j);
            for (int c = 1; c < nc; c++)
                acc = _mm512_add_ps(acc, _mm512_loadu_ps(e[c] + j));
        }
        __m512 c = _mm512_mul_round_ps(acc, kg, RN);
        if (noisy) {
            /* this vector's 16 normals are nq's low 16 bytes; rotate the next ones down */
            __m512 n = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm512_castsi512_si128(nq)));
            nq = _mm512_alignr_epi32(nq, nq, 4);
            __m512 s = _mm512_loadu_ps(sg + j);
            if (scaled)
                s = _mm512_mul_ps(s, sc);
            c = _mm512_fmadd_ps(s, n, c);
        }
        c = _mm512_add_ps(c, off); /* the ADC's offset, as xbar_code_clamped */
        __m512 r = _mm512_sub_ps(_mm512_add_ps(c, mg), mg);
        __m512i v = _mm512_castps_si512(_mm512_fmadd_ps(r, ki, mg));
        _mm512_storeu_si512(tot + j, _mm512_add_epi32(_mm512_loadu_si512(tot + j), v));
        if (gout) {
            __mmask16 m = out - j >= 16 ? 0xffff : (__mmask16)((1u << (out - j)) - 1);
            _mm512_mask_storeu_epi32(gout + j, m,
                                     _mm512_sub_epi32(v, _mm512_set1_epi32(MAGIC_BITS)));
        }
    }
}

/* block_avx512 for four entries and four vectors without the groups' Ints, written out,
 * every pointer already at the block's first column, the spreads in registers. */
XBAR_AVX512 static inline __attribute__((always_inline)) void
block4_avx512(const float *e0, const float *e1, const float *e2, const float *e3, __m512 kg,
              __m512 ki, __m512 off, const __m512 *sg, __m512 sc, __m512i nq, int32_t *tot, int noisy,
              int scaled)
{
    const __m512 mg = _mm512_set1_ps(MAGIC);
#define VEC(K)                                                                                \
    {                                                                                         \
        __m512 acc = _mm512_add_ps(                                                           \
            _mm512_add_ps(_mm512_loadu_ps(e0 + 16 * K), _mm512_loadu_ps(e1 + 16 * K)),        \
            _mm512_add_ps(_mm512_loadu_ps(e2 + 16 * K), _mm512_loadu_ps(e3 + 16 * K)));       \
        __m512 c = _mm512_mul_round_ps(acc, kg, RN);                                          \
        if (noisy) {                                                                          \
            __m512 n = _mm512_cvtepi32_ps(                                                    \
                _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(nq, K)));                      \
            __m512 s = sg[K];                                                                 \
            if (scaled)                                                                       \
                s = _mm512_mul_ps(s, sc);                                                     \
            c = _mm512_fmadd_ps(s, n, c);                                                     \
        }                                                                                     \
        c = _mm512_add_ps(c, off);                                                            \
        __m512 r = _mm512_sub_ps(_mm512_add_ps(c, mg), mg);                                   \
        __m512i v = _mm512_castps_si512(_mm512_fmadd_ps(r, ki, mg));                          \
        _mm512_storeu_si512(tot + 16 * K,                                                     \
                            _mm512_add_epi32(_mm512_loadu_si512(tot + 16 * K), v));           \
    }
    VEC(0) VEC(1) VEC(2) VEC(3)
#undef VEC
}

/* Block j (columns [j, j + 16 nv)) of group g for the images of the batch in its list
 * `kind` (KIND_PM: +-1 rows through L->fpm; KIND_01: 0/1 rows through L->f01, the noise
 * spread scaled): a group's table entries for a column block stay in L1 while the images
 * use them. NC, NV: the entries and vectors when known at compile time (else nc, nv);
 * GOUT: store the groups' Ints. */
XBAR_AVX512 static inline __attribute__((always_inline)) void
images_avx512(const vmm_job *job, vmm_scratch *s, int g, int j, int nc, int nv, int kind,
              const __m512i *t, const __m512i *rk, int NC, int NV, int GOUT)
{
    const xbar_layer *L = job->L;
    int outp = L->outp, out = L->out, cmax = job->p / 4, noisy = job->noise;
    int zo = kind == KIND_01;
    const float *lut = zo ? L->f01 : L->fpm, *sg = L->sig + (size_t)g * outp;
    const uint8_t *list = s->blist + ((size_t)g * 2 + (size_t)zo) * IMAGE_CHUNK;
    int count = s->bcount[g * 2 + zo];
    const float *scale = s->bscale + (size_t)g * IMAGE_CHUNK;
    const uint32_t *ro = s->bro + (size_t)g * IMAGE_CHUNK * cmax;
    /* f01 sums are 2 S: (2 S) (k_grid / 2) is S k_grid rounded once, the same float */
    const __m512 kg = _mm512_set1_ps(zo ? job->q.k_grid * 0.5f : job->q.k_grid);
    const __m512 off = _mm512_set1_ps(job->q.offset);
    const __m512 ki = _mm512_set1_ps(job->q.k_int);
    /* image i's noise blocks for the columns from j: (b G + g) V + j / 16 = bz[i] + ng */
    uint64_t ng = (uint64_t)g * (uint64_t)job->V + (uint64_t)(j / 16);
    if (NC)
        nc = NC;
    if (NV)
        nv = NV;
    __m512 sgv[4]; /* the block's spreads, the same for every image */
    for (int u = 0; u < 4 && NV == 4; u++)
        sgv[u] = _mm512_loadu_ps(sg + j + 16 * u);
    for (int k = 0; k < count; k++) {
        int i = list[k];
        const uint32_t *r = ro + (size_t)i * cmax;
        int32_t *tot = s->btot + (size_t)i * FSTRIDE(outp);
        __m512i nq = _mm512_setzero_si512();
        if (noisy)
            nq = noise64_avx512(s->bz[i] + ng, rk, t);
        __m512 sc = _mm512_set1_ps(scale[i]);
        if (NC == 4 && NV == 4 && !GOUT) {
            if (noisy && zo)
                block4_avx512(lut + r[0] + j, lut + r[1] + j, lut + r[2] + j, lut + r[3] + j, kg,
                              ki, off, sgv, sc, nq, tot + j, 1, 1);
            else if (noisy)
                block4_avx512(lut + r[0] + j, lut + r[1] + j, lut + r[2] + j, lut + r[3] + j, kg,
                              ki, off, sgv, sc, nq, tot + j, 1, 0);
            else
                block4_avx512(lut + r[0] + j, lut + r[1] + j, lut + r[2] + j, lut + r[3] + j, kg,
                              ki, off, sgv, sc, nq, tot + j, 0, 0);
        } else {
            int32_t *go = GOUT ? job->groups + ((size_t)s->bimg[i] * job->G + g) * out : NULL;
            if (noisy && zo)
                block_avx512(lut, r, nc, j, nv, kg, ki, off, sg, sc, nq, tot, go, out, 1, 1);
            else if (noisy)
                block_avx512(lut, r, nc, j, nv, kg, ki, off, sg, sc, nq, tot, go, out, 1, 0);
            else
                block_avx512(lut, r, nc, j, nv, kg, ki, off, sg, sc, nq, tot, go, out, 0, 0);
        }
    }
}

/* The planned images s->bimg[0..n) of the batch through the tables, 64 columns at a time,
 * group by group, image by image. */
XBAR_AVX512 static void batch_avx512(const vmm_job *job, vmm_scratch *s, int n)
{
    const xbar_layer *L = job->L;
    int outp = L->outp, out = L->out, G = job->G, p = job->p;
    __m512i t[4];
    for (int k = 0; k < 4; k++)
        t[k] = _mm512_loadu_si512(NQ + 64 * k);
    __m512i rk[6];
    for (int r = 0; r < 6; r++)
        rk[r] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)job->rk[r]));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < outp; j += 16)
            _mm512_storeu_si512(s->btot + (size_t)i * FSTRIDE(outp) + j, _mm512_setzero_si512());
    for (int j = 0; j < outp; j += 64) {
        int nv = outp - j >= 64 ? 4 : (outp - j) / 16;
        for (int g = 0; g < G; g++) {
            int nc = ceil_div((g * p + p < L->in ? p : L->in - g * p), 4);
            for (int kind = KIND_PM; kind <= KIND_01; kind++) {
                if (job->groups)
                    images_avx512(job, s, g, j, nc, nv, kind, t, rk, 0, 0, 1);
                else if (nc == 4 && nv == 4)
                    images_avx512(job, s, g, j, nc, nv, kind, t, rk, 4, 4, 0);
                else if (nc == 4 && nv == 1)
                    images_avx512(job, s, g, j, nc, nv, kind, t, rk, 4, 1, 0);
                else
                    images_avx512(job, s, g, j, nc, nv, kind, t, rk, 0, 0, 0);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        const int32_t *tot = s->btot + (size_t)i * FSTRIDE(outp);
        int32_t *y = job->y + (size_t)s->bimg[i] * out;
        const __m512i off = _mm512_set1_epi32((int)((uint32_t)s->badded[i] * MAGIC_BITS));
        for (int j = 0; j < out; j += 16) {
            __mmask16 m = out - j >= 16 ? 0xffff : (__mmask16)((1u << (out - j)) - 1);
            _mm512_mask_storeu_epi32(y + j, m,
                                     _mm512_sub_epi32(_mm512_loadu_si512(tot + j), off));
        }
    }
}

/* Image b of a packed batch with p = 16 and whole words of inputs, into slot i: its table
 * offsets (plan_packed's), 16 chunks a word, four groups. */
XBAR_AVX512 static void offsets16_avx512(const vmm_job *job, vmm_scratch *s, int i, int b)
{
    const xbar_layer *L = job->L;
    const int stride = FSTRIDE(L->outp);
    const uint64_t *w = job->bits + (size_t)b * job->words;
    uint32_t *ro = s->bro + (size_t)i * 4; /* (G, IMAGE_CHUNK, 4) */
    const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i shift = _mm512_slli_epi32(_mm512_and_si512(lanes, _mm512_set1_epi32(7)), 2);
    const __m512i mstride = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(stride));
    const __m512i step = _mm512_set1_epi32(16 * 16 * stride);
    __m512i base = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(16 * stride));
    for (int k = 0; k < L->in / 64; k++) {
        __m512i v = _mm512_inserti64x4(_mm512_set1_epi32((int)(uint32_t)w[k]),
                                       _mm256_set1_epi32((int)(uint32_t)(w[k] >> 32)), 1);
        __m512i m = _mm512_and_si512(_mm512_srlv_epi32(v, shift), _mm512_set1_epi32(15));
        __m512i o = _mm512_add_epi32(base, _mm512_permutexvar_epi32(m, mstride));
        uint32_t *r = ro + (size_t)4 * k * IMAGE_CHUNK * 4; /* groups 4k .. 4k + 3 */
        _mm_storeu_si128((__m128i *)r, _mm512_castsi512_si128(o));
        _mm_storeu_si128((__m128i *)(r + IMAGE_CHUNK * 4), _mm512_extracti32x4_epi32(o, 1));
        _mm_storeu_si128((__m128i *)(r + IMAGE_CHUNK * 8), _mm512_extracti32x4_epi32(o, 2));
        _mm_storeu_si128((__m128i *)(r + IMAGE_CHUNK * 12), _mm512_extracti32x4_epi32(o, 3));
        base = _mm512_add_epi32(base, step);
    }
}

/* Group g of the image in slot i takes `kind` (KIND_SKIP, KIND_PM, KIND_01) with noise
 * scale `scale`: into its list. */
static void plan_group(vmm_scratch *s, int i, int g, int kind, float scale)
{
    s->bscale[(size_t)g * IMAGE_CHUNK + i] = scale;
    if (kind == KIND_SKIP)
        return;
    int zo = kind == KIND_01, k = s->bcount[g * 2 + zo]++;
    s->blist[((size_t)g * 2 + (size_t)zo) * IMAGE_CHUNK + k] = (uint8_t)i;
    s->badded[i]++;
}

/* Image b of a packed batch planned for the AVX-512 path into slot i: each group's table
 * offsets, list and noise scale. +-1 inputs: every group through L->fpm; 0/1 inputs:
 * through L->f01, an undriven group skipped (S = 0 and no noise: its Ints are 0) unless
 * the groups' Ints are asked for. */
static void plan_packed(const vmm_job *job, vmm_scratch *s, int i, int b)
{
    const xbar_layer *L = job->L;
    int in = L->in, p = job->p, G = job->G, cmax = p / 4, chunks = ceil_div(in, 4);
    uint32_t stride = (uint32_t)FSTRIDE(L->outp);
    const uint64_t *w = job->bits + (size_t)b * job->words;
#ifdef DEV_SIMD
    if (p == 16 && in % 64 == 0)
        offsets16_avx512(job, s, i, b);
    else
#endif
        for (int c = 0; c < chunks; c++) /* bits past `in` index rows that add 0 */
            s->bro[((size_t)(c / cmax) * IMAGE_CHUNK + i) * cmax + c % cmax] =
                (uint32_t)(c * 16 + (int)((w[c >> 4] >> ((c & 15) * 4)) & 15)) * stride;
    s->bimg[i] = b;
    s->bz[i] = (uint64_t)b * (uint64_t)G * (uint64_t)job->V;
    if (job->pm1) { /* every group of every image through fpm: vmm_chunk lists them */
        s->badded[i] = G;
        return;
    }
    s->badded[i] = 0;
    for (int g = 0; g < G; g++) {
        int r0 = g * p, r1 = r0 + p < in ? r0 + p : in, rows = r1 - r0;
        int driven = p == 16 && in % 64 == 0
                         ? __builtin_popcountll((w[g >> 2] >> ((g & 3) * 16)) & 0xffff)
                         : range_bits(w, r0, r1, NULL);
        float scale = rows == p ? job->scale_of[driven] : sqrtf((float)driven / (float)rows);
        plan_group(s, i, g, driven == 0 && !job->groups ? KIND_SKIP : KIND_01, scale);
    }
}

/* The same from a generic plan (plan_image's, every group through the table). */
static void plan_copy(const vmm_job *job, vmm_scratch *s, int i, int b)
{
    int G = job->G, cmax = job->p / 4;
    uint32_t outp = (uint32_t)job->L->outp, stride = (uint32_t)FSTRIDE(job->L->outp);
    s->bimg[i] = b;
    s->badded[i] = 0;
    s->bz[i] = (uint64_t)b * (uint64_t)G * (uint64_t)job->V;
    for (int g = 0; g < G; g++) {
        const group_plan *pl = &s->plan[g];
        size_t slot = (size_t)g * IMAGE_CHUNK + i;
        for (int c = 0; c < pl->nc; c++) /* int table offsets to float table offsets */
            s->bro[slot * cmax + c] = s->ro[(size_t)g * cmax + c] / outp * stride;
        int kind = pl->full && pl->gn > 0 ? KIND_PM
                   : pl->gp == 0 && !job->groups ? KIND_SKIP : KIND_01;
        plan_group(s, i, g, kind, pl->scale);
    }
}
#endif

/* Chunk c: images [IMAGE_CHUNK c, IMAGE_CHUNK (c + 1)). Compiled for each instruction set. */
ISA_INLINE void vmm_chunk_body(const vmm_job *job, int c, vmm_scratch *s)
{
    int b0 = c * IMAGE_CHUNK, b1 = job->B - b0 < IMAGE_CHUNK ? job->B : b0 + IMAGE_CHUNK;
#ifdef DEV_SIMD
    if (job->simd) {
        int n = 0;
        memset(s->bcount, 0, sizeof(int) * 2 * (size_t)job->G);
        for (int b = b0; b < b1; b++) {
            if (job->bits) {
                plan_packed(job, s, n++, b);
                continue;
            }
            image_bits(job, b, s->posb, s->negb);
            if (plan_image(job, s))
                plan_copy(job, s, n++, b);
            else
                image_plain(job, s, b);
        }
        if (job->bits && job->pm1) /* every image in every group's +-1 list */
            for (int g = 0; g < job->G; g++) {
                for (int i = 0; i < n; i++)
                    s->blist[(size_t)g * 2 * IMAGE_CHUNK + i] = (uint8_t)i;
                s->bcount[g * 2] = n;
            }
        batch_avx512(job, s, n);
        return;
    }
#endif
    for (int b = b0; b < b1; b++) {
        image_bits(job, b, s->posb, s->negb);
        plan_image(job, s);
        image_plain(job, s, b);
    }
}

ISA_CLONES(vmm_chunk, (const vmm_job *job, int c, vmm_scratch *s), (job, c, s))

/* Chunks [begin, end), on one thread. */
static void vmm_range(void *ud, int begin, int end)
{
    vmm_job *job = ud;
    const xbar_layer *L = job->L;
    size_t words = (size_t)KERN_WORDS(L->in), outp = (size_t)L->outp, p = (size_t)job->p;
    size_t G = (size_t)job->G, nb = job->simd ? IMAGE_CHUNK : 0;
    vmm_scratch s;
    s.posb = malloc(sizeof(uint64_t) * words);
    s.negb = malloc(sizeof(uint64_t) * words);
    s.plan = malloc(sizeof(group_plan) * G);
    s.ro = malloc(sizeof(uint32_t) * G * (size_t)ceil_div(job->p, 4));
    s.rows = malloc(sizeof(int) * p);
    s.rowp = malloc(sizeof(int32_t *) * p);
    s.tot = malloc(sizeof(int32_t) * outp);
    s.sum = malloc(sizeof(int32_t) * outp);
    s.bro = malloc(sizeof(uint32_t) * (nb * G * (p / 4) + 1));
    s.blist = malloc(nb * G * 2 + 1);
    s.bcount = malloc(sizeof(int) * (G * 2 + 1));
    s.bscale = malloc(sizeof(float) * (nb * G + 1));
    s.btot = malloc(sizeof(int32_t) * (nb * FSTRIDE(outp) + 1));
    s.bimg = malloc(sizeof(int) * (nb + 1));
    s.badded = malloc(sizeof(int) * (nb + 1));
    s.bz = malloc(sizeof(uint64_t) * (nb + 1));
    if (s.posb && s.negb && s.plan && s.ro && s.rows && s.rowp && s.tot && s.sum && s.bro &&
        s.blist && s.bcount && s.bscale && s.btot && s.bimg && s.badded && s.bz)
        for (int c = begin; c < end; c++)
            vmm_chunk(job, c, &s);
    else
        atomic_store(&job->oom, 1);
    free(s.posb);
    free(s.negb);
    free(s.plan);
    free(s.ro);
    free(s.rows);
    free(s.rowp);
    free(s.tot);
    free(s.sum);
    free(s.bro);
    free(s.blist);
    free(s.bcount);
    free(s.bscale);
    free(s.btot);
    free(s.bimg);
    free(s.badded);
    free(s.bz);
}

static int vmm_run(xbar *x, int l, int p, vmm_job *job, char *err, size_t errlen)
{
    xbar_layer *L = &x->layer[l];
    float sigma = x->pos.p.read_noise;
    job->L = L;
    job->p = p;
    job->G = ceil_div(L->in, p);
    job->V = L->outp / 16;
    job->use_lut = p % 4 == 0;
    if (ensure_lines(x, L, p, err, errlen) || xbar_adc_make(x, p, &job->q, err, errlen) ||
        ensure_cache(L, p, sigma, job->q.k_adc, job->q.code_max, job->q.offset, err, errlen) ||
        (job->use_lut && ensure_lut(L, err, errlen)))
        return -1;
#ifdef DEV_SIMD
    /* The AVX-512 path rounds by adding 1.5 * 2^23: codes and Ints within +-2^22. */
    job->simd = L->cache_noclamp && L->cache_fexact && job->use_lut && !job->q.nonlin &&
                job->q.code_max < 0x1p22f && (double)job->q.code_max * job->q.k_int < 0x1p21 &&
                xbar_simd_ok();
    if (job->simd && (((job->x8 || job->pm1) && ensure_ftable(L, 0, err, errlen)) ||
                      ((job->x8 || !job->pm1) && ensure_ftable(L, 1, err, errlen))))
        return -1;
#endif
    for (int k = 0; k <= p; k++)
        job->scale_of[k] = sqrtf((float)k / (float)p);
    job->noise = sigma > 0;
    if (job->noise)
        ars_keys(dev_noise_key(&x->pos), job->rk);
#ifdef DEV_SIMD
    job->aesni = isa_use(ISA_EXT_AES);
#endif
    atomic_init(&job->oom, 0);
    kern_parallel(ceil_div(job->B, IMAGE_CHUNK), 1, vmm_range, job);
    if (atomic_load(&job->oom))
        return err_set(err, errlen, "crossbar: out of memory in a VMM");
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
    if (check_layer(x, l, err, errlen) || check_p(x, p, err, errlen))
        return -1;
    if (B < 0 || !y)
        return err_set(err, errlen, "crossbar: bad batch (%d vectors, output %p)", B, (void *)y);
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
            return err_set(err, errlen, "crossbar: inputs must be -1, 0 or +1; vector %zu input "
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
        return err_set(err, errlen, "crossbar: layer %d takes %d inputs: %d words per vector, got "
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
            err_format(err, errlen,
                       "crossbar: Wpara[%zu][%zu] = %g is not a conductance difference "
                       "(|w| <= %g uS)", k / in, k % in, w[k], 2 * DEV_G_MAX);
            return NULL;
        }
    int64_t *wq = malloc(sizeof(int64_t) * n);
    if (!wq) {
        err_format(err, errlen, "crossbar: out of memory");
        return NULL;
    }
    for (size_t k = 0; k < n; k++)
        wq[k] = llrintf(w[k] / XBAR_GRID);
    return wq;
}

static int check_soft(int in, int out, int p, const int8_t *x, int B, char *err, size_t errlen)
{
    if (in < 1 || out < 1 || in > 65536 || out > 65536)
        return err_set(err, errlen, "crossbar: bad layer shape %d x %d", out, in);
    if (p < 1 || p > 4096)
        return err_set(err, errlen, "crossbar: parallelism p must be 1-4096, got %d", p);
    if (B < 0)
        return err_set(err, errlen, "crossbar: bad batch of %d vectors", B);
    for (size_t k = 0; k < (size_t)B * in; k++)
        if (x[k] < -1 || x[k] > 1)
            return err_set(err, errlen, "crossbar: inputs must be -1, 0 or +1; vector %zu input "
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
        return err_set(err, errlen, "crossbar: 1 to 64 layers, got %d", nlayers);
    if (p < 1 || adc_channels < 1)
        return err_set(err, errlen, "crossbar: parallelism and ADC channels must be >= 1, got "
                                    "%d and %d", p, adc_channels);
    xbar_ops o = {0, 0, 0};
    for (int l = 0; l < nlayers; l++) {
        int in = sizes[l], nout = sizes[l + 1];
        if (in < 1 || nout < 1)
            return err_set(err, errlen, "crossbar: layer %d has %d inputs and %d outputs", l + 1,
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

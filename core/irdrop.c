#include "irdrop.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "isa.h"

/* Right-hand sides solved together, one per SIMD lane (both solvers). */
enum { LANES = 8 };
/* irdrop_fast: Gauss-Seidel sweeps before the over-relaxation factor is set. */
enum { SOR_AFTER = 3 };
/* ... and re-estimated every SOR_EVERY sweeps after that (adaptive SOR). */
enum { SOR_EVERY = 4 };
#define SOR_SLOW 2.0
/* irdrop_fast's sweeps take up to WAVE lines at a time, interleaved node by node, so that
 * their elimination chains (each node waits for the one before) overlap in the CPU. */
enum { WAVE = 4 };

/* ---- arguments ------------------------------------------------------------------------ */

static int check_ohm(double v, const char *name, char *err, size_t errlen)
{
    if (!isfinite(v) || v < 0 || v > IRDROP_MAX_OHM)
        return err_set(err, errlen, "irdrop: %s must be finite and in [0, %g] ohm, got %g", name,
                       IRDROP_MAX_OHM, v);
    return 0;
}

int irdrop_check(const irdrop_params *p, char *err, size_t errlen)
{
    if (!p)
        return err_set(err, errlen, "irdrop: no parameters");
    if (check_ohm(p->row_wire_ohm, "row_wire_ohm", err, errlen) ||
        check_ohm(p->col_wire_ohm, "col_wire_ohm", err, errlen) ||
        check_ohm(p->access_ohm, "access_ohm", err, errlen) ||
        check_ohm(p->driver_ohm, "driver_ohm", err, errlen))
        return -1;
    double lo = p->row_wire_ohm < p->col_wire_ohm ? p->row_wire_ohm : p->col_wire_ohm;
    double hi = p->row_wire_ohm < p->col_wire_ohm ? p->col_wire_ohm : p->row_wire_ohm;
    if (hi > 0 && lo < IRDROP_MIN_WIRE_OHM)
        return err_set(err, errlen, "irdrop: row_wire_ohm and col_wire_ohm must be both 0 (ideal "
                                    "lines) or both at least %g ohm, got %g and %g",
                       IRDROP_MIN_WIRE_OHM, p->row_wire_ohm, p->col_wire_ohm);
    return 0;
}

int irdrop_is_ideal(const irdrop_params *p)
{
    return p->row_wire_ohm == 0 && p->col_wire_ohm == 0 && p->access_ohm == 0 &&
           p->driver_ohm == 0;
}

static int check_group(const irdrop_group *gr, int ldg, int ldt, char *err, size_t errlen)
{
    if (!gr)
        return err_set(err, errlen, "irdrop: no group");
    if (gr->n < 1 || gr->m < 1 || gr->n > 65536 || gr->m > 65536)
        return err_set(err, errlen, "irdrop: group must be 1-65536 rows x 1-65536 columns, got "
                                    "n %d x m %d", gr->n, gr->m);
    if (gr->r0 < 0 || gr->array_rows < 1 || gr->r0 > gr->array_rows - gr->n)
        return err_set(err, errlen, "irdrop: rows r0 %d .. %lld outside the array's 0 .. %d",
                       gr->r0, (long long)gr->r0 + gr->n - 1, gr->array_rows - 1);
    if (gr->c0 < 0)
        return err_set(err, errlen, "irdrop: c0 must be >= 0, got %d", gr->c0);
    if (ldg < gr->m || ldt < gr->m)
        return err_set(err, errlen, "irdrop: row strides ldg %d and ldt %d must be >= m %d", ldg,
                       ldt, gr->m);
    return 0;
}

static int check_g(const float *g, int ldg, int n, int m, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            float v = g[(size_t)i * ldg + j];
            if (!(v > 0 && v <= IRDROP_G_MAX))
                return err_set(err, errlen, "irdrop: g[%d][%d] = %g uS outside (0, %g]", i, j, v,
                               IRDROP_G_MAX);
        }
    return 0;
}

static int check_all(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                     const void *t, int ldt, char *err, size_t errlen)
{
    if (irdrop_check(p, err, errlen) || check_group(gr, ldg, ldt, err, errlen))
        return -1;
    if (!g || !t)
        return err_set(err, errlen, "irdrop: no %s", g ? "output" : "conductances");
    return check_g(g, ldg, gr->n, gr->m, err, errlen);
}

/* ---- where results go: T (n, m) as double or as float -------------------------------- */

typedef struct sink {
    double *d;
    float *f;
    int ld;
} sink;

static void put(const sink *s, int i, int j, double v)
{
    if (s->d)
        s->d[(size_t)i * s->ld + j] = v;
    else
        s->f[(size_t)i * s->ld + j] = (float)v;
}

/* All resistances 0: T = g, copied. */
static void copy_g(const irdrop_group *gr, const float *g, int ldg, const sink *s)
{
    for (int i = 0; i < gr->n; i++)
        for (int j = 0; j < gr->m; j++)
            put(s, i, j, g[(size_t)i * ldg + j]);
}

/* Cell conductance in S: g (uS) in series with the access transistor. */
static double cell_y(float g_us, double access_ohm)
{
    return 1.0 / (1e6 / (double)g_us + access_ohm);
}

/* wires 0: every node of row i is one node behind the driver, every column at 0 V, so
 * T_ij = y_ij / (1 + driver sum_j' y_ij') (in uS). */
static void closed_form(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                        const sink *s)
{
    for (int i = 0; i < gr->n; i++) {
        const float *gi = g + (size_t)i * ldg;
        double sum = 0;
        for (int j = 0; j < gr->m; j++)
            sum += cell_y(gi[j], p->access_ohm);
        double scale = 1e6 / (1.0 + p->driver_ohm * sum);
        for (int j = 0; j < gr->m; j++)
            put(s, i, j, cell_y(gi[j], p->access_ohm) * scale);
    }
}

/* ---- the network both solvers work on -------------------------------------------------- */

/* n <= m driven lines ("rows") of m cells and m output lines ("columns") of n cells. Cell
 * (a, b) sits at position b of row a counted from the row's lead (b = 0 next to it), and
 * at position a of column b, whose lead hangs below a = n - 1. Each row is driven through
 * conductance gsrc, each column ends in its TIA through gout, segments are gwr along rows
 * and gwc along columns. For the
 * group as given (n <= m) rows are rows; otherwise the network is transposed: row a is
 * the group's column m - 1 - a, column b the group's row n - 1 - b, the leads swapped, and
 * by reciprocity T(i, j) = T'(m - 1 - j, n - 1 - i). */
typedef struct ladder {
    int n, m, transposed;
    double gwr, gwc, gsrc, gout; /* S: segments of rows, of columns; the two leads */
    double *y;             /* (n, m) S */
} ladder;

static int ladder_build(ladder *L, const irdrop_params *p, const irdrop_group *gr,
                        const float *g, int ldg, char *err, size_t errlen)
{
    int n = gr->n, m = gr->m, tr = n > m;
    double row_lead = p->driver_ohm + (gr->c0 + 1.0) * p->row_wire_ohm;
    double col_lead = (double)(gr->array_rows - (gr->r0 + n - 1)) * p->col_wire_ohm;
    L->transposed = tr;
    L->n = tr ? m : n;
    L->m = tr ? n : m;
    L->gwr = 1.0 / (tr ? p->col_wire_ohm : p->row_wire_ohm);
    L->gwc = 1.0 / (tr ? p->row_wire_ohm : p->col_wire_ohm);
    L->gsrc = 1.0 / (tr ? col_lead : row_lead);
    L->gout = 1.0 / (tr ? row_lead : col_lead);
    L->y = malloc(sizeof(double) * (size_t)n * m);
    if (!L->y)
        return err_set(err, errlen, "irdrop: out of memory");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            size_t at = tr ? (size_t)(m - 1 - j) * n + (n - 1 - i) : (size_t)i * m + j;
            L->y[at] = cell_y(g[(size_t)i * ldg + j], p->access_ohm);
        }
    return 0;
}

/* T'(a, b) = v (uS) into the group's T. */
static void put_ladder(const ladder *L, const sink *s, int a, int b, double v)
{
    if (L->transposed)
        put(s, L->m - 1 - b, L->n - 1 - a, v);
    else
        put(s, a, b, v);
}

/* ---- irdrop_exact: banded Cholesky ----------------------------------------------------- */

/* Nodes by block column: R(a, b) = 2 (b n + a), C(a, b) = R(a, b) + 1; half bandwidth
 * kd = 2 n (R(a, b) - R(a, b - 1)). Row k of the band holds A(k, k - kd .. k). Within it,
 * row k's envelope starts at first[k], A's first nonzero of the row: the factor has no fill
 * before it, so sums start there (a column node's row is only 3 wide: half the work). */
typedef struct band {
    size_t nn;
    int kd;
    double *a;
    size_t *first;
} band;

static double *band_at(const band *B, size_t row, size_t col)
{
    return B->a + row * (size_t)(B->kd + 1) + (col + (size_t)B->kd - row);
}

static void band_assemble(const ladder *L, band *B)
{
    int n = L->n, m = L->m;
    double gwr = L->gwr, gwc = L->gwc;
    for (int b = 0; b < m; b++)
        for (int a = 0; a < n; a++) {
            size_t r = 2 * ((size_t)b * n + a), c = r + 1;
            double y = L->y[(size_t)a * m + b];
            *band_at(B, r, r) = y + gwr * ((b > 0) + (b < m - 1)) + (b == 0 ? L->gsrc : 0);
            if (b > 0)
                *band_at(B, r, r - 2 * (size_t)n) = -gwr;
            *band_at(B, c, c) = y + gwc * ((a > 0) + (a < n - 1)) + (a == n - 1 ? L->gout : 0);
            *band_at(B, c, r) = -y;
            if (a > 0)
                *band_at(B, c, c - 2) = -gwc;
        }
}

static void band_envelope(band *B)
{
    for (size_t k = 0; k < B->nn; k++) {
        size_t c = k > (size_t)B->kd ? k - (size_t)B->kd : 0;
        while (c < k && *band_at(B, k, c) == 0)
            c++;
        B->first[k] = c;
    }
}

/* sum x[p] y[p] in a fixed order: four running sums, then (s0 + s1) + (s2 + s3). */
static double dot(const double *x, const double *y, size_t len)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t p = 0;
    for (; p + 4 <= len; p += 4) {
        s0 += x[p] * y[p];
        s1 += x[p + 1] * y[p + 1];
        s2 += x[p + 2] * y[p + 2];
        s3 += x[p + 3] * y[p + 3];
    }
    for (; p < len; p++)
        s0 += x[p] * y[p];
    return (s0 + s1) + (s2 + s3);
}

/* In place, A = L L^T row by row (the dot-product form: rows k and c of L are contiguous
 * in the band). -1 if a pivot is not positive. */
static int band_factor(band *B)
{
    for (size_t k = 0; k < B->nn; k++) {
        double *rk = band_at(B, k, 0);
        for (size_t c = B->first[k]; c <= k; c++) {
            size_t lo = B->first[k] > B->first[c] ? B->first[k] : B->first[c];
            double s = rk[c] - dot(rk + lo, band_at(B, c, lo), c - lo);
            if (c < k) {
                rk[c] = s / *band_at(B, c, c);
            } else {
                if (!(s > 0))
                    return -1;
                rk[c] = sqrt(s);
            }
        }
    }
    return 0;
}

/* x (nn, LANES) := A^-1 x, lanes 0 .. nk-1. */
static void band_solve(const band *B, double *x, int nk)
{
    for (size_t k = 0; k < B->nn; k++) {
        const double *rk = band_at(B, k, 0);
        double s[LANES];
        for (int l = 0; l < nk; l++)
            s[l] = x[k * LANES + l];
        for (size_t c = B->first[k]; c < k; c++)
            for (int l = 0; l < nk; l++)
                s[l] -= rk[c] * x[c * LANES + l];
        for (int l = 0; l < nk; l++)
            x[k * LANES + l] = s[l] / rk[k];
    }
    for (size_t k = B->nn; k-- > 0;) {
        const double *rk = band_at(B, k, 0);
        for (int l = 0; l < nk; l++)
            x[k * LANES + l] /= rk[k];
        for (size_t c = B->first[k]; c < k; c++)
            for (int l = 0; l < nk; l++)
                x[c * LANES + l] -= rk[c] * x[k * LANES + l];
    }
}

/* Rows a0 .. a0+nk-1 driven at 1 V, one per lane: T'(a, b) = gout V(C(n-1, b)). */
static void band_ports(const ladder *L, const band *B, int a0, int nk, double *x, const sink *s)
{
    memset(x, 0, sizeof(double) * B->nn * LANES);
    for (int l = 0; l < nk; l++)
        x[2 * (size_t)(a0 + l) * LANES + l] = L->gsrc;
    band_solve(B, x, nk);
    for (int l = 0; l < nk; l++)
        for (int b = 0; b < L->m; b++) {
            size_t c = 2 * ((size_t)b * L->n + L->n - 1) + 1;
            put_ladder(L, s, a0 + l, b, L->gout * x[c * LANES + l] * 1e6);
        }
}

static int exact_ladder(const ladder *L, const sink *s, char *err, size_t errlen)
{
    band B = {2 * (size_t)L->n * L->m, 2 * L->n, NULL, NULL};
    B.a = calloc(B.nn * (size_t)(B.kd + 1), sizeof(double));
    B.first = malloc(sizeof(size_t) * B.nn);
    double *x = malloc(sizeof(double) * B.nn * LANES);
    if (!B.a || !B.first || !x) {
        free(B.a);
        free(B.first);
        free(x);
        return err_set(err, errlen, "irdrop: out of memory (%zu MB for the band)",
                       B.nn * (size_t)(B.kd + 1) * sizeof(double) >> 20);
    }
    band_assemble(L, &B);
    band_envelope(&B);
    int rc = band_factor(&B);
    if (rc == 0)
        for (int a0 = 0; a0 < L->n; a0 += LANES)
            band_ports(L, &B, a0, L->n - a0 < LANES ? L->n - a0 : LANES, x, s);
    free(B.a);
    free(B.first);
    free(x);
    if (rc)
        return err_set(err, errlen, "irdrop: nodal matrix not positive definite (numerically)");
    return 0;
}

/* Everything but the argument checks: the closed forms, or the ladder. */
static int exact_to(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                    const sink *s, char *err, size_t errlen)
{
    if (irdrop_is_ideal(p)) {
        copy_g(gr, g, ldg, s);
        return 0;
    }
    if (p->row_wire_ohm == 0 && p->col_wire_ohm == 0) {
        closed_form(p, gr, g, ldg, s);
        return 0;
    }
    ladder L;
    if (ladder_build(&L, p, gr, g, ldg, err, errlen))
        return -1;
    int rc = exact_ladder(&L, s, err, errlen);
    free(L.y);
    return rc;
}

int irdrop_exact(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                 double *t, int ldt, char *err, size_t errlen)
{
    if (check_all(p, gr, g, ldg, t, ldt, err, errlen))
        return -1;
    sink s = {t, NULL, ldt};
    return exact_to(p, gr, g, ldg, &s, err, errlen);
}

/* ---- irdrop_fast: alternating line relaxation ------------------------------------------ */

typedef struct relax {
    const ladder *L;
    double *yc;      /* (m, n) the cells in column order */
    double *fr, *hr; /* (n, m) row lines' Thomas factors 1/e and gw/e, by position b */
    double *fc, *hc; /* (m, n) column lines' factors, by position a */
    double *vr;      /* (n, m, LANES) row-node voltages */
    double *vc;      /* (m, n, LANES) column-node voltages */
    double *z;       /* (WAVE, m + 2, LANES) the forward elimination of a wave of lines */
    double omega;    /* over-relaxation factor of the current sweep */
} relax;

/* One line's Thomas factors. The line's equations are d_q x_q - w x_{q-1} - w x_{q+1} = r_q
 * with q = 0 the open end; elimination runs from there (no cancellation in e_q), and f_q, h_q
 * are stored at at[q * step]. */
static void line_factors(const double *d, int len, double w, double *f, double *h,
                         ptrdiff_t first, ptrdiff_t step)
{
    double hprev = 0;
    for (int q = 0; q < len; q++) {
        double e = d[q] - w * hprev;
        ptrdiff_t at = first + q * step;
        f[at] = 1.0 / e;
        h[at] = w * f[at];
        hprev = h[at];
    }
}

static void relax_factors(relax *R, double *d)
{
    const ladder *L = R->L;
    int n = L->n, m = L->m;
    for (int a = 0; a < n; a++) {
        for (int q = 0; q < m; q++) { /* q = 0 at the open end b = m - 1 */
            int b = m - 1 - q;
            d[q] = L->y[(size_t)a * m + b] + L->gwr * ((b > 0) + (b < m - 1)) +
                   (b == 0 ? L->gsrc : 0);
        }
        line_factors(d, m, L->gwr, R->fr, R->hr, (ptrdiff_t)a * m + m - 1, -1);
    }
    for (int b = 0; b < m; b++) {
        for (int a = 0; a < n; a++)
            d[a] = L->y[(size_t)a * m + b] + L->gwc * ((a > 0) + (a < n - 1)) +
                   (a == n - 1 ? L->gout : 0);
        line_factors(d, n, L->gwc, R->fc, R->hc, (ptrdiff_t)b * n, 1);
    }
}

static void relax_free(relax *R)
{
    free(R->yc);
    free(R->fr);
    free(R->hr);
    free(R->fc);
    free(R->hc);
    free(R->vr);
    free(R->vc);
    free(R->z);
}

/* 64-byte aligned (a node's eight lanes are one cache line), zeroed. */
static double *lanes_alloc(size_t nodes)
{
    double *p = aligned_alloc(64, sizeof(double) * LANES * nodes);
    if (p)
        memset(p, 0, sizeof(double) * LANES * nodes);
    return p;
}

static int relax_init(relax *R, const ladder *L, char *err, size_t errlen)
{
    size_t nm = (size_t)L->n * L->m;
    *R = (relax){L,
                 malloc(sizeof(double) * nm),
                 malloc(sizeof(double) * nm),
                 malloc(sizeof(double) * nm),
                 malloc(sizeof(double) * nm),
                 malloc(sizeof(double) * nm),
                 lanes_alloc(nm),
                 lanes_alloc(nm),
                 lanes_alloc(WAVE * ((size_t)L->m + 2)), /* n <= m */
                 1.0};
    if (!R->yc || !R->fr || !R->hr || !R->fc || !R->hc || !R->vr || !R->vc || !R->z) {
        relax_free(R);
        return err_set(err, errlen, "irdrop: out of memory");
    }
    for (int a = 0; a < L->n; a++)
        for (int b = 0; b < L->m; b++)
            R->yc[(size_t)b * L->n + a] = L->y[(size_t)a * L->m + b];
    relax_factors(R, R->z); /* z as scratch for the diagonals */
    memset(R->z, 0, sizeof(double) * LANES * WAVE * ((size_t)L->m + 2));
    return 0;
}

/* Per lane, over one sweep: the largest y |dV| of row and of column nodes, the largest cell
 * current, the change of the largest output current and the largest output current. */
typedef struct sweep_stats {
    double drow[LANES], dcol[LANES], cell[LANES], dout[LANES], out[LANES];
} sweep_stats;

static inline double maxd(double a, double b)
{
    return a > b ? a : b;
}

/* Loops over the lanes of a node are what the compiler vectorises, in each copy for its
 * target (isa.h); every operation is lane by lane, so every copy computes the same bits. */
#define LANE_LOOP _Pragma("GCC unroll 1") for (int l = 0; l < LANES; l++)

/* One node of a line's forward elimination: z = (y V_other + gw z_before) f. */
ISA_INLINE void node_forward(double *restrict z, const double *restrict other,
                             const double *restrict zbefore, double y, double gw, double f)
{
    LANE_LOOP z[l] = (y * other[l] + gw * zbefore[l]) * f;
}

/* One node of the back substitution, x = z + h x_after, and its over-relaxed update
 * v += d = omega (x - v); dmax = max(dmax, y |d|). */
ISA_INLINE void node_back(double *restrict x, const double *restrict z, double h,
                          double *restrict v, double *restrict d, double y, double omega,
                          double *restrict dmax)
{
    LANE_LOOP {
        x[l] = z[l] + h * x[l];
        d[l] = omega * (x[l] - v[l]);
        v[l] += d[l];
        double t = y * fabs(d[l]);
        dmax[l] = t > dmax[l] ? t : dmax[l];
    }
}

/* Line k of a wave's scratch: its z, with a zero node before its first and after its last. */
ISA_INLINE double *wave_z(const relax *R, int k)
{
    return R->z + ((size_t)k * (R->L->m + 2) + 1) * LANES;
}

/* Rows a1 .. a1+cnt-1 given the column voltages (lane l drives row a0 + l at 1 V). */
ISA_INLINE void sweep_rows(relax *R, int a1, int cnt, int a0, double *restrict drow)
{
    const ladder *L = R->L;
    int n = L->n, m = L->m;
    for (int b = m - 1; b >= 0; b--)
        for (int k = 0; k < cnt; k++) {
            size_t at = (size_t)(a1 + k) * m + b;
            double *z = wave_z(R, k) + (size_t)b * LANES;
            node_forward(z, R->vc + ((size_t)b * n + a1 + k) * LANES, z + LANES, L->y[at],
                         L->gwr, R->fr[at]);
        }
    for (int k = 0; k < cnt; k++) /* the source, in its row's equation at b = 0 */
        if (a1 + k >= a0 && a1 + k < a0 + LANES)
            wave_z(R, k)[a1 + k - a0] += L->gsrc * R->fr[(size_t)(a1 + k) * m];
    double x[WAVE][LANES] = {{0}}, d[LANES], dmax[LANES];
    LANE_LOOP dmax[l] = drow[l];
    for (int b = 0; b < m; b++)
        for (int k = 0; k < cnt; k++) {
            size_t at = (size_t)(a1 + k) * m + b;
            node_back(x[k], wave_z(R, k) + (size_t)b * LANES, R->hr[at],
                      R->vr + at * LANES, d, L->y[at], R->omega, dmax);
        }
    LANE_LOOP drow[l] = dmax[l];
}

/* Columns b1 .. b1+cnt-1 given the row voltages; their leads' far ends are at 0 V. */
ISA_INLINE void sweep_cols(relax *R, int b1, int cnt, sweep_stats *restrict st)
{
    const ladder *L = R->L;
    int n = L->n, m = L->m;
    for (int a = 0; a < n; a++)
        for (int k = 0; k < cnt; k++) {
            size_t at = (size_t)(b1 + k) * n + a;
            double *z = wave_z(R, k) + (size_t)a * LANES;
            node_forward(z, R->vr + ((size_t)a * m + b1 + k) * LANES, z - LANES, R->yc[at],
                         L->gwc, R->fc[at]);
        }
    double x[WAVE][LANES] = {{0}}, d[LANES], dcol[LANES], cell[LANES];
    LANE_LOOP {
        dcol[l] = st->dcol[l];
        cell[l] = st->cell[l];
    }
    for (int a = n - 1; a >= 0; a--)
        for (int k = 0; k < cnt; k++) {
            size_t at = (size_t)(b1 + k) * n + a;
            double *v = R->vc + at * LANES, y = R->yc[at];
            const double *vr = R->vr + ((size_t)a * m + b1 + k) * LANES;
            node_back(x[k], wave_z(R, k) + (size_t)a * LANES, R->hc[at], v, d, y, R->omega,
                      dcol);
            LANE_LOOP {
                double c = y * fabs(vr[l] - v[l]);
                cell[l] = c > cell[l] ? c : cell[l];
            }
            if (a == n - 1) /* the output, gout V(n - 1) */
                LANE_LOOP {
                    double dout = L->gout * fabs(d[l]), out = L->gout * fabs(v[l]);
                    st->dout[l] = dout > st->dout[l] ? dout : st->dout[l];
                    st->out[l] = out > st->out[l] ? out : st->out[l];
                }
        }
    LANE_LOOP {
        st->dcol[l] = dcol[l];
        st->cell[l] = cell[l];
    }
}

/* One sweep: every row line, then every column line. */
ISA_INLINE void sweep_body(relax *R, int a0, sweep_stats *st)
{
    sweep_stats s;
    memset(&s, 0, sizeof s);
    for (int a = 0; a < R->L->n; a += WAVE)
        sweep_rows(R, a, R->L->n - a < WAVE ? R->L->n - a : WAVE, a0, s.drow);
    for (int b = 0; b < R->L->m; b += WAVE)
        sweep_cols(R, b, R->L->m - b < WAVE ? R->L->m - b : WAVE, &s);
    *st = s;
}

ISA_CLONES(sweep, (relax *R, int a0, sweep_stats *st), (R, a0, st))

/* The stopping rule's delta for lane l: the largest change of a cell current (bounded by
 * y |dV_row| + y |dV_col|) relative to the largest cell current, or of an output current
 * relative to the largest output, whichever is larger. */
static double lane_delta(const sweep_stats *st, int l)
{
    double cell = st->cell[l] > 0 ? (st->drow[l] + st->dcol[l]) / st->cell[l] : 0;
    double out = st->out[l] > 0 ? st->dout[l] / st->out[l] : 0;
    return maxd(cell, out);
}

/* The error left after sweep k changed things by d[k] (d[k-1], d[k-2] the sweeps before):
 * at contraction r per sweep, d r / (1 - r). r is measured over two sweeps (SOR's
 * contraction oscillates from one to the next), and is at least omega - 1, the modulus of
 * every eigenvalue of an over-relaxed 2-cyclic iteration. */
static double lane_estimate(const double *d, double omega)
{
    if (d[0] == 0)
        return 0;
    if (!(d[2] > 0))
        return INFINITY;
    double r = maxd(sqrt(d[0] / d[2]), omega - 1);
    return r < 1 ? d[0] * r / (1 - r) : INFINITY;
}

/* Young's optimum for a 2-cyclic matrix whose Jacobi iteration contracts by mu. */
static double sor_omega(double mu2)
{
    mu2 = mu2 < 0.999 ? mu2 : 0.999;
    return 2.0 / (1.0 + sqrt(1.0 - mu2));
}

/* mu^2 from the contraction lambda observed at over-relaxation omega <= the optimum
 * (Hageman and Young): (lambda + omega - 1)^2 = lambda omega^2 mu^2. At omega = 1 this is
 * the Gauss-Seidel contraction itself. */
static double sor_mu2(double lambda, double omega)
{
    double t = lambda + omega - 1;
    return lambda > 0 ? t * t / (lambda * omega * omega) : 0;
}

/* After sweep k: shift each lane's deltas and return the largest error estimate (NaN counts
 * as not converged), with in *slowest the largest contraction seen (over the last sweep at
 * SOR_AFTER, still Gauss-Seidel; over the last two after that). */
static double batch_verdict(double (*d)[3], const sweep_stats *st, int nk, int k,
                            double omega, double *slowest)
{
    double worst = 0;
    *slowest = 0;
    for (int l = 0; l < nk; l++) {
        d[l][2] = d[l][1];
        d[l][1] = d[l][0];
        d[l][0] = lane_delta(st, l);
        double est = k >= 3 ? lane_estimate(d[l], omega) : INFINITY;
        worst = est < worst ? worst : est;
        if (k == SOR_AFTER)
            *slowest = maxd(*slowest, d[l][1] > 0 ? d[l][0] / d[l][1] : 0);
        else
            *slowest = maxd(*slowest, d[l][2] > 0 ? sqrt(d[l][0] / d[l][2]) : 0);
    }
    return worst;
}

/* Over-relaxation: set at SOR_AFTER from the Gauss-Seidel contraction, then raised every
 * SOR_EVERY sweeps while the contraction stays well above omega - 1 (omega below the
 * optimum); *mu2 is the largest estimate of mu^2 so far, so omega only grows. */
static void sor_update(relax *R, int k, double slowest, double *mu2)
{
    int due = k == SOR_AFTER || (k > SOR_AFTER && (k - SOR_AFTER) % SOR_EVERY == 0 &&
                                 slowest < 1 && slowest > SOR_SLOW * (R->omega - 1));
    if (!due)
        return;
    *mu2 = maxd(*mu2, sor_mu2(slowest, R->omega));
    R->omega = sor_omega(*mu2);
}

/* Rows a0 .. a0+nk-1 driven at 1 V, one per lane, from all nodes at 0 V, sweeping (rows,
 * then columns) until every lane's estimate is below IRDROP_TOL: the number of sweeps, or
 * -1 after IRDROP_MAX_SWEEPS. */
static int relax_batch(relax *R, int a0, int nk, double *estimate)
{
    size_t nm = (size_t)R->L->n * R->L->m;
    memset(R->vr, 0, sizeof(double) * nm * LANES);
    memset(R->vc, 0, sizeof(double) * nm * LANES);
    double d[LANES][3] = {{0}}; /* each lane's delta of this sweep and of the two before */
    double mu2 = 0;
    R->omega = 1;
    for (int k = 1; k <= IRDROP_MAX_SWEEPS; k++) {
        sweep_stats st;
        double slowest;
        sweep(R, a0, &st);
        double worst = batch_verdict(d, &st, nk, k, R->omega, &slowest);
        if (worst < IRDROP_TOL) {
            *estimate = worst;
            return k;
        }
        sor_update(R, k, slowest, &mu2);
    }
    return -1;
}

static void relax_output(const relax *R, int a0, int nk, const sink *s)
{
    const ladder *L = R->L;
    for (int b = 0; b < L->m; b++) {
        const double *v = R->vc + ((size_t)b * L->n + L->n - 1) * LANES;
        for (int l = 0; l < nk; l++)
            put_ladder(L, s, a0 + l, b, L->gout * v[l] * 1e6);
    }
}

/* 1 if every batch converged (results in s), 0 if one did not, -1 on error. */
static int fast_ladder(const ladder *L, const sink *s, irdrop_stats *st, char *err,
                       size_t errlen)
{
    relax R;
    if (relax_init(&R, L, err, errlen))
        return -1;
    int ok = 1;
    for (int a0 = 0; a0 < L->n && ok; a0 += LANES) {
        int nk = L->n - a0 < LANES ? L->n - a0 : LANES;
        double est = 0;
        int sweeps = relax_batch(&R, a0, nk, &est);
        if (sweeps < 0) {
            ok = 0;
            st->sweeps = IRDROP_MAX_SWEEPS;
            break;
        }
        relax_output(&R, a0, nk, s);
        st->sweeps = sweeps > st->sweeps ? sweeps : st->sweeps;
        st->estimate = est > st->estimate ? est : st->estimate;
    }
    relax_free(&R);
    return ok;
}

int irdrop_fast(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                float *t, int ldt, irdrop_stats *st, char *err, size_t errlen)
{
    irdrop_stats mine;
    if (!st)
        st = &mine;
    memset(st, 0, sizeof *st);
    if (check_all(p, gr, g, ldg, t, ldt, err, errlen))
        return -1;
    sink s = {NULL, t, ldt};
    if (p->row_wire_ohm == 0 && p->col_wire_ohm == 0)
        return exact_to(p, gr, g, ldg, &s, err, errlen);
    ladder L;
    if (ladder_build(&L, p, gr, g, ldg, err, errlen))
        return -1;
    st->solves = L.n;
    int rc = fast_ladder(&L, &s, st, err, errlen);
    if (rc == 0) {
        st->fallback = 1;
        st->estimate = 0;
        rc = exact_ladder(&L, &s, err, errlen) ? -1 : 1;
    }
    free(L.y);
    return rc < 0 ? -1 : 0;
}

/* Unit tests for core/irdrop: irdrop_exact against a dense modified-nodal-analysis solve of
 * the network built here from its description (zero resistances as 0 V sources, so every
 * case is covered, ideal lines included); irdrop_fast against irdrop_exact at the physical
 * parameters; the limits (all resistances 0: T = g bit for bit; one cell by hand; currents
 * fall as the wires grow and as more rows are driven); the same bits on every
 * instruction-set path; bad arguments. Measured figures are printed. MPCL_TEST_QUICK (the
 * valgrind pass): fewer and smaller cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "irdrop.h"
#include "isa.h"
#include "rng.h"

static int quick(void) { return getenv("MPCL_TEST_QUICK") != NULL; }

/* The default chip's neighbourhood: wire, access, driver. */
static const irdrop_params physical = {2.5, 2.5, 2000, 200};

/* Binary-weight-like conductances: LRS 33.3 uS +-4% or HRS 1 uS, 50/50; mixed = 1 adds
 * cells anywhere in (0.5, 500] uS. */
static void random_g(rng *r, float *g, int count, int mixed)
{
    for (int k = 0; k < count; k++) {
        int kind = (int)rng_below(r, mixed ? 3 : 2);
        g[k] = kind == 0   ? 33.3f * (float)(0.96 + 0.08 * rng_uniform(r))
               : kind == 1 ? 1.0f
                           : (float)(0.5 + 499.5 * rng_uniform(r));
    }
}

/* ---- the dense reference ------------------------------------------------------------ */

/* A netlist solved by modified nodal analysis: node 0 is ground, every voltage source (and
 * every 0-ohm resistor) adds its current as an unknown. */
typedef struct mna {
    int nodes, sources, cap, rhs; /* cap: room for up to cap - nodes + 1 sources */
    double *a, *b;                /* (cap, cap), (cap, rhs) */
} mna;

static void mna_init(mna *M, int nodes, int max_sources, int rhs)
{
    M->nodes = nodes;
    M->sources = 0;
    M->cap = nodes - 1 + max_sources;
    M->rhs = rhs;
    M->a = calloc((size_t)M->cap * M->cap, sizeof(double));
    M->b = calloc((size_t)M->cap * rhs, sizeof(double));
    assert_non_null(M->a);
    assert_non_null(M->b);
}

static double *mna_at(mna *M, int r, int c)
{
    return M->a + (size_t)r * M->cap + c;
}

/* A voltage source from node p (+) to q: value[k] in right-hand side k (NULL: 0 V). Returns
 * the index of its current (flowing from p through the source to q). */
static int mna_source(mna *M, int p, int q, const double *value)
{
    int k = M->nodes - 1 + M->sources++;
    assert_true(k < M->cap);
    if (p) {
        *mna_at(M, p - 1, k) += 1;
        *mna_at(M, k, p - 1) += 1;
    }
    if (q) {
        *mna_at(M, q - 1, k) -= 1;
        *mna_at(M, k, q - 1) -= 1;
    }
    for (int s = 0; s < M->rhs && value; s++)
        M->b[(size_t)k * M->rhs + s] = value[s];
    return k;
}

static void mna_resistor(mna *M, int p, int q, double ohm)
{
    if (ohm == 0) {
        mna_source(M, p, q, NULL);
        return;
    }
    double g = 1.0 / ohm;
    if (p)
        *mna_at(M, p - 1, p - 1) += g;
    if (q)
        *mna_at(M, q - 1, q - 1) += g;
    if (p && q) {
        *mna_at(M, p - 1, q - 1) -= g;
        *mna_at(M, q - 1, p - 1) -= g;
    }
}

/* Gaussian elimination with partial pivoting; the solutions replace b. */
static void mna_solve(mna *M)
{
    int n = M->nodes - 1 + M->sources, s = M->rhs;
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(*mna_at(M, r, c)) > fabs(*mna_at(M, piv, c)))
                piv = r;
        assert_true(*mna_at(M, piv, c) != 0);
        for (int k = 0; k < n && piv != c; k++) {
            double t = *mna_at(M, c, k);
            *mna_at(M, c, k) = *mna_at(M, piv, k);
            *mna_at(M, piv, k) = t;
        }
        for (int k = 0; k < s && piv != c; k++) {
            double t = M->b[(size_t)c * s + k];
            M->b[(size_t)c * s + k] = M->b[(size_t)piv * s + k];
            M->b[(size_t)piv * s + k] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = *mna_at(M, r, c) / *mna_at(M, c, c);
            if (f == 0)
                continue;
            for (int k = c; k < n; k++)
                *mna_at(M, r, k) -= f * *mna_at(M, c, k);
            for (int k = 0; k < s; k++)
                M->b[(size_t)r * s + k] -= f * M->b[(size_t)c * s + k];
        }
    }
    for (int r = n - 1; r >= 0; r--)
        for (int k = 0; k < s; k++) {
            double v = M->b[(size_t)r * s + k];
            for (int c = r + 1; c < n; c++)
                v -= *mna_at(M, r, c) * M->b[(size_t)c * s + k];
            M->b[(size_t)r * s + k] = v / *mna_at(M, r, r);
        }
}

/* The group's network from the description in irdrop.h; right-hand side i drives row i at
 * 1 V. Nodes: 1 + i the sources, then row nodes, column nodes, TIA inputs. t (n, m) uS. */
static void dense_reference(const irdrop_params *p, const irdrop_group *gr, const float *g,
                            double *t)
{
    int n = gr->n, m = gr->m, r_last = gr->r0 + n - 1;
    int src = 1, row = src + n, col = row + n * m, tia = col + n * m, nodes = tia + m;
    mna M;
    mna_init(&M, nodes, n + m + 2 * n * m + n + m, n); /* sources and 0-ohm resistors */
    double *volts = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        memset(volts, 0, sizeof(double) * n);
        volts[i] = 1;
        mna_source(&M, src + i, 0, volts);
        mna_resistor(&M, src + i, row + i * m, p->driver_ohm + (gr->c0 + 1) * p->row_wire_ohm);
        for (int j = 0; j < m; j++) {
            if (j + 1 < m)
                mna_resistor(&M, row + i * m + j, row + i * m + j + 1, p->row_wire_ohm);
            mna_resistor(&M, row + i * m + j, col + i * m + j,
                         1e6 / g[i * m + j] + p->access_ohm);
            if (i + 1 < n)
                mna_resistor(&M, col + i * m + j, col + (i + 1) * m + j, p->col_wire_ohm);
        }
    }
    int *tia_current = malloc(sizeof(int) * m);
    for (int j = 0; j < m; j++) {
        mna_resistor(&M, col + (n - 1) * m + j, tia + j,
                     (gr->array_rows - r_last) * p->col_wire_ohm);
        tia_current[j] = mna_source(&M, tia + j, 0, NULL);
    }
    mna_solve(&M);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            t[i * m + j] = M.b[(size_t)tia_current[j] * n + i] * 1e6;
    free(tia_current);
    free(volts);
    free(M.a);
    free(M.b);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void check_ok(int rc, const char *err)
{
    if (rc)
        fail_msg("unexpected error: %s", err);
}

/* max |a - b| over the largest |b|, and the worst per column (over that column's largest). */
static double worst_error(const double *a, const double *b, int n, int m, double *per_column)
{
    double top = 0, diff = 0, col = 0;
    for (int k = 0; k < n * m; k++) {
        top = fabs(b[k]) > top ? fabs(b[k]) : top;
        diff = fabs(a[k] - b[k]) > diff ? fabs(a[k] - b[k]) : diff;
    }
    for (int j = 0; j < m; j++) {
        double cm = 0, cd = 0;
        for (int i = 0; i < n; i++) {
            cm = fabs(b[i * m + j]) > cm ? fabs(b[i * m + j]) : cm;
            cd = fabs(a[i * m + j] - b[i * m + j]) > cd ? fabs(a[i * m + j] - b[i * m + j]) : cd;
        }
        col = cd / cm > col ? cd / cm : col;
    }
    if (per_column)
        *per_column = col;
    return diff / top;
}

static void random_params(rng *r, irdrop_params *p)
{
    double u[3] = {rng_uniform(r), rng_uniform(r), rng_uniform(r)};
    /* both wires 0, or both on (equal or not) */
    int wires = rng_below(r, 4) != 0;
    p->row_wire_ohm = wires ? 0.05 + 10 * u[0] : 0;
    p->col_wire_ohm = !wires ? 0 : rng_below(r, 2) ? p->row_wire_ohm : 0.05 + 10 * rng_uniform(r);
    p->access_ohm = rng_below(r, 4) == 0 ? 0 : 100 + 5000 * u[1];
    p->driver_ohm = rng_below(r, 4) == 0 ? 0 : 10 + 1000 * u[2];
}

static void random_group(rng *r, irdrop_group *gr, int max)
{
    gr->n = 1 + (int)rng_below(r, (uint32_t)max);
    gr->m = 1 + (int)rng_below(r, (uint32_t)max);
    gr->r0 = (int)rng_below(r, 20);
    gr->array_rows = gr->r0 + gr->n + (int)rng_below(r, 30);
    gr->c0 = (int)rng_below(r, 40);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_exact_vs_dense(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 11);
    int cases = quick() ? 100 : 300;
    double worst = 0, worst_fast = 0;
    for (int c = 0; c < cases; c++) {
        irdrop_params p;
        irdrop_group gr;
        random_params(&r, &p);
        random_group(&r, &gr, 6);
        int n = gr.n, m = gr.m;
        float g[36], tf[36];
        double te[36], tr[36];
        random_g(&r, g, n * m, 1);
        char err[256] = "";
        check_ok(irdrop_exact(&p, &gr, g, m, te, m, err, sizeof err), err);
        check_ok(irdrop_fast(&p, &gr, g, m, tf, m, NULL, err, sizeof err), err);
        dense_reference(&p, &gr, g, tr);
        double e = worst_error(te, tr, n, m, NULL), col;
        if (e > 1e-9)
            fail_msg("case %d (%dx%d, wires %g/%g access %g driver %g): exact off by %.3g", c,
                     n, m, p.row_wire_ohm, p.col_wire_ohm, p.access_ohm, p.driver_ohm, e);
        worst = e > worst ? e : worst;
        for (int k = 0; k < n * m; k++)
            te[k] = tf[k];
        worst_error(te, tr, n, m, &col);
        assert_true(col < IRDROP_FAST_BOUND);
        worst_fast = col > worst_fast ? col : worst_fast;
    }
    print_message("exact vs dense MNA, %d random groups up to 6x6: worst relative error %.2g; "
                  "fast: %.2g of the column's largest\n", cases, worst, worst_fast);
}

/* irdrop_fast against irdrop_exact on groups of the default chip's kind. */
static void test_fast_vs_exact(void **state)
{
    (void)state;
    static const int full[][4] = {{16, 64, 0, 0},  {64, 16, 448, 0}, {48, 96, 100, 7},
                                  {100, 37, 0, 3}, {1, 200, 5, 0},   {200, 3, 300, 60},
                                  {16, 256, 0, 0}, {128, 64, 384, 0}};
    static const int small[][4] = {
        {16, 32, 0, 0}, {40, 12, 100, 5}, {1, 50, 3, 0}, {100, 37, 0, 3}, {16, 64, 496, 0}};
    int cases = quick() ? 5 : 8;
    rng r;
    rng_seed(&r, 12);
    double worst = 0;
    int sweeps_max = 0;
    for (int c = 0; c < cases; c++) {
        const int *k = quick() ? small[c] : full[c];
        irdrop_group gr = {512, k[2], k[0], k[3], k[1]};
        irdrop_params p = physical;
        if (c % 3 == 1)
            p = (irdrop_params){0.5, 0.2, 1000, 500};
        if (c % 3 == 2)
            p = (irdrop_params){1, 5, 3000, 100};
        int n = gr.n, m = gr.m;
        float *g = malloc(sizeof(float) * n * m), *tf = malloc(sizeof(float) * n * m);
        double *te = malloc(sizeof(double) * n * m), *tfd = malloc(sizeof(double) * n * m);
        random_g(&r, g, n * m, 0);
        char err[256] = "";
        irdrop_stats st;
        check_ok(irdrop_exact(&p, &gr, g, m, te, m, err, sizeof err), err);
        check_ok(irdrop_fast(&p, &gr, g, m, tf, m, &st, err, sizeof err), err);
        for (int q = 0; q < n * m; q++)
            tfd[q] = tf[q];
        double col;
        worst_error(tfd, te, n, m, &col);
        assert_int_equal(st.fallback, 0);
        assert_int_equal(st.solves, n < m ? n : m);
        assert_true(st.estimate < IRDROP_TOL);
        assert_true(col < IRDROP_FAST_BOUND);
        worst = col > worst ? col : worst;
        sweeps_max = st.sweeps > sweeps_max ? st.sweeps : sweeps_max;
        free(g);
        free(tf);
        free(te);
        free(tfd);
    }
    print_message("fast vs exact on %d groups of up to %d cells: worst error %.2g of the "
                  "column's largest |T| (bound %g), at most %d sweeps\n", cases,
                  quick() ? 3700 : 16384, worst, IRDROP_FAST_BOUND, sweeps_max);
}

/* All resistances 0: T is g, bit for bit, from both solvers. */
static void test_ideal_is_g(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 13);
    irdrop_params zero = {0, 0, 0, 0};
    irdrop_group gr = {512, 100, 7, 20, 9};
    float g[7 * 12], tf[7 * 12];
    double te[7 * 12];
    random_g(&r, g, 7 * 12, 1);
    char err[256] = "";
    assert_true(irdrop_is_ideal(&zero));
    assert_false(irdrop_is_ideal(&physical));
    check_ok(irdrop_exact(&zero, &gr, g, 12, te, 12, err, sizeof err), err);
    check_ok(irdrop_fast(&zero, &gr, g, 12, tf, 12, NULL, err, sizeof err), err);
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 9; j++) {
            float e = (float)te[i * 12 + j];
            assert_memory_equal(&e, &g[i * 12 + j], sizeof(float));
            assert_memory_equal(&tf[i * 12 + j], &g[i * 12 + j], sizeof(float));
            assert_true(te[i * 12 + j] == (double)g[i * 12 + j]);
        }
    /* Ideal lines and driver, access transistors only: T = y. */
    irdrop_params access = {0, 0, 2000, 0};
    check_ok(irdrop_exact(&access, &gr, g, 12, te, 12, err, sizeof err), err);
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 9; j++) {
            double y = 1e6 / (1e6 / g[i * 12 + j] + 2000.0);
            assert_true(fabs(te[i * 12 + j] - y) <= 1e-12 * y);
        }
}

/* One cell (n = m = 1): the source, its lead, the cell and the column lead in series. */
static void test_single_cell(void **state)
{
    (void)state;
    irdrop_params p = physical;
    irdrop_group gr = {512, 37, 1, 11, 1};
    float g = 33.3f;
    double te;
    float tf;
    char err[256] = "";
    check_ok(irdrop_exact(&p, &gr, &g, 1, &te, 1, err, sizeof err), err);
    check_ok(irdrop_fast(&p, &gr, &g, 1, &tf, 1, NULL, err, sizeof err), err);
    double ohm = p.driver_ohm + (11 + 1) * p.row_wire_ohm + 1e6 / 33.3f + p.access_ohm +
                 (512 - 37) * p.col_wire_ohm;
    double expect = 1e6 / ohm;
    assert_true(fabs(te - expect) <= 1e-12 * expect);
    assert_true(fabs(tf - expect) <= 1e-6 * expect);
    print_message("one LRS cell at row 37, column 11: T = %.6f uS (g %.1f uS, %.1f%% lost)\n",
                  te, 33.3, 100 * (1 - te / 33.3));
}

/* Column sums and a lone LRS cell fall as the wires grow. */
static void test_wire_monotone(void **state)
{
    (void)state;
    static const double wires[] = {0, 0.5, 1, 2, 4, 8};
    rng r;
    rng_seed(&r, 14);
    enum { N = 12, M = 20 };
    float g[N * M], tf[N * M];
    double te[N * M], prev_sum[M], prev_cell = INFINITY;
    random_g(&r, g, N * M, 0);
    irdrop_group gr = {512, 0, N, 0, M}, one = {512, 0, 1, 0, 1};
    char err[256] = "";
    for (int w = 0; w < 6; w++) {
        irdrop_params p = {wires[w], wires[w], 2000, 200};
        check_ok(irdrop_exact(&p, &gr, g, M, te, M, err, sizeof err), err);
        check_ok(irdrop_fast(&p, &gr, g, M, tf, M, NULL, err, sizeof err), err);
        for (int j = 0; j < M; j++) {
            double sum = 0, sumf = 0;
            for (int i = 0; i < N; i++) {
                sum += te[i * M + j];
                sumf += tf[i * M + j];
            }
            if (w > 0)
                assert_true(sum < prev_sum[j] && sumf < prev_sum[j]);
            prev_sum[j] = sum;
        }
        float lrs = 33.3f, cf;
        double cell;
        check_ok(irdrop_exact(&p, &one, &lrs, 1, &cell, 1, err, sizeof err), err);
        check_ok(irdrop_fast(&p, &one, &lrs, 1, &cf, 1, NULL, err, sizeof err), err);
        assert_true(cell < prev_cell && cf < prev_cell);
        prev_cell = cell;
    }
}

/* More driven rows above the same cells (same last row, so the same column leads): each
 * row's current (its row of T summed) falls, and so does every LRS entry, since the columns
 * now also feed the other rows' cells. An HRS entry may rise a little: current from the
 * row's LRS cells climbs other columns, crosses to a row above and comes down its column. */
static void row_sums_fall(const double *big, const double *small, const float *g, int k,
                          int m, double *least, double *hrs_rise)
{
    for (int i = 0; i < k; i++) {
        double sb = 0, ss = 0;
        for (int j = 0; j < m; j++) {
            double a = big[i * m + j], b = small[i * m + j];
            sb += a;
            ss += b;
            if (g[i * m + j] > 10) {
                assert_true(a < b);
                *least = a / b < *least ? a / b : *least;
            } else if (a / b - 1 > *hrs_rise) {
                *hrs_rise = a / b - 1;
            }
        }
        assert_true(sb < ss);
    }
}

static void test_more_rows_less_current(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 15);
    enum { N = 16, M = 24, K = 4 };
    float g[N * M], tf_small[K * M], tf_big[N * M];
    double t_small[K * M], t_big[N * M], f_small[K * M], f_big[N * M];
    random_g(&r, g, N * M, 0);
    irdrop_group big = {512, 100, N, 3, M}, small = {512, 100 + N - K, K, 3, M};
    const float *g_small = g + (N - K) * M;
    char err[256] = "";
    check_ok(irdrop_exact(&physical, &big, g, M, t_big, M, err, sizeof err), err);
    check_ok(irdrop_exact(&physical, &small, g_small, M, t_small, M, err, sizeof err), err);
    check_ok(irdrop_fast(&physical, &big, g, M, tf_big, M, NULL, err, sizeof err), err);
    check_ok(irdrop_fast(&physical, &small, g_small, M, tf_small, M, NULL, err, sizeof err),
             err);
    for (int q = 0; q < N * M; q++)
        f_big[q] = tf_big[q];
    for (int q = 0; q < K * M; q++)
        f_small[q] = tf_small[q];
    double least = 1, rise = 0, least_f = 1, rise_f = 0;
    row_sums_fall(t_big + (N - K) * M, t_small, g_small, K, M, &least, &rise);
    row_sums_fall(f_big + (N - K) * M, f_small, g_small, K, M, &least_f, &rise_f);
    print_message("the last %d rows driven with %d more above them: LRS entries of T fall to "
                  "%.1f%% at worst; HRS entries rise by %.1f%% at most\n", K, N - K,
                  100 * least, 100 * rise);
}

/* The same bits on every instruction-set path, and from one call to the next. */
static void test_same_bits_every_path(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 16);
    enum { N = 21, M = 70 };
    static float g[N * M], first[N * M], again[N * M];
    random_g(&r, g, N * M, 0);
    irdrop_group rows = {512, 5, N, 9, M}, cols = {512, 5, M, 9, N};
    char err[256] = "";
    for (int shape = 0; shape < 2; shape++) {
        const irdrop_group *gr = shape ? &cols : &rows;
        int m = gr->m;
        isa_set(isa_best());
        check_ok(irdrop_fast(&physical, gr, g, m, first, m, NULL, err, sizeof err), err);
        for (int p = (int)isa_best(); p >= ISA_GENERIC; p--) {
            isa_set((isa_path)p);
            check_ok(irdrop_fast(&physical, gr, g, m, again, m, NULL, err, sizeof err), err);
            assert_memory_equal(first, again, sizeof(float) * N * M);
        }
    }
    isa_set(isa_best());
}

static void expect_error(const irdrop_params *p, const irdrop_group *gr, const float *g,
                         int ldg, const char *word)
{
    char err[256] = "";
    double td[64];
    float tf[64];
    assert_int_equal(irdrop_exact(p, gr, g, ldg, td, 8, err, sizeof err), -1);
    if (!strstr(err, word) || strchr(err, '\n'))
        fail_msg("error '%s' should be one line naming %s", err, word);
    err[0] = 0;
    assert_int_equal(irdrop_fast(p, gr, g, ldg, tf, 8, NULL, err, sizeof err), -1);
    if (!strstr(err, word) || strchr(err, '\n'))
        fail_msg("error '%s' should be one line naming %s", err, word);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    static const char *names[3] = {"row_wire_ohm", "access_ohm", "driver_ohm"};
    const double bad[] = {-1, NAN, INFINITY, -INFINITY, 2 * IRDROP_MAX_OHM};
    float g[64];
    for (int k = 0; k < 64; k++)
        g[k] = 10;
    irdrop_group gr = {512, 0, 4, 0, 8};
    for (int f = 0; f < 3; f++)
        for (int b = 0; b < 5; b++) {
            irdrop_params p = physical;
            double *field = f == 0 ? &p.row_wire_ohm : f == 1 ? &p.access_ohm : &p.driver_ohm;
            *field = bad[b];
            char err[256] = "";
            assert_int_equal(irdrop_check(&p, err, sizeof err), -1);
            assert_non_null(strstr(err, names[f]));
            expect_error(&p, &gr, g, 8, names[f]);
        }
    irdrop_params tiny = {1e-6, 1e-6, 0, 0}, half = {2, 0, 0, 0};
    expect_error(&tiny, &gr, g, 8, "col_wire_ohm");
    expect_error(&half, &gr, g, 8, "both 0");
    char err[256] = "";
    assert_int_equal(irdrop_check(&physical, err, sizeof err), 0);

    irdrop_group past = {512, 510, 4, 0, 8}, none = {512, 0, 0, 0, 8}, left = {512, 0, 4, -1, 8};
    expect_error(&physical, &past, g, 8, "r0");
    expect_error(&physical, &none, g, 8, "rows");
    expect_error(&physical, &left, g, 8, "c0");
    expect_error(&physical, &gr, g, 7, "ldg");
    const float cells[] = {0, -1, NAN, INFINITY, 500.5f};
    for (int c = 0; c < 5; c++) {
        g[2 * 8 + 5] = cells[c];
        expect_error(&physical, &gr, g, 8, "g[2][5]");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_vs_dense),
        cmocka_unit_test(test_fast_vs_exact),
        cmocka_unit_test(test_ideal_is_g),
        cmocka_unit_test(test_single_cell),
        cmocka_unit_test(test_wire_monotone),
        cmocka_unit_test(test_more_rows_less_current),
        cmocka_unit_test(test_same_bits_every_path),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* mpcl-bench-irdrop: irdrop_fast against irdrop_exact (core/irdrop.h) on a full 512-row
 * layer (array_rows 512, r0 = 0, c0 = 0) of binary-weight-like conductances (each cell LRS
 * 33.3 uS +-4% or HRS 1 uS, 50/50), its rows split into groups of p. For p in {16, 64, 512}
 * with m = 64 columns, and p in {16, 64, 256} with m = 256: the worst error of any T entry
 * relative to its column's largest |T| and, for LRS cells, relative to the entry itself; the
 * mean IR-drop loss 1 - T/y of the LRS cells (y: the cell with its access transistor); each
 * solver's time for the layer (about 15 s in all, 11 of them irdrop_exact's at p = 256).
 * Then irdrop_fast alone where irdrop_exact would take too long (p = 512, m = 256: a band of
 * 1 GB), and a last line
 *   irdrop: fast vs exact worst relative error X over ...
 * Options: --wire OHM (2.5), --access OHM (2000), --driver OHM (200), --seed N (1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "irdrop.h"
#include "rng.h"

enum { ROWS = 512 };

static void die(const char *msg)
{
    fprintf(stderr, "mpcl-bench-irdrop: %s\n", msg);
    exit(1);
}

static void parse(int argc, char **argv, irdrop_params *p, unsigned long long *seed)
{
    *p = (irdrop_params){2.5, 2.5, 2000, 200};
    *seed = 1;
    for (int k = 1; k < argc; k++) {
        const char *v = k + 1 < argc ? argv[k + 1] : NULL;
        char *end = NULL;
        double x = v ? strtod(v, &end) : 0;
        if (!v || end == v || *end)
            die("usage: mpcl-bench-irdrop [--wire OHM] [--access OHM] [--driver OHM] [--seed N]");
        if (!strcmp(argv[k], "--wire"))
            p->row_wire_ohm = p->col_wire_ohm = x;
        else if (!strcmp(argv[k], "--access"))
            p->access_ohm = x;
        else if (!strcmp(argv[k], "--driver"))
            p->driver_ohm = x;
        else if (!strcmp(argv[k], "--seed"))
            *seed = strtoull(v, NULL, 10);
        else
            die("unknown option (--wire, --access, --driver, --seed)");
        k++;
    }
    char err[256];
    if (irdrop_check(p, err, sizeof err))
        die(err);
}

/* One layer's results. */
typedef struct layer_run {
    double t_fast, t_exact;  /* s for the layer */
    double err_col, err_lrs; /* worst relative errors */
    double loss;             /* mean 1 - T/y over the LRS cells */
    int sweeps, fallbacks, groups;
} layer_run;

/* Both solvers over every group of p rows (exact = 0: irdrop_fast alone), timed. */
static void solve_layer(const irdrop_params *p, const float *g, int m, int pgroup, int exact,
                        float *tf, double *te, layer_run *out)
{
    char err[256];
    memset(out, 0, sizeof *out);
    for (int r0 = 0; r0 < ROWS; r0 += pgroup) {
        irdrop_group gr = {ROWS, r0, pgroup, 0, m};
        irdrop_stats st;
        size_t at = (size_t)r0 * m;
        double t0 = clock_seconds();
        if (irdrop_fast(p, &gr, g + at, m, tf + at, m, &st, err, sizeof err))
            die(err);
        double t1 = clock_seconds();
        if (exact && irdrop_exact(p, &gr, g + at, m, te + at, m, err, sizeof err))
            die(err);
        out->t_fast += t1 - t0;
        out->t_exact += clock_seconds() - t1;
        out->sweeps = st.sweeps > out->sweeps ? st.sweeps : out->sweeps;
        out->fallbacks += st.fallback;
        out->groups++;
    }
}

/* The worst errors of tf against te, group by group and column by column. */
static void compare_layer(const float *g, const float *tf, const double *te, int m, int pgroup,
                          layer_run *out)
{
    for (int r0 = 0; r0 < ROWS; r0 += pgroup)
        for (int j = 0; j < m; j++) {
            double top = 0;
            for (int i = r0; i < r0 + pgroup; i++)
                top = fmax(top, fabs(te[(size_t)i * m + j]));
            for (int i = r0; i < r0 + pgroup; i++) {
                size_t k = (size_t)i * m + j;
                double e = fabs(tf[k] - te[k]);
                out->err_col = fmax(out->err_col, e / top);
                if (g[k] > 10)
                    out->err_lrs = fmax(out->err_lrs, e / fabs(te[k]));
            }
        }
}

/* Mean 1 - T/y over the LRS cells. */
static double lrs_loss(const irdrop_params *p, const float *g, const float *tf,
                       const double *te, int m)
{
    double sum = 0;
    long count = 0;
    for (size_t k = 0; k < (size_t)ROWS * m; k++)
        if (g[k] > 10) {
            double y = 1e6 / (1e6 / g[k] + p->access_ohm);
            sum += 1 - (te ? te[k] : tf[k]) / y;
            count++;
        }
    return count ? sum / count : 0;
}

static void run_layer(const irdrop_params *p, const float *g, int m, int pgroup, int exact,
                      layer_run *out)
{
    float *tf = malloc(sizeof(float) * ROWS * m);
    double *te = malloc(sizeof(double) * ROWS * m);
    if (!tf || !te)
        die("out of memory");
    solve_layer(p, g, m, pgroup, exact, tf, te, out);
    if (exact)
        compare_layer(g, tf, te, m, pgroup, out);
    out->loss = lrs_loss(p, g, tf, exact ? te : NULL, m);
    free(tf);
    free(te);
}

int main(int argc, char **argv)
{
    irdrop_params p;
    unsigned long long seed;
    parse(argc, argv, &p, &seed);
    float *g = malloc(sizeof(float) * ROWS * 256);
    if (!g)
        die("out of memory");
    rng r;
    rng_seed(&r, seed);
    for (int k = 0; k < ROWS * 256; k++)
        g[k] = rng_below(&r, 2) ? 33.3f * (float)(0.96 + 0.08 * rng_uniform(&r)) : 1.0f;
    printf("irdrop bench: 512-row layer, wire %g ohm, access %g ohm, driver %g ohm, seed %llu\n",
           p.row_wire_ohm, p.access_ohm, p.driver_ohm, seed);
    static const int cases[][3] = {{16, 64, 1},  {64, 64, 1},   {512, 64, 1},
                                   {16, 256, 1}, {64, 256, 1},  {256, 256, 1},
                                   {512, 256, 0}};
    double worst = 0, worst_lrs = 0;
    int compared = 0, fallbacks = 0;
    for (int c = 0; c < 7; c++) {
        int pg = cases[c][0], m = cases[c][1], ex = cases[c][2];
        layer_run lr;
        run_layer(&p, g, m, pg, ex, &lr);
        printf("p %3d m %3d: %2d groups, fast %8.4f s (%7.2f ms per group, <= %2d sweeps, %d "
               "fallbacks)", pg, m, lr.groups, lr.t_fast, 1e3 * lr.t_fast / lr.groups,
               lr.sweeps, lr.fallbacks);
        if (ex)
            printf(", exact %7.3f s; worst error %.2g of column max, %.2g of LRS entry; "
                   "LRS loss %.1f%%\n", lr.t_exact, lr.err_col, lr.err_lrs, 100 * lr.loss);
        else
            printf(", exact not run; LRS loss (fast) %.1f%%\n", 100 * lr.loss);
        if (ex) {
            worst = fmax(worst, lr.err_col);
            worst_lrs = fmax(worst_lrs, lr.err_lrs);
            compared++;
        }
        fallbacks += lr.fallbacks;
    }
    printf("irdrop: fast vs exact worst relative error %.2g over %d layers (p 16/64/512 x m 64, "
           "p 16/64/256 x m 256; of the column's largest |T|; %.2g of LRS entries; bound %g; %d "
           "fallbacks)\n",
           worst, compared, worst_lrs, IRDROP_FAST_BOUND, fallbacks);
    free(g);
    return worst < IRDROP_FAST_BOUND ? 0 : 1;
}

/* Unit tests for core/device: the distributions a fresh and a programmed array show, read
 * fluctuation, retention drift, stuck cells, switching probabilities, write-verify, the
 * reset to a target resistance, imported maps, determinism from the chip id, the noise
 * banks against rng.h, and argument checks. Measured figures are printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "rng.h"

typedef struct stats {
    double mean, sd;
    long n;
} stats;

static stats stats_of(const double *x, long n)
{
    double s = 0, s2 = 0;
    for (long i = 0; i < n; i++)
        s += x[i];
    double m = s / n;
    for (long i = 0; i < n; i++)
        s2 += (x[i] - m) * (x[i] - m);
    return (stats){m, sqrt(s2 / (n - 1)), n};
}

/* sd of the sum of two Gaussians each truncated at 3 sigma (0.9866 of the untruncated). */
static double trunc_sd(double a, double b) { return 0.98657 * sqrt(a * a + b * b); }

static void make(dev_array *a, const dev_params *p, uint64_t id)
{
    char err[256] = "";
    if (dev_create(a, p, id, 0, err, sizeof err))
        fail_msg("dev_create: %s", err);
}

static dev_cell_info cell(const dev_array *a, int r, int c)
{
    dev_cell_info ci;
    char err[128];
    assert_int_equal(dev_cell(a, r, c, &ci, err, sizeof err), 0);
    return ci;
}

/* Form cell (r, c) with nominal pulses until it is LRS (at most 20); returns the pulses. */
static int form(dev_array *a, int r, int c)
{
    char err[128];
    for (int k = 1; k <= 20; k++) {
        assert_true(dev_pulse(a, r, c, DEV_FORM, 3.0f, 10e-6f, err, sizeof err) >= 0);
        if (cell(a, r, c).state == DEV_LRS)
            return k;
    }
    return -1;
}

static void test_defaults_and_checks(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    char err[256] = "";
    assert_int_equal(dev_check_params(&p, err, sizeof err), 0);
    dev_params q = p;
    q.g_lrs = 0.5f;
    assert_int_equal(dev_check_params(&q, err, sizeof err), -1);
    assert_non_null(strstr(err, "g_lrs > g_hrs"));
    q = p;
    q.rows = 0;
    assert_int_equal(dev_check_params(&q, err, sizeof err), -1);
    assert_non_null(strstr(err, "array size"));
    q = p;
    q.stuck_lrs = 0.7f;
    q.stuck_hrs = 0.4f;
    assert_int_equal(dev_check_params(&q, err, sizeof err), -1);
    q = p;
    q.set.v_nom = 0.5f; /* below its v_min */
    assert_int_equal(dev_check_params(&q, err, sizeof err), -1);
    assert_non_null(strstr(err, "set pulse"));
    dev_array a;
    assert_int_equal(dev_create(&a, &q, 1, 0, err, sizeof err), -1);
}

/* A fresh default array: the stuck fractions and the unformed (HRS) distribution. */
static void test_fresh_array(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    dev_array a;
    make(&a, &p, 1);
    long sl, sh, n = (long)p.rows * p.cols;
    dev_stuck_counts(&a, &sl, &sh);
    /* The stuck fractions over four arrays of chip 1 (units 0-3, 4 n cells). */
    for (int unit = 1; unit < 4; unit++) {
        dev_array u;
        char err[256] = "";
        if (dev_create(&u, &p, 1, unit, err, sizeof err))
            fail_msg("dev_create: %s", err);
        long ul, uh;
        dev_stuck_counts(&u, &ul, &uh);
        sl += ul;
        sh += uh;
        dev_free(&u);
    }
    print_message("stuck cells: %ld at LRS, %ld at HRS of %ld (%.3f%%, %.3f%%)\n", sl, sh, 4 * n,
                  100.0 * sl / (4 * n), 100.0 * sh / (4 * n));
    /* 0.5% each of 1,048,576 cells: 5242.9 expected, binomial sd 72.2. A count outside
     * 4764..5722 (6.6 sd) has probability 3.8e-11 (exact binomial tails, both sides), so a
     * false failure of the two counts has probability below 1e-10. */
    assert_true(labs(sl - 5243) < 480 && labs(sh - 5243) < 480);
    double *g = malloc(sizeof(double) * n);
    long m = 0;
    for (int r = 0; r < p.rows; r++)
        for (int c = 0; c < p.cols; c++) {
            dev_cell_info ci = cell(&a, r, c);
            if (ci.stuck == DEV_FREE) {
                assert_int_equal(ci.state, DEV_UNFORMED);
                g[m++] = ci.g;
            }
        }
    stats s = stats_of(g, m);
    double sd = trunc_sd(p.g_hrs_d2d, p.g_hrs_c2c);
    print_message("unformed HRS: mean %.4f uS (nominal %.2f), sd %.4f (expected %.4f)\n", s.mean,
                  p.g_hrs, s.sd, sd);
    assert_true(fabs(s.mean - p.g_hrs) < 0.005 * p.g_hrs);
    assert_true(fabs(s.sd - sd) < 0.03 * sd);
    free(g);
    dev_free(&a);
}

/* LRS after forming, HRS after a nominal reset, and how often nominal pulses fail, over
 * 16,384 cells: every bound below is at least 7 standard errors wide, so that together they
 * fail falsely with probability below 1e-12 (normal approximation of each statistic). */
static void test_switched_distributions(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 128;
    p.stuck_lrs = p.stuck_hrs = 0;
    dev_array a;
    make(&a, &p, 2);
    int n = p.rows * p.cols;
    double *lrs = malloc(sizeof(double) * n), *hrs = malloc(sizeof(double) * n);
    long pulses = 0;
    for (int k = 0; k < n; k++) {
        int used = form(&a, k / p.cols, k % p.cols);
        assert_true(used >= 1); /* 20 failed pulses: 0.05^20 = 1e-26 a cell */
        pulses += used;
        lrs[k] = cell(&a, k / p.cols, k % p.cols).g;
    }
    char err[128];
    for (int k = 0; k < n; k++) {
        while (cell(&a, k / p.cols, k % p.cols).state != DEV_HRS)
            assert_true(dev_pulse(&a, k / p.cols, k % p.cols, DEV_RESET, 1.8f, 100e-9f, err,
                                  sizeof err) >= 0);
        hrs[k] = cell(&a, k / p.cols, k % p.cols).g;
    }
    stats sl = stats_of(lrs, n), sh = stats_of(hrs, n);
    double sdl = trunc_sd(p.g_lrs_d2d, p.g_lrs_c2c), sdh = trunc_sd(p.g_hrs_d2d, p.g_hrs_c2c);
    double fail_rate = 1.0 - (double)n / pulses;
    print_message("LRS after forming: mean %.3f uS (nominal %.1f), sd %.3f (expected %.3f); "
                  "nominal forming failed %.2f%% of pulses (p_fail %.0f%%)\n",
                  sl.mean, p.g_lrs, sl.sd, sdl, 100 * fail_rate, 100 * p.form.p_fail);
    print_message("HRS after reset: mean %.4f uS, sd %.4f (expected %.4f + a residual of "
                  "%.4f)\n", sh.mean, sh.sd, sdh, (p.g_lrs - p.g_hrs) * exp(-8.0));
    /* Standard errors over n = 16,384 cells: the LRS mean 1.469 / 128 = 0.0115 uS (the bound,
     * 0.0999 uS, is 8.7 of them: 3e-18); the HRS mean 0.1779 / 128 = 0.00139 uS (bound 0.01:
     * 7.2, 6e-13); the sample sd's relative error sqrt((kurtosis - 1) / 4n) = 0.0054 for
     * both (kurtosis 2.88 and 2.90; bounds 5% and 6%: 9.3 and 11 of them, 1e-20); failed
     * forming pulses, negative binomial with mean 862.3 and sd 30.1 (the bounds 0.035 and
     * 0.065 are 594 and 1139 failures: 8.9 sd, 3e-19). */
    assert_true(fabs(sl.mean - p.g_lrs) < 0.003 * p.g_lrs);
    assert_true(fabs(sl.sd - sdl) < 0.05 * sdl);
    assert_true(fabs(sh.mean - p.g_hrs - (p.g_lrs - p.g_hrs) * exp(-8.0)) < 0.01 * p.g_hrs);
    assert_true(fabs(sh.sd - sdh) < 0.06 * sdh);
    assert_true(fail_rate > 0.035 && fail_rate < 0.065);
    /* LRS and HRS are far apart: every LRS above every HRS. Certain: the truncation keeps an
     * LRS at or above 33.3 - 3 (1.33 + 0.67) = 27.3 uS and an HRS at or below 1 + 3 (0.15 +
     * 0.1) plus the reset's residual (under 0.02 uS), 1.77 uS. */
    for (int k = 0; k < n; k++)
        assert_true(lrs[k] > 10 * hrs[k]);
    free(lrs);
    free(hrs);
    dev_free(&a);
}

/* Failure of a first forming pulse against amplitude and width: p_fail ^ s. */
static void test_switch_probability(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 64;
    p.stuck_lrs = p.stuck_hrs = 0;
    struct {
        float v, w;
    } pulse[] = {{2.5f, 10e-6f}, {3.0f, 10e-6f}, {3.5f, 10e-6f}, {3.0f, 5e-6f}, {1.9f, 1e-3f}};
    double seen[5];
    for (int t = 0; t < 5; t++) {
        dev_array a;
        make(&a, &p, 3);
        long failed = 0, n = (long)p.rows * p.cols;
        char err[128];
        for (int k = 0; k < n; k++) {
            assert_true(dev_pulse(&a, k / p.cols, k % p.cols, DEV_FORM, pulse[t].v, pulse[t].w,
                                  err, sizeof err) >= 0);
            failed += cell(&a, k / p.cols, k % p.cols).state != DEV_LRS;
        }
        seen[t] = (double)failed / n;
        double s = (pulse[t].w / p.form.w_nom) * exp((pulse[t].v - p.form.v_nom) / p.v_slope);
        double expect = pulse[t].v < p.form.v_min ? 1.0 : pow(p.form.p_fail, s);
        print_message("forming at %.1f V, %g us: %.2f%% fail (model %.2f%%)\n", pulse[t].v,
                      pulse[t].w * 1e6, 100 * seen[t], 100 * expect);
        /* Binomial tails over 4096 cells: 6e-13, 3e-12, 1e-121, 1e-10 and 0 (below v_min) for
         * the five pulses, 1.1e-10 in all; the order below follows from these bounds. */
        assert_true(fabs(seen[t] - expect) < 0.02 + 0.1 * expect);
        dev_free(&a);
    }
    assert_true(seen[0] > seen[1] && seen[1] > seen[2] && seen[3] > seen[1]);
}

/* LRS max conductance deviation over 10,000 reads: below 15%. */
static void test_read_fluctuation(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 16;
    p.stuck_lrs = p.stuck_hrs = 0;
    dev_array a;
    make(&a, &p, 4);
    int cells = getenv("MPCL_TEST_QUICK") ? 2 : 8;
    double worst = 0, sum = 0;
    char err[128];
    for (int c = 0; c < cells; c++) {
        assert_true(form(&a, 0, c) >= 1);
        float lo = 1e9f, hi = -1e9f;
        double mean = 0;
        for (int k = 0; k < 10000; k++) {
            float g;
            assert_int_equal(dev_read(&a, 0, c, &g, err, sizeof err), 0);
            lo = g < lo ? g : lo;
            hi = g > hi ? g : hi;
            mean += g;
        }
        mean /= 10000;
        double dev = (hi - lo) / mean;
        worst = dev > worst ? dev : worst;
        sum += dev;
        assert_int_equal(cell(&a, 0, c).reads, 10000);
    }
    print_message("LRS max deviation over 10,000 reads: mean %.2f%%, worst %.2f%% (%d cells)\n",
                  100 * sum / cells, 100 * worst, cells);
    /* Certain: reads are bounded at 3.4506 sigmas, so (max - min) / mean < 6.9 * 0.015 +
     * the read drift of 10,000 reads (0.48%) < 11%. The mean falls below 6% only if some
     * cell's 10,000 reads span under 4 sigmas, so all stay below +2 sigmas or all above -2
     * (a read passes 2 sigmas with probability 0.021): 2 (1 - 0.021)^10000 = 1e-93 a cell. */
    assert_true(worst < 0.15);
    assert_true(sum / cells > 0.06 && sum / cells < 0.13);
    /* Without read noise, reads are exact up to drift. */
    assert_int_equal(dev_set_read_noise(&a, 0, err, sizeof err), 0);
    float g1, g2;
    dev_read(&a, 1, 1, &g1, err, sizeof err);
    dev_read(&a, 1, 1, &g2, err, sizeof err);
    assert_true(g1 == g2 && g1 == cell(&a, 1, 1).g);
    dev_free(&a);
}

/* Drift with time and reads: LRS falls, formed HRS rises, by the documented law. */
static void test_retention(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 8;
    p.stuck_lrs = p.stuck_hrs = 0;
    dev_array a;
    make(&a, &p, 5);
    char err[128];
    assert_true(form(&a, 0, 0) >= 1);
    assert_true(form(&a, 0, 1) >= 1);
    while (cell(&a, 0, 1).state != DEV_HRS)
        dev_pulse(&a, 0, 1, DEV_RESET, 1.8f, 100e-9f, err, sizeof err);
    dev_cell_info l0 = cell(&a, 0, 0), h0 = cell(&a, 0, 1), u0 = cell(&a, 0, 2);
    assert_int_equal(dev_advance_time(&a, 1e4, err, sizeof err), 0);
    double f = p.drift_time * log1p(1e4 / p.drift_time_tau);
    dev_cell_info l1 = cell(&a, 0, 0), h1 = cell(&a, 0, 1), u1 = cell(&a, 0, 2);
    print_message("after 10^4 s: LRS %.3f -> %.3f uS (%.2f%%), HRS %.4f -> %.4f uS (%+.2f%%)\n",
                  l0.g_eff, l1.g_eff, 100 * (l1.g_eff / l0.g_eff - 1), h0.g_eff, h1.g_eff,
                  100 * (h1.g_eff / h0.g_eff - 1));
    assert_true(fabs(l1.g_eff / l0.g - (1 - f)) < 1e-5);
    assert_true(fabs(h1.g_eff / h0.g - (1 + f)) < 1e-5);
    assert_true(u1.g_eff == u0.g_eff); /* no filament, no drift */
    assert_int_equal(dev_add_reads(&a, 0, 0, 1, 2, 1000000, err, sizeof err), 0);
    double fr = p.drift_read * log1p(1e6 / p.drift_read_tau);
    dev_cell_info l2 = cell(&a, 0, 0);
    print_message("and 10^6 reads: LRS %.3f uS (%.2f%% below programmed)\n", l2.g_eff,
                  100 * (1 - l2.g_eff / l0.g));
    assert_true(fabs(l2.g_eff / l0.g - (1 - f - fr)) < 1e-5);
    assert_int_equal(dev_advance_time(&a, -1, err, sizeof err), -1);
    assert_non_null(strstr(err, "forward"));
    dev_free(&a);
}

/* Stuck cells never switch; every pulse counts as a write. */
static void test_stuck_cells(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 64;
    p.stuck_lrs = p.stuck_hrs = 0.05f;
    dev_array a;
    make(&a, &p, 6);
    char err[128];
    int seen_l = 0, seen_h = 0;
    for (int k = 0; k < p.rows * p.cols; k++) {
        int r = k / p.cols, c = k % p.cols;
        dev_cell_info ci = cell(&a, r, c);
        if (ci.stuck == DEV_FREE)
            continue;
        int was = ci.state;
        assert_int_equal(dev_pulse(&a, r, c, DEV_FORM, 3.5f, 20e-6f, err, sizeof err), 0);
        assert_int_equal(dev_pulse(&a, r, c, DEV_RESET, 2.5f, 1e-6f, err, sizeof err), 0);
        dev_cell_info after = cell(&a, r, c);
        assert_int_equal(after.state, was);
        assert_true(after.g == ci.g);
        assert_int_equal(after.writes, 2);
        seen_l += ci.stuck == DEV_STUCK_LRS;
        seen_h += ci.stuck == DEV_STUCK_HRS;
        assert_int_equal(was, ci.stuck == DEV_STUCK_LRS ? DEV_LRS : DEV_UNFORMED);
    }
    assert_true(seen_l > 100 && seen_h > 100); /* 204.8 expected: P(<= 100) = 8e-17 each */
    dev_free(&a);
}

/* Write-verify of a block: every free cell verifies; pulses add up to the write counts. */
static void test_write_verify(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 64;
    dev_array a;
    make(&a, &p, 7);
    dev_verify_params v;
    dev_default_verify(&v);
    int R = 48, C = 40;
    uint8_t *t = malloc((size_t)R * C), *failed = malloc((size_t)R * C);
    rng r;
    rng_seed(&r, 9);
    for (int k = 0; k < R * C; k++)
        t[k] = rng_below(&r, 2) ? DEV_LRS : DEV_HRS;
    dev_program_report rep;
    char err[128];
    assert_int_equal(dev_program_block(&a, 8, 16, R, C, t, C, &v, &rep, failed, err, sizeof err),
                     0);
    long writes = 0, stuck_wrong = 0, bad = 0;
    float window = p.g_lrs - p.g_hrs;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            dev_cell_info ci = cell(&a, 8 + i, 16 + j);
            writes += ci.writes;
            int want = t[i * C + j];
            int stuck_bad = (ci.stuck == DEV_STUCK_LRS && want == DEV_HRS) ||
                            (ci.stuck == DEV_STUCK_HRS && want == DEV_LRS);
            stuck_wrong += stuck_bad;
            bad += failed[i * C + j];
            if (stuck_bad)
                assert_int_equal(failed[i * C + j], 1);
            if (!failed[i * C + j]) {
                /* Verified on a noisy read: the true value is within a few read sigmas.
                 * Certain: a read is within 3.451 sigmas (5.2%) of g_eff, inside the 6%. */
                if (want == DEV_LRS)
                    assert_true(ci.g_eff >= (p.g_lrs - v.tol * window) * (1 - 4 * p.read_noise));
                else
                    assert_true(ci.g_eff <= (p.g_hrs + v.tol * window) * (1 + 4 * p.read_noise));
            }
        }
    print_message("write-verify of %ld cells: %ld pulses (%.2f a cell), %ld failed (%ld stuck in "
                  "the wrong state)\n", rep.cells, rep.pulses, (double)rep.pulses / rep.cells,
                  rep.failed, stuck_wrong);
    assert_int_equal(rep.cells, R * C);
    assert_int_equal(rep.pulses, writes);
    assert_int_equal(rep.failed, bad);
    /* Beyond the cells stuck in the wrong state, only LRS targets can fail: a free cell whose
     * device offset puts its LRS below the verify level (1.1e-5 of them fail, measured over
     * 16.6 million cells) or a cell stuck at a low LRS (0.27% of those: 1.3e-5 a cell), so
     * 2.5e-5 a target. The block has 954 LRS targets: Poisson mean 0.024, and 5 or more
     * such failures have probability 6e-11 (2e-10 at a 25% higher rate). */
    assert_true(rep.failed - stuck_wrong <= 4);
    /* Outside the block nothing was touched. */
    assert_int_equal(cell(&a, 0, 0).writes, 0);
    int pulses = -1;
    assert_int_equal(dev_program_cell(&a, 0, 0, DEV_HRS, &v, &pulses, err, sizeof err),
                     cell(&a, 0, 0).stuck == DEV_STUCK_LRS);
    if (cell(&a, 0, 0).stuck == DEV_FREE)
        assert_int_equal(pulses, 0); /* an unformed cell is already HRS */
    free(t);
    free(failed);
    dev_free(&a);
}

/* The paper resets a few cells to ~135 kOhm during fine-tuning. */
static void test_reset_to_target(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 16;
    p.stuck_lrs = p.stuck_hrs = 0;
    dev_array a;
    make(&a, &p, 8);
    char err[128];
    int ok = 0, n = 64;
    long pulses = 0;
    for (int k = 0; k < n; k++) {
        int r = k / 16, c = k % 16, used = 0;
        assert_true(form(&a, r, c) >= 1);
        int rc = dev_reset_to(&a, r, c, 135.0f, 0.1f, 100, &used, err, sizeof err);
        assert_true(rc == 0 || rc == 1);
        pulses += used;
        if (rc == 0) {
            ok++;
            float g = cell(&a, r, c).g_eff;
            /* Verified on a noisy read within 10%: the cell is within ~16%. Certain: a read
             * is within 3.4506 read sigmas of g_eff, so g_eff is at most 1.1 / (1 - 3.4506 *
             * 0.015) - 1 = 16.004% above the target (0.9 / 1.0518 - 1 = 14.4% below); the
             * bound leaves room for drift over the reads since the last switch (< 0.03%). */
            assert_true(fabs(g - 1000.0f / 135.0f) < 0.165f * 1000.0f / 135.0f);
            assert_int_equal(cell(&a, r, c).state, DEV_HRS);
        }
    }
    print_message("reset to 135 kOhm: %d of %d cells, %.1f pulses a cell\n", ok, n,
                  (double)pulses / n);
    /* A cell misses the target within 100 pulses with probability 5.5e-5 (229 of 4.2 million
     * cells, measured): Poisson mean 0.0035 over 64 cells, and 4 or more misses have
     * probability 6e-12 (3 or more: 7e-9, too likely for a test). */
    assert_true(ok >= n - 3);
    /* An unformed cell cannot be reset to a target. */
    assert_int_equal(dev_reset_to(&a, 15, 15, 135.0f, 0.1f, 10, NULL, err, sizeof err), 1);
    assert_int_equal(dev_reset_to(&a, 0, 0, -5.0f, 0.1f, 10, NULL, err, sizeof err), -1);
    dev_free(&a);
}

/* A measured map seeds the cells; later switching lands around the imported values. */
static void test_import_map(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 32;
    p.stuck_lrs = p.stuck_hrs = 0;
    dev_array a;
    make(&a, &p, 9);
    float map[4 * 8];
    for (int k = 0; k < 32; k++)
        map[k] = k % 2 ? 80.0f + k : 0.5f + 0.01f * k;
    char err[128];
    assert_int_equal(dev_import_map(&a, 4, 4, 4, 8, map, 8, err, sizeof err), 0);
    for (int k = 0; k < 32; k++) {
        dev_cell_info ci = cell(&a, 4 + k / 8, 4 + k % 8);
        assert_true(ci.g == map[k]);
        assert_int_equal(ci.state, k % 2 ? DEV_LRS : DEV_UNFORMED);
    }
    /* Cell (4, 5) was imported at 81 uS: reset and set again, it comes back near 81. */
    double sum = 0;
    for (int t = 0; t < 50; t++) {
        while (cell(&a, 4, 5).state != DEV_HRS)
            dev_pulse(&a, 4, 5, DEV_RESET, 1.8f, 100e-9f, err, sizeof err);
        while (cell(&a, 4, 5).state != DEV_LRS)
            dev_pulse(&a, 4, 5, DEV_SET, 1.5f, 100e-9f, err, sizeof err);
        float g = cell(&a, 4, 5).g;
        assert_true(fabs(g - 81.0f) <= 3 * p.g_lrs_c2c + 1e-3f); /* certain: truncated at 3 sd */
        sum += g;
    }
    /* The mean of 50 Gaussians truncated at 3 sd (sub-Gaussian with sd 0.67) misses by 1.0
     * with probability below 2 exp(-50 / (2 * 0.67^2)) = 1e-24. */
    assert_true(fabs(sum / 50 - 81.0) < 1.0);
    map[3] = NAN;
    assert_int_equal(dev_import_map(&a, 4, 4, 4, 8, map, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "map value"));
    assert_int_equal(dev_import_map(&a, 30, 30, 4, 8, map, 8, err, sizeof err), -1);
    dev_free(&a);
}

/* One chip id, one history: the same id and calls give the same bits; another id differs. */
static void run_history(dev_array *a, float *reads)
{
    dev_verify_params v;
    dev_default_verify(&v);
    uint8_t t[16 * 16];
    for (int k = 0; k < 256; k++)
        t[k] = (k * 7) % 3 ? DEV_LRS : DEV_HRS;
    char err[128];
    assert_int_equal(dev_program_block(a, 0, 0, 16, 16, t, 16, &v, NULL, NULL, err, sizeof err), 0);
    dev_advance_time(a, 100, err, sizeof err);
    assert_int_equal(dev_read_block(a, 0, 0, 16, 16, reads, 16, err, sizeof err), 0);
}

static void test_determinism(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 64;
    dev_array a, b, c;
    make(&a, &p, 42);
    make(&b, &p, 42);
    make(&c, &p, 43);
    float ra[256], rb[256], rc[256];
    run_history(&a, ra);
    run_history(&b, rb);
    run_history(&c, rc);
    size_t n = (size_t)p.rows * p.cols;
    assert_memory_equal(a.g, b.g, n * sizeof(float));
    assert_memory_equal(a.stuck, b.stuck, n);
    assert_memory_equal(a.writes, b.writes, n * sizeof(uint32_t));
    assert_memory_equal(ra, rb, sizeof ra);
    assert_true(memcmp(a.g, c.g, n * sizeof(float)) != 0);
    assert_true(memcmp(ra, rc, sizeof ra) != 0);
    /* Another unit of the same chip is another array. */
    dev_array d;
    char err[128];
    assert_int_equal(dev_create(&d, &p, 42, 1, err, sizeof err), 0);
    assert_true(memcmp(a.d2d_lrs, d.d2d_lrs, n * sizeof(float)) != 0);
    dev_free(&a);
    dev_free(&b);
    dev_free(&c);
    dev_free(&d);
}

/* The noise banks reproduce rng.h's streams and the documented nibble sums. */
static void test_noise_banks(void **state)
{
    (void)state;
    dev_lanes g;
    dev_lanes_seed(&g, 77);
    enum { N = 1000 };
    float x[N];
    dev_lanes_normal(&g, x, N);
    rng r[DEV_LANES];
    for (int k = 0; k < DEV_LANES; k++)
        rng_seed_stream(&r[k], 77, (uint64_t)k);
    for (int m = 0; 32 * m < N; m++)
        for (int k = 0; k < DEV_LANES; k++) {
            uint64_t w = rng_next(&r[k]);
            for (int f = 0; f < 4; f++) {
                int i = 32 * m + 4 * k + f, s = 0;
                if (i >= N)
                    continue;
                for (int h = 0; h < 4; h++)
                    s += (int)((w >> (16 * f + 4 * h)) & 15);
                assert_true(x[i] == ((float)s - 30.0f) * (1.0f / 9.219544f));
            }
        }
    /* Moments of a long run: mean 0, variance 1, bounded at 3.26 (certain: 30 / 9.2195 =
     * 3.254). Standard errors over 2^20 normals: the mean 1 / 1024, the mean square
     * sqrt(1.6976) / 1024 = 0.00127 (the nibble sum's fourth moment is 2.6976), so the bounds
     * 0.01 are 10.2 and 7.9 of them: a false failure has probability 4e-15. */
    enum { M = 1 << 20 };
    float *y = malloc(sizeof(float) * M);
    dev_lanes_normal(&g, y, M);
    double s = 0, s2 = 0, mx = 0;
    for (int i = 0; i < M; i++) {
        s += y[i];
        s2 += (double)y[i] * y[i];
        mx = fabs(y[i]) > mx ? fabs(y[i]) : mx;
    }
    assert_true(fabs(s / M) < 0.01 && fabs(s2 / M - 1) < 0.01 && mx < 3.26);
    free(y);
    /* The byte form of single reads. */
    const float unit = 1.0f / 147.8006f;
    assert_true(dev_fast_normal_lo(0x7f7f7f7f7f7f7f7fULL) == (508.0f - 510.0f) * unit);
    assert_true(dev_fast_normal_hi(0xffffffff00000000ULL) == (1020.0f - 510.0f) * unit);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    dev_params p;
    dev_default_params(&p);
    p.rows = p.cols = 8;
    dev_array a;
    make(&a, &p, 10);
    char err[256] = "";
    float g;
    assert_int_equal(dev_read(&a, 8, 0, &g, err, sizeof err), -1);
    assert_non_null(strstr(err, "cell (8, 0) outside the 8 x 8 array"));
    assert_int_equal(dev_pulse(&a, 0, -1, DEV_SET, 1.5f, 1e-7f, err, sizeof err), -1);
    assert_int_equal(dev_pulse(&a, 0, 0, DEV_SET, -1.5f, 1e-7f, err, sizeof err), -1);
    assert_non_null(strstr(err, "amplitude"));
    assert_int_equal(dev_pulse(&a, 0, 0, (dev_pulse_kind)7, 1.5f, 1e-7f, err, sizeof err), -1);
    float out[4];
    assert_int_equal(dev_read_block(&a, 6, 6, 2, 3, out, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "block of 2 x 3 at (6, 6)"));
    dev_verify_params v;
    dev_default_verify(&v);
    v.tol = 0;
    assert_int_equal(dev_program_cell(&a, 0, 0, DEV_LRS, &v, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "write-verify"));
    dev_default_verify(&v);
    assert_int_equal(dev_program_cell(&a, 0, 0, 7, &v, NULL, err, sizeof err), -1);
    uint8_t t[4] = {DEV_LRS, 9, DEV_HRS, DEV_HRS};
    assert_int_equal(dev_program_block(&a, 0, 0, 2, 2, t, 2, &v, NULL, NULL, err, sizeof err), -1);
    assert_int_equal(cell(&a, 0, 0).writes, 0); /* rejected before any pulse */
    assert_int_equal(dev_set_read_noise(&a, -0.1f, err, sizeof err), -1);
    dev_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_checks),
        cmocka_unit_test(test_fresh_array),
        cmocka_unit_test(test_switched_distributions),
        cmocka_unit_test(test_switch_probability),
        cmocka_unit_test(test_read_fluctuation),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_stuck_cells),
        cmocka_unit_test(test_write_verify),
        cmocka_unit_test(test_reset_to_target),
        cmocka_unit_test(test_import_map),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_noise_banks),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for core/noise: rho = 0 gives metrics_eval's predictions exactly, the noise has
 * the stated statistics and relative scale, accuracy falls as rho grows, same seed gives
 * the same result, the tolerance interpolation, bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "metrics.h"
#include "net.h"
#include "noise.h"
#include "optim.h"
#include "synth.h"
#include "train.h"

/* ---- fixtures ------------------------------------------------------------------------------ */

typedef struct world {
    data_set train, test;
    data_tasks tasks;
} world;

static void world_make(world *w, int binary)
{
    if (binary) {
        synth_binary(&w->train, 3000, 120, 0.25, 21);
        synth_binary(&w->test, 1000, 120, 0.25, 22);
    } else {
        synth_float(&w->train, 3000, 120, 0.25, 21);
        synth_float(&w->test, 1000, 120, 0.25, 22);
    }
    char err[256];
    assert_int_equal(data_tasks_split5(&w->train, &w->test, 0.1, 5, &w->tasks, err, sizeof err),
                     0);
}

static void world_free(world *w)
{
    data_tasks_free(&w->tasks);
    data_set_free(&w->train);
    data_set_free(&w->test);
}

/* A 120-64-64-10 net trained on the first `ntasks` tasks (task-IL, a bank per task). */
static void train_net(const world *w, net *n, int binary, int ntasks)
{
    int sizes[4] = {120, 64, 64, 10};
    char err[256];
    assert_int_equal(net_create(n, 3, sizes, binary, 1.0f, 3, err, sizeof err), 0);
    optim o;
    assert_int_equal(optim_create(&o, n, RULE_MPCL, 0.005f), 0);
    for (int l = 0; l < 3; l++)
        o.m[l] = 0.005f;
    train_config cfg;
    train_config_default(&cfg);
    cfg.epochs = 3;
    cfg.batch = 50;
    train_result res;
    for (int t = 0; t < ntasks; t++)
        assert_int_equal(train_task(n, &o, &w->train, &w->tasks, t, &cfg, NULL, NULL, NULL, &res,
                                    err, sizeof err),
                         0);
    optim_free(&o);
}

/* The binary world and a net trained on its first two tasks, shared by the tests that need
 * a trained net (training is most of their time under valgrind). */
typedef struct trained {
    world w;
    net n;
} trained;

static int trained_setup(void **state)
{
    trained *f = malloc(sizeof *f);
    world_make(&f->w, 1);
    train_net(&f->w, &f->n, 1, 2);
    *state = f;
    return 0;
}

static int trained_teardown(void **state)
{
    trained *f = *state;
    net_free(&f->n);
    world_free(&f->w);
    free(f);
    return 0;
}

/* Under valgrind (MPCL_TEST_QUICK) sweeps are coarser. */
static int quick(void) { return getenv("MPCL_TEST_QUICK") != NULL; }

/* Random batch-norm statistics and affine parameters, so that the fold is not trivial. */
static void scramble_bn(net *n, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    for (int l = 0; l < n->nlayers; l++)
        for (int o = 0; o < n->layer[l].out; o++) {
            n->layer[l].mean[o] = (float)(3 * rng_normal(&r));
            n->layer[l].var[o] = (float)(1 + 20 * rng_uniform(&r));
            n->layer[l].gamma[o] = (float)(0.2 + rng_uniform(&r));
            n->layer[l].beta[o] = (float)(0.5 * rng_normal(&r));
        }
}

/* The predicted class of every example k < count, one at a time through the confusion
 * matrix (class-IL: the arg-max over all outputs). noisy NULL: metrics_eval. */
static void predictions(const net *n, const noise_weights *noisy, int bank, const data_set *d,
                        int count, scenario s, const data_task *t, int *pred)
{
    char err[256];
    for (int k = 0; k < count; k++) {
        long conf[10][10];
        memset(conf, 0, sizeof conf);
        int r = noisy ? noise_eval(n, noisy, bank, d, &k, 1, t, s, conf, err, sizeof err)
                      : metrics_eval(n, bank, d, &k, 1, t, s, conf);
        assert_true(r == 0 || r == 1);
        pred[k] = -1;
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                if (conf[i][j])
                    pred[k] = j;
    }
}

/* rho = 0 against the engine: noise_eval against metrics_eval (counts, confusion, each
 * prediction) for every scenario and both batch-norm sources, noise_infer against
 * net_infer (the logits, bit for bit). */
static void check_rho0(const net *n, const data_set *d, const data_tasks *tasks)
{
    char err[256];
    noise_weights w;
    rng r;
    rng_seed(&r, 5);
    assert_int_equal(noise_net_weights(&w, n, 0.0, &r, err, sizeof err), 0);
    scenario scens[3] = {SCEN_TASK, SCEN_CLASS, SCEN_DOMAIN};
    int nscen = n->sizes[n->nlayers] == 2 ? 1 : 2;
    for (int si = 0; si < nscen; si++) {
        scenario s = n->sizes[n->nlayers] == 2 ? scens[2] : scens[si];
        for (int t = 0; t < tasks->ntasks; t++) {
            const data_task *tk = &tasks->task[t];
            for (int bank = -1; bank <= t; bank += t + 1) {
                long ca[10][10], cb[10][10];
                memset(ca, 0, sizeof ca);
                memset(cb, 0, sizeof cb);
                int a = metrics_eval(n, bank, d, tk->test, tk->ntest, tk, s, ca);
                int b = noise_eval(n, &w, bank, d, tk->test, tk->ntest, tk, s, cb, err,
                                   sizeof err);
                assert_int_equal(a, b);
                assert_memory_equal(ca, cb, sizeof ca);
            }
        }
    }
    /* The logits themselves, bit for bit, on the running statistics and on a bank, over the
     * whole set. */
    int nout = n->sizes[n->nlayers];
    int *all = malloc(sizeof(int) * d->n);
    float *la = malloc(sizeof(float) * d->n * nout);
    float *lb = malloc(sizeof(float) * d->n * nout);
    for (int k = 0; k < d->n; k++)
        all[k] = k;
    for (int bank = -1; bank <= 0; bank++) {
        net_infer(n, bank, d, all, d->n, la);
        assert_int_equal(noise_infer(n, &w, bank, d, all, d->n, lb, err, sizeof err), 0);
        assert_memory_equal(la, lb, sizeof(float) * d->n * nout);
    }
    free(all);
    free(la);
    free(lb);
    /* Example by example, class-IL, on a bank. */
    int count = 120, pa[120], pb[120];
    predictions(n, NULL, 0, d, count, SCEN_CLASS, &tasks->task[0], pa);
    predictions(n, &w, 0, d, count, SCEN_CLASS, &tasks->task[0], pb);
    assert_memory_equal(pa, pb, sizeof pa);
    noise_weights_free(&w);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_rho0_equals_metrics_eval_trained(void **state)
{
    trained *f = *state;
    kern_set_threads(2);
    check_rho0(&f->n, &f->w.test, &f->w.tasks);
    kern_set_threads(1);
}

/* Untrained nets with random batch norm (far from the trained regime), a bank that differs
 * from the running statistics, binary and byte inputs, and a two-output domain-IL head. */
static void test_rho0_equals_metrics_eval_random(void **state)
{
    (void)state;
    char err[256];
    for (int binary = 1; binary >= 0; binary--) {
        world w;
        world_make(&w, binary);
        /* Two hidden layers and 10 or 2 outputs; one layer alone, whose logits show any
         * difference in the first product or its batch norm. */
        for (int shape = 0; shape < 3; shape++) {
            int sizes[4] = {120, 48, 33, shape == 1 ? 2 : 10}, one[2] = {120, 10};
            net n;
            assert_int_equal(net_create(&n, shape == 2 ? 1 : 3, shape == 2 ? one : sizes,
                                        binary, 1.0f, 11, err, sizeof err),
                             0);
            scramble_bn(&n, 1);
            assert_int_equal(net_bn_store(&n, 0), 0);
            assert_int_equal(net_bn_store(&n, 1), 0);
            scramble_bn(&n, 2);
            check_rho0(&n, &w.test, &w.tasks);
            net_free(&n);
        }
        world_free(&w);
    }
}

static void test_binary_weights_and_noise_statistics(void **state)
{
    (void)state;
    char err[256];
    int sizes[3] = {200, 150, 10};
    net n;
    assert_int_equal(net_create(&n, 2, sizes, 1, 1.0f, 4, err, sizeof err), 0);
    noise_weights clean, noisy;
    assert_int_equal(noise_weights_binary(&clean, &n, err, sizeof err), 0);
    for (int i = 0; i < 200 * 150; i++)
        assert_true(clean.w[0][i] == (n.layer[0].wh[i] >= 0 ? 1.0f : -1.0f));
    assert_float_equal(clean.wmax[0], 1.0f, 0);
    /* w + N(0, 2 rho^2): mean 0, variance 2 rho^2 over ten draws of 30,000 weights. The
     * standard errors over 300,000 values: the mean sqrt(0.18 / 300000) = 7.7e-4 (the bound
     * 0.02 is 26 of them), the relative variance sqrt(2 / 300000) = 0.0026 (the bound 0.03 is
     * 11.6 of them): a false failure has probability 4e-31 (normal approximation). */
    double rho = 0.3;
    rng r;
    rng_seed(&r, 8);
    double s = 0, ss = 0;
    int len = 200 * 150, ndraws = 10;
    for (int d = 0; d < ndraws; d++) {
        assert_int_equal(noise_inject(&noisy, &clean, rho, &r, err, sizeof err), 0);
        for (int i = 0; i < len; i++) {
            double e = noisy.w[0][i] - clean.w[0][i];
            s += e;
            ss += e * e;
        }
        noise_weights_free(&noisy);
    }
    double mean = s / ((double)len * ndraws), var = ss / ((double)len * ndraws) - mean * mean;
    assert_true(fabs(mean) < 0.02);
    assert_true(fabs(var / (2 * rho * rho) - 1) < 0.03);
    noise_weights_free(&clean);
    net_free(&n);
}

/* A float model maps max |w| onto the conductance swing: scaling the weights by 5 scales
 * their noise by 5, so the same rho is the same relative noise. */
static void test_float_model_relative_noise(void **state)
{
    (void)state;
    char err[256];
    int sizes[3] = {30, 20, 4};
    float a0[600], a1[80], b0[600], b1[80];
    rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < 600; i++)
        b0[i] = 5 * (a0[i] = (float)rng_normal(&r));
    for (int i = 0; i < 80; i++)
        b1[i] = 5 * (a1[i] = (float)(0.1 * rng_normal(&r)));
    const float *la[2] = {a0, a1}, *lb[2] = {b0, b1};
    noise_weights wa, wb, na, nb;
    assert_int_equal(noise_weights_float(&wa, 2, sizes, la, err, sizeof err), 0);
    assert_int_equal(noise_weights_float(&wb, 2, sizes, lb, err, sizeof err), 0);
    float m = 0;
    for (int i = 0; i < 600; i++)
        m = fmaxf(m, fabsf(a0[i]));
    assert_float_equal(wa.wmax[0], m, 0);
    assert_float_equal(wb.wmax[0], 5 * m, 0);
    rng ra, rb;
    rng_seed(&ra, 9);
    rng_seed(&rb, 9);
    assert_int_equal(noise_inject(&na, &wa, 0.2, &ra, err, sizeof err), 0);
    assert_int_equal(noise_inject(&nb, &wb, 0.2, &rb, err, sizeof err), 0);
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < sizes[l] * sizes[l + 1]; i++)
            assert_float_equal(nb.w[l][i], 5 * na.w[l][i], 1e-4 * (1 + fabsf(nb.w[l][i])));
    /* Layer 2's weights are 10x smaller, and so is their noise. Safe: E s1 = 80 * 1.128 *
     * 0.2 * wmax1 is about 1% of E s0 = 600 * 1.128 * 0.2 * wmax0, so s1 would have to
     * exceed its mean some 25-fold (sums of 80 and 600 half-normals). */
    double s0 = 0, s1 = 0;
    for (int i = 0; i < 80; i++)
        s1 += fabs(na.w[1][i] - a1[i]);
    for (int i = 0; i < 80; i++)
        s0 += fabs(na.w[0][i] - a0[i]);
    assert_true(s1 < 0.3 * s0);
    noise_weights_free(&wa);
    noise_weights_free(&wb);
    noise_weights_free(&na);
    noise_weights_free(&nb);
}

/* A trained net: the mean accuracy over draws falls as rho grows, and the sweep at rho = 0
 * is the noiseless accuracy. */
static void test_accuracy_falls_with_rho(void **state)
{
    trained *f = *state;
    kern_set_threads(2);
    char err[256];
    double step = quick() ? 0.2 : 0.1, rho[11], acc[11], sd[11];
    /* Enough draws that the sweep's random outcomes are certain in practice (measured over
     * 150-200 seeds). The accuracy at rho = 1 has mean 0.705 and sd about 0.065 / sqrt(draws)
     * over seeds: with 16 draws (12 in the quick mode) the fall of 0.15 below the clean 0.99
     * is 8.2 (7.0) sd away, where 4 draws left 4.1 sd and 2 draws 2.9 sd (1 false failure
     * in 500 quick runs). The largest rise from one point to the next has mean -0.0007 and
     * sd 0.0009 (16 draws, 10 steps) or mean -0.004 and sd 0.0019 (12 draws, 5 steps): the
     * 0.01 allowed is over 7 sd away. The 90% level is over 10 sd above the last point. A
     * false failure has probability below 1e-11 (normal approximation). */
    int draws = quick() ? 12 : 16;
    int np = noise_rho_grid(step, rho, 11, err, sizeof err);
    assert_int_equal(np, quick() ? 6 : 11);
    noise_taskset ts = {.test = &f->w.test, .tasks = &f->w.tasks, .upto = 2, .scen = SCEN_TASK,
                        .bn_task = 1};
    assert_int_equal(noise_sweep_net(&f->n, &ts, rho, np, draws, 7, NULL, acc, sd, err,
                                     sizeof err),
                     0);
    /* rho = 0: the noiseless multitask average, with no spread. */
    long right = 0, total = 0;
    for (int t = 0; t < 2; t++) {
        const data_task *tk = &f->w.tasks.task[t];
        right += metrics_eval(&f->n, t, &f->w.test, tk->test, tk->ntest, tk, SCEN_TASK, NULL);
        total += tk->ntest;
    }
    assert_float_equal(acc[0], (double)right / total, 1e-12);
    /* (up to rounding: the mean of the draws' equal accuracies, summed, may be off by an ulp) */
    assert_float_equal(sd[0], 0.0, 1e-12);
    assert_true(acc[0] > 0.9);
    for (int i = 1; i < np; i++)
        if (acc[i] > acc[i - 1] + 0.01)
            fail_msg("accuracy rose from %.4f at rho %.1f to %.4f at rho %.1f", acc[i - 1],
                     rho[i - 1], acc[i], rho[i]);
    assert_true(acc[np - 1] < acc[0] - 0.15);
    double tol;
    int rc = noise_tolerance(rho, acc, np, NOISE_TOLERANCE_LEVEL, &tol, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_true(tol > 0 && tol < 1);
    kern_set_threads(1);
}

static void test_same_seed_same_result(void **state)
{
    trained *f = *state;
    net *n = &f->n;
    char err[256];
    noise_weights a, b, c;
    rng r;
    rng_seed(&r, 42);
    assert_int_equal(noise_net_weights(&a, n, 0.3, &r, err, sizeof err), 0);
    rng_seed(&r, 42);
    assert_int_equal(noise_net_weights(&b, n, 0.3, &r, err, sizeof err), 0);
    rng_seed(&r, 43);
    assert_int_equal(noise_net_weights(&c, n, 0.3, &r, err, sizeof err), 0);
    for (int l = 0; l < 3; l++) {
        size_t len = sizeof(float) * n->sizes[l] * n->sizes[l + 1];
        assert_memory_equal(a.w[l], b.w[l], len);
        assert_memory_not_equal(a.w[l], c.w[l], len);
    }
    noise_weights_free(&a);
    noise_weights_free(&b);
    noise_weights_free(&c);
    /* Sweeps: the same seed, any thread count, the same accuracies; another seed differs. */
    double rho[6] = {0.0, 0.6, 0.7, 0.8, 0.9, 1.0}, x[6], y[6], z[6], xs[6], ys[6], zs[6];
    noise_taskset ts = {.test = &f->w.test, .tasks = &f->w.tasks, .upto = 1, .scen = SCEN_TASK,
                        .bn_task = 1};
    kern_set_threads(1);
    assert_int_equal(noise_sweep_net(n, &ts, rho, 6, 3, 5, NULL, x, xs, err, sizeof err), 0);
    kern_set_threads(2);
    assert_int_equal(noise_sweep_net(n, &ts, rho, 6, 3, 5, NULL, y, ys, err, sizeof err), 0);
    assert_int_equal(noise_sweep_net(n, &ts, rho, 6, 3, 6, NULL, z, zs, err, sizeof err), 0);
    kern_set_threads(1);
    assert_memory_equal(x, y, sizeof x);
    assert_memory_equal(xs, ys, sizeof xs);
    /* Another seed: accuracies are counts, so two seeds can give the same one (with the
     * means at rho 0.4 and 0.8 alone, 1 pair of seeds in 400 matched). Over 2,000 pairs of
     * seeds with these settings, the mean accuracy matched at a given rho of 0.6-1.0 in
     * 0.65-1.4% of pairs, at two given points in 0.02% (2.7x what independence gives), and
     * the mean and the draws' sd together never (0 of 12,000 comparisons at rho 0.5-1.0:
     * below 3e-4 a point). Even with a 5x dependence from point to point, all five points
     * match with probability below 3e-4 (5 * 3e-4)^4 = 2e-15. */
    int differ = 0;
    for (int i = 1; i < 6; i++)
        differ += z[i] != x[i] || zs[i] != xs[i];
    assert_true(differ > 0);
    /* Noisy logits of the whole set (several tiles) on one and on two threads. */
    const data_set *d = &f->w.test;
    int *all = malloc(sizeof(int) * d->n);
    float *l1 = malloc(sizeof(float) * d->n * 10), *l2 = malloc(sizeof(float) * d->n * 10);
    for (int k = 0; k < d->n; k++)
        all[k] = k;
    rng_seed(&r, 42);
    assert_int_equal(noise_net_weights(&a, n, 0.5, &r, err, sizeof err), 0);
    assert_int_equal(noise_infer(n, &a, 0, d, all, d->n, l1, err, sizeof err), 0);
    kern_set_threads(2);
    assert_int_equal(noise_infer(n, &a, 0, d, all, d->n, l2, err, sizeof err), 0);
    kern_set_threads(1);
    assert_memory_equal(l1, l2, sizeof(float) * d->n * 10);
    noise_weights_free(&a);
    free(all);
    free(l1);
    free(l2);
}

static void test_tolerance_interpolation(void **state)
{
    (void)state;
    char err[256];
    double tol;
    double rho[5] = {0.0, 0.1, 0.2, 0.3, 0.4};
    /* Falls through 90% between 0.2 (95%) and 0.3 (85%): halfway, 0.25. */
    double a[5] = {0.99, 0.97, 0.95, 0.85, 0.60};
    assert_int_equal(noise_tolerance(rho, a, 5, 0.9, &tol, err, sizeof err), 0);
    assert_float_equal(tol, 0.25, 1e-12);
    /* A quarter of the way: 0.92 -> 0.84 crosses 0.9 at 0.1 + 0.25 * 0.1. */
    double b[5] = {0.99, 0.92, 0.84, 0.80, 0.70};
    assert_int_equal(noise_tolerance(rho, b, 5, 0.9, &tol, err, sizeof err), 0);
    assert_float_equal(tol, 0.125, 1e-12);
    /* Exactly 90% at a point: that point. */
    double c[5] = {0.99, 0.95, 0.90, 0.80, 0.70};
    assert_int_equal(noise_tolerance(rho, c, 5, 0.9, &tol, err, sizeof err), 0);
    assert_float_equal(tol, 0.2, 1e-12);
    /* The first crossing counts, even if the curve comes back up. */
    double d[5] = {0.99, 0.80, 0.95, 0.70, 0.60};
    assert_int_equal(noise_tolerance(rho, d, 5, 0.9, &tol, err, sizeof err), 0);
    assert_float_equal(tol, 0.1 * 0.09 / 0.19, 1e-12);
    /* Already at or below at the first point: the first rho. */
    double e[5] = {0.85, 0.80, 0.70, 0.60, 0.50};
    assert_int_equal(noise_tolerance(rho, e, 5, 0.9, &tol, err, sizeof err), 0);
    assert_float_equal(tol, 0.0, 0);
    /* Never falls: 1, and the last rho as a lower bound. */
    double f[5] = {0.99, 0.98, 0.97, 0.96, 0.95};
    assert_int_equal(noise_tolerance(rho, f, 5, 0.9, &tol, err, sizeof err), 1);
    assert_float_equal(tol, 0.4, 0);
}

static void test_rho_grid(void **state)
{
    (void)state;
    char err[256];
    double rho[32];
    assert_int_equal(noise_rho_grid(0.1, NULL, 0, err, sizeof err), 11);
    assert_int_equal(noise_rho_grid(0.1, rho, 32, err, sizeof err), 11);
    assert_float_equal(rho[0], 0.0, 0);
    assert_float_equal(rho[3], 0.3, 1e-15);
    assert_true(rho[10] == 1.0);
    assert_int_equal(noise_rho_grid(0.05, rho, 32, err, sizeof err), 21);
    assert_true(rho[20] == 1.0);
    /* A step that does not divide 1: 1 is added. */
    assert_int_equal(noise_rho_grid(0.3, rho, 32, err, sizeof err), 5);
    assert_float_equal(rho[3], 0.9, 1e-15);
    assert_true(rho[4] == 1.0);
    assert_int_equal(noise_rho_grid(1.0, rho, 32, err, sizeof err), 2);
    assert_int_equal(noise_rho_grid(0.01, rho, 32, err, sizeof err), -1);
    assert_non_null(strstr(err, "101 points"));
    assert_int_equal(noise_rho_grid(0.0, rho, 32, err, sizeof err), -1);
    assert_non_null(strstr(err, "step"));
}

static int fake_eval(void *ud, const noise_weights *noisy, double *acc, char *err,
                     size_t errlen)
{
    (void)noisy;
    (void)err;
    (void)errlen;
    int *calls = ud;
    ++*calls;
    *acc = 1.0;
    return 0;
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char err[256];
    world w;
    world_make(&w, 1);
    int sizes[3] = {120, 16, 10}, other[3] = {120, 17, 10};
    net n, m;
    assert_int_equal(net_create(&n, 2, sizes, 1, 1.0f, 1, err, sizeof err), 0);
    assert_int_equal(net_create(&m, 2, other, 1, 1.0f, 1, err, sizeof err), 0);
    noise_weights wn, wm, x;
    assert_int_equal(noise_weights_binary(&wn, &n, err, sizeof err), 0);
    assert_int_equal(noise_weights_binary(&wm, &m, err, sizeof err), 0);
    const data_task *t = &w.tasks.task[0];
    /* Weights of another shape. */
    assert_int_equal(noise_eval(&n, &wm, -1, &w.test, t->test, t->ntest, t, SCEN_TASK, NULL,
                                err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "sizes differ"));
    /* An index out of range, a negative count, a data set of the wrong width. */
    int bad_idx[2] = {0, 5000};
    assert_int_equal(noise_eval(&n, &wn, -1, &w.test, bad_idx, 2, t, SCEN_TASK, NULL, err,
                                sizeof err),
                     -1);
    assert_non_null(strstr(err, "5000"));
    assert_int_equal(noise_eval(&n, &wn, -1, &w.test, t->test, -1, t, SCEN_TASK, NULL, err,
                                sizeof err),
                     -1);
    assert_non_null(strstr(err, "count"));
    data_set narrow;
    synth_binary(&narrow, 20, 60, 0.1, 1);
    assert_int_equal(noise_eval(&n, &wn, -1, &narrow, t->test, 5, t, SCEN_TASK, NULL, err,
                                sizeof err),
                     -1);
    assert_non_null(strstr(err, "60 features"));
    data_set_free(&narrow);
    /* rho negative or not a number; no generator. */
    rng r;
    rng_seed(&r, 1);
    assert_int_equal(noise_inject(&x, &wn, -0.1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "rho"));
    assert_int_equal(noise_net_weights(&x, &n, NAN, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "rho"));
    assert_int_equal(noise_inject(&x, &wn, 0.1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "generator"));
    /* A float layer of zeros has no range to map. */
    float zeros[120 * 16] = {0}, ones[160];
    for (int i = 0; i < 160; i++)
        ones[i] = 1;
    const float *layers[2] = {zeros, ones};
    assert_int_equal(noise_weights_float(&x, 2, sizes, layers, err, sizeof err), -1);
    assert_non_null(strstr(err, "all zeros"));
    /* Sweeps: no draws, a bad rho, a bad task set; cancellation. */
    double rho[2] = {0.0, 0.5}, acc[2];
    int calls = 0;
    assert_int_equal(noise_sweep(&wn, rho, 2, 0, 1, fake_eval, &calls, NULL, acc, NULL, err,
                                 sizeof err),
                     -1);
    assert_non_null(strstr(err, "draws"));
    double badrho[2] = {0.0, -1.0};
    assert_int_equal(noise_sweep(&wn, badrho, 2, 1, 1, fake_eval, &calls, NULL, acc, NULL, err,
                                 sizeof err),
                     -1);
    assert_non_null(strstr(err, "rho"));
    volatile int cancel = 1;
    assert_int_equal(noise_sweep(&wn, rho, 2, 1, 1, fake_eval, &calls, &cancel, acc, NULL, err,
                                 sizeof err),
                     -1);
    assert_non_null(strstr(err, "cancelled"));
    assert_int_equal(calls, 0);
    assert_int_equal(noise_sweep(&wn, rho, 2, 3, 1, fake_eval, &calls, NULL, acc, NULL, err,
                                 sizeof err),
                     0);
    assert_int_equal(calls, 6);
    noise_taskset ts = {.test = &w.test, .tasks = &w.tasks, .upto = 9, .scen = SCEN_TASK};
    assert_int_equal(noise_sweep_net(&n, &ts, rho, 2, 1, 1, NULL, acc, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "upto"));
    /* Tolerance: rho not increasing, a level outside (0, 1). */
    double tol, a2[2] = {0.9, 0.8}, down[2] = {0.5, 0.4};
    assert_int_equal(noise_tolerance(down, a2, 2, 0.9, &tol, err, sizeof err), -1);
    assert_non_null(strstr(err, "increase"));
    assert_int_equal(noise_tolerance(rho, a2, 2, 1.5, &tol, err, sizeof err), -1);
    assert_non_null(strstr(err, "level"));
    noise_weights_free(&wn);
    noise_weights_free(&wm);
    net_free(&n);
    net_free(&m);
    world_free(&w);
}

int main(void)
{
    /* One group (the runner reads one summary line); its set-up trains the shared net. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rho0_equals_metrics_eval_trained),
        cmocka_unit_test(test_rho0_equals_metrics_eval_random),
        cmocka_unit_test(test_binary_weights_and_noise_statistics),
        cmocka_unit_test(test_float_model_relative_noise),
        cmocka_unit_test(test_accuracy_falls_with_rho),
        cmocka_unit_test(test_same_seed_same_result),
        cmocka_unit_test(test_tolerance_interpolation),
        cmocka_unit_test(test_rho_grid),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, trained_setup, trained_teardown);
}

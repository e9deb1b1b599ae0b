/* Unit tests for core/baselines: every method learns a task; EWC's penalty and Fisher, SI's
 * importance, GEM's and A-GEM's projections against their definitions (brute force on tiny
 * cases); forgetting without and with Joint; the noise path; determinism over seeds and
 * thread counts; callbacks, cancellation and bad arguments. Synthetic data only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "kernels.h"
#include "metrics.h"
#include "noise.h"
#include "rng.h"
#include "synth.h"

/* ---- a small world ------------------------------------------------------------------------ */

typedef struct world {
    data_set train, test;
    data_tasks tasks;
} world;

enum { DIM = 120 };

/* MPCL_TEST_QUICK (the valgrind pass): half the examples and hidden units, half-size batches
 * (the same number of steps), one epoch for the determinism runs. */
static int quick;

static void world_make(world *w)
{
    synth_binary(&w->train, quick ? 1500 : 3000, DIM, 0.25, 21);
    synth_binary(&w->test, quick ? 500 : 1000, DIM, 0.25, 22);
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

static void make_model(bl_model *m, int nout, uint64_t seed)
{
    int h = quick ? 32 : 64, sizes[4] = {DIM, h, h, nout};
    char err[256];
    assert_int_equal(bl_create(m, 3, sizes, seed, err, sizeof err), 0);
}

static void small_config(bl_config *c, bl_method method, scenario s)
{
    bl_config_default(c);
    c->method = method;
    c->scen = s;
    c->epochs = 3;
    c->batch = quick ? 25 : 50;
    c->mem_per_task = 64;
    c->agem_ref = 64;
    c->fisher_n = 300;
}

static void learn(bl_model *m, const world *w, int t, const bl_config *c)
{
    char err[256];
    bl_result res;
    if (bl_learn(m, &w->train, &w->tasks, t, c, NULL, NULL, NULL, &res, err, sizeof err))
        fail_msg("bl_learn: %s", err);
}

static double task_acc(const bl_model *m, const world *w, int t, scenario s)
{
    const data_task *tk = &w->tasks.task[t];
    int right = bl_eval(m, &w->test, tk->test, tk->ntest, tk, s, NULL);
    assert_true(right >= 0);
    return (double)right / tk->ntest;
}

/* ---- every method learns ------------------------------------------------------------------ */

static void test_each_method_learns_a_task(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    for (int meth = BL_NONE; meth <= BL_AGEM; meth++) {
        bl_model m;
        bl_config c;
        make_model(&m, 10, 3);
        small_config(&c, (bl_method)meth, SCEN_TASK);
        /* GEM and A-GEM learn a second task too, against the first one's memory. */
        int tasks = meth == BL_GEM || meth == BL_AGEM ? 2 : 1;
        for (int t = 0; t < tasks; t++) {
            learn(&m, &w, t, &c);
            double acc = task_acc(&m, &w, t, SCEN_TASK);
            if (acc < 0.9) /* chance is 0.5 */
                fail_msg("%s: task %d accuracy %.3f", bl_method_name(c.method), t + 1, acc);
        }
        bl_free(&m);
    }
    /* Domain-IL (two shared outputs) and class-IL (ten). */
    scenario sc[2] = {SCEN_DOMAIN, SCEN_CLASS};
    for (int i = 0; i < 2; i++) {
        bl_model m;
        bl_config c;
        make_model(&m, scenario_outputs(sc[i]), 4);
        small_config(&c, BL_SI, sc[i]);
        learn(&m, &w, 0, &c);
        double acc = task_acc(&m, &w, 0, sc[i]);
        if (acc < 0.9)
            fail_msg("%s-IL accuracy %.3f", scenario_name(sc[i]), acc);
        bl_free(&m);
    }
    world_free(&w);
}

/* ---- EWC ---------------------------------------------------------------------------------- */

static void test_ewc_penalty_is_quadratic(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    bl_model m;
    bl_config c;
    make_model(&m, 10, 5);
    small_config(&c, BL_EWC, SCEN_TASK);
    c.ewc_lambda = 100.0f;
    assert_float_equal(bl_ewc_penalty(&m, &c, NULL), 0.0, 0); /* nothing learnt yet */
    learn(&m, &w, 0, &c);
    assert_int_equal(m.nfisher, 1);
    size_t n = m.nparams;
    double fsum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(m.fisher[0][i] >= 0.0f);
        fsum += m.fisher[0][i];
    }
    assert_true(fsum > 0);
    /* Zero at theta*, s^2 along any direction away from it. */
    assert_float_equal(bl_ewc_penalty(&m, &c, NULL), 0.0, 0);
    float *th = malloc(sizeof(float) * n), *dir = malloc(sizeof(float) * n);
    rng r;
    rng_seed(&r, 9);
    for (size_t i = 0; i < n; i++)
        dir[i] = (float)rng_normal(&r) * 0.01f;
    double base = 0;
    float steps[4] = {1.0f, 2.0f, 3.0f, 0.5f};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < n; i++)
            th[i] = m.theta[i] + steps[k] * dir[i];
        double p = bl_ewc_penalty(&m, &c, th);
        if (k == 0) {
            assert_true(p > 0);
            base = p;
        }
        assert_float_equal(p / base, (double)steps[k] * steps[k], 1e-3 * steps[k] * steps[k]);
    }
    /* And the definition: lambda/2 sum F (theta - theta*)^2. */
    double ref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)th[i] - m.fisher_star[0][i];
        ref += m.fisher[0][i] * d * d;
    }
    assert_float_equal(bl_ewc_penalty(&m, &c, th), 0.5 * c.ewc_lambda * ref, 1e-9 * ref + 1e-12);
    /* Separate penalties add up: a second task adds a second term. */
    learn(&m, &w, 1, &c);
    assert_int_equal(m.nfisher, 2);
    assert_true(bl_ewc_penalty(&m, &c, NULL) > 0);
    free(th);
    free(dir);
    bl_free(&m);
    world_free(&w);
}

/* log p(y | example) over the allowed outputs, from the model's logits. */
static double log_prob(const bl_model *m, const data_set *d, int idx, uint16_t allowed, int y)
{
    float z[16];
    assert_int_equal(bl_infer(m, d, &idx, 1, z), 0);
    int nout = m->sizes[m->nlayers];
    double mx = -INFINITY, s = 0;
    for (int o = 0; o < nout; o++)
        if (allowed >> o & 1)
            mx = fmax(mx, z[o]);
    for (int o = 0; o < nout; o++)
        if (allowed >> o & 1)
            s += exp(z[o] - mx);
    return z[y] - mx - log(s);
}

/* The true and empirical Fisher against central differences on a tiny model. */
static void test_ewc_fisher_matches_definition(void **state)
{
    (void)state;
    data_set tr, te;
    enum { D = 12 };
    synth_float(&tr, 200, D, 0.2, 31);
    synth_float(&te, 50, D, 0.2, 32);
    char err[256];
    data_tasks tasks;
    assert_int_equal(data_tasks_split5(&tr, &te, 0.0, 5, &tasks, err, sizeof err), 0);
    for (int kind = 0; kind < 2; kind++) {
        int sizes[3] = {D, 7, 10};
        bl_model m;
        assert_int_equal(bl_create(&m, 2, sizes, 7, err, sizeof err), 0);
        bl_config c;
        bl_config_default(&c);
        c.method = BL_EWC;
        c.epochs = 1;
        c.batch = 10;
        c.fisher_n = 8;
        c.fisher = kind ? BL_FISHER_EMPIRICAL : BL_FISHER_TRUE;
        const data_task *tk = &tasks.task[1];
        if (bl_learn(&m, &tr, &tasks, 1, &c, NULL, NULL, NULL, NULL, err, sizeof err))
            fail_msg("%s", err);
        uint16_t allowed = scenario_eval_mask(SCEN_TASK, tk);
        int bad = 0;
        for (size_t i = 0; i < m.nparams; i++) {
            double f = 0;
            for (int e = 0; e < c.fisher_n; e++) {
                int idx = tk->train[e], target = tr.labels[idx];
                for (int y = 0; y < 10; y++) {
                    if (!(allowed >> y & 1) || (kind && y != target))
                        continue;
                    double py = kind ? 1.0 : exp(log_prob(&m, &tr, idx, allowed, y));
                    float keep = m.theta[i], h = 1e-3f;
                    m.theta[i] = keep + h;
                    double lp = log_prob(&m, &tr, idx, allowed, y);
                    m.theta[i] = keep - h;
                    double lm = log_prob(&m, &tr, idx, allowed, y);
                    m.theta[i] = keep;
                    double gr = (lp - lm) / (2.0 * h);
                    f += py * gr * gr;
                }
            }
            f /= c.fisher_n;
            double got = m.fisher[1][i];
            if (fabs(got - f) > 2e-3 * f + 1e-6) {
                bad++;
                if (getenv("BL_DEBUG"))
                    print_message("param %zu: got %g, definition %g\n", i, got, f);
            }
        }
        /* A ReLU kink within h of a pre-activation spoils a finite difference now and then. */
        if (bad > (int)(m.nparams / 50))
            fail_msg("%s Fisher: %d of %zu entries off their definition", kind ? "empirical" : "true",
                     bad, m.nparams);
        bl_free(&m);
    }
    data_tasks_free(&tasks);
    data_set_free(&tr);
    data_set_free(&te);
}

/* ---- SI ----------------------------------------------------------------------------------- */

static void test_si_importance_follows_the_loss(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    /* Inputs 60 and above are always off: the weights they feed never change the loss. */
    for (int k = 0; k < w.train.n; k++)
        for (int i = 60; i < DIM; i++)
            w.train.bits[(size_t)k * w.train.words + i / 64] &= ~(1ULL << (i % 64));
    bl_model m;
    bl_config c;
    make_model(&m, 10, 6);
    small_config(&c, BL_SI, SCEN_TASK);
    assert_float_equal(bl_si_penalty(&m, &c, NULL), 0.0, 0);
    learn(&m, &w, 0, &c);
    assert_int_equal(m.si_tasks, 1);
    double live = 0, dead = 0;
    int hidden = m.sizes[1];
    for (int o = 0; o < hidden; o++)
        for (int i = 0; i < DIM; i++) {
            float om = m.si_big[m.w_off[0] + (size_t)o * DIM + i];
            assert_true(om >= 0.0f);
            if (i < 60)
                live += om;
            else
                dead += om;
        }
    assert_float_equal(dead, 0.0, 0);
    assert_true(live > 0);
    /* The output units of the task's two classes carry importance; the other heads do not
     * (task-IL mask: their logits never enter the loss). */
    const data_task *tk = &w.tasks.task[0];
    int L = m.nlayers - 1;
    double used = 0, unused = 0;
    for (int o = 0; o < 10; o++) {
        double s = m.si_big[m.b_off[L] + o];
        for (int i = 0; i < m.sizes[L]; i++)
            s += m.si_big[m.w_off[L] + (size_t)o * m.sizes[L] + i];
        if (o == tk->classes[0] || o == tk->classes[1])
            used += s;
        else
            unused += s;
    }
    assert_true(used > 0);
    assert_float_equal(unused, 0.0, 0);
    /* Penalty: zero at theta*, c sum Omega (theta - theta*)^2 elsewhere. */
    assert_float_equal(bl_si_penalty(&m, &c, NULL), 0.0, 0);
    float *th = malloc(sizeof(float) * m.nparams);
    double ref = 0;
    for (size_t i = 0; i < m.nparams; i++) {
        th[i] = m.theta[i] + 0.01f;
        double d = (double)th[i] - m.si_star[i];
        ref += m.si_big[i] * d * d;
    }
    assert_float_equal(bl_si_penalty(&m, &c, th), c.si_c * ref, 1e-9 * ref);
    free(th);
    bl_free(&m);
    world_free(&w);
}

/* ---- GEM and A-GEM ------------------------------------------------------------------------ */

static double dotd(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The closest point to g in {z : G z >= 0} by brute force: for every subset S of the
 * constraints with independent rows, project g onto null(G_S); keep the feasible candidate
 * closest to g. */
static void brute_project(const double *g, const double *G, int k, int n, double *best)
{
    double bestd = INFINITY;
    for (unsigned S = 0; S < 1u << k; S++) {
        int idx[8], s = 0;
        for (int j = 0; j < k; j++)
            if (S >> j & 1)
                idx[s++] = j;
        /* Solve (G_S G_S^T) lam = G_S g by Gaussian elimination with pivoting. */
        double A[8][9];
        for (int a = 0; a < s; a++) {
            for (int b = 0; b < s; b++)
                A[a][b] = dotd(G + idx[a] * n, G + idx[b] * n, n);
            A[a][s] = dotd(G + idx[a] * n, g, n);
        }
        int singular = 0;
        for (int col = 0; col < s && !singular; col++) {
            int piv = col;
            for (int r = col + 1; r < s; r++)
                if (fabs(A[r][col]) > fabs(A[piv][col]))
                    piv = r;
            if (fabs(A[piv][col]) < 1e-9) {
                singular = 1;
                break;
            }
            for (int b = 0; b <= s; b++) {
                double t = A[col][b];
                A[col][b] = A[piv][b];
                A[piv][b] = t;
            }
            for (int r = 0; r < s; r++)
                if (r != col) {
                    double f = A[r][col] / A[col][col];
                    for (int b = col; b <= s; b++)
                        A[r][b] -= f * A[col][b];
                }
        }
        if (singular)
            continue;
        double z[16];
        for (int i = 0; i < n; i++)
            z[i] = g[i];
        for (int a = 0; a < s; a++) {
            double lam = A[a][s] / A[a][a];
            for (int i = 0; i < n; i++)
                z[i] -= lam * G[idx[a] * n + i];
        }
        int feasible = 1;
        for (int j = 0; j < k; j++)
            if (dotd(G + j * n, z, n) < -1e-9)
                feasible = 0;
        if (!feasible)
            continue;
        double d = 0;
        for (int i = 0; i < n; i++)
            d += (z[i] - g[i]) * (z[i] - g[i]);
        if (d < bestd) {
            bestd = d;
            memcpy(best, z, sizeof(double) * n);
        }
    }
    assert_true(isfinite(bestd));
}

static void test_gem_projection(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 17);
    int projected = 0, untouched = 0;
    for (int trial = 0; trial < 600; trial++) {
        int n = 2 + (int)rng_below(&r, 5), k = 1 + (int)rng_below(&r, 5);
        float g[8], G[5 * 8], z[8];
        double gd[8], Gd[5 * 8], best[16];
        for (int i = 0; i < n; i++)
            g[i] = (float)rng_normal(&r);
        for (int j = 0; j < k; j++)
            for (int i = 0; i < n; i++)
                G[j * n + i] = (float)rng_normal(&r);
        /* Degenerate cases: a repeated constraint, a dependent one. */
        if (trial % 7 == 3 && k >= 2)
            memcpy(G + n, G, sizeof(float) * n);
        if (trial % 7 == 5 && k >= 3)
            for (int i = 0; i < n; i++)
                G[2 * n + i] = G[i] + G[n + i];
        for (int i = 0; i < n; i++)
            gd[i] = g[i];
        for (int i = 0; i < k * n; i++)
            Gd[i] = G[i];
        memcpy(z, g, sizeof g);
        double v[5];
        int active = bl_gem_project(z, G, k, (size_t)n, v);
        assert_true(active >= 0);
        int violated = 0;
        for (int j = 0; j < k; j++)
            violated |= dotd(Gd + j * n, gd, n) < 0;
        if (!violated) {
            /* No constraint violated: g itself, bit for bit. */
            assert_int_equal(active, 0);
            assert_memory_equal(z, g, sizeof(float) * n);
            untouched++;
            continue;
        }
        projected++;
        double zd[8], gn = sqrt(dotd(gd, gd, n));
        for (int i = 0; i < n; i++)
            zd[i] = z[i];
        for (int j = 0; j < k; j++) {
            double gk = sqrt(dotd(Gd + j * n, Gd + j * n, n));
            double c = dotd(zd, Gd + j * n, n);
            if (c < -1e-6 * gn * gk)
                fail_msg("trial %d: constraint %d violated: %g", trial, j, c);
            assert_true(v[j] >= 0);
        }
        /* The closest such vector: the brute force's. */
        brute_project(gd, Gd, k, n, best);
        for (int i = 0; i < n; i++)
            if (fabs(zd[i] - best[i]) > 1e-5 * gn + 1e-6)
                fail_msg("trial %d (n %d, k %d): component %d is %g, brute force %g", trial, n,
                         k, i, zd[i], best[i]);
        /* No random feasible point is closer. */
        double dz = 0;
        for (int i = 0; i < n; i++)
            dz += (zd[i] - gd[i]) * (zd[i] - gd[i]);
        for (int s = 0; s < 50; s++) {
            double y[8];
            for (int i = 0; i < n; i++)
                y[i] = zd[i] + 0.3 * gn * rng_normal(&r);
            int feasible = 1;
            for (int j = 0; j < k; j++)
                feasible &= dotd(y, Gd + j * n, n) >= 0;
            double dy = 0;
            for (int i = 0; i < n; i++)
                dy += (y[i] - gd[i]) * (y[i] - gd[i]);
            if (feasible && dy < dz * (1 - 1e-6))
                fail_msg("trial %d: a feasible point %g closer than %g", trial, dy, dz);
        }
    }
    assert_true(projected > 100 && untouched > 50);
}

/* A GEM-sized case: 9 constraints on 20,000 parameters; KKT conditions prove optimality. */
static void test_gem_projection_large(void **state)
{
    (void)state;
    enum { N = 20000, K = 9 };
    float *G = malloc(sizeof(float) * K * N), *g = malloc(sizeof(float) * N);
    float *z = malloc(sizeof(float) * N);
    rng r;
    rng_seed(&r, 23);
    for (int i = 0; i < N; i++)
        g[i] = (float)rng_normal(&r);
    /* Constraints correlated with -g, so that several are violated. */
    for (int j = 0; j < K; j++)
        for (int i = 0; i < N; i++)
            G[(size_t)j * N + i] = (float)(rng_normal(&r) - 0.05 * (j % 3) * g[i]);
    memcpy(z, g, sizeof(float) * N);
    double v[K];
    int active = bl_gem_project(z, G, K, N, v);
    assert_true(active > 0);
    double gn = 0, zn = 0;
    for (int i = 0; i < N; i++) {
        gn += (double)g[i] * g[i];
        zn += (double)z[i] * z[i];
    }
    gn = sqrt(gn);
    for (int j = 0; j < K; j++) {
        double c = 0, gk = 0;
        for (int i = 0; i < N; i++) {
            c += (double)z[i] * G[(size_t)j * N + i];
            gk += (double)G[(size_t)j * N + i] * G[(size_t)j * N + i];
        }
        gk = sqrt(gk);
        assert_true(v[j] >= 0);
        assert_true(c >= -1e-6 * gn * gk);             /* primal feasible */
        if (v[j] > 0)
            assert_true(fabs(c) <= 1e-6 * gn * gk);   /* complementary slackness */
    }
    assert_true(zn < gn * gn); /* a projection shortens */
    free(G);
    free(g);
    free(z);
}

static void test_agem_projection(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 29);
    int hits = 0;
    for (int trial = 0; trial < 200; trial++) {
        enum { N = 50 };
        float g[N], ref[N], z[N];
        for (int i = 0; i < N; i++) {
            g[i] = (float)rng_normal(&r);
            ref[i] = (float)rng_normal(&r);
        }
        memcpy(z, g, sizeof g);
        double d = 0, rr = 0, gg = 0;
        for (int i = 0; i < N; i++) {
            d += (double)g[i] * ref[i];
            rr += (double)ref[i] * ref[i];
            gg += (double)g[i] * g[i];
        }
        int p = bl_agem_project(z, ref, N);
        if (d >= 0) {
            assert_int_equal(p, 0);
            assert_memory_equal(z, g, sizeof g);
            continue;
        }
        hits++;
        assert_int_equal(p, 1);
        double c = 0;
        for (int i = 0; i < N; i++)
            c += (double)z[i] * ref[i];
        assert_true(c >= -1e-5 * sqrt(rr * gg));
        /* g - z is a multiple of ref: the closest point of the half-space. */
        for (int i = 0; i < N; i++)
            assert_float_equal(g[i] - z[i], (d / rr) * ref[i], 1e-5);
    }
    assert_true(hits > 50);
}

/* ---- forgetting --------------------------------------------------------------------------- */

static void test_none_forgets_joint_does_not(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    double after[2];
    bl_method meth[2] = {BL_NONE, BL_JOINT};
    for (int i = 0; i < 2; i++) {
        bl_model m;
        bl_config c;
        make_model(&m, 10, 8);
        small_config(&c, meth[i], SCEN_CLASS);
        c.lr = 0.005f; /* class-IL: the new head must also push the old classes down */
        c.epochs = 6;
        learn(&m, &w, 0, &c);
        assert_true(task_acc(&m, &w, 0, SCEN_CLASS) > 0.9);
        learn(&m, &w, 1, &c);
        after[i] = task_acc(&m, &w, 0, SCEN_CLASS);
        if (getenv("BL_DEBUG"))
            print_message("%s: %.3f %.3f\n", bl_method_name(meth[i]), after[i], task_acc(&m, &w, 1, SCEN_CLASS));
        assert_true(task_acc(&m, &w, 1, SCEN_CLASS) > 0.9);
        bl_free(&m);
    }
    if (!(after[0] < 0.2 && after[1] > 0.9))
        fail_msg("task 1 after task 2: none %.3f, joint %.3f", after[0], after[1]);
    world_free(&w);
}

/* ---- noise -------------------------------------------------------------------------------- */

static void test_noise_path(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    bl_model m;
    bl_config c;
    make_model(&m, 10, 10);
    small_config(&c, BL_NONE, SCEN_TASK);
    learn(&m, &w, 0, &c);
    learn(&m, &w, 1, &c);
    char err[256];
    noise_weights clean, noisy;
    assert_int_equal(bl_noise_weights(&clean, &m, err, sizeof err), 0);
    for (int l = 0; l < m.nlayers; l++) {
        const float *W = bl_layer_weights(&m, l);
        float mx = 0;
        for (int i = 0; i < m.sizes[l] * m.sizes[l + 1]; i++)
            mx = fmaxf(mx, fabsf(W[i]));
        assert_float_equal(clean.wmax[l], mx, 0);
    }
    /* rho = 0 is the model itself. */
    for (int t = 0; t < 2; t++) {
        const data_task *tk = &w.tasks.task[t];
        long ca[10][10] = {{0}}, cb[10][10] = {{0}};
        int a = bl_eval(&m, &w.test, tk->test, tk->ntest, tk, SCEN_TASK, ca);
        int b = bl_noise_eval(&m, &clean, &w.test, tk->test, tk->ntest, tk, SCEN_TASK, cb, err,
                              sizeof err);
        assert_int_equal(a, b);
        assert_memory_equal(ca, cb, sizeof ca);
    }
    /* Large noise ruins it; the sweep falls and gives a tolerance. */
    rng r;
    rng_seed(&r, 3);
    assert_int_equal(noise_inject(&noisy, &clean, 2.0, &r, err, sizeof err), 0);
    noise_taskset ts = {&w.test, &w.tasks, 2, SCEN_TASK, 0};
    double acc0, accn;
    assert_int_equal(bl_noise_accuracy(&m, &clean, &ts, &acc0, NULL, err, sizeof err), 0);
    assert_int_equal(bl_noise_accuracy(&m, &noisy, &ts, &accn, NULL, err, sizeof err), 0);
    assert_true(acc0 > 0.9 && accn < acc0 - 0.2);
    double rho[6] = {0, 0.2, 0.4, 0.6, 0.8, 1.0}, acc[6], sd[6], tol;
    assert_int_equal(bl_noise_sweep(&m, &ts, rho, 6, 2, 5, NULL, acc, sd, err, sizeof err), 0);
    assert_float_equal(acc[0], acc0, 0);
    assert_true(acc[5] < acc[0]);
    assert_true(noise_tolerance(rho, acc, 6, NOISE_TOLERANCE_LEVEL, &tol, err, sizeof err) >= 0);
    assert_true(tol > 0 && tol <= 1);
    noise_weights_free(&noisy);
    noise_weights_free(&clean);
    bl_free(&m);
    world_free(&w);
}

/* ---- determinism -------------------------------------------------------------------------- */

static void run_two(const world *w, bl_method meth, int threads, bl_model *m)
{
    kern_set_threads(threads);
    bl_config c;
    make_model(m, 10, 12);
    small_config(&c, meth, SCEN_TASK);
    c.epochs = quick ? 1 : 2;
    learn(m, w, 0, &c);
    learn(m, w, 1, &c);
    kern_set_threads(1);
}

static void test_determinism(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    for (int meth = BL_NONE; meth <= BL_AGEM; meth++) {
        bl_model a, b, c;
        run_two(&w, (bl_method)meth, 1, &a);
        run_two(&w, (bl_method)meth, 1, &b);
        run_two(&w, (bl_method)meth, 2, &c);
        if (memcmp(a.theta, b.theta, sizeof(float) * a.nparams))
            fail_msg("%s: same seed, different weights", bl_method_name((bl_method)meth));
        if (memcmp(a.theta, c.theta, sizeof(float) * a.nparams))
            fail_msg("%s: 1 and 2 threads differ", bl_method_name((bl_method)meth));
        /* Evaluation too: 2 threads give the same logits. */
        const data_task *tk = &w.tasks.task[0];
        float *la = malloc(sizeof(float) * 10 * w.test.n), *lc = malloc(sizeof(float) * 10 * w.test.n);
        int *all = malloc(sizeof(int) * w.test.n);
        for (int i = 0; i < w.test.n; i++)
            all[i] = i;
        assert_int_equal(bl_infer(&a, &w.test, all, w.test.n, la), 0);
        kern_set_threads(2);
        assert_int_equal(bl_infer(&a, &w.test, all, w.test.n, lc), 0);
        kern_set_threads(1);
        assert_memory_equal(la, lc, sizeof(float) * 10 * w.test.n);
        (void)tk;
        free(la);
        free(lc);
        free(all);
        bl_free(&a);
        bl_free(&b);
        bl_free(&c);
    }
    /* Another seed gives another model. */
    bl_model d, e;
    make_model(&d, 10, 1);
    make_model(&e, 10, 2);
    assert_memory_not_equal(d.theta, e.theta, sizeof(float) * d.nparams);
    bl_free(&d);
    bl_free(&e);
    world_free(&w);
}

/* ---- callbacks, cancellation, clones, bad arguments ---------------------------------------- */

static int stop_at_two(const bl_progress *p, void *ud)
{
    (*(int *)ud)++;
    assert_true(p->val_acc >= 0 && p->val_acc <= 1 && p->loss >= 0);
    return p->epoch >= 2;
}

static void test_callback_cancel_and_errors(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    bl_model m, copy;
    bl_config c;
    make_model(&m, 10, 14);
    small_config(&c, BL_EWC, SCEN_TASK);
    c.epochs = 5;
    char err[256];
    bl_result res;
    int calls = 0;
    assert_int_equal(bl_learn(&m, &w.train, &w.tasks, 0, &c, stop_at_two, &calls, NULL, &res,
                              err, sizeof err),
                     0);
    assert_true(res.cancelled);
    assert_int_equal(res.epochs_run, 2);
    assert_int_equal(calls, 2);
    assert_int_equal(m.nfisher, 0); /* a cancelled task leaves no penalty */
    volatile int cancel = 1;
    assert_int_equal(bl_learn(&m, &w.train, &w.tasks, 0, &c, NULL, NULL, &cancel, &res, err,
                              sizeof err),
                     0);
    assert_true(res.cancelled);
    assert_int_equal(res.epochs_run, 0);
    assert_int_equal(res.steps, 0);
    /* A full task; a clone carries everything. */
    c.epochs = 1;
    learn(&m, &w, 0, &c);
    assert_int_equal(bl_clone(&copy, &m), 0);
    assert_memory_equal(copy.theta, m.theta, sizeof(float) * m.nparams);
    assert_memory_equal(copy.fisher[0], m.fisher[0], sizeof(float) * m.nparams);
    assert_float_equal(bl_ewc_penalty(&copy, &c, NULL), 0.0, 0);
    bl_free(&copy);
    /* Bad arguments are errors with a message. */
    assert_int_equal(bl_learn(&m, &w.train, &w.tasks, 7, &c, NULL, NULL, NULL, &res, err,
                              sizeof err),
                     -1);
    assert_non_null(strstr(err, "task 8"));
    c.scen = SCEN_DOMAIN;
    assert_int_equal(bl_learn(&m, &w.train, &w.tasks, 0, &c, NULL, NULL, NULL, &res, err,
                              sizeof err),
                     -1);
    assert_non_null(strstr(err, "outputs"));
    c.scen = SCEN_TASK;
    c.batch = 0;
    assert_int_equal(bl_learn(&m, &w.train, &w.tasks, 0, &c, NULL, NULL, NULL, &res, err,
                              sizeof err),
                     -1);
    int bad[3] = {DIM, 0, 10};
    bl_model z;
    assert_int_equal(bl_create(&z, 2, bad, 1, err, sizeof err), -1);
    assert_int_equal(bl_gem_project(NULL, NULL, 0, 0, NULL), -1);
    bl_method mm;
    assert_int_equal(bl_method_parse("a-gem", &mm), 0);
    assert_int_equal(mm, BL_AGEM);
    assert_int_equal(bl_method_parse("ewc", &mm), 0);
    assert_int_equal(mm, BL_EWC);
    assert_int_equal(bl_method_parse("sgd", &mm), -1);
    bl_free(&m);
    world_free(&w);
}

int main(void)
{
    quick = getenv("MPCL_TEST_QUICK") != NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_method_learns_a_task),
        cmocka_unit_test(test_ewc_penalty_is_quadratic),
        cmocka_unit_test(test_ewc_fisher_matches_definition),
        cmocka_unit_test(test_si_importance_follows_the_loss),
        cmocka_unit_test(test_gem_projection),
        cmocka_unit_test(test_gem_projection_large),
        cmocka_unit_test(test_agem_projection),
        cmocka_unit_test(test_none_forgets_joint_does_not),
        cmocka_unit_test(test_noise_path),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_callback_cancel_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

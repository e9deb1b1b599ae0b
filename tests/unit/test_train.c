/* Unit tests for core/optim, core/metrics and core/train: the update rules, switch-rate
 * arithmetic, determinism, and a short training that must beat chance. */
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
#include "experiment.h"
#include "learner_baseline.h"
#include "learner_mpcl.h"
#include "optim.h"
#include "synth.h"
#include "train.h"

static void make_net(net *n, uint64_t seed)
{
    int sizes[3] = {8, 6, 4};
    char err[128];
    assert_int_equal(net_create(n, 2, sizes, 0, 1.0f, seed, err, sizeof err), 0);
}

/* Fill every gradient of n with values from a generator. */
static void random_grads(net *n, rng *r)
{
    for (int l = 0; l < n->nlayers; l++) {
        net_layer *L = &n->layer[l];
        for (int i = 0; i < L->in * L->out; i++)
            L->g_w[i] = (float)rng_normal(r);
        for (int o = 0; o < L->out; o++) {
            L->g_gamma[o] = (float)rng_normal(r);
            L->g_beta[o] = (float)rng_normal(r);
        }
    }
}

static void run_steps(optim_rule rule, float m, net *n, int steps)
{
    optim o;
    assert_int_equal(optim_create(&o, n, rule, 0.01f), 0);
    for (int l = 0; l < n->nlayers; l++)
        o.m[l] = m;
    rng r;
    rng_seed(&r, 77);
    for (int s = 0; s < steps; s++) {
        random_grads(n, &r);
        optim_step(&o, n);
    }
    optim_free(&o);
}

static void test_m_zero_is_plain_adam(void **state)
{
    (void)state;
    net a, b, c;
    make_net(&a, 1);
    make_net(&b, 1);
    make_net(&c, 1);
    run_steps(RULE_NONE, 0.0f, &a, 50);
    run_steps(RULE_MPCL, 0.0f, &b, 50);
    run_steps(RULE_LABORIEUX, 0.0f, &c, 50);
    for (int l = 0; l < 2; l++) {
        size_t w = (size_t)a.layer[l].in * a.layer[l].out;
        assert_memory_equal(a.layer[l].wh, b.layer[l].wh, w * sizeof(float));
        assert_memory_equal(a.layer[l].wh, c.layer[l].wh, w * sizeof(float));
    }
    /* And m > 0 does change something. */
    net d;
    make_net(&d, 1);
    run_steps(RULE_MPCL, 0.005f, &d, 50);
    assert_memory_not_equal(a.layer[0].wh, d.layer[0].wh, 48 * sizeof(float));
    net_free(&a);
    net_free(&b);
    net_free(&c);
    net_free(&d);
}

/* One step on a single weight with a chosen gradient; returns the change of w. */
static float one_step(optim_rule rule, float m, float w0, float grad)
{
    net n;
    make_net(&n, 1);
    optim o;
    assert_int_equal(optim_create(&o, &n, rule, 0.01f), 0);
    for (int l = 0; l < n.nlayers; l++)
        o.m[l] = m;
    for (int l = 0; l < n.nlayers; l++) {
        memset(n.layer[l].g_w, 0, sizeof(float) * n.layer[l].in * n.layer[l].out);
        memset(n.layer[l].g_gamma, 0, sizeof(float) * n.layer[l].out);
        memset(n.layer[l].g_beta, 0, sizeof(float) * n.layer[l].out);
    }
    n.layer[0].wh[0] = w0;
    n.layer[0].g_w[0] = grad;
    optim_step(&o, &n);
    float d = n.layer[0].wh[0] - w0;
    optim_free(&o);
    net_free(&n);
    return d;
}

static void test_steps_away_from_zero_are_free(void **state)
{
    (void)state;
    /* w > 0 and a negative gradient: the step grows |w|, as plain Adam would. */
    float plain = one_step(RULE_NONE, 0.0f, 0.8f, -1.0f);
    assert_true(plain > 0);
    assert_float_equal(one_step(RULE_MPCL, 0.01f, 0.8f, -1.0f), plain, 0);
    assert_float_equal(one_step(RULE_LABORIEUX, 10.0f, 0.8f, -1.0f), plain, 0);
    /* The same for a negative weight. */
    assert_float_equal(one_step(RULE_MPCL, 0.01f, -0.8f, 1.0f),
                       one_step(RULE_NONE, 0.0f, -0.8f, 1.0f), 0);
}

static void test_steps_toward_zero_are_capped(void **state)
{
    (void)state;
    float lr = 0.01f;
    float plain = one_step(RULE_NONE, 0.0f, 0.8f, 1.0f);
    assert_true(plain < 0);
    float prev = fabsf(plain);
    /* Harder as m grows, and never above the documented cap. */
    float ms[] = {0.0005f, 0.002f, 0.005f, 0.02f};
    for (int i = 0; i < 4; i++) {
        float d = one_step(RULE_MPCL, ms[i], 0.8f, 1.0f);
        double e = exp(-2.0 * ms[i] / OPTIM_MPCL_M_UNIT * 0.8);
        float cap = (float)(lr * 4 * e / ((1 + e) * (1 + e))); /* lr (1 - tanh^2) */
        assert_true(d <= 0);
        assert_true(fabsf(d) <= cap * (1 + 1e-5f));
        assert_true(fabsf(d) <= prev);
        prev = fabsf(d);
    }
    assert_true(prev < 1e-3f * fabsf(plain));
    /* A larger |w| is held harder than a smaller one at the same m. */
    assert_true(fabsf(one_step(RULE_MPCL, 0.002f, 0.8f, 1.0f)) <
                fabsf(one_step(RULE_MPCL, 0.002f, 0.1f, 1.0f)));
    /* Laborieux: the step is Adam's scaled by 1 - tanh^2(m |w|). */
    float th = tanhf(2.0f * 0.8f);
    assert_float_equal(one_step(RULE_LABORIEUX, 2.0f, 0.8f, 1.0f), plain * (1 - th * th),
                       1e-7);
}

static void test_sech2_accuracy(void **state)
{
    (void)state;
    /* Float arguments near 40 carry ~1e-6 relative error into exp(-2x) by themselves. */
    for (float x = 0; x < 60; x += 0.037f) {
        double e = exp(-2.0 * x), ref = 4 * e / ((1 + e) * (1 + e));
        double got = optim_sech2(x);
        if (fabs(got - ref) > 1e-5 * ref + 1e-37)
            fail_msg("sech2(%g) = %g, expected %g", x, got, ref);
        assert_float_equal(optim_sech2(-x), got, 0);
    }
    assert_float_equal(optim_sech2(200.0f), 0.0f, 0);
}

static void test_switch_rate_arithmetic(void **state)
{
    (void)state;
    uint64_t a[2] = {0xF0F0ULL, 0x1ULL}, b[2] = {0xF0F1ULL, 0x0ULL};
    assert_int_equal(metrics_sign_flips(a, b, 2), 2);
    assert_int_equal(metrics_sign_flips(a, a, 2), 0);
    double acc[3] = {1.0, 0.5, 0.0};
    int counts[3] = {100, 300, 0};
    assert_float_equal(metrics_weighted_average(acc, counts, 3), (100 + 150) / 400.0, 1e-12);
    double m[DATA_MAX_TASKS][DATA_MAX_TASKS] = {{0.9}, {0.8, 0.95}, {0.7, 0.9, 0.99}};
    assert_float_equal(metrics_backward_transfer(m, 3), ((0.7 - 0.9) + (0.9 - 0.95)) / 2,
                       1e-12);
}

static void test_scenarios(void **state)
{
    (void)state;
    data_task t = {.nclasses = 2, .classes = {6, 7}};
    assert_int_equal(scenario_target(SCEN_TASK, &t, 7), 7);
    assert_int_equal(scenario_target(SCEN_DOMAIN, &t, 7), 1);
    assert_int_equal(scenario_target(SCEN_CLASS, &t, 6), 6);
    assert_int_equal(scenario_eval_mask(SCEN_TASK, &t), (1 << 6) | (1 << 7));
    assert_int_equal(scenario_eval_mask(SCEN_DOMAIN, &t), 3);
    assert_int_equal(scenario_eval_mask(SCEN_CLASS, &t), 0x3ff);
    assert_int_equal(scenario_class_of(SCEN_DOMAIN, &t, 1), 7);
    assert_int_equal(scenario_outputs(SCEN_DOMAIN), 2);
}

typedef struct world {
    data_set train, test;
    data_tasks tasks;
} world;

static void world_make(world *w)
{
    synth_binary(&w->train, 3000, 120, 0.25, 21);
    synth_binary(&w->test, 1000, 120, 0.25, 22);
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

static void train_two_tasks(const world *w, net *n, train_result res[2], optim_rule rule,
                            float m)
{
    int sizes[4] = {120, 64, 64, 10};
    char err[256];
    assert_int_equal(net_create(n, 3, sizes, 1, 1.0f, 3, err, sizeof err), 0);
    optim o;
    assert_int_equal(optim_create(&o, n, rule, 0.005f), 0);
    for (int l = 0; l < 3; l++)
        o.m[l] = m;
    train_config cfg;
    train_config_default(&cfg);
    cfg.epochs = 3;
    cfg.batch = 50;
    for (int t = 0; t < 2; t++)
        assert_int_equal(train_task(n, &o, &w->train, &w->tasks, t, &cfg, NULL, NULL, NULL,
                                    &res[t], err, sizeof err),
                         0);
    optim_free(&o);
}

static void test_training_is_deterministic(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    net a, b;
    train_result ra[2], rb[2];
    kern_set_threads(2);
    train_two_tasks(&w, &a, ra, RULE_MPCL, 0.005f);
    train_two_tasks(&w, &b, rb, RULE_MPCL, 0.005f);
    for (int l = 0; l < 3; l++) {
        size_t len = (size_t)a.layer[l].in * a.layer[l].out * sizeof(float);
        assert_memory_equal(a.layer[l].wh, b.layer[l].wh, len);
        assert_memory_equal(a.layer[l].mean, b.layer[l].mean, a.layer[l].out * sizeof(float));
    }
    assert_float_equal(ra[1].switch_rate, rb[1].switch_rate, 0);
    kern_set_threads(1);
    net_free(&a);
    net_free(&b);
    world_free(&w);
}

static void test_short_training_beats_chance(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    net n;
    train_result res[2];
    train_two_tasks(&w, &n, res, RULE_MPCL, 0.005f);
    for (int t = 0; t < 2; t++) {
        const data_task *tk = &w.tasks.task[t];
        int right = metrics_eval(&n, t, &w.test, tk->test, tk->ntest, tk, SCEN_TASK, NULL);
        double acc = (double)right / tk->ntest;
        if (acc < 0.9) /* chance is 0.5 in task-IL */
            fail_msg("task %d accuracy %.3f", t + 1, acc);
    }
    /* The switch rate the trainer reports is the flipped fraction of all weights. */
    assert_true(res[1].switch_rate > 0 && res[1].switch_rate < 1);
    assert_int_equal(res[1].weights, 120 * 64 + 64 * 64 + 64 * 10);
    assert_float_equal(res[1].switch_rate, (double)res[1].flips / res[1].weights, 1e-6);
    net_free(&n);
    world_free(&w);
}

static int stop_at_epoch_two(const train_progress *p, void *ud)
{
    (void)ud;
    return p->epoch >= 2;
}

static void test_callback_and_cancel(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    int sizes[3] = {120, 32, 10};
    char err[256];
    net n;
    assert_int_equal(net_create(&n, 2, sizes, 1, 1.0f, 3, err, sizeof err), 0);
    optim o;
    assert_int_equal(optim_create(&o, &n, RULE_NONE, 0.005f), 0);
    train_config cfg;
    train_config_default(&cfg);
    cfg.epochs = 10;
    cfg.patience = 0;
    train_result res;
    assert_int_equal(train_task(&n, &o, &w.train, &w.tasks, 0, &cfg, stop_at_epoch_two, NULL,
                                NULL, &res, err, sizeof err),
                     0);
    assert_true(res.cancelled);
    assert_int_equal(res.epochs_run, 2);
    volatile int cancel = 1;
    assert_int_equal(train_task(&n, &o, &w.train, &w.tasks, 1, &cfg, NULL, NULL, &cancel, &res,
                                err, sizeof err),
                     0);
    assert_true(res.cancelled);
    assert_int_equal(res.epochs_run, 0);
    /* Bad arguments are errors, not crashes. */
    assert_int_equal(train_task(&n, &o, &w.train, &w.tasks, 7, &cfg, NULL, NULL, NULL, &res,
                                err, sizeof err),
                     -1);
    cfg.scen = SCEN_DOMAIN;
    assert_int_equal(train_task(&n, &o, &w.train, &w.tasks, 0, &cfg, NULL, NULL, NULL, &res,
                                err, sizeof err),
                     -1);
    optim_free(&o);
    net_free(&n);
    world_free(&w);
}

static void test_experiment_step_and_back(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    mpcl_setup s;
    mpcl_setup_default(&s, &w.train, SCEN_TASK);
    s.sizes[1] = s.sizes[2] = 32;
    s.cfg.epochs = 2;
    s.cfg.batch = 50;
    experiment e;
    learner l;
    char err[256];
    assert_int_equal(learner_mpcl_new(&l, &w.train, &w.test, &w.tasks, &s, err, sizeof err), 0);
    experiment_init(&e, l, &w.tasks);
    const net *n = &learner_mpcl_of(&e.l)->n;
    assert_int_equal(experiment_back(&e), -1); /* nothing to undo yet */
    assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(e.learnt, 2);
    double acc1 = e.acc[1][0], avg = e.average[1];
    float w0 = n->layer[0].wh[7];
    assert_true(acc1 > 0.9 && avg > 0.9);
    /* Undo the second step: the state is the one after step 1, bit for bit... */
    assert_int_equal(experiment_back(&e), 0);
    assert_int_equal(e.learnt, 1);
    /* ...so stepping again gives the same result. */
    assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 0);
    assert_float_equal(e.acc[1][0], acc1, 0);
    assert_float_equal(e.average[1], avg, 0);
    assert_float_equal(n->layer[0].wh[7], w0, 0);
    /* A cancelled step is undone and reported. */
    volatile int cancel = 1;
    assert_int_equal(experiment_step(&e, NULL, NULL, &cancel, err, sizeof err), -1);
    assert_non_null(strstr(err, "cancelled"));
    assert_int_equal(e.learnt, 2);
    while (e.learnt < w.tasks.ntasks)
        assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 1);
    experiment_free(&e);
    world_free(&w);
}

/* The same stepper drives a float baseline: back() undoes a step bit for bit, a cancelled
 * step leaves the model as it was, and the tap sees the model's own weights. */
static int count_epoch(const train_progress *p, void *ud)
{
    assert_non_null(p->tap);
    assert_int_equal(p->tap->nlayers, 2);
    (*(int *)ud)++;
    return 0;
}

static void test_stepper_drives_a_baseline(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    bl_config cfg;
    bl_config_default(&cfg);
    cfg.method = BL_EWC;
    cfg.epochs = 1;
    cfg.seed = 3;
    int sizes[3] = {w.train.dim, 16, 10};
    learner l;
    char err[256];
    assert_int_equal(learner_baseline_new(&l, &w.train, &w.test, &w.tasks, 2, sizes, &cfg, err,
                                          sizeof err), 0);
    experiment e;
    experiment_init(&e, l, &w.tasks);
    int epochs = 0;
    assert_int_equal(experiment_step(&e, count_epoch, &epochs, NULL, err, sizeof err), 0);
    assert_int_equal(epochs, 1);
    const bl_model *m = &learner_baseline_of(&e.l)->m;
    assert_null(learner_mpcl_of(&e.l));
    weight_tap tap;
    e.l.cls->tap(e.l.self, &tap);
    assert_ptr_equal(tap.w[1], bl_layer_weights(m, 1));
    assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 0);
    double acc = e.acc[1][0], avg = e.average[1];
    float w0 = learner_baseline_of(&e.l)->m.theta[5];
    assert_int_equal(experiment_back(&e), 0);
    assert_int_equal(e.learnt, 1);
    volatile int cancel = 1;
    assert_int_equal(experiment_step(&e, NULL, NULL, &cancel, err, sizeof err), -1);
    assert_non_null(strstr(err, "step 2 cancelled"));
    assert_int_equal(e.learnt, 1);
    assert_int_equal(experiment_step(&e, NULL, NULL, NULL, err, sizeof err), 0);
    assert_float_equal(e.acc[1][0], acc, 0);
    assert_float_equal(e.average[1], avg, 0);
    assert_float_equal(learner_baseline_of(&e.l)->m.theta[5], w0, 0);
    experiment_free(&e);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m_zero_is_plain_adam),
        cmocka_unit_test(test_steps_away_from_zero_are_free),
        cmocka_unit_test(test_steps_toward_zero_are_capped),
        cmocka_unit_test(test_sech2_accuracy),
        cmocka_unit_test(test_switch_rate_arithmetic),
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_training_is_deterministic),
        cmocka_unit_test(test_short_training_beats_chance),
        cmocka_unit_test(test_callback_and_cancel),
        cmocka_unit_test(test_experiment_step_and_back),
        cmocka_unit_test(test_stepper_drives_a_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* lab.baseline: a float continual-learning baseline (core/learner_baseline) stepped through
 * a task sequence by the same stepper binding as lab.experiment (lab_stepper.c).
 *   b = lab.baseline{method="ewc", dataset="mnist", scenario="task", epochs=5, ...}
 *   b:step() / b:run() are jobs, b:back() undoes a step; b:evaluate{confusion=true};
 *   b:noise_sweep{...} is a job; b.matrix, b.history, b.average, b.learnt, b.method,
 *   b.scenario; lab.energy(b). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "lab_stepper.h"
#include "learner_baseline.h"
#include "noise.h"

static const lab_stepper_kind baseline_kind;

static const learner_baseline *baseline_of(const lab_stepper *s)
{
    return learner_baseline_of(&s->e.l);
}

/* Push lab.<fn>(args at the top n slots) called with one result. */
static void call_lab(lua_State *L, const char *fn, int nargs)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.lab");
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    lua_insert(L, -(nargs + 1));
    lua_call(L, nargs, 1);
}

/* The task sequence of lab.baseline's options (table at 1): given (seq=), or split from a
 * data set (ds=, or loaded by name); pushes the data set and the sequence, their indices in
 * *ds_idx and *ts_idx. */
static void baseline_tasks(lua_State *L, lua_Integer seed, int *ds_idx, int *ts_idx)
{
    static const char *who = "lab.baseline";
    if (lab_opt_field(L, 1, "seq")) {
        lab_check_tasks(L, -1);
        *ts_idx = lua_gettop(L);
        lab_tasks_dataset(L, *ts_idx);
        lua_getiuservalue(L, *ts_idx, 1); /* the data set it was split from */
        *ds_idx = lua_gettop(L);
        return;
    }
    if (lab_opt_field(L, 1, "ds")) {
        lab_check_dataset(L, -1);
    } else {
        lua_pushstring(L, lab_opt_str(L, 1, "dataset", "mnist", who));
        lua_createtable(L, 0, 2);
        lua_pushstring(L, lab_opt_str(L, 1, "input", "paper192", who));
        lua_setfield(L, -2, "input");
        lua_pushnumber(L, lab_opt_num(L, 1, "threshold", 0.2, who));
        lua_setfield(L, -2, "threshold");
        call_lab(L, "dataset", 2);
    }
    *ds_idx = lua_gettop(L);
    lua_pushvalue(L, *ds_idx);
    lua_createtable(L, 0, 3);
    if (lab_opt_field(L, 1, "groups"))
        lua_setfield(L, -2, "groups");
    lua_pushnumber(L, lab_opt_num(L, 1, "val", 0.1, who));
    lua_setfield(L, -2, "val");
    lua_pushinteger(L, seed);
    lua_setfield(L, -2, "seed");
    call_lab(L, "tasks", 2);
    *ts_idx = lua_gettop(L);
}

/* The training hyper-parameters of lab.baseline's options (table at 1) into cfg, checked. */
static void baseline_hyper(lua_State *L, bl_config *cfg)
{
    static const char *who = "lab.baseline";
    const char *mask = lab_opt_str(L, 1, "mask", cfg->scen == SCEN_TASK ? "task" : "none", who);
    if (strcmp(mask, "task") && strcmp(mask, "none"))
        luaL_error(L, "%s: mask must be task or none, got '%s'", who, mask);
    cfg->mask_task = !strcmp(mask, "task");
    if (cfg->mask_task && cfg->scen != SCEN_TASK)
        luaL_error(L, "%s: mask=task needs the task identity (task scenario)", who);
    const char *opt = lab_opt_str(L, 1, "optimizer", "adam", who);
    if (!strcmp(opt, "adam"))
        cfg->opt = BL_ADAM;
    else if (!strcmp(opt, "sgd"))
        cfg->opt = BL_SGD, cfg->lr = 0.1f;
    else
        luaL_error(L, "%s: optimizer must be adam or sgd, got '%s'", who, opt);
    cfg->lr = (float)lab_opt_num(L, 1, "lr", cfg->lr, who);
    cfg->reset_optim = lab_opt_bool(L, 1, "reset", cfg->reset_optim);
    cfg->batch = lab_opt_i32(L, 1, "batch", cfg->batch, who);
    cfg->epochs = lab_opt_i32(L, 1, "epochs", cfg->epochs, who);
    cfg->ewc_lambda = (float)lab_opt_num(L, 1, "lambda", cfg->ewc_lambda, who);
    cfg->ewc_online = lab_opt_bool(L, 1, "online", cfg->ewc_online);
    cfg->ewc_gamma = (float)lab_opt_num(L, 1, "gamma", cfg->ewc_gamma, who);
    const char *fisher = lab_opt_str(L, 1, "fisher", "true", who);
    if (!strcmp(fisher, "true"))
        cfg->fisher = BL_FISHER_TRUE;
    else if (!strcmp(fisher, "empirical"))
        cfg->fisher = BL_FISHER_EMPIRICAL;
    else
        luaL_error(L, "%s: fisher must be true or empirical, got '%s'", who, fisher);
    cfg->fisher_n = lab_opt_i32(L, 1, "fisher_n", cfg->fisher_n, who);
    cfg->si_c = (float)lab_opt_num(L, 1, "c", cfg->si_c, who);
    cfg->si_eps = (float)lab_opt_num(L, 1, "xi", cfg->si_eps, who);
    cfg->mem_per_task = lab_opt_i32(L, 1, "mem", cfg->mem_per_task, who);
    cfg->agem_ref = lab_opt_i32(L, 1, "ref", cfg->agem_ref, who);
    if (cfg->batch < 1 || cfg->epochs < 1 || cfg->epochs > 10000 || !(cfg->lr > 0) ||
        cfg->ewc_lambda < 0 || cfg->si_c < 0 || !(cfg->si_eps > 0) || cfg->fisher_n < 0 ||
        cfg->mem_per_task < 1 || cfg->agem_ref < 1)
        luaL_error(L, "%s: batch, epochs, lr, xi, mem and ref must be positive; lambda, "
                      "c and fisher_n not negative", who);
}

/* lab.baseline{method=, ds= | dataset=, input=, threshold=, seq=, groups=, val=, seed=,
 * hidden=, scenario=, mask=, optimizer=, lr=, reset=, batch=, epochs=, lambda=, online=,
 * gamma=, fisher=, fisher_n=, c=, xi=, mem=, ref=} */
static int l_baseline(lua_State *L)
{
    static const char *const known[] = {
        "method", "ds", "dataset", "input", "threshold", "seq", "groups", "val", "seed",
        "hidden", "scenario", "mask", "optimizer", "lr", "reset", "batch", "epochs", "lambda",
        "online", "gamma", "fisher", "fisher_n", "c", "xi", "mem", "ref", NULL};
    static const char *who = "lab.baseline";
    luaL_checktype(L, 1, LUA_TTABLE);
    lab_check_options(L, 1, who, known);
    bl_config cfg;
    bl_config_default(&cfg);
    const char *ms = lab_opt_str(L, 1, "method", "none", who);
    if (bl_method_parse(ms, &cfg.method) < 0)
        return luaL_error(L, "%s: method must be none, joint, ewc, si, gem or agem, got '%s'",
                          who, ms);
    const char *scs = lab_opt_str(L, 1, "scenario", "task", who);
    if (scenario_parse(scs, &cfg.scen) < 0)
        return luaL_error(L, "%s: scenario must be task, domain or class, got '%s'", who, scs);
    lua_Integer seed = lab_opt_int(L, 1, "seed", lab_default_seed(L), who);

    int ts_idx, ds_idx;
    baseline_tasks(L, seed, &ds_idx, &ts_idx);
    lab_dataset *ds = lab_check_dataset(L, ds_idx);
    lab_tasks *ts = lab_check_tasks(L, ts_idx);

    baseline_hyper(L, &cfg);
    cfg.seed = (uint64_t)seed;
    lua_Integer hidden = lab_opt_int(L, 1, "hidden", 256, who);
    if (hidden < 1 || hidden > 65536)
        return luaL_error(L, "%s: hidden must be 1-65536", who);

    int sizes[4] = {ds->train.dim, (int)hidden, (int)hidden, scenario_outputs(cfg.scen)};
    learner l;
    char err[256];
    if (learner_baseline_new(&l, &ds->train, &ds->test, &ts->t, 3, sizes, &cfg, err,
                             sizeof err) < 0)
        return luaL_error(L, "%s: %s", who, err);
    lab_stepper_new(L, &baseline_kind, l, &ts->t, ds_idx, ts_idx);
    return 1;
}

/* ---- the kind: history, status, record, tostring, fields ------------------------------ */

static void baseline_push_step(lua_State *L, const lab_stepper *s, int t)
{
    const learner_result *r = &s->e.result[t];
    lua_createtable(L, 0, 10);
    lab_set_int(L, "task", t + 1);
    lab_set_int(L, "epochs", r->epochs_run);
    lab_set_num(L, "loss", r->loss);
    lab_set_num(L, "train_acc", r->train_acc);
    lab_set_num(L, "val_acc", r->val_acc);
    lab_set_int(L, "steps", r->steps);
    lab_set_int(L, "projected", r->projected);
    lab_set_num(L, "seconds", s->e.seconds[t]);
    lab_set_num(L, "average", s->e.average[t]);
    lab_stepper_push_acc(L, s, t);
    lua_setfield(L, -2, "acc");
}

static void baseline_status(const lab_stepper *s, const train_progress *p, int last,
                           int many, char *buf, size_t len)
{
    (void)last, (void)many;
    snprintf(buf, len, "%s task %d of %d, epoch %d/%d",
             bl_method_name(baseline_of(s)->cfg.method), p->task + 1, s->e.tasks->ntasks,
             p->epoch, p->max_epochs);
}

static void baseline_record(lua_State *L, const lab_stepper *s, int t, const char *acc)
{
    lab_record(L, "baseline %s task=%d average=%.6f acc=%s",
               bl_method_name(baseline_of(s)->cfg.method), t + 1, s->e.average[t], acc);
}

static void baseline_describe(const lab_stepper *s, char *buf, size_t len)
{
    const learner_baseline *x = baseline_of(s);
    const experiment *e = &s->e;
    if (s->busy.count > 0)
        snprintf(buf, len, "baseline %s: busy with job %d", bl_method_name(x->cfg.method),
                 s->busy.job_id);
    else
        snprintf(buf, len, "baseline %s: %d of %d tasks learnt, %s-IL, %d-%d-%d-%d, average %.4f",
                 bl_method_name(x->cfg.method), e->learnt, e->tasks->ntasks,
                 scenario_name(x->cfg.scen), x->m.sizes[0], x->m.sizes[1], x->m.sizes[2],
                 x->m.sizes[3], e->learnt ? e->average[e->learnt - 1] : 0.0);
}

/* method, scenario, params: readable while a job works on the baseline. */
static int baseline_field(lua_State *L, const lab_stepper *s, const char *k)
{
    const learner_baseline *x = baseline_of(s);
    if (!strcmp(k, "method"))
        lua_pushstring(L, bl_method_name(x->cfg.method));
    else if (!strcmp(k, "scenario"))
        lua_pushstring(L, scenario_name(x->cfg.scen));
    else if (!strcmp(k, "params"))
        lua_pushinteger(L, (lua_Integer)x->m.nparams);
    else
        return 0;
    return 1;
}

static const lab_stepper_kind baseline_kind = {
    .mt = BASELINE_MT,
    .who = "lab.baseline",
    .step_job = "baseline:step",
    .run_job = "baseline:run",
    .status = baseline_status,
    .push_step = baseline_push_step,
    .record = baseline_record,
    .describe = baseline_describe,
    .field = baseline_field,
};

/* Option upto of the table at 2: tasks 1..upto (default: those learnt, else all). */
static int upto_arg(lua_State *L, const lab_stepper *s, const char *who)
{
    int all = s->e.tasks->ntasks;
    int upto = lab_opt_i32(L, 2, "upto", s->e.learnt ? s->e.learnt : all, who);
    if (upto < 1 || upto > all)
        luaL_error(L, "%s: upto must be 1-%d", who, all);
    return upto;
}

/* ---- evaluation ---------------------------------------------------------------------- */

/* b:evaluate([{upto=, confusion=, split=}]) -> {acc, counts, average, confusion} */
static int l_baseline_evaluate(lua_State *L)
{
    static const char *const known[] = {"upto", "confusion", "split", NULL};
    static const char *who = "baseline:evaluate";
    lab_stepper *s = lab_stepper_idle(L, 1, &baseline_kind);
    const learner_baseline *x = baseline_of(s);
    lab_check_options(L, 2, who, known);
    int upto = upto_arg(L, s, who);
    int want_conf = lab_opt_bool(L, 2, "confusion", 0);
    const char *split = lab_opt_str(L, 2, "split", "test", who);
    int use_val = !strcmp(split, "val");
    if (!use_val && strcmp(split, "test"))
        return luaL_error(L, "%s: split must be test or val", who);
    const data_set *d = use_val ? x->train : x->test;
    long conf[10][10];
    memset(conf, 0, sizeof conf);
    double acc[DATA_MAX_TASKS];
    int counts[DATA_MAX_TASKS];
    for (int j = 0; j < upto; j++) {
        const data_task *t = &x->tasks->task[j];
        const int *idx = use_val ? t->val : t->test;
        int cnt = use_val ? t->nval : t->ntest;
        int right = bl_eval(&x->m, d, idx, cnt, t, x->cfg.scen, want_conf ? conf : NULL);
        if (right < 0)
            return luaL_error(L, "%s: out of memory", who);
        acc[j] = cnt ? (double)right / cnt : 0.0;
        counts[j] = cnt;
    }
    lab_push_evaluation(L, "baseline_evaluate", split, acc, counts, upto,
                        want_conf ? (const long(*)[10])conf : NULL);
    return 1;
}

/* ---- noise sweep (a job on a copy) --------------------------------------------------- */

static int sweep_baseline(const void *model, const noise_taskset *ts, const double *rho,
                          int nrho, int draws, uint64_t seed, const volatile int *cancel,
                          double *acc, double *sd, char *err, size_t errlen)
{
    return bl_noise_sweep(model, ts, rho, nrho, draws, seed, cancel, acc, sd, err, errlen);
}

static void free_baseline(void *m)
{
    bl_free(m);
    free(m);
}

/* b:noise_sweep([{step=0.05, draws=5, seed=, upto=}]) -> a job: {rho, acc, sd, tolerance,
 * reached}, as lab.noise_sweep (the float weights mapped onto the conductance window). */
static int l_baseline_noise_sweep(lua_State *L)
{
    static const char *const known[] = {"step", "draws", "seed", "upto", NULL};
    static const char *who = "baseline:noise_sweep";
    lab_stepper *s = lab_stepper_idle(L, 1, &baseline_kind);
    const learner_baseline *x = baseline_of(s);
    lab_check_options(L, 2, who, known);
    int upto = upto_arg(L, s, who);
    lab_noise_job *c = lab_noise_job_new(L, 2, who);
    bl_model *copy = calloc(1, sizeof *copy); /* the sweep may run while it learns on */
    if (!copy || bl_clone(copy, &x->m) < 0) {
        free(copy);
        free(c); /* nothing else is owned yet */
        return luaL_error(L, "%s: out of memory", who);
    }
    lab_noise_job_submit(L, c, "baseline:noise_sweep", "baseline_noise_sweep", copy,
                         sweep_baseline, free_baseline,
                         (noise_taskset){x->test, x->tasks, upto, x->cfg.scen, 0}, 1, 0);
    return 1;
}

/* ---- inspection ---------------------------------------------------------------------- */

int lab_baseline_sizes(lua_State *L, int i, int *sizes)
{
    lab_stepper *s = luaL_testudata(L, i, BASELINE_MT);
    if (!s)
        return -1;
    const learner_baseline *x = baseline_of(s);
    memcpy(sizes, x->m.sizes, sizeof(int) * (size_t)(x->m.nlayers + 1));
    return x->m.nlayers;
}

/* b:sizes() -> {192, 256, 256, 10} */
static int l_baseline_sizes(lua_State *L)
{
    const learner_baseline *x = baseline_of(lab_stepper_check(L, 1, &baseline_kind));
    lua_createtable(L, x->m.nlayers + 1, 0);
    for (int l = 0; l <= x->m.nlayers; l++) {
        lua_pushinteger(L, x->m.sizes[l]);
        lua_rawseti(L, -2, l + 1);
    }
    return 1;
}

/* b:weights(layer) -> rows (outputs) of inputs' float weights. */
static int l_baseline_weights(lua_State *L)
{
    lab_stepper *s = lab_stepper_idle(L, 1, &baseline_kind);
    const learner_baseline *x = baseline_of(s);
    lua_Integer l = luaL_checkinteger(L, 2);
    if (l < 1 || l > x->m.nlayers)
        return luaL_error(L, "baseline:weights: layer must be 1-%d", x->m.nlayers);
    const float *w = bl_layer_weights(&x->m, (int)l - 1);
    int out = x->m.sizes[l], in = x->m.sizes[l - 1];
    lua_createtable(L, out, 0);
    for (int o = 0; o < out; o++) {
        lab_push_floats(L, w + (size_t)o * in, in);
        lua_rawseti(L, -2, o + 1);
    }
    return 1;
}

void lab_baseline_open(lua_State *L, int lab)
{
    static const luaL_Reg methods[] = {{"evaluate", l_baseline_evaluate},
                                       {"noise_sweep", l_baseline_noise_sweep},
                                       {"sizes", l_baseline_sizes},
                                       {"weights", l_baseline_weights},
                                       {NULL, NULL}};
    lab_stepper_class(L, lab, &baseline_kind, methods, "baseline", l_baseline);
}

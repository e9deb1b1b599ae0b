/* lab.baseline: a float continual-learning baseline (core/baselines) stepped through a task
 * sequence, the way lab.experiment steps the MPCL net.
 *   b = lab.baseline{method="ewc", dataset="mnist", scenario="task", epochs=5, ...}
 *   b:step() / b:run() are jobs; b:evaluate{confusion=true}; b:noise_sweep{...} is a job;
 *   b.matrix, b.history, b.average, b.learnt, b.method, b.scenario; lab.energy(b). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "lab.h"
#include "lab_internal.h"
#include "noise.h"
#include "clock.h"

typedef struct lab_baseline {
    bl_model m;
    bl_config cfg;
    const data_set *train, *test; /* owned by the dataset kept in uservalue 1 */
    const data_tasks *tasks;      /* owned by the task sequence in uservalue 2 */
    int learnt;
    double acc[DATA_MAX_TASKS][DATA_MAX_TASKS], average[DATA_MAX_TASKS];
    bl_result result[DATA_MAX_TASKS];
    double seconds[DATA_MAX_TASKS];
    lab_busy busy;
} lab_baseline;

static lab_baseline *check_baseline(lua_State *L, int i)
{
    return luaL_checkudata(L, i, BASELINE_MT);
}

static lab_baseline *idle_baseline(lua_State *L, int i)
{
    lab_baseline *lb = check_baseline(L, i);
    lab_check_idle(L, &lb->busy, "lab.baseline");
    return lb;
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

    lab_baseline *lb = lua_newuserdatauv(L, sizeof *lb, 2);
    memset(lb, 0, sizeof *lb);
    int sizes[4] = {ds->train.dim, (int)hidden, (int)hidden, scenario_outputs(cfg.scen)};
    char err[256];
    if (bl_create(&lb->m, 3, sizes, (uint64_t)seed, err, sizeof err) < 0)
        return luaL_error(L, "%s: %s", who, err);
    luaL_setmetatable(L, BASELINE_MT);
    lb->cfg = cfg;
    lb->train = &ds->train;
    lb->test = &ds->test;
    lb->tasks = &ts->t;
    lua_pushvalue(L, ds_idx); /* the data and tasks live as long as the baseline */
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, ts_idx);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

static int baseline_gc(lua_State *L)
{
    lab_baseline *lb = check_baseline(L, 1);
    if (lb->busy.count > 0)
        job_system_stop(); /* only at lua_close: the worker must let go first */
    bl_free(&lb->m);
    return 0;
}

/* ---- stepping (a job) ---------------------------------------------------------------- */

typedef struct bstep_ctx {
    lab_baseline *lb;
    int steps, first, done;
    job *j;
    int total;
} bstep_ctx;

static int bstep_epoch(const bl_progress *p, void *ud)
{
    bstep_ctx *c = ud;
    train_progress tp;
    memset(&tp, 0, sizeof tp);
    tp.task = p->task;
    tp.epoch = p->epoch;
    tp.max_epochs = p->max_epochs;
    tp.batches_done = p->batches_done;
    tp.batches_total = p->batches_total;
    tp.loss = p->loss;
    tp.train_acc = p->train_acc;
    tp.val_acc = p->val_acc;
    tp.nlayers = c->lb->m.nlayers;
    double f = (c->done + (double)p->epoch / p->max_epochs) / c->total;
    char status[80];
    snprintf(status, sizeof status, "%s task %d of %d, epoch %d/%d",
             bl_method_name(c->lb->cfg.method), p->task + 1, c->first + c->total, p->epoch,
             p->max_epochs);
    lab_job_epoch(c->j, &tp, f, status);
    return 0; /* cancellation goes through the job's flag */
}

static int bstep_work(job *j, void *ctx, char *err, size_t errlen)
{
    bstep_ctx *c = ctx;
    lab_baseline *lb = c->lb;
    c->j = j;
    c->first = lb->learnt;
    int left = lb->tasks->ntasks - lb->learnt;
    c->total = c->steps < left ? c->steps : left;
    if (c->total < 1)
        c->total = 1;
    while (c->done < c->steps && lb->learnt < lb->tasks->ntasks && !j->cancel) {
        int t = lb->learnt;
        /* A snapshot, so that a cancelled task leaves the model as it was before it. */
        bl_model before;
        if (bl_clone(&before, &lb->m) < 0) {
            snprintf(err, errlen, "out of memory for the step's snapshot");
            return -1;
        }
        double t0 = clock_seconds();
        bl_result res;
        int rc = bl_learn(&lb->m, lb->train, lb->tasks, t, &lb->cfg, bstep_epoch, c, &j->cancel,
                          &res, err, errlen);
        if (rc == 0 && !res.cancelled &&
            bl_accuracy(&lb->m, lb->test, lb->tasks, t + 1, lb->cfg.scen, &lb->average[t],
                        lb->acc[t], err, errlen) < 0)
            rc = -1;
        if (rc < 0 || res.cancelled) { /* the step did not happen */
            bl_free(&lb->m);
            lb->m = before;
            return rc < 0 ? -1 : 0;
        }
        bl_free(&before);
        lb->result[t] = res;
        lb->seconds[t] = clock_seconds() - t0;
        lb->learnt = t + 1;
        double row[JOB_MAX_VALUES] = {t, lb->average[t], 0};
        int n = 3;
        for (int k = 0; k <= t && n < JOB_MAX_VALUES; k++)
            row[n++] = lb->acc[t][k];
        job_publish_values(j, LAB_TAG_STEP, row, n);
        c->done++;
    }
    return 0;
}

static void push_step(lua_State *L, const lab_baseline *lb, int t)
{
    const bl_result *r = &lb->result[t];
    lua_createtable(L, 0, 10);
    lab_set_int(L, "task", t + 1);
    lab_set_int(L, "epochs", r->epochs_run);
    lab_set_num(L, "loss", r->loss);
    lab_set_num(L, "train_acc", r->train_acc);
    lab_set_num(L, "val_acc", r->val_acc);
    lab_set_int(L, "steps", r->steps);
    lab_set_int(L, "projected", r->projected);
    lab_set_num(L, "seconds", lb->seconds[t]);
    lab_set_num(L, "average", lb->average[t]);
    lua_createtable(L, t + 1, 0);
    for (int j = 0; j <= t; j++) {
        lua_pushnumber(L, lb->acc[t][j]);
        lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "acc");
}

static void bstep_result(lua_State *L, job *j, void *ctx)
{
    (void)j;
    bstep_ctx *c = ctx;
    const lab_baseline *lb = c->lb;
    for (int t = c->first; t < c->first + c->done; t++) {
        char acc[DATA_MAX_TASKS * 10] = "";
        size_t n = 0;
        for (int k = 0; k <= t; k++)
            n += (size_t)snprintf(acc + n, sizeof acc - n, "%s%.6f", k ? "," : "", lb->acc[t][k]);
        lab_record(L, "baseline %s task=%d average=%.6f acc=%s", bl_method_name(lb->cfg.method),
                   t + 1, lb->average[t], acc);
        const lab_observer *ob = lab_get_observer();
        if (ob->step)
            ob->step(ob->ud, t, lb->acc[t], lb->average[t], 0.0f);
    }
    if (c->done > 0)
        push_step(L, lb, c->first + c->done - 1);
    else
        lua_pushnil(L);
}

static int submit_steps(lua_State *L, int steps, const char *name)
{
    lab_baseline *lb = check_baseline(L, 1);
    int fn = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
        fn = 2;
    }
    if (lb->busy.count == 0 && lb->learnt >= lb->tasks->ntasks) {
        lua_pushnil(L); /* every task is learnt */
        return 1;
    }
    bstep_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "lab.baseline: out of memory");
    c->lb = lb;
    c->steps = steps;
    lab_job_spec spec = {.name = name, .fn = bstep_work, .ctx = c, .free_ctx = free,
                         .result = bstep_result, .busy = {&lb->busy}, .keep = {1},
                         .progress_fn = fn};
    lab_job_submit(L, &spec);
    return 1;
}

/* b:step([progress]) -> a job learning the next task, then testing all tasks so far. */
static int baseline_step(lua_State *L) { return submit_steps(L, 1, "baseline:step"); }
/* b:run([progress]) -> a job for every task left. */
static int baseline_run(lua_State *L) { return submit_steps(L, DATA_MAX_TASKS, "baseline:run"); }

/* ---- evaluation ---------------------------------------------------------------------- */

/* b:evaluate([{upto=, confusion=, split=}]) -> {acc, counts, average, confusion} */
static int baseline_evaluate(lua_State *L)
{
    static const char *const known[] = {"upto", "confusion", "split", NULL};
    static const char *who = "baseline:evaluate";
    lab_baseline *lb = idle_baseline(L, 1);
    lab_check_options(L, 2, who, known);
    int upto = lab_opt_i32(L, 2, "upto", lb->learnt ? lb->learnt : lb->tasks->ntasks, who);
    if (upto < 1 || upto > lb->tasks->ntasks)
        return luaL_error(L, "%s: upto must be 1-%d", who, lb->tasks->ntasks);
    int want_conf = lab_opt_bool(L, 2, "confusion", 0);
    const char *split = lab_opt_str(L, 2, "split", "test", who);
    int use_val = !strcmp(split, "val");
    if (!use_val && strcmp(split, "test"))
        return luaL_error(L, "%s: split must be test or val", who);
    const data_set *d = use_val ? lb->train : lb->test;
    long conf[10][10];
    memset(conf, 0, sizeof conf);
    double acc[DATA_MAX_TASKS];
    int counts[DATA_MAX_TASKS];
    for (int j = 0; j < upto; j++) {
        const data_task *t = &lb->tasks->task[j];
        const int *idx = use_val ? t->val : t->test;
        int cnt = use_val ? t->nval : t->ntest;
        int right = bl_eval(&lb->m, d, idx, cnt, t, lb->cfg.scen, want_conf ? conf : NULL);
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
static int baseline_noise_sweep(lua_State *L)
{
    static const char *const known[] = {"step", "draws", "seed", "upto", NULL};
    static const char *who = "baseline:noise_sweep";
    lab_baseline *lb = idle_baseline(L, 1);
    lab_check_options(L, 2, who, known);
    int upto = lab_opt_i32(L, 2, "upto", lb->learnt ? lb->learnt : lb->tasks->ntasks, who);
    if (upto < 1 || upto > lb->tasks->ntasks)
        return luaL_error(L, "%s: upto must be 1-%d", who, lb->tasks->ntasks);
    lab_noise_job *c = lab_noise_job_new(L, 2, who);
    bl_model *copy = calloc(1, sizeof *copy); /* the sweep may run while it learns on */
    if (!copy || bl_clone(copy, &lb->m) < 0) {
        free(copy);
        free(c); /* nothing else is owned yet */
        return luaL_error(L, "%s: out of memory", who);
    }
    lab_noise_job_submit(L, c, "baseline:noise_sweep", "baseline_noise_sweep", copy,
                         sweep_baseline, free_baseline,
                         (noise_taskset){lb->test, lb->tasks, upto, lb->cfg.scen, 0}, 1, 0);
    return 1;
}

/* ---- inspection ---------------------------------------------------------------------- */

int lab_baseline_sizes(lua_State *L, int i, int *sizes)
{
    lab_baseline *lb = luaL_testudata(L, i, BASELINE_MT);
    if (!lb)
        return -1;
    memcpy(sizes, lb->m.sizes, sizeof(int) * (size_t)(lb->m.nlayers + 1));
    return lb->m.nlayers;
}

/* b:sizes() -> {192, 256, 256, 10} */
static int baseline_sizes(lua_State *L)
{
    lab_baseline *lb = check_baseline(L, 1);
    lua_createtable(L, lb->m.nlayers + 1, 0);
    for (int l = 0; l <= lb->m.nlayers; l++) {
        lua_pushinteger(L, lb->m.sizes[l]);
        lua_rawseti(L, -2, l + 1);
    }
    return 1;
}

/* b:weights(layer) -> rows (outputs) of inputs' float weights. */
static int baseline_weights(lua_State *L)
{
    lab_baseline *lb = idle_baseline(L, 1);
    lua_Integer l = luaL_checkinteger(L, 2);
    if (l < 1 || l > lb->m.nlayers)
        return luaL_error(L, "baseline:weights: layer must be 1-%d", lb->m.nlayers);
    const float *w = bl_layer_weights(&lb->m, (int)l - 1);
    int out = lb->m.sizes[l], in = lb->m.sizes[l - 1];
    lua_createtable(L, out, 0);
    for (int o = 0; o < out; o++) {
        lab_push_floats(L, w + (size_t)o * in, in);
        lua_rawseti(L, -2, o + 1);
    }
    return 1;
}

static int baseline_len(lua_State *L)
{
    lua_pushinteger(L, check_baseline(L, 1)->tasks->ntasks);
    return 1;
}

static int baseline_tostring(lua_State *L)
{
    lab_baseline *lb = check_baseline(L, 1);
    lab_jobs_poll(L);
    if (lb->busy.count > 0) {
        lua_pushfstring(L, "baseline %s: busy with job %d", bl_method_name(lb->cfg.method),
                        lb->busy.job_id);
        return 1;
    }
    char buf[200];
    snprintf(buf, sizeof buf,
             "baseline %s: %d of %d tasks learnt, %s-IL, %d-%d-%d-%d, average %.4f",
             bl_method_name(lb->cfg.method), lb->learnt, lb->tasks->ntasks,
             scenario_name(lb->cfg.scen), lb->m.sizes[0], lb->m.sizes[1], lb->m.sizes[2],
             lb->m.sizes[3], lb->learnt ? lb->average[lb->learnt - 1] : 0.0);
    lua_pushstring(L, buf);
    return 1;
}

/* Fields (matrix, history, average, learnt, ntasks, method, scenario, params) beside the
 * methods. */
static int baseline_index(lua_State *L)
{
    lab_baseline *lb = check_baseline(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (lab_push_method(L, 1, k))
        return 1;
    if (!strcmp(k, "ntasks")) {
        lua_pushinteger(L, lb->tasks->ntasks);
        return 1;
    }
    if (!strcmp(k, "method")) {
        lua_pushstring(L, bl_method_name(lb->cfg.method));
        return 1;
    }
    if (!strcmp(k, "scenario")) {
        lua_pushstring(L, scenario_name(lb->cfg.scen));
        return 1;
    }
    if (!strcmp(k, "params")) {
        lua_pushinteger(L, (lua_Integer)lb->m.nparams);
        return 1;
    }
    lab_check_idle(L, &lb->busy, "lab.baseline");
    if (!strcmp(k, "matrix")) {
        lua_createtable(L, lb->learnt, 0);
        for (int i = 0; i < lb->learnt; i++) {
            lab_push_doubles(L, lb->acc[i], i + 1);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (!strcmp(k, "history")) {
        lua_createtable(L, lb->learnt, 0);
        for (int i = 0; i < lb->learnt; i++) {
            push_step(L, lb, i);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (!strcmp(k, "average")) {
        lua_pushnumber(L, lb->learnt ? lb->average[lb->learnt - 1] : 0.0);
    } else if (!strcmp(k, "learnt")) {
        lua_pushinteger(L, lb->learnt);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

void lab_baseline_open(lua_State *L, int lab)
{
    static const luaL_Reg meta[] = {{"__gc", baseline_gc},
                                    {"__len", baseline_len},
                                    {"__tostring", baseline_tostring},
                                    {"__index", baseline_index},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"step", baseline_step},
                                       {"run", baseline_run},
                                       {"evaluate", baseline_evaluate},
                                       {"noise_sweep", baseline_noise_sweep},
                                       {"sizes", baseline_sizes},
                                       {"weights", baseline_weights},
                                       {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class_indexed(L, BASELINE_MT, meta, methods);
    lua_pushcfunction(L, l_baseline);
    lua_setfield(L, lab, "baseline");
}

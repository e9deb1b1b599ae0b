/* lab.experiment: a task sequence to step through (core/experiment behind it).
 *   exp = lab.experiment{dataset="fmnist", rule="mpcl", m=0.005, ...}
 *   exp:step() learns the next task and evaluates all tasks so far; exp:run() the rest;
 *   exp:back() undoes the last step; exp.matrix, exp.history, exp.average, exp.learnt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "lab.h"
#include "lab_internal.h"

typedef struct lab_experiment {
    experiment e;
    lab_busy busy;
} lab_experiment;

static lab_experiment *check_experiment(lua_State *L, int i)
{
    return luaL_checkudata(L, i, EXPERIMENT_MT);
}

/* lab.experiment{ds= | dataset=, input=, threshold=, groups=, val=, seed=, hidden=,
 * sizes=, init=, and the training options of lab.trainer} */
static int l_experiment(lua_State *L)
{
    static const char *const known[] = {
        "ds", "dataset", "input", "threshold", "groups", "val", "seed", "hidden", "init",
        "rule", "m", "lr", "batch", "epochs", "patience", "restore", "reset", "bn", "mask",
        "scenario", "joint", NULL};
    static const char *who = "lab.experiment";
    luaL_checktype(L, 1, LUA_TTABLE);
    lab_check_options(L, 1, who, known);
    int opts = 1;
    /* The data set: given, or loaded by name. */
    if (lab_opt_field(L, opts, "ds")) {
        lab_check_dataset(L, -1);
    } else {
        lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.lab");
        lua_getfield(L, -1, "dataset");
        lua_remove(L, -2);
        lua_pushstring(L, lab_opt_str(L, opts, "dataset", "fmnist", who));
        lua_createtable(L, 0, 2);
        lua_pushstring(L, lab_opt_str(L, opts, "input", "paper192", who));
        lua_setfield(L, -2, "input");
        lua_pushnumber(L, lab_opt_num(L, opts, "threshold", 0.2, who));
        lua_setfield(L, -2, "threshold");
        lua_call(L, 2, 1);
    }
    int ds_idx = lua_gettop(L);
    lab_dataset *ds = lab_check_dataset(L, ds_idx);
    /* The task sequence, through lab.tasks. */
    lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.lab");
    lua_getfield(L, -1, "tasks");
    lua_remove(L, -2);
    lua_pushvalue(L, ds_idx);
    lua_createtable(L, 0, 3);
    if (lab_opt_field(L, opts, "groups"))
        lua_setfield(L, -2, "groups");
    lua_pushnumber(L, lab_opt_num(L, opts, "val", 0.1, who));
    lua_setfield(L, -2, "val");
    lua_Integer seed = lab_opt_int(L, opts, "seed", lab_default_seed(L), who);
    lua_pushinteger(L, seed);
    lua_setfield(L, -2, "seed");
    lua_call(L, 2, 1);
    int ts_idx = lua_gettop(L);
    lab_tasks *ts = lab_check_tasks(L, ts_idx);

    lab_training tg;
    lab_read_training(L, opts, who, 3, &tg);
    if (!lab_opt_field(L, opts, "patience"))
        tg.cfg.patience = 0; /* the bundled experiments' default: a fixed epoch budget */
    else
        lua_pop(L, 1);
    experiment_setup setup;
    experiment_setup_default(&setup, &ds->train, tg.cfg.scen);
    setup.sizes[1] = setup.sizes[2] = lab_opt_i32(L, opts, "hidden", 256, who);
    setup.init = (float)lab_opt_num(L, opts, "init", 1.0, who);
    setup.rule = tg.rule;
    memcpy(setup.m, tg.m, sizeof setup.m);
    setup.lr = tg.lr;
    setup.seed = (uint64_t)seed;
    setup.cfg = tg.cfg;
    lab_experiment *le = lua_newuserdatauv(L, sizeof *le, 2);
    memset(le, 0, sizeof *le);
    char err[256];
    if (experiment_create(&le->e, &ds->train, &ds->test, &ts->t, &setup, err, sizeof err) < 0)
        return luaL_error(L, "%s: %s", who, err);
    luaL_setmetatable(L, EXPERIMENT_MT);
    lua_pushvalue(L, ds_idx); /* the data and tasks live as long as the experiment */
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, ts_idx);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

static int experiment_gc(lua_State *L)
{
    lab_experiment *le = check_experiment(L, 1);
    if (le->busy.count > 0)
        job_system_stop(); /* only at lua_close: the worker must let go first */
    experiment_free(&le->e);
    return 0;
}

/* The result of step t (0-based) as a table. */
static void push_step(lua_State *L, const experiment *e, int t)
{
    const train_result *r = &e->result[t];
    lua_createtable(L, 0, 9);
    lab_set_int(L, "task", t + 1);
    lab_set_int(L, "epochs", r->epochs_run);
    lab_set_num(L, "val_acc", r->val_acc);
    lab_set_num(L, "switch_rate", r->switch_rate);
    lab_set_num(L, "switch_any", r->switch_any);
    lab_set_num(L, "average", e->average[t]);
    lua_createtable(L, t + 1, 0);
    for (int j = 0; j <= t; j++) {
        lua_pushnumber(L, e->acc[t][j]);
        lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "acc");
    lab_push_floats(L, r->switch_layer, e->n.nlayers);
    lua_setfield(L, -2, "switch_layer");
}

/* What a step or run job works on. */
typedef struct step_ctx {
    lab_experiment *le;
    int steps;       /* how many to take: 1, or all that are left */
    int first, done; /* the first step's index, steps completed */
} step_ctx;

/* Each epoch: the job's fraction over all the steps it takes. */
typedef struct step_progress {
    job *j;
    step_ctx *c;
    int total;
} step_progress;

static int step_epoch(const train_progress *p, void *ud)
{
    step_progress *sp = ud;
    double f = (sp->c->done + (double)p->epoch / p->max_epochs) / sp->total;
    char status[64];
    if (sp->total > 1)
        snprintf(status, sizeof status, "task %d of %d, epoch %d/%d", p->task + 1,
                 sp->c->first + sp->total, p->epoch, p->max_epochs);
    else
        snprintf(status, sizeof status, "task %d epoch %d/%d", p->task + 1, p->epoch,
                 p->max_epochs);
    lab_job_epoch(sp->j, p, f, status);
    return 0;
}

static int step_work(job *j, void *ctx, char *err, size_t errlen)
{
    step_ctx *c = ctx;
    experiment *e = &c->le->e;
    c->first = e->learnt;
    int left = e->tasks->ntasks - e->learnt;
    step_progress sp = {j, c, c->steps < left ? c->steps : left};
    if (sp.total < 1)
        sp.total = 1;
    while (c->done < c->steps && !j->cancel) {
        int rc = experiment_step(e, step_epoch, &sp, &j->cancel, err, errlen);
        if (rc < 0 && j->cancel)
            return 0; /* the cancelled step has been undone */
        if (rc < 0) {
            if (!strncmp(err, "experiment: ", 12))
                memmove(err, err + 12, strlen(err + 12) + 1);
            return -1;
        }
        if (rc > 0 || e->learnt == c->first + c->done) /* nothing left, or cancelled */
            break;
        int t = e->learnt - 1; /* the row, for faces that show it as it comes */
        double row[JOB_MAX_VALUES] = {t, e->average[t], e->result[t].switch_rate};
        int n = 3;
        for (int k = 0; k <= t && n < JOB_MAX_VALUES; k++)
            row[n++] = e->acc[t][k];
        job_publish_values(j, LAB_TAG_STEP, row, n);
        c->done++;
    }
    return 0;
}

/* The last step's result (nil when no step was completed); a record for each step. */
static void step_result(lua_State *L, job *j, void *ctx)
{
    (void)j;
    step_ctx *c = ctx;
    const experiment *e = &c->le->e;
    for (int t = c->first; t < c->first + c->done; t++) {
        char acc[DATA_MAX_TASKS * 10] = "";
        size_t n = 0;
        for (int k = 0; k <= t; k++)
            n += (size_t)snprintf(acc + n, sizeof acc - n, "%s%.6f", k ? "," : "", e->acc[t][k]);
        lab_record(L, "step task=%d average=%.6f acc=%s switch_rate=%.6f epochs=%d", t + 1,
                   e->average[t], acc, (double)e->result[t].switch_rate,
                   e->result[t].epochs_run);
        const lab_observer *ob = lab_get_observer();
        if (ob->step)
            ob->step(ob->ud, t, e->acc[t], e->average[t], e->result[t].switch_rate);
    }
    if (c->done > 0)
        push_step(L, e, c->first + c->done - 1);
    else
        lua_pushnil(L);
}

static int submit_steps(lua_State *L, int steps, const char *name)
{
    lab_experiment *le = check_experiment(L, 1);
    int fn = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
        fn = 2;
    }
    if (le->busy.count == 0 && le->e.learnt >= le->e.tasks->ntasks) {
        lua_pushnil(L); /* every task is learnt */
        return 1;
    }
    step_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "lab.experiment: out of memory");
    c->le = le;
    c->steps = steps;
    lab_job_spec spec = {.name = name, .fn = step_work, .ctx = c, .free_ctx = free,
                         .result = step_result, .busy = {&le->busy}, .keep = {1},
                         .progress_fn = fn};
    lab_job_submit(L, &spec);
    return 1;
}

/* exp:step([progress]) -> a job: learn the next task, evaluate all so far. Its result is
 * the step's table, or nil when every task was learnt already (or it was cancelled). */
static int experiment_step_lua(lua_State *L) { return submit_steps(L, 1, "exp:step"); }

/* exp:run([progress]) -> a job stepping until every task is learnt; its result is the
 * last step's table. */
static int experiment_run_lua(lua_State *L)
{
    return submit_steps(L, DATA_MAX_TASKS, "exp:run");
}

/* exp:back() -> true, or false when there is no step to undo. */
static int experiment_back_lua(lua_State *L)
{
    lab_experiment *le = check_experiment(L, 1);
    lab_check_idle(L, &le->busy, "lab.experiment");
    lua_pushboolean(L, experiment_back(&le->e) == 0);
    return 1;
}

/* exp:net() -> a copy of the experiment's net as it is now. */
static int experiment_net(lua_State *L)
{
    lab_experiment *le = check_experiment(L, 1);
    lab_check_idle(L, &le->busy, "lab.experiment");
    lab_net *ln = lua_newuserdatauv(L, sizeof *ln, 0);
    memset(ln, 0, sizeof *ln);
    if (net_clone(&ln->n, &le->e.n) < 0)
        return luaL_error(L, "lab.experiment: out of memory copying the net");
    luaL_setmetatable(L, NET_MT);
    return 1;
}

static int experiment_len(lua_State *L)
{
    lua_pushinteger(L, check_experiment(L, 1)->e.tasks->ntasks);
    return 1;
}

static int experiment_tostring(lua_State *L)
{
    lab_experiment *le = check_experiment(L, 1);
    const experiment *e = &le->e;
    char buf[200];
    lab_jobs_poll(L);
    if (le->busy.count > 0) {
        lua_pushfstring(L, "experiment: %d tasks, busy with job %d", e->tasks->ntasks,
                        le->busy.job_id);
        return 1;
    }
    snprintf(buf, sizeof buf, "experiment: %d of %d tasks learnt, rule %s m=%g, %s-IL, average %.4f",
             e->learnt, e->tasks->ntasks, optim_rule_name(e->o.rule), (double)e->o.m[0],
             scenario_name(e->cfg.scen), e->learnt ? e->average[e->learnt - 1] : 0.0);
    lua_pushstring(L, buf);
    return 1;
}

/* Fields (matrix, history, average, learnt, ntasks) beside the methods. */
static int experiment_index(lua_State *L)
{
    lab_experiment *le = check_experiment(L, 1);
    const experiment *e = &le->e;
    const char *k = luaL_checkstring(L, 2);
    if (lab_push_method(L, 1, k))
        return 1;
    if (strcmp(k, "ntasks"))
        lab_check_idle(L, &le->busy, "lab.experiment");
    if (!strcmp(k, "matrix")) {
        lua_createtable(L, e->learnt, 0);
        for (int i = 0; i < e->learnt; i++) {
            lua_createtable(L, i + 1, 0);
            for (int j = 0; j <= i; j++) {
                lua_pushnumber(L, e->acc[i][j]);
                lua_rawseti(L, -2, j + 1);
            }
            lua_rawseti(L, -2, i + 1);
        }
    } else if (!strcmp(k, "history")) {
        lua_createtable(L, e->learnt, 0);
        for (int i = 0; i < e->learnt; i++) {
            push_step(L, e, i);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (!strcmp(k, "average")) {
        lua_pushnumber(L, e->learnt ? e->average[e->learnt - 1] : 0.0);
    } else if (!strcmp(k, "learnt")) {
        lua_pushinteger(L, e->learnt);
    } else if (!strcmp(k, "ntasks")) {
        lua_pushinteger(L, e->tasks->ntasks);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

void lab_experiment_open(lua_State *L, int lab)
{
    static const luaL_Reg meta[] = {{"__gc", experiment_gc},
                                    {"__len", experiment_len},
                                    {"__tostring", experiment_tostring},
                                    {"__index", experiment_index},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"step", experiment_step_lua},
                                       {"run", experiment_run_lua},
                                       {"back", experiment_back_lua},
                                       {"net", experiment_net},
                                       {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class_indexed(L, EXPERIMENT_MT, meta, methods);
    lua_pushcfunction(L, l_experiment);
    lua_setfield(L, lab, "experiment");
}

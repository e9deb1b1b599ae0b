/* lab.experiment: the MPCL net stepped through a task sequence (core/learner_mpcl behind
 * the shared stepper binding, lab_stepper.c).
 *   exp = lab.experiment{dataset="fmnist", rule="mpcl", m=0.005, ...}
 *   exp:step() learns the next task and evaluates all tasks so far; exp:run() the rest;
 *   exp:back() undoes the last step; exp.matrix, exp.history, exp.average, exp.learnt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "lab_stepper.h"
#include "learner_mpcl.h"

static const lab_stepper_kind experiment_kind;

static const learner_mpcl *mpcl_of(const lab_stepper *s)
{
    return learner_mpcl_of(&s->e.l);
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
    mpcl_setup setup;
    mpcl_setup_default(&setup, &ds->train, tg.cfg.scen);
    setup.sizes[1] = setup.sizes[2] = lab_opt_i32(L, opts, "hidden", 256, who);
    setup.init = (float)lab_opt_num(L, opts, "init", 1.0, who);
    setup.rule = tg.rule;
    memcpy(setup.m, tg.m, sizeof setup.m);
    setup.lr = tg.lr;
    setup.seed = (uint64_t)seed;
    setup.cfg = tg.cfg;
    learner l;
    char err[256];
    if (learner_mpcl_new(&l, &ds->train, &ds->test, &ts->t, &setup, err, sizeof err) < 0)
        return luaL_error(L, "%s: %s", who, err);
    lab_stepper_new(L, &experiment_kind, l, &ts->t, ds_idx, ts_idx);
    return 1;
}

/* The result of step t (0-based) as a table. */
static void experiment_push_step(lua_State *L, const lab_stepper *s, int t)
{
    const learner_result *r = &s->e.result[t];
    lua_createtable(L, 0, 9);
    lab_set_int(L, "task", t + 1);
    lab_set_int(L, "epochs", r->epochs_run);
    lab_set_num(L, "val_acc", r->val_acc);
    lab_set_num(L, "switch_rate", r->switch_rate);
    lab_set_num(L, "switch_any", r->switch_any);
    lab_set_num(L, "average", s->e.average[t]);
    lab_stepper_push_acc(L, s, t);
    lua_setfield(L, -2, "acc");
    lab_push_floats(L, r->switch_layer, mpcl_of(s)->n.nlayers);
    lua_setfield(L, -2, "switch_layer");
}

static void experiment_status(const lab_stepper *s, const train_progress *p, int last,
                             int many, char *buf, size_t len)
{
    (void)s;
    if (many)
        snprintf(buf, len, "task %d of %d, epoch %d/%d", p->task + 1, last, p->epoch,
                 p->max_epochs);
    else
        snprintf(buf, len, "task %d epoch %d/%d", p->task + 1, p->epoch, p->max_epochs);
}

static void experiment_record(lua_State *L, const lab_stepper *s, int t, const char *acc)
{
    const experiment *e = &s->e;
    lab_record(L, "step task=%d average=%.6f acc=%s switch_rate=%.6f epochs=%d", t + 1,
               e->average[t], acc, (double)e->result[t].switch_rate, e->result[t].epochs_run);
}

static void experiment_describe(const lab_stepper *s, char *buf, size_t len)
{
    const experiment *e = &s->e;
    const learner_mpcl *x = mpcl_of(s);
    if (s->busy.count > 0)
        snprintf(buf, len, "experiment: %d tasks, busy with job %d", e->tasks->ntasks,
                 s->busy.job_id);
    else
        snprintf(buf, len, "experiment: %d of %d tasks learnt, rule %s m=%g, %s-IL, average %.4f",
                 e->learnt, e->tasks->ntasks, optim_rule_name(x->o.rule), (double)x->o.m[0],
                 scenario_name(x->cfg.scen), e->learnt ? e->average[e->learnt - 1] : 0.0);
}

static const lab_stepper_kind experiment_kind = {
    .mt = EXPERIMENT_MT,
    .who = "lab.experiment",
    .step_job = "exp:step",
    .run_job = "exp:run",
    .status = experiment_status,
    .push_step = experiment_push_step,
    .record = experiment_record,
    .describe = experiment_describe,
};

/* exp:net() -> a copy of the experiment's net as it is now. */
static int l_experiment_net(lua_State *L)
{
    lab_stepper *s = lab_stepper_idle(L, 1, &experiment_kind);
    lab_net *ln = lua_newuserdatauv(L, sizeof *ln, 0);
    memset(ln, 0, sizeof *ln);
    if (net_clone(&ln->n, &mpcl_of(s)->n) < 0)
        return luaL_error(L, "lab.experiment: out of memory copying the net");
    luaL_setmetatable(L, NET_MT);
    return 1;
}

void lab_experiment_open(lua_State *L, int lab)
{
    static const luaL_Reg methods[] = {{"net", l_experiment_net}, {NULL, NULL}};
    lab_stepper_class(L, lab, &experiment_kind, methods, "experiment", l_experiment);
}

/* lab.net, lab.load, lab.trainer and lab.evaluate: MPCL nets as Lua userdata, trained task
 * by task (a trainer's learn is a job), saved and loaded (core/store), evaluated. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "clock.h"
#include "lab.h"
#include "lab_internal.h"
#include "store.h"

/* ---- nets -------------------------------------------------------------------------- */

lab_net *lab_check_net(lua_State *L, int i) { return luaL_checkudata(L, i, NET_MT); }

/* lab.net{sizes={...}, binary=bool, seed=, init=} */
static int l_net(lua_State *L)
{
    static const char *const known[] = {"sizes", "binary", "seed", "init", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    lab_check_options(L, 1, "lab.net", known);
    if (!lab_opt_field(L, 1, "sizes") || !lua_istable(L, -1))
        return luaL_error(L, "lab.net: sizes must be a list of layer sizes, e.g. "
                             "{192, 256, 256, 10}");
    int count = lab_len_i32(L, -1);
    if (count < 2 || count > MPCL_MAX_LAYERS + 1)
        return luaL_error(L, "lab.net: 2 to %d layer sizes, got %d", MPCL_MAX_LAYERS + 1, count);
    int sizes[MPCL_MAX_LAYERS + 1];
    for (int i = 1; i <= count; i++) {
        lua_geti(L, -1, i);
        int isnum;
        lua_Integer v = lua_tointegerx(L, -1, &isnum);
        if (!isnum || v < 1 || v > INT_MAX)
            return luaL_error(L, "lab.net: layer sizes must be positive%s, got %s",
                              isnum && v > INT_MAX ? " and fit in 32 bits" : "",
                              luaL_tolstring(L, -1, NULL));
        sizes[i - 1] = (int)v;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    int binary = lab_opt_bool(L, 1, "binary", 0);
    lua_Integer seed = lab_opt_int(L, 1, "seed", lab_default_seed(L), "lab.net");
    double init = lab_opt_num(L, 1, "init", 1.0, "lab.net");
    lab_net *ln = lua_newuserdatauv(L, sizeof *ln, 0);
    memset(ln, 0, sizeof *ln);
    char err[256];
    if (net_create(&ln->n, count - 1, sizes, binary, (float)init, (uint64_t)seed, err,
                   sizeof err) < 0)
        return luaL_error(L, "lab.net: %s", err + (strncmp(err, "net: ", 5) ? 0 : 5));
    luaL_setmetatable(L, NET_MT);
    return 1;
}

static int l_net_gc(lua_State *L)
{
    lab_net *ln = lab_check_net(L, 1);
    if (ln->busy.count > 0)
        job_system_stop(); /* only at lua_close: the worker must let go first */
    net_free(&ln->n);
    return 0;
}

/* The net at i, refusing while a job works on it. */
static net *idle_net(lua_State *L, int i)
{
    lab_net *ln = lab_check_net(L, i);
    lab_check_idle(L, &ln->busy, "lab.net");
    return &ln->n;
}

static int l_net_tostring(lua_State *L)
{
    net *n = &lab_check_net(L, 1)->n;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "net ");
    for (int l = 0; l <= n->nlayers; l++) {
        lua_pushfstring(L, l ? "-%d" : "%d", n->sizes[l]);
        luaL_addvalue(&b);
    }
    lua_pushfstring(L, " (%I parameters)", (lua_Integer)net_param_count(n));
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

static int l_net_copy(lua_State *L)
{
    net *n = idle_net(L, 1);
    lab_net *ln = lua_newuserdatauv(L, sizeof *ln, 0);
    memset(ln, 0, sizeof *ln);
    if (net_clone(&ln->n, n) < 0)
        return luaL_error(L, "lab.net: out of memory copying a net");
    luaL_setmetatable(L, NET_MT);
    return 1;
}

static int l_net_sizes(lua_State *L)
{
    net *n = &lab_check_net(L, 1)->n;
    lua_createtable(L, n->nlayers + 1, 0);
    for (int l = 0; l <= n->nlayers; l++) {
        lua_pushinteger(L, n->sizes[l]);
        lua_rawseti(L, -2, l + 1);
    }
    return 1;
}

/* net:hidden(layer) -> {min, max, mean_abs} of the hidden weights (how consolidated). */
static int l_net_hidden(lua_State *L)
{
    net *n = idle_net(L, 1);
    lua_Integer l = luaL_checkinteger(L, 2);
    if (l < 1 || l > n->nlayers)
        return luaL_error(L, "lab.net: layer %I out of range 1-%d", l, n->nlayers);
    const net_layer *ly = &n->layer[l - 1];
    size_t w = (size_t)ly->in * ly->out;
    double mn = ly->wh[0], mx = ly->wh[0], sa = 0;
    for (size_t i = 0; i < w; i++) {
        double v = ly->wh[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sa += v < 0 ? -v : v;
    }
    lua_createtable(L, 0, 3);
    lab_set_num(L, "min", mn);
    lab_set_num(L, "max", mx);
    lab_set_num(L, "mean_abs", sa / (double)w);
    return 1;
}

/* net:weights(layer [, "hidden" | "binary"]) -> the layer's matrix as a list of `out` rows
 * of `in` numbers: the float hidden weights (default) or their signs (+1/-1). */
static int l_net_weights(lua_State *L)
{
    net *n = idle_net(L, 1);
    lua_Integer l = luaL_checkinteger(L, 2);
    static const char *const kinds[] = {"hidden", "binary", NULL};
    int binary = luaL_checkoption(L, 3, "hidden", kinds);
    if (l < 1 || l > n->nlayers)
        return luaL_error(L, "lab.net: layer %I out of range 1-%d", l, n->nlayers);
    const net_layer *ly = &n->layer[l - 1];
    lua_createtable(L, ly->out, 0);
    for (int o = 0; o < ly->out; o++) {
        const float *row = ly->wh + (size_t)o * ly->in;
        lua_createtable(L, ly->in, 0);
        for (int i = 0; i < ly->in; i++) {
            if (binary)
                lua_pushinteger(L, row[i] >= 0.0f ? 1 : -1);
            else
                lua_pushnumber(L, row[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_rawseti(L, -2, o + 1);
    }
    return 1;
}

/* net:save(path): parameters, statistics and banks, written atomically with a checksum. */
static int l_net_save(lua_State *L)
{
    net *n = idle_net(L, 1);
    const char *path = luaL_checkstring(L, 2);
    cap_write_path(L, path, "net:save");
    char err[512];
    if (store_save_net(path, n, err, sizeof err) < 0)
        return luaL_error(L, "net:save: %s", err);
    return 0;
}

/* lab.load(path) -> the net stored there (net:save's files). */
static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cap_read_path(L, path, "lab.load");
    lab_net *ln = lua_newuserdatauv(L, sizeof *ln, 0);
    memset(ln, 0, sizeof *ln);
    char err[512];
    if (store_load_net(path, &ln->n, err, sizeof err) < 0)
        return luaL_error(L, "lab.load: %s", err);
    luaL_setmetatable(L, NET_MT);
    return 1;
}

/* ---- trainers ---------------------------------------------------------------------- */

static lab_trainer *check_trainer(lua_State *L, int i)
{
    return luaL_checkudata(L, i, TRAINER_MT);
}

/* The training options shared by lab.trainer and lab.experiment (see README). */
void lab_read_training(lua_State *L, int t, const char *who, int nlayers, lab_training *out)
{
    memset(out, 0, sizeof *out);
    const char *rs = lab_opt_str(L, t, "rule", "mpcl", who);
    if (optim_rule_parse(rs, &out->rule) < 0)
        luaL_error(L, "%s: rule must be none, mpcl or laborieux, got '%s'", who, rs);
    out->lr = (float)lab_opt_num(L, t, "lr", 0.005, who);
    if (!(out->lr > 0))
        luaL_error(L, "%s: lr must be positive", who);
    train_config *cfg = &out->cfg;
    train_config_default(cfg);
    const char *sc = lab_opt_str(L, t, "scenario", "task", who);
    if (scenario_parse(sc, &cfg->scen) < 0)
        luaL_error(L, "%s: scenario must be task, domain or class, got '%s'", who, sc);
    cfg->batch = lab_opt_i32(L, t, "batch", cfg->batch, who);
    cfg->epochs = lab_opt_i32(L, t, "epochs", cfg->epochs, who);
    cfg->patience = lab_opt_i32(L, t, "patience", cfg->patience, who);
    cfg->restore_best = lab_opt_bool(L, t, "restore", cfg->restore_best);
    cfg->reset_optim = lab_opt_bool(L, t, "reset", cfg->reset_optim);
    cfg->joint = lab_opt_bool(L, t, "joint", 0);
    cfg->seed = (uint64_t)lab_opt_int(L, t, "seed", lab_default_seed(L), who);
    /* Per-task statistics and the output mask need the task identity: task-IL only. */
    int task_il = cfg->scen == SCEN_TASK;
    const char *bn = lab_opt_str(L, t, "bn", task_il ? "task" : "shared", who);
    if (strcmp(bn, "task") && strcmp(bn, "shared"))
        luaL_error(L, "%s: bn must be shared or task, got '%s'", who, bn);
    cfg->bn_task = !strcmp(bn, "task");
    const char *mask = lab_opt_str(L, t, "mask", task_il ? "task" : "none", who);
    if (strcmp(mask, "task") && strcmp(mask, "none"))
        luaL_error(L, "%s: mask must be task or none, got '%s'", who, mask);
    cfg->mask_task = !strcmp(mask, "task");
    if (!task_il && (cfg->bn_task || cfg->mask_task))
        luaL_error(L, "%s: bn=task and mask=task need the task identity, which the %s "
                      "scenario does not give", who, sc);
    if (cfg->batch < 2 || cfg->epochs < 1 || cfg->patience < 0)
        luaL_error(L, "%s: batch >= 2, epochs >= 1, patience >= 0 required", who);
    if (lab_opt_field(L, t, "m")) {
        if (lua_istable(L, -1)) {
            int len = lab_len_i32(L, -1);
            if (len != nlayers)
                luaL_error(L, "%s: m per layer needs %d values, got %d", who, nlayers, len);
            for (int l = 0; l < len; l++) {
                lua_geti(L, -1, l + 1);
                out->m[l] = (float)luaL_checknumber(L, -1);
                lua_pop(L, 1);
            }
        } else {
            int isnum;
            double v = lua_tonumberx(L, -1, &isnum);
            if (!isnum || v < 0)
                luaL_error(L, "%s: m must be a number >= 0 or a list per layer", who);
            for (int l = 0; l < nlayers; l++)
                out->m[l] = (float)v;
        }
        lua_pop(L, 1);
    } else {
        for (int l = 0; l < nlayers; l++)
            out->m[l] = 0.005f;
    }
}

/* lab.trainer(net, tasks [, opts]) */
static int l_trainer(lua_State *L)
{
    static const char *const known[] = {"rule", "m", "lr", "batch", "epochs", "patience",
                                        "restore", "reset", "bn", "mask", "scenario",
                                        "joint", "seed", NULL};
    static const char *who = "lab.trainer";
    net *n = &lab_check_net(L, 1)->n;
    lab_check_tasks(L, 2);
    lab_check_options(L, 3, who, known);
    lab_training tg;
    lab_read_training(L, 3, who, n->nlayers, &tg);
    if (n->sizes[n->nlayers] != scenario_outputs(tg.cfg.scen))
        return luaL_error(L, "%s: the %s scenario needs %d outputs, the net has %d", who,
                          scenario_name(tg.cfg.scen), scenario_outputs(tg.cfg.scen),
                          n->sizes[n->nlayers]);
    lab_trainer *tr = lua_newuserdatauv(L, sizeof *tr, 2);
    memset(tr, 0, sizeof *tr);
    if (optim_create(&tr->o, n, tg.rule, tg.lr) < 0)
        return luaL_error(L, "%s: out of memory", who);
    luaL_setmetatable(L, TRAINER_MT);
    memcpy(tr->o.m, tg.m, sizeof tg.m);
    tr->cfg = tg.cfg;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

static int l_trainer_gc(lua_State *L)
{
    optim_free(&check_trainer(L, 1)->o);
    return 0;
}

static int l_trainer_tostring(lua_State *L)
{
    lab_trainer *tr = check_trainer(L, 1);
    char buf[200];
    snprintf(buf, sizeof buf, "trainer rule=%s m=%g lr=%g scenario=%s bn=%s mask=%s (%d tasks learnt)",
             optim_rule_name(tr->o.rule), (double)tr->o.m[0], (double)tr->o.lr,
             scenario_name(tr->cfg.scen), tr->cfg.bn_task ? "task" : "shared",
             tr->cfg.mask_task ? "task" : "none", tr->learnt);
    lua_pushstring(L, buf);
    return 1;
}

/* What a learn job works on; the result is filled in by the worker. */
typedef struct learn_ctx {
    net *n;
    lab_trainer *tr;
    const data_set *train;
    const data_tasks *tasks;
    int t;
    train_result res;
    double seconds;
} learn_ctx;

static int learn_work(job *j, void *ctx, char *err, size_t errlen)
{
    learn_ctx *c = ctx;
    double t0 = clock_seconds();
    if (train_task(c->n, &c->tr->o, c->train, c->tasks, c->t, &c->tr->cfg,
                   lab_job_train_progress, j, &j->cancel, &c->res, err, errlen) < 0)
        return -1;
    c->seconds = clock_seconds() - t0;
    return 0;
}

static void learn_result(lua_State *L, job *j, void *ctx)
{
    (void)j;
    learn_ctx *c = ctx;
    const train_result *res = &c->res;
    int nl = c->n->nlayers;
    c->tr->learnt++;
    lua_createtable(L, 0, 9);
    lab_set_int(L, "task", c->t + 1);
    lab_set_int(L, "epochs", res->epochs_run);
    lab_set_int(L, "best_epoch", res->best_epoch);
    lab_set_num(L, "val_acc", res->val_acc);
    lab_set_num(L, "switch_rate", res->switch_rate);
    lab_push_floats(L, res->switch_layer, nl);
    lua_setfield(L, -2, "switch_layer");
    lab_set_num(L, "switch_any", res->switch_any);
    lab_push_floats(L, res->switch_any_layer, nl);
    lua_setfield(L, -2, "switch_any_layer");
    lua_pushboolean(L, res->cancelled);
    lua_setfield(L, -2, "cancelled");
    lab_set_num(L, "seconds", c->seconds);
    lab_record(L, "learn task=%d epochs=%d val_acc=%.6f switch_rate=%.6f switch_any=%.6f%s",
               c->t + 1, res->epochs_run, (double)res->val_acc, (double)res->switch_rate,
               (double)res->switch_any, res->cancelled ? " cancelled" : "");
}

/* tr:learn(i [, progress]) -> a job whose result is {task=, epochs=, best_epoch=, val_acc=,
 * switch_rate=, switch_layer=, switch_any=, switch_any_layer=, cancelled=, seconds=}.
 * progress(p) is called after each epoch (on the main thread); returning "stop" cancels. */
static int l_trainer_learn(lua_State *L)
{
    lab_trainer *tr = check_trainer(L, 1);
    int fn = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TFUNCTION);
        fn = 3;
    }
    lua_settop(L, 3);
    lua_getiuservalue(L, 1, 1);
    int net_idx = lua_gettop(L);
    lab_net *ln = lua_touserdata(L, net_idx);
    lua_getiuservalue(L, 1, 2);
    int tasks_idx = lua_gettop(L);
    lab_tasks *ts = lua_touserdata(L, -1);
    lab_dataset *ds = lab_tasks_dataset(L, tasks_idx);
    int t = lab_tasks_index(L, ts, 2);
    if (ln->n.sizes[0] != ds->train.dim)
        return luaL_error(L, "lab.trainer: the net takes %d inputs, the data set has %d",
                          ln->n.sizes[0], ds->train.dim);
    learn_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "lab.trainer: out of memory");
    *c = (learn_ctx){.n = &ln->n, .tr = tr, .train = &ds->train, .tasks = &ts->t, .t = t};
    lab_job_spec spec = {.name = "tr:learn", .fn = learn_work, .ctx = c, .free_ctx = free,
                         .result = learn_result, .busy = {&tr->busy, &ln->busy},
                         .keep = {1, net_idx, tasks_idx}, .progress_fn = fn};
    lab_job_submit(L, &spec);
    return 1;
}

/* ---- evaluation -------------------------------------------------------------------- */

/* lab.evaluate(net, tasks, {scenario=, upto=, bn=, confusion=bool, split="test"|"val"})
 * -> {acc={...}, counts={...}, average=, confusion={{...}} } */
static int l_evaluate(lua_State *L)
{
    static const char *const known[] = {"scenario", "upto", "bn", "confusion", "split",
                                        NULL};
    static const char *who = "lab.evaluate";
    net *n = idle_net(L, 1);
    lab_tasks *ts = lab_check_tasks(L, 2);
    lab_dataset *ds = lab_tasks_dataset(L, 2);
    lab_check_options(L, 3, who, known);
    scenario sc;
    const char *scs = lab_opt_str(L, 3, "scenario", "task", who);
    if (scenario_parse(scs, &sc) < 0)
        return luaL_error(L, "%s: scenario must be task, domain or class, got '%s'", who, scs);
    if (n->sizes[n->nlayers] != scenario_outputs(sc) || n->sizes[0] != ds->test.dim)
        return luaL_error(L, "%s: net shape does not fit the %s scenario on this data set",
                          who, scs);
    int upto = lab_opt_i32(L, 3, "upto", ts->t.ntasks, who);
    if (upto < 1 || upto > ts->t.ntasks)
        return luaL_error(L, "%s: upto must be 1-%d", who, ts->t.ntasks);
    const char *bn = lab_opt_str(L, 3, "bn", sc == SCEN_TASK ? "task" : "shared", who);
    if (strcmp(bn, "task") && strcmp(bn, "shared"))
        return luaL_error(L, "%s: bn must be shared or task, got '%s'", who, bn);
    int per_task = !strcmp(bn, "task");
    if (per_task && sc != SCEN_TASK)
        return luaL_error(L, "%s: bn=task needs the task identity, which the %s scenario "
                             "does not give", who, scs);
    int want_conf = lab_opt_bool(L, 3, "confusion", 0);
    const char *split = lab_opt_str(L, 3, "split", "test", who);
    int use_val = !strcmp(split, "val");
    if (!use_val && strcmp(split, "test"))
        return luaL_error(L, "%s: split must be test or val", who);
    const data_set *d = use_val ? &ds->train : &ds->test;
    long conf[10][10];
    memset(conf, 0, sizeof conf);
    double acc[DATA_MAX_TASKS];
    int counts[DATA_MAX_TASKS];
    for (int j = 0; j < upto; j++) {
        const data_task *t = &ts->t.task[j];
        const int *idx = use_val ? t->val : t->test;
        int cnt = use_val ? t->nval : t->ntest;
        int bank = per_task && net_bn_has(n, j) ? j : -1;
        int right = metrics_eval(n, bank, d, idx, cnt, t, sc, want_conf ? conf : NULL);
        if (right < 0)
            return luaL_error(L, "%s: out of memory", who);
        acc[j] = cnt ? (double)right / cnt : 0.0;
        counts[j] = cnt;
    }
    lab_push_evaluation(L, "evaluate", split, acc, counts, upto,
                        want_conf ? (const long(*)[10])conf : NULL);
    return 1;
}

void lab_push_evaluation(lua_State *L, const char *what, const char *split, const double *acc,
                         const int *counts, int upto, const long (*conf)[10])
{
    lua_createtable(L, 0, 4);
    lab_push_doubles(L, acc, upto);
    lua_setfield(L, -2, "acc");
    lua_createtable(L, upto, 0);
    for (int j = 0; j < upto; j++) {
        lua_pushinteger(L, counts[j]);
        lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "counts");
    double average = metrics_weighted_average(acc, counts, upto);
    lab_set_num(L, "average", average);
    char accs[DATA_MAX_TASKS * 10] = "";
    size_t na = 0;
    for (int j = 0; j < upto; j++)
        na += (size_t)snprintf(accs + na, sizeof accs - na, "%s%.6f", j ? "," : "", acc[j]);
    lab_record(L, "%s %s average=%.6f acc=%s", what, split, average, accs);
    const lab_observer *ob = lab_get_observer();
    if (ob->evaluate)
        ob->evaluate(ob->ud, upto, acc, average, conf);
    if (conf) {
        lua_createtable(L, 10, 0);
        for (int i = 0; i < 10; i++) {
            lua_createtable(L, 10, 0);
            for (int k = 0; k < 10; k++) {
                lua_pushinteger(L, conf[i][k]);
                lua_rawseti(L, -2, k + 1);
            }
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "confusion");
    }
}

void lab_net_open(lua_State *L, int lab)
{
    static const luaL_Reg net_meta[] = {{"__gc", l_net_gc}, {"__tostring", l_net_tostring},
                                        {NULL, NULL}};
    static const luaL_Reg net_methods[] = {{"copy", l_net_copy},
                                           {"sizes", l_net_sizes},
                                           {"hidden", l_net_hidden},
                                           {"weights", l_net_weights},
                                           {"save", l_net_save},
                                           {NULL, NULL}};
    static const luaL_Reg trainer_meta[] = {{"__gc", l_trainer_gc},
                                            {"__tostring", l_trainer_tostring},
                                            {NULL, NULL}};
    static const luaL_Reg trainer_methods[] = {{"learn", l_trainer_learn}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {{"net", l_net},           {"trainer", l_trainer},
                                     {"evaluate", l_evaluate}, {"load", l_load},
                                     {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class(L, NET_MT, net_meta, net_methods);
    lab_new_class(L, TRAINER_MT, trainer_meta, trainer_methods);
    lua_pushvalue(L, lab);
    luaL_setfuncs(L, funcs, 0);
    lua_pop(L, 1);
}

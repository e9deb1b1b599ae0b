/* lab.dataset and lab.tasks: data sets loaded from the packages and split into task
 * sequences (core/data behind them). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "fileio.h"
#include "lab.h"
#include "lab_internal.h"

/* ---- datasets ---------------------------------------------------------------------- */

lab_dataset *lab_check_dataset(lua_State *L, int i)
{
    return luaL_checkudata(L, i, DATASET_MT);
}

/* lab.dataset(name [, {input=, threshold=}]) */
static int l_dataset(lua_State *L)
{
    static const char *const known[] = {"input", "threshold", NULL};
    const char *name = luaL_checkstring(L, 1);
    cap_need(L, CAP_DATA, "lab.dataset");
    lab_check_options(L, 2, "lab.dataset", known);
    if (strcmp(name, "mnist") && strcmp(name, "fmnist")) {
        char shown[200];
        return luaL_error(L, "lab.dataset: unknown data set '%s' (mnist or fmnist)",
                          fileio_printable(shown, sizeof shown, name, strlen(name)));
    }
    const char *input = lab_opt_str(L, 2, "input", "paper192", "lab.dataset");
    double thr = lab_opt_num(L, 2, "threshold", 0.5, "lab.dataset");
    data_input in;
    if (data_input_parse(input, &in) < 0)
        return luaL_error(L, "lab.dataset: input must be float784, binary784 or paper192, "
                             "got '%s'", input);
    lab_dataset *ds = lua_newuserdatauv(L, sizeof *ds, 0);
    memset(ds, 0, sizeof *ds);
    luaL_setmetatable(L, DATASET_MT);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->input = in;
    ds->threshold = (float)thr;
    char err[512];
    for (int train = 1; train >= 0; train--) {
        data_raw raw;
        if (data_raw_load_named(name, train, &raw, err, sizeof err) < 0)
            return luaL_error(L, "lab.dataset: %s", err);
        int rc = data_prepare_take(&raw, in, (float)thr, train ? &ds->train : &ds->test, err,
                                   sizeof err);
        if (rc < 0)
            return luaL_error(L, "lab.dataset: %s", err);
    }
    lab_sweep_note_dataset(L, name);
    return 1;
}

static int l_dataset_gc(lua_State *L)
{
    lab_dataset *ds = lab_check_dataset(L, 1);
    data_set_free(&ds->train);
    data_set_free(&ds->test);
    return 0;
}

static int l_dataset_tostring(lua_State *L)
{
    lab_dataset *ds = lab_check_dataset(L, 1);
    lua_pushfstring(L, "dataset %s (%s, %d inputs): %d train, %d test", ds->name,
                    data_input_name(ds->input), ds->train.dim, ds->train.n, ds->test.n);
    return 1;
}

static int l_dataset_index(lua_State *L)
{
    lab_dataset *ds = lab_check_dataset(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (!strcmp(k, "name"))
        lua_pushstring(L, ds->name);
    else if (!strcmp(k, "input"))
        lua_pushstring(L, data_input_name(ds->input));
    else if (!strcmp(k, "dim"))
        lua_pushinteger(L, ds->train.dim);
    else if (!strcmp(k, "binary"))
        lua_pushboolean(L, ds->train.binary);
    else if (!strcmp(k, "ntrain"))
        lua_pushinteger(L, ds->train.n);
    else if (!strcmp(k, "ntest"))
        lua_pushinteger(L, ds->test.n);
    else if (!strcmp(k, "threshold"))
        lua_pushnumber(L, ds->threshold);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- task sequences ---------------------------------------------------------------- */

lab_tasks *lab_check_tasks(lua_State *L, int i) { return luaL_checkudata(L, i, TASKS_MT); }

lab_dataset *lab_tasks_dataset(lua_State *L, int i)
{
    lua_getiuservalue(L, i, 1);
    lab_dataset *ds = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return ds;
}

/* lab.tasks(ds [, {groups={{0,1},...}, val=0.1, seed=1}]) */
static int l_tasks(lua_State *L)
{
    static const char *const known[] = {"groups", "val", "seed", NULL};
    lab_dataset *ds = lab_check_dataset(L, 1);
    lab_check_options(L, 2, "lab.tasks", known);
    double val = lab_opt_num(L, 2, "val", 0.1, "lab.tasks");
    lua_Integer seed = lab_opt_int(L, 2, "seed", lab_default_seed(L), "lab.tasks");
    int ntasks = 5, sizes[DATA_MAX_TASKS], classes[10], nc = 0;
    for (int g = 0; g < 5; g++) {
        sizes[g] = 2;
        classes[2 * g] = 2 * g;
        classes[2 * g + 1] = 2 * g + 1;
    }
    nc = 10;
    if (lab_opt_field(L, 2, "groups")) {
        int gi = lua_gettop(L);
        if (!lua_istable(L, gi))
            return luaL_error(L, "lab.tasks: groups must be a list of class lists");
        ntasks = lab_len_i32(L, gi);
        if (ntasks < 1 || ntasks > DATA_MAX_TASKS)
            return luaL_error(L, "lab.tasks: 1 to %d groups, got %d", DATA_MAX_TASKS, ntasks);
        nc = 0;
        for (int g = 1; g <= ntasks; g++) {
            lua_geti(L, gi, g);
            if (!lua_istable(L, -1))
                return luaL_error(L, "lab.tasks: group %d must be a list of classes", g);
            int len = lab_len_i32(L, -1);
            sizes[g - 1] = len;
            for (int k = 1; k <= len; k++) {
                lua_geti(L, -1, k);
                int isnum;
                lua_Integer c = lua_tointegerx(L, -1, &isnum);
                if (!isnum || c < 0 || c > 9 || nc >= 10)
                    return luaL_error(L, "lab.tasks: group %d: classes are 0-9, each once", g);
                classes[nc++] = (int)c;
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lab_tasks *ts = lua_newuserdatauv(L, sizeof *ts, 1);
    memset(ts, 0, sizeof *ts);
    luaL_setmetatable(L, TASKS_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    char err[256];
    if (data_tasks_split(&ds->train, &ds->test, ntasks, sizes, classes, val, (uint64_t)seed,
                         &ts->t, err, sizeof err) < 0)
        return luaL_error(L, "lab.tasks: %s", err);
    ts->val_fraction = val;
    ts->seed = seed;
    return 1;
}

static int l_tasks_gc(lua_State *L)
{
    data_tasks_free(&lab_check_tasks(L, 1)->t);
    return 0;
}

static int l_tasks_len(lua_State *L)
{
    lua_pushinteger(L, lab_check_tasks(L, 1)->t.ntasks);
    return 1;
}

int lab_tasks_index(lua_State *L, lab_tasks *ts, int i)
{
    lua_Integer k = luaL_checkinteger(L, i);
    if (k < 1 || k > ts->t.ntasks)
        luaL_error(L, "lab.tasks: task %I out of range 1-%d", k, ts->t.ntasks);
    return (int)k - 1;
}

/* seq:task(i) -> {classes=, ntrain=, nval=, ntest=} */
static int l_tasks_task(lua_State *L)
{
    lab_tasks *ts = lab_check_tasks(L, 1);
    const data_task *t = &ts->t.task[lab_tasks_index(L, ts, 2)];
    lua_createtable(L, 0, 4);
    lua_createtable(L, t->nclasses, 0);
    for (int i = 0; i < t->nclasses; i++) {
        lua_pushinteger(L, t->classes[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "classes");
    lab_set_int(L, "ntrain", t->ntrain);
    lab_set_int(L, "nval", t->nval);
    lab_set_int(L, "ntest", t->ntest);
    return 1;
}

static int l_tasks_tostring(lua_State *L)
{
    lab_tasks *ts = lab_check_tasks(L, 1);
    lab_dataset *ds = lab_tasks_dataset(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "%d tasks of %s:", ts->t.ntasks, ds->name);
    luaL_addvalue(&b);
    for (int i = 0; i < ts->t.ntasks; i++) {
        const data_task *t = &ts->t.task[i];
        luaL_addstring(&b, " (");
        for (int c = 0; c < t->nclasses; c++) {
            lua_pushfstring(L, c ? ",%d" : "%d", t->classes[c]);
            luaL_addvalue(&b);
        }
        luaL_addstring(&b, ")");
    }
    luaL_pushresult(&b);
    return 1;
}

void lab_data_open(lua_State *L, int lab)
{
    static const luaL_Reg dataset_meta[] = {{"__gc", l_dataset_gc},
                                            {"__tostring", l_dataset_tostring},
                                            {"__index", l_dataset_index},
                                            {NULL, NULL}};
    static const luaL_Reg tasks_meta[] = {{"__gc", l_tasks_gc},
                                          {"__len", l_tasks_len},
                                          {"__tostring", l_tasks_tostring},
                                          {NULL, NULL}};
    static const luaL_Reg tasks_methods[] = {{"task", l_tasks_task}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {{"dataset", l_dataset}, {"tasks", l_tasks}, {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class(L, DATASET_MT, dataset_meta, NULL);
    lab_new_class(L, TASKS_MT, tasks_meta, tasks_methods);
    lua_pushvalue(L, lab);
    luaL_setfuncs(L, funcs, 0);
    lua_pop(L, 1);
}

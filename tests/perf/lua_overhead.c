/* mpcl-bench-lua: what driving the engine from Lua costs. The same experiment (5-split
 * FashionMNIST, paper preset, mpcl m = 0.005, 5 epochs a task) is stepped through from C
 * (core/experiment) and from Lua (lab.experiment, exp:step() five times), alternately,
 * three times each, in one process; prints the best time of each and the overhead. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "experiment.h"
#include "learner_mpcl.h"
#include "kernels.h"
#include "lab.h"
#include "lab_state.h"

static void die(const char *msg)
{
    fprintf(stderr, "mpcl-bench-lua: %s\n", msg);
    exit(1);
}

static double run_c(const data_set *train, const data_set *test, const data_tasks *tasks)
{
    mpcl_setup s;
    mpcl_setup_default(&s, train, SCEN_TASK);
    s.cfg.epochs = 5;
    experiment e;
    learner l;
    char err[256];
    if (learner_mpcl_new(&l, train, test, tasks, &s, err, sizeof err) < 0)
        die(err);
    experiment_init(&e, l, tasks);
    double t0 = clock_seconds();
    for (int t = 0; t < tasks->ntasks; t++)
        if (experiment_step(&e, NULL, NULL, NULL, err, sizeof err) != 0)
            die(err);
    double dt = clock_seconds() - t0;
    printf("  C:   %.3f s, average %.4f\n", dt, e.average[tasks->ntasks - 1]);
    experiment_free(&e);
    return dt;
}

static const char *lua_side =
    "local ds = ...\n"
    "local exp = lab.experiment{ds = ds, epochs = 5}\n"
    "local t0 = lab.clock()\n"
    "for i = 1, #exp do exp:step() end\n"
    "return lab.clock() - t0, exp.average\n";

static double run_lua(lua_State *L)
{
    if (luaL_loadstring(L, lua_side) != LUA_OK)
        die(lua_tostring(L, -1));
    lua_getglobal(L, "bench_ds");
    if (lua_pcall(L, 1, 2, 0) != LUA_OK)
        die(lua_tostring(L, -1));
    double dt = lua_tonumber(L, -2);
    printf("  Lua: %.3f s, average %.4f\n", dt, lua_tonumber(L, -1));
    lua_pop(L, 2);
    lua_gc(L, LUA_GCCOLLECT);
    return dt;
}

int main(void)
{
    kern_flush_denormals();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    kern_set_threads(ncpu < 1 ? 1 : ncpu > 64 ? 64 : (int)ncpu);
    lab_state_opts o;
    lab_state_opts_default(&o);
    char serr[200];
    lua_State *L = lab_state_new(&o, serr, sizeof serr);
    if (!L)
        die(serr);
    /* One data set, shared: the Lua side gets it as a lab.dataset. */
    if (luaL_dostring(L, "bench_ds = lab.dataset('fmnist', {threshold = 0.2})") != LUA_OK)
        die(lua_tostring(L, -1));
    /* The C side loads its own copy the same way. */
    data_raw raw;
    data_set tr, te;
    data_tasks tasks;
    char err[512];
    if (data_raw_load_named("fmnist", 1, &raw, err, sizeof err) < 0 ||
        data_prepare_take(&raw, DATA_INPUT_PAPER192, 0.2f, &tr, err, sizeof err) < 0 ||
        data_raw_load_named("fmnist", 0, &raw, err, sizeof err) < 0 ||
        data_prepare_take(&raw, DATA_INPUT_PAPER192, 0.2f, &te, err, sizeof err) < 0 ||
        data_tasks_split5(&tr, &te, 0.1, 1, &tasks, err, sizeof err) < 0)
        die(err);
    double best_c = 1e30, best_lua = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double c = run_c(&tr, &te, &tasks), l = run_lua(L);
        best_c = c < best_c ? c : best_c;
        best_lua = l < best_lua ? l : best_lua;
    }
    printf("stepping 5 tasks: C %.3f s, Lua %.3f s (best of 3 each)\n", best_c, best_lua);
    printf("lua overhead: %+.2f%%\n", 100.0 * (best_lua - best_c) / best_c);
    data_tasks_free(&tasks);
    data_set_free(&tr);
    data_set_free(&te);
    lua_close(L);
    return 0;
}

/* The `lab` module: luaopen_lab gathers the bindings (lab_data, lab_net, lab_stepper's
 * kinds, lab_job, lab_chip, lab_sweep) and holds the small module functions (JSON, threads,
 * the platform, the seed, the clock). See lab.h and README "Lua API". */
#include "lab.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "clock.h"
#include "fileio.h"
#include "help.h"
#include "isa.h"
#include "kernels.h"
#include "lab_internal.h"
#include "platform.h"

/* ---- JSON and small utilities ------------------------------------------------------ */

/* Encode with lua-cjson (Debian's lua-cjson). */
static void push_json(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    /* Loaded once, kept in the registry: sandboxed replays have no `require`. */
    if (lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.cjson") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushstring(L, "cjson");
        if (!lua_isfunction(L, -2) || lua_pcall(L, 1, 1, 0) != LUA_OK)
            luaL_error(L, "lab.json: lua-cjson is not installed (run `make deps`)");
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "mpcl.cjson");
    }
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    lua_remove(L, -2);
}

static int l_json(lua_State *L)
{
    luaL_checkany(L, 1);
    push_json(L, 1);
    return 1;
}

/* Write bytes to path atomically: a temporary file, synced, renamed into place, the
 * directory synced; stale temporary files of killed writers removed (fileio.h). */
static int write_atomic(const char *path, const char *data, size_t len, char *err,
                        size_t errlen)
{
    return fileio_write_atomic_buf(path, data, len, err, errlen);
}

static int l_write_json(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cap_write_path(L, path, "lab.write_json");
    luaL_checkany(L, 2);
    push_json(L, 2);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, s, len);
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    s = lua_tolstring(L, -1, &len);
    char err[512];
    if (write_atomic(path, s, len, err, sizeof err) < 0)
        return luaL_error(L, "lab.write_json: %s", err);
    return 0;
}

static int l_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer t = luaL_checkinteger(L, 1);
        if (t < 1 || t > 64)
            return luaL_error(L, "lab.threads: 1 to 64 threads, got %I", t);
        kern_set_threads((int)t);
    }
    lua_pushinteger(L, kern_threads());
    return 1;
}

static int l_blas(lua_State *L)
{
    lua_pushstring(L, kern_describe());
    return 1;
}

/* {cpu, isa, best, libraries, kernels, summary}: where results are computed (platform.h). */
static int l_platform(lua_State *L)
{
    platform p;
    platform_get(&p, LUA_RELEASE);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, p.cpu);
    lua_setfield(L, -2, "cpu");
    lua_pushstring(L, p.isa);
    lua_setfield(L, -2, "isa");
    lua_pushstring(L, isa_name(isa_best()));
    lua_setfield(L, -2, "best");
    lua_pushstring(L, p.libraries);
    lua_setfield(L, -2, "libraries");
    lua_pushstring(L, kern_describe());
    lua_setfield(L, -2, "kernels");
    lua_pushfstring(L, "%s, path %s (best %s), %s", p.cpu, p.isa, isa_name(isa_best()),
                    p.libraries);
    lua_setfield(L, -2, "summary");
    return 1;
}

/* lab.seed([n]) -> the default seed of datasets' splits, nets and trainers (1); sets it. */
static int l_seed(lua_State *L)
{
    lua_Integer was = lab_default_seed(L);
    if (!lua_isnoneornil(L, 1))
        lab_set_default_seed(L, luaL_checkinteger(L, 1));
    lua_pushinteger(L, was);
    return 1;
}

static int l_clock(lua_State *L)
{
    lua_pushnumber(L, clock_seconds());
    return 1;
}

int luaopen_lab(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"json", l_json},     {"write_json", l_write_json},
                                     {"threads", l_threads}, {"blas", l_blas},
                                     {"platform", l_platform}, {"clock", l_clock},
                                     {"seed", l_seed},     {NULL, NULL}};
    luaL_newlib(L, funcs);
    lab_data_open(L, -1);
    lab_net_open(L, -1);
    lua_pushstring(L, MPCL_VERSION);
    lua_setfield(L, -2, "version");
    lab_experiment_open(L, -1);
    lab_baseline_open(L, -1);
    lab_job_open(L, -1);
    lab_chip_open(L, -1);
    lab_finetune_open(L, -1);
    lab_noise_open(L, -1);
    lab_energy_open(L, -1);
    lab_sweep_open(L, -1);
    lua_pushvalue(L, -1); /* for bindings that call lab functions from C */
    lua_setfield(L, LUA_REGISTRYINDEX, "mpcl.lab");
    lab_help_open(L, -1);
    /* lua-cjson for lab.json, while `require` is still there (sandboxes remove it). */
    lua_getglobal(L, "require");
    if (lua_isfunction(L, -1)) {
        lua_pushstring(L, "cjson");
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1))
            lua_setfield(L, LUA_REGISTRYINDEX, "mpcl.cjson");
        else
            lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
    }
    return 1;
}

/* The helpers every binding of the lab uses (lab_internal.h), as lauxlib is Lua's: options
 * read from a table, results pushed, a class's methods found, the cancel flag, the default
 * seed, the session's records. Nothing here knows an engine object or a job. */
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "lab.h"
#include "lab_internal.h"

static volatile int lab_cancel_flag;

const volatile int *lab_cancel_ptr(void) { return &lab_cancel_flag; }

void lab_cancel_request(void) { lab_cancel_flag = 1; }
void lab_cancel_clear(void) { lab_cancel_flag = 0; }

/* ---- option helpers: fields of an optional options table at index t ---------------- */

int lab_opt_field(lua_State *L, int t, const char *key)
{
    if (lua_isnoneornil(L, t))
        return 0;
    if (lua_getfield(L, t, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

lua_Integer lab_opt_int(lua_State *L, int t, const char *key, lua_Integer def,
                           const char *who)
{
    if (!lab_opt_field(L, t, key))
        return def;
    int isnum;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
        luaL_error(L, "%s: option '%s' must be an integer, got %s", who, key,
                   luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return v;
}

int lab_opt_i32(lua_State *L, int t, const char *key, int def, const char *who)
{
    lua_Integer v = lab_opt_int(L, t, key, def, who);
    if (v < -INT_MAX || v > INT_MAX)
        luaL_error(L, "%s: option '%s' is out of range (%I does not fit in 32 bits)", who, key, v);
    return (int)v;
}

int lab_len_i32(lua_State *L, int i)
{
    lua_Integer n = luaL_len(L, i);
    if (n < 0 || n > INT_MAX)
        luaL_error(L, "a list's length is out of range (%I)", n);
    return (int)n;
}

int lab_check_i32(lua_State *L, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    if (v < -INT_MAX || v > INT_MAX)
        luaL_argerror(L, arg, "integer out of range (it must fit in 32 bits)");
    return (int)v;
}

double lab_opt_num(lua_State *L, int t, const char *key, double def, const char *who)
{
    if (!lab_opt_field(L, t, key))
        return def;
    int isnum;
    double v = lua_tonumberx(L, -1, &isnum);
    if (!isnum)
        luaL_error(L, "%s: option '%s' must be a number, got %s", who, key,
                   luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return v;
}

/* Returns a string that stays valid while the options table lives. */
const char *lab_opt_str(lua_State *L, int t, const char *key, const char *def,
                           const char *who)
{
    if (!lab_opt_field(L, t, key))
        return def;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: option '%s' must be a string, got %s", who, key,
                   luaL_typename(L, -1));
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1);
    return s;
}

int lab_opt_bool(lua_State *L, int t, const char *key, int def)
{
    if (!lab_opt_field(L, t, key))
        return def;
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

void lab_check_options(lua_State *L, int t, const char *who, const char *const *known)
{
    if (lua_isnoneornil(L, t))
        return;
    luaL_checktype(L, t, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: option keys must be names", who);
        const char *k = lua_tostring(L, -1);
        int ok = 0;
        for (const char *const *p = known; *p; p++)
            ok |= !strcmp(*p, k);
        if (!ok) {
            char shown[200]; /* a key is the caller's bytes: no escape codes to the terminal */
            luaL_error(L, "%s: unknown option '%s'", who,
                       fileio_printable(shown, sizeof shown, k, lua_rawlen(L, -1)));
        }
    }
}

void lab_set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

void lab_push_floats(lua_State *L, const float *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

void lab_push_doubles(lua_State *L, const double *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

void lab_set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* ---- the default seed of objects not given one (a session's seed) ------------------- */

lua_Integer lab_default_seed(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.seed");
    lua_Integer s = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 1;
    lua_pop(L, 1);
    return s;
}

void lab_set_default_seed(lua_State *L, long long seed)
{
    lua_pushinteger(L, (lua_Integer)seed);
    lua_setfield(L, LUA_REGISTRYINDEX, "mpcl.seed");
}

/* ---- session records: results worth checking, collected for the journal ------------- */

#define RECORDS_KEY "mpcl.records"

void lab_record(lua_State *L, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (lua_getfield(L, LUA_REGISTRYINDEX, RECORDS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, RECORDS_KEY);
    }
    lua_pushstring(L, line);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
}

int lab_records_take(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, RECORDS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, RECORDS_KEY);
    return 1;
}

/* ---- classes' methods -------------------------------------------------------------- */

int lab_push_method(lua_State *L, int obj, const char *k)
{
    if (luaL_getmetafield(L, obj, "__methods") != LUA_TTABLE)
        return 0;
    if (lua_getfield(L, -1, k) == LUA_TNIL) {
        lua_pop(L, 2);
        return 0;
    }
    lua_remove(L, -2);
    return 1;
}

/* lab_json: Lua values <-> canonical JSON (lab_json.h). */
#include "lab_json.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define MAX_DEPTH 64

static cJSON *from_lua(lua_State *L, int idx, char *path, size_t plen, int depth, char *err,
                       size_t errlen);

static cJSON *fail(char *err, size_t errlen, const char *path, const char *why)
{
    err_format(err, errlen, "%s %s", path, why);
    return NULL;
}

/* Append ".key" or ".k" to path for the duration of a call; returns the old length. */
static size_t path_push(char *path, size_t plen, lua_State *L, int key)
{
    size_t was = strlen(path);
    if (lua_type(L, key) == LUA_TNUMBER && lua_isinteger(L, key))
        snprintf(path + was, plen - was, ".%lld", (long long)lua_tointeger(L, key));
    else
        snprintf(path + was, plen - was, ".%s", lua_tostring(L, key));
    return was;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The table at idx's keys: 1 when exactly 1..n (a list), 0 when all strings, -1 other. */
static int table_kind(lua_State *L, int idx, lua_Integer *count)
{
    lua_Integer n = 0, maxi = 0;
    int strings = 0, others = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
        if (lua_type(L, -1) == LUA_TSTRING)
            strings++;
        else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
            if (lua_tointeger(L, -1) > maxi)
                maxi = lua_tointeger(L, -1);
        } else
            others++;
    }
    *count = n;
    if (others || (strings && strings != n))
        return -1;
    if (strings == n)
        return 0;
    return maxi == n ? 1 : -1;
}

static cJSON *list_from_lua(lua_State *L, int idx, lua_Integer n, char *path, size_t plen,
                            int depth, char *err, size_t errlen)
{
    cJSON *a = cJSON_CreateArray();
    for (lua_Integer i = 1; a && i <= n; i++) {
        lua_rawgeti(L, idx, i);
        lua_pushinteger(L, i);
        size_t was = path_push(path, plen, L, lua_gettop(L));
        lua_pop(L, 1);
        cJSON *v = from_lua(L, lua_gettop(L), path, plen, depth + 1, err, errlen);
        lua_pop(L, 1);
        if (!v) {
            cJSON_Delete(a);
            return NULL;
        }
        path[was] = '\0';
        cJSON_AddItemToArray(a, v);
    }
    return a;
}

static cJSON *object_from_lua(lua_State *L, int idx, lua_Integer n, char *path, size_t plen,
                              int depth, char *err, size_t errlen)
{
    const char **keys = malloc((size_t)n * sizeof *keys);
    cJSON *o = keys ? cJSON_CreateObject() : NULL;
    lua_Integer k = 0;
    lua_pushnil(L);
    while (o && lua_next(L, idx)) {
        lua_pop(L, 1);
        keys[k++] = lua_tostring(L, -1); /* the table keeps the strings alive */
    }
    if (o)
        qsort(keys, (size_t)k, sizeof *keys, cmp_str);
    for (lua_Integer i = 0; o && i < k; i++) {
        lua_getfield(L, idx, keys[i]);
        size_t was = strlen(path);
        snprintf(path + was, plen - was, ".%s", keys[i]);
        cJSON *v = from_lua(L, lua_gettop(L), path, plen, depth + 1, err, errlen);
        lua_pop(L, 1);
        path[was] = '\0';
        if (!v) {
            cJSON_Delete(o);
            o = NULL;
            break;
        }
        cJSON_AddItemToObject(o, keys[i], v);
    }
    free(keys);
    if (!o && !err[0])
        err_format(err, errlen, "%s: out of memory", path);
    return o;
}

static cJSON *from_lua(lua_State *L, int idx, char *path, size_t plen, int depth, char *err,
                       size_t errlen)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        double d = lua_isinteger(L, idx) ? (double)lua_tointeger(L, idx) : lua_tonumber(L, idx);
        return isfinite(d) ? cJSON_CreateNumber(d) : cJSON_CreateNull();
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (memchr(s, 0, len))
            return fail(err, errlen, path, "is a string holding a NUL byte");
        return cJSON_CreateString(s);
    }
    case LUA_TTABLE: {
        if (depth >= MAX_DEPTH)
            return fail(err, errlen, path, "nests deeper than 64 tables (a cycle?)");
        lua_Integer n;
        int kind = table_kind(L, idx, &n);
        if (kind < 0)
            return fail(err, errlen, path, "is a table with keys other than strings or "
                                           "1..n; JSON has lists and string-keyed objects");
        if (n == 0)
            return cJSON_CreateObject();
        return kind ? list_from_lua(L, idx, n, path, plen, depth, err, errlen)
                    : object_from_lua(L, idx, n, path, plen, depth, err, errlen);
    }
    default: {
        char why[64];
        snprintf(why, sizeof why, "is a %s, not a JSON value",
                 luaL_typename(L, idx));
        return fail(err, errlen, path, why);
    }
    }
}

cJSON *lab_json_from_lua(lua_State *L, int idx, const char *what, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s", what);
    err[0] = '\0';
    luaL_checkstack(L, 2 * MAX_DEPTH + 20, "lab_json");
    cJSON *v = from_lua(L, lua_absindex(L, idx), path, sizeof path, 0, err, errlen);
    if (!v && !err[0])
        err_format(err, errlen, "%s: out of memory", what);
    return v;
}

void lab_json_push(lua_State *L, const cJSON *v)
{
    luaL_checkstack(L, 4, "lab_json");
    if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v)) {
        lua_pushnil(L);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) <= 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsArray(v)) {
        lua_createtable(L, cJSON_GetArraySize(v), 0);
        lua_Integer i = 1;
        for (const cJSON *e = v->child; e; e = e->next, i++) {
            lab_json_push(L, e);
            lua_rawseti(L, -2, i);
        }
    } else {
        lua_createtable(L, 0, cJSON_GetArraySize(v));
        for (const cJSON *e = v->child; e; e = e->next) {
            lab_json_push(L, e);
            lua_setfield(L, -2, e->string);
        }
    }
}

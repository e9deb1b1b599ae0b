#include "sandbox.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

#define HOOK_EVERY 10000 /* instructions between count hooks */

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox_heap *h = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        h->used -= old;
        return NULL;
    }
    if (h->cap && nsize > old && h->used + (nsize - old) > h->cap) {
        h->hit_cap = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p)
        h->used = h->used - old + nsize;
    return p;
}

lua_State *sandbox_newstate(sandbox_heap *h)
{
    lua_State *L = lua_newstate(capped_alloc, h);
    return L;
}

static const char *const REMOVED[] = {"io", "os", "package", "debug", "require", "dofile",
                                      "loadfile", NULL};

static int is_removed(const char *k)
{
    for (int i = 0; REMOVED[i]; i++)
        if (!strcmp(k, REMOVED[i]))
            return 1;
    return 0;
}

/* _G's __index: a clear error for the names the sandbox took away. */
static int guard_index(lua_State *L)
{
    const char *k = lua_tostring(L, 2);
    if (k && lua_type(L, 2) == LUA_TSTRING && is_removed(k))
        return luaL_error(L, "sandbox: '%s' is not available in a replay (run with --trust "
                             "to allow it)", k);
    return 0;
}

static int no_dump(lua_State *L)
{
    return luaL_error(L, "sandbox: 'string.dump' is not available in a replay (run with "
                         "--trust to allow it)");
}

/* load, text chunks only: load(chunk [, name [, mode [, env]]]). A string chunk that
 * starts with ESC is bytecode whatever the mode says. */
static int text_load(lua_State *L)
{
    const char *mode = luaL_optstring(L, 3, "t");
    if (strchr(mode, 'b') || (lua_type(L, 1) == LUA_TSTRING && lua_tostring(L, 1)[0] == 0x1b))
        return luaL_error(L, "sandbox: load of bytecode is not allowed in a replay (run with "
                             "--trust to allow it)");
    int with_env = lua_gettop(L) >= 4; /* an explicit nil env differs from none */
    lua_settop(L, 4);
    lua_pushstring(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int nargs = with_env ? 4 : 3;
    lua_settop(L, 1 + nargs);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

static long long *instruction_count(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.sandbox.count");
    long long *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return c;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    long long *c = instruction_count(L);
    if (!c)
        return;
    c[0] += HOOK_EVERY;
    if (c[1] > 0 && c[0] > c[1]) {
        char msg[160];
        snprintf(msg, sizeof msg, "sandbox: instruction limit of %lld exceeded (raise it with "
                                  "--max-instructions)", c[1]);
        luaL_error(L, "%s", msg);
    }
}

void sandbox_reset_count(lua_State *L)
{
    long long *c = instruction_count(L);
    if (!c)
        return;
    c[0] = 0;
    /* The evaluator clears hooks after each chunk (a late Ctrl-C must not fire): re-arm. */
    if (c[1] > 0)
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

void sandbox_apply(lua_State *L, long long max_instructions)
{
    for (int i = 0; REMOVED[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, REMOVED[i]);
    }
    if (lua_getglobal(L, "string") == LUA_TTABLE) {
        lua_pushcfunction(L, no_dump);
        lua_setfield(L, -2, "dump");
    }
    lua_pop(L, 1);
    lua_getglobal(L, "load");
    lua_pushcclosure(L, text_load, 1);
    lua_setglobal(L, "load");
    lua_pushglobaltable(L);
    lua_newtable(L);
    lua_pushcfunction(L, guard_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
    lab_set_sandboxed(L, 1);
    long long *c = lua_newuserdatauv(L, 2 * sizeof(long long), 0);
    c[0] = 0;
    c[1] = max_instructions;
    lua_setfield(L, LUA_REGISTRYINDEX, "mpcl.sandbox.count");
    if (max_instructions > 0)
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

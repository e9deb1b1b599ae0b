#include "lab_state.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "error.h"
#include "lab.h"
#include "memcap.h"
#include "sandbox.h"

void lab_state_opts_default(lab_state_opts *o)
{
    memset(o, 0, sizeof *o);
    o->trusted = 1;
    o->seed = 1;
}

/* The lab's allocator: through the lab's (wrapped, counted) realloc and free, so that the
 * Lua heap counts against the same cap as the engine's buffers. */
static void *lab_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

/* A message handler-free load of the libraries (they raise on out of memory). */
static int open_all(lua_State *L)
{
    const lab_state_opts *o = lua_touserdata(L, 1);
    luaL_openlibs(L);
    luaL_requiref(L, "lab", luaopen_lab, 1);
    lua_pop(L, 1);
    if (o->open_more)
        o->open_more(L, o->open_more_ud);
    if (o->have_seed)
        lab_set_default_seed(L, o->seed);
    if (!o->trusted)
        sandbox_apply(L, o->max_instructions);
    cap_install(L, o->trusted, o->chip);
    return 0;
}

lua_State *lab_state_new(const lab_state_opts *o, char *err, size_t errlen)
{
    if (!o->trusted)
        memcap_set_limit(o->max_memory);
    lua_State *L = lua_newstate(lab_alloc, NULL);
    if (!L) {
        err_format(err, errlen, "cannot create a Lua state (out of memory)");
        return NULL;
    }
    lua_pushcfunction(L, open_all);
    lua_pushlightuserdata(L, (void *)o);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        err_format(err, errlen, "cannot load the lab: %s%s", lua_tostring(L, -1),
                   memcap_hit() ? " (the memory cap is too small: raise --max-memory)" : "");
        lua_close(L);
        return NULL;
    }
    memcap_hit(); /* a refusal while loading was survived: start clean */
    return L;
}

int lab_state_hit_memory_cap(void) { return memcap_hit(); }

void lab_state_close(lua_State *L)
{
    if (!L)
        return;
    lab_jobs_shutdown(L);
    lua_close(L);
}

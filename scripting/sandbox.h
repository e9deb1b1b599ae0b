/* sandbox: what a replayed session may do. A journal is code from a file someone handed
 * you; unless the user says --trust, it runs with
 *   - no io, os, package, debug, require, dofile or loadfile, no string.dump, and load
 *     limited to text chunks: touching any of them is the error
 *     "sandbox: 'os' is not available in a replay (run with --trust to allow it)";
 *   - an instruction-count limit ("sandbox: instruction limit of N exceeded");
 *   - a memory cap on the Lua heap (an allocation beyond it fails; sandbox_hit_cap says so);
 *   - the lab's writers limited to paths below the current directory (lab_set_sandboxed). */
#ifndef MPCL_SANDBOX_H
#define MPCL_SANDBOX_H

#include <lua.h>
#include <stddef.h>

typedef struct sandbox_heap {
    size_t used, cap; /* cap 0: no limit */
    int hit_cap;      /* an allocation was refused */
} sandbox_heap;

/* A new state whose allocator keeps the heap under h->cap bytes. */
lua_State *sandbox_newstate(sandbox_heap *h);
/* Remove and guard the unsafe globals (after luaL_openlibs and the lab) and install the
 * instruction limit (0: none). */
void sandbox_apply(lua_State *L, long long max_instructions);
/* Restart the instruction count and re-arm its hook: before each chunk. */
void sandbox_reset_count(lua_State *L);

#endif

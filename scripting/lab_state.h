/* lab_state: the one constructor of the lab's Lua states. Headless scripts, stdin, the REPL,
 * the console and every replay get their state here, with the standard libraries, the lab
 * (the global `lab` and help), the caller's extra modules (lab.ui), a default seed and, for
 * an untrusted replay, the sandbox (sandbox.h), the capability allow-list (capability.h)
 * and the memory cap (memcap.h). Nothing else calls luaL_newstate. */
#ifndef MPCL_LAB_STATE_H
#define MPCL_LAB_STATE_H

#include <lua.h>
#include <stddef.h>

typedef struct lab_state_opts {
    int trusted;                /* 0: a sandboxed replay */
    long long max_instructions; /* sandboxed: per chunk (0: none) */
    size_t max_memory;          /* sandboxed: bytes of C and Lua heap together (0: none) */
    const char *chip;           /* --chip: the chip hardware opens go to (NULL: none) */
    int have_seed;
    long long seed;             /* the default seed of lab objects, when have_seed */
    /* Called after the lab is loaded and before the sandbox closes the state: more modules
     * (the console's lab.ui). NULL: none. */
    void (*open_more)(lua_State *L, void *ud);
    void *open_more_ud;
} lab_state_opts;

/* Trusted, no limits, no chip, seed 1 not set, nothing more. */
void lab_state_opts_default(lab_state_opts *o);

/* A new state, or NULL when out of memory (or the memory cap is too small to load the lab:
 * *err says which). The global `lab` is set; the stack is empty. */
lua_State *lab_state_new(const lab_state_opts *o, char *err, size_t errlen);

/* Whether the sandbox's memory cap refused an allocation since the last call. */
int lab_state_hit_memory_cap(void);

/* Shut the lab's jobs down and close the state. */
void lab_state_close(lua_State *L);

#endif
